//! `<controller>` → `-device`: PCI root ports and bridges, USB, SCSI, SATA and
//! virtio-serial controllers, in libvirt's order and with libvirt's ids.

use rvirt_xml::domain::{Address, Controller, Device, DeviceInfo, DomainDef};

use crate::argv::{unsupported, ArgvResult, Cmd};
use crate::devices::{pci_addr, Ctx};

/// The order libvirt writes controllers in: PCI controllers by index, then USB, SCSI,
/// IDE, SATA and virtio-serial ones.
pub(crate) fn controller_rank(k: &Controller) -> (u8, u32) {
    let rank = match k.controller_type.as_str() {
        "pci" => 0,
        "usb" => 1,
        "scsi" => 2,
        "ide" => 3,
        "sata" => 4,
        "virtio-serial" => 5,
        _ => 6,
    };
    (rank, k.index)
}

pub(crate) fn controller(c: &mut Cmd, x: &mut Ctx, k: &Controller) -> ArgvResult<()> {
    let p = format!("domain/devices/controller[@type='{}']", k.controller_type);
    let addr = pci_addr(x, &k.info, &p)?;
    let dev = match (k.controller_type.as_str(), k.model.as_deref()) {
        ("pci", Some("pci-root" | "pcie-root")) | ("ide" | "fdc", _) if k.index == 0 => None,
        ("pci", Some("pcie-root-port")) => Some(root_port(k)),
        ("pci", Some("pcie-to-pci-bridge")) => Some(format!("pcie-pci-bridge,id=pci.{}", k.index)),
        ("pci", Some("pci-bridge")) => Some(format!(
            "pci-bridge,chassis_nr={},id=pci.{}",
            target(k, "chassisNr").unwrap_or_else(|| k.index.to_string()),
            k.index
        )),
        ("usb", Some("none")) => None,
        ("usb", None) if x.q35 => Some(format!("qemu-xhci,id={}", usb_id(k.index))),
        ("usb", None | Some("piix3-uhci")) => {
            Some(format!("piix3-usb-uhci,id={}", usb_id(k.index)))
        }
        ("usb", Some("qemu-xhci")) => Some(format!("qemu-xhci,id={}", usb_id(k.index))),
        ("usb", Some("nec-xhci")) => Some(format!("nec-usb-xhci,id={}", usb_id(k.index))),
        ("usb", Some(m @ ("ich9-ehci1" | "ich9-uhci1" | "ich9-uhci2" | "ich9-uhci3"))) => {
            Some(ich9_usb(m, k))
        }
        ("sata", _) if x.q35 && k.index == 0 => None,
        ("sata", None) => Some(format!("ahci,id=sata{}", k.index)),
        ("scsi", m) => Some(format!("{},id=scsi{}", scsi_model(m, &p)?, k.index)),
        ("virtio-serial", None) => Some(format!("virtio-serial-pci,id=virtio-serial{}", k.index)),
        (_, m) => {
            return unsupported(format!(
                "{p} with model '{}' is not supported",
                m.unwrap_or("default")
            ))
        }
    };
    if let Some(d) = dev {
        c.opt("-device", format!("{d}{addr}"));
    }
    x.controllers.insert((k.controller_type.clone(), k.index));
    Ok(())
}

/// An attribute of a controller's `<target>`.
fn target(k: &Controller, name: &str) -> Option<String> {
    k.children
        .iter()
        .find(|e| e.name == "target")
        .and_then(|t| t.attr_s(name))
}

/// A `pcie-root-port` with its port number and chassis (libvirt writes them in at define).
fn root_port(k: &Controller) -> String {
    let mut s = "pcie-root-port".to_string();
    if let Some(p) = target(k, "port") {
        let n = p
            .strip_prefix("0x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .or_else(|| p.parse().ok())
            .unwrap_or(0);
        s.push_str(&format!(",port={n}"));
    }
    let chassis = target(k, "chassis").unwrap_or_else(|| k.index.to_string());
    format!("{s},chassis={chassis},id=pci.{}", k.index)
}

/// An ICH9 USB controller: the EHCI master, or a UHCI companion on its master's bus
/// (`masterbus`, `firstport` from `<master startport>`), as libvirt writes them.
fn ich9_usb(model: &str, k: &Controller) -> String {
    let device = format!("ich9-usb-{}", &model["ich9-".len()..]);
    match k.info.master_startport {
        Some(port) => format!("{device},masterbus={}.0,firstport={port}", usb_id(k.index)),
        None => format!("{device},id={}", usb_id(k.index)),
    }
}

fn usb_id(index: u32) -> String {
    if index == 0 {
        "usb".into()
    } else {
        format!("usb{index}")
    }
}

fn scsi_model(m: Option<&str>, p: &str) -> ArgvResult<&'static str> {
    Ok(match m {
        None | Some("lsilogic") => "lsi",
        Some("virtio-scsi") => "virtio-scsi-pci",
        Some(other) => return unsupported(format!("{p}/@model '{other}' is not supported")),
    })
}

/// Adds an implicit controller the first time a disk or device needs it.
pub(crate) fn ensure_controller(
    c: &mut Cmd,
    x: &mut Ctx,
    kind: &str,
    index: u32,
) -> ArgvResult<()> {
    if x.controllers.contains(&(kind.to_string(), index)) {
        return Ok(());
    }
    let k = Controller::new(kind, index);
    controller(c, x, &k)
}

/// The model of SCSI controller `index`.
pub(crate) fn scsi_controller_model(def: &DomainDef, index: u32) -> Option<&str> {
    def.devices.iter().find_map(|d| match d {
        Device::Controller(k) if k.controller_type == "scsi" && k.index == index => {
            k.model.as_deref()
        }
        _ => None,
    })
}

/// `,bus=usb.0,port=P` of a USB device: the bus of its controller (`usb` is controller
/// 0, `usbN` controller N) and its port, as assigned at define.
pub(crate) fn usb_place(info: &DeviceInfo) -> String {
    match &info.address {
        Some(Address::Usb { bus, port }) => {
            let port = port
                .as_ref()
                .map(|p| format!(",port={p}"))
                .unwrap_or_default();
            format!(",bus={}.0{port}", usb_id(*bus))
        }
        _ => ",bus=usb.0".into(),
    }
}
