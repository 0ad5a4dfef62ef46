//! `test:///default` keeps its state while any connection is open and starts afresh once
//! the last one closes, as libvirt's test driver does: embedded, through rvirtd, and the
//! same sequence on libvirt itself (libvirt-python, in-process) for comparison.

use std::process::{Command, Stdio};

use rvirt_core::Connect;
use rvirt_tests::{require_peer, Daemon};

fn xml(name: &str) -> String {
    format!(
        "<domain type='test'><name>{name}</name><memory>131072</memory>\
         <os><type>hvm</type></os></domain>"
    )
}

/// Defines a domain on one connection, closes it while a second stays open, then closes
/// that too and reconnects.
fn sequence(uri: &str) {
    let a = Connect::open(uri).expect("open a");
    a.define_domain(&xml("kept-then-gone")).expect("define");
    let b = Connect::open(uri).expect("open b");
    a.close().expect("close a");
    assert!(
        b.domain_by_name("kept-then-gone").is_ok(),
        "a second open connection keeps the state"
    );
    b.close().expect("close b");
    let c = Connect::open(uri).expect("open c");
    assert!(
        c.domain_by_name("kept-then-gone").is_err(),
        "the state is discarded when the last connection closes"
    );
    assert!(
        c.domain_by_name("test").is_ok(),
        "the initial objects are back"
    );
}

#[test]
fn embedded_state_is_discarded_on_last_close() {
    sequence("test:///default");
}

#[test]
fn daemon_state_is_discarded_on_last_close() {
    let d = Daemon::start("");
    sequence(&d.uri("test:///default"));
}

#[test]
fn libvirt_does_the_same() {
    let script = "import libvirt\n\
        a = libvirt.open('test:///default')\n\
        a.defineXML(\"<domain type='test'><name>g</name><memory>1024</memory><os><type>hvm</type></os></domain>\")\n\
        b = libvirt.open('test:///default')\n\
        a.close()\n\
        kept = 'g' in [d.name() for d in b.listAllDomains()]\n\
        b.close()\n\
        c = libvirt.open('test:///default')\n\
        gone = 'g' not in [d.name() for d in c.listAllDomains()]\n\
        print(kept, gone)\n";
    let have = Command::new("/usr/bin/python3")
        .args(["-c", "import libvirt"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !require_peer("python3-libvirt", have) {
        return;
    }
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .output()
        .expect("run python3");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "True True");
}
