//! Domain checkpoints on rvirtd's test driver against libvirt 9.0's own: one session
//! (`tests/data/checkpoints/session.py`: creates with every disk form, refusals, parents,
//! children and descendants, lookups, the delete flags, an inactive domain) through
//! libvirt-python on both; what each step answers must be the same, byte for byte
//! (creation times masked, lists sorted: libvirt lists checkpoints in hash order).

use std::process::Command;

use rvirt_tests::xmldiff::python_libvirt;
use rvirt_tests::{repo_root, require_peer, Daemon};

fn session(uri: &str) -> String {
    let out = Command::new("/usr/bin/python3")
        .arg(repo_root().join("tests/data/checkpoints/session.py"))
        .arg(uri)
        .output()
        .expect("run session.py");
    assert!(
        out.status.success(),
        "session.py {uri}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn checkpoint_session_answers_as_libvirt_does() {
    if !require_peer("python3-libvirt", python_libvirt()) {
        return;
    }
    let daemon = Daemon::start("");
    let want = session("test:///default");
    let got = session(&daemon.uri("test:///default"));
    assert!(want.contains("descendants of c1: T c2 c3 c4"), "{want}");
    for (n, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        assert_eq!(g, w, "line {} of the session differs", n + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count());
}
