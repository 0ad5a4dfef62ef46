//! The XML `virt-install` writes, on rvirt's test driver as on libvirt's.
//!
//! Real `virt-install --print-xml` runs against rvirtd (its qemu driver for q35 and
//! `--machine pc` guests, its test driver for guests with a new or an existing disk),
//! with and without disk, network and graphics. Each printed document is then defined on
//! libvirt 9.0's own test driver (through libvirt-python) and on rvirt's test driver
//! (through rvirtd), and dumped back: both must accept it, the dumps must be byte for byte
//! the same, and rvirt's must pass `virt-xml-validate`.

use std::path::PathBuf;
use std::process::Command;

use rvirt_core::Connect;
use rvirt_tests::xmldiff::{
    invalid_outputs, libvirt_outcomes, python_libvirt, rvirt_outcome, Outcome,
};
use rvirt_tests::{have_program, require_peer, Daemon, Libvirtd, TempDir};

/// Which rvirtd connection virt-install asks.
#[derive(Clone, Copy)]
enum Via {
    Qemu,
    Test,
}

/// (name, connection, the options that differ from "no disk, no network, no graphics").
const VARIANTS: &[(&str, Via, &[&str])] = &[
    ("q35", Via::Qemu, &["--osinfo", "linux2022"]),
    (
        "q35-network-vnc",
        Via::Qemu,
        &[
            "--osinfo",
            "linux2022",
            "--network",
            "network=default",
            "--graphics",
            "vnc",
        ],
    ),
    (
        "q35-bridge-spice",
        Via::Qemu,
        &[
            "--osinfo",
            "linux2022",
            "--network",
            "bridge=br0",
            "--graphics",
            "spice",
        ],
    ),
    (
        "pc",
        Via::Qemu,
        &["--osinfo", "linux2022", "--machine", "pc"],
    ),
    (
        "pc-unknown-os-network-vnc",
        Via::Qemu,
        &[
            "--osinfo",
            "detect=on,require=off",
            "--machine",
            "pc",
            "--network",
            "network=default",
            "--graphics",
            "vnc",
        ],
    ),
    (
        "i440fx-unknown-os",
        Via::Qemu,
        &["--osinfo", "detect=on,require=off"],
    ),
    (
        "test-new-disk",
        Via::Test,
        &["--osinfo", "detect=on,require=off", "--disk", "size=1"],
    ),
    (
        "test-new-disk-network-spice",
        Via::Test,
        &[
            "--osinfo",
            "linux2022",
            "--disk",
            "size=1",
            "--network",
            "network=default",
            "--graphics",
            "spice",
        ],
    ),
    (
        "test-existing-disk",
        Via::Test,
        &["--osinfo", "detect=on,require=off", "--disk", "path=@IMAGE"],
    ),
    (
        "test-defaults",
        Via::Test,
        &["--osinfo", "detect=on,require=off"],
    ),
];

/// `virt-install --print-xml` for one variant, `@IMAGE` in its options standing for
/// `image` (an existing file); the printed document.
fn print_xml(uri: &str, name: &str, opts: &[&str], image: &str) -> String {
    let disk_path = format!("path={image}");
    let opts: Vec<&str> = opts
        .iter()
        .map(|o| {
            if *o == "path=@IMAGE" {
                disk_path.as_str()
            } else {
                o
            }
        })
        .collect();
    let mut args: Vec<&str> = vec![
        "--connect",
        uri,
        "--print-xml",
        "--name",
        name,
        "--memory",
        "512",
        "--import",
    ];
    for (opt, none) in [
        ("--disk", "none"),
        ("--network", "none"),
        ("--graphics", "none"),
    ] {
        if !opts.contains(&opt) {
            args.extend([opt, none]);
        }
    }
    args.extend(&opts);
    let out = Command::new("virt-install")
        .args(&args)
        .output()
        .expect("run virt-install");
    assert!(
        out.status.success(),
        "virt-install {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 XML")
}

/// One line naming where two dumps part.
fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!(
                "line {}: libvirt `{}`, rvirt `{}`",
                i + 1,
                w.trim(),
                g.trim()
            );
        }
    }
    format!(
        "libvirt has {} lines, rvirt {}",
        want.lines().count(),
        got.lines().count()
    )
}

#[test]
fn virt_install_documents_round_trip_as_on_libvirt() {
    let peers = require_peer(
        "virt-install (virtinst)",
        have_program("/usr/bin/virt-install"),
    ) && require_peer("python3-libvirt", python_libvirt())
        && require_peer(
            "virt-xml-validate (libvirt-clients)",
            have_program("/usr/bin/virt-xml-validate"),
        );
    if !peers {
        return;
    }
    let daemon = Daemon::start("");
    let dir = TempDir::new("virt-install");
    let image = dir.0.join("existing.img");
    std::fs::write(&image, vec![0u8; 1 << 20]).unwrap();
    let mut docs: Vec<(&str, PathBuf)> = Vec::new();
    for (n, (name, via, opts)) in VARIANTS.iter().enumerate() {
        let uri = match via {
            Via::Qemu => daemon.uri("qemu:///system"),
            Via::Test => daemon.uri("test:///default"),
        };
        let xml = print_xml(&uri, &format!("vi{n}"), opts, &image.to_string_lossy());
        let path = dir.0.join(format!("{name}.xml"));
        std::fs::write(&path, xml).unwrap();
        docs.push(("domain", path));
    }
    // libvirt's test driver in a real libvirtd, reached over its socket.
    let Some(libvirtd) = Libvirtd::start() else {
        return;
    };
    let libvirt = libvirt_outcomes(&libvirtd.uri("test", "default"), &docs);
    drop(libvirtd);
    let c = Connect::open(&daemon.uri("test:///default")).expect("connect to rvirtd");
    let mut failures = Vec::new();
    let mut dumps = Vec::new();
    for ((_, path), want) in docs.iter().zip(&libvirt) {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let got = rvirt_outcome(&c, "domain", std::fs::read_to_string(path).unwrap());
        match (want, &got) {
            (Outcome::Ok(w), Outcome::Ok(g)) if w == g => {
                let dump = dir.0.join(format!("{name}.rvirt.xml"));
                std::fs::write(&dump, g).unwrap();
                dumps.push((dump, "domain"));
                println!("{name}: identical");
            }
            (Outcome::Ok(w), Outcome::Ok(g)) => {
                failures.push(format!("{name}: {}", first_difference(w, g)))
            }
            (w, g) => failures.push(format!("{name}: libvirt {w:?}, rvirt {g:?}")),
        }
    }
    failures.extend(invalid_outputs(&dumps));
    assert!(
        failures.is_empty(),
        "{} of {} virt-install documents differ:\n{}",
        failures.len(),
        VARIANTS.len(),
        failures.join("\n")
    );
}
