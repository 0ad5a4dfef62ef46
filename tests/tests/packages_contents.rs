//! The .deb and .rpm files hold the same split (issue 16): `packaging/build.sh` packages
//! the suite's debug build both ways (lintian and rpmlint must report no errors), and each
//! package's files (`dpkg-deb -c`, `rpm -qlp`) and relations (Depends/Requires,
//! Recommends, Suggests, Conflicts) agree, modulo the distributions' own conventions:
//! Debian's `/lib/systemd/system`, its per-package changelog, copyright and lintian
//! overrides, and the names of the same dependency in each (a table below). Every
//! maintainer script, scriptlet and file trigger parses as shell.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use rvirt_tests::{have_program, repo_root, require_peer, target_dir};

const PACKAGES: [&str; 10] = [
    "rvirt-daemon",
    "rvirt-driver-qemu",
    "rvirt-driver-storage",
    "rvirt-driver-network",
    "rvirt-driver-nodedev",
    "rvirt-driver-xen",
    "rvirt-driver-test",
    "rvirt-config-network",
    "rvirt-clients",
    "rvirt-libvirt-compat",
];

/// Debian's name of a dependency and Fedora's.
const SAME_DEPENDENCY: [(&str, &str); 8] = [
    (
        "qemu-system-x86 | qemu-system",
        "(qemu-system-x86 or qemu-kvm)",
    ),
    ("qemu-utils", "qemu-img"),
    ("dnsmasq-base", "dnsmasq"),
    ("open-iscsi", "iscsi-initiator-utils"),
    ("nfs-common", "nfs-utils"),
    // libiscsi for iscsi-direct pools, loaded at run time.
    ("libiscsi7", "libiscsi"),
    // libxenlight, for the Xen driver once it binds it at run time.
    ("libxenmisc4.17", "xen-libs"),
    // Fedora's libvirt-daemon holds what Debian splits into these two.
    ("libvirt-daemon-system", "libvirt-daemon"),
];

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run a packaging tool");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn find(dir: &Path, name: &str, ext: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .expect("package directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let f = p.file_name().unwrap_or_default().to_string_lossy();
            f.ends_with(ext)
                && f.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(['_', '-']) && rest[1..].starts_with('0'))
        })
        .unwrap_or_else(|| panic!("no {name} {ext} in {}", dir.display()))
}

/// Files and symbolic links (not directories) a .deb holds, in the RPM's spelling.
fn deb_files(deb: &Path, name: &str) -> BTreeSet<String> {
    let doc = format!("/usr/share/doc/{name}/");
    output(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| {
            p.trim_start_matches('.')
                .replacen("/lib/systemd/", "/usr/lib/systemd/", 1)
        })
        .filter(|p| {
            // Debian's own per-package files; documentation is compared without `.gz`.
            !(p == &format!("{doc}changelog.gz")
                || p == &format!("{doc}copyright")
                || p.starts_with("/usr/share/lintian/"))
        })
        .map(|p| {
            if p.starts_with(&doc) {
                p.trim_end_matches(".gz").to_string()
            } else {
                p
            }
        })
        .collect()
}

fn rpm_files(rpm: &Path) -> BTreeSet<String> {
    output(
        Command::new("rpm")
            .args(["-qp", "--qf", "[%{FILEMODES:perms} %{FILENAMES}\\n]"])
            .arg(rpm),
    )
    .lines()
    .filter(|l| !l.starts_with('d'))
    .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
    .collect()
}

/// A .deb's declared relations, by field, names only, in Fedora's spelling.
fn deb_relations(deb: &Path) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (field, key) in [
        ("Depends", "requires"),
        ("Recommends", "recommends"),
        ("Suggests", "suggests"),
        ("Conflicts", "conflicts"),
    ] {
        let text = output(Command::new("dpkg-deb").args(["-f"]).arg(deb).arg(field));
        let set: BTreeSet<String> = text
            .split(',')
            .map(|d| strip_versions(d.trim()))
            .filter(|d| !d.is_empty() && !d.starts_with("libc6") && !d.starts_with("libgcc-s1"))
            .map(|d| {
                SAME_DEPENDENCY
                    .iter()
                    .find(|(deb, _)| *deb == d)
                    .map_or(d.clone(), |(_, rpm)| rpm.to_string())
            })
            .collect();
        out.insert(key, set);
    }
    out
}

fn rpm_relations(rpm: &Path) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for key in ["requires", "recommends", "suggests", "conflicts"] {
        let text = output(
            Command::new("rpm")
                .arg("-qp")
                .arg(format!("--{key}"))
                .arg(rpm),
        );
        // What rpmbuild adds by itself: libraries, the loader, rpmlib features, shells.
        let set = text
            .lines()
            .map(str::trim)
            .filter(|d| {
                !(d.is_empty()
                    || d.contains(".so")
                    || d.starts_with("rpmlib(")
                    || d.starts_with("rtld(")
                    || d.starts_with("config(")
                    || d.starts_with('/'))
            })
            .map(strip_versions)
            .collect();
        out.insert(key, set);
    }
    out
}

/// Fails unless `sh -n` accepts `script`; `what` names it.
fn assert_shell_syntax(what: &str, script: &str) {
    let out = Command::new("sh")
        .args(["-n", "-c", script])
        .output()
        .expect("run sh -n");
    assert!(
        out.status.success(),
        "{what} is not valid shell: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every maintainer script of a .deb and every scriptlet and file trigger of an .rpm
/// parses as shell.
fn assert_scripts_parse(name: &str, deb: &Path, rpm: &Path) {
    let control = rvirt_tests::TempDir::new("deb-control");
    output(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&control.0));
    for s in ["preinst", "postinst", "prerm", "postrm"] {
        if let Ok(text) = std::fs::read_to_string(control.0.join(s)) {
            assert_shell_syntax(&format!("{name}.deb {s}"), &text);
        }
    }
    let mut text = output(Command::new("rpm").args(["-qp", "--scripts"]).arg(rpm));
    text.push_str(&output(
        Command::new("rpm").args(["-qp", "--filetriggers"]).arg(rpm),
    ));
    let mut current: Option<(String, String)> = None;
    for line in text.lines().chain(["end scriptlet (using /bin/sh):"]) {
        if line.contains(" scriptlet (using ") {
            if let Some((head, body)) = current.take() {
                assert_shell_syntax(&format!("{name}.rpm {head}"), &body);
            }
            current = Some((line.to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
}

/// `name (>= 1)` and `name >= 1` become `name`; alternatives keep their names.
fn strip_versions(d: &str) -> String {
    if d.starts_with('(') {
        return d.to_string();
    }
    let alternatives: Vec<&str> = d
        .split('|')
        .map(|a| a.trim().split([' ', '(']).next().unwrap_or(""))
        .collect();
    alternatives.join(" | ")
}

#[test]
fn deb_and_rpm_hold_the_same_split() {
    let tools = ["dpkg-deb", "dh", "lintian", "rpmbuild", "rpmlint"];
    if !tools
        .iter()
        .all(|t| require_peer(t, have_program(&format!("/usr/bin/{t}"))))
    {
        return;
    }
    let bins = target_dir();
    let target = bins.parent().expect("target dir").to_path_buf();
    let out = target.join("packages-contents");
    let build = Command::new(repo_root().join("packaging/build.sh"))
        .args([
            "--prebuilt".as_ref(),
            bins.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .env("RVIRT_DEB_FAST", "1")
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run packaging/build.sh");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    assert!(
        build.status.success(),
        "packaging/build.sh failed (lintian or rpmlint errors?):\n{log}"
    );
    for name in PACKAGES {
        let deb = find(&out, name, ".deb");
        let rpm = find(&out, name, ".rpm");
        let (d, r) = (deb_files(&deb, name), rpm_files(&rpm));
        assert_eq!(
            d, r,
            "{name}: files differ between the .deb (left) and the .rpm"
        );
        assert!(!d.is_empty(), "{name} holds no files");
        assert_eq!(
            deb_relations(&deb),
            rpm_relations(&rpm),
            "{name}: relations differ between the .deb (left) and the .rpm"
        );
        assert_scripts_parse(name, &deb, &rpm);
    }
    // Each driver package holds exactly its own module.
    for driver in ["qemu", "storage", "network", "nodedev", "xen", "test"] {
        let name = format!("rvirt-driver-{driver}");
        let modules: Vec<String> = deb_files(&find(&out, &name, ".deb"), &name)
            .into_iter()
            .filter(|f| f.starts_with("/usr/lib/rvirt/modules/"))
            .collect();
        assert_eq!(
            modules,
            [format!(
                "/usr/lib/rvirt/modules/librvirt_driver_{driver}.so"
            )],
            "{name}"
        );
    }
}
