//! What the qemu driver's post-parse step adds at define (implicit controllers, PCI and
//! USB addresses) runs in real QEMU: an i440FX and a Q35 guest with a spread of PCI
//! devices are defined, started, and QEMU is asked which devices it has and where. The
//! comparison with libvirtd's XML is `qemu_differential.rs`; this checks the argv built
//! from those addresses is one QEMU takes, with the ids and slots the XML names (and that
//! the balloon's statistics period, set over the monitor, is the XML's).

use rvirt_tests::virsh::{ok as virsh_ok, tiny_qemu_xml_with, VIRSH};
use rvirt_tests::{have_program, require_peer, Daemon};

const DEVICES: &str = "\
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='DISK'/>\
    <target dev='vda' bus='virtio'/></disk>\
    <interface type='user'><mac address='52:54:00:5a:00:01'/><model type='virtio'/></interface>\
    <interface type='user'><mac address='52:54:00:5a:00:02'/><model type='e1000'/></interface>\
    <controller type='scsi' index='0' model='virtio-scsi'/>\
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\
    <input type='tablet' bus='usb'/><sound model='ich9'/>\
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>";

/// The ids QEMU knows under /machine/peripheral.
fn peripherals(uri: &str, name: &str) -> Vec<String> {
    let cmd = r#"{"execute":"qom-list","arguments":{"path":"/machine/peripheral"}}"#;
    let out = virsh_ok(uri, &["qemu-monitor-command", name, cmd]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("QMP reply");
    let mut ids: Vec<String> = v["return"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// (slot, function) of the devices QEMU has on its root bus.
fn root_bus(uri: &str, name: &str) -> Vec<(u64, u64)> {
    let out = virsh_ok(
        uri,
        &["qemu-monitor-command", name, r#"{"execute":"query-pci"}"#],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("QMP reply");
    v["return"][0]["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["slot"].as_u64().unwrap_or(99),
                d["function"].as_u64().unwrap_or(99),
            )
        })
        .collect()
}

/// (slot, function) of the root-bus PCI addresses in a domain's XML.
fn xml_root_slots(xml: &str) -> Vec<(u64, u64)> {
    xml.lines()
        .filter(|l| l.contains("<address type='pci' domain='0x0000' bus='0x00'"))
        .map(|l| {
            let hex = |k: &str| {
                let at = l.find(&format!("{k}='0x")).expect("attribute") + k.len() + 4;
                let end = at + l[at..].find('\'').expect("quote");
                u64::from_str_radix(&l[at..end], 16).expect("hex")
            };
            (hex("slot"), hex("function"))
        })
        .collect()
}

fn run_guest(machine: &str, extra: &str, want_ids: &[&str]) {
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let name = format!("rvqpp{machine}{}", std::process::id());
    let disk = d.dir.0.join("disk.img");
    std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    let devices = DEVICES.replace("DISK", disk.to_str().unwrap()) + extra;
    let xml = tiny_qemu_xml_with(&name, &devices.replace("SHARE", d.dir.0.to_str().unwrap()))
        .replace(
            "<memballoon model='none'/>",
            "<memballoon model='virtio'><stats period='7'/></memballoon>",
        )
        .replace("machine='pc'", &format!("machine='{machine}'"));
    let path = d.dir.0.join("dom.xml");
    std::fs::write(&path, xml).unwrap();
    virsh_ok(&uri, &["define", path.to_str().unwrap()]);
    let inactive = virsh_ok(&uri, &["dumpxml", "--inactive", &name]);
    virsh_ok(&uri, &["start", &name]);
    let ids = peripherals(&uri, &name);
    let slots = root_bus(&uri, &name);
    let live = virsh_ok(&uri, &["dumpxml", &name]);
    let period = virsh_ok(
        &uri,
        &[
            "qemu-monitor-command",
            &name,
            r#"{"execute":"qom-get","arguments":{"path":"/machine/peripheral/balloon0","property":"guest-stats-polling-interval"}}"#,
        ],
    );
    virsh_ok(&uri, &["destroy", &name]);
    virsh_ok(&uri, &["undefine", &name]);
    for id in want_ids {
        assert!(ids.iter().any(|i| i == id), "QEMU has no {id}: {ids:?}");
    }
    for s in xml_root_slots(&inactive) {
        assert!(
            slots.contains(&s),
            "XML slot {s:?} not in QEMU's root bus {slots:?}"
        );
    }
    assert_eq!(xml_root_slots(&live), xml_root_slots(&inactive), "{live}");
    // Every alias of the live XML names a QEMU device, but the buses and functions QEMU
    // has built in (root bus, Q35's AHCI) and the PS/2 inputs.
    let builtin = ["pci.0", "pcie.0", "ide", "input1", "input2"];
    let aliases: Vec<&str> = live
        .lines()
        .filter_map(|l| l.trim().strip_prefix("<alias name='")?.strip_suffix("'/>"))
        .collect();
    assert!(aliases.contains(&"balloon0"), "{live}");
    assert!(!inactive.contains("<alias"), "{inactive}");
    for a in aliases.iter().filter(|a| !builtin.contains(a)) {
        assert!(
            ids.iter().any(|i| i == a),
            "alias {a} is no QEMU device: {ids:?}"
        );
    }
    assert!(
        period.contains("\"return\":7"),
        "balloon stats period: {period}"
    );
}

fn peers() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        && require_peer(
            "qemu-system-x86_64 (qemu-system-x86)",
            have_program("/usr/bin/qemu-system-x86_64"),
        )
}

#[test]
fn i440fx_guest_runs_with_libvirts_layout() {
    if !peers() {
        return;
    }
    let ids = [
        "usb",
        "virtio-disk0",
        "net0",
        "net1",
        "scsi0",
        "virtio-serial0",
        "sound0",
        "rng0",
        "balloon0",
        "input0",
    ];
    let extra = "<hub type='usb'/><panic model='isa'/><filesystem type='mount' \
        accessmode='mapped'><source dir='SHARE'/><target dir='share'/></filesystem>";
    run_guest("pc", extra, &[&ids[..], &["hub0", "fs0"]].concat());
}

#[test]
fn q35_guest_runs_with_root_ports_and_bridge() {
    if !peers() {
        return;
    }
    let ids = [
        "pci.1",
        "pci.2",
        "usb",
        "virtio-disk0",
        "net0",
        "net1",
        "scsi0",
        "sound0",
        "rng0",
        "balloon0",
    ];
    run_guest(
        "q35",
        "<iommu model='intel'/>",
        &[&ids[..], &["iommu0"]].concat(),
    );
}
