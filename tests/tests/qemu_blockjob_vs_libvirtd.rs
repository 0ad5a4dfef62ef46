//! Block jobs on the qemu driver against a real libvirtd 9.0.
//!
//! One libvirt-python script (`tests/data/qemu-blockjob/blockjobs.py`) makes a qcow2
//! backing chain (base <- mid <- top) with `qemu-img`, starts the same firmware-only guest
//! on it and drives resize, pull (a rate-limited one with job info, speed and abort, then
//! one onto a base), an inactive commit, active commits ended by abort and by pivot,
//! copies of a transient domain (aborted, and pivoted to) and the refusals around them,
//! on each daemon; it prints every step's outcome, the
//! BLOCK_JOB and BLOCK_JOB_2 events, the disk's live source (and at ten points its
//! whole live `<disk>`, backing chain and indexes) and the images' chain, and
//! the two transcripts must be equal.

use std::path::Path;

use rvirt_tests::virsh::{qcow2_vda, tiny_qemu_xml_with};
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{script_transcript, Daemon, Libvirtd, TempDir};

/// The guest's XML on `dir/top.qcow2` (the script makes the chain), written to
/// `dir/dom.xml`.
fn guest(dir: &Path, name: &str) -> std::path::PathBuf {
    let xml = tiny_qemu_xml_with(name, &qcow2_vda(&dir.join("top.qcow2"))).replace(
        "<name>",
        "<uuid>3f1c9a2e-7b4d-4e8a-b6c1-5d2e9f0a7b13</uuid><name>",
    );
    let path = dir.join("dom.xml");
    std::fs::write(&path, xml).unwrap();
    path
}

#[test]
fn block_jobs_match_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_python_libvirt() {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let name = format!("rvqblk{}", std::process::id());
    let theirs_dir = TempDir::new("blk-libvirtd");
    let ours_dir = TempDir::new("blk-rvirtd");
    let theirs_xml = guest(&theirs_dir.0, &name);
    let ours_xml = guest(&ours_dir.0, &name);
    let theirs = script_transcript(
        "qemu-blockjob/blockjobs.py",
        &libvirtd.uri("qemu", "system"),
        &theirs_xml,
        &theirs_dir.0,
    );
    if let Ok(out) = std::env::var("RVIRT_BLOCKJOB_ORACLE") {
        std::fs::write(out, &theirs).unwrap();
    }
    assert!(
        theirs.contains("active commit: ok") && theirs.contains("status 3"),
        "libvirtd never reached a ready active commit:\n{theirs}"
    );
    let ours = script_transcript(
        "qemu-blockjob/blockjobs.py",
        &rvirtd.uri("qemu:///system"),
        &ours_xml,
        &ours_dir.0,
    );
    let steps = theirs.lines().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(ours, theirs, "rvirtd's transcript, then libvirtd's");
    eprintln!("{steps} steps agree");
}
