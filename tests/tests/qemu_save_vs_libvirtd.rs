//! `save`, `restore` and `managedsave` on the qemu driver against a real libvirtd 9.0.
//!
//! One libvirt-python script (`tests/data/qemu-save/save_restore.py`) drives the same
//! firmware-only guest through save and restore (running, paused, `--running`,
//! `--paused`, `--bypass-cache`), the saved image's XML (`save-image-dumpxml`,
//! `save-image-define`), managed save (start restores it, `--force-boot` drops it,
//! undefine refuses it) and a transient domain, on each daemon; it prints every step's
//! outcome, events and state, and the two transcripts must be equal. Then images move
//! between the daemons: an image rvirtd saved restores on libvirtd, and back.

use rvirt_tests::virsh::{self, tiny_qemu_xml};
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{script_transcript, Daemon, Libvirtd};

fn guest_xml(name: &str, uuid: &str) -> String {
    tiny_qemu_xml(name).replace("<name>", &format!("<uuid>{uuid}</uuid><name>"))
}

#[test]
fn save_and_restore_match_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_python_libvirt() {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let name = format!("rvqsave{}", std::process::id());
    let path = rvirtd.dir.0.join("dom.xml");
    std::fs::write(
        &path,
        guest_xml(&name, "5b1e9c0a-3f7d-4e2a-8c61-9d0b7a4e2f11"),
    )
    .unwrap();
    let theirs_dir = rvirt_tests::TempDir::new("save-libvirtd");
    let ours_dir = rvirt_tests::TempDir::new("save-rvirtd");
    let theirs = script_transcript(
        "qemu-save/save_restore.py",
        &libvirtd.uri("qemu", "system"),
        &path,
        &theirs_dir.0,
    );
    let ours = script_transcript(
        "qemu-save/save_restore.py",
        &rvirtd.uri("qemu:///system"),
        &path,
        &ours_dir.0,
    );
    assert!(
        theirs.contains("lifecycle Stopped 4"),
        "libvirtd never saved the guest:\n{theirs}"
    );
    assert_eq!(ours, theirs, "rvirtd's transcript, then libvirtd's");
}

/// `virsh save` on one daemon, `virsh restore` of that file on the other: the guest
/// runs again there, under its own name, and saves back.
#[test]
fn images_move_between_rvirtd_and_libvirtd() {
    if !rvirt_tests::require_qemu()
        || !rvirt_tests::require_peer("virsh", rvirt_tests::have_program(virsh::VIRSH))
    {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let (ours, theirs) = (rvirtd.uri("qemu:///system"), libvirtd.uri("qemu", "system"));
    let name = format!("rvqmove{}", std::process::id());
    let dir = rvirt_tests::TempDir::new("save-move");
    let xml = dir.0.join("dom.xml");
    std::fs::write(
        &xml,
        guest_xml(&name, "5b1e9c0a-3f7d-4e2a-8c61-9d0b7a4e2f12"),
    )
    .unwrap();
    let img = dir.0.join("guest.save");
    let img = img.to_str().unwrap();
    virsh::ok(&ours, &["create", xml.to_str().unwrap()]);
    virsh::ok(&ours, &["save", &name, img]);
    assert_eq!(
        virsh::ok(&ours, &["list", "--all", "--name"]).trim(),
        "",
        "a transient domain is gone once saved"
    );
    let restored = virsh::ok(&theirs, &["restore", img]);
    assert!(
        restored.contains(&format!("Domain restored from {img}")),
        "{restored}"
    );
    assert_eq!(virsh::ok(&theirs, &["domstate", &name]).trim(), "running");
    virsh::ok(&theirs, &["save", &name, img]);
    virsh::ok(&ours, &["restore", img]);
    assert_eq!(virsh::ok(&ours, &["domstate", &name]).trim(), "running");
    // A paused guest's image restores paused on the other side.
    virsh::ok(&ours, &["suspend", &name]);
    virsh::ok(&ours, &["save", &name, img]);
    virsh::ok(&theirs, &["restore", img]);
    assert_eq!(virsh::ok(&theirs, &["domstate", &name]).trim(), "paused");
    virsh::ok(&theirs, &["save", "--running", &name, img]);
    virsh::ok(&ours, &["restore", img]);
    assert_eq!(virsh::ok(&ours, &["domstate", &name]).trim(), "running");
    virsh::ok(&ours, &["destroy", &name]);
}
