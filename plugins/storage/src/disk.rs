//! `disk` pools: a partition table on a block device, its partitions as volumes, made
//! and read with `parted`.
//!
//! Build writes the label (`parted mklabel`; libvirt's `dos` is parted's `msdos`, and a
//! pool without a format gets `dos`). Start refuses a device without a partition table.
//! A refresh lists the partitions (`parted -m unit B print free`): each is a block
//! volume named after the device and its number (`sdb1`; `loop0p1` where the device's
//! name ends in a digit or `part_separator='yes'`), with its extent on the disk; the free
//! regions are the pool's free extents. On `dos` labels, as libvirt counts them, the
//! first track is not usable and the disk ends at its last whole cylinder (parted's BIOS
//! geometry); new partitions are primary, start where a free extent starts and end on a
//! cylinder boundary.

use std::path::Path;

use rvirt_xml::storage::{StoragePoolDef, StorageVolDef};

use crate::backend::Backend;
use crate::error::{check_flags, SResult, StorageError};
use crate::pool::BUILD_OVERWRITE;
use crate::state::Pool;

/// The `disk` backend.
pub struct Disk;

impl Backend for Disk {
    fn build(&self, def: &StoragePoolDef, flags: u32) -> SResult<()> {
        build(def, flags)
    }
    fn start(&self, def: &StoragePoolDef, _resume: bool) -> SResult<()> {
        check_built(def)
    }
    fn refresh(&self, p: &mut Pool) -> SResult<()> {
        refresh(p)
    }
    fn delete(&self, _def: &StoragePoolDef, _flags: u32) -> SResult<()> {
        Err(StorageError::NotSupported(
            "deleting a disk pool's partition table".into(),
        ))
    }
    fn create_vol(&self, p: &mut Pool, v: &StorageVolDef, _flags: u32) -> SResult<()> {
        create_vol(p, v)
    }
    fn delete_vol(&self, p: &mut Pool, name: &str, flags: u32) -> SResult<()> {
        check_flags(flags, 0, "virStorageBackendDiskDeleteVol")?;
        delete_vol(p, name)
    }
}

const PARTED: &str = "parted";

/// The pool's device.
fn device(def: &StoragePoolDef) -> SResult<&str> {
    def.source
        .devices
        .first()
        .map(|d| d.path.as_str())
        .ok_or_else(|| StorageError::Internal("missing source device".into()))
}

/// Runs parted with `args`; its output, or libvirt's error for a failed command (with
/// parted's stderr as it is, as libvirt reports it).
fn parted(args: &[&str]) -> SResult<String> {
    crate::cmd::run_with(PARTED, args, true)
}

/// One partition: number, extent `[start, end)`, file system parted found.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    num: u32,
    start: u64,
    end: u64,
    fs: String,
}

/// A device's partition table as parted reads it.
#[derive(Debug, Clone, PartialEq)]
struct Table {
    /// parted's label name (`msdos`, `gpt`, ...; `loop` for none).
    label: String,
    parts: Vec<Part>,
    /// Free regions `[start, end)`.
    free: Vec<(u64, u64)>,
}

fn bytes(field: &str) -> Option<u64> {
    field.strip_suffix('B')?.parse().ok()
}

/// Parses `parted -s -m DEV unit B print free`.
fn parse_table(text: &str) -> Option<Table> {
    let mut lines = text.lines().map(|l| l.trim_end_matches(';'));
    lines.find(|l| *l == "BYT")?;
    let label = lines.next()?.split(':').nth(5)?.to_string();
    let mut t = Table {
        label,
        parts: Vec::new(),
        free: Vec::new(),
    };
    for l in lines {
        let f: Vec<&str> = l.split(':').collect();
        let (Some(start), Some(end)) = (
            f.get(1).and_then(|x| bytes(x)),
            f.get(2).and_then(|x| bytes(x)),
        ) else {
            continue;
        };
        if f.get(4) == Some(&"free") {
            t.free.push((start, end + 1));
        } else if let Ok(num) = f[0].parse() {
            let fs = f.get(4).unwrap_or(&"").to_string();
            t.parts.push(Part {
                num,
                start,
                end: end + 1,
                fs,
            });
        }
    }
    Some(t)
}

/// The device's table, `None` when it has none parted recognises.
fn read_table(dev: &str) -> SResult<Option<Table>> {
    match parted(&["-s", "-m", dev, "unit", "B", "print", "free"]) {
        Ok(out) => Ok(parse_table(&out).filter(|t| t.label != "loop" && t.label != "unknown")),
        Err(e) if e.to_string().contains("unrecognised disk label") => Ok(None),
        Err(e) => Err(e),
    }
}

/// parted's BIOS geometry of `dev`: bytes per track and per cylinder, and cylinders.
fn geometry(dev: &str) -> SResult<(u64, u64, u64)> {
    let out = parted(&["-s", dev, "unit", "chs", "print"])?;
    let chs = out
        .lines()
        .find_map(|l| l.strip_prefix("BIOS cylinder,head,sector geometry: "))
        .and_then(|l| l.split('.').next())
        .map(|l| {
            l.split(',')
                .filter_map(|x| x.trim().parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .filter(|v| v.len() == 3)
        .ok_or_else(|| StorageError::Internal(format!("cannot read the geometry of '{dev}'")))?;
    Ok((chs[2] * 512, chs[1] * chs[2] * 512, chs[0]))
}

/// libvirt's name of a parted label.
fn label_format(label: &str) -> &str {
    match label {
        "msdos" => "dos",
        l => l,
    }
}

/// The label build writes: the pool's format, `dos` when it has none.
fn wanted_label(def: &StoragePoolDef) -> &str {
    match def.source.format.as_deref() {
        None | Some("unknown") | Some("dos") => "msdos",
        Some(f) => f,
    }
}

/// Build: refuses a device that has a partition table unless told to overwrite, then
/// writes the label.
fn build(def: &StoragePoolDef, flags: u32) -> SResult<()> {
    crate::pool::check_build_flags(flags, "virStorageBackendDiskBuildPool")?;
    let dev = device(def)?;
    if flags & BUILD_OVERWRITE == 0 {
        if let Some(t) = read_table(dev)? {
            return Err(StorageError::Built(format!(
                "Device '{dev}' already formatted using '{}'",
                label_format(&t.label)
            )));
        }
    }
    parted(&[dev, "mklabel", "--script", wanted_label(def)])?;
    Ok(())
}

/// Start: the device must hold a partition table.
fn check_built(def: &StoragePoolDef) -> SResult<()> {
    let dev = device(def)?;
    if read_table(dev)?.is_none() {
        return Err(StorageError::ProbeFailed(format!(
            "Device '{dev}' is unrecognized, requires build"
        )));
    }
    Ok(())
}

/// The name of partition `num` of `dev`.
fn part_name(def: &StoragePoolDef, num: u32) -> SResult<String> {
    let dev = device(def)?;
    let base = Path::new(dev)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(dev);
    let sep = match def.source.devices[0].part_separator {
        Some(true) => "p",
        Some(false) => "",
        None if base.ends_with(|c: char| c.is_ascii_digit()) => "p",
        None => "",
    };
    Ok(format!("{base}{sep}{num}"))
}

/// The usable free extents: on `dos` labels not the first track, nor past the last
/// whole cylinder.
fn usable_free(dev: &str, t: &Table) -> SResult<Vec<(u64, u64)>> {
    if t.label != "msdos" {
        return Ok(t.free.clone());
    }
    let (track, cyl, cyls) = geometry(dev)?;
    let last = cyl * cyls;
    Ok(t.free
        .iter()
        .map(|&(s, e)| (s.max(track), e.min(last)))
        .filter(|(s, e)| s < e)
        .collect())
}

/// A partition as a block volume.
fn part_vol(def: &StoragePoolDef, dev: &str, p: &Part) -> SResult<StorageVolDef> {
    let name = part_name(def, p.num)?;
    let dir = Path::new(dev).parent().unwrap_or(Path::new("/dev"));
    let path = dir.join(&name).display().to_string();
    let size = p.end - p.start;
    let format = match p.fs.as_str() {
        "" => "none",
        "fat16" => "fat16",
        "fat32" => "fat32",
        f if f.starts_with("linux-swap") => "linux-swap",
        _ => "linux",
    };
    let mut v = StorageVolDef {
        name,
        key: Some(path.clone()),
        vol_type: Some("block".into()),
        capacity: size,
        allocation: size,
        physical: Some(size),
        target_path: Some(path.clone()),
        format: Some(format.into()),
        source_extents: Some((dev.to_string(), vec![(p.start, p.end)])),
        ..StorageVolDef::default()
    };
    if let Ok(md) = std::fs::metadata(&path) {
        v.permissions = Some(crate::probe::permissions(&md));
        v.timestamps = Some(crate::probe::timestamps(&md));
    }
    Ok(v)
}

/// Refresh: partitions, free extents and sizes from the device.
fn refresh(p: &mut Pool) -> SResult<()> {
    let dev = device(&p.def)?.to_string();
    let t = read_table(&dev)?.ok_or_else(|| {
        StorageError::ProbeFailed(format!("Device '{dev}' is unrecognized, requires build"))
    })?;
    let free = usable_free(&dev, &t)?;
    let mut vols = Vec::new();
    for part in &t.parts {
        vols.push(part_vol(&p.def, &dev, part)?);
    }
    let end = t
        .parts
        .iter()
        .map(|x| x.end)
        .chain(free.iter().map(|f| f.1))
        .max()
        .unwrap_or(0);
    p.def.allocation = t.parts.iter().map(|x| x.end - x.start).sum();
    p.def.available = free.iter().map(|(s, e)| e - s).sum();
    p.def.capacity = end;
    if matches!(p.def.source.format.as_deref(), None | Some("unknown")) {
        p.def.source.format = Some(label_format(&t.label).to_string());
    }
    p.def.source.devices[0].free_extents = free;
    p.vols = vols;
    Ok(())
}

/// A new partition for `v`, as libvirt makes it: on `dos` labels a primary partition
/// of the volume's format, its capacity rounded up to whole cylinders, at most four; on
/// other labels (`gpt`, ...) a plain `primary` of exactly the capacity, the format not
/// passed on.
fn create_vol(p: &mut Pool, v: &StorageVolDef) -> SResult<()> {
    let dev = device(&p.def)?.to_string();
    let t = read_table(&dev)?.ok_or_else(|| {
        StorageError::ProbeFailed(format!("Device '{dev}' is unrecognized, requires build"))
    })?;
    let expected = part_name(&p.def, t.parts.len() as u32 + 1)?;
    if v.name != expected {
        return Err(StorageError::InvalidArg(format!(
            "invalid partition name '{}', expected '{expected}'",
            v.name
        )));
    }
    let dos = t.label == "msdos";
    if dos {
        check_dos_partition(v, &t)?;
    }
    // Cylinders are a dos label's unit; other labels take the bytes asked for.
    let unit = if dos { geometry(&dev)?.1 } else { 1 };
    let (start, end) = usable_free(&dev, &t)?
        .into_iter()
        .find_map(|(s, e)| {
            let end = (s + v.capacity).div_ceil(unit) * unit;
            (end <= e).then_some((s, end))
        })
        .ok_or_else(|| StorageError::Internal("no large enough free extent".into()))?;
    let (s, e) = (format!("{start}B"), format!("{}B", end - 1));
    // libvirt's command line: on dos the `ext2` hint gives the partition the Linux type.
    let kind = if dos { "primary ext2" } else { "primary" };
    parted(&[&dev, "mkpart", "--script", kind, &s, &e])?;
    wait_for(&p.def, t.parts.len() as u32 + 1)?;
    refresh(p)
}

/// What a dos label takes: Linux partitions, four primaries.
fn check_dos_partition(v: &StorageVolDef, t: &Table) -> SResult<()> {
    if !matches!(v.format.as_deref(), None | Some("none") | Some("linux")) {
        return Err(StorageError::NotSupported(format!(
            "partitions of format '{}'",
            v.format.as_deref().unwrap_or_default()
        )));
    }
    if t.parts.len() >= 4 {
        return Err(StorageError::Internal(
            "no extended partition found and no primary partition available".into(),
        ));
    }
    Ok(())
}

/// Waits (up to 5 s) for the kernel's node of partition `num`.
fn wait_for(def: &StoragePoolDef, num: u32) -> SResult<()> {
    let dev = device(def)?;
    let dir = Path::new(dev).parent().unwrap_or(Path::new("/dev"));
    let node = dir.join(part_name(def, num)?);
    for _ in 0..100 {
        if node.exists() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(StorageError::Internal(format!(
        "partition '{}' did not appear",
        node.display()
    )))
}

/// Removes the partition volume `name` (`parted DEV rm N`). Like libvirt 9.0, the
/// number is whatever follows the device's name in the volume's, separator included:
/// for a device whose partitions are named with `p` (`loop0p1`, `nvme0n1p1`), parted is
/// asked for partition `p1` and refuses, and the error is libvirt's.
fn delete_vol(p: &mut Pool, name: &str) -> SResult<()> {
    let dev = device(&p.def)?.to_string();
    let base = Path::new(&dev)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(&dev);
    let num = name.strip_prefix(base).unwrap_or_default();
    if num.is_empty() {
        return Err(StorageError::Internal(format!(
            "cannot parse partition number from target '{name}'"
        )));
    }
    let result = parted(&[&dev, "rm", "--script", num]);
    refresh(p)?;
    result.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parted_output_gives_partitions_and_free_regions() {
        let out = "BYT;\n/dev/loop0:104857600B:loopback:512:512:msdos:Loopback device:;\n\
                   1:1024B:10705919B:10704896B:::;\n\
                   2:10705920B:18278399B:7572480B:ext4::;\n\
                   1:18278400B:104857599B:86579200B:free;\n";
        let t = parse_table(out).unwrap();
        assert_eq!(t.label, "msdos");
        assert_eq!(
            t.parts,
            [
                Part {
                    num: 1,
                    start: 1024,
                    end: 10705920,
                    fs: String::new()
                },
                Part {
                    num: 2,
                    start: 10705920,
                    end: 18278400,
                    fs: "ext4".into()
                },
            ]
        );
        assert_eq!(t.free, [(18278400, 104857600)]);
        assert_eq!(label_format("msdos"), "dos");
    }

    /// A running disk pool's status file (free extents included) reads back.
    #[test]
    fn status_with_free_extents_parses() {
        let xml = "<pool type='disk'><name>d</name><source><device path='/dev/loop0'>\
                   <freeExtent start='1024' end='2048'/></device><format type='dos'/></source>\
                   <target><path>/dev</path></target></pool>";
        let def = rvirt_xml::storage::StoragePoolDef::parse(xml).unwrap();
        assert_eq!(def.source.devices[0].path, "/dev/loop0");
    }
}
