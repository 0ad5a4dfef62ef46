//! Running the real `virsh` (libvirt-clients) against a daemon, in the C locale.

use std::path::Path;
use std::process::{Command, Stdio};

/// Path of Debian's virsh.
pub const VIRSH: &str = "/usr/bin/virsh";

/// Runs `virsh -c URI ARGS...`: (stdout, stderr, exit code).
pub fn run(uri: &str, args: &[&str]) -> (String, String, i32) {
    run_with(Path::new(VIRSH), uri, args)
}

/// Like [`run`] with another virsh-compatible shell (the built rvirsh).
pub fn run_with(shell: &Path, uri: &str, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(shell)
        .arg("-c")
        .arg(uri)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("run virsh");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// Like [`run`], failing the test unless virsh succeeds; answers stdout.
pub fn ok(uri: &str, args: &[&str]) -> String {
    let (out, err, code) = run(uri, args);
    assert_eq!(code, 0, "virsh {args:?} failed: {err}{out}");
    out
}

/// A tiny QEMU domain definition named `name` that boots nothing (KVM when /dev/kvm is
/// usable, TCG otherwise), from the recorded fixtures.
pub fn tiny_qemu_xml(name: &str) -> String {
    let kvm = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    let fixture = if kvm { "tiny-kvm.xml" } else { "tiny-tcg.xml" };
    let text = crate::read_compat(&format!("qemu/{fixture}"));
    let old = if kvm { "anchortiny" } else { "anchortinytcg" };
    text.replace(
        &format!("<name>{old}</name>"),
        &format!("<name>{name}</name>"),
    )
}

/// `text` with each run of digits replaced by `N`, so that lines compare without their
/// counters.
pub fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(ch);
        }
    }
    out
}

/// A virtio disk `vda` on the qcow2 image at `image`.
pub fn qcow2_vda(image: &std::path::Path) -> String {
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='{}'/><target dev='vda' bus='virtio'/></disk>",
        image.display()
    )
}

/// [`tiny_qemu_xml`] with `devices` added to its `<devices>`.
pub fn tiny_qemu_xml_with(name: &str, devices: &str) -> String {
    let tiny = tiny_qemu_xml(name);
    let at = tiny.find("<devices>").expect("fixture has <devices>") + "<devices>".len();
    format!("{}{devices}{}", &tiny[..at], &tiny[at..])
}
