//! Snapshots on the qemu driver against a real libvirtd 9.0.
//!
//! One libvirt-python script (`tests/data/qemu-snapshot/snapshots.py`) drives the same
//! firmware-only guest with a qcow2 disk through internal snapshots (offline, running,
//! paused, `HALT`, `NO_METADATA`, redefine), every list and tree call, reverts (to
//! shut-off, running and paused snapshots, with `--running`/`--paused`) and deletes
//! (`--children-only`, `--metadata`), and undefine with snapshots, on each daemon; it
//! prints every step's outcome, events, state, masked snapshot XML and the snapshots
//! inside the image, and the two transcripts must be equal. Then rvirtd's snapshot
//! metadata survives a kill -9 and a restart.

use std::path::Path;
use std::process::Command;

use rvirt_tests::virsh::{self, qcow2_vda, tiny_qemu_xml_with};
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{script_transcript, Daemon, Libvirtd, TempDir};

/// The guest's XML with a new qcow2 disk under `dir`, written to `dir/dom.xml`.
fn guest(dir: &Path, name: &str) -> std::path::PathBuf {
    let disk = dir.join("disk.qcow2");
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&disk)
        .arg("16M")
        .status()
        .expect("run qemu-img");
    assert!(made.success(), "qemu-img create failed");
    let xml = tiny_qemu_xml_with(name, &qcow2_vda(&disk)).replace(
        "<name>",
        "<uuid>6c2f0e1a-4b8d-4f3e-9a72-1e5d8c0b3a41</uuid><name>",
    );
    let path = dir.join("dom.xml");
    std::fs::write(&path, xml).unwrap();
    path
}

#[test]
fn snapshots_match_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_python_libvirt() {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let name = format!("rvqsnap{}", std::process::id());
    let theirs_dir = TempDir::new("snap-libvirtd");
    let ours_dir = TempDir::new("snap-rvirtd");
    let theirs_xml = guest(&theirs_dir.0, &name);
    let ours_xml = guest(&ours_dir.0, &name);
    let theirs = script_transcript(
        "qemu-snapshot/snapshots.py",
        &libvirtd.uri("qemu", "system"),
        &theirs_xml,
        &theirs_dir.0,
    );
    let ours = script_transcript(
        "qemu-snapshot/snapshots.py",
        &rvirtd.uri("qemu:///system"),
        &ours_xml,
        &ours_dir.0,
    );
    assert!(
        theirs.contains("create s2 running: ok"),
        "libvirtd never took a running snapshot:\n{theirs}"
    );
    assert_eq!(ours, theirs, "rvirtd's transcript, then libvirtd's");
}

/// The snapshot tree, the current mark and the images' snapshots outlive a kill -9 of
/// rvirtd: the restarted daemon lists, dumps and reverts them.
#[test]
fn snapshots_survive_kill_9() {
    if !rvirt_tests::require_qemu()
        || !rvirt_tests::require_peer("virsh", rvirt_tests::have_program(virsh::VIRSH))
    {
        return;
    }
    let dir = TempDir::new("snap-kill");
    let name = format!("rvqsnapk{}", std::process::id());
    let xml = guest(&dir.0, &name);
    let mut rvirtd = Daemon::start("");
    let uri = rvirtd.uri("qemu:///system");
    virsh::ok(&uri, &["define", xml.to_str().unwrap()]);
    virsh::ok(&uri, &["snapshot-create-as", &name, "a", "first"]);
    virsh::ok(&uri, &["snapshot-create-as", &name, "b"]);
    virsh::ok(&uri, &["snapshot-current", &name, "a"]);
    let before = virsh::ok(&uri, &["snapshot-list", &name, "--tree"]);
    let xml_b = virsh::ok(&uri, &["snapshot-dumpxml", &name, "b"]);
    rvirtd.kill9_and_restart();
    let uri = rvirtd.uri("qemu:///system");
    assert_eq!(virsh::ok(&uri, &["snapshot-list", &name, "--tree"]), before);
    assert_eq!(virsh::ok(&uri, &["snapshot-dumpxml", &name, "b"]), xml_b);
    assert_eq!(
        virsh::ok(&uri, &["snapshot-current", &name, "--name"]).trim(),
        "a"
    );
    assert_eq!(
        virsh::ok(&uri, &["snapshot-parent", &name, "b"]).trim(),
        "a"
    );
    virsh::ok(&uri, &["snapshot-revert", &name, "b"]);
    virsh::ok(&uri, &["snapshot-delete", &name, "a", "--children"]);
    assert_eq!(
        virsh::ok(&uri, &["snapshot-list", &name, "--name"]).trim(),
        ""
    );
    virsh::ok(&uri, &["undefine", &name]);
}
