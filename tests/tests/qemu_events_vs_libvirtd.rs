//! Domain events of the qemu driver against a real libvirtd 9.0's, side by side: one
//! libvirt-python script (`tests/data/qemu-events/lifecycle.py`) drives the same
//! firmware-only guest through define, start, pause, resume, reset, destroy, a paused
//! start, a graceful destroy, a crash (QEMU killed), undefine and a transient run on each
//! daemon and prints the events every step causes. The two transcripts must be equal.

use rvirt_tests::virsh::tiny_qemu_xml;
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{repo_root, Daemon, Libvirtd};

fn transcript(uri: &str, xml: &std::path::Path) -> String {
    let script = repo_root().join("tests/data/qemu-events/lifecycle.py");
    rvirt_tests::python_output(&[script.to_str().unwrap(), uri, xml.to_str().unwrap()])
}

#[test]
fn lifecycle_events_match_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_python_libvirt() {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let name = format!("rvqev{}", std::process::id());
    let xml = tiny_qemu_xml(&name).replace(
        "<name>",
        "<uuid>8d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9e01</uuid><name>",
    );
    let path = rvirtd.dir.0.join("dom.xml");
    std::fs::write(&path, xml).unwrap();
    let theirs = transcript(&libvirtd.uri("qemu", "system"), &path);
    let ours = transcript(&rvirtd.uri("qemu:///system"), &path);
    assert!(
        theirs.contains("lifecycle Started 0"),
        "libvirtd never started the guest:\n{theirs}"
    );
    assert_eq!(ours, theirs, "rvirtd's events, then libvirtd's");
}
