//! The host's devices as libvirt's node-device driver reports them: which sysfs devices
//! become node devices, their names, capabilities and parents.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use rvirt_xml::nodedev::NodeDeviceDef;

use crate::pciids::PciIds;
use crate::sysfs::{esc, sanitize, Roots, SysDev};

/// The root device every other one descends from.
pub const COMPUTER: &str = "computer";

/// One node device and where it lives in sysfs.
#[derive(Debug, Clone)]
pub struct Device {
    /// The definition (its parent filled in by [`link_parents`]).
    pub def: NodeDeviceDef,
    /// Canonical sysfs path; empty for `computer`.
    pub sys_path: PathBuf,
}

/// Where sysfs lists the devices of each class libvirt reports.
const SOURCES: &[&str] = &[
    "bus/pci/devices",
    "class/net",
    "class/block",
    "bus/scsi/devices",
    "bus/usb/devices",
    "class/drm",
    "class/scsi_generic",
    "bus/vdpa/devices",
    "bus/mdev/devices",
];

/// Every device of the host, `computer` first, the rest by name, parents linked.
pub fn scan(roots: &Roots, ids: &PciIds) -> Vec<Device> {
    let mut devs = vec![computer(roots)];
    let mut seen = std::collections::HashSet::new();
    for src in SOURCES {
        let Ok(rd) = std::fs::read_dir(roots.sys.join(src)) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(path) = std::fs::canonicalize(e.path()) else {
                continue;
            };
            if seen.insert(path.clone()) {
                devs.extend(device_at(roots, ids, &path));
            }
        }
    }
    devs[1..].sort_by(|a, b| a.def.name.cmp(&b.def.name));
    link_parents(&mut devs);
    devs
}

/// The node device at a canonical sysfs path, if libvirt reports that kind of device.
pub fn device_at(roots: &Roots, ids: &PciIds, path: &Path) -> Option<Device> {
    let dev = SysDev::read(roots, path)?;
    let (name, cap) = classify(&dev, ids)?;
    let mut x = format!(
        "<device><name>{}</name><path>{}</path>",
        esc(&name),
        esc(&path.to_string_lossy())
    );
    if let Some(n) = dev.devnode() {
        let _ = write!(x, "<devnode type='dev'>{}</devnode>", esc(&n));
    }
    for l in &dev.links {
        let _ = write!(x, "<devnode type='link'>/dev/{}</devnode>", esc(l));
    }
    if let Some(d) = dev.link_name("driver") {
        let _ = write!(x, "<driver><name>{}</name></driver>", esc(&d));
    }
    x.push_str(&cap);
    x.push_str("</device>");
    match NodeDeviceDef::parse_host(&x) {
        Ok(def) => Some(Device {
            def,
            sys_path: path.to_path_buf(),
        }),
        Err(e) => {
            tracing::warn!("node device {name}: {e}");
            None
        }
    }
}

/// Sets each device's parent: the nearest sysfs ancestor that is a node device, else
/// `computer`.
pub fn link_parents(devs: &mut [Device]) {
    let by_path: HashMap<PathBuf, String> = devs
        .iter()
        .filter(|d| !d.sys_path.as_os_str().is_empty())
        .map(|d| (d.sys_path.clone(), d.def.name.clone()))
        .collect();
    for d in devs.iter_mut() {
        if d.def.name == COMPUTER {
            continue;
        }
        let parent = d
            .sys_path
            .ancestors()
            .skip(1)
            .find_map(|a| by_path.get(a))
            .cloned();
        d.def.parent = Some(parent.unwrap_or_else(|| COMPUTER.to_string()));
    }
}

/// The device's name and `<capability>` element, or `None` for a kind libvirt skips.
fn classify(dev: &SysDev, ids: &PciIds) -> Option<(String, String)> {
    let devtype = dev.prop("DEVTYPE").unwrap_or("");
    let generic = || format!("{}_{}", dev.subsystem, sanitize(&dev.sysname));
    match (dev.subsystem.as_str(), devtype) {
        ("pci", _) => Some((crate::pci::name(dev), crate::pci::capability(dev, ids)?)),
        ("net", _) => net(dev),
        ("block", "disk") => crate::block::storage(dev),
        ("scsi", "scsi_host") => Some((generic(), crate::block::scsi_host(dev)?)),
        ("scsi", "scsi_target") => Some((generic(), crate::block::scsi_target(dev))),
        ("scsi", "scsi_device") => Some((generic(), crate::block::scsi(dev)?)),
        ("usb", "usb_device") => Some((generic(), usb_device(dev)?)),
        ("usb", "usb_interface") => Some((generic(), usb_interface(dev)?)),
        ("drm", "drm_minor") => Some((generic(), drm(dev)?)),
        ("scsi_generic", _) => Some((
            generic(),
            format!(
                "<capability type='scsi_generic'><char>{}</char></capability>",
                esc(&dev.devnode()?)
            ),
        )),
        ("vdpa", _) => Some((generic(), vdpa(dev)?)),
        ("mdev", _) => Some((generic(), mdev(dev)?)),
        _ => None,
    }
}

/// `computer`: the system's DMI data (all-zero UUID when the firmware gives none).
fn computer(roots: &Roots) -> Device {
    let dmi = roots.sys.join("class/dmi/id");
    let read = |f: &str| {
        std::fs::read_to_string(dmi.join(f))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let el = |tag: &str, f: &str| {
        read(f)
            .map(|v| format!("<{tag}>{}</{tag}>", esc(&v)))
            .unwrap_or_default()
    };
    let uuid = read("product_uuid")
        .filter(|u| rvirt_xml::Uuid::parse(u).is_ok())
        .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".to_string());
    let x = format!(
        "<device><name>{COMPUTER}</name><capability type='system'>{}<hardware>{}{}{}<uuid>{uuid}</uuid>\
         </hardware><firmware>{}{}{}</firmware></capability></device>",
        el("product", "product_name"),
        el("vendor", "sys_vendor"),
        el("version", "product_version"),
        el("serial", "product_serial"),
        el("vendor", "bios_vendor"),
        el("version", "bios_version"),
        el("release_date", "bios_date"),
    );
    let def = NodeDeviceDef::parse_host(&x).unwrap_or_else(|e| {
        tracing::warn!("computer: {e}");
        NodeDeviceDef::new(COMPUTER.to_string())
    });
    Device {
        def,
        sys_path: PathBuf::new(),
    }
}

/// `net`: name, address, link state and speed, features, and the link type.
fn net(dev: &SysDev) -> Option<(String, String)> {
    let iface = dev.prop("INTERFACE").unwrap_or(&dev.sysname).to_string();
    let mac = dev.attr("address");
    let name = match &mac {
        Some(m) => format!("net_{}_{}", sanitize(&iface), sanitize(m)),
        None => format!("net_{}", sanitize(&iface)),
    };
    let mut o = format!(
        "<capability type='net'><interface>{}</interface>",
        esc(&iface)
    );
    if let Some(m) = &mac {
        let _ = write!(o, "<address>{}</address>", esc(m));
    }
    let state = dev.attr("operstate").unwrap_or_else(|| "unknown".into());
    let speed = if state == "up" {
        dev.attr("speed")
            .and_then(|s| s.parse::<i64>().ok())
            .map(|s| s as u32)
    } else {
        None
    };
    match speed {
        Some(s) => {
            let _ = write!(o, "<link speed='{s}' state='{}'/>", esc(&state));
        }
        None => {
            let _ = write!(o, "<link state='{}'/>", esc(&state));
        }
    }
    for f in crate::ethtool::features(&iface) {
        let _ = write!(o, "<feature name='{f}'/>");
    }
    let kind = if dev.prop("DEVTYPE") == Some("wlan") {
        "80211"
    } else {
        "80203"
    };
    let _ = write!(o, "<capability type='{kind}'/></capability>");
    Some((name, o))
}

fn usb_device(dev: &SysDev) -> Option<String> {
    let dec = |a: &str| dev.attr(a).and_then(|v| v.parse::<u32>().ok());
    let hex = |a: &str| dev.attr(a).and_then(|v| u32::from_str_radix(&v, 16).ok());
    let (bus, devnum) = (dec("busnum")?, dec("devnum")?);
    let (vid, pid) = (hex("idVendor")?, hex("idProduct")?);
    let named = |tag: &str, id: u32, name: Option<String>| match name {
        Some(n) => format!("<{tag} id='0x{id:04x}'>{}</{tag}>", esc(&n)),
        None => format!("<{tag} id='0x{id:04x}'/>"),
    };
    let prop = |k: &str| dev.prop(k).map(str::to_string);
    let pname = prop("ID_MODEL_FROM_DATABASE").or_else(|| dev.attr("product"));
    let vname = prop("ID_VENDOR_FROM_DATABASE").or_else(|| dev.attr("manufacturer"));
    Some(format!(
        "<capability type='usb_device'><bus>{bus}</bus><device>{devnum}</device>{}{}</capability>",
        named("product", pid, pname),
        named("vendor", vid, vname)
    ))
}

fn usb_interface(dev: &SysDev) -> Option<String> {
    let hex = |a: &str| dev.attr(a).and_then(|v| u32::from_str_radix(&v, 16).ok());
    Some(format!(
        "<capability type='usb'><number>{}</number><class>{}</class><subclass>{}</subclass>\
         <protocol>{}</protocol></capability>",
        hex("bInterfaceNumber")?,
        hex("bInterfaceClass")?,
        hex("bInterfaceSubClass")?,
        hex("bInterfaceProtocol")?
    ))
}

/// `vdpa`: the vhost-vdpa character device bound to it.
fn vdpa(dev: &SysDev) -> Option<String> {
    let chardev = std::fs::read_dir(&dev.path)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("vhost-vdpa-"))?;
    Some(format!(
        "<capability type='vdpa'><chardev>/dev/{}</chardev></capability>",
        esc(&chardev)
    ))
}

/// `mdev`: a mediated device's type, UUID, parent's address and IOMMU group.
fn mdev(dev: &SysDev) -> Option<String> {
    let ty = dev.link_name("mdev_type")?;
    let parent = dev
        .path
        .parent()?
        .file_name()?
        .to_string_lossy()
        .into_owned();
    let mut o = format!(
        "<capability type='mdev'><type id='{}'/><uuid>{}</uuid><parent_addr>{}</parent_addr>",
        esc(&ty),
        esc(&dev.sysname),
        esc(&parent)
    );
    if let Some(g) = dev.link_name("iommu_group") {
        let _ = write!(o, "<iommuGroup number='{}'/>", esc(&g));
    }
    o.push_str("</capability>");
    Some(o)
}

fn drm(dev: &SysDev) -> Option<String> {
    let kind = if dev.sysname.starts_with("card") {
        "primary"
    } else if dev.sysname.starts_with("renderD") {
        "render"
    } else if dev.sysname.starts_with("controlD") {
        "control"
    } else {
        return None;
    };
    Some(format!(
        "<capability type='drm'><type>{kind}</type></capability>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A small sysfs: one PCI network card with its interface, and a loop disk.
    fn fake_sys(dir: &Path) -> Roots {
        let sys = dir.join("sys");
        let pci = sys.join("devices/pci0000:00/0000:00:03.0");
        let net = pci.join("virtio0/net/v0");
        let lo = sys.join("devices/virtual/block/loop0");
        for d in [
            &pci,
            &net,
            &lo,
            &sys.join("bus/pci/devices"),
            &sys.join("class/net"),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        fs::create_dir_all(sys.join("class/block")).unwrap();
        symlink(sys.join("bus/pci"), pci.join("subsystem")).unwrap();
        symlink(sys.join("class/net"), net.join("subsystem")).unwrap();
        symlink(sys.join("class/block"), lo.join("subsystem")).unwrap();
        symlink(&pci, sys.join("bus/pci/devices/0000:00:03.0")).unwrap();
        symlink(&net, sys.join("class/net/v0")).unwrap();
        symlink(&lo, sys.join("class/block/loop0")).unwrap();
        let put = |d: &Path, f: &str, v: &str| fs::write(d.join(f), v).unwrap();
        put(&pci, "uevent", "PCI_SLOT_NAME=0000:00:03.0\n");
        put(&pci, "vendor", "0x1af4\n");
        put(&pci, "device", "0x1041\n");
        put(&pci, "class", "0x020000\n");
        put(&pci, "numa_node", "0\n");
        put(&net, "uevent", "INTERFACE=v0\nIFINDEX=9\n");
        put(&net, "address", "52:54:00:00:00:01\n");
        put(&net, "operstate", "down\n");
        put(
            &lo,
            "uevent",
            "MAJOR=7\nMINOR=0\nDEVNAME=loop0\nDEVTYPE=disk\n",
        );
        let ty = pci.join("mdev_supported_types/i915-GVTg_V5_4");
        fs::create_dir_all(&ty).unwrap();
        put(&ty, "name", "GVTg_V5_4\n");
        put(&ty, "device_api", "vfio-pci\n");
        put(&ty, "available_instances", "2\n");
        let uuid = "4b20d080-1b54-4048-85b3-a6a62d165c01";
        let md = pci.join(uuid);
        fs::create_dir_all(&md).unwrap();
        fs::create_dir_all(sys.join("bus/mdev/devices")).unwrap();
        symlink(sys.join("bus/mdev"), md.join("subsystem")).unwrap();
        symlink(&ty, md.join("mdev_type")).unwrap();
        symlink(&md, sys.join("bus/mdev/devices").join(uuid)).unwrap();
        fs::write(
            dir.join("pci.ids"),
            "1af4  Red Hat, Inc.\n\t1041  Virtio network\n",
        )
        .unwrap();
        Roots {
            sys,
            udev: dir.join("udev"),
            pci_ids: dir.join("pci.ids"),
        }
    }

    #[test]
    fn names_parents_and_capabilities_from_sysfs() {
        let dir = std::env::temp_dir().join(format!("rvirt-nodedev-scan-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let roots = fake_sys(&dir);
        let devs = scan(&roots, &PciIds::load(&roots.pci_ids));
        let names: Vec<(&str, Option<&str>)> = devs
            .iter()
            .map(|d| (d.def.name.as_str(), d.def.parent.as_deref()))
            .collect();
        // The loop disk is skipped, as libvirt skips block devices of no known type.
        assert_eq!(
            names,
            [
                ("computer", None),
                (
                    "mdev_4b20d080_1b54_4048_85b3_a6a62d165c01",
                    Some("pci_0000_00_03_0")
                ),
                ("net_v0_52_54_00_00_00_01", Some("pci_0000_00_03_0")),
                ("pci_0000_00_03_0", Some("computer")),
            ]
        );
        let mdev = devs[1].def.to_xml();
        assert!(
            mdev.contains(
                "<type id='i915-GVTg_V5_4'/>\n    <uuid>4b20d080-1b54-4048-85b3-a6a62d165c01</uuid>\n    \
                 <parent_addr>0000:00:03.0</parent_addr>"
            ),
            "{mdev}"
        );
        let pci = devs[3].def.to_xml();
        assert!(
            pci.contains(
                "<capability type='mdev_types'>\n      <type id='i915-GVTg_V5_4'>\n        \
                 <name>GVTg_V5_4</name>\n        <deviceAPI>vfio-pci</deviceAPI>\n        \
                 <availableInstances>2</availableInstances>"
            ),
            "{pci}"
        );
        assert_eq!(devs[3].def.cap_names(), ["pci", "mdev_types"]);
        assert!(pci.contains("<class>0x020000</class>"), "{pci}");
        assert!(
            pci.contains("<product id='0x1041'>Virtio network</product>"),
            "{pci}"
        );
        assert!(
            pci.contains("<vendor id='0x1af4'>Red Hat, Inc.</vendor>"),
            "{pci}"
        );
        assert!(pci.contains("<numa node='0'/>"), "{pci}");
        let net = devs[2].def.to_xml();
        assert!(net.contains("<link state='down'/>"), "{net}");
        assert!(net.contains("<capability type='80203'/>"), "{net}");
        assert_eq!(devs[0].def.cap_names(), ["system"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn computer_from_dmi_and_a_disk_with_udev_data() {
        let dir = std::env::temp_dir().join(format!("rvirt-nodedev-dmi-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let roots = fake_sys(&dir);
        let dmi = roots.sys.join("class/dmi/id");
        fs::create_dir_all(&dmi).unwrap();
        for (f, v) in [
            ("product_name", "Standard PC (Q35 + ICH9, 2009)"),
            ("sys_vendor", "QEMU"),
            ("product_version", "pc-q35-7.2"),
            ("product_uuid", "4c4c4544-0000-1010-8000-b2c04f333333"),
            ("bios_vendor", "SeaBIOS"),
            ("bios_date", "04/01/2014"),
        ] {
            fs::write(dmi.join(f), format!("{v}\n")).unwrap();
        }
        assert_eq!(
            computer(&roots).def.to_xml(),
            "<device>\n  <name>computer</name>\n  <capability type='system'>\n    \
             <product>Standard PC (Q35 + ICH9, 2009)</product>\n    <hardware>\n      \
             <vendor>QEMU</vendor>\n      <version>pc-q35-7.2</version>\n      \
             <uuid>4c4c4544-0000-1010-8000-b2c04f333333</uuid>\n    </hardware>\n    \
             <firmware>\n      <vendor>SeaBIOS</vendor>\n      \
             <release_date>04/01/2014</release_date>\n    </firmware>\n  </capability>\n\
             </device>\n"
        );
        // The loop disk, typed by udev's database, becomes a node device with its links.
        fs::create_dir_all(&roots.udev).unwrap();
        fs::write(
            roots.udev.join("b7:0"),
            "S:disk/by-id/virtio-abc\nE:ID_TYPE=disk\nE:ID_SERIAL=abc\nE:ID_BUS=virtio\n",
        )
        .unwrap();
        let lo = fs::canonicalize(roots.sys.join("class/block/loop0")).unwrap();
        let d = device_at(&roots, &PciIds::default(), &lo).unwrap();
        assert_eq!(d.def.name, "block_loop0_abc");
        assert_eq!(d.def.devnode.as_deref(), Some("/dev/loop0"));
        assert_eq!(d.def.devlinks, ["/dev/disk/by-id/virtio-abc"]);
        let x = d.def.to_xml();
        assert!(
            x.contains("<bus>virtio</bus>\n    <drive_type>disk</drive_type>"),
            "{x}"
        );
        assert!(x.contains("<serial>abc</serial>"), "{x}");
        fs::remove_dir_all(&dir).unwrap();
    }

    fn sysdev(path: &Path, subsystem: &str) -> SysDev {
        SysDev {
            path: path.to_path_buf(),
            subsystem: subsystem.into(),
            sysname: path.file_name().unwrap().to_string_lossy().into_owned(),
            props: HashMap::new(),
            links: Vec::new(),
        }
    }

    #[test]
    fn usb_and_drm() {
        let dir = std::env::temp_dir().join(format!("rvirt-nodedev-usb-{}", std::process::id()));
        let dev = dir.join("1-2");
        let intf = dev.join("1-2:1.0");
        fs::create_dir_all(&intf).unwrap();
        let put = |d: &Path, f: &str, v: &str| fs::write(d.join(f), format!("{v}\n")).unwrap();
        for (f, v) in [
            ("busnum", "1"),
            ("devnum", "2"),
            ("idVendor", "0483"),
            ("idProduct", "5740"),
            ("manufacturer", "STMicroelectronics"),
        ] {
            put(&dev, f, v);
        }
        for (f, v) in [
            ("bInterfaceNumber", "00"),
            ("bInterfaceClass", "0a"),
            ("bInterfaceSubClass", "00"),
            ("bInterfaceProtocol", "01"),
        ] {
            put(&intf, f, v);
        }
        assert_eq!(
            usb_device(&sysdev(&dev, "usb")).unwrap(),
            "<capability type='usb_device'><bus>1</bus><device>2</device>\
             <product id='0x5740'/><vendor id='0x0483'>STMicroelectronics</vendor></capability>"
        );
        assert_eq!(
            usb_interface(&sysdev(&intf, "usb")).unwrap(),
            "<capability type='usb'><number>0</number><class>10</class><subclass>0</subclass>\
             <protocol>1</protocol></capability>"
        );
        let (name, _) = classify(
            &SysDev {
                props: [("DEVTYPE".to_string(), "usb_interface".to_string())].into(),
                ..sysdev(&intf, "usb")
            },
            &PciIds::default(),
        )
        .unwrap();
        assert_eq!(name, "usb_1_2_1_0");
        let render = sysdev(&dir.join("renderD128"), "drm");
        assert_eq!(
            drm(&render).unwrap(),
            "<capability type='drm'><type>render</type></capability>"
        );
        assert!(drm(&sysdev(&dir.join("version"), "drm")).is_none());
        // rvirt-xml takes each as a host's capability.
        let caps = [
            usb_device(&sysdev(&dev, "usb")).unwrap(),
            usb_interface(&sysdev(&intf, "usb")).unwrap(),
            drm(&render).unwrap(),
        ];
        for c in caps {
            let x = format!("<device><name>x</name><parent>computer</parent>{c}</device>");
            NodeDeviceDef::parse_host(&x).unwrap_or_else(|e| panic!("{c}: {e}"));
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
