//! The logical units of a SCSI host as volumes, as libvirt finds them for `scsi` and
//! `iscsi` pools.
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

use rvirt_xml::storage::{StoragePoolDef, StorageVolDef};

use crate::error::{SResult, StorageError};
use crate::state::Pool;

const SCSI_DEVICES: &str = "/sys/bus/scsi/devices";
const SCSI_ID: &str = "/lib/udev/scsi_id";

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
