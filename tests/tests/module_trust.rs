//! Module trust: rvirtd refuses, in one log line each and before reading or loading
//! anything, a module directory others may write to, a module file others may write to, a
//! module owned by another user, and anything that is not a regular file (a FIFO must not
//! hang start-up). `rvirtd --check-module` applies the same rules. A properly owned and
//! permissioned copy of the same module still loads.
//!
//! These tests copy the built test module, so they need `rvirtd` and
//! `librvirt_driver_test.so` built, and (for the chown case) root.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rvirt_core::Connect;
use rvirt_tests::{target_dir, Daemon, TempDir};

const MODULE: &str = "librvirt_driver_test.so";

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", p.display()));
}

/// A fresh module directory (mode 0755) holding a 0644 copy of the test module.
fn module_dir(tag: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(tag);
    chmod(&dir.0, 0o755);
    let module = dir.0.join(MODULE);
    std::fs::copy(target_dir().join(MODULE), &module).expect("copy the built test module");
    chmod(&module, 0o644);
    (dir, module)
}

/// The log lines mentioning `needle`.
fn lines_with<'a>(log: &'a str, needle: &str) -> Vec<&'a str> {
    log.lines().filter(|l| l.contains(needle)).collect()
}

/// Asserts the daemon logged exactly one line naming `path` that contains `reason`.
fn assert_one_log_line(log: &str, path: &Path, reason: &str) {
    let lines = lines_with(log, &path.display().to_string());
    assert_eq!(
        lines.len(),
        1,
        "one log line for {}:\n{log}",
        path.display()
    );
    assert!(
        lines[0].contains(reason),
        "{reason:?} not in {:?}",
        lines[0]
    );
}

fn test_driver_serves(d: &Daemon) -> bool {
    Connect::open(&d.uri("test:///default")).is_ok()
}

/// Runs `rvirtd --check-module path`, failing the test if it does not finish in 20 s.
fn check_module(path: &Path) -> Output {
    let mut child = Command::new(target_dir().join("rvirtd"))
        .arg("--check-module")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rvirtd --check-module");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rvirtd --check-module {} hung", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect output")
}

/// Asserts `--check-module` refused `path` with a non-zero exit and one line on stderr
/// naming `names` and containing `reason`.
fn assert_check_refuses(path: &Path, names: &Path, reason: &str) {
    let out = check_module(path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "--check-module accepted {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    assert!(
        lines[0].contains(&names.display().to_string()) && lines[0].contains(reason),
        "{:?} should name {} and say {reason:?}",
        lines[0],
        names.display()
    );
}

#[test]
fn a_properly_owned_copy_loads() {
    let (dir, module) = module_dir("trust-ok");
    let d = Daemon::start_with(&dir.0, "", &[]);
    assert!(test_driver_serves(&d), "log:\n{}", d.log());
    let log = d.log();
    assert!(
        lines_with(&log, "not trusted").is_empty() && lines_with(&log, "skipping").is_empty(),
        "{log}"
    );
    let out = check_module(&module);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("module test "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_world_writable_module_directory_loads_nothing() {
    let (dir, module) = module_dir("trust-dir");
    chmod(&dir.0, 0o777);
    let d = Daemon::start_with(&dir.0, "", &[]);
    assert!(
        !test_driver_serves(&d),
        "a driver from a 0777 directory serves"
    );
    let log = d.log();
    let lines = lines_with(&log, "writable by");
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains(&format!(
            "module directory {} is writable by its group and other users (mode 0777)",
            dir.0.display()
        )),
        "{}",
        lines[0]
    );
    assert!(lines_with(&log, "loaded driver module").is_empty(), "{log}");
    assert_check_refuses(&module, &module, "mode 0777");
}

#[test]
fn a_world_writable_module_file_is_refused() {
    let (dir, module) = module_dir("trust-file");
    chmod(&module, 0o666);
    let d = Daemon::start_with(&dir.0, "", &[]);
    assert!(!test_driver_serves(&d), "a 0666 module serves");
    assert_one_log_line(
        &d.log(),
        &module,
        "is writable by its group and other users (mode 0666), but only its owner may write to it",
    );
    assert_check_refuses(
        &module,
        &module,
        "writable by its group and other users (mode 0666)",
    );
    chmod(&module, 0o646);
    assert_check_refuses(&module, &module, "writable by other users (mode 0646)");
    chmod(&module, 0o664);
    assert_check_refuses(&module, &module, "writable by its group (mode 0664)");
}

#[test]
fn a_module_owned_by_another_user_is_refused() {
    let (dir, module) = module_dir("trust-owner");
    std::os::unix::fs::chown(&module, Some(65534), Some(65534))
        .expect("chown to nobody (these tests run as root)");
    let d = Daemon::start_with(&dir.0, "", &[]);
    assert!(!test_driver_serves(&d), "nobody's module serves");
    assert_one_log_line(&d.log(), &module, "is owned by uid 65534");
    assert_check_refuses(&module, &module, "is owned by uid 65534");
}

#[test]
fn a_fifo_in_the_module_directory_does_not_hang_startup() {
    let (dir, _module) = module_dir("trust-fifo");
    let fifo = dir.0.join("librvirt_driver_fifo.so");
    let st = Command::new("mkfifo")
        .arg("-m")
        .arg("0644")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(st.success(), "mkfifo failed");
    // start_with fails the test if the daemon is not listening within 20 s.
    let started = Instant::now();
    let d = Daemon::start_with(&dir.0, "", &[]);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(
        test_driver_serves(&d),
        "the good module beside the FIFO does not serve"
    );
    assert_one_log_line(&d.log(), &fifo, "is a FIFO, not a regular file");
    assert_check_refuses(&fifo, &fifo, "is a FIFO, not a regular file");
}

#[test]
fn a_symlink_to_a_trusted_module_loads_and_to_an_untrusted_one_does_not() {
    let (store, module) = module_dir("trust-store");
    let links = TempDir::new("trust-links");
    chmod(&links.0, 0o755);
    let link = links.0.join(MODULE);
    std::os::unix::fs::symlink(&module, &link).expect("symlink");
    let out = check_module(&link);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    chmod(&store.0, 0o777);
    assert_check_refuses(&link, &link, "mode 0777");
}
