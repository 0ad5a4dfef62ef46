//! How much of libvirt 9.0's schemas the XML corpora reach: for each kind, the element
//! names its RelaxNG grammar reaches from its start (`tests/data/xml-corpus/coverage.py`
//! walks the grammar with its includes) against the names the corpus documents use.
//! Printed per kind, with the counts asserted as floors.

use rvirt_tests::{repo_root, require_peer};

#[test]
fn corpora_reach_every_schema_element_name() {
    let schemas = std::path::Path::new("/usr/share/libvirt/schemas/domain.rng");
    if !require_peer(
        "libvirt's RelaxNG schemas (libvirt-clients)",
        schemas.exists(),
    ) {
        return;
    }
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(repo_root().join("tests/data/xml-corpus/coverage.py"))
        .output()
        .expect("run coverage.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{text}");
    // (kind, names reached at least).
    let floors = [
        ("domain", 401),
        ("network", 38),
        ("pool", 36),
        ("volume", 33),
        ("nodedev", 71),
        ("snapshot", 37),
        ("netport", 18),
    ];
    for (kind, floor) in floors {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{kind}: ")))
            .unwrap_or_else(|| panic!("no count for {kind}"));
        let reached: usize = line[kind.len() + 2..]
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {line}"));
        assert!(reached >= floor, "{line}: below {floor}");
    }
}
