//! Differential test of rvirt's XML against real libvirt 9.0's test driver.
//!
//! Every document of `tests/data/xml-corpus/{domain,network,pool,volume,nodedev}` (made
//! by `gen.py` there) is defined on libvirt's own test driver (in-process through
//! libvirt-python, `libvirt_oracle.py`) and on rvirt's test driver (embedded, through
//! rvirt's client library), dumped back and removed. Compared: whether both accept or both
//! refuse it, and, where both accept, the dumped XML byte for byte. Every document rvirt
//! returns must also pass `virt-xml-validate`. The agreement counts are printed; the
//! asserted floors are what the code reaches today, so they guard against regressions
//! and rise with coverage. Per-document outputs are left in `target/<profile>/xml-differential/`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rvirt_core::protocol::{self as p, RemoteClient, RemoteError};
use rvirt_core::Connect;
use rvirt_tests::{have_program, repo_root, require_peer, target_dir};

/// What one driver did with one document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Accepted; the dumped XML.
    Ok(String),
    /// Refused: error code, domain and message.
    Err(i32, i32, String),
}

/// The object kinds of the corpus, their `virt-xml-validate` schema names, and the least
/// agreement the current code reaches: (accepted or refused alike, byte-identical).
const KINDS: [(&str, &str, usize, usize); 5] = [
    ("domain", "domain", 513, 102),
    ("network", "network", 94, 24),
    ("pool", "storagepool", 72, 32),
    ("volume", "storagevol", 60, 29),
    ("nodedev", "nodedev", 29, 0),
];

/// Documents rvirt returns that `virt-xml-validate` may refuse (should be none).
const MAX_INVALID_OUTPUTS: usize = 31;

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

fn python_libvirt() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import libvirt"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs every document through libvirt's test driver.
fn libvirt_outcomes(docs: &[(&str, PathBuf)]) -> Vec<Outcome> {
    let mut child = Command::new("/usr/bin/python3")
        .arg(corpus_dir().join("libvirt_oracle.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run libvirt_oracle.py");
    let mut list = String::new();
    for (kind, path) in docs {
        list.push_str(&format!("{kind} {}\n", path.display()));
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let mut out = Vec::new();
    for _ in docs {
        out.push(read_record(&mut r));
    }
    writer.join().unwrap().expect("feed the oracle");
    assert!(child.wait().unwrap().success(), "libvirt_oracle.py failed");
    out
}

fn read_record(r: &mut impl BufRead) -> Outcome {
    let mut head = String::new();
    r.read_line(&mut head).expect("oracle record header");
    let f: Vec<&str> = head.split_whitespace().collect();
    let len: usize = f
        .last()
        .and_then(|n| n.parse().ok())
        .expect("record length");
    let mut body = vec![0; len + 1];
    r.read_exact(&mut body).expect("oracle record body");
    body.pop();
    let body = String::from_utf8(body).expect("UTF-8 record");
    match f[0] {
        "OK" => Outcome::Ok(body),
        _ => Outcome::Err(f[1].parse().unwrap(), f[2].parse().unwrap(), body),
    }
}

fn outcome(r: Result<String, RemoteError>) -> Outcome {
    match r {
        Ok(x) => Outcome::Ok(x),
        Err(e) => Outcome::Err(e.code, e.domain, e.text().to_string()),
    }
}

/// Defines, dumps and removes one document on rvirt's test driver.
fn rvirt_outcome(c: &Connect, kind: &str, xml: String) -> Outcome {
    outcome(match kind {
        "domain" => rvirt_domain(c, xml),
        "network" => rvirt_network(c, xml),
        "pool" => rvirt_pool(c, xml),
        "volume" => rvirt_volume(c, xml),
        _ => rvirt_nodedev(c, xml),
    })
}

fn rvirt_domain(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let dom = c
        .domain_define_xml_flags(&p::RemoteDomainDefineXmlFlagsArgs { xml, flags: 0 })?
        .dom;
    let args = p::RemoteDomainGetXmlDescArgs {
        dom: dom.clone(),
        flags: 0,
    };
    let x = c.domain_get_xml_desc(&args).map(|r| r.xml);
    c.domain_undefine(&p::RemoteDomainUndefineArgs { dom })?;
    x
}

fn rvirt_network(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let net = c
        .network_define_xml(&p::RemoteNetworkDefineXmlArgs { xml })?
        .net;
    let args = p::RemoteNetworkGetXmlDescArgs {
        net: net.clone(),
        flags: 0,
    };
    let x = c.network_get_xml_desc(&args).map(|r| r.xml);
    c.network_undefine(&p::RemoteNetworkUndefineArgs { net })?;
    x
}

fn rvirt_pool(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let pool = c
        .storage_pool_define_xml(&p::RemoteStoragePoolDefineXmlArgs { xml, flags: 0 })?
        .pool;
    let args = p::RemoteStoragePoolGetXmlDescArgs {
        pool: pool.clone(),
        flags: 0,
    };
    let x = c.storage_pool_get_xml_desc(&args).map(|r| r.xml);
    c.storage_pool_undefine(&p::RemoteStoragePoolUndefineArgs { pool })?;
    x
}

fn rvirt_volume(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let pool = c
        .storage_pool_lookup_by_name(&p::RemoteStoragePoolLookupByNameArgs {
            name: "default-pool".into(),
        })?
        .pool;
    let vol = c
        .storage_vol_create_xml(&p::RemoteStorageVolCreateXmlArgs {
            pool,
            xml,
            flags: 0,
        })?
        .vol;
    let args = p::RemoteStorageVolGetXmlDescArgs {
        vol: vol.clone(),
        flags: 0,
    };
    let x = c.storage_vol_get_xml_desc(&args).map(|r| r.xml);
    c.storage_vol_delete(&p::RemoteStorageVolDeleteArgs { vol, flags: 0 })?;
    x
}

fn rvirt_nodedev(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let dev = c
        .node_device_create_xml(&p::RemoteNodeDeviceCreateXmlArgs {
            xml_desc: xml,
            flags: 0,
        })?
        .dev;
    let args = p::RemoteNodeDeviceGetXmlDescArgs {
        name: dev.name.clone(),
        flags: 0,
    };
    let x = c.node_device_get_xml_desc(&args).map(|r| r.xml);
    c.node_device_destroy(&p::RemoteNodeDeviceDestroyArgs { name: dev.name })?;
    x
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

/// Runs `virt-xml-validate` on every file; returns the ones it refuses.
fn invalid_outputs(files: &[(PathBuf, &str)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (f, schema) in files {
        let out = Command::new("virt-xml-validate")
            .arg(f)
            .arg(schema)
            .output()
            .expect("run virt-xml-validate");
        if !out.status.success() {
            bad.push(format!(
                "{}: {}",
                f.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    bad
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
    let libvirt = libvirt_outcomes(&docs);
    let c = Connect::open("test:///default").expect("open rvirt's test driver");
    let out_dir = target_dir().join("xml-differential");
    let _ = std::fs::remove_dir_all(&out_dir);
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut returned = Vec::new();
    for ((kind, path), want) in docs.iter().zip(&libvirt) {
        let xml = std::fs::read_to_string(path).unwrap();
        let got = rvirt_outcome(&c, kind, xml);
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
    let invalid = invalid_outputs(&returned);
    println!(
        "virt-xml-validate: {}/{} documents rvirt returned are valid",
        returned.len() - invalid.len(),
        returned.len()
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
        invalid.len() <= MAX_INVALID_OUTPUTS,
        "{} documents rvirt returned fail virt-xml-validate",
        invalid.len()
    );
}
