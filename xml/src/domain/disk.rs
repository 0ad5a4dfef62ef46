//! `<disk>`, `<controller>` and `<interface>` devices.

use super::info::DeviceInfo;
use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, text, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// The children of `e` that `specs` describe, each in canonical form, in `specs` order.
pub(super) fn spec_children(
    e: &Element,
    specs: &[Spec],
    path: &str,
) -> Result<Vec<Element>, XmlError> {
    let mut out = Vec::new();
    for s in specs {
        for c in e.children_named(s.name) {
            out.push(s.parse(c, &format!("{path}/{}", s.name))?);
        }
    }
    Ok(out)
}

/// `<driver>` of a disk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiskDriver {
    /// `name='qemu'`.
    pub name: Option<String>,
    /// `type='qcow2'` (image format).
    pub format: Option<String>,
    /// `cache='none'`.
    pub cache: Option<String>,
    /// `error_policy`.
    pub error_policy: Option<String>,
    /// `io='native'`.
    pub io: Option<String>,
    /// `discard='unmap'`.
    pub discard: Option<String>,
}

/// A `<disk>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// `type`: file, block or dir.
    pub disk_type: String,
    /// `device`: disk, cdrom, floppy, lun.
    pub device: String,
    /// `rawio='yes|no'`.
    pub rawio: Option<String>,
    /// `<driver>`.
    pub driver: Option<DiskDriver>,
    /// Source path (`file`, `dev` or `dir` attribute by type); none for an empty drive.
    pub source: Option<String>,
    /// `startupPolicy` on `<source>`.
    pub startup_policy: Option<String>,
    /// `<target dev>`.
    pub target_dev: String,
    /// `<target bus>` (derived from the device name when absent).
    pub target_bus: String,
    /// `<target tray>` for cdrom/floppy.
    pub tray: Option<String>,
    /// `<readonly/>`.
    pub readonly: bool,
    /// `<shareable/>`.
    pub shareable: bool,
    /// `<serial>`.
    pub serial: Option<String>,
    /// Boot order, alias, address.
    pub info: DeviceInfo,
}

impl Disk {
    fn source_attr(&self) -> &'static str {
        match self.disk_type.as_str() {
            "block" => "dev",
            "dir" => "dir",
            _ => "file",
        }
    }

    /// Parses `<disk>`.
    pub fn parse(e: &Element) -> Result<Disk, XmlError> {
        let p = "domain/devices/disk";
        let disk_type = e.attr("type").unwrap_or("file").to_string();
        if !matches!(disk_type.as_str(), "file" | "block" | "dir") {
            return Err(XmlError::invalid(format!("{p}/@type"), disk_type));
        }
        let target = e.req_child(p, "target")?;
        let target_dev = target
            .attr_s("dev")
            .ok_or_else(|| XmlError::MissingElement(format!("{p}/target/@dev")))?;
        let target_bus = match target.attr("bus") {
            Some(b) => b.to_string(),
            None => default_bus(&target_dev)?,
        };
        let mut d = Disk {
            disk_type,
            device: e.attr("device").unwrap_or("disk").to_string(),
            rawio: e.attr_s("rawio"),
            driver: e.child("driver").map(parse_driver),
            source: None,
            startup_policy: None,
            target_dev,
            target_bus,
            tray: target.attr_s("tray"),
            readonly: e.child("readonly").is_some(),
            shareable: e.child("shareable").is_some(),
            serial: e.child_text("serial"),
            info: DeviceInfo::parse(e, p)?,
        };
        if let Some(s) = e.child("source") {
            d.source = s.attr_s(d.source_attr());
            d.startup_policy = s.attr_s("startupPolicy");
        }
        Ok(d)
    }

    /// Writes `<disk>`.
    pub fn write(&self, out: &mut Out) {
        let attrs = Attrs::new()
            .add("type", &self.disk_type)
            .add("device", &self.device)
            .opt("rawio", self.rawio.as_ref());
        out.open("disk", &attrs);
        if let Some(d) = &self.driver {
            let a = Attrs::new()
                .opt("name", d.name.as_ref())
                .opt("type", d.format.as_ref())
                .opt("cache", d.cache.as_ref())
                .opt("error_policy", d.error_policy.as_ref())
                .opt("io", d.io.as_ref())
                .opt("discard", d.discard.as_ref());
            out.element("driver", &a, |_| {});
        }
        let src = Attrs::new()
            .opt(self.source_attr(), self.source.as_ref())
            .opt("startupPolicy", self.startup_policy.as_ref());
        out.element("source", &src, |_| {});
        let mut t = Attrs::new()
            .add("dev", &self.target_dev)
            .add("bus", &self.target_bus);
        if matches!(self.device.as_str(), "cdrom" | "floppy") {
            t = t.opt("tray", self.tray.as_ref());
        }
        out.empty("target", &t);
        if self.readonly {
            out.empty("readonly", &Attrs::new());
        }
        if self.shareable {
            out.empty("shareable", &Attrs::new());
        }
        out.opt_text("serial", self.serial.as_ref());
        self.info.write(out, true);
        out.close("disk");
    }
}

fn parse_driver(e: &Element) -> DiskDriver {
    DiskDriver {
        name: e.attr_s("name"),
        format: e.attr_s("type"),
        cache: e.attr_s("cache"),
        error_policy: e.attr_s("error_policy"),
        io: e.attr_s("io"),
        discard: e.attr_s("discard"),
    }
}

/// The bus libvirt infers from a disk's target device name.
fn default_bus(dev: &str) -> Result<String, XmlError> {
    let bus = if dev.starts_with("hd") {
        "ide"
    } else if dev.starts_with("sd") {
        "scsi"
    } else if dev.starts_with("vd") {
        "virtio"
    } else if dev.starts_with("xvd") {
        "xen"
    } else if dev.starts_with("fd") {
        "fdc"
    } else if dev.starts_with("ubd") {
        "uml"
    } else {
        return Err(XmlError::invalid("domain/devices/disk/target/@bus", dev));
    };
    Ok(bus.to_string())
}

/// A `<controller>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// `type`: usb, pci, ide, sata, scsi, virtio-serial, ...
    pub controller_type: String,
    /// `index`.
    pub index: u32,
    /// `model`.
    pub model: Option<String>,
    /// `ports` (virtio-serial, usb).
    pub ports: Option<u32>,
    /// `vectors` (virtio-serial).
    pub vectors: Option<u32>,
    /// `maxGrantFrames` (xenbus).
    pub max_grant_frames: Option<u32>,
    /// `<model>`, `<target>` and `<driver>` children, in canonical form.
    pub children: Vec<Element>,
    /// Alias, USB companion master and address.
    pub info: DeviceInfo,
}

const CT: Value = Value::Text;

/// The described children of `<controller>`, in libvirt's order.
const CONTROLLER_CHILDREN: &[Spec] = &[
    leaf("model", &[attr("name", CT)]),
    Spec {
        name: "target",
        attrs: &[
            attr("chassisNr", CT),
            attr("chassis", CT),
            attr("port", CT),
            attr("busNr", CT),
            attr("hotplug", Value::OnOff),
            attr("index", CT),
            attr("memReserve", CT),
        ],
        children: &[text("node", Value::Unsigned)],
        text: None,
    },
    leaf(
        "driver",
        &[
            attr("queues", Value::Unsigned),
            attr("cmd_per_lun", Value::Unsigned),
            attr("max_sectors", Value::Unsigned),
            attr("ioeventfd", Value::OnOff),
            attr("iothread", Value::Unsigned),
        ],
    ),
];

impl Controller {
    /// A controller of `kind` with `index` and nothing else set.
    pub fn new(kind: &str, index: u32) -> Controller {
        Controller {
            controller_type: kind.to_string(),
            index,
            model: None,
            ports: None,
            vectors: None,
            max_grant_frames: None,
            children: Vec::new(),
            info: DeviceInfo::default(),
        }
    }

    /// Parses `<controller>`.
    pub fn parse(e: &Element, index_default: u32) -> Result<Controller, XmlError> {
        let p = "domain/devices/controller";
        Ok(Controller {
            controller_type: e
                .attr_s("type")
                .ok_or_else(|| XmlError::MissingElement(format!("{p}/@type")))?,
            index: e.attr_num(p, "index")?.unwrap_or(index_default),
            model: e.attr_s("model"),
            ports: e.attr_num(p, "ports")?,
            vectors: e.attr_num(p, "vectors")?,
            max_grant_frames: e.attr_num(p, "maxGrantFrames")?,
            children: spec_children(e, CONTROLLER_CHILDREN, p)?,
            info: DeviceInfo::parse(e, p)?,
        })
    }

    /// Writes `<controller>`.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .add("type", &self.controller_type)
            .add("index", self.index)
            .opt("model", self.model.as_ref())
            .opt("ports", self.ports)
            .opt("vectors", self.vectors)
            .opt("maxGrantFrames", self.max_grant_frames);
        out.element_always("controller", &a, |o| {
            for c in &self.children {
                c.write(o);
            }
            self.info.write(o, false)
        });
    }
}

/// An `<interface>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// `type`: network, bridge, user, ethernet, direct.
    pub iface_type: String,
    /// `<mac address>`; generated (52:54:00:...) when absent.
    pub mac: String,
    /// Network name, bridge name or host device, by type.
    pub source: Option<String>,
    /// `portgroup` (type network).
    pub portgroup: Option<String>,
    /// `mode` (type direct).
    pub source_mode: Option<String>,
    /// `<script path>`.
    pub script: Option<String>,
    /// `<target dev>` (host-side device name).
    pub target_dev: Option<String>,
    /// `<model type>`.
    pub model: Option<String>,
    /// `<link state>`.
    pub link_state: Option<String>,
    /// `<mtu size>`.
    pub mtu: Option<u32>,
    /// Boot order, alias, address.
    pub info: DeviceInfo,
}

impl Interface {
    fn source_attr(&self) -> Option<&'static str> {
        match self.iface_type.as_str() {
            "network" => Some("network"),
            "bridge" => Some("bridge"),
            "direct" => Some("dev"),
            _ => None,
        }
    }

    /// Parses `<interface>`.
    pub fn parse(e: &Element) -> Result<Interface, XmlError> {
        let p = "domain/devices/interface";
        let iface_type = e
            .attr_s("type")
            .ok_or_else(|| XmlError::MissingElement(format!("{p}/@type")))?;
        if !matches!(
            iface_type.as_str(),
            "network" | "bridge" | "user" | "ethernet" | "direct"
        ) {
            return Err(XmlError::invalid(format!("{p}/@type"), iface_type));
        }
        let mac = match e.child("mac").and_then(|m| m.attr("address")) {
            Some(m) => normalize_mac(m)?,
            None => random_mac(),
        };
        let mut i = Interface {
            iface_type,
            mac,
            source: None,
            portgroup: None,
            source_mode: None,
            script: e.child("script").and_then(|s| s.attr_s("path")),
            target_dev: e.child("target").and_then(|t| t.attr_s("dev")),
            model: e.child("model").and_then(|m| m.attr_s("type")),
            link_state: e.child("link").and_then(|l| l.attr_s("state")),
            mtu: match e.child("mtu") {
                Some(m) => m.attr_num(&format!("{p}/mtu"), "size")?,
                None => None,
            },
            info: DeviceInfo::parse(e, p)?,
        };
        if let (Some(s), Some(attr)) = (e.child("source"), i.source_attr()) {
            i.source = s.attr_s(attr);
            i.portgroup = s.attr_s("portgroup").filter(|_| attr == "network");
            i.source_mode = s.attr_s("mode").filter(|_| attr == "dev");
        }
        if i.iface_type == "network" && i.source.is_none() {
            return Err(XmlError::MissingElement(format!("{p}/source/@network")));
        }
        if i.iface_type == "direct" && i.source_mode.is_none() {
            i.source_mode = Some("vepa".into());
        }
        Ok(i)
    }

    /// Writes `<interface>`.
    pub fn write(&self, out: &mut Out) {
        out.open("interface", &Attrs::new().add("type", &self.iface_type));
        out.empty("mac", &Attrs::new().add("address", &self.mac));
        if let (Some(attr), Some(src)) = (self.source_attr(), &self.source) {
            let a = Attrs::new()
                .add(attr, src)
                .opt("portgroup", self.portgroup.as_ref())
                .opt("mode", self.source_mode.as_ref());
            out.empty("source", &a);
        }
        if let Some(s) = &self.script {
            out.empty("script", &Attrs::new().add("path", s));
        }
        if let Some(t) = &self.target_dev {
            out.empty("target", &Attrs::new().add("dev", t));
        }
        if let Some(m) = &self.model {
            out.empty("model", &Attrs::new().add("type", m));
        }
        if let Some(l) = &self.link_state {
            out.empty("link", &Attrs::new().add("state", l));
        }
        if let Some(m) = self.mtu {
            out.empty("mtu", &Attrs::new().add("size", m));
        }
        self.info.write(out, true);
        out.close("interface");
    }
}

/// Validates a MAC address and lower-cases it.
pub fn normalize_mac(m: &str) -> Result<String, XmlError> {
    let parts: Vec<&str> = m.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(XmlError::invalid(
            "domain/devices/interface/mac/@address",
            m,
        ));
    }
    Ok(parts
        .iter()
        .map(|p| format!("{:02x}", u8::from_str_radix(p, 16).unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(":"))
}

/// A random MAC with libvirt's 52:54:00 prefix.
pub fn random_mac() -> String {
    let b = crate::Uuid::random().0;
    format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn disk_rt(xml: &str) -> String {
        let d = Disk::parse(&parse_document(xml).unwrap()).unwrap();
        let mut o = Out::new();
        d.write(&mut o);
        o.finish()
    }

    #[test]
    fn disk_full() {
        let x = "<disk type='file' device='disk'>\n  <driver name='qemu' type='qcow2' cache='none' io='native'/>\n  <source file='/var/lib/a.qcow2'/>\n  <target dev='vda' bus='virtio'/>\n  <boot order='1'/>\n  <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>\n</disk>\n";
        assert_eq!(disk_rt(x), x);
        let b = "<disk type='block' device='cdrom'>\n  <source dev='/dev/sr0'/>\n  <target dev='hdb' bus='ide'/>\n  <readonly/>\n</disk>\n";
        assert_eq!(disk_rt(b), b);
    }

    #[test]
    fn disk_defaults() {
        let out = disk_rt("<disk type='file'><source file='/x'/><target dev='hda'/></disk>");
        assert!(out.contains("device='disk'"));
        assert!(out.contains("<target dev='hda' bus='ide'/>"));
        let e = parse_document("<disk type='file'><source file='/x'/></disk>").unwrap();
        assert_eq!(
            Disk::parse(&e),
            Err(XmlError::MissingElement(
                "domain/devices/disk/target".into()
            ))
        );
        let e = parse_document("<disk type='file'><target dev='vda'/><frob/></disk>").unwrap();
        assert!(Disk::parse(&e).is_ok());
    }

    #[test]
    fn interface_round_trip() {
        let x = "<interface type='bridge'>\n  <mac address='52:54:00:12:34:56'/>\n  <source bridge='br0'/>\n  <target dev='vnet0'/>\n  <model type='virtio'/>\n</interface>\n";
        let i = Interface::parse(&parse_document(x).unwrap()).unwrap();
        let mut o = Out::new();
        i.write(&mut o);
        assert_eq!(o.finish(), x);
        let u = Interface::parse(&parse_document("<interface type='user'/>").unwrap()).unwrap();
        assert!(u.mac.starts_with("52:54:00:"));
        assert!(normalize_mac("zz:00:00:00:00:00").is_err());
    }

    #[test]
    fn controller_round_trip() {
        let x = "<controller type='usb' index='0' model='piix3-uhci'>\n  <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>\n</controller>\n";
        let c = Controller::parse(&parse_document(x).unwrap(), 0).unwrap();
        let mut o = Out::new();
        c.write(&mut o);
        assert_eq!(o.finish(), x);
    }
}
