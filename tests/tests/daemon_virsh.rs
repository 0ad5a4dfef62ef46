//! Real `virsh` (libvirt 9.0 clients from Debian) against rvirtd: the recorded outputs of
//! tests/data/compat/virsh-testdriver/, the define/start/destroy/undefine cycle, events seen
//! by another client, and the read-only socket.

use std::process::{Command, Stdio};
use std::time::Duration;

use rvirt_tests::{compat_file, have_program, read_compat, require_peer, Daemon};

const VIRSH: &str = "/usr/bin/virsh";

fn virsh_ok() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(VIRSH))
}

/// Runs virsh; returns stdout, stderr and the exit code.
use rvirt_tests::virsh::run as virsh;

/// The recorded stdout and exit code of a fixture file.
fn fixture(name: &str) -> (String, i32) {
    let text = read_compat(&format!("virsh-testdriver/{name}"));
    let body = text.split_once('\n').expect("command line").1;
    let (out, exit) = body.rsplit_once("[exit=").expect("exit marker");
    (
        out.to_string(),
        exit.trim()
            .trim_end_matches(']')
            .parse()
            .expect("exit code"),
    )
}

/// Replaces values that depend on the recording machine or on time.
fn normalise(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.starts_with("CPU time:") {
                "CPU time: <dynamic>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn recorded_outputs_match() {
    if !virsh_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    let cases: &[(&str, &[&str])] = &[
        ("list--all.txt", &["list", "--all"]),
        ("dominfo-test.txt", &["dominfo", "test"]),
        ("dumpxml-test.txt", &["dumpxml", "test"]),
        ("domstate-test.txt", &["domstate", "test"]),
        ("net-list--all.txt", &["net-list", "--all"]),
        ("net-dumpxml-default.txt", &["net-dumpxml", "default"]),
        ("pool-list--all.txt", &["pool-list", "--all"]),
        (
            "pool-dumpxml-default-pool.txt",
            &["pool-dumpxml", "default-pool"],
        ),
        ("vol-list-default-pool.txt", &["vol-list", "default-pool"]),
        ("nodeinfo.txt", &["nodeinfo"]),
        (
            "nodedev-dumpxml-computer.txt",
            &["nodedev-dumpxml", "computer"],
        ),
    ];
    let mut failures = Vec::new();
    for (file, args) in cases {
        let (want, want_code) = fixture(file);
        let (got, err, code) = virsh(&uri, args);
        if normalise(&got) != normalise(&want) || code != want_code {
            failures.push(format!(
                "virsh {}: exit {code} (want {want_code})\n--- got\n{got}{err}--- want\n{want}",
                args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hostname_and_nodedev_list() {
    if !virsh_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    let (host, _, code) = virsh(&uri, &["hostname"]);
    assert_eq!(code, 0);
    let real = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_eq!(host.trim(), real.trim());
    let (list, err, code) = virsh(&uri, &["nodedev-list"]);
    assert_eq!(code, 0, "nodedev-list failed: {err}");
    let mut names: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["computer", "scsi_host1", "scsi_host11", "scsi_host2"]
    );
}

/// An open connection, so `test:///default` keeps its state between the virsh runs
/// (libvirt discards it when its last connection closes).
fn keep_state(uri: &str) -> rvirt_core::Connect {
    rvirt_core::Connect::open(uri).expect("open a connection that keeps the state")
}

#[test]
fn define_start_destroy_undefine() {
    if !virsh_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    let _keep = keep_state(&uri);
    let xml = d.dir.0.join("anchor1.xml");
    std::fs::copy(compat_file("wire/anchor1.xml"), &xml).expect("copy xml");
    let xml = xml.display().to_string();
    let (out, err, code) = virsh(&uri, &["define", &xml]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            format!("Domain 'anchor1' defined from {xml}\n\n").as_str()
        ),
        "{err}"
    );
    let (out, _, code) = virsh(&uri, &["start", "anchor1"]);
    assert_eq!((code, out.as_str()), (0, "Domain 'anchor1' started\n\n"));
    let (out, _, code) = virsh(&uri, &["dominfo", "anchor1"]);
    assert_eq!(code, 0);
    assert!(out.contains("State:          running"), "{out}");
    assert!(out.contains("Persistent:     yes"), "{out}");
    let (out, _, code) = virsh(&uri, &["destroy", "anchor1"]);
    assert_eq!((code, out.as_str()), (0, "Domain 'anchor1' destroyed\n\n"));
    let (out, _, code) = virsh(&uri, &["undefine", "anchor1"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Domain 'anchor1' has been undefined\n\n")
    );
    let (_, err, code) = virsh(&uri, &["dominfo", "anchor1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error: failed to get domain 'anchor1'"),
        "{err}"
    );
}

#[test]
fn missing_domain_error_matches_libvirt() {
    if !virsh_ok() {
        return;
    }
    let d = Daemon::start("");
    let (out, err, code) = virsh(&d.uri("test:///default"), &["dominfo", "does-not-exist"]);
    assert_eq!(code, 1);
    assert_eq!(
        out, "\n",
        "virsh prints only its trailing newline on stdout"
    );
    assert!(
        err.starts_with("error: failed to get domain 'does-not-exist'\n"),
        "{err}"
    );
}

#[test]
fn events_from_another_client_reach_virsh_event_loop() {
    if !virsh_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    let _keep = keep_state(&uri);
    let xml = d.dir.0.join("anchor2.xml");
    let text = read_compat("wire/anchor1.xml").replace("anchor1", "anchor2");
    std::fs::write(&xml, text).expect("write xml");
    assert_eq!(virsh(&uri, &["define", &xml.display().to_string()]).2, 0);
    let watcher = Command::new(VIRSH)
        .args(["-c", &uri, "event", "--all", "--loop", "--timeout", "6"])
        .env("LC_ALL", "C")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virsh event");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(virsh(&uri, &["start", "anchor2"]).2, 0);
    assert_eq!(virsh(&uri, &["destroy", "anchor2"]).2, 0);
    let out = watcher.wait_with_output().expect("virsh event");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "event 'lifecycle' for domain 'anchor2': Started Booted\n\
         event 'lifecycle' for domain 'anchor2': Stopped Destroyed\n\
         event loop timed out\nevents received: 2\n\n",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn read_only_socket_refuses_writes() {
    if !virsh_ok() {
        return;
    }
    let d = Daemon::start("");
    let ro = d.uri_ro("test:///default");
    let (out, _, code) = virsh(&ro, &["list", "--all"]);
    assert_eq!(code, 0);
    assert!(out.contains(" test "), "{out}");
    let (_, err, code) = virsh(&ro, &["destroy", "test"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("operation forbidden: read only access prevents virDomainDestroy"),
        "{err}"
    );
    let (out, _, _) = virsh(&d.uri("test:///default"), &["domstate", "test"]);
    assert_eq!(
        out, "running\n\n",
        "the refused write must not have happened"
    );
}

#[test]
fn sigterm_stops_cleanly_and_removes_sockets() {
    let mut d = Daemon::start("");
    let (rw, ro) = (d.socket(), d.socket_ro());
    assert!(rw.exists() && ro.exists());
    assert_eq!(d.stop(), Some(0));
    assert!(
        !rw.exists() && !ro.exists(),
        "sockets left behind in {}",
        d.dir.0.display()
    );
}

/// One virsh session of snapshot and state commands prints the same through rvirtd's test
/// driver as through the test driver libvirt runs inside virsh itself (`test:///default`
/// with no daemon): the state reasons a snapshot leaves are libvirt's numbers.
#[test]
fn snapshot_state_reasons_match_libvirts_test_driver() {
    if !virsh_ok() {
        return;
    }
    let session = "snapshot-create-as test s1 --halt; domstate test --reason; \
                   start test; domstate test --reason; snapshot-revert test s1; \
                   domstate test --reason; snapshot-create-as test s2; suspend test; \
                   snapshot-revert test s2; domstate test --reason; \
                   snapshot-revert test s1 --paused; domstate test --reason";
    let d = Daemon::start("");
    let (ours, our_err, our_code) = virsh(&d.uri("test:///default"), &[session]);
    let (theirs, their_err, their_code) = virsh("test:///default", &[session]);
    assert!(theirs.contains("shut off (from snapshot)"), "{theirs}");
    assert_eq!(
        (ours, our_err, our_code),
        (theirs, their_err, their_code),
        "rvirtd's, then virsh's own test driver's"
    );
}
