//! Save and restore of guests that run code, and managed save at autostart.
//!
//! A Linux guest (TCG unless KVM works here) numbers the lines it reads on its console:
//! saved and restored, it answers the next line with the next number, so its memory came
//! back and it did not boot again; the same across rvirtd and a real libvirtd 9.0 (saved
//! on one, restored on the other, and back). A domain marked autostart with a managed
//! save image comes back from it when the daemon starts; a corrupt one is removed and the
//! domain boots.

use std::path::Path;

use rvirt_tests::guest::{self, guest_kvm};
use rvirt_tests::virsh::{self, tiny_qemu_xml};
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{repo_root, Daemon, Libvirtd, TempDir};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";

/// The guest's /init: says it is ready, then answers every line with its number.
const COUNT_INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s
stty -echo
echo RVIRT-SAVE-READY
n=0
while read -r line; do n=$((n+1)); echo "GOT:$n:$line"; done
"#;

const EXPECTED: &str = "boot: RVIRT-SAVE-READY\nanswer: GOT:1:one\n\
restored: state 1 3\nanswer: GOT:2:two\nrestored: state 1 3\nanswer: GOT:3:three\n";

/// The counting guest's XML, its initramfs under `dir`; `None` without the test kernel.
fn counting_guest(dir: &Path, name: &str) -> Option<String> {
    let (kernel, modules) = guest::peers()?;
    let initrd = dir.join("initrd.cpio");
    guest::build_initramfs(
        &modules,
        &initrd,
        COUNT_INIT,
        &["sh", "mount", "stty", "echo"],
        &[],
    );
    let ty = if guest_kvm() { "kvm" } else { "qemu" };
    Some(format!(
        "<domain type='{ty}'><name>{name}</name><memory unit='MiB'>192</memory>\
         <vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type>\
         <kernel>{kernel}</kernel><initrd>{initrd}</initrd>\
         <cmdline>console=ttyS0 panic=-1 quiet</cmdline></os>\
         <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>\
         <devices><emulator>{QEMU}</emulator>\
         <serial type='pty'><target port='0'/></serial>\
         <console type='pty'><target type='serial' port='0'/></console>\
         <memballoon model='none'/></devices></domain>",
        kernel = kernel.display(),
        initrd = initrd.display(),
    ))
}

fn run_guest(a: &str, b: &str, xml: &Path, dir: &Path) -> String {
    let script = repo_root().join("tests/data/qemu-save/guest.py");
    rvirt_tests::python_output(&[
        script.to_str().unwrap(),
        a,
        b,
        xml.to_str().unwrap(),
        dir.to_str().unwrap(),
    ])
}

#[test]
fn a_running_guest_continues_after_restore() {
    if !rvirt_tests::require_qemu() || !require_python_libvirt() {
        return;
    }
    let dir = TempDir::new("save-guest");
    let Some(xml) = counting_guest(&dir.0, &format!("rvqsg{}", std::process::id())) else {
        return;
    };
    let path = dir.0.join("guest.xml");
    std::fs::write(&path, xml).unwrap();
    let rvirtd = Daemon::start("");
    let uri = rvirtd.uri("qemu:///system");
    assert_eq!(run_guest(&uri, &uri, &path, &dir.0), EXPECTED);
}

#[test]
fn a_running_guest_moves_between_rvirtd_and_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_python_libvirt() {
        return;
    }
    let dir = TempDir::new("save-guest-move");
    let Some(xml) = counting_guest(&dir.0, &format!("rvqsm{}", std::process::id())) else {
        return;
    };
    let path = dir.0.join("guest.xml");
    std::fs::write(&path, xml).unwrap();
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let (ours, theirs) = (rvirtd.uri("qemu:///system"), libvirtd.uri("qemu", "system"));
    assert_eq!(run_guest(&ours, &theirs, &path, &dir.0), EXPECTED);
}

#[test]
fn autostart_restores_a_managed_save_image() {
    if !rvirt_tests::require_qemu() {
        return;
    }
    let mut rvirtd = Daemon::start("");
    let uri = rvirtd.uri("qemu:///system");
    let name = format!("rvqauto{}", std::process::id());
    let xml = rvirtd.dir.0.join("dom.xml");
    std::fs::write(&xml, tiny_qemu_xml(&name)).unwrap();
    virsh::ok(&uri, &["define", xml.to_str().unwrap()]);
    virsh::ok(&uri, &["autostart", &name]);
    virsh::ok(&uri, &["start", &name]);
    virsh::ok(&uri, &["managedsave", &name]);
    let listed = virsh::ok(&uri, &["list", "--all", "--managed-save"]);
    assert!(listed.contains("saved"), "{listed}");
    rvirtd.restart(false);
    assert_eq!(
        virsh::ok(&uri, &["domstate", "--reason", &name]).trim(),
        "running (restored)"
    );
    let info = virsh::ok(&uri, &["dominfo", &name]);
    assert!(info.contains("Managed save:   no"), "{info}");
    virsh::ok(&uri, &["destroy", &name]);
    virsh::ok(&uri, &["undefine", &name]);
}

#[test]
fn a_corrupt_managed_save_image_is_dropped_at_start() {
    if !rvirt_tests::require_qemu() {
        return;
    }
    let rvirtd = Daemon::start("");
    let uri = rvirtd.uri("qemu:///system");
    let name = format!("rvqbad{}", std::process::id());
    let xml = rvirtd.dir.0.join("dom.xml");
    std::fs::write(&xml, tiny_qemu_xml(&name)).unwrap();
    virsh::ok(&uri, &["define", xml.to_str().unwrap()]);
    virsh::ok(&uri, &["start", &name]);
    virsh::ok(&uri, &["managedsave", &name]);
    let image = rvirtd.dir.0.join(format!("state/qemu/save/{name}.save"));
    let bytes = std::fs::read(&image).expect("the managed save image");
    assert_eq!(&bytes[..16], b"LibvirtQemudSave");
    std::fs::write(&image, &bytes[..40]).unwrap();
    virsh::ok(&uri, &["start", &name]);
    assert_eq!(
        virsh::ok(&uri, &["domstate", "--reason", &name]).trim(),
        "running (booted)"
    );
    assert!(!image.exists(), "the corrupt image stays");
    virsh::ok(&uri, &["destroy", &name]);
    virsh::ok(&uri, &["undefine", &name]);
}
