//! PCI hot-unplug needs the guest: a running Linux (Debian's kernel under TCG, a busybox
//! initramfs that idles) answers QEMU's ACPI eject requests. The same guest runs on
//! rvirtd and on a real libvirtd 9.0; a virtio disk, a virtio interface and an RNG are
//! attached and detached live; the DEVICE_ADDED / DEVICE_REMOVED events, virsh's answers
//! and the live `<devices>` once the guest has let go of them must be equal.

use std::path::Path;
use std::time::{Duration, Instant};

use rvirt_tests::guest::{self, boot_timeout, guest_kvm};
use rvirt_tests::virsh::{run as virsh, VIRSH};
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{have_program, repo_root, require_peer, Daemon, Libvirtd};

const INIT: &str = r#"#!/bin/busybox sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
echo RVIRT-GUEST-UP
while true; do sleep 1; done
"#;

fn guest_xml(name: &str, kernel: &Path, initrd: &Path, console: &Path, disk: &Path) -> String {
    let ty = if guest_kvm() { "kvm" } else { "qemu" };
    format!(
        "<domain type='{ty}'><name>{name}</name><uuid>7d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9e07</uuid>
  <memory unit='MiB'>192</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{}</kernel><initrd>{}</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}'/>
      <target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='{}'/><target port='0'/></serial>
    <memballoon model='none'/></devices></domain>",
        kernel.display(),
        initrd.display(),
        disk.display(),
        console.display()
    )
}

/// The live `<devices>`, once none of `gone` is in it (or after a minute).
fn live_devices_without(uri: &str, name: &str, gone: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (xml, _, _) = virsh(uri, &["dumpxml", name]);
        let left = gone
            .iter()
            .any(|a| xml.contains(&format!("<alias name='{a}'/>")));
        if !left || Instant::now() > deadline {
            let a = xml.find("<devices>").unwrap_or(0);
            let b = xml.find("</devices>").unwrap_or(xml.len());
            return xml[a..b]
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.starts_with("<emulator>")
                        && *l != "<backingStore/>"
                        && !l.starts_with("<source file=")
                        && !l.starts_with("<source path=")
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn run_on(uri: &str, dir: &Path, name: &str, console: &Path) -> (String, String) {
    let (_, err, code) = virsh(uri, &["define", dir.join("dom.xml").to_str().unwrap()]);
    assert_eq!(code, 0, "{uri}: {err}");
    let _ = std::fs::remove_file(console);
    let (_, err, code) = virsh(uri, &["start", name]);
    assert_eq!(code, 0, "{uri}: {err}");
    let script = repo_root().join("tests/data/qemu-events/device_events.py");
    let listener = std::process::Command::new("/usr/bin/python3")
        .args([script.to_str().unwrap(), uri, name])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run the event listener");
    let deadline = Instant::now() + boot_timeout();
    while !std::fs::read_to_string(console)
        .unwrap_or_default()
        .contains("RVIRT-GUEST-UP")
    {
        assert!(Instant::now() < deadline, "{uri}: the guest did not boot");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The kernel's ACPI hotplug driver is ready once userspace runs; a moment more.
    std::thread::sleep(Duration::from_secs(2));
    let mut out = String::new();
    for step in [
        "attach-device vdb.xml --live",
        "attach-device net.xml --live",
        "attach-device rng.xml --live",
        "wait",
        "detach-device vdb.xml --live",
        "detach-device net.xml --live",
        "detach-device-alias rng0 --live",
    ] {
        if step == "wait" {
            std::thread::sleep(Duration::from_secs(3));
            continue;
        }
        let mut args: Vec<String> = step.split_whitespace().map(str::to_string).collect();
        args.insert(1, name.to_string());
        if args[2].ends_with(".xml") {
            args[2] = dir.join(&args[2]).display().to_string();
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (o, e, code) = virsh(uri, &args);
        out += &format!("$ {step}\n{}[{code}]\n", format!("{o}{e}").trim_end());
    }
    out += &live_devices_without(uri, name, &["virtio-disk1", "net0", "rng0"]);
    std::thread::sleep(Duration::from_secs(1));
    let mut listener = listener;
    let _ = listener.kill();
    let got = listener.wait_with_output().expect("event listener output");
    virsh(uri, &["destroy", name]);
    virsh(uri, &["undefine", name]);
    (
        out.replace(&dir.display().to_string(), "DIR"),
        String::from_utf8_lossy(&got.stdout).into_owned(),
    )
}

#[test]
fn pci_unplug_with_a_linux_guest_matches_libvirtd() {
    if !rvirt_tests::require_qemu()
        || !require_python_libvirt()
        || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
    {
        return;
    }
    let Some((kernel, modules)) = guest::peers() else {
        return;
    };
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let dir = rvirtd.dir.0.join("guest");
    std::fs::create_dir_all(&dir).unwrap();
    let initrd = dir.join("initrd.cpio");
    guest::build_initramfs(
        &modules,
        &initrd,
        INIT,
        &["sh", "mount", "echo", "sleep"],
        &[],
    );
    for img in ["a.img", "b.img"] {
        std::fs::File::create(dir.join(img))
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
    }
    let console = dir.join("console.log");
    let name = format!("rvhpg{}", std::process::id());
    std::fs::write(
        dir.join("dom.xml"),
        guest_xml(&name, &kernel, &initrd, &console, &dir.join("a.img")),
    )
    .unwrap();
    std::fs::write(
        dir.join("vdb.xml"),
        format!(
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
             <source file='{}'/><target dev='vdb' bus='virtio'/></disk>",
            dir.join("b.img").display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("net.xml"),
        "<interface type='user'><mac address='52:54:00:6b:00:03'/><model type='virtio'/></interface>",
    )
    .unwrap();
    std::fs::write(
        dir.join("rng.xml"),
        "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
    )
    .unwrap();
    let theirs = run_on(&libvirtd.uri("qemu", "system"), &dir, &name, &console);
    let ours = run_on(&rvirtd.uri("qemu:///system"), &dir, &name, &console);
    assert!(
        theirs.1.contains("device-removed virtio-disk1"),
        "libvirtd's guest never let the disk go:\n{}\n{}",
        theirs.0,
        theirs.1
    );
    assert_eq!(
        ours.0, theirs.0,
        "virsh and live XML: rvirtd's, then libvirtd's"
    );
    assert_eq!(ours.1, theirs.1, "device events: rvirtd's, then libvirtd's");
}
