//! Per-device information shared by all devices: boot order, alias, address.

use crate::out::{Attrs, Out};
use crate::tree::{num, num_auto, Element};
use crate::XmlError;

/// A device's guest bus address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `type='pci'`.
    Pci {
        /// PCI domain.
        domain: u32,
        /// PCI bus.
        bus: u32,
        /// PCI slot.
        slot: u32,
        /// PCI function.
        function: u32,
        /// `multifunction='on|off'` when given.
        multifunction: Option<String>,
        /// `<zpci uid= fid=/>` (s390 zPCI), `(uid, fid)`: libvirt writes both once
        /// either is given, the missing one as 0.
        zpci: Option<(u32, u32)>,
    },
    /// `type='drive'`.
    Drive {
        /// Controller index.
        controller: u32,
        /// Bus.
        bus: u32,
        /// Target.
        target: u32,
        /// Unit.
        unit: u32,
    },
    /// `type='virtio-serial'`.
    VirtioSerial {
        /// Controller index.
        controller: u32,
        /// Bus.
        bus: u32,
        /// Port.
        port: u32,
    },
    /// `type='usb'`.
    Usb {
        /// Bus.
        bus: u32,
        /// Port path such as `1` or `1.2`.
        port: Option<String>,
    },
    /// `type='ccid'` (smartcards).
    Ccid {
        /// Controller index.
        controller: u32,
        /// Slot.
        slot: u32,
    },
    /// `type='spapr-vio'`.
    SpaprVio {
        /// Register, when given.
        reg: Option<u64>,
    },
    /// `type='ccw'` (s390).
    Ccw {
        /// Channel subsystem id.
        cssid: u32,
        /// Subchannel set id.
        ssid: u32,
        /// Device number.
        devno: u32,
    },
    /// `type='dimm'` (memory devices).
    Dimm {
        /// Slot.
        slot: Option<u32>,
        /// Base address.
        base: Option<u64>,
    },
    /// An address type without attributes: `virtio-mmio`, `unassigned`, `s390`.
    Bare(&'static str),
    /// `type='isa'`.
    Isa {
        /// I/O base.
        iobase: Option<u32>,
        /// IRQ.
        irq: Option<u32>,
    },
}

/// Boot order, alias and address of a device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceInfo {
    /// `<boot order='N'/>` (disks and interfaces).
    pub boot_order: Option<u32>,
    /// `<alias name='...'/>`.
    pub alias: Option<String>,
    /// `<master startport='N'/>` of a USB companion controller.
    pub master_startport: Option<u32>,
    /// `<rom>` of a PCI device (interfaces, host devices), canonical; set by those
    /// devices' parsers (boxed: rare).
    pub rom: Option<Box<Element>>,
    /// `<acpi index='N'/>`.
    pub acpi_index: Option<u32>,
    /// `<address .../>`.
    pub address: Option<Address>,
}

/// libvirt's wording for an address attribute that is no number.
fn not_a_number(name: &str, v: &str) -> XmlError {
    XmlError::Message(format!(
        "Invalid value for attribute '{name}' in element 'address': '{v}'. \
         Expected non-negative integer value"
    ))
}

fn hex_attr(e: &Element, path: &str, name: &str) -> Result<u32, XmlError> {
    let p = format!("{path}/address/@{name}");
    match e.attr(name) {
        Some(v) => num_auto(&p, v)
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| not_a_number(name, v)),
        None => Ok(0),
    }
}

/// The `<zpci>` child of a PCI address, when it gives a uid or a fid.
fn zpci(e: &Element, path: &str) -> Result<Option<(u32, u32)>, XmlError> {
    let Some(z) = e.child("zpci") else {
        return Ok(None);
    };
    let path = format!("{path}/address/zpci");
    if z.attr("uid").is_none() && z.attr("fid").is_none() {
        return Ok(None);
    }
    Ok(Some((
        hex_attr(z, &path, "uid")?,
        hex_attr(z, &path, "fid")?,
    )))
}

fn dec_attr(e: &Element, path: &str, name: &str) -> Result<u32, XmlError> {
    match e.attr(name) {
        Some(v) => num(&format!("{path}/address/@{name}"), v).map_err(|_| not_a_number(name, v)),
        None => Ok(0),
    }
}

impl Address {
    /// Parses an `<address>` element.
    pub fn parse(e: &Element, path: &str) -> Result<Address, XmlError> {
        let t = e
            .attr("type")
            .ok_or_else(|| XmlError::MissingElement(format!("{path}/address/@type")))?;
        Ok(match t {
            "pci" => Address::Pci {
                domain: hex_attr(e, path, "domain")?,
                bus: hex_attr(e, path, "bus")?,
                slot: hex_attr(e, path, "slot")?,
                function: hex_attr(e, path, "function")?,
                multifunction: e.attr_s("multifunction"),
                zpci: zpci(e, path)?,
            },
            "drive" => Address::Drive {
                controller: dec_attr(e, path, "controller")?,
                bus: dec_attr(e, path, "bus")?,
                target: dec_attr(e, path, "target")?,
                unit: dec_attr(e, path, "unit")?,
            },
            "virtio-serial" => Address::VirtioSerial {
                controller: dec_attr(e, path, "controller")?,
                bus: dec_attr(e, path, "bus")?,
                port: dec_attr(e, path, "port")?,
            },
            "usb" => Address::Usb {
                bus: dec_attr(e, path, "bus")?,
                port: e.attr_s("port"),
            },
            "isa" => Address::Isa {
                iobase: e
                    .attr("iobase")
                    .map(|_| hex_attr(e, path, "iobase"))
                    .transpose()?,
                irq: e
                    .attr("irq")
                    .map(|_| hex_attr(e, path, "irq"))
                    .transpose()?,
            },
            other => Address::parse_rare(other, e, path)?,
        })
    }

    /// Parses the address types few devices use.
    fn parse_rare(t: &str, e: &Element, path: &str) -> Result<Address, XmlError> {
        Ok(match t {
            "ccid" => Address::Ccid {
                controller: dec_attr(e, path, "controller")?,
                slot: dec_attr(e, path, "slot")?,
            },
            "spapr-vio" => Address::SpaprVio {
                reg: e
                    .attr("reg")
                    .map(|v| num_auto(&format!("{path}/address/@reg"), v))
                    .transpose()?,
            },
            "ccw" => Address::Ccw {
                cssid: hex_attr(e, path, "cssid")?,
                ssid: hex_attr(e, path, "ssid")?,
                devno: hex_attr(e, path, "devno")?,
            },
            "dimm" => Address::Dimm {
                slot: e
                    .attr("slot")
                    .map(|v| num(&format!("{path}/address/@slot"), v))
                    .transpose()?,
                base: e
                    .attr("base")
                    .map(|v| num_auto(&format!("{path}/address/@base"), v))
                    .transpose()?,
            },
            "virtio-mmio" => Address::Bare("virtio-mmio"),
            "unassigned" => Address::Bare("unassigned"),
            "virtio-s390" => Address::Bare("virtio-s390"),
            other => return Err(XmlError::invalid(format!("{path}/address/@type"), other)),
        })
    }

    /// The attributes of the address types few devices use.
    fn rare_attrs(&self) -> Attrs {
        match self {
            Address::Ccid { controller, slot } => Attrs::new()
                .add("type", "ccid")
                .add("controller", controller)
                .add("slot", slot),
            Address::SpaprVio { reg } => Attrs::new()
                .add("type", "spapr-vio")
                .opt("reg", reg.map(|v| format!("0x{v:08x}"))),
            Address::Ccw { cssid, ssid, devno } => Attrs::new()
                .add("type", "ccw")
                .add("cssid", format!("0x{cssid:x}"))
                .add("ssid", format!("0x{ssid:x}"))
                .add("devno", format!("0x{devno:04x}")),
            Address::Dimm { slot, base } => Attrs::new()
                .add("type", "dimm")
                .opt("slot", *slot)
                .opt("base", base.map(|b| format!("0x{b:x}"))),
            Address::Bare(t) => Attrs::new().add("type", t),
            _ => Attrs::new(),
        }
    }

    /// Writes the `<address .../>` element.
    pub fn write(&self, out: &mut Out) {
        let a = match self {
            Address::Pci {
                domain,
                bus,
                slot,
                function,
                multifunction,
                zpci,
            } => {
                let a = Attrs::new()
                    .add("type", "pci")
                    .add("domain", format!("0x{domain:04x}"))
                    .add("bus", format!("0x{bus:02x}"))
                    .add("slot", format!("0x{slot:02x}"))
                    .add("function", format!("0x{function:x}"))
                    .opt("multifunction", multifunction.as_ref());
                if let Some((uid, fid)) = zpci {
                    out.open("address", &a);
                    let z = Attrs::new()
                        .add("uid", format!("0x{uid:04x}"))
                        .add("fid", format!("0x{fid:08x}"));
                    out.empty("zpci", &z);
                    out.close("address");
                    return;
                }
                a
            }
            Address::Drive {
                controller,
                bus,
                target,
                unit,
            } => Attrs::new()
                .add("type", "drive")
                .add("controller", controller)
                .add("bus", bus)
                .add("target", target)
                .add("unit", unit),
            Address::VirtioSerial {
                controller,
                bus,
                port,
            } => Attrs::new()
                .add("type", "virtio-serial")
                .add("controller", controller)
                .add("bus", bus)
                .add("port", port),
            Address::Usb { bus, port } => Attrs::new()
                .add("type", "usb")
                .add("bus", bus)
                .opt("port", port.as_ref()),
            Address::Isa { iobase, irq } => Attrs::new()
                .add("type", "isa")
                .opt("iobase", iobase.map(|v| format!("0x{v:x}")))
                .opt("irq", irq.map(|v| format!("0x{v:x}"))),
            _ => self.rare_attrs(),
        };
        out.empty("address", &a);
    }
}

impl DeviceInfo {
    /// Reads `<boot>`, `<alias>` and `<address>` children of a device.
    pub fn parse(e: &Element, path: &str) -> Result<DeviceInfo, XmlError> {
        let boot_order = match e.child("boot") {
            Some(b) => Some(
                b.attr_num(&format!("{path}/boot"), "order")?
                    .ok_or_else(|| XmlError::MissingElement(format!("{path}/boot/@order")))?,
            ),
            None => None,
        };
        Ok(DeviceInfo {
            boot_order,
            alias: e.child("alias").and_then(|a| a.attr_s("name")),
            master_startport: match e.child("master") {
                Some(m) => m.attr_num(&format!("{path}/master"), "startport")?,
                None => None,
            },
            rom: None,
            acpi_index: match e.child("acpi") {
                Some(a) => a.attr_num(&format!("{path}/acpi"), "index")?,
                None => None,
            },
            address: e
                .child("address")
                .map(|a| Address::parse(a, path))
                .transpose()?,
        })
    }

    /// Writes boot order (when `allow_boot`), alias and address.
    pub fn write(&self, out: &mut Out, allow_boot: bool) {
        if allow_boot {
            if let Some(o) = self.boot_order {
                out.empty("boot", &Attrs::new().add("order", o));
            }
        }
        if let Some(a) = &self.alias {
            out.empty("alias", &Attrs::new().add("name", a));
        }
        if let Some(p) = self.master_startport {
            out.empty("master", &Attrs::new().add("startport", p));
        }
        if let Some(r) = &self.rom {
            r.write(out);
        }
        if let Some(i) = self.acpi_index {
            out.empty("acpi", &Attrs::new().add("index", i));
        }
        if let Some(a) = &self.address {
            a.write(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn roundtrip(xml: &str) -> String {
        let e = parse_document(xml).unwrap();
        let a = Address::parse(&e, "disk").unwrap();
        let mut o = Out::new();
        a.write(&mut o);
        o.finish()
    }

    #[test]
    fn pci_normalised() {
        assert_eq!(
            roundtrip("<address type='pci' domain='0x0000' bus='0x00' slot='0x1' function='0x0'/>"),
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n"
        );
    }

    #[test]
    fn other_types() {
        let d = "<address type='drive' controller='0' bus='0' target='0' unit='1'/>\n";
        assert_eq!(roundtrip(d), d);
        let v = "<address type='virtio-serial' controller='0' bus='0' port='1'/>\n";
        assert_eq!(roundtrip(v), v);
        let u = "<address type='usb' bus='0' port='1'/>\n";
        assert_eq!(roundtrip(u), u);
        assert_eq!(
            roundtrip("<address type='ccw' cssid='254' ssid='0' devno='1'/>"),
            "<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>\n"
        );
        let m = "<address type='virtio-mmio'/>\n";
        assert_eq!(roundtrip(m), m);
    }

    #[test]
    fn bad_address() {
        let e = parse_document("<address type='hyperspace'/>").unwrap();
        assert!(Address::parse(&e, "disk").is_err());
        let e = parse_document("<address type='pci' slot='zz'/>").unwrap();
        assert!(Address::parse(&e, "disk").is_err());
    }
}
