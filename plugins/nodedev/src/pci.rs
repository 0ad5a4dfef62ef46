//! The `pci` capability of a PCI device, as libvirt's node-device driver reports it.

use std::fmt::Write;

use crate::pciids::PciIds;
use crate::sysfs::{esc, num, sanitize, SysDev};

/// The PCI Express capability's id in the capability list.
const CAP_EXP: u8 = 0x10;
/// Link speeds (GT/s) by the link registers' speed code.
const SPEEDS: [&str; 7] = ["", "2.5", "5", "8", "16", "32", "64"];

/// `<address .../>` of the PCI device named `slot` (`0000:00:03.0`).
fn address(slot: &str) -> Option<String> {
    let (dom, rest) = slot.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (dev, func) = rest.split_once('.')?;
    Some(format!(
        "<address domain='0x{dom}' bus='0x{bus}' slot='0x{dev}' function='0x{func}'/>"
    ))
}

/// The offset of capability `id` in a configuration space.
fn find_cap(cfg: &[u8], id: u8) -> Option<usize> {
    if cfg.len() < 0x40 || cfg[6] & 0x10 == 0 {
        return None;
    }
    let mut off = (cfg[0x34] & 0xfc) as usize;
    for _ in 0..48 {
        if off < 0x40 || off + 2 > cfg.len() {
            return None;
        }
        if cfg[off] == id {
            return Some(off);
        }
        off = (cfg[off + 1] & 0xfc) as usize;
    }
    None
}

fn word(cfg: &[u8], off: usize) -> Option<u32> {
    Some(u16::from_le_bytes([*cfg.get(off)?, *cfg.get(off + 1)?]) as u32)
}

fn dword(cfg: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(cfg.get(off..off + 4)?.try_into().ok()?))
}

/// `<pci-express>`: present for a device with the PCI Express capability or an extended
/// configuration space; its links when the device's port type has one.
fn pci_express(cfg: &[u8], out: &mut String) {
    let cap = find_cap(cfg, CAP_EXP);
    if cap.is_none() && cfg.len() <= 256 {
        return;
    }
    let link = cap.and_then(|c| {
        let port_type = (word(cfg, c + 2)? >> 4) & 0xf;
        // Root-complex integrated endpoints and event collectors have no link.
        if port_type == 9 || port_type == 10 {
            return None;
        }
        Some((dword(cfg, c + 0x0c)?, word(cfg, c + 0x12)?))
    });
    let Some((lcap, lsta)) = link else {
        out.push_str("<pci-express/>");
        return;
    };
    let speed = |code: u32| SPEEDS.get(code as usize).copied().unwrap_or("");
    let _ = write!(
        out,
        "<pci-express><link validity='cap' port='{}' speed='{}' width='{}'/>\
         <link validity='sta' speed='{}' width='{}'/></pci-express>",
        lcap >> 24,
        speed(lcap & 0xf),
        (lcap >> 4) & 0x3f,
        speed(lsta & 0xf),
        (lsta >> 4) & 0x3f,
    );
}

/// SR-IOV: the physical function of a virtual one, the virtual functions of a physical one.
fn sriov(dev: &SysDev, out: &mut String) {
    if let Some(a) = dev.link_name("physfn").as_deref().and_then(address) {
        let _ = write!(out, "<capability type='phys_function'>{a}</capability>");
    }
    let Some(total) = dev.attr("sriov_totalvfs").and_then(|t| num(&t)) else {
        return;
    };
    if total == 0 {
        return;
    }
    let _ = write!(out, "<capability type='virt_functions' maxCount='{total}'>");
    for i in 0..total {
        if let Some(a) = dev
            .link_name(&format!("virtfn{i}"))
            .as_deref()
            .and_then(address)
        {
            out.push_str(&a);
        }
    }
    out.push_str("</capability>");
}

/// The mediated device types the device offers (`mdev_supported_types`).
fn mdev_types(dev: &SysDev, out: &mut String) {
    let dir = dev.path.join("mdev_supported_types");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut types: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if types.is_empty() {
        return;
    }
    types.sort();
    out.push_str("<capability type='mdev_types'>");
    for t in types {
        let read = |f: &str| {
            std::fs::read_to_string(dir.join(&t).join(f))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let _ = write!(out, "<type id='{}'>", esc(&t));
        if let Some(n) = read("name").filter(|n| !n.is_empty()) {
            let _ = write!(out, "<name>{}</name>", esc(&n));
        }
        if let Some(api) = read("device_api") {
            let _ = write!(out, "<deviceAPI>{}</deviceAPI>", esc(&api));
        }
        let avail = read("available_instances").unwrap_or_else(|| "0".into());
        let _ = write!(
            out,
            "<availableInstances>{}</availableInstances></type>",
            esc(&avail)
        );
    }
    out.push_str("</capability>");
}

/// The IOMMU group and its members.
fn iommu_group(dev: &SysDev, out: &mut String) {
    let Some(group) = dev.link_name("iommu_group") else {
        return;
    };
    let _ = write!(out, "<iommuGroup number='{group}'>");
    let mut members: Vec<String> = std::fs::read_dir(dev.path.join("iommu_group/devices"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    members.sort();
    for m in members.iter().filter_map(|m| address(m)) {
        out.push_str(&m);
    }
    out.push_str("</iommuGroup>");
}

/// The `<capability type='pci'>` element; `None` when the slot name is not a PCI address.
pub fn capability(dev: &SysDev, ids: &PciIds) -> Option<String> {
    let slot = dev.prop("PCI_SLOT_NAME").unwrap_or(&dev.sysname);
    let (dom, rest) = slot.split_once(':')?;
    let (bus, rest) = rest.split_once(':')?;
    let (sl, func) = rest.split_once('.')?;
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let (dom, bus, sl, func) = (hex(dom)?, hex(bus)?, hex(sl)?, hex(func)?);
    let vendor = dev.attr("vendor").and_then(|v| num(&v)).unwrap_or(0) as u16;
    let product = dev.attr("device").and_then(|v| num(&v)).unwrap_or(0) as u16;
    let mut o = String::from("<capability type='pci'>");
    if let Some(class) = dev.attr("class").and_then(|c| num(&c)) {
        let _ = write!(o, "<class>0x{class:06x}</class>");
    }
    let _ = write!(
        o,
        "<domain>{dom}</domain><bus>{bus}</bus><slot>{sl}</slot><function>{func}</function>"
    );
    let vname = dev
        .prop("ID_VENDOR_FROM_DATABASE")
        .or_else(|| ids.vendor(vendor));
    let pname = dev
        .prop("ID_MODEL_FROM_DATABASE")
        .or_else(|| ids.device(vendor, product));
    let named = |tag: &str, id: u16, name: Option<&str>| match name {
        Some(n) => format!("<{tag} id='0x{id:04x}'>{}</{tag}>", esc(n)),
        None => format!("<{tag} id='0x{id:04x}'/>"),
    };
    o.push_str(&named("product", product, pname));
    o.push_str(&named("vendor", vendor, vname));
    sriov(dev, &mut o);
    mdev_types(dev, &mut o);
    iommu_group(dev, &mut o);
    if let Some(n) = dev.attr("numa_node").and_then(|n| n.parse::<i32>().ok()) {
        if n >= 0 {
            let _ = write!(o, "<numa node='{n}'/>");
        }
    }
    let cfg = std::fs::read(dev.path.join("config")).unwrap_or_default();
    pci_express(&cfg, &mut o);
    o.push_str("</capability>");
    Some(o)
}

/// libvirt's name of the PCI device: `pci_` and its address.
pub fn name(dev: &SysDev) -> String {
    format!("pci_{}", sanitize(&dev.sysname))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration space with a PCI Express capability at 0x40.
    fn cfg_with_express(port_type: u16) -> Vec<u8> {
        let mut c = vec![0u8; 256];
        c[6] = 0x10;
        c[0x34] = 0x40;
        c[0x40] = CAP_EXP;
        c[0x42..0x44].copy_from_slice(&((port_type << 4) | 2).to_le_bytes());
        // Link capabilities: port 3, width x4, 8 GT/s; status: x2 at 5 GT/s.
        let lcap: u32 = (3 << 24) | (4 << 4) | 3;
        c[0x4c..0x50].copy_from_slice(&lcap.to_le_bytes());
        c[0x52..0x54].copy_from_slice(&((2u16 << 4) | 2).to_le_bytes());
        c
    }

    #[test]
    fn express_links() {
        let mut o = String::new();
        pci_express(&cfg_with_express(0), &mut o);
        assert_eq!(
            o,
            "<pci-express><link validity='cap' port='3' speed='8' width='4'/>\
             <link validity='sta' speed='5' width='2'/></pci-express>"
        );
        o.clear();
        pci_express(&cfg_with_express(9), &mut o);
        assert_eq!(o, "<pci-express/>");
        o.clear();
        pci_express(&vec![0; 4096], &mut o);
        assert_eq!(o, "<pci-express/>");
        o.clear();
        pci_express(&[0; 256], &mut o);
        assert_eq!(o, "");
    }

    #[test]
    fn addresses() {
        assert_eq!(
            address("0000:00:1f.3").unwrap(),
            "<address domain='0x0000' bus='0x00' slot='0x1f' function='0x3'/>"
        );
        assert_eq!(address("bogus"), None);
    }
}
