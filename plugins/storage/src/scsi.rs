//! The `scsi` pool backend (a SCSI host adapter, `<adapter type='scsi_host'>` by name
//! or by its PCI parent and unique id), and the logical units of a SCSI host as
//! volumes, as libvirt finds them for `scsi` and `iscsi` pools. A `scsi` pool has
//! nothing to build or start; a refresh asks the host to rescan (`- - -` into
//! `/sys/class/scsi_host/hostN/scan`) and reads its units. `fc_host` adapters (vHBAs)
//! are not implemented.
//!
//! Every `/sys/bus/scsi/devices/H:B:T:L` of the host `H` that is a disk or a CD-ROM
//! (`type` 0 or 5) and has a block device is a `block` volume named `unit:B:T:L` (the
//! host number is the kernel's to choose, so it stays out of the name). Its path is the
//! link to the device in the pool's target directory when that is a stable one
//! (`/dev/disk/by-path`, `/dev/disk/by-id`, ...; looked for up to 10 s, as udev may
//! still be making it; a unit without one is left out), or `/dev/NAME` for a target of
//! `/dev`; any other target is refused. The key is the unit's serial as
//! `/lib/udev/scsi_id` reports it, the path where it reports none. Capacity, allocation
//! and physical size are the device's size; the pool's capacity and allocation are
//! the sums.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rvirt_xml::storage::{Adapter, StoragePoolDef, StorageVolDef};

use crate::backend::Backend;
use crate::error::{SResult, StorageError};
use crate::state::Pool;

const SCSI_DEVICES: &str = "/sys/bus/scsi/devices";
const SCSI_HOSTS: &str = "/sys/class/scsi_host";
const SCSI_ID: &str = "/lib/udev/scsi_id";

/// The `scsi` backend.
pub struct Scsi;

impl Backend for Scsi {
    /// There is nothing to build: libvirt's SCSI backend has no build step.
    fn build(&self, _def: &StoragePoolDef, _flags: u32) -> SResult<()> {
        Ok(())
    }
    fn start(&self, def: &StoragePoolDef, _resume: bool) -> SResult<()> {
        host_of(def, SCSI_HOSTS).map(|_| ())
    }
    fn refresh(&self, p: &mut Pool) -> SResult<()> {
        p.def.capacity = 0;
        p.def.allocation = 0;
        p.def.available = 0;
        let host = host_of(&p.def, SCSI_HOSTS)?;
        rescan(host)?;
        find_units(p, host)
    }
    fn delete(&self, _def: &StoragePoolDef, _flags: u32) -> SResult<()> {
        Err(crate::backend::no_pool_delete())
    }
}

/// The number of a host adapter named `hostN` (or `scsi_hostN`, `fc_hostN`).
fn host_number(name: &str) -> SResult<u32> {
    let num = ["scsi_host", "fc_host", "host"]
        .iter()
        .find_map(|p| name.strip_prefix(p));
    let invalid =
        |n: &str| StorageError::Internal(format!("Invalid adapter name '{n}' for SCSI pool"));
    let num = num.ok_or_else(|| invalid(name))?;
    num.parse().map_err(|_| invalid(num))
}

/// The host under `prefix` whose device path runs through PCI address `pci` and whose
/// `unique_id` is `id`.
fn host_by_pci(prefix: &str, pci: &str, id: i32) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(prefix)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names.into_iter().find(|n| {
        let host = Path::new(prefix).join(n);
        let through = std::fs::canonicalize(&host).is_ok_and(|p| p.to_string_lossy().contains(pci));
        let unique = std::fs::read_to_string(host.join("unique_id"))
            .ok()
            .and_then(|u| u.trim().parse::<i32>().ok());
        through && unique == Some(id)
    })
}

/// The host number of the pool's adapter (hosts are looked for under `prefix`).
fn host_of(def: &StoragePoolDef, prefix: &str) -> SResult<u32> {
    let name = match &def.source.adapter {
        Some(Adapter::ScsiHost {
            name: Some(name), ..
        }) => name.clone(),
        Some(Adapter::ScsiHost {
            name: None,
            parent: Some((id, a)),
        }) => {
            let pci = format!(
                "{:04x}:{:02x}:{:02x}.{:x}",
                a.domain, a.bus, a.slot, a.function
            );
            host_by_pci(prefix, &pci, *id).ok_or_else(|| {
                StorageError::Xml(rvirt_xml::storage::errs::xml(format!(
                    "Failed to find scsi_host using PCI '{pci}' and unique_id='{id}'"
                )))
            })?
        }
        _ => {
            return Err(StorageError::NotSupported(
                "SCSI pools on fc_host adapters".into(),
            ))
        }
    };
    host_number(&name)
}

/// Asks SCSI host `host` to scan all its channels, targets and units.
fn rescan(host: u32) -> SResult<()> {
    use std::io::Write;
    let path = format!("{SCSI_HOSTS}/host{host}/scan");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| {
            StorageError::io(format!("Could not open '{path}' to trigger host scan"), &e)
        })?;
    f.write_all(b"- - -")
        .map_err(|e| StorageError::io(format!("Write to '{path}' to trigger host scan failed"), &e))
}

/// Waits for udev to finish its work, where there is udev.
pub fn settle() {
    let udevadm = crate::cmd::program("udevadm");
    if Path::new(&udevadm).exists() {
        let _ = Command::new(udevadm).arg("settle").status();
    }
}

/// `H:B:T:L` of a `/sys/bus/scsi/devices` entry.
fn address(name: &str) -> Option<[u32; 4]> {
    let v: Vec<u32> = name
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    v.try_into().ok()
}

/// The unit's SCSI device type (0 disk, 5 CD-ROM, ...).
fn device_type(unit: &str, a: [u32; 4]) -> SResult<i32> {
    std::fs::read_to_string(format!("{SCSI_DEVICES}/{unit}/type"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| {
            StorageError::Internal(format!(
                "Failed to determine if {}:{}:{}:{} is a Direct-Access LUN",
                a[0], a[1], a[2], a[3]
            ))
        })
}

/// The unit's block device name (`sda`), from its `block/NAME` (or old `block:NAME`)
/// entry.
fn block_device(unit: &str) -> Option<String> {
    let dir = format!("{SCSI_DEVICES}/{unit}");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    let entry = names.iter().find(|n| n.starts_with("block"))?;
    if let Some(old) = entry.strip_prefix("block:") {
        return Some(old.to_string());
    }
    std::fs::read_dir(format!("{dir}/{entry}"))
        .ok()?
        .flatten()
        .find_map(|e| e.file_name().to_str().map(str::to_string))
}

/// libvirt's stable target directories: under `/dev/`, not `/dev` itself.
pub fn is_stable(path: &str) -> bool {
    path.starts_with("/dev/") && path != "/dev/"
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// The entry of the stable directory `dir` that leads to `dev`, waiting up to 10 s for
/// it (5 s for the directory).
fn stable_path(dir: &str, dev: &str) -> SResult<Option<String>> {
    for tries in 0.. {
        match std::fs::read_dir(dir) {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 50 => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(StorageError::io(format!("cannot read dir '{dir}'"), &e)),
        }
    }
    for _ in 0..100 {
        let found = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| same_file(p, Path::new(dev)));
        if let Some(p) = found {
            return Ok(Some(p.display().to_string()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(None)
}

/// The unit's serial (`scsi_id --replace-whitespace --whitelisted --device PATH`), or
/// `path` when there is none.
fn serial(path: &str) -> String {
    Command::new(SCSI_ID)
        .args(["--replace-whitespace", "--whitelisted", "--device", path])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| path.to_string())
}

/// The size of a block device (or file) at `path`.
fn device_size(path: &str) -> SResult<u64> {
    use std::io::{Seek, SeekFrom};
    std::fs::File::open(path)
        .and_then(|mut f| f.seek(SeekFrom::End(0)))
        .map_err(|e| StorageError::io(format!("cannot open volume '{path}'"), &e))
}

/// The volume of unit `a` on block device `dev`, `None` when the target directory has
/// no stable link to it.
fn unit_volume(def: &StoragePoolDef, a: [u32; 4], dev: &str) -> SResult<Option<StorageVolDef>> {
    let target = def.target_path.as_deref().unwrap_or_default();
    let devpath = format!("/dev/{dev}");
    let plain_dev = target == "/dev" || target == "/dev/";
    if !is_stable(target) && !plain_dev {
        return Err(StorageError::InvalidArg(format!(
            "unable to use target path '{target}' for dev '{dev}'"
        )));
    }
    let path = if plain_dev {
        devpath
    } else {
        match stable_path(target, &devpath)? {
            Some(p) => p,
            None => {
                tracing::debug!("No stable path found for '{devpath}' in '{target}'");
                return Ok(None);
            }
        }
    };
    let size = device_size(&path)?;
    let mut v = StorageVolDef {
        name: format!("unit:{}:{}:{}", a[1], a[2], a[3]),
        key: Some(serial(&path)),
        vol_type: Some("block".into()),
        capacity: size,
        allocation: size,
        physical: Some(size),
        target_path: Some(path.clone()),
        ..StorageVolDef::default()
    };
    if let Ok(md) = std::fs::metadata(&path) {
        v.permissions = Some(crate::probe::permissions(&md));
        v.timestamps = Some(crate::probe::timestamps(&md));
    }
    Ok(Some(v))
}

/// Reads the units of SCSI host `host` into the pool's volumes and figures.
pub fn find_units(p: &mut Pool, host: u32) -> SResult<()> {
    settle();
    let rd = std::fs::read_dir(SCSI_DEVICES)
        .map_err(|e| StorageError::io(format!("cannot open directory '{SCSI_DEVICES}'"), &e))?;
    let mut units: Vec<(String, [u32; 4])> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| address(&n).map(|a| (n, a)))
        .filter(|(_, a)| a[0] == host)
        .collect();
    units.sort_by_key(|(_, a)| *a);
    let mut vols = Vec::new();
    for (unit, a) in units {
        if !matches!(device_type(&unit, a)?, 0 | 5) {
            continue;
        }
        let Some(dev) = block_device(&unit) else {
            continue;
        };
        vols.extend(unit_volume(&p.def, a, &dev)?);
    }
    p.def.capacity = vols.iter().map(|v| v.capacity).sum();
    p.def.allocation = vols.iter().map(|v| v.allocation).sum();
    p.def.available = 0;
    p.vols = vols;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_addresses_and_stable_targets() {
        assert_eq!(address("2:0:1:3"), Some([2, 0, 1, 3]));
        assert_eq!(address("host2"), None);
        assert_eq!(address("target2:0:1"), None);
        assert_eq!(address("1:2:3"), None);
        assert!(is_stable("/dev/disk/by-path"));
        assert!(!is_stable("/dev") && !is_stable("/dev/") && !is_stable("/tmp/x"));
    }

    #[test]
    fn adapters_name_their_hosts() {
        assert_eq!(host_number("host5").unwrap(), 5);
        assert_eq!(host_number("scsi_host12").unwrap(), 12);
        assert_eq!(
            host_number("sda").unwrap_err().to_string(),
            "internal error: Invalid adapter name 'sda' for SCSI pool"
        );
        assert_eq!(
            host_number("hostx").unwrap_err().to_string(),
            "internal error: Invalid adapter name 'x' for SCSI pool"
        );
        // A fake sysfs: host3 under PCI 0000:00:04.0 with unique id 7.
        let dir = std::env::temp_dir().join(format!("rvirt-scsi-{}", std::process::id()));
        let dev = dir.join("devices/pci0000:00/0000:00:04.0/host3");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::write(dev.join("unique_id"), "7\n").unwrap();
        let hosts = dir.join("class");
        std::fs::create_dir_all(&hosts).unwrap();
        std::os::unix::fs::symlink(&dev, hosts.join("host3")).unwrap();
        let def = |id: u32| {
            StoragePoolDef::parse(&format!(
                "<pool type='scsi'><name>s</name><source><adapter type='scsi_host'>\
                 <parentaddr unique_id='{id}'><address domain='0x0000' bus='0x00' \
                 slot='0x04' function='0x0'/></parentaddr></adapter></source>\
                 <target><path>/dev</path></target></pool>"
            ))
            .unwrap()
        };
        let prefix = hosts.to_str().unwrap();
        assert_eq!(host_of(&def(7), prefix).unwrap(), 3);
        assert_eq!(
            host_of(&def(8), prefix).unwrap_err().to_string(),
            "XML error: Failed to find scsi_host using PCI '0000:00:04.0' and unique_id='8'"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_target_outside_dev_is_refused() {
        let def = StoragePoolDef::parse(
            "<pool type='scsi'><name>s</name><source><adapter type='scsi_host' name='host0'/>\
             </source><target><path>/var/x</path></target></pool>",
        )
        .unwrap();
        assert_eq!(
            unit_volume(&def, [0, 0, 0, 1], "sda")
                .unwrap_err()
                .to_string(),
            "invalid argument: unable to use target path '/var/x' for dev 'sda'"
        );
    }
}
