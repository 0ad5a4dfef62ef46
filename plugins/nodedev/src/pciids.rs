//! The PCI id database (`pci.ids`): vendor and product names where udev's hwdb
//! properties are not available.

use std::collections::HashMap;
use std::path::Path;

/// Vendor and device names by id.
#[derive(Debug, Default)]
pub struct PciIds {
    vendors: HashMap<u16, String>,
    devices: HashMap<(u16, u16), String>,
}

impl PciIds {
    /// Loads the database; an unreadable file gives an empty one.
    pub fn load(path: &Path) -> PciIds {
        std::fs::read(path)
            .map(|b| PciIds::parse(&String::from_utf8_lossy(&b)))
            .unwrap_or_default()
    }

    /// Parses the text of a `pci.ids` file (vendors, their devices; subsystems and the
    /// class section are not needed).
    pub fn parse(text: &str) -> PciIds {
        let mut ids = PciIds::default();
        let mut vendor = None;
        for line in text.lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            if line.starts_with("C ") {
                break;
            }
            if let Some(rest) = line.strip_prefix('\t') {
                if rest.starts_with('\t') {
                    continue;
                }
                if let (Some(v), Some((id, name))) = (vendor, split(rest)) {
                    ids.devices.insert((v, id), name);
                }
            } else if let Some((id, name)) = split(line) {
                vendor = Some(id);
                ids.vendors.insert(id, name);
            }
        }
        ids
    }

    /// The vendor's name.
    pub fn vendor(&self, v: u16) -> Option<&str> {
        self.vendors.get(&v).map(String::as_str)
    }

    /// The device's name.
    pub fn device(&self, v: u16, d: u16) -> Option<&str> {
        self.devices.get(&(v, d)).map(String::as_str)
    }
}

fn split(s: &str) -> Option<(u16, String)> {
    let (id, name) = s.split_once("  ")?;
    Some((u16::from_str_radix(id, 16).ok()?, name.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_and_devices() {
        let ids = PciIds::parse(
            "# c\n1af4  Red Hat, Inc.\n\t1041  Virtio 1.0 network device\n\t\t1af4 1100  QEMU\n\
             8086  Intel Corporation\nC 00  Unclassified device\n\t00  Non-VGA\n",
        );
        assert_eq!(ids.vendor(0x1af4), Some("Red Hat, Inc."));
        assert_eq!(
            ids.device(0x1af4, 0x1041),
            Some("Virtio 1.0 network device")
        );
        assert_eq!(ids.device(0x8086, 0x0d57), None);
        assert_eq!(ids.vendor(0x8086), Some("Intel Corporation"));
        assert_eq!(ids.vendor(0x0000), None);
    }
}
