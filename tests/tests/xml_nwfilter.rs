//! Differential test of network filter XML: every document of `tests/data/xml-nwfilter/`
//! is defined on a real libvirtd 9.0 (libvirt-python `nwfilterDefineXML`, `XMLDesc(0)`,
//! `undefine()`, through `oracle.py`) and parsed and formatted by rvirt-xml in-process.
//! Accept/refuse decisions, error codes, domains and messages, and dumped documents must
//! agree byte for byte; every rvirt output must pass `virt-xml-validate FILE nwfilter`.
//! Outputs are left in `target/<profile>/xml-nwfilter/NNN.{libvirt,rvirt}.{xml,err}`.
//!
//! The corpus (`gen.py`) names its filters `rvirt-corpus-N` (no shipped filter has such a
//! name) and fixes their uuids; `oracle.py` undefines every filter it defines, since the
//! libvirtd runs with the host's /etc/libvirt.
//!
//! A document without `<uuid>` gets a generated one from both; those are compared as
//! "a uuid". Seven outputs (arp/rarp masks, `state`/`connlimit-above`/`ipset` on IPv6
//! layer-4 elements, `<icmp type='$T'>`) are outside nwfilter.rng as libvirt itself
//! writes them; they are excused, and listed, only when rvirt's are byte-identical.
//!
//! Known impossible case, left out of the corpus: under `match='no'`, libvirt 9.0 writes
//! some element/attribute combinations as two elements (`<tcp srcipaddr='A'
//! dstportstart='22' match='no'/>` comes back as `<tcp match='no' srcipaddr='A'/>` and
//! `<tcp dstportstart='22'/>`, yet with `srcportstart` also given, or with every attribute,
//! as one); the rule behind it is not known, so rvirt always writes `match='no'` once,
//! first, which is what libvirt does in the other cases probed.

use rvirt_protocol::error::domain::NWFILTER;
use rvirt_tests::xmldiff::{invalid_outputs, oracle_outcomes, python_libvirt, Outcome};
use rvirt_tests::{have_program, repo_root, require_peer, target_dir, Libvirtd};
use rvirt_xml::nwfilter::NwFilter;

/// Every document through the real libvirtd at `uri`.
fn libvirt_outcomes(uri: &str, docs: &[std::path::PathBuf]) -> Vec<Outcome> {
    let script = repo_root().join("tests/data/xml-nwfilter/oracle.py");
    let docs: Vec<(&str, std::path::PathBuf)> =
        docs.iter().map(|p| ("filter", p.clone())).collect();
    oracle_outcomes(&script, &[uri], &docs)
}

fn rvirt_outcome(xml: &str) -> Outcome {
    match NwFilter::parse(xml) {
        Ok(f) => Outcome::Ok(f.to_xml()),
        Err(e) => Outcome::Err(e.code(), e.error_domain(NWFILTER), e.to_string()),
    }
}

fn write_outcome(dir: &std::path::Path, stem: &str, who: &str, o: &Outcome) {
    let (ext, text) = match o {
        Outcome::Ok(x) => ("xml", x.clone()),
        Outcome::Err(c, d, m) => ("err", format!("{c} {d} {m}\n")),
    };
    let stale = if ext == "xml" { "err" } else { "xml" };
    let _ = std::fs::remove_file(dir.join(format!("{stem}.{who}.{stale}")));
    std::fs::write(dir.join(format!("{stem}.{who}.{ext}")), text).expect("write outcome");
}

#[test]
fn nwfilter_documents_agree_with_libvirtd() {
    if !require_peer("python3-libvirt", python_libvirt())
        || !require_peer(
            "virt-xml-validate",
            have_program("/usr/bin/virt-xml-validate"),
        )
    {
        return;
    }
    let Some(daemon) = Libvirtd::start() else {
        return;
    };
    let corpus = repo_root().join("tests/data/xml-nwfilter");
    let mut docs: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    docs.sort();
    assert!(docs.len() >= 60, "corpus has {} documents", docs.len());
    let theirs = libvirt_outcomes(&daemon.uri("qemu", "system"), &docs);
    drop(daemon);
    let out_dir = target_dir().join("xml-nwfilter");
    std::fs::create_dir_all(&out_dir).expect("output dir");
    let (mut same, mut accepted, mut differ) = (0, 0, Vec::new());
    let mut to_validate = Vec::new();
    for (path, libvirt) in docs.iter().zip(&theirs) {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let doc = std::fs::read_to_string(path).expect("read document");
        let ours = rvirt_outcome(&doc);
        write_outcome(&out_dir, &stem, "libvirt", libvirt);
        write_outcome(&out_dir, &stem, "rvirt", &ours);
        let (libvirt, ours) = if doc.contains("<uuid>") {
            (libvirt.clone(), ours)
        } else {
            (generated_uuid(libvirt), generated_uuid(&ours))
        };
        let libvirt = &libvirt;
        if let Outcome::Ok(_) = ours {
            to_validate.push((out_dir.join(format!("{stem}.rvirt.xml")), "nwfilter"));
        }
        if matches!(libvirt, Outcome::Ok(_)) {
            accepted += 1;
        }
        if ours == *libvirt {
            same += 1;
        } else {
            differ.push(stem);
        }
    }
    println!(
        "nwfilter: {same}/{} documents agree ({accepted} accepted by libvirt); differing: {differ:?}",
        docs.len()
    );
    let invalid = invalid_outputs(&to_validate);
    // An invalid rvirt output is excused only when it is byte-identical to libvirt's and
    // libvirt's own output is refused too: libvirt 9.0 writes some attributes its schema
    // does not allow on that element (`<arp gratuitous>`, `connlimit-above` on several
    // layer-4 elements, ...); byte-identical output is the stronger contract.
    let (excused, invalid): (Vec<_>, Vec<_>) = invalid
        .into_iter()
        .partition(|line| libvirt_writes_it_too(line, &differ));
    println!(
        "nwfilter: {} rvirt outputs, {} invalid, {} invalid exactly as libvirt's own: {:?}",
        to_validate.len(),
        invalid.len(),
        excused.len(),
        excused.iter().map(|l| stem_of(l)).collect::<Vec<_>>()
    );
    assert!(
        differ.is_empty(),
        "documents differ: {differ:?} (see {})",
        out_dir.display()
    );
    assert!(invalid.is_empty(), "invalid outputs: {invalid:#?}");
}

/// A document whose uuid was generated, with that uuid (checked to be one) replaced by `U`.
fn generated_uuid(o: &Outcome) -> Outcome {
    let Outcome::Ok(x) = o else {
        return o.clone();
    };
    let (Some(a), Some(b)) = (x.find("<uuid>"), x.find("</uuid>")) else {
        return o.clone();
    };
    let uuid = &x[a + "<uuid>".len()..b];
    assert!(rvirt_tests::is_uuid(uuid), "generated uuid {uuid:?}");
    Outcome::Ok(x.replacen(uuid, "U", 1))
}

/// The document number an `invalid_outputs` line is about.
fn stem_of(line: &str) -> &str {
    let file = line.split(".rvirt.xml").next().unwrap_or("");
    file.rsplit('/').next().unwrap_or("")
}

/// Whether the rvirt output `line` reports is libvirt's output too (the document agrees)
/// and `virt-xml-validate` refuses libvirt's own copy as well.
fn libvirt_writes_it_too(line: &str, differ: &[String]) -> bool {
    let stem = stem_of(line);
    let theirs = target_dir().join(format!("xml-nwfilter/{stem}.libvirt.xml"));
    !differ.iter().any(|d| d == stem) && !invalid_outputs(&[(theirs, "nwfilter")]).is_empty()
}
