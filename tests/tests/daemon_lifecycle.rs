//! rvirtd's lifecycle: `--check-module`, configuration errors, modules that fail to load,
//! SIGHUP, systemd readiness, SIGTERM.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use rvirt_core::Connect;
use rvirt_tests::{target_dir, Daemon, TempDir};

fn rvirtd(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(target_dir().join("rvirtd"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rvirtd");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn libc_path() -> String {
    [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("libc")
    .to_string()
}

#[test]
fn check_module_describes_the_test_driver() {
    let module = target_dir().join("librvirt_driver_test.so");
    let (out, err, code) = rvirtd(&["--check-module", &module.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("module test version "), "{out}");
    assert!(out.contains("(plugin-api ABI 1."), "{out}");
    assert!(
        out.contains("driver Test kind=hypervisor uri-schemes=test procedures="),
        "{out}"
    );
    for kind in ["network", "storage", "nodedev"] {
        assert!(
            out.contains(&format!("kind={kind} uri-schemes=test")),
            "{out}"
        );
    }
}

#[test]
fn check_module_refuses_non_modules_in_one_line() {
    let dir = TempDir::new("checkmod");
    let truncated = dir.0.join("librvirt_driver_cut.so");
    let whole = std::fs::read(target_dir().join("librvirt_driver_test.so")).expect("module");
    std::fs::write(&truncated, &whole[..whole.len() / 3]).expect("write");
    for path in [
        libc_path(),
        truncated.display().to_string(),
        "/etc/hostname".into(),
        "/no/such/file.so".into(),
    ] {
        let (out, err, code) = rvirtd(&["--check-module", &path]);
        assert_ne!(code, 0, "{path} accepted: {out}");
        assert_eq!(
            err.lines().count(),
            1,
            "{path}: reason must be one line: {err}"
        );
        assert!(
            err.contains(&path),
            "{path}: the reason names the file: {err}"
        );
    }
}

#[test]
fn bad_config_fails_before_any_socket_opens() {
    let dir = TempDir::new("badcfg");
    let sockets = dir.0.join("run");
    for (text, key) in [
        (
            format!(
                "[listen]\nsocket_dir = \"{}\"\n[limits]\nmax_clients = 0\n",
                sockets.display()
            ),
            "limits.max_clients",
        ),
        (
            format!(
                "[listen]\nsocket_dir = \"{}\"\nsocket_mod = \"0600\"\n",
                sockets.display()
            ),
            "socket_mod",
        ),
        (
            format!(
                "[listen]\nsocket_dir = \"{}\"\n[limits\n",
                sockets.display()
            ),
            "TOML parse error",
        ),
    ] {
        let cfg = dir.0.join("bad.toml");
        std::fs::write(&cfg, &text).expect("write");
        let (_, err, code) = rvirtd(&["--config", &cfg.display().to_string()]);
        assert_ne!(code, 0);
        assert!(
            err.contains(&cfg.display().to_string()) && err.contains(key),
            "{err}"
        );
        assert!(
            !sockets.exists(),
            "no socket directory may be created for a bad config"
        );
    }
}

#[test]
fn broken_modules_are_skipped_and_the_rest_serve() {
    let mods = TempDir::new("mods");
    std::os::unix::fs::symlink(
        target_dir().join("librvirt_driver_test.so"),
        mods.0.join("librvirt_driver_test.so"),
    )
    .expect("link");
    std::fs::copy(libc_path(), mods.0.join("librvirt_driver_libc.so")).expect("copy libc");
    let whole = std::fs::read(target_dir().join("librvirt_driver_test.so")).expect("module");
    std::fs::write(mods.0.join("librvirt_driver_cut.so"), &whole[..4096]).expect("write");
    std::fs::write(mods.0.join("librvirt_driver_text.so"), "not a module").expect("write");
    let d = Daemon::start_with(&mods.0, "", &[]);
    let c = Connect::open(&d.uri("test:///default")).expect("test driver still serves");
    assert_eq!(c.domain_by_name("test").expect("lookup").name(), "test");
    let log = d.log();
    for bad in [
        "librvirt_driver_libc.so",
        "librvirt_driver_cut.so",
        "librvirt_driver_text.so",
    ] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(bad)).collect();
        assert_eq!(lines.len(), 1, "one log line for {bad}:\n{log}");
        assert!(lines[0].contains("skipping driver module"), "{}", lines[0]);
    }
    assert!(log.contains("1 driver modules loaded, 3 skipped"), "{log}");
}

#[test]
fn sighup_reloads_and_keeps_serving_and_systemd_hears_ready() {
    let dir = TempDir::new("notify");
    let notify_path = dir.0.join("notify");
    let notify = UnixDatagram::bind(&notify_path).expect("bind notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut d = Daemon::start_with(
        &target_dir(),
        "",
        &[("NOTIFY_SOCKET", notify_path.display().to_string())],
    );
    let mut buf = [0u8; 64];
    let n = notify.recv(&mut buf).expect("READY=1 from rvirtd");
    assert_eq!(&buf[..n], b"READY=1");
    let pid = d.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    std::thread::sleep(Duration::from_millis(300));
    let c = Connect::open(&d.uri("test:///default")).expect("serving after SIGHUP");
    assert!(c.hostname().is_ok());
    assert!(
        d.log().contains("SIGHUP: reloading state drivers"),
        "{}",
        d.log()
    );
    assert_eq!(d.stop(), Some(0));
    let n = notify.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn systemd_socket_activation_serves_the_passed_sockets() {
    let activate = "/usr/bin/systemd-socket-activate";
    if !rvirt_tests::require_peer(
        "systemd-socket-activate (systemd)",
        rvirt_tests::have_program(activate),
    ) {
        return;
    }
    let dir = TempDir::new("activate");
    let (rw, ro) = (dir.0.join("rw.sock"), dir.0.join("ro.sock"));
    let cfg = dir.0.join("rvirtd.toml");
    let log = dir.0.join("rvirtd.log");
    std::fs::write(
        &cfg,
        format!(
            "[listen]\nsocket_dir = \"{d}/unused\"\n[modules]\ndir = \"{m}\"\n[state]\ndir = \"{d}/state\"\n[logging]\noutput = \"{l}\"\n",
            d = dir.0.display(),
            m = target_dir().display(),
            l = log.display()
        ),
    )
    .expect("write config");
    let mut child = Command::new(activate)
        .arg(format!("--listen={}", rw.display()))
        .arg(format!("--listen={}", ro.display()))
        .arg("--fdname=rvirt-sock:rvirt-sock-ro")
        .arg(target_dir().join("rvirtd"))
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn systemd-socket-activate");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !(rw.exists() && ro.exists()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let c = Connect::open(&format!("test+unix:///default?socket={}", rw.display()))
        .expect("activated rvirtd serves");
    assert_eq!(c.domain_by_name("test").expect("lookup").name(), "test");
    let r = Connect::open(&format!("test+unix:///default?socket={}", ro.display()))
        .expect("read-only socket");
    let e = r
        .domain_by_name("test")
        .expect("lookup")
        .destroy()
        .expect_err("read-only");
    assert_eq!(e.code, rvirt_core::protocol::error::code::OPERATION_DENIED);
    assert!(
        !dir.0.join("unused").exists(),
        "no sockets of its own under activation"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("using sockets passed by systemd"), "{text}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = Command::new("pkill")
        .args(["-f", &cfg.display().to_string()])
        .status();
}
