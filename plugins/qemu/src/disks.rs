//! `<disk>` → `-blockdev` (storage and format nodes) and the `-device` of its bus
//! (virtio, IDE, SATA, USB, SCSI), with libvirt's ids.

use rvirt_xml::domain::{Address, Disk};

use crate::argv::{esc, unsupported, ArgvResult, Cmd};
use crate::controllers::{ensure_controller, scsi_controller_model};
use crate::devices::{boot_prop, pci_addr, Ctx};

/// Disk index from a target name: `vda` → 0, `hdc` → 2, `sdaa` → 26.
pub(crate) fn disk_index(dev: &str) -> Option<u32> {
    let letters = ["xvd", "hd", "sd", "vd", "fd"]
        .iter()
        .find_map(|p| dev.strip_prefix(p))?;
    if letters.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for ch in letters.chars() {
        if !ch.is_ascii_lowercase() {
            return None;
        }
        n = n.checked_mul(26)?.checked_add(ch as u32 - 'a' as u32 + 1)?;
    }
    n.checked_sub(1)
}

fn blockdev(c: &mut Cmd, k: &Disk, n: usize, p: &str) -> ArgvResult<Option<String>> {
    let Some(src) = &k.source else {
        if k.device == "cdrom" {
            return Ok(None);
        }
        return unsupported(format!("{p}/source is required for a disk"));
    };
    let driver = k.driver.clone().unwrap_or_default();
    if driver.name.as_deref().is_some_and(|d| d != "qemu") {
        return unsupported(format!("{p}/driver/@name must be 'qemu'"));
    }
    let proto = match k.disk_type.as_str() {
        "file" => "file",
        "block" => "host_device",
        other => return unsupported(format!("{p}/@type '{other}' is not supported")),
    };
    let format = driver.format.as_deref().unwrap_or("raw");
    if !matches!(
        format,
        "raw" | "qcow2" | "qed" | "vmdk" | "vdi" | "vpc" | "vhdx"
    ) {
        return unsupported(format!("{p}/driver/@type '{format}' is not supported"));
    }
    let ro = k.readonly || k.device == "cdrom";
    let (direct, no_flush) = match driver.cache.as_deref() {
        None | Some("default" | "writeback" | "writethrough") => (false, false),
        Some("none" | "directsync") => (true, false),
        Some("unsafe") => (false, true),
        Some(other) => return unsupported(format!("{p}/driver/@cache '{other}' is not supported")),
    };
    let mut file = serde_json::json!({
        "driver": proto, "filename": src, "node-name": format!("libvirt-{n}-storage"),
        "auto-read-only": true, "discard": "unmap",
        "cache": {"direct": direct, "no-flush": no_flush},
    });
    match driver.io.as_deref() {
        None => {}
        Some(aio @ ("native" | "threads" | "io_uring")) => file["aio"] = aio.into(),
        Some(other) => return unsupported(format!("{p}/driver/@io '{other}' is not supported")),
    }
    let fmt = serde_json::json!({
        "node-name": format!("libvirt-{n}-format"), "read-only": ro, "driver": format,
        "file": format!("libvirt-{n}-storage"), "cache": {"direct": direct, "no-flush": no_flush},
        "discard": if driver.discard.as_deref() == Some("unmap") { "unmap" } else { "ignore" },
    });
    c.opt("-blockdev", file.to_string());
    c.opt("-blockdev", fmt.to_string());
    Ok(Some(format!("libvirt-{n}-format")))
}

pub(crate) fn disk(c: &mut Cmd, x: &mut Ctx, k: &Disk, n: usize) -> ArgvResult<()> {
    let p = format!("domain/devices/disk[target/@dev='{}']", k.target_dev);
    if k.rawio.is_some() || k.startup_policy.is_some() || k.tray.is_some() {
        return unsupported(format!(
            "{p}: rawio, startupPolicy and tray are not supported"
        ));
    }
    if !matches!(k.device.as_str(), "disk" | "cdrom") {
        return unsupported(format!("{p}/@device '{}' is not supported", k.device));
    }
    let node = blockdev(c, k, n, &p)?;
    let idx = disk_index(&k.target_dev).ok_or_else(|| {
        crate::argv::ArgvError::Unsupported(format!(
            "{p}: cannot derive a disk index from '{}'",
            k.target_dev
        ))
    })?;
    let mut dev = bus_device(c, x, k, idx, &p)?;
    if let Some(node) = node {
        dev.push_str(&format!(",drive={node}"));
    }
    dev.push_str(&boot_prop(&k.info));
    if let Some(s) = &k.serial {
        dev.push_str(&format!(",serial={}", esc(s)));
    }
    if let Some(ep) = k.driver.as_ref().and_then(|d| d.error_policy.as_deref()) {
        match ep {
            "stop" | "report" | "ignore" => dev.push_str(&format!(",werror={ep},rerror={ep}")),
            "enospace" => dev.push_str(",werror=enospc"),
            other => {
                return unsupported(format!(
                    "{p}/driver/@error_policy '{other}' is not supported"
                ))
            }
        }
    }
    c.opt("-device", dev);
    Ok(())
}

/// The `-device` of a disk on its bus, without drive and properties.
fn bus_device(c: &mut Cmd, x: &mut Ctx, k: &Disk, idx: u32, p: &str) -> ArgvResult<String> {
    let cd = k.device == "cdrom";
    let drive = |a: &Option<Address>, per_bus: u32| -> ArgvResult<(u32, u32, u32)> {
        match a {
            Some(Address::Drive {
                controller,
                bus,
                unit,
                ..
            }) => Ok((*controller, *bus, *unit)),
            Some(_) => unsupported(format!("{p}/address must be of type 'drive'")),
            None => Ok((idx / per_bus, 0, idx % per_bus)),
        }
    };
    Ok(match k.target_bus.as_str() {
        "virtio" if !cd => format!(
            "virtio-blk-pci{},id=virtio-disk{idx}",
            pci_addr(x, &k.info, p)?
        ),
        "ide" if !x.q35 => {
            let (ctl, bus, unit) = match &k.info.address {
                Some(Address::Drive {
                    controller,
                    bus,
                    unit,
                    ..
                }) => (*controller, *bus, *unit),
                Some(_) => return unsupported(format!("{p}/address must be of type 'drive'")),
                None => (0, idx / 2, idx % 2),
            };
            let model = if cd { "ide-cd" } else { "ide-hd" };
            format!("{model},bus=ide.{bus},unit={unit},id=ide{ctl}-{bus}-{unit}")
        }
        "sata" => {
            let (ctl, _, unit) = drive(&k.info.address, 6)?;
            ensure_controller(c, x, "sata", ctl)?;
            let model = if cd { "ide-cd" } else { "ide-hd" };
            let bus = if x.q35 && ctl == 0 {
                format!("ide.{unit}")
            } else {
                format!("sata{ctl}.{unit}")
            };
            format!("{model},bus={bus},id=sata{ctl}-0-{unit}")
        }
        "usb" if !cd => format!(
            "usb-storage{},id=usb-disk{idx},removable=off",
            crate::controllers::usb_place(&k.info)
        ),
        "scsi" => {
            let (ctl, bus, unit) = drive(&k.info.address, 7)?;
            let target = match &k.info.address {
                Some(Address::Drive { target, .. }) => *target,
                _ => 0,
            };
            ensure_controller(c, x, "scsi", ctl)?;
            scsi_device(x, cd, (ctl, bus, target, unit))
        }
        other => {
            return unsupported(format!(
                "{p}/target/@bus '{other}' is not supported for this device"
            ))
        }
    })
}

/// A SCSI disk: on virtio-scsi by channel, target and LUN; on a parallel SCSI HBA (LSI)
/// one LUN per target, the unit being the target.
fn scsi_device(x: &Ctx, cd: bool, (ctl, bus, target, unit): (u32, u32, u32, u32)) -> String {
    let model = if cd { "scsi-cd" } else { "scsi-hd" };
    if scsi_controller_model(x.def, ctl) == Some("virtio-scsi") {
        format!(
            "{model},bus=scsi{ctl}.0,channel={bus},scsi-id={target},lun={unit},\
             id=scsi{ctl}-{bus}-{target}-{unit}"
        )
    } else {
        format!("{model},bus=scsi{ctl}.0,scsi-id={unit},id=scsi{ctl}-{bus}-{unit}")
    }
}
