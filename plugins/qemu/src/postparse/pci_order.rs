//! Which devices take a PCI address, how they connect, and in which order libvirt's QEMU
//! driver places them: PCI controllers, filesystems, interfaces, sound cards, the other
//! controllers, virtio disks, host devices, the memory balloon, RNGs, the watchdog, video
//! cards, shared memory, virtio inputs, vsock, PCI serial ports.

use rvirt_xml::domain::{Device, DomainDef};

use super::Chipset;

/// How a device plugs into a PCI topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    /// A conventional PCI endpoint.
    Pci,
    /// A PCI Express endpoint (on Q35; on i440FX every device is [`Conn::Pci`]).
    Pcie,
    /// A `pcie-root-port`: only on the PCIe root, several to a slot.
    RootPort,
    /// A `pcie-to-pci-bridge`: behind a root port.
    PcieToPciBridge,
    /// A `pci-bridge`: on a conventional bus.
    PciBridge,
}

/// The devices of `def` that take a PCI address, as (index, connection), in placing
/// order.
pub fn order(def: &DomainDef, chipset: Chipset) -> Vec<(usize, Conn)> {
    let mut groups: [Vec<(usize, Conn)>; GROUPS] = Default::default();
    for (i, d) in def.devices.iter().enumerate() {
        if let Some((g, c)) = classify(d) {
            let c = match (chipset, c) {
                (Chipset::I440fx, Conn::Pcie) => Conn::Pci,
                _ => c,
            };
            groups[g].push((i, c));
        }
    }
    groups.into_iter().flatten().collect()
}

const GROUPS: usize = 15;

/// The placing group and connection of a device, if it takes a PCI address.
fn classify(d: &Device) -> Option<(usize, Conn)> {
    use Conn::*;
    Some(match d {
        Device::Controller(c) => match (c.controller_type.as_str(), c.model.as_deref()) {
            ("pci", Some("pcie-root-port")) => (0, RootPort),
            ("pci", Some("pcie-to-pci-bridge")) => (0, PcieToPciBridge),
            ("pci", Some("pci-bridge")) => (0, PciBridge),
            ("pci" | "ide" | "fdc" | "ccid" | "xenbus", _) | ("usb", Some("none")) => return None,
            ("usb", Some("qemu-xhci" | "nec-xhci")) => (4, Pcie),
            ("scsi", Some("virtio-scsi")) | ("virtio-serial", _) => (4, Pcie),
            ("usb" | "scsi" | "sata", _) => (4, Pci),
            _ => return None,
        },
        Device::Interface(i) => {
            if i.iface_type == "hostdev" {
                return None;
            }
            // Learnt from libvirtd: these are conventional PCI, any other model (ne2k_pci
            // and unknown ones too) is placed as PCIe.
            let pci = matches!(
                i.model.as_deref(),
                Some("rtl8139" | "e1000" | "vmxnet3" | "virtio-transitional")
            );
            (2, if pci { Pci } else { Pcie })
        }
        Device::Disk(k) if k.target_bus == "virtio" => (5, Pcie),
        Device::MemBalloon(m) if m.model.starts_with("virtio") => (7, virtio(&m.model)),
        Device::Rng(r) if r.model.starts_with("virtio") => (8, virtio(&r.model)),
        Device::Watchdog(w) if w.model == "i6300esb" => (9, Pci),
        Device::Video(v) => match v.model.as_str() {
            "none" | "ramfb" => return None,
            "virtio" => (10, Pcie),
            _ => (10, Pci),
        },
        Device::Input(i) if i.bus.as_deref() == Some("virtio") => (12, Pcie),
        Device::Chr(c) if c.target_type.as_deref() == Some("pci-serial") => (14, Pci),
        Device::Generic(g) => return classify_generic(g),
        _ => return None,
    })
}

/// A transitional virtio device is a conventional PCI one; the others are PCIe.
fn virtio(model: &str) -> Conn {
    if model == "virtio-transitional" {
        Conn::Pci
    } else {
        Conn::Pcie
    }
}

fn classify_generic(g: &rvirt_xml::domain::GenericDevice) -> Option<(usize, Conn)> {
    use Conn::*;
    Some(match g.element.name.as_str() {
        "filesystem" if matches!(g.attr("type"), None | Some("mount")) => (1, Pcie),
        "sound" => match g.attr("model") {
            Some("ich6" | "ich7" | "ac97" | "es1370") => (3, Pci),
            Some("ich9") => (3, Pcie),
            _ => return None,
        },
        "hostdev" if g.attr("type") == Some("pci") => (6, Pcie),
        "shmem" => (11, Pci),
        "vsock" => (13, Pcie),
        _ => return None,
    })
}
