//! The qemu driver against the real libvirtd 9.0 qemu driver, on the same machine.
//!
//! Every document of `tests/data/qemu-corpus/domain/` (written by its `gen.py`) is defined
//! on a real libvirtd's `qemu:///system` and on rvirtd's, dumped (inactive) and undefined,
//! and turned into `qemu-argv` by `domxml-to-native` on both, through libvirt-python
//! (`qemu_oracle.py`). Compared: acceptance (and the error when both refuse), the inactive
//! XML (UUIDs aside) and the `-device` list of the argv (driver, id, bus, addr). The figures
//! are printed; they must not fall below the floors, which are what rvirt reaches today.
//! `QEMU_DIFF_DUMP=DIR` writes both sides of every document there;
//! `QEMU_DIFF_LIBVIRT_URI=URI` asks a libvirtd started by hand instead of the fixture's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rvirt_tests::qemu_argv::devices;
use rvirt_tests::xmldiff::{oracle_outcomes, python_libvirt, Outcome};
use rvirt_tests::{have_program, repo_root, require_peer, Daemon, Libvirtd};

/// The floors, which are what rvirt reaches today (2026-12-03). They depend on whether
/// swtpm is installed (`.ci/run` installs it): without it libvirtd refuses the documents
/// with an emulated TPM (`<backend type='emulator'>`), and so does rvirt.
struct Floors {
    /// Documents both daemons accept or both refuse (the two with a `<vsock>` are
    /// refused, as everything rvirt would leave out of QEMU's arguments).
    accept_same: usize,
    /// Documents both daemons turn into an argv.
    native_both: usize,
    /// Documents whose inactive XML is the same on both (all both accept).
    xml_identical: usize,
    /// Documents whose argv has the same devices on both.
    argv_identical: usize,
}

const WITH_SWTPM: Floors = Floors {
    accept_same: 413,
    native_both: 272,
    xml_identical: 278,
    argv_identical: 272,
};

const WITHOUT_SWTPM: Floors = Floors {
    accept_same: 426,
    native_both: 265,
    xml_identical: 269,
    argv_identical: 265,
};

fn corpus() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/data/qemu-corpus/domain");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

/// Each document asked twice: define+dump, then domxml-to-native.
fn requests(docs: &[PathBuf]) -> Vec<(&'static str, PathBuf)> {
    docs.iter()
        .flat_map(|p| [("define", p.clone()), ("native", p.clone())])
        .collect()
}

fn run(uri: &str, docs: &[PathBuf]) -> Vec<Outcome> {
    let script = repo_root().join("tests/data/qemu-corpus/qemu_oracle.py");
    oracle_outcomes(&script, &[uri], &requests(docs))
}

/// The XML with its `<uuid>` text replaced (a document without one gets a random one).
fn without_uuid(xml: &str) -> String {
    match (xml.find("<uuid>"), xml.find("</uuid>")) {
        (Some(a), Some(b)) if a < b => format!("{}<uuid/>{}", &xml[..a], &xml[b + 7..]),
        _ => xml.to_string(),
    }
}

/// One line naming where two dumps part.
fn first_difference(want: &str, got: &str) -> String {
    for (w, g) in want.lines().zip(got.lines()) {
        if w != g {
            return format!("libvirt `{}` rvirt `{}`", w.trim(), g.trim());
        }
    }
    format!(
        "libvirt has {} lines, rvirt {}",
        want.lines().count(),
        got.lines().count()
    )
}

/// The figures of one comparison.
#[derive(Default)]
struct Figures {
    docs: usize,
    libvirt_ok: usize,
    rvirt_ok: usize,
    accept_same: usize,
    both_refuse_same_error: usize,
    both_refuse: usize,
    xml_same: usize,
    native_both_ok: usize,
    argv_same: usize,
    /// rvirt's refusals of documents libvirt accepts, by message.
    refusals: BTreeMap<String, usize>,
    /// First differing lines of the inactive XML, by line pair.
    xml_diffs: BTreeMap<String, usize>,
    /// First differing devices of the argv.
    argv_diffs: BTreeMap<String, usize>,
}

impl Figures {
    fn define(&mut self, want: &Outcome, got: &Outcome) {
        self.docs += 1;
        match (want, got) {
            (Outcome::Ok(w), Outcome::Ok(g)) => {
                self.libvirt_ok += 1;
                self.rvirt_ok += 1;
                self.accept_same += 1;
                let (w, g) = (without_uuid(w), without_uuid(g));
                if w == g {
                    self.xml_same += 1;
                } else {
                    *self.xml_diffs.entry(first_difference(&w, &g)).or_default() += 1;
                }
            }
            (Outcome::Err(wc, _, wm), Outcome::Err(gc, _, gm)) => {
                self.accept_same += 1;
                self.both_refuse += 1;
                if wc == gc && wm == gm {
                    self.both_refuse_same_error += 1;
                }
            }
            (Outcome::Ok(_), Outcome::Err(_, _, m)) => {
                self.libvirt_ok += 1;
                *self.refusals.entry(m.clone()).or_default() += 1;
            }
            (Outcome::Err(..), Outcome::Ok(_)) => self.rvirt_ok += 1,
        }
    }

    fn native(&mut self, want: &Outcome, got: &Outcome) {
        let Outcome::Ok(w) = want else { return };
        let g = match got {
            Outcome::Ok(g) => g,
            Outcome::Err(_, _, m) => {
                *self.argv_diffs.entry(format!("refused: {m}")).or_default() += 1;
                return;
            }
        };
        self.native_both_ok += 1;
        let (w, g) = (devices(w), devices(g));
        if w == g {
            self.argv_same += 1;
            return;
        }
        let at = w.iter().zip(&g).position(|(a, b)| a != b);
        let what = match at {
            Some(i) => format!("libvirt {} rvirt {}", w[i], g[i]),
            None => format!("libvirt {} devices, rvirt {}", w.len(), g.len()),
        };
        *self.argv_diffs.entry(what).or_default() += 1;
    }

    fn print(&self) {
        println!(
            "qemu differential over {} documents (libvirt accepts {}, rvirt {}):",
            self.docs, self.libvirt_ok, self.rvirt_ok
        );
        println!(
            "  accepted-same         {:4}  (both refuse {}, same error {})",
            self.accept_same, self.both_refuse, self.both_refuse_same_error
        );
        println!("  XML-identical         {:4}", self.xml_same);
        println!(
            "  argv-devices-identical {:3}  (of {} both could write)",
            self.argv_same, self.native_both_ok
        );
        top("rvirt refuses what libvirt accepts", &self.refusals);
        top("first XML differences", &self.xml_diffs);
        top("first argv device differences", &self.argv_diffs);
    }
}

/// The twelve most frequent entries of `m`.
fn top(title: &str, m: &BTreeMap<String, usize>) {
    let mut v: Vec<(&String, &usize)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("  {title}:");
    for (k, n) in v.into_iter().take(12) {
        println!("    {n:4}  {k}");
    }
}

fn dump(dir: &Path, docs: &[PathBuf], side: &str, out: &[Outcome]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, doc) in docs.iter().enumerate() {
        let stem = doc.file_stem().unwrap().to_string_lossy();
        for (j, kind) in ["xml", "argv"].iter().enumerate() {
            let text = match &out[2 * i + j] {
                Outcome::Ok(s) => s.clone(),
                Outcome::Err(c, d, m) => format!("ERR {c} {d} {m}\n"),
            };
            std::fs::write(dir.join(format!("{stem}.{side}.{kind}")), text).unwrap();
        }
    }
}

/// Whether libvirtd's QEMU user (`libvirt-qemu`, Debian's default) may open `/dev/kvm`:
/// if not, libvirtd 9.0 finds its QEMU capabilities stale on every lookup ("KVM was enabled
/// when probing ..., but it is not available now") and probes QEMU again, seconds per call.
fn libvirt_qemu_can_use_kvm() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata("/dev/kvm") else {
        return true;
    };
    if m.mode() & 0o006 == 0o006 {
        return true;
    }
    let groups = std::process::Command::new("id")
        .args(["-G", "libvirt-qemu"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    m.mode() & 0o060 == 0o060 && groups.split_whitespace().any(|g| g == m.gid().to_string())
}

#[test]
fn qemu_driver_agrees_with_libvirtd() {
    let own_peer = std::env::var("QEMU_DIFF_LIBVIRT_URI").is_ok();
    let peers = require_peer("python3-libvirt", python_libvirt())
        && require_peer(
            "qemu-system-x86_64 (qemu-system-x86)",
            have_program("/usr/bin/qemu-system-x86_64"),
        )
        && require_peer(
            "libvirt-qemu in /dev/kvm's group (`usermod -aG kvm libvirt-qemu`, see .ci/run)",
            own_peer || libvirt_qemu_can_use_kvm(),
        );
    if !peers {
        return;
    }
    let docs = corpus();
    assert!(docs.len() >= 400, "the corpus has {} documents", docs.len());
    let want = match std::env::var("QEMU_DIFF_LIBVIRT_URI") {
        Ok(uri) => run(&uri, &docs),
        Err(_) => {
            let Some(libvirtd) = Libvirtd::start() else {
                return;
            };
            run(&libvirtd.uri("qemu", "system"), &docs)
        }
    };
    let daemon = Daemon::start("");
    let got = run(&daemon.uri("qemu:///system"), &docs);
    if let Ok(d) = std::env::var("QEMU_DIFF_DUMP") {
        dump(Path::new(&d), &docs, "libvirt", &want);
        dump(Path::new(&d), &docs, "rvirt", &got);
    }
    let mut f = Figures::default();
    for i in 0..docs.len() {
        f.define(&want[2 * i], &got[2 * i]);
        f.native(&want[2 * i + 1], &got[2 * i + 1]);
    }
    f.print();
    assert!(
        f.libvirt_ok * 2 > f.docs,
        "libvirtd accepts only {} of {} documents: the corpus is broken",
        f.libvirt_ok,
        f.docs
    );
    let floors = if have_program("/usr/bin/swtpm") && have_program("/usr/bin/swtpm_setup") {
        WITH_SWTPM
    } else {
        println!("  (no swtpm: both daemons refuse the emulated-TPM documents)");
        WITHOUT_SWTPM
    };
    assert!(f.accept_same >= floors.accept_same, "accepted-same fell");
    assert!(
        f.native_both_ok >= floors.native_both,
        "argv written by both fell"
    );
    assert!(f.xml_same >= floors.xml_identical, "XML-identical fell");
    assert!(
        f.argv_same >= floors.argv_identical,
        "argv-devices-identical fell"
    );
}
