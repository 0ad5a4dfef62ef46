//! rvirtd's systemd side without a booted systemd (issue 16): libvirt's socket layout by
//! configuration, the admin socket's answer, and socket activation through
//! `systemd-socket-activate` with named sockets, `READY=1` and `WATCHDOG=1` on
//! `NOTIFY_SOCKET`, the idle exit (`--timeout`) and the start after it, which tells the
//! drivers not to autostart again. The booted-systemd side is packages_systemd.rs.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rvirt_tests::virsh::{run, VIRSH};
use rvirt_tests::{have_program, require_peer, target_dir, TempDir};

const SOCKET_ACTIVATE: &str = "/usr/bin/systemd-socket-activate";
const VIRT_ADMIN: &str = "/usr/bin/virt-admin";

/// A configuration in `dir` loading the test driver only; `listen` is appended to
/// `[listen]`.
fn config(dir: &Path, listen: &str) -> PathBuf {
    config_with(dir, listen, "\"test\"")
}

/// [`config`] loading the modules of `enable` (a TOML list's items).
fn config_with(dir: &Path, listen: &str, enable: &str) -> PathBuf {
    let text = format!(
        "[listen]\nsocket_dir = \"{d}/run\"\n{listen}\n[modules]\ndir = \"{m}\"\nenable = [{enable}]\n\
         [state]\ndir = \"{d}/state\"\n[logging]\noutput = \"{d}/rvirtd.log\"\n",
        d = dir.display(),
        m = target_dir().display()
    );
    let path = dir.join("rvirtd.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn uri(sock: &Path) -> String {
    format!("test+unix:///default?socket={}", sock.display())
}

#[test]
fn libvirt_layout_serves_libvirts_socket_names() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH)) {
        return;
    }
    let dir = TempDir::new("layout");
    let cfg = config(&dir.0, "layout = \"libvirt\"");
    let run_dir = dir.0.join("run");
    let _d = Killed(
        Command::new(target_dir().join("rvirtd"))
            .arg("--config")
            .arg(&cfg)
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn rvirtd"),
    );
    wait_for("libvirt-admin-sock", || {
        run_dir.join("libvirt-admin-sock").exists()
    });
    assert!(!run_dir.join("rvirt-sock").exists());
    let (out, err, code) = run(&uri(&run_dir.join("libvirt-sock")), &["list", "--all"]);
    assert!(code == 0 && out.contains(" test "), "{out}{err}");
    // Read-only: listing works, changing is refused.
    let ro = uri(&run_dir.join("libvirt-sock-ro"));
    let (out, err, code) = run(&ro, &["list", "--all"]);
    assert!(code == 0 && out.contains(" test "), "{out}{err}");
    let (_, err, code) = run(&ro, &["destroy", "test"]);
    assert!(code != 0 && err.contains("read only"), "{err}");
    if require_peer("virt-admin (libvirt-clients)", have_program(VIRT_ADMIN)) {
        let admin = format!(
            "libvirtd:///system?socket={}",
            run_dir.join("libvirt-admin-sock").display()
        );
        let out = Command::new(VIRT_ADMIN)
            .args(["-c", &admin, "version"])
            .output()
            .expect("run virt-admin");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && err.contains("rvirtd does not implement libvirt's admin interface"),
            "{err}"
        );
    }
}

/// The notifications received on `sock` within `wait`, one string per datagram.
fn notifications(sock: &UnixDatagram, wait: Duration) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

/// systemd-socket-activate on `ro` and `rw` (in that order, named), running rvirtd with
/// `cfg` and `--timeout 2`, with NOTIFY_SOCKET `notify` and a 400 ms watchdog.
fn activate(cfg: &Path, rw: &Path, ro: &Path, notify: &Path) -> Killed {
    // The read-only socket first: the names, not the order, must decide.
    Killed(
        Command::new(SOCKET_ACTIVATE)
            .arg("-l")
            .arg(ro)
            .arg("-l")
            .arg(rw)
            .arg("--fdname=rvirt-sock-ro:rvirt-sock")
            .arg("-E")
            .arg(format!("NOTIFY_SOCKET={}", notify.display()))
            .args(["-E", "WATCHDOG_USEC=400000"])
            .arg(target_dir().join("rvirtd"))
            .args(["--timeout", "2", "--config"])
            .arg(cfg)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn systemd-socket-activate"),
    )
}

/// Waits up to 10 s for `child` to exit; answers whether it exited successfully.
fn exits_within_10s(child: &mut Killed) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.0.try_wait().expect("wait") {
            return st.success();
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn socket_activated_daemon_notifies_pings_the_watchdog_and_exits_when_idle() {
    if !require_peer(
        "systemd-socket-activate (systemd)",
        have_program(SOCKET_ACTIVATE),
    ) || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
    {
        return;
    }
    let dir = TempDir::new("activation");
    let cfg = config_with(&dir.0, "", "\"test\", \"qemu\", \"storage\"");
    let run_dir = dir.0.join("run");
    std::fs::create_dir_all(&run_dir).expect("mkdir run");
    let notify_path = dir.0.join("notify");
    let notify = UnixDatagram::bind(&notify_path).expect("bind notify socket");
    let (rw, ro) = (run_dir.join("rvirt-sock"), run_dir.join("rvirt-sock-ro"));
    let mut child = activate(&cfg, &rw, &ro, &notify_path);
    wait_for("the activation sockets", || rw.exists() && ro.exists());
    let (out, err, code) = run(&uri(&rw), &["list", "--all"]);
    assert!(code == 0 && out.contains(" test "), "{out}{err}");
    let (_, err, code) = run(&uri(&ro), &["destroy", "test"]);
    assert!(
        code != 0 && err.contains("read only"),
        "rvirt-sock-ro must be the read-only one: {err}"
    );
    // An inactive autostart pool: the resumed daemon must leave it so.
    let pool_dir = dir.0.join("pool");
    std::fs::create_dir_all(&pool_dir).expect("mkdir pool");
    let sys = format!("qemu+unix:///system?socket={}", rw.display());
    for args in [
        vec![
            "pool-define-as",
            "ap",
            "dir",
            "--target",
            pool_dir.to_str().unwrap(),
        ],
        vec!["pool-autostart", "ap"],
    ] {
        let (out, err, code) = run(&sys, &args);
        assert!(code == 0, "{args:?}: {out}{err}");
    }
    let got = notifications(&notify, Duration::from_secs(1));
    assert!(got.iter().any(|m| m == "READY=1"), "{got:?}");
    let pings = got.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(pings >= 2, "expected watchdog pings every 200 ms: {got:?}");
    assert!(
        exits_within_10s(&mut child),
        "rvirtd did not exit cleanly after 2 s without clients"
    );
    let log = std::fs::read_to_string(dir.0.join("rvirtd.log")).unwrap_or_default();
    assert!(log.contains("no clients for 2 s"), "{log}");
    // The next connection starts it again: it resumes, and its drivers skip autostart.
    let marker = run_dir.join("rvirtd.idle-exit");
    assert!(
        marker.exists(),
        "no idle-exit marker in {}",
        run_dir.display()
    );
    let _ = std::fs::remove_file(&rw);
    let _ = std::fs::remove_file(&ro);
    let _again = activate(&cfg, &rw, &ro, &notify_path);
    wait_for("the activation sockets", || rw.exists() && ro.exists());
    let (out, err, code) = run(&uri(&rw), &["list", "--all"]);
    assert!(code == 0 && out.contains(" test "), "{out}{err}");
    let log = std::fs::read_to_string(dir.0.join("rvirtd.log")).unwrap_or_default();
    assert!(
        log.contains("resuming after an idle exit: drivers skip autostart"),
        "{log}"
    );
    assert!(!marker.exists(), "the marker is used up");
    let (out, err, _) = run(&sys, &["pool-list", "--all"]);
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["ap", "inactive", "yes"]),
        "the resumed daemon autostarted a pool: {out}{err}"
    );
}

/// A running guest holds an idle daemon as a client does (libvirtd's drivers inhibit its
/// idle exit the same way): rvirtd with `--timeout 2` stays while a QEMU guest runs and
/// exits once it is destroyed.
#[test]
fn a_running_guest_keeps_an_idle_daemon() {
    if !require_peer(
        "systemd-socket-activate (systemd)",
        have_program(SOCKET_ACTIVATE),
    ) || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !rvirt_tests::require_qemu()
    {
        return;
    }
    let dir = TempDir::new("idle-guest");
    let cfg = config_with(&dir.0, "", "\"test\", \"qemu\"");
    let run_dir = dir.0.join("run");
    std::fs::create_dir_all(&run_dir).expect("mkdir run");
    let notify_path = dir.0.join("notify");
    let notify = UnixDatagram::bind(&notify_path).expect("bind notify socket");
    // Drained all along: a full notification socket would block the daemon's pings.
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while notify.recv(&mut buf).is_ok() {}
    });
    let (rw, ro) = (run_dir.join("rvirt-sock"), run_dir.join("rvirt-sock-ro"));
    let mut child = activate(&cfg, &rw, &ro, &notify_path);
    wait_for("the activation sockets", || rw.exists() && ro.exists());
    let qemu = format!("qemu+unix:///system?socket={}", rw.display());
    let name = format!("rvqidle{}", std::process::id());
    let xml = dir.0.join("guest.xml");
    std::fs::write(&xml, rvirt_tests::virsh::tiny_qemu_xml(&name)).unwrap();
    let (_, err, code) = run(&qemu, &["create", xml.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        child.0.try_wait().expect("wait").is_none(),
        "rvirtd exited idle while a guest ran"
    );
    let (_, err, code) = run(&qemu, &["destroy", &name]);
    assert_eq!(code, 0, "{err}");
    assert!(
        exits_within_10s(&mut child),
        "rvirtd did not exit idle once the guest was gone"
    );
}
