//! `virsh console` on the qemu driver against a real libvirtd 9.0: one libvirt-python
//! script (`tests/data/qemu-console/console.py`) opens console streams on both daemons.
//! On a firmware-only guest with a pty serial port it checks the rules (stopped domain,
//! unknown device, a busy console, a forced open and what it does to the stream it takes
//! over); on a Linux guest (TCG) whose init echoes its console, a line sent through the
//! console must come back. The outputs of the two daemons must be equal.

use std::path::Path;

use rvirt_tests::guest::{self, guest_kvm};
use rvirt_tests::virsh::tiny_qemu_xml_with;
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{repo_root, Daemon, Libvirtd};

const QEMU: &str = "/usr/bin/qemu-system-x86_64";

const PTY_CONSOLE: &str = "<serial type='pty'><target port='0'/></serial>\
     <console type='pty'><target type='serial' port='0'/></console>";

/// The guest's /init: says it is ready on its console, then answers every line.
const ECHO_INIT: &str = r#"#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
/bin/busybox --install -s
stty -echo
echo RVIRT-CONSOLE-READY
while read -r line; do echo "GOT:$line"; done
"#;

fn peers() -> bool {
    rvirt_tests::require_qemu() && require_python_libvirt()
}

fn transcript(mode: &str, uri: &str, xml: &Path) -> String {
    let script = repo_root().join("tests/data/qemu-console/console.py");
    rvirt_tests::python_output(&[script.to_str().unwrap(), mode, uri, xml.to_str().unwrap()])
}

/// Runs `mode` with the domain of `xml` on a real libvirtd and on rvirtd; both outputs.
fn both(mode: &str, xml: &str) -> Option<(String, String)> {
    let libvirtd = Libvirtd::start_for_guests()?;
    let rvirtd = Daemon::start("");
    let path = rvirtd.dir.0.join("dom.xml");
    std::fs::write(&path, xml).unwrap();
    let theirs = transcript(mode, &libvirtd.uri("qemu", "system"), &path);
    let ours = transcript(mode, &rvirtd.uri("qemu:///system"), &path);
    Some((ours, theirs))
}

#[test]
fn console_rules_match_libvirtd() {
    if !peers() {
        return;
    }
    let name = format!("rvqcon{}", std::process::id());
    let Some((ours, theirs)) = both("rules", &tiny_qemu_xml_with(&name, PTY_CONSOLE)) else {
        return;
    };
    assert!(theirs.contains("second open: error 9"), "{theirs}");
    assert_eq!(ours, theirs, "rvirtd's, then libvirtd's");
}

#[test]
fn a_line_sent_to_the_console_comes_back() {
    if !peers() {
        return;
    }
    let Some((kernel, modules)) = guest::peers() else {
        return;
    };
    let dir = rvirt_tests::TempDir::new("console-guest");
    let initrd = dir.0.join("initrd.cpio");
    guest::build_initramfs(
        &modules,
        &initrd,
        ECHO_INIT,
        &["sh", "mount", "stty", "echo"],
        &[],
    );
    let ty = if guest_kvm() { "kvm" } else { "qemu" };
    let xml = format!(
        "<domain type='{ty}'><name>rvqecho{pid}</name><memory unit='MiB'>192</memory>\
         <vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type>\
         <kernel>{kernel}</kernel><initrd>{initrd}</initrd>\
         <cmdline>console=ttyS0 panic=-1 quiet</cmdline></os>\
         <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>\
         <devices><emulator>{QEMU}</emulator>{PTY_CONSOLE}<memballoon model='none'/>\
         </devices></domain>",
        pid = std::process::id(),
        kernel = kernel.display(),
        initrd = initrd.display(),
    );
    let Some((ours, theirs)) = both("echo", &xml) else {
        return;
    };
    assert_eq!(theirs, "echo: echoed\n", "libvirtd's console did not echo");
    assert_eq!(ours, theirs, "rvirtd's, then libvirtd's");
}
