//! Differential test of rvirt's `<secret>` and `<filterbinding>` XML against a real
//! libvirtd 9.0 (libvirt's test driver has neither object).
//!
//! Every document of `tests/data/xml-secret/{secret,binding}` (made by `gen.py` there) is
//! defined on a private libvirtd (`oracle.py`: `secretDefineXML` + `XMLDesc` + `undefine`,
//! `nwfilterBindingCreateXML` + `XMLDesc` + `delete`, against a filter it defines for the
//! run) and parsed and formatted by rvirt-xml in-process. Compared: whether both accept or
//! both refuse, the error code, domain and message where both refuse, and the dumped XML
//! byte for byte where both accept. Each document is run twice, plainly and with the
//! call's VALIDATE flag (rvirt: `ParseOptions::validate`); refusals as outside the schema
//! must agree in code and domain, not in libxml2's detail lines (see `schema_refusals`).
//! A secret without a UUID gets a random one on either
//! side; that one line is left out of the comparison. Every document rvirt writes must pass
//! `virt-xml-validate`. Per-document outputs are left in `target/<profile>/xml-secret/`.

use std::path::{Path, PathBuf};

use rvirt_protocol::error::domain::{NWFILTER, SECRET};
use rvirt_tests::xmldiff::{invalid_outputs, oracle_outcomes, python_libvirt, Outcome};
use rvirt_tests::{repo_root, require_peer, target_dir, Libvirtd};
use rvirt_xml::nwfilter_binding::NwFilterBinding;
use rvirt_xml::secret::Secret;
use rvirt_xml::{ParseOptions, XmlError, XML_DETAIL, XML_INVALID_SCHEMA};

/// Corpus kinds, their `virt-xml-validate` schema and their error domain.
const KINDS: [(&str, &str, i32); 2] = [
    ("secret", "secret", SECRET),
    ("binding", "nwfilterbinding", NWFILTER),
];

/// The least number of identical outcomes (dump or whole error) of each VALIDATE run
/// today: the rest are schema refusals worded differently (see `schema_refusals`).
const VALIDATE_IDENTICAL_FLOORS: [(&str, usize); 2] =
    [("secret-validate", 27), ("binding-validate", 24)];

/// Each kind is run twice: plain (flags 0) and with the call's VALIDATE flag.
const MODES: [(&str, bool); 2] = [("", false), ("-validate", true)];

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
    oracle_outcomes(&data_dir().join("oracle.py"), &[uri], docs)
}

/// What rvirt-xml makes of one document, checked against the schema when `validate`.
fn rvirt_outcome(kind: &str, validate: bool, object: i32, xml: &str) -> Outcome {
    let opts = ParseOptions::validate(validate);
    let r: Result<String, XmlError> = match kind {
        "secret" => Secret::parse_with(xml, opts).map(|s| s.to_xml()),
        _ => NwFilterBinding::parse_with(xml, opts).map(|b| b.to_xml()),
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

/// Agreement over one kind in one mode.
#[derive(Default)]
struct Tally {
    total: usize,
    accepted: usize,
    alike: usize,
    identical: usize,
}

/// Whether libvirt's and rvirt's outcomes for `input` agree; counts them in `t`.
fn agree(t: &mut Tally, kind: &str, input: &str, lv: &Outcome, ours: &Outcome) -> bool {
    t.total += 1;
    let eq = match (lv, ours) {
        (Outcome::Ok(a), Outcome::Ok(b)) => {
            t.accepted += 1;
            if kind == "secret" && uuid_generated(input) {
                mask_uuid(a) == mask_uuid(b)
            } else {
                a == b
            }
        }
        (Outcome::Err(..), Outcome::Err(..)) => same_error(lv, ours),
        _ => return false,
    };
    t.alike += 1;
    t.identical += usize::from(eq);
    eq || schema_refusals(lv, ours)
}

/// Whether both refused the document as outside the schema (VALIDATE flag). libvirt's
/// detail lines are libxml2's RelaxNG engine retracing its search through the content
/// model; rvirt names the first fault in one line. Code and domain must agree, the
/// detail may differ (the identical count shows how often it does not).
fn schema_refusals(a: &Outcome, b: &Outcome) -> bool {
    matches!((a, b), (Outcome::Err(ca, da, _), Outcome::Err(cb, db, _))
        if *ca == XML_INVALID_SCHEMA && ca == cb && da == db)
}

/// Every run: (label, corpus kind, schema, VALIDATE flag, error domain).
fn runs() -> Vec<(String, &'static str, &'static str, bool, i32)> {
    KINDS
        .iter()
        .flat_map(|(k, schema, obj)| {
            MODES.map(|(suffix, v)| (format!("{k}{suffix}"), *k, *schema, v, *obj))
        })
        .collect()
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
    assert!(
        corpus("secret").len() >= 40,
        "the secret corpus is too small"
    );
    let labels = runs();
    let docs: Vec<(&str, PathBuf)> = labels
        .iter()
        .flat_map(|(label, k, ..)| corpus(k).into_iter().map(move |p| (label.as_str(), p)))
        .collect();
    let theirs = libvirtd_outcomes(&daemon.uri("qemu", "system"), &docs);
    drop(daemon);
    let mut failures = Vec::new();
    let mut to_validate = Vec::new();
    for (label, kind, schema, validate, object) in &labels {
        let dir = target_dir().join("xml-secret").join(label);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("output directory");
        let mut t = Tally::default();
        for ((l, path), lv) in docs.iter().zip(&theirs).filter(|((l, _), _)| l == label) {
            let input = std::fs::read_to_string(path).expect("read document");
            let ours = rvirt_outcome(kind, *validate, *object, &input);
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            write_outcome(&dir, &format!("{stem}.libvirt"), lv);
            write_outcome(&dir, &format!("{stem}.rvirt"), &ours);
            if let Outcome::Ok(_) = ours {
                to_validate.push((dir.join(format!("{stem}.rvirt.xml")), *schema));
            }
            if !agree(&mut t, kind, &input, lv, &ours) {
                failures.push(format!(
                    "{l} {}:\n    libvirt {lv:?}\n    rvirt   {ours:?}",
                    path.display()
                ));
            }
        }
        println!(
            "{label}: {} documents, {} accepted by both, {} accepted or refused alike, {} identical (dump or error)",
            t.total, t.accepted, t.alike, t.identical
        );
        if let Some((_, floor)) = VALIDATE_IDENTICAL_FLOORS.iter().find(|(l, _)| l == label) {
            assert!(
                t.identical >= *floor,
                "{label}: fewer identical outcomes than {floor}"
            );
        }
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
