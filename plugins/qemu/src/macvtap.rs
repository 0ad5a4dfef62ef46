//! macvtap devices for `direct` interfaces: `<interface type='direct'>` and `network`
//! interfaces whose port the network driver plugs as `direct`.
//!
//! As libvirt, the device is created on the parent in the interface's mode, named
//! `macvtapN` (the lowest free number) unless `<target dev>` names another, with the
//! guest's own MAC (a macvtap is the guest's end, unlike a tap); it is brought up and its
//! character device, `/dev/tapIFINDEX`, is opened for QEMU to inherit. The device
//! outlives QEMU, so it is deleted when the guest goes. Created with iproute2
//! (`ip link add link PARENT name NAME address MAC type macvtap mode MODE`).

use std::fs::File;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use rvirt_xml::domain::Interface;

use crate::error::{QResult, QemuError};
use crate::netplug::ip;

/// The modes libvirt knows for a macvtap.
const MODES: [&str; 4] = ["vepa", "private", "bridge", "passthrough"];

/// Names libvirt generates itself (a definition naming one gets a fresh one).
fn generated(name: &str) -> bool {
    ["macvtap", "macvlan", "vnet"]
        .iter()
        .any(|p| name.starts_with(p))
        || name.contains('%')
}

/// Creates the macvtap of `iface` on `parent` in `mode`, up, and opens its device:
/// answers the name and the descriptor QEMU inherits.
pub fn create(iface: &Interface, parent: &str, mode: &str) -> QResult<(String, File)> {
    if !MODES.contains(&mode) {
        return Err(QemuError::Internal("Unknown mode has been specified".into()).into());
    }
    let name = match &iface.target_dev {
        Some(t) if !generated(t) => {
            add(t, parent, &iface.mac, mode)?;
            t.clone()
        }
        _ => add_numbered(parent, &iface.mac, mode)?,
    };
    let opened = ip(&["link", "set", "dev", &name, "up"]).and_then(|_| open_device(&name));
    match opened {
        Ok(f) => Ok((name, f)),
        Err(e) => {
            remove(&name);
            Err(e)
        }
    }
}

/// `ip link add` of one macvtap, with libvirt's error text.
fn add(name: &str, parent: &str, mac: &str, mode: &str) -> QResult<()> {
    let args = [
        "link", "add", "link", parent, "name", name, "address", mac, "type", "macvtap", "mode",
        mode,
    ];
    ip(&args).map_err(|e| {
        let why = e.text().rsplit(": ").next().unwrap_or_default().to_string();
        QemuError::System(format!(
            "error creating macvtap interface {name}@{parent} ({mac}): {why}"
        ))
        .into()
    })
}

/// Adds `macvtapN` with the lowest N no device has (another start may take a number
/// between the look and the add: then the next one is tried).
fn add_numbered(parent: &str, mac: &str, mode: &str) -> QResult<String> {
    let mut n = 0;
    loop {
        let name = format!("macvtap{n}");
        n += 1;
        if exists(&name) {
            continue;
        }
        match add(&name, parent, mac, mode) {
            Ok(()) => return Ok(name),
            Err(_) if exists(&name) => continue,
            Err(e) => return Err(e),
        }
    }
}

fn exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn sysfs(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Opens the character device of macvtap `name`: `/dev/tapIFINDEX`, as libvirt does.
/// That node is global while interface indexes are per network namespace, so when it is
/// missing or is another namespace's device of the same index, a private node with the
/// device's own numbers (from sysfs) is made and opened instead.
fn open_device(name: &str) -> QResult<File> {
    let index = sysfs(&format!("/sys/class/net/{name}/ifindex"))
        .ok_or_else(|| QemuError::System(format!("Unable to get index for interface {name}")))?;
    let tap = format!("tap{index}");
    let path = format!("/dev/{tap}");
    let numbers = sysfs(&format!("/sys/class/net/{name}/macvtap/{tap}/dev"))
        .and_then(|d| {
            let (maj, min) = d.split_once(':')?;
            Some(makedev(maj.parse().ok()?, min.parse().ok()?))
        })
        .ok_or_else(|| QemuError::System(format!("cannot open macvtap tap device {path}")))?;
    let open = |p: &Path| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(p)
            .map_err(|e| QemuError::System(format!("cannot open macvtap tap device {path}: {e}")))
    };
    let meta = std::fs::metadata(&path).ok();
    if meta.is_some_and(|m| m.file_type().is_char_device() && m.rdev() == numbers) {
        return Ok(open(Path::new(&path))?);
    }
    let private = std::env::temp_dir().join(format!("rvirt-{tap}-{}", std::process::id()));
    let _ = std::fs::remove_file(&private);
    mknod(
        &private,
        SFlag::S_IFCHR,
        Mode::S_IRUSR | Mode::S_IWUSR,
        numbers,
    )
    .map_err(|e| QemuError::System(format!("cannot open macvtap tap device {path}: {e}")))?;
    let f = open(&private);
    let _ = std::fs::remove_file(&private);
    Ok(f?)
}

/// Deletes macvtap `name` (best effort: what fails is logged).
pub fn remove(name: &str) {
    if exists(name) {
        if let Err(e) = ip(&["link", "del", "dev", name]) {
            tracing::warn!("{}", e.text());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_not_kept() {
        assert!(generated("macvtap3") && generated("macvlan0") && generated("vnet1"));
        assert!(!generated("guest0"));
    }

    #[test]
    fn unknown_modes_are_refused_before_anything_is_made() {
        let x = "<interface type='direct'><source dev='p0' mode='bogus'/></interface>";
        let e = rvirt_xml::tree::parse_document(x).unwrap();
        let i = Interface::parse(&e).unwrap();
        let err = create(&i, "p0", "bogus").unwrap_err();
        assert_eq!(
            err.text(),
            "internal error: Unknown mode has been specified"
        );
    }
}
