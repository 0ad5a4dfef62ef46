//! Differential test of rvirt's `<secret>` and `<filterbinding>` XML against a real
//! libvirtd 9.0 (libvirt's test driver has neither object).
//!
//! Every document of `tests/data/xml-secret/{secret,binding}` (made by `gen.py` there) is
//! defined on a private libvirtd (`oracle.py`: `secretDefineXML` + `XMLDesc` + `undefine`,
//! `nwfilterBindingCreateXML` + `XMLDesc` + `delete`, against a filter it defines for the
//! run) and parsed and formatted by rvirt-xml in-process. Compared: whether both accept or
//! both refuse, the error code, domain and message where both refuse, and the dumped XML
//! byte for byte where both accept. A secret without a UUID gets a random one on either
//! side; that one line is left out of the comparison. Every document rvirt writes must pass
//! `virt-xml-validate`. Per-document outputs are left in `target/<profile>/xml-secret/`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rvirt_protocol::error::domain::{NWFILTER, SECRET};
use rvirt_tests::xmldiff::{invalid_outputs, python_libvirt, Outcome};
use rvirt_tests::{repo_root, require_peer, target_dir, Libvirtd};
use rvirt_xml::nwfilter_binding::NwFilterBinding;
use rvirt_xml::secret::Secret;
use rvirt_xml::{XmlError, XML_DETAIL};

/// Corpus kinds, their `virt-xml-validate` schema and their error domain.
const KINDS: [(&str, &str, i32); 2] = [
    ("secret", "secret", SECRET),
    ("binding", "nwfilterbinding", NWFILTER),
];

fn data_dir() -> PathBuf {
    repo_root().join("tests/data/xml-secret")
}

fn corpus(kind: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data_dir().join(kind))
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

/// Runs every (kind, path) through the libvirtd at `uri` with `oracle.py`.
fn libvirtd_outcomes(uri: &str, docs: &[(&str, PathBuf)]) -> Vec<Outcome> {
    let mut child = Command::new("/usr/bin/python3")
        .arg(data_dir().join("oracle.py"))
        .arg(uri)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run oracle.py");
    let list: String = docs
        .iter()
        .map(|(k, p)| format!("{k} {}\n", p.display()))
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let out: Vec<Outcome> = docs.iter().map(|_| read_record(&mut r)).collect();
    writer.join().unwrap().expect("feed the oracle");
    assert!(child.wait().unwrap().success(), "oracle.py failed");
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

/// What rvirt-xml makes of one document.
fn rvirt_outcome(kind: &str, object: i32, xml: &str) -> Outcome {
    let r: Result<String, XmlError> = match kind {
        "secret" => Secret::parse(xml).map(|s| s.to_xml()),
        _ => NwFilterBinding::parse(xml).map(|b| b.to_xml()),
    };
    match r {
        Ok(x) => Outcome::Ok(x),
        Err(e) => Outcome::Err(e.code(), e.error_domain(object), e.to_string()),
    }
}

/// Whether the document leaves its secret's UUID to be made up.
fn uuid_generated(input: &str) -> bool {
    let Some(at) = input.find("<uuid>") else {
        return true;
    };
    input[at + 6..].trim_start().starts_with('<')
}

/// `xml` with the `<uuid>` line of the root masked (a generated UUID).
fn mask_uuid(xml: &str) -> String {
    xml.lines()
        .map(|l| {
            if l.starts_with("  <uuid>") {
                "  <uuid>*</uuid>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether two refusals agree. A document that is not well-formed is reported by the
/// XML parser (libxml2 in libvirt, quick-xml in rvirt), whose descriptions of the fault
/// differ; there the code, the domain and the located `(document):LINE:` prefix must
/// agree, elsewhere the whole message.
fn same_error(a: &Outcome, b: &Outcome) -> bool {
    let (Outcome::Err(ca, da, ma), Outcome::Err(cb, db, mb)) = (a, b) else {
        return false;
    };
    let located = |m: &str| m.starts_with('(');
    if *ca == XML_DETAIL && located(ma) && located(mb) {
        let prefix = |m: &str| m.splitn(3, ':').take(2).collect::<Vec<_>>().join(":");
        return ca == cb && da == db && prefix(ma) == prefix(mb);
    }
    a == b
}

/// Writes `o` to `stem.xml` (accepted) or `stem.err` ("code domain message").
fn write_outcome(dir: &Path, stem: &str, o: &Outcome) {
    let (p, text) = match o {
        Outcome::Ok(x) => (dir.join(format!("{stem}.xml")), x.clone()),
        Outcome::Err(c, d, m) => (dir.join(format!("{stem}.err")), format!("{c} {d} {m}")),
    };
    std::fs::write(p, text).expect("write outcome");
}

#[test]
fn secrets_and_bindings_agree_with_libvirtd() {
    let peers = python_libvirt();
    if !require_peer("python3-libvirt (libvirt-python)", peers) {
        return;
    }
    let Some(daemon) = Libvirtd::start() else {
        return;
    };
    let docs: Vec<(&str, PathBuf)> = KINDS
        .iter()
        .flat_map(|(k, _, _)| corpus(k).into_iter().map(move |p| (*k, p)))
        .collect();
    assert!(
        corpus("secret").len() >= 40,
        "the secret corpus is too small"
    );
    let theirs = libvirtd_outcomes(&daemon.uri("qemu", "system"), &docs);
    drop(daemon);
    let out = target_dir().join("xml-secret");
    let mut failures = Vec::new();
    let mut to_validate = Vec::new();
    for (kind, schema, object) in KINDS {
        let dir = out.join(kind);
        std::fs::create_dir_all(&dir).expect("output directory");
        let (mut total, mut alike, mut identical, mut accepted) = (0, 0, 0, 0);
        for ((k, path), lv) in docs.iter().zip(&theirs) {
            if *k != kind {
                continue;
            }
            total += 1;
            let input = std::fs::read_to_string(path).expect("read document");
            let ours = rvirt_outcome(kind, object, &input);
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            write_outcome(&dir, &format!("{stem}.libvirt"), lv);
            write_outcome(&dir, &format!("{stem}.rvirt"), &ours);
            if let Outcome::Ok(_) = ours {
                to_validate.push((dir.join(format!("{stem}.rvirt.xml")), schema));
            }
            let same = match (lv, &ours) {
                (Outcome::Ok(a), Outcome::Ok(b)) => {
                    accepted += 1;
                    alike += 1;
                    let masked = kind == "secret" && uuid_generated(&input);
                    let eq = if masked {
                        mask_uuid(a) == mask_uuid(b)
                    } else {
                        a == b
                    };
                    identical += usize::from(eq);
                    eq
                }
                (Outcome::Err(..), Outcome::Err(..)) => {
                    alike += 1;
                    let eq = same_error(lv, &ours);
                    identical += usize::from(eq);
                    eq
                }
                _ => false,
            };
            if !same {
                failures.push(format!(
                    "{}: libvirt {lv:?}\n    rvirt {ours:?}",
                    path.display()
                ));
            }
        }
        println!(
            "{kind}: {total} documents, {accepted} accepted by both, {alike} accepted or refused alike, \
             {identical} identical (dump or error)"
        );
    }
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
    assert_valid(&to_validate);
}

/// Every document rvirt wrote must pass `virt-xml-validate`, except where libvirtd wrote
/// the very same bytes and they fail too: libvirtd accepts some values its schema refuses
/// (a volume path with blanks around it, a multicast MAC, a parameter with an empty
/// name) and echoes them, so byte identity and validity cannot both hold there.
fn assert_valid(files: &[(PathBuf, &str)]) {
    let invalid = invalid_outputs(files);
    let mut unexplained = Vec::new();
    let mut libvirt_too = 0;
    for line in invalid {
        let file = line.split(": ").next().unwrap_or_default().to_string();
        let theirs = file.replace(".rvirt.xml", ".libvirt.xml");
        let same = std::fs::read(&file).ok() == std::fs::read(&theirs).ok();
        let schema = files
            .iter()
            .find(|(p, _)| p.display().to_string() == file)
            .map(|(_, s)| *s)
            .unwrap_or_default();
        if same && !invalid_outputs(&[(PathBuf::from(&theirs), schema)]).is_empty() {
            println!("invalid as libvirtd writes it too: {file}");
            libvirt_too += 1;
        } else {
            unexplained.push(line);
        }
    }
    println!("{libvirt_too} outputs invalid exactly as libvirtd's own");
    assert!(
        unexplained.is_empty(),
        "rvirt wrote invalid XML:\n{}",
        unexplained.join("\n")
    );
}
