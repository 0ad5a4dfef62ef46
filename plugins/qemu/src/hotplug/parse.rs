//! The device document of an attach, detach or update: parsed as libvirt's generic
//! parser reads a device (a missing MAC generated, drive addresses of SCSI/IDE/SATA
//! disks derived from the target), matched against a definition's devices as libvirt
//! matches them, inserted where libvirt inserts it, and given its live alias.

use rvirt_xml::domain::{Address, Device, DomainDef};

use super::HotplugError;
use crate::disks::disk_index;

/// A parsed device document.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub device: Device,
    /// Whether the document names a MAC (a detach without one matches any MAC).
    pub mac_given: bool,
    /// Whether a controller document gives its index.
    pub index_given: bool,
    /// Whether the document gives the device's address.
    pub address_given: bool,
}

/// The name of the root element of `xml`.
fn root_name(xml: &str) -> Option<String> {
    let mut rest = xml.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>")?.1.trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->")?.1.trim_start();
        } else {
            break;
        }
    }
    let body = rest.strip_prefix('<')?;
    let end = body.find(|c: char| c.is_whitespace() || c == '>' || c == '/')?;
    Some(body[..end].to_string())
}

/// Parses the device document `xml` as a device of an `os_type` guest.
pub fn device(xml: &str, os_type: &str) -> Result<Parsed, HotplugError> {
    let element = root_name(xml).ok_or_else(|| HotplugError::Xml("missing root element".into()))?;
    let body = xml.trim_start();
    let body = match body.strip_prefix("<?") {
        Some(after) => after.split_once("?>").map_or("", |(_, b)| b),
        None => body,
    };
    let wrapped = format!(
        "<domain type='qemu'><name>hotplug</name><memory>1024</memory>\
         <os><type>{os_type}</type></os><devices>{body}</devices></domain>"
    );
    let def = DomainDef::parse(&wrapped)?;
    let index_attr = attr_of_root(body, "index");
    let type_attr = attr_of_root(body, "type");
    let found = def
        .devices
        .into_iter()
        .find(|d| match (d, element.as_str()) {
            (Device::Disk(_), "disk") | (Device::Interface(_), "interface") => true,
            (Device::Input(_), "input") | (Device::Rng(_), "rng") => true,
            (Device::Controller(k), "controller") => {
                Some(k.controller_type.as_str()) == type_attr.as_deref()
                    && index_attr
                        .as_deref()
                        .is_none_or(|i| i.parse() == Ok(k.index))
            }
            (Device::Video(_), "video") | (Device::Watchdog(_), "watchdog") => true,
            (Device::MemBalloon(_), "memballoon") | (Device::Graphics(_), "graphics") => true,
            (Device::Chr(c), name) => c.kind.element() == name,
            (Device::Generic(g), name) => g.element.name == name,
            _ => false,
        });
    let device = found.ok_or_else(|| HotplugError::UnknownDevice(element.clone()))?;
    Ok(Parsed {
        mac_given: element == "interface" && body.contains("<mac"),
        index_given: index_attr.is_some(),
        address_given: body.contains("<address"),
        device,
    })
}

/// An attribute of the root element, read from the text (the typed device forgets
/// whether it was given).
fn attr_of_root(body: &str, name: &str) -> Option<String> {
    let start = body.trim_start();
    let tag = &start[..start.find('>')?];
    let at = tag.find(&format!(" {name}="))? + name.len() + 2;
    let quote = tag[at..].chars().next()?;
    let value = &tag[at + 1..];
    Some(value[..value.find(quote)?].to_string())
}

/// The kind of a device, as libvirt names it in "live attach of device '...'".
pub fn kind_name(d: &Device) -> String {
    match d {
        Device::Disk(_) => "disk".into(),
        Device::Controller(_) => "controller".into(),
        Device::Interface(_) => "net".into(),
        Device::Chr(_) => "chr".into(),
        Device::Input(_) => "input".into(),
        Device::Graphics(_) => "graphics".into(),
        Device::Video(_) => "video".into(),
        Device::Watchdog(_) => "watchdog".into(),
        Device::MemBalloon(_) => "memballoon".into(),
        Device::Rng(_) => "rng".into(),
        Device::Generic(g) => g.element.name.clone(),
    }
}

/// The index in `def.devices` of the device `p` names, as libvirt's detach and update
/// find it, or the error libvirt gives when none (or, for a MAC-less interface, more
/// than one) matches.
pub fn find(def: &DomainDef, p: &Parsed, config: bool) -> Result<usize, HotplugError> {
    let pos = |f: &dyn Fn(&Device) -> bool| def.devices.iter().position(f);
    match &p.device {
        Device::Disk(k) => pos(&|d| matches!(d, Device::Disk(x) if x.target_dev == k.target_dev))
            .ok_or_else(|| {
                if config {
                    HotplugError::Missing(format!("no target device {}", k.target_dev))
                } else {
                    HotplugError::Missing(format!("disk {} not found", k.target_dev))
                }
            }),
        Device::Interface(i) => {
            let hits: Vec<usize> = def
                .devices
                .iter()
                .enumerate()
                .filter(|(_, d)| match d {
                    Device::Interface(x) => {
                        (!p.mac_given || x.mac == i.mac)
                            && (i.info.address.is_none() || x.info.address == i.info.address)
                    }
                    _ => false,
                })
                .map(|(n, _)| n)
                .collect();
            match hits.as_slice() {
                [one] => Ok(*one),
                [] => {
                    let mac = if p.mac_given {
                        i.mac.as_str()
                    } else {
                        "(<null>)"
                    };
                    Err(HotplugError::Missing(format!(
                        "no device found at address '{}' matching MAC address '{mac}' and alias '{}'",
                        pci_text(&i.info.address),
                        i.info.alias.as_deref().unwrap_or("(<null>)")
                    )))
                }
                _ => Err(HotplugError::Failed(
                    "multiple matching devices found".into(),
                )),
            }
        }
        Device::Controller(k) => pos(&|d| {
            matches!(d, Device::Controller(x)
                if x.controller_type == k.controller_type && x.index == k.index)
        })
        .ok_or_else(|| {
            HotplugError::Missing(format!(
                "controller {}:{} not found",
                k.controller_type, k.index
            ))
        }),
        Device::Input(i) => pos(&|d| {
            matches!(d, Device::Input(x)
                if x.input_type == i.input_type
                    && x.bus == i.bus
                    && (i.model.is_none() || x.model == i.model)
                    && (i.info.address.is_none() || x.info.address == i.info.address))
        })
        .ok_or_else(|| HotplugError::Missing("matching input device not found".into())),
        Device::Rng(r) => pos(&|d| {
            matches!(d, Device::Rng(x)
                if x.model == r.model
                    && x.backend_model == r.backend_model
                    && (r.backend_path.is_none() || x.backend_path == r.backend_path)
                    && (r.info.address.is_none() || x.info.address == r.info.address))
        })
        .ok_or_else(|| {
            HotplugError::Missing(format!(
                "model '{}' RNG device not present in domain configuration",
                r.backend_model
            ))
        }),
        other => Err(HotplugError::Unsupported(format!(
            "{} of device '{}' is not supported",
            if config {
                "persistent detach"
            } else {
                "live detach"
            },
            kind_name(other)
        ))),
    }
}

/// A PCI address as libvirt prints it in messages (`0000:00:04.0`).
fn pci_text(a: &Option<Address>) -> String {
    match a {
        Some(Address::Pci {
            domain,
            bus,
            slot,
            function,
            ..
        }) => format!("{domain:04x}:{bus:02x}:{slot:02x}.{function:x}"),
        _ => "(<null>)".into(),
    }
}

/// The index of the device with `alias`.
pub fn find_alias(def: &DomainDef, alias: &str) -> Result<usize, HotplugError> {
    def.devices
        .iter()
        .position(|d| d.info().and_then(|i| i.alias.as_deref()) == Some(alias))
        .ok_or_else(|| HotplugError::Missing(format!("no device found with alias {alias}")))
}

/// Inserts `dev` into `def` where libvirt does: a disk among the disks of its bus by
/// target index, a controller among those of its type by index, anything else last;
/// answers where it went.
pub fn insert(def: &mut DomainDef, dev: Device) -> usize {
    let at = match &dev {
        Device::Disk(k) => {
            let me = disk_index(&k.target_dev).unwrap_or(u32::MAX);
            let mut at: Option<usize> = None;
            for (i, d) in def.devices.iter().enumerate().rev() {
                let Device::Disk(x) = d else { continue };
                if x.target_bus != k.target_bus {
                    continue;
                }
                if disk_index(&x.target_dev).unwrap_or(0) > me {
                    at = Some(i);
                } else if at.is_none() {
                    at = Some(i + 1);
                }
            }
            at
        }
        Device::Controller(k) => def
            .devices
            .iter()
            .rposition(|d| {
                matches!(d, Device::Controller(x)
                    if x.controller_type == k.controller_type && x.index < k.index)
            })
            .map(|i| i + 1),
        _ => None,
    };
    let i = at.unwrap_or(def.devices.len());
    def.devices.insert(i, dev);
    i
}

/// The lowest index no controller of `kind` has.
pub fn unused_controller_index(def: &DomainDef, kind: &str) -> u32 {
    (0..)
        .find(|n| {
            !def
                .devices
                .iter()
                .any(|d| matches!(d, Device::Controller(x) if x.controller_type == kind && x.index == *n))
        })
        .unwrap_or(0)
}

/// One past the highest `PREFIXn` alias among `def`'s devices (libvirt's alias for a
/// hotplugged device of a counted kind).
fn next_alias(def: &DomainDef, prefix: &str) -> String {
    let n = def
        .devices
        .iter()
        .filter_map(|d| {
            d.info()?
                .alias
                .as_deref()?
                .strip_prefix(prefix)?
                .parse::<u32>()
                .ok()
        })
        .map(|n| n + 1)
        .max()
        .unwrap_or(0);
    format!("{prefix}{n}")
}

/// The alias libvirt gives a device hotplugged into the live definition `def`.
pub fn live_alias(def: &DomainDef, d: &Device) -> Option<String> {
    Some(match d {
        Device::Disk(k) => {
            let idx = disk_index(&k.target_dev)?;
            match (k.target_bus.as_str(), &k.info.address) {
                ("virtio", _) => format!("virtio-disk{idx}"),
                ("usb", _) => format!("usb-disk{idx}"),
                (
                    "scsi",
                    Some(Address::Drive {
                        controller,
                        bus,
                        target,
                        unit,
                    }),
                ) => {
                    let virtio = def.devices.iter().any(|x| {
                        matches!(x, Device::Controller(c) if c.controller_type == "scsi"
                            && c.index == *controller
                            && c.model.as_deref() == Some("virtio-scsi"))
                    });
                    if virtio {
                        format!("scsi{controller}-{bus}-{target}-{unit}")
                    } else {
                        format!("scsi{controller}-{bus}-{unit}")
                    }
                }
                (
                    bus,
                    Some(Address::Drive {
                        controller,
                        bus: b,
                        unit,
                        ..
                    }),
                ) => {
                    format!("{bus}{controller}-{b}-{unit}")
                }
                _ => return None,
            }
        }
        Device::Controller(k) => match k.controller_type.as_str() {
            "usb" if k.index == 0 => "usb".into(),
            "pci" => format!("pci.{}", k.index),
            t => format!("{t}{}", k.index),
        },
        Device::Interface(_) => next_alias(def, "net"),
        Device::Input(_) => next_alias(def, "input"),
        Device::Rng(_) => next_alias(def, "rng"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(devices: &str) -> DomainDef {
        DomainDef::parse(&format!(
            "<domain type='qemu'><name>t</name><memory>1024</memory>\
             <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>{devices}</devices></domain>"
        ))
        .unwrap()
    }

    #[test]
    fn documents_parse_as_devices() {
        let p = device(
            "<?xml version='1.0'?>\n<disk type='file'><source file='/a'/><target dev='sdb' bus='scsi'/></disk>",
            "hvm",
        )
        .unwrap();
        let Device::Disk(k) = &p.device else { panic!() };
        assert_eq!(
            k.info.address,
            Some(Address::Drive {
                controller: 0,
                bus: 0,
                target: 0,
                unit: 1
            })
        );
        let p = device("<interface type='user'/>", "hvm").unwrap();
        assert!(!p.mac_given);
        let p = device(
            "<controller type='scsi' index='2' model='virtio-scsi'/>",
            "hvm",
        )
        .unwrap();
        assert!(matches!(&p.device, Device::Controller(k) if k.index == 2));
        assert!(p.index_given);
    }

    #[test]
    fn disks_go_among_their_bus_by_target() {
        let mut d = def(
            "<disk type='file'><source file='/a'/><target dev='vda' bus='virtio'/></disk>\
             <disk type='file'><source file='/c'/><target dev='vdc' bus='virtio'/></disk>\
             <disk type='file'><source file='/s'/><target dev='sda' bus='usb'/></disk>",
        );
        let p = device(
            "<disk type='file'><source file='/b'/><target dev='vdb' bus='virtio'/></disk>",
            "hvm",
        )
        .unwrap();
        insert(&mut d, p.device);
        let order: Vec<&str> = d.disks().map(|k| k.target_dev.as_str()).collect();
        assert_eq!(order, ["vda", "vdb", "vdc", "sda"]);
    }

    #[test]
    fn counted_aliases_follow_the_highest() {
        let mut d = def("<interface type='user'/><interface type='user'/>");
        for (n, i) in d.interfaces_mut().enumerate() {
            i.info.alias = Some(format!("net{}", n * 3));
        }
        let p = device("<interface type='user'/>", "hvm").unwrap();
        assert_eq!(live_alias(&d, &p.device).as_deref(), Some("net4"));
        assert!(find(&d, &p, false).is_err());
        assert_eq!(find_alias(&d, "net3").unwrap(), 1);
    }
}
