//! libvirt-python (`/usr/bin/python3`, Debian's python3-libvirt) against rvirtd.

use std::process::Command;

use rvirt_tests::{repo_root, require_peer, Daemon};

fn python_libvirt_ok() -> bool {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import libvirt"])
        .status()
        .is_ok_and(|s| s.success());
    require_peer("libvirt-python (python3-libvirt)", ok)
}

#[test]
fn python_bulk_lifecycle_and_error_codes() {
    if !python_libvirt_ok() {
        return;
    }
    let d = Daemon::start("");
    let out = Command::new("/usr/bin/python3")
        .arg(repo_root().join("tests/python/daemon_suite.py"))
        .arg(d.uri("test:///default"))
        .arg(d.uri_ro("test:///default"))
        .arg("1000")
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python suite failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok: 1000 domains"), "{stdout}");
    assert!(stdout.ends_with("all ok\n"), "{stdout}");
}
