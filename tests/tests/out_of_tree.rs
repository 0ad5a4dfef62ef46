//! The out-of-tree example as a third party uses it (issue 16): a copy of
//! `examples/out-of-tree-driver` in a directory outside the repository builds with the
//! command `docs/driver-guide.md` gives (rvirt-plugin-api as its only dependency, patched
//! to this checkout), `rvirtd --check-module` accepts it, and installed in a modules
//! directory it serves `hello:///` through the daemon: `rvirsh list --all` lists
//! `hello-vm` as virsh does.

use std::path::Path;
use std::process::Command;

use rvirt_tests::oot::build_example_copy;
use rvirt_tests::virsh::{run_with, VIRSH};
use rvirt_tests::{have_program, repo_root, require_peer, target_dir, Daemon, TempDir};

#[test]
fn copied_example_builds_loads_and_lists_like_virsh() {
    let built = TempDir::new("out-of-tree-module");
    let so = build_example_copy(&built);

    let check = Command::new(target_dir().join("rvirtd"))
        .arg("--check-module")
        .arg(&so)
        .output()
        .expect("run rvirtd --check-module");
    let summary = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && summary.contains("hello"),
        "{summary}"
    );

    let modules = TempDir::new("out-of-tree-modules");
    std::fs::copy(&so, modules.0.join("librvirt_driver_hello.so")).expect("install module");
    let daemon = Daemon::start_with(&modules.0, "", &[]);
    let uri = daemon.uri("hello:///");
    let (out, err, code) = run_with(&target_dir().join("rvirsh"), &uri, &["list", "--all"]);
    assert_eq!(code, 0, "rvirsh list --all: {err}");
    let row = out.lines().find(|l| l.contains("hello-vm"));
    assert!(
        row.is_some_and(|r| r.split_whitespace().eq(["1", "hello-vm", "running"])),
        "rvirsh list --all:\n{out}"
    );
    if require_peer("virsh (libvirt-clients)", have_program(VIRSH)) {
        let (vout, verr, vcode) = run_with(Path::new(VIRSH), &uri, &["list", "--all"]);
        assert_eq!(vcode, 0, "virsh list --all: {verr}");
        assert_eq!(out.trim_end(), vout.trim_end(), "rvirsh and virsh differ");
    }
}

/// The SDK crates a module builds against package for crates.io: no path-only
/// dependencies, the metadata crates.io asks for (`cargo package` fails or warns otherwise;
/// the full verifying build is what `cargo package` without `--no-verify` adds).
#[test]
fn sdk_crates_package_cleanly() {
    let target = TempDir::new("cargo-package");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["package", "--no-verify", "--allow-dirty"])
        .args([
            "-p",
            "rvirt-xdrgen",
            "-p",
            "rvirt-protocol",
            "-p",
            "rvirt-plugin-api",
        ])
        .arg("--target-dir")
        .arg(&target.0)
        .current_dir(repo_root())
        .output()
        .expect("run cargo package");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo package failed:\n{log}");
    assert!(!log.contains("warning"), "cargo package warned:\n{log}");
    for c in [
        "rvirt-xdrgen-0.1.0",
        "rvirt-protocol-0.1.0",
        "rvirt-plugin-api-1.3.0",
    ] {
        assert!(
            target.0.join(format!("package/{c}.crate")).is_file(),
            "{c}.crate was not made:\n{log}"
        );
    }
}
