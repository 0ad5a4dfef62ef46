//! Differential test of rvirt's XML against real libvirt 9.0's test driver.
//!
//! Every document of `tests/data/xml-corpus/{domain,network,pool,volume,nodedev,snapshot}`
//! (made by `gen.py` there) is defined on libvirt's own test driver (inside a real libvirtd,
//! through libvirt-python, `libvirt_oracle.py`) and on rvirt's test driver (embedded, through
//! rvirt's client library), dumped back and removed; snapshots are taken of the running
//! domain `test` and compared with their creation time left out. Compared: whether both accept or both
//! refuse it, and, where both accept, the dumped XML byte for byte. Every document rvirt
//! returns must also pass `virt-xml-validate`. The agreement counts are printed; the
//! asserted floors are what the code reaches today, so they guard against regressions
//! and rise with coverage. Per-document outputs are left in `target/<profile>/xml-differential/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rvirt_core::Connect;
use rvirt_tests::xmldiff::{
    invalid_outputs, libvirt_outcomes, python_libvirt, rvirt_outcome, without_creation_time,
    Outcome,
};
use rvirt_tests::{have_program, repo_root, require_peer, target_dir, Libvirtd};

/// The object kinds of the corpus, their `virt-xml-validate` schema names, and the least
/// agreement the current code reaches: (accepted or refused alike, byte-identical).
const KINDS: [(&str, &str, usize, usize); 6] = [
    ("domain", "domain", 1026, 716),
    ("network", "network", 137, 87),
    ("pool", "storagepool", 105, 70),
    ("volume", "storagevol", 71, 55),
    ("nodedev", "nodedev", 72, 18),
    ("snapshot", "domainsnapshot", 73, 38),
];

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/data/xml-corpus")
}

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = corpus_dir().join(kind);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

/// The first line libvirt writes that rvirt does not (or the reverse), as a short key
/// for the report.
fn first_difference(want: &str, got: &str) -> String {
    let key = |l: &str| {
        let t = l.trim();
        let end = t.find([' ', '>', '/']).unwrap_or(t.len()).max(1);
        t[..end].to_string()
    };
    for (w, g) in want.lines().zip(got.lines()) {
        if w != g {
            return format!("libvirt {} / rvirt {}", key(w), key(g));
        }
    }
    "length".into()
}

/// Counts for one kind.
#[derive(Default)]
struct Tally {
    total: usize,
    alike: usize,
    both_ok: usize,
    identical: usize,
    same_code: usize,
    both_err: usize,
    reasons: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, want: &Outcome, got: &Outcome) {
        self.total += 1;
        let reason = match (want, got) {
            (Outcome::Ok(w), Outcome::Ok(g)) => {
                self.alike += 1;
                self.both_ok += 1;
                if w == g {
                    self.identical += 1;
                    return;
                }
                first_difference(w, g)
            }
            (Outcome::Err(wc, _, _), Outcome::Err(gc, _, _)) => {
                self.alike += 1;
                self.both_err += 1;
                self.same_code += usize::from(wc == gc);
                return;
            }
            (Outcome::Err(_, _, m), Outcome::Ok(_)) => {
                format!("only libvirt refuses: {}", line1(m))
            }
            (Outcome::Ok(_), Outcome::Err(_, _, m)) => format!("only rvirt refuses: {}", line1(m)),
        };
        *self.reasons.entry(reason).or_default() += 1;
    }

    fn report(&self, kind: &str) {
        println!(
            "{kind}: {}/{} accepted or refused alike, {}/{} accepted by both byte-identical, \
             {}/{} refused by both with the same code",
            self.alike, self.total, self.identical, self.both_ok, self.same_code, self.both_err
        );
        let mut top: Vec<_> = self.reasons.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (r, n) in top.iter().take(12) {
            println!("    {n:4}  {r}");
        }
    }
}

fn line1(m: &str) -> String {
    m.lines().next().unwrap_or("").chars().take(100).collect()
}

/// Whether the refused rvirt document a `virt-xml-validate` report names is, byte for
/// byte, what libvirt returned for the same input.
fn libvirt_writes_the_same(report: &str) -> bool {
    let Some(path) = report.split(": ").next() else {
        return false;
    };
    let theirs = path.replace(".rvirt.xml", ".libvirt.xml");
    matches!(
        (std::fs::read(path), std::fs::read(theirs)),
        (Ok(a), Ok(b)) if a == b
    )
}

/// `xml` with every UUID that follows `marker` replaced by one fixed UUID.
fn without_generated_uuid(xml: &str, marker: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(i) = rest.find(marker) {
        let start = i + marker.len();
        out.push_str(&rest[..start]);
        let id = rest[start..]
            .get(..36)
            .filter(|id| rvirt_tests::is_uuid(id));
        match id {
            Some(_) => {
                out.push_str("00000000-0000-4000-8000-000000000000");
                rest = &rest[start + 36..];
            }
            None => rest = &rest[start..],
        }
    }
    out.push_str(rest);
    out
}

/// A network's XML without `<title>` and `<description>`: libvirt 9.7 added both, and
/// the oracle here, libvirt 9.0, drops them (its schema refuses them too). Documents
/// without the two elements are compared unchanged.
fn without_network_title_description(xml: &str) -> String {
    let mut out = xml.to_string();
    for name in ["title", "description"] {
        let (open, close) = (format!("\n  <{name}>"), format!("</{name}>"));
        if let Some(i) = out.find(&open) {
            if let Some(j) = out[i..].find(&close) {
                out.replace_range(i..i + j + close.len(), "");
            }
        }
    }
    out
}

fn save(dir: &Path, name: &str, o: &Outcome) -> Option<PathBuf> {
    let path = dir.join(name);
    match o {
        Outcome::Ok(x) => {
            std::fs::write(&path, x).unwrap();
            Some(path)
        }
        Outcome::Err(c, d, m) => {
            std::fs::write(path.with_extension("err"), format!("{c} {d} {m}\n")).unwrap();
            None
        }
    }
}

#[test]
fn corpus_against_libvirt_test_driver() {
    if !require_peer("python3-libvirt", python_libvirt())
        || !require_peer(
            "virt-xml-validate and xmllint (libvirt-clients, libxml2-utils)",
            have_program("/usr/bin/virt-xml-validate") && have_program("/usr/bin/xmllint"),
        )
    {
        return;
    }
    let mut docs: Vec<(&str, PathBuf)> = Vec::new();
    for (kind, ..) in KINDS {
        docs.extend(corpus(kind).into_iter().map(|p| (kind, p)));
    }
    // libvirt's test driver in a real libvirtd, reached over its socket.
    let Some(libvirtd) = Libvirtd::start() else {
        return;
    };
    let libvirt = libvirt_outcomes(&libvirtd.uri("test", "default"), &docs);
    drop(libvirtd);
    let c = Connect::open("test:///default").expect("open rvirt's test driver");
    let out_dir = target_dir().join("xml-differential");
    let _ = std::fs::remove_dir_all(&out_dir);
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut returned = Vec::new();
    for ((kind, path), want) in docs.iter().zip(&libvirt) {
        let xml = std::fs::read_to_string(path).unwrap();
        let mut got = rvirt_outcome(&c, kind, xml.clone());
        let mut want = want.clone();
        // What libvirt makes up afresh each time (a snapshot's creation time, the
        // interfaceid of an Open vSwitch port that has none) is masked in both.
        let generated_id = *kind == "domain" && !xml.contains("interfaceid");
        if *kind == "network" {
            if let Outcome::Ok(x) = &mut got {
                *x = without_network_title_description(x);
            }
        }
        for o in [&mut got, &mut want] {
            if let Outcome::Ok(x) = o {
                if *kind == "snapshot" {
                    *x = without_creation_time(x);
                }
                if generated_id {
                    *x = without_generated_uuid(x, "interfaceid='");
                }
            }
        }
        let want = &want;
        tallies.entry(kind).or_default().add(want, &got);
        let dir = out_dir.join(kind);
        std::fs::create_dir_all(&dir).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy();
        save(&dir, &format!("{stem}.libvirt.xml"), want);
        if let Some(f) = save(&dir, &format!("{stem}.rvirt.xml"), &got) {
            let schema = KINDS.iter().find(|k| k.0 == *kind).unwrap().1;
            returned.push((f, schema));
        }
    }
    for (kind, ..) in KINDS {
        tallies[kind].report(kind);
    }
    let (shared, invalid): (Vec<String>, Vec<String>) = invalid_outputs(&returned)
        .into_iter()
        .partition(|b| libvirt_writes_the_same(b));
    println!(
        "virt-xml-validate: {}/{} documents rvirt returned are valid; {} more are exactly what \
         libvirt writes, which its own schema refuses",
        returned.len() - invalid.len() - shared.len(),
        returned.len(),
        shared.len()
    );
    for b in invalid.iter().take(10) {
        println!("    {b}");
    }
    for (kind, _, alike, identical) in KINDS {
        let t = &tallies[kind];
        assert!(
            t.alike >= alike && t.identical >= identical,
            "{kind}: agreement fell below the floor ({alike} alike, {identical} identical)"
        );
    }
    assert!(
        invalid.is_empty(),
        "{} documents rvirt returned fail virt-xml-validate where libvirt's do not",
        invalid.len()
    );
}

/// The test driver's capabilities document, as libvirt's test driver writes it.
#[test]
fn test_driver_capabilities_are_libvirts() {
    if !require_peer("python3-libvirt", python_libvirt()) {
        return;
    }
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import libvirt,sys; sys.stdout.write(libvirt.open('test:///default').getCapabilities())",
        ])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = String::from_utf8(out.stdout).unwrap();
    let c = Connect::open("test:///default").expect("open rvirt's test driver");
    let got = c.capabilities().expect("rvirt capabilities");
    assert!(want.contains("<secmodel>"), "{want}");
    assert_eq!(got, want);
}
