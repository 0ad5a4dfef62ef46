//! rvirsh prints what the real virsh prints for the write commands: the same command
//! sequence runs through virsh against one fresh rvirtd and through rvirsh against another,
//! and every step's output and exit code must be identical.

use std::path::Path;
use std::process::{Command, Stdio};

use rvirt_tests::{have_program, require_peer, target_dir, Daemon, TempDir};

const VIRSH: &str = "/usr/bin/virsh";

/// Runs one tool with stdout and stderr merged; returns (output, exit code).
fn run(tool: &Path, uri: &str, args: &[&str], cwd: &Path) -> (String, i32) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(tool)
        .arg("-c")
        .arg(uri)
        .args(args)
        .current_dir(cwd)
        .env("LC_ALL", "C")
        .env("EDITOR", "true")
        .env("VISUAL", "true")
        .stdin(Stdio::null())
        .output()
        .expect("run tool");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

const NET_XML: &str = "<network><name>rv-net</name><uuid>5c9e0a4e-6f0b-4b7e-9d7c-2a3a4b5c6d7e</uuid><bridge name='rvbr0'/><forward mode='nat'/><ip address='192.168.254.1' netmask='255.255.255.0'><dhcp><range start='192.168.254.2' end='192.168.254.254'/></dhcp></ip></network>";
const DOM_XML: &str = "<domain type='test'><name>rv-dom</name><uuid>0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9</uuid><memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>";
const VHBA_XML: &str = "<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'><wwnn>2000000012341234</wwnn><wwpn>1000000012341234</wwpn></capability></capability></device>";
const SNAP_XML: &str =
    "<domainsnapshot><name>s1</name><description>first</description></domainsnapshot>";
const VOL_XML: &str = "<volume><name>rv-vol2.img</name><capacity unit='MiB'>8</capacity></volume>";

/// The command sequence; files are created in the working directory first.
const STEPS: &[&[&str]] = &[
    &["define", "dom.xml"],
    &["edit", "rv-dom"],
    &["start", "rv-dom"],
    &["suspend", "rv-dom"],
    &["resume", "rv-dom"],
    &["domstate", "rv-dom", "--reason"],
    &["setmem", "rv-dom", "65536"],
    &["snapshot-create", "rv-dom", "--xmlfile", "snap.xml"],
    &["snapshot-create-as", "rv-dom", "s2"],
    &["snapshot-info", "rv-dom", "s1"],
    &["snapshot-info", "rv-dom", "--current"],
    &["snapshot-parent", "rv-dom", "s2"],
    &["snapshot-parent", "rv-dom", "s1"],
    &["snapshot-edit", "rv-dom", "s1"],
    &["snapshot-create", "rv-dom", "--xmlfile", "snap.xml"],
    &["snapshot-delete", "rv-dom", "s1", "--children"],
    &["autostart", "rv-dom"],
    &["autostart", "rv-dom", "--disable"],
    &["destroy", "rv-dom"],
    &["undefine", "rv-dom"],
    &["start", "no-such-dom"],
    &["net-define", "net.xml"],
    &["net-list", "--all"],
    &["net-edit", "rv-net"],
    &["net-start", "rv-net"],
    &["net-info", "rv-net"],
    &["net-autostart", "rv-net"],
    &["net-autostart", "rv-net", "--disable"],
    &["net-destroy", "rv-net"],
    &["net-undefine", "rv-net"],
    &["net-start", "rv-net"],
    &["pool-define-as", "rv-pool", "dir", "--target", "/rv-pool"],
    &["pool-build", "rv-pool"],
    &["pool-start", "rv-pool"],
    &["pool-edit", "rv-pool"],
    &["pool-autostart", "rv-pool"],
    &["pool-list", "--all"],
    &["vol-create-as", "rv-pool", "rv-vol1.img", "10M"],
    &["vol-create", "rv-pool", "vol.xml"],
    &["vol-list", "rv-pool"],
    &["vol-info", "rv-vol1.img", "--pool", "rv-pool"],
    &[
        "vol-clone",
        "rv-vol1.img",
        "rv-vol3.img",
        "--pool",
        "rv-pool",
    ],
    &["vol-resize", "rv-vol1.img", "20M", "--pool", "rv-pool"],
    &["vol-wipe", "rv-vol2.img", "--pool", "rv-pool"],
    &["vol-delete", "rv-vol3.img", "--pool", "rv-pool"],
    &["vol-delete", "rv-vol2.img", "--pool", "rv-pool"],
    &["vol-delete", "rv-vol1.img", "--pool", "rv-pool"],
    &["pool-refresh", "rv-pool"],
    &["pool-destroy", "rv-pool"],
    &["pool-delete", "rv-pool"],
    &["pool-undefine", "rv-pool"],
    &["pool-info", "rv-pool"],
    &["nodedev-create", "vhba.xml"],
    &["nodedev-info", "scsi_host12"],
    &["nodedev-destroy", "scsi_host12"],
    &["nodedev-create", "vhba.xml", "--validate"],
    &["nodedev-destroy", "2000000012341234,1000000012341234"],
    &["nodedev-destroy", "2000000012341234,1000000099999999"],
    &["nodedev-define", "vhba.xml"],
    &["nodedev-autostart", "scsi_host1"],
    &["nodedev-autostart", "scsi_host1", "--disable"],
    &["nodedev-start", "scsi_host1"],
    &["nodedev-undefine", "scsi_host1"],
    &["nodedev-detach", "pci_0000_00_00_0"],
    &["nodedev-detach", "scsi_host1", "--driver", "vfio"],
    &["nodedev-reattach", "scsi_host1"],
    &["nodedev-reset", "no-such-device"],
];

#[test]
fn write_commands_print_what_virsh_prints() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH)) {
        return;
    }
    let work = TempDir::new("rvvs");
    std::fs::write(work.0.join("dom.xml"), DOM_XML).expect("write");
    std::fs::write(work.0.join("snap.xml"), SNAP_XML).expect("write");
    std::fs::write(work.0.join("net.xml"), NET_XML).expect("write");
    std::fs::write(work.0.join("vol.xml"), VOL_XML).expect("write");
    std::fs::write(work.0.join("vhba.xml"), VHBA_XML).expect("write");
    let (for_virsh, for_rvirsh) = (Daemon::start(""), Daemon::start(""));
    let rvirsh = target_dir().join("rvirsh");
    let mut differences = Vec::new();
    for step in STEPS {
        let want = run(
            Path::new(VIRSH),
            &for_virsh.uri("test:///default"),
            step,
            &work.0,
        );
        let got = run(&rvirsh, &for_rvirsh.uri("test:///default"), step, &work.0);
        if want != got {
            differences.push(format!(
                "{}:\n--- virsh (exit {})\n{}--- rvirsh (exit {})\n{}",
                step.join(" "),
                want.1,
                want.0,
                got.1,
                got.0
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} steps differ:\n{}",
        differences.len(),
        STEPS.len(),
        differences.join("\n")
    );
}
