//! The Debian packages under a real systemd (issue 16): packages the build the suite runs
//! on (`packaging/build.sh --prebuilt`, the debug binaries, stripped) and runs
//! `packaging/tests/systemd-check.sh`, which boots a Debian 12 root made with mmdebstrap
//! (cached in `target/nspawn/`) under `systemd-nspawn --boot` in its own network namespace,
//! installs the packages with dpkg and checks socket activation on libvirt's sockets, the
//! no-driver answer, a guest surviving `systemctl restart rvirtd` and a reinstall, driver
//! removal, an out-of-tree module (the example, built from a copy as
//! `docs/driver-guide.md` says) loading into the packaged daemon, purge, and the default
//! network; then the RPMs' scriptlets the same way (installed with Debian's rpm). Needs root, systemd-nspawn, mmdebstrap,
//! debhelper and a Debian mirror the first time.

use std::path::Path;
use std::process::Command;

use rvirt_tests::oot::build_example_copy;
use rvirt_tests::{have_program, repo_root, require_peer, target_dir, TempDir};

fn peers_present() -> bool {
    let root = is_root();
    require_peer("root (the packaging test boots a container)", root)
        && require_peer(
            "systemd-nspawn (systemd-container)",
            have_program("/usr/bin/systemd-nspawn"),
        )
        && require_peer("mmdebstrap", have_program("/usr/bin/mmdebstrap"))
        && require_peer("debhelper (dh)", have_program("/usr/bin/dh"))
        && require_peer("rpmbuild (rpm)", have_program("/usr/bin/rpmbuild"))
        && require_peer("nsenter (util-linux)", have_program("/usr/bin/nsenter"))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn run(what: &str, cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "{what} failed:\n{text}");
}

#[test]
fn packages_work_under_systemd() {
    if !peers_present() {
        return;
    }
    let bins = target_dir();
    for f in [
        "rvirtd",
        "rvirsh",
        "librvirt_driver_qemu.so",
        "rvirt-leaseshelper",
    ] {
        assert!(
            bins.join(f).is_file(),
            "{} is not built: run `cargo build --workspace --all-targets` first",
            bins.join(f).display()
        );
    }
    let repo = repo_root();
    let target = bins.parent().expect("target dir").to_path_buf();
    let debs = target.join("packages-test");
    run(
        "packaging/build.sh",
        Command::new(repo.join("packaging/build.sh"))
            .args(["--prebuilt".as_ref(), bins.as_os_str()])
            .args(["--no-lintian", "--out"])
            .arg(&debs)
            .env("RVIRT_DEB_FAST", "1")
            .env("CARGO_TARGET_DIR", &target),
    );
    // The out-of-tree example, built as docs/driver-guide.md says, goes into the packaged
    // daemon's module directory too.
    let built = TempDir::new("out-of-tree-module");
    let hello = build_example_copy(&built);
    run(
        "packaging/tests/systemd-check.sh",
        Command::new(repo.join("packaging/tests/systemd-check.sh"))
            .arg(&debs)
            .arg(Path::new(&target).join("nspawn"))
            .env("RVIRT_PKG_EXTRA_MODULE", &hello),
    );
}
