//! Device hotplug of the qemu driver against a real libvirtd 9.0's, side by side: the
//! same firmware-only guest on each daemon, the same `virsh attach-device`,
//! `detach-device`, `detach-device-alias`, `update-device` (cdrom media change and
//! eject) with `--live`, `--config` and the default, on the running and on an inactive
//! domain; the answers (errors included), the `<devices>` of the live and persistent XML
//! after the changes, and the DEVICE_ADDED / DEVICE_REMOVED events they send must be
//! equal. Devices QEMU removes without the guest's help (USB, SCSI) are detached live;
//! a virtio disk detach on a guest that never answers the unplug request returns after
//! libvirt's wait with the removal pending, on both. virsh's attach-disk, detach-disk,
//! attach-interface, detach-interface and change-media run too, and the whole transcript
//! through rvirsh against rvirtd must be virsh's.

use std::path::Path;

use rvirt_tests::virsh::{run as virsh, run_with, tiny_qemu_xml, VIRSH};
use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{have_program, repo_root, require_peer, target_dir, Daemon, Libvirtd};

/// The device documents the transcript attaches, by file name.
fn device_files(dir: &Path) -> Vec<(&'static str, String)> {
    let img = |n: &str| dir.join(n).display().to_string();
    vec![
        (
            "vdb.xml",
            format!(
                "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
                 <source file='{}'/><target dev='vdb' bus='virtio'/></disk>",
                img("b.img")
            ),
        ),
        (
            "usb.xml",
            format!(
                "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
                 <source file='{}'/><target dev='sdb' bus='usb'/></disk>",
                img("c.img")
            ),
        ),
        (
            "sata.xml",
            format!(
                "<disk type='file' device='disk'><source file='{}'/>\
                 <target dev='sdc' bus='sata'/></disk>",
                img("c.img")
            ),
        ),
        (
            "scsictl.xml",
            "<controller type='scsi' index='0' model='virtio-scsi'/>".into(),
        ),
        (
            "scsi.xml",
            format!(
                "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
                 <source file='{}'/><target dev='sda' bus='scsi'/></disk>",
                img("d.img")
            ),
        ),
        (
            "usbctl.xml",
            "<controller type='usb' index='1' model='piix3-uhci'/>".into(),
        ),
        (
            "net.xml",
            "<interface type='user'><mac address='52:54:00:6b:00:02'/>\
             <model type='virtio'/></interface>"
                .into(),
        ),
        (
            "nosuchnet.xml",
            "<interface type='user'><mac address='52:54:00:6b:00:09'/></interface>".into(),
        ),
        (
            "rng.xml",
            "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>".into(),
        ),
        ("tablet.xml", "<input type='tablet' bus='usb'/>".into()),
        ("ps2.xml", "<input type='keyboard' bus='ps2'/>".into()),
        (
            "cdrom-in.xml",
            format!(
                "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>\
                 <source file='{}'/><target dev='hdc' bus='ide'/><readonly/></disk>",
                img("iso.img")
            ),
        ),
        (
            "cdrom-out.xml",
            "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"
                .into(),
        ),
        (
            "vdz.xml",
            format!(
                "<disk type='file' device='disk'><source file='{}'/>\
                 <target dev='vdz' bus='virtio'/></disk>",
                img("b.img")
            ),
        ),
    ]
}

/// The commands of the transcript: `N` is the running domain, `I` the inactive one.
const STEPS: &[&str] = &[
    "attach-device N vdb.xml --live",
    "attach-device N vdb.xml --live",
    "attach-device N usb.xml",
    "attach-device N sata.xml --live",
    "attach-device N scsictl.xml --live",
    "attach-device N scsi.xml --live",
    "attach-device N usbctl.xml --live",
    "attach-device N net.xml --live",
    "attach-device N rng.xml --live",
    "attach-device N tablet.xml --live",
    "attach-device N ps2.xml --live",
    "update-device N cdrom-in.xml --live",
    "live N",
    "update-device N cdrom-out.xml",
    "update-device N vdz.xml --live",
    "attach-disk N e.img sdd --targetbus usb --live",
    "attach-disk N e.img vdd --targetbus virtio --subdriver raw --print-xml",
    "detach-disk N sdd --live",
    "detach-disk N sdz",
    "change-media N hdc iso.img --insert",
    "change-media N vda --eject",
    // Not twice: libvirt's live XML keeps an `<source index='N'/>` on an ejected drive,
    // and virsh ejects that again; rvirt's has no `<source>` and virsh refuses.
    "change-media N hdc --eject",
    "attach-interface N user --model virtio --mac 52:54:00:6b:00:05 --live",
    "attach-interface N user none --model virtio --mac 52:54:00:6b:00:05 --live",
    "attach-interface N bridge nosuchbr0 --model virtio --print-xml",
    "detach-interface N network",
    "detach-device N scsictl.xml --live",
    "detach-device N usb.xml --live",
    "detach-device N scsi.xml --live",
    "detach-device N vdb.xml --live",
    "detach-device-alias N rng0 --live",
    "detach-device N net.xml --live",
    "detach-device N vdz.xml --live",
    "detach-device N nosuchnet.xml --live",
    "detach-device-alias N nosuch0 --live",
    "detach-device-alias N input1 --live",
    "live N",
    "attach-device N vdb.xml --config",
    "attach-device N vdb.xml --config",
    "attach-device N net.xml --config",
    "config N",
    "detach-device N vdb.xml --config",
    "detach-device N vdz.xml --config",
    "attach-device I vdb.xml --live",
    "attach-device I vdb.xml",
    "attach-device I vdb.xml --config",
    "attach-device I vdb.xml --config",
    "attach-device I scsi.xml --config",
    "attach-device I rng.xml --config",
    "update-device I cdrom-in.xml --config",
    "config I",
    "detach-device I vdb.xml --config",
    "detach-device-alias I rng0 --config",
    "detach-device I rng.xml --config",
    "detach-device I nosuchnet.xml --config",
    "attach-disk I e.img vdc --config",
    "detach-disk I vdc --config",
    "config I",
];

/// Lines of the `<devices>` element of `xml`, without what differs for reasons outside
/// hotplug (the emulator path, libvirt's block node numbers).
fn devices(xml: &str) -> String {
    let a = xml.find("<devices>").unwrap_or(0);
    let b = xml.find("</devices>").unwrap_or(xml.len());
    xml[a..b]
        .lines()
        .map(str::trim)
        .map(|l| match l.find(" index='") {
            Some(i) if l.starts_with("<source") => {
                let end = l[i + 8..].find('\'').map_or(l.len(), |j| i + 9 + j);
                format!("{}{}", &l[..i], &l[end..])
            }
            _ => l.to_string(),
        })
        // libvirt's `<source index='N'/>` of an empty drive is `<source/>` once its
        // index is gone.
        .filter(|l| {
            !l.starts_with("<emulator>") && !matches!(l.as_str(), "<backingStore/>" | "<source/>")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn transcript(shell: &Path, uri: &str, dir: &Path, run: &str, idle: &str) -> String {
    let mut out = String::new();
    for step in STEPS {
        let words: Vec<String> = step
            .split_whitespace()
            .map(|w| match w {
                "N" => run.to_string(),
                "I" => idle.to_string(),
                f if f.ends_with(".xml") || f.ends_with(".img") => {
                    dir.join(f).display().to_string()
                }
                other => other.to_string(),
            })
            .collect();
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let text = match args[0] {
            "live" | "config" => {
                let mut a = vec!["dumpxml", args[1]];
                if args[0] == "config" {
                    a.push("--inactive");
                }
                let (xml, err, code) = run_with(shell, uri, &a);
                format!("{}{err}[{code}]", devices(&xml))
            }
            _ => {
                let (o, e, code) = run_with(shell, uri, &args);
                format!("{o}{e}[{code}]")
            }
        };
        out += &format!("$ {step}\n{}\n", text.trim_end());
    }
    out.replace(&dir.display().to_string(), "DIR")
}

#[test]
fn hotplug_matches_libvirtd() {
    if !rvirt_tests::require_qemu()
        || !require_python_libvirt()
        || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
    {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let dir = rvirtd.dir.0.join("hotplug");
    std::fs::create_dir_all(&dir).unwrap();
    for img in ["a.img", "b.img", "c.img", "d.img", "e.img", "iso.img"] {
        let f = std::fs::File::create(dir.join(img)).unwrap();
        f.set_len(1 << 20).unwrap();
    }
    for (name, text) in device_files(&dir) {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let pid = std::process::id();
    let (run, idle) = (format!("rvhpr{pid}"), format!("rvhpi{pid}"));
    let base = format!(
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='{}'/><target dev='vda' bus='virtio'/></disk>\
         <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>\
         <target dev='hdc' bus='ide'/><readonly/></disk>\
         <memballoon model='none'/>",
        dir.join("a.img").display()
    );
    let xml = |name: &str, uuid: &str| {
        // ACPI: QEMU's PCI hotplug on a PC machine is ACPI's.
        tiny_qemu_xml(name)
            .replace("</os>", "</os><features><acpi/></features>")
            .replace("<name>", &format!("<uuid>{uuid}</uuid><name>"))
            .replace("<memballoon model='none'/>", &base)
    };
    std::fs::write(
        dir.join("run-dom.xml"),
        xml(&run, "7d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9e05"),
    )
    .unwrap();
    std::fs::write(
        dir.join("idle-dom.xml"),
        xml(&idle, "7d3a1f52-5d0e-4b9c-9e61-3c1f7a2b9e06"),
    )
    .unwrap();
    let script = repo_root().join("tests/data/qemu-events/device_events.py");
    let mut seen = Vec::new();
    let rvirsh = target_dir().join("rvirsh");
    let passes = [
        (Path::new(VIRSH), libvirtd.uri("qemu", "system")),
        (Path::new(VIRSH), rvirtd.uri("qemu:///system")),
        (rvirsh.as_path(), rvirtd.uri("qemu:///system")),
    ];
    for (shell, uri) in passes {
        for f in ["run-dom.xml", "idle-dom.xml"] {
            let (_, err, code) = virsh(&uri, &["define", dir.join(f).to_str().unwrap()]);
            assert_eq!(code, 0, "{uri}: {err}");
        }
        let (_, err, code) = virsh(&uri, &["start", &run]);
        assert_eq!(code, 0, "{uri}: {err}");
        let mut events = std::process::Command::new("/usr/bin/python3")
            .args([script.to_str().unwrap(), &uri, &run])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run the event listener");
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let text = transcript(shell, &uri, &dir, &run, &idle);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let _ = events.kill();
        let got = events.wait_with_output().expect("event listener output");
        let events = String::from_utf8_lossy(&got.stdout).into_owned();
        for name in [&run, &idle] {
            virsh(&uri, &["destroy", name]);
            virsh(&uri, &["undefine", name]);
        }
        seen.push((text, events));
    }
    let (theirs, ours, rvirsh) = (&seen[0], &seen[1], &seen[2]);
    println!("libvirtd:\n{}\n{}", theirs.0, theirs.1);
    assert!(
        theirs.0.contains("Device attached successfully"),
        "libvirtd attached nothing:\n{}",
        theirs.0
    );
    similar_asserts(&ours.0, &theirs.0, "virsh through rvirtd, then libvirtd");
    similar_asserts(&ours.1, &theirs.1, "events from rvirtd, then libvirtd");
    similar_asserts(&rvirsh.0, &ours.0, "rvirsh on rvirtd, then virsh on rvirtd");
}

/// Equal texts, or a failure naming the first differing line.
fn similar_asserts(ours: &str, theirs: &str, what: &str) {
    if ours == theirs {
        return;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let i = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    panic!(
        "{what}: first difference at line {}:\n  ours:   {:?}\n  theirs: {:?}\n\nours:\n{ours}\n\ntheirs:\n{theirs}",
        i + 1,
        a.get(i),
        b.get(i)
    );
}

/// The `<vcpu>` and `<vcpus>` lines of `xml`.
fn vcpu_lines(xml: &str) -> String {
    xml.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("<vcpu") || l.starts_with("</vcpus"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn vcpu_hotplug_matches_libvirtd() {
    if !rvirt_tests::require_qemu() || !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
    {
        return;
    }
    let Some(libvirtd) = Libvirtd::start_for_guests() else {
        return;
    };
    let rvirtd = Daemon::start("");
    let name = format!("rvhpv{}", std::process::id());
    let xml = tiny_qemu_xml(&name)
        .replace("</os>", "</os><features><acpi/></features>")
        .replace("<vcpu>1</vcpu>", "<vcpu current='1'>3</vcpu>");
    let path = rvirtd.dir.0.join("vcpu-dom.xml");
    std::fs::write(&path, xml).unwrap();
    let mut seen = Vec::new();
    for uri in [libvirtd.uri("qemu", "system"), rvirtd.uri("qemu:///system")] {
        let mut out = String::new();
        let _ = virsh(&uri, &["define", path.to_str().unwrap()]);
        let _ = virsh(&uri, &["start", &name]);
        for step in [
            "setvcpus 2 --live",
            "vcpucount",
            "dumpxml",
            "setvcpus 4 --live",
            "setvcpus 3",
            "vcpucount",
            "dumpxml",
            "dumpxml --inactive",
        ] {
            let mut args: Vec<&str> = step.split_whitespace().collect();
            args.insert(1, &name);
            let (o, e, code) = virsh(&uri, &args);
            let o = if args[0] == "dumpxml" {
                vcpu_lines(&o)
            } else {
                o
            };
            out += &format!("$ {step}\n{}[{code}]\n", format!("{o}{e}").trim_end());
        }
        virsh(&uri, &["destroy", &name]);
        virsh(&uri, &["undefine", &name]);
        seen.push(out);
    }
    println!("libvirtd:\n{}", seen[0]);
    similar_asserts(
        &seen[1],
        &seen[0],
        "vCPU hotplug through rvirtd, then libvirtd",
    );
}
