//! `virsh metadata` and `desc` on the qemu driver against a real libvirtd 9.0: one
//! libvirt-python script (`tests/python/metadata.py`) sets and reads titles,
//! descriptions and namespaced elements, inactive, live and persistent, on both daemons;
//! outcomes, METADATA_CHANGE events and the resulting XML must be equal.

use rvirt_tests::virsh::tiny_qemu_xml;
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{repo_root, Daemon, Libvirtd};

#[test]
fn metadata_matches_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_python_libvirt() {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let xml = rvirtd.dir.0.join("dom.xml");
    std::fs::write(
        &xml,
        tiny_qemu_xml(&format!("rvqmeta{}", std::process::id())),
    )
    .unwrap();
    let script = repo_root().join("tests/python/metadata.py");
    let run = |uri: &str| {
        rvirt_tests::python_output(&[script.to_str().unwrap(), uri, xml.to_str().unwrap()])
    };
    let theirs = run(&libvirtd.uri("qemu", "system"));
    let ours = run(&rvirtd.uri("qemu:///system"));
    assert!(theirs.contains("get config element '<cfg/>'"), "{theirs}");
    assert_eq!(ours, theirs, "rvirtd's, then libvirtd's");
}
