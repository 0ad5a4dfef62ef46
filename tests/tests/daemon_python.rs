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

/// Snapshot reverts leave the states and send the events of libvirt's own test driver
/// (run in-process by libvirt-python on `test:///default`, no daemon).
#[test]
fn snapshot_reverts_match_libvirts_test_driver() {
    if !python_libvirt_ok() {
        return;
    }
    let script = repo_root().join("tests/python/snapshot_revert.py");
    let script = script.to_str().unwrap();
    let d = Daemon::start("");
    let ours = rvirt_tests::python_output(&[script, &d.uri("test:///default")]);
    let theirs = rvirt_tests::python_output(&[script, "test:///default"]);
    assert!(
        theirs.contains("revert s1 --paused [3, 7]"),
        "libvirt's test driver did not pause from the snapshot:\n{theirs}"
    );
    assert_eq!(ours, theirs, "rvirtd's, then libvirt's");
}

/// Titles, descriptions and metadata elements behave as in libvirt's own test driver:
/// `tests/python/metadata.py` on rvirtd and on libvirt-python's in-process `test:///default`.
#[test]
fn metadata_matches_libvirts_test_driver() {
    if !python_libvirt_ok() {
        return;
    }
    let d = Daemon::start("");
    let xml = d.dir.0.join("meta.xml");
    std::fs::write(
        &xml,
        "<domain type='test'><name>meta</name><memory>65536</memory>\
         <os><type>hvm</type></os></domain>",
    )
    .unwrap();
    let script = repo_root().join("tests/python/metadata.py");
    let (script, xml) = (script.to_str().unwrap(), xml.to_str().unwrap());
    let ours = rvirt_tests::python_output(&[script, &d.uri("test:///default"), xml]);
    let theirs = rvirt_tests::python_output(&[script, "test:///default", xml]);
    assert!(theirs.contains("events [(2, 'http://x/')"), "{theirs}");
    assert_eq!(ours, theirs, "rvirtd's, then libvirt's");
}
