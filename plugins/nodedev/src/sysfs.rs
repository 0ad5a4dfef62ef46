//! Reading one device out of sysfs (and udev's database when udevd keeps one).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Where the host's device information lives (the real paths, or a copy in tests).
#[derive(Debug, Clone)]
pub struct Roots {
    /// sysfs (`/sys`).
    pub sys: PathBuf,
    /// udev's database (`/run/udev/data`).
    pub udev: PathBuf,
    /// The PCI id database (`/usr/share/misc/pci.ids`).
    pub pci_ids: PathBuf,
}

impl Roots {
    /// The host's own paths.
    pub fn host() -> Roots {
        let ids = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("/usr/share/misc/pci.ids"));
        Roots {
            sys: PathBuf::from("/sys"),
            udev: PathBuf::from("/run/udev/data"),
            pci_ids: ids,
        }
    }
}

/// A sysfs device directory with its uevent and udev properties.
#[derive(Debug, Clone)]
pub struct SysDev {
    /// Canonical path (`/sys/devices/...`).
    pub path: PathBuf,
    /// The subsystem's name (`pci`, `net`, `block`, ...).
    pub subsystem: String,
    /// The last path component.
    pub sysname: String,
    /// `uevent` variables, then udev properties on top.
    pub props: HashMap<String, String>,
    /// udev's symlinks (`S:` lines), relative to `/dev`.
    pub links: Vec<String>,
}

impl SysDev {
    /// Reads the device at `path` (a canonical sysfs path); `None` when it has no
    /// subsystem (not a device).
    pub fn read(roots: &Roots, path: &Path) -> Option<SysDev> {
        let subsystem = fs::read_link(path.join("subsystem")).ok()?;
        let subsystem = subsystem.file_name()?.to_string_lossy().into_owned();
        let sysname = path.file_name()?.to_string_lossy().into_owned();
        let mut props = HashMap::new();
        if let Ok(text) = fs::read_to_string(path.join("uevent")) {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    props.insert(k.to_string(), v.to_string());
                }
            }
        }
        let mut dev = SysDev {
            path: path.to_path_buf(),
            subsystem,
            sysname,
            props,
            links: Vec::new(),
        };
        dev.add_udev(roots);
        Some(dev)
    }

    /// udev's database entry name for this device.
    fn udev_id(&self) -> String {
        if let (Some(maj), Some(min)) = (self.prop("MAJOR"), self.prop("MINOR")) {
            let t = if self.subsystem == "block" { 'b' } else { 'c' };
            return format!("{t}{maj}:{min}");
        }
        if let Some(i) = self.prop("IFINDEX") {
            return format!("n{i}");
        }
        format!("+{}:{}", self.subsystem, self.sysname)
    }

    fn add_udev(&mut self, roots: &Roots) {
        let Ok(text) = fs::read_to_string(roots.udev.join(self.udev_id())) else {
            return;
        };
        for line in text.lines() {
            if let Some(p) = line.strip_prefix("E:") {
                if let Some((k, v)) = p.split_once('=') {
                    self.props.insert(k.to_string(), v.to_string());
                }
            } else if let Some(l) = line.strip_prefix("S:") {
                self.links.push(l.to_string());
            }
        }
    }

    /// A uevent or udev property.
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(String::as_str)
    }

    /// A sysfs attribute (relative path), trimmed; `None` when unreadable or empty.
    pub fn attr(&self, name: &str) -> Option<String> {
        let s = fs::read_to_string(self.path.join(name)).ok()?;
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    }

    /// The name of the link `name` points to (`driver`, `iommu_group`, ...).
    pub fn link_name(&self, name: &str) -> Option<String> {
        let l = fs::read_link(self.path.join(name)).ok()?;
        Some(l.file_name()?.to_string_lossy().into_owned())
    }

    /// `/dev/...` of the device node, if it has one.
    pub fn devnode(&self) -> Option<String> {
        self.prop("DEVNAME").map(|n| format!("/dev/{n}"))
    }
}

/// Replaces what libvirt does not keep in a device name (anything but ASCII letters
/// and digits) by `_`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Escapes text for an XML element or attribute.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\'' => o.push_str("&apos;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// Parses a number written in decimal or `0x` hexadecimal.
pub fn num(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(sanitize("0000:00:03.0"), "0000_00_03_0");
        assert_eq!(sanitize("1-1:1.0"), "1_1_1_0");
        assert_eq!(esc("AT&T <x>"), "AT&amp;T &lt;x&gt;");
        assert_eq!(num("0x1af4"), Some(0x1af4));
        assert_eq!(num("12"), Some(12));
        assert_eq!(num("x"), None);
    }

    #[test]
    fn reads_a_device_with_udev_properties() {
        let dir = std::env::temp_dir().join(format!("rvirt-nodedev-sysdev-{}", std::process::id()));
        let dev = dir.join("sys/devices/virtual/net/t0");
        fs::create_dir_all(&dev).unwrap();
        fs::create_dir_all(dir.join("sys/class/net")).unwrap();
        fs::create_dir_all(dir.join("udev")).unwrap();
        std::os::unix::fs::symlink(dir.join("sys/class/net"), dev.join("subsystem")).unwrap();
        fs::write(dev.join("uevent"), "INTERFACE=t0\nIFINDEX=7\n").unwrap();
        fs::write(dev.join("address"), "02:00:00:00:00:01\n").unwrap();
        fs::write(dir.join("udev/n7"), "S:net/t0\nE:ID_NET_DRIVER=veth\n").unwrap();
        let roots = Roots {
            sys: dir.join("sys"),
            udev: dir.join("udev"),
            pci_ids: dir.join("none"),
        };
        let d = SysDev::read(&roots, &dev).unwrap();
        assert_eq!((d.subsystem.as_str(), d.sysname.as_str()), ("net", "t0"));
        assert_eq!(d.prop("ID_NET_DRIVER"), Some("veth"));
        assert_eq!(d.links, ["net/t0"]);
        assert_eq!(d.attr("address").as_deref(), Some("02:00:00:00:00:01"));
        assert_eq!(d.attr("missing"), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
