//! rvirtd under hostile and unlucky clients (issue 9): root-only files stay unread for
//! unprivileged clients, FIFOs and huge files never stall the daemon, a second daemon
//! on the same configuration stops before touching anything, clients that do not read
//! are paused (not served into memory, never silently dropped), stalled connections
//! cannot lock out root, read-only connections cannot ask for secure XML, calls with a
//! bad status are refused, and `--check-config` checks what start-up checks.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rvirt_core::protocol::error::code;
use rvirt_core::protocol::message::MessageStatus;
use rvirt_core::protocol::xdr::{from_bytes, to_bytes};
use rvirt_core::protocol::{self as p, remote_proc, RemoteError};
use rvirt_core::Connect;
use rvirt_tests::wire::{call, call_with, raw_open_at, read_frame};
use rvirt_tests::{target_dir, Daemon, Libvirtd, TempDir};

const NOBODY: &str = "65534";

/// Runs `cmd` as uid/gid 65534 with no supplementary groups.
fn as_nobody(cmd: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups"])
        .arg(cmd);
    c
}

/// A node description readable by root only: 0600 in a 0700 directory.
fn root_only_node(dir: &Path) -> std::path::PathBuf {
    let secret = dir.join("secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o700)).unwrap();
    let node = secret.join("node.xml");
    std::fs::write(
        &node,
        "<node><domain type='test'><name>root-secret</name><memory>1024</memory>\
         <description>password=hunter2</description><os><type>hvm</type></os></domain></node>",
    )
    .unwrap();
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o600)).unwrap();
    node
}

/// What an unprivileged rvirsh prints for `list --all` on `uri`.
fn unprivileged_list(uri: &str) -> (bool, String) {
    let out = as_nobody(&target_dir().join("rvirsh"))
        .args(["-c", uri, "list", "--all"])
        .stdin(Stdio::null())
        .output()
        .expect("run rvirsh through setpriv");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn unprivileged_clients_cannot_have_root_files_read() {
    let d = Daemon::start("");
    let dir = TempDir::new("rootfile");
    // The daemon's directory must be reachable for the unprivileged client's socket.
    std::fs::set_permissions(&d.dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let node = root_only_node(&dir.0);
    let ro = |path: &Path| {
        format!(
            "test+unix://{}?socket={}",
            path.display(),
            d.socket_ro().display()
        )
    };
    let (ok_present, present) = unprivileged_list(&ro(&node));
    let (ok_missing, missing) = unprivileged_list(&ro(&dir.0.join("secret/absent.xml")));
    assert!(!ok_present && !ok_missing, "{present}\n{missing}");
    assert!(present.contains("operation forbidden"), "{present}");
    assert!(
        !present.contains("root-secret") && !present.contains("hunter2"),
        "{present}"
    );
    assert_eq!(
        present, missing,
        "an existing and a missing file must answer alike"
    );
    // A read-only connection of root is refused too; root read-write is served.
    let e = Connect::open_flags(&ro(&node), 1).expect_err("read-only root");
    assert_eq!(e.code, code::OPERATION_DENIED, "{e}");
    let rw = format!(
        "test+unix://{}?socket={}",
        node.display(),
        d.socket().display()
    );
    let c = Connect::open(&rw).expect("root read-write opens the file");
    assert_eq!(
        c.domain_by_name("root-secret").unwrap().name(),
        "root-secret"
    );
}

/// Round trip of one cheap call on a fresh connection, in milliseconds.
fn hostname_ms(d: &Daemon) -> u128 {
    let t = Instant::now();
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    c.hostname().expect("hostname");
    t.elapsed().as_millis()
}

#[test]
fn fifos_and_huge_files_neither_stall_nor_load() {
    let d = Daemon::start("");
    let dir = TempDir::new("fifo");
    let fifo = dir.0.join("node.xml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let huge = dir.0.join("huge.xml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    for (path, why) in [
        (&fifo, "not a regular file"),
        (&huge, "larger than the limit"),
    ] {
        let uri = format!(
            "test+unix://{}?socket={}",
            path.display(),
            d.socket().display()
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(Connect::open(&uri).map(|_| ()));
        });
        let e = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the open must not hang")
            .expect_err("refused");
        assert!(e.to_string().contains(why), "{e}");
        assert!(hostname_ms(&d) < 1000, "other clients are served meanwhile");
    }
}

#[test]
fn a_second_daemon_on_the_same_configuration_stops_first() {
    let d = Daemon::start("");
    let out = Command::new(target_dir().join("rvirtd"))
        .arg("--config")
        .arg(d.dir.0.join("rvirtd.toml"))
        .stdin(Stdio::null())
        .output()
        .expect("run a second rvirtd");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("another rvirtd (pid {})", d.child.id())),
        "{err}"
    );
    // It stopped before loading modules or touching sockets: the first serves on.
    assert_eq!(
        d.log().matches("driver modules loaded").count(),
        1,
        "{}",
        d.log()
    );
    assert!(hostname_ms(&d) < 5000);
}

/// VmRSS of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

#[test]
fn clients_that_do_not_read_are_paused_and_then_served_in_full() {
    const CLIENTS: usize = 10;
    const CALLS: u32 = 3000;
    let d = Daemon::start("");
    let before = rss_kib(d.child.id());
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..CLIENTS {
        let s = raw_open_at(&d.socket_ro(), "test:///default");
        let mut w = s.try_clone().unwrap();
        writers.push(std::thread::spawn(move || {
            for serial in 1..=CALLS {
                // Capabilities: a few KiB of reply per call.
                let f = call(serial, remote_proc::CONNECT_GET_CAPABILITIES, &[]);
                if w.write_all(&f).is_err() {
                    return;
                }
            }
        }));
        readers.push(s);
    }
    std::thread::sleep(Duration::from_secs(2));
    let grown = rss_kib(d.child.id()).saturating_sub(before);
    // Unbounded, these replies would be ~10 × 3000 × 5 KiB = 150 MiB.
    assert!(grown < 60 * 1024, "rvirtd grew by {grown} KiB");
    assert!(
        hostname_ms(&d) < 1000,
        "a reading client is served meanwhile"
    );
    for mut s in readers {
        let mut got = 0;
        while got < CALLS {
            let (h, _) = read_frame(&mut s).expect("every reply arrives");
            assert_eq!(h.status, MessageStatus::Ok);
            got += 1;
        }
    }
    for w in writers {
        w.join().unwrap();
    }
}

const STALLER: &str = r#"
import socket, sys, time
path, n, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    try:
        s.sendall(b"\x00\x00\x00")
    except OSError:
        pass  # already refused and closed by the daemon
    socks.append(s)
def closed(s):
    s.settimeout(0.05)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
time.sleep(0.5)
print("refused", sum(closed(s) for s in socks), flush=True)
time.sleep(wait)
print("closed", sum(closed(s) for s in socks), flush=True)
"#;

#[test]
fn stalled_unprivileged_connections_cannot_lock_out_root() {
    let d = Daemon::start("[limits]\nmax_clients = 100\nopen_timeout = 2\n");
    std::fs::set_permissions(&d.dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = d.dir.0.join("staller.py");
    std::fs::write(&script, STALLER).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = as_nobody(Path::new("/usr/bin/python3"))
        .arg(&script)
        .arg(d.socket_ro())
        .args(["300", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 as nobody");
    let mut out = String::new();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    while !out.contains("refused") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "staller ended early: {out}");
        out.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // 300 stalled connections of one user, max_clients 100: root still gets in.
    assert!(hostname_ms(&d) < 1000);
    stdout.read_to_string(&mut out).unwrap();
    child.wait().unwrap();
    let count = |what: &str| -> usize {
        out.lines()
            .find_map(|l| l.strip_prefix(what)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no '{what}' in {out}"))
    };
    assert_eq!(
        count("refused"),
        300 - 20,
        "max_anonymous_clients is 20: {out}"
    );
    assert_eq!(
        count("closed"),
        300,
        "stalled ones are closed after open_timeout: {out}"
    );
}

#[test]
fn read_only_connections_get_no_secure_xml() {
    let d = Daemon::start("");
    let rw = Connect::open(&d.uri("test:///default")).unwrap();
    let ro = Connect::open(&d.uri_ro("test:///default")).unwrap();
    let dom = ro.domain_by_name("test").unwrap();
    let e = dom.xml_desc(1).expect_err("SECURE on read-only");
    assert_eq!(e.code, code::OPERATION_DENIED);
    assert_eq!(
        e.to_string(),
        "operation forbidden: virDomainGetXMLDesc with secure flag"
    );
    dom.xml_desc(0).expect("plain XML on read-only");
    rw.domain_by_name("test")
        .unwrap()
        .xml_desc(1)
        .expect("SECURE on read-write");
}

/// The real libvirtd decides the same for every XMLDesc flag on its read-only socket.
#[test]
fn read_only_xml_flags_agree_with_libvirtd() {
    let Some(lv) = Libvirtd::start() else {
        return;
    };
    let d = Daemon::start("");
    let lv_ro = format!(
        "test+unix:///default?socket={}",
        lv.dir.0.join("run/libvirt-sock-ro").display()
    );
    let outcome = |uri: &str, flags: u32| -> Result<(), (i32, String)> {
        let c = Connect::open(uri).expect("open");
        let r = c.domain_by_name("test").unwrap().xml_desc(flags);
        r.map(|_| ())
            .map_err(|e: RemoteError| (e.code, e.to_string()))
    };
    for flags in [0, 1, 2, 4, 8, 9] {
        assert_eq!(
            outcome(&d.uri_ro("test:///default"), flags),
            outcome(&lv_ro, flags),
            "XMLDesc flags {flags:#x} on read-only"
        );
    }
}

#[test]
fn a_call_with_a_non_ok_status_is_refused_not_run() {
    let d = Daemon::start("");
    let mut s = raw_open_at(&d.socket(), "test:///default");
    let dom = p::RemoteDomainLookupByNameArgs {
        name: "test".into(),
    };
    s.write_all(&call(
        1,
        remote_proc::DOMAIN_LOOKUP_BY_NAME,
        &to_bytes(&dom),
    ))
    .unwrap();
    let (_, payload) = read_frame(&mut s).unwrap();
    let found: p::RemoteDomainLookupByNameRet = from_bytes(&payload).unwrap();
    let destroy = p::RemoteDomainDestroyArgs { dom: found.dom };
    s.write_all(&call_with(
        2,
        remote_proc::DOMAIN_DESTROY,
        MessageStatus::Error,
        &to_bytes(&destroy),
    ))
    .unwrap();
    let (h, payload) = read_frame(&mut s).unwrap();
    assert_eq!((h.serial, h.status), (2, MessageStatus::Error));
    let e: RemoteError = from_bytes(&payload).unwrap();
    assert_eq!(e.code, code::RPC);
    assert_eq!(e.to_string(), "Unexpected message status 1");
    let c = Connect::open(&d.uri("test:///default")).unwrap();
    assert!(
        c.domain_by_name("test").unwrap().is_active().unwrap(),
        "the refused destroy did not run"
    );
}

fn check_config(text: &str) -> (bool, String) {
    let dir = TempDir::new("checkcfg");
    let cfg = dir.0.join("rvirtd.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(target_dir().join("rvirtd"))
        .arg("--check-config")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (
        out.status.success(),
        text.replace(&cfg.display().to_string(), "FILE"),
    )
}

#[test]
fn check_config_refuses_what_start_up_would_refuse() {
    let (ok, text) = check_config("[listen]\nsocket_group = \"no-such-group-rvirt\"\n");
    assert!(!ok);
    assert_eq!(
        text.trim(),
        "rvirtd: FILE: key 'listen.socket_group': group 'no-such-group-rvirt' does not exist"
    );
    let (ok, text) = check_config("[logging]\nfilter = \"info,[[\"\n");
    assert!(
        !ok && text.contains("FILE: key 'logging.filter': "),
        "{text}"
    );
    let (ok, text) = check_config("[logging]\noutput = \"/nonexistent/rvirt/rvirtd.log\"\n");
    assert!(
        !ok && text.contains("FILE: key 'logging.output': "),
        "{text}"
    );
    let (ok, text) = check_config("[modules]\ndir = \"/nonexistent\"\nenable = [\"nosuch\"]\n");
    assert!(ok, "{text}");
    assert!(
        text.contains("warning: FILE: key 'modules.enable': no module 'nosuch'"),
        "{text}"
    );
}

#[test]
fn start_up_errors_name_file_key_and_reason() {
    let dir = TempDir::new("startcfg");
    let cfg = dir.0.join("rvirtd.toml");
    std::fs::write(
        &cfg,
        format!(
            "[listen]\nsocket_dir = \"{d}/run\"\nsocket_group = \"no-such-group-rvirt\"\n[state]\ndir = \"{d}/state\"\n",
            d = dir.0.display()
        ),
    )
    .unwrap();
    let out = Command::new(target_dir().join("rvirtd"))
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        format!(
            "rvirtd: {}: key 'listen.socket_group': group 'no-such-group-rvirt' does not exist",
            cfg.display()
        )
    );
    assert!(!dir.0.join("run/rvirt-sock").exists());
}

#[test]
fn a_stalled_frame_holds_no_buffer_of_its_announced_size() {
    let d = Daemon::start("");
    let before = rss_kib(d.child.id());
    let mut held = Vec::new();
    for _ in 0..50 {
        let mut s = raw_open_at(&d.socket(), "test:///default");
        // Announce a 32 MiB message, send 1 KiB of it, then stall.
        let mut frame = (32u32 << 20).to_be_bytes().to_vec();
        frame.extend_from_slice(&[0u8; 1024]);
        s.write_all(&frame).unwrap();
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let grown = rss_kib(d.child.id()).saturating_sub(before);
    assert!(
        grown < 32 * 1024,
        "rvirtd grew by {grown} KiB for 50 stalled frames"
    );
    assert!(hostname_ms(&d) < 1000);
    drop(held);
    let _ = UnixStream::connect(d.socket()).unwrap();
}

#[test]
fn a_list_longer_than_the_protocol_allows_is_an_error_not_garbage() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).unwrap();
    // test:///default has one domain; 16384 more pass REMOTE_DOMAIN_LIST_MAX.
    for i in 0..16384 {
        let xml = format!(
            "<domain type='test'><name>many-{i}</name><memory>1024</memory><os><type>hvm</type></os></domain>"
        );
        c.define_domain(&xml).expect("define");
    }
    let e = c.list_all_domains(0).expect_err("too many for one reply");
    assert_eq!(e.code, code::RPC);
    assert_eq!(e.to_string(), "Too many domains '16385' for limit '16384'");
    c.domain_by_name("many-1").unwrap().undefine().unwrap();
    assert_eq!(c.list_all_domains(0).expect("at the limit").len(), 16384);
}
