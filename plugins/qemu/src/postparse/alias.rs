//! Device aliases, the runtime names libvirt gives devices at start and shows in the live
//! XML (`<alias name='net0'/>`); they are the ids of the devices on QEMU's command line.
//! An alias the document gives (`ua-...`) is kept.

use rvirt_xml::domain::{Address, ChrKind, Controller, Device, Disk, DomainDef};

use crate::disks::disk_index;

/// Gives every device of the live definition `def` its alias.
pub fn assign(def: &mut DomainDef) {
    let scsi_models: Vec<(u32, Option<String>)> = def
        .devices
        .iter()
        .filter_map(|d| match d {
            Device::Controller(c) if c.controller_type == "scsi" => {
                Some((c.index, c.model.clone()))
            }
            _ => None,
        })
        .collect();
    let lsi = |ctl: u32| {
        scsi_models
            .iter()
            .find(|(i, _)| *i == ctl)
            .is_none_or(|(_, m)| m.as_deref() != Some("virtio-scsi"))
    };
    let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut next = |kind: &'static str| {
        let n = counts.entry(kind).or_default();
        *n += 1;
        format!("{kind}{}", *n - 1)
    };
    for d in &mut def.devices {
        let alias = match d {
            Device::Controller(c) => Some(controller(c)),
            Device::Disk(k) => disk(k, &lsi),
            Device::Interface(_) => Some(next("net")),
            Device::Chr(c) => match (c.kind, c.target_type.as_deref()) {
                (ChrKind::Serial, _) => Some(next("serial")),
                (ChrKind::Parallel, _) => Some(next("parallel")),
                (ChrKind::Channel, _) => Some(next("channel")),
                (ChrKind::Console, Some("serial") | None) => {
                    Some(format!("serial{}", c.target_port.unwrap_or(0)))
                }
                (ChrKind::Console, _) => Some(next("console")),
            },
            Device::Input(_) => Some(next("input")),
            Device::Video(_) => Some(next("video")),
            Device::Watchdog(_) => Some(next("watchdog")),
            Device::MemBalloon(m) if m.model != "none" => Some(next("balloon")),
            Device::Rng(_) => Some(next("rng")),
            Device::Generic(g) => match g.element.name.as_str() {
                "sound" => Some(next("sound")),
                "redirdev" => Some(next("redir")),
                "hub" => Some(next("hub")),
                "filesystem" => Some(next("fs")),
                "tpm" => Some(next("tpm")),
                "smartcard" => Some(next("smartcard")),
                "hostdev" => Some(next("hostdev")),
                "shmem" => g
                    .attr("name")
                    .map(|n| format!("shmem{n}"))
                    .or(Some(next("shmem"))),
                "vsock" => Some(next("vsock")),
                _ => None,
            },
            _ => None,
        };
        if let (Some(a), Some(info)) = (alias, d.info_mut()) {
            info.alias.get_or_insert(a);
        }
    }
}

fn controller(c: &Controller) -> String {
    let i = c.index;
    match (c.controller_type.as_str(), c.model.as_deref()) {
        ("usb", _) if i == 0 => "usb".into(),
        ("pci", Some("pcie-root")) if i == 0 => "pcie.0".into(),
        ("pci", _) => format!("pci.{i}"),
        ("sata", _) | ("ide", _) if i == 0 => "ide".into(),
        (t, _) => format!("{t}{i}"),
    }
}

fn disk(k: &Disk, lsi: &dyn Fn(u32) -> bool) -> Option<String> {
    let idx = disk_index(&k.target_dev)?;
    let drive = match k.info.address {
        Some(Address::Drive {
            controller,
            bus,
            target,
            unit,
        }) => Some((controller, bus, target, unit)),
        _ => None,
    };
    Some(match (k.target_bus.as_str(), drive) {
        ("virtio", _) => format!("virtio-disk{idx}"),
        ("usb", _) => format!("usb-disk{idx}"),
        ("scsi", Some((c, b, _, u))) if lsi(c) => format!("scsi{c}-{b}-{u}"),
        ("scsi", Some((c, b, t, u))) => format!("scsi{c}-{b}-{t}-{u}"),
        (bus @ ("ide" | "sata" | "fdc"), Some((c, b, _, u))) => format!("{bus}{c}-{b}-{u}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::HostInfo;

    /// What libvirtd 9.0 showed in the live XML of a Q35 guest with these devices.
    #[test]
    fn aliases_as_libvirtd_gives_them() {
        let xml = "<domain type='qemu'><name>t</name><memory>131072</memory>\
            <os><type arch='x86_64' machine='q35'>hvm</type></os><devices>\
            <controller type='scsi' model='virtio-scsi'/>\
            <interface type='user'><mac address='52:54:00:5a:00:01'/><model type='virtio'/></interface>\
            <interface type='user'><mac address='52:54:00:5a:00:02'/><model type='e1000'/></interface>\
            <serial type='pty'/><channel type='unix'><target type='virtio' name='a'/></channel>\
            <input type='tablet' bus='usb'/><sound model='ich9'/>\
            <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>\
            <watchdog model='i6300esb'/></devices></domain>";
        let mut def = DomainDef::parse(xml).unwrap();
        super::super::run(
            &HostInfo::default(),
            "/usr/bin/qemu-system-x86_64",
            &mut def,
        );
        assign(&mut def);
        let out = def.to_xml(Some(1));
        let aliases: Vec<&str> = out
            .lines()
            .filter_map(|l| l.trim().strip_prefix("<alias name='")?.strip_suffix("'/>"))
            .collect();
        assert_eq!(
            aliases,
            [
                "scsi0",
                "usb",
                "ide",
                "pcie.0",
                "virtio-serial0",
                "pci.1",
                "pci.2",
                "pci.3",
                "pci.4",
                "pci.5",
                "pci.6",
                "pci.7",
                "pci.8",
                "pci.9",
                "net0",
                "net1",
                "serial0",
                "serial0",
                "channel0",
                "input0",
                "input1",
                "input2",
                "sound0",
                "watchdog0",
                "balloon0",
                "rng0"
            ]
        );
    }
}
