//! The `logical` pool backend: an LVM volume group whose logical volumes are the
//! volumes, driven with LVM's tools as libvirt does. Build makes the physical volumes
//! and the group (`pvcreate`, `vgcreate`), start and destroy activate and deactivate it
//! (`vgchange -aly` / `-aln`), a refresh reads `vgs` and `lvs`, delete removes group
//! and physical volumes. New volumes are `lvcreate -L` (sparse ones, with an allocation
//! below the capacity, `--type snapshot --virtualsize`; with a backing store a snapshot
//! of that volume, `-s ORIGIN`), removed by `lvremove`. A snapshot's origin is its
//! backing store. Wipes work on the device, except of sparse volumes (snapshots), which
//! libvirt refuses; volumes are not resized (libvirt's backend has no resize).

use rvirt_xml::storage::{PoolDevice, PoolSource, StoragePoolDef, StorageVolDef};

use crate::backend::Backend;
use crate::cmd::{program, run};
use crate::error::{check_flags, SResult, StorageError};
use crate::pool::BUILD_OVERWRITE;
use crate::state::Pool;

/// The `logical` backend.
pub struct Logical;

impl Backend for Logical {
    fn build(&self, def: &StoragePoolDef, flags: u32) -> SResult<()> {
        build(def, flags)
    }
    fn start(&self, def: &StoragePoolDef, _resume: bool) -> SResult<()> {
        match_source(def)?;
        vgchange(def, "-aly")
    }
    fn stop(&self, def: &StoragePoolDef) -> SResult<()> {
        vgchange(def, "-aln")
    }
    fn refresh(&self, p: &mut Pool) -> SResult<()> {
        refresh(p)
    }
    fn find_sources(&self, _: &str, _spec: Option<&str>, _flags: u32) -> SResult<String> {
        find_sources()
    }
    fn delete(&self, def: &StoragePoolDef, flags: u32) -> SResult<()> {
        check_flags(flags, 0, "virStorageBackendLogicalDeletePool")?;
        tool("vgremove", &["-f", &vg_name(def)])?;
        for d in &def.source.devices {
            tool("pvremove", &[&d.path])?;
        }
        Ok(())
    }
    fn create_vol(&self, p: &mut Pool, v: &StorageVolDef, _flags: u32) -> SResult<()> {
        create_vol(&p.def, v)?;
        refresh(p)
    }
    fn delete_vol(&self, p: &mut Pool, name: &str, flags: u32) -> SResult<()> {
        check_flags(flags, 0, "virStorageBackendLogicalDeleteVol")?;
        let lv = lv_path(&p.def, name);
        // libvirt's order: remove, and only if that fails deactivate and remove again.
        if tool("lvremove", &["-f", &lv]).is_err() {
            tool("lvchange", &["-aln", &lv])?;
            tool("lvremove", &["-f", &lv])?;
        }
        refresh(p)
    }
    fn wipe_vol(&self, _def: &StoragePoolDef, v: &StorageVolDef, algorithm: u32) -> SResult<()> {
        let path = v.target_path.clone().unwrap_or_default();
        let attr = tool("lvs", &["--noheadings", "-o", "lv_attr", &path])?;
        if attr.trim().starts_with('s') {
            return Err(StorageError::NoSupport(format!(
                "logical volume '{path}' is sparse, volume wipe not supported"
            )));
        }
        crate::change::wipe_path(v, algorithm)
    }
}

/// A volume's device node: the pool's target directory (`/dev/VG`) and its name.
fn lv_path(def: &StoragePoolDef, name: &str) -> String {
    let dir = def
        .target_path
        .clone()
        .unwrap_or_else(|| format!("/dev/{}", vg_name(def)));
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// Source discovery as libvirt's: `vgscan` first (its failure only costs freshness),
/// then one source per volume group `pvs` names, with the physical volumes in `pvs`'s
/// order; physical volumes in no group are left out.
fn find_sources() -> SResult<String> {
    Ok(rvirt_xml::storage::sources_to_xml(
        "logical",
        &pool_sources()?,
    ))
}

/// The volume groups with their physical volumes, as `vgscan` and `pvs` find them.
fn pool_sources() -> SResult<Vec<PoolSource>> {
    if let Err(e) = tool("vgscan", &[]) {
        tracing::warn!("Failure when running vgscan to refresh physical volumes: {e}");
    }
    let pvs = tool("pvs", &["--noheadings", "-o", "pv_name,vg_name"])?;
    Ok(groups_of(&pvs))
}

/// libvirt's check before a start: the pool's group exists and, when the pool names
/// devices, at least one of them is among the group's physical volumes.
fn match_source(def: &StoragePoolDef) -> SResult<()> {
    let vg = vg_name(def);
    let groups = pool_sources()?;
    let Some(g) = groups
        .iter()
        .find(|g| g.name.as_deref() == Some(vg.as_str()))
    else {
        return Err(StorageError::Unsupported(format!(
            "cannot find logical volume group name '{vg}'"
        )));
    };
    let devices = &def.source.devices;
    if !devices.is_empty()
        && !devices
            .iter()
            .any(|d| g.devices.iter().any(|e| e.path == d.path))
    {
        return Err(StorageError::Unsupported(format!(
            "cannot find any matching source devices for logical volume group '{vg}'"
        )));
    }
    Ok(())
}

/// The volume groups of `pvs` output (`PV VG` per line), each with its devices.
fn groups_of(pvs: &str) -> Vec<PoolSource> {
    let mut groups: Vec<PoolSource> = Vec::new();
    for line in pvs.lines() {
        let [pv, vg] = line.split_whitespace().collect::<Vec<_>>()[..] else {
            continue;
        };
        let device = PoolDevice {
            path: pv.to_string(),
            ..PoolDevice::default()
        };
        match groups.iter_mut().find(|g| g.name.as_deref() == Some(vg)) {
            Some(g) => g.devices.push(device),
            None => groups.push(PoolSource {
                devices: vec![device],
                name: Some(vg.to_string()),
                format: Some("lvm2".into()),
                ..PoolSource::default()
            }),
        }
    }
    groups
}

/// The volume group: the source name, else the pool's.
fn vg_name(def: &StoragePoolDef) -> String {
    def.source.name.clone().unwrap_or_else(|| def.name.clone())
}

fn tool(name: &str, args: &[&str]) -> SResult<String> {
    run(&program(name), args)
}

fn vgchange(def: &StoragePoolDef, how: &str) -> SResult<()> {
    tool("vgchange", &[how, &vg_name(def)]).map(|_| ())
}

/// Build: physical volumes on the source devices (refusing a device that holds data
/// unless told to overwrite), then the group over them.
fn build(def: &StoragePoolDef, flags: u32) -> SResult<()> {
    crate::pool::check_build_flags(flags, "virStorageBackendLogicalBuildPool")?;
    if def.source.devices.is_empty() {
        return Err(StorageError::Invalid(format!(
            "No source device specified when building pool '{}'",
            def.name
        )));
    }
    for d in &def.source.devices {
        if flags & BUILD_OVERWRITE == 0 {
            if let Some(found) = crate::fs::probe_type(&d.path) {
                return Err(StorageError::Built(format!(
                    "Device '{}' already formatted using '{found}'",
                    d.path
                )));
            }
        }
        tool("pvcreate", &["-ff", "-y", &d.path])?;
    }
    let vg = vg_name(def);
    let mut args = vec![vg.as_str()];
    args.extend(def.source.devices.iter().map(|d| d.path.as_str()));
    tool("vgcreate", &args).map(|_| ())
}

/// `lvcreate` of a new volume as libvirt runs it, sizes in KiB rounded up: a sparse
/// one (allocation other than the capacity) as a snapshot of a virtual origin, one
/// with a backing store as a snapshot of that volume (`-s PATH` instead of the group).
fn create_vol(def: &StoragePoolDef, v: &StorageVolDef) -> SResult<()> {
    lvcreate_args(def, v).and_then(|args| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        tool("lvcreate", &args).map(|_| ())
    })
}

fn lvcreate_args(def: &StoragePoolDef, v: &StorageVolDef) -> SResult<Vec<String>> {
    crate::vol::check_path_free_name(&v.name)?;
    if v.encryption.is_some() {
        return Err(StorageError::Unsupported(
            "storage pool does not support encrypted volumes".into(),
        ));
    }
    let kib = |b: u64| format!("{}K", b.div_ceil(1024));
    let mut args: Vec<String> = vec!["--name".into(), v.name.clone(), "-L".into()];
    if v.allocation != v.capacity {
        args.push(kib(v.allocation.max(1)));
        args.extend(["--type".into(), "snapshot".into(), "--virtualsize".into()]);
    }
    args.push(kib(v.capacity));
    match &v.backing {
        Some(b) => args.extend(["-s".into(), b.path.clone()]),
        None => args.push(vg_name(def)),
    }
    args.push("--yes".into());
    Ok(args)
}

/// One row of `lvs`: name, uuid, devices with extents, size and allocated bytes.
#[derive(Debug, PartialEq)]
struct Lv {
    name: String,
    uuid: String,
    /// `(device, first extent, extent count)` of each segment.
    extents: Vec<(String, u64, u64)>,
    size: u64,
    extent_size: u64,
    /// The snapshot's origin (not the hidden `[NAME_vorigin]` of a sparse volume).
    origin: Option<String>,
}

/// (libvirt's fields but its segment type and stripes, the origin last.)
const LVS_FIELDS: &str = "lv_name,uuid,devices,seg_size,vg_extent_size,size,lv_attr,origin";

/// Parses `lvs --noheadings --separator '#' --units b --nosuffix -o LVS_FIELDS`. Thin
/// pools (attribute `t`) are skipped as libvirt skips them: they have no device node;
/// so are inactive volumes (no `a` in the fifth attribute).
fn parse_lvs(text: &str) -> Vec<Lv> {
    let mut out: Vec<Lv> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split('#').collect();
        if f.len() < 8 || f[0].is_empty() {
            continue;
        }
        let attr = f[6].trim().as_bytes();
        if attr.first() == Some(&b't') || attr.get(4) != Some(&b'a') {
            continue;
        }
        let num = |s: &str| s.trim().parse::<u64>().unwrap_or(0);
        let extent_size = num(f[4]);
        let seg = devices(f[2], num(f[3]), extent_size);
        if let Some(lv) = out.iter_mut().find(|l| l.name == f[0]) {
            lv.extents.extend(seg);
            continue;
        }
        out.push(Lv {
            name: f[0].to_string(),
            uuid: f[1].to_string(),
            extents: seg,
            size: num(f[5]),
            extent_size,
            origin: Some(f[7].trim())
                .filter(|o| !o.is_empty() && !o.starts_with('['))
                .map(str::to_string),
        });
    }
    out
}

/// `devices` of a segment, `/dev/vda(0),/dev/vdb(12)`, with the segment's size.
fn devices(field: &str, seg_size: u64, extent_size: u64) -> Vec<(String, u64, u64)> {
    let per = seg_size.checked_div(extent_size).unwrap_or(0);
    field
        .split(',')
        .filter_map(|d| {
            let (dev, rest) = d.split_once('(')?;
            let start = rest.trim_end_matches(')').parse().ok()?;
            Some((dev.to_string(), start, per))
        })
        .collect()
}

/// The volume of `lv` in the pool `def`: capacity and physical size the device's (the
/// LV's size where it cannot be opened), allocation the LV's size (a snapshot's copy
/// space), as libvirt takes them.
fn lv_volume(def: &StoragePoolDef, lv: &Lv) -> StorageVolDef {
    let path = lv_path(def, &lv.name);
    let size = device_size(&path).unwrap_or(lv.size);
    let extents = lv.extents.first().map(|(dev, _, _)| {
        let ranges = lv
            .extents
            .iter()
            .map(|(_, s, n)| (s * lv.extent_size, (s + n) * lv.extent_size))
            .collect();
        (dev.clone(), ranges)
    });
    let mut v = StorageVolDef {
        name: lv.name.clone(),
        key: Some(lv.uuid.clone()),
        vol_type: Some("block".into()),
        capacity: size,
        allocation: lv.size,
        physical: Some(size),
        target_path: Some(path.clone()),
        source_extents: extents,
        backing: lv
            .origin
            .as_ref()
            .map(|o| crate::probe::backing_store(&lv_path(def, o), None)),
        ..StorageVolDef::default()
    };
    if let Ok(md) = std::fs::metadata(&path) {
        v.permissions = Some(crate::probe::permissions(&md));
        v.timestamps = Some(crate::probe::timestamps(&md));
    }
    v
}

/// The size of the device at `path`.
fn device_size(path: &str) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    std::fs::File::open(path)
        .and_then(|mut f| f.seek(SeekFrom::End(0)))
        .ok()
}

/// An LVM report (`vgs`, `lvs`) of `fields` for group `vg`, in bytes, as libvirt asks.
fn report(tool_name: &str, separator: &str, fields: &str, vg: &str) -> SResult<String> {
    let args = [
        "--separator",
        separator,
        "--noheadings",
        "--units",
        "b",
        "--unbuffered",
        "--nosuffix",
        "--options",
        fields,
        vg,
    ];
    tool(tool_name, &args)
}

/// Refresh: the group's size and free space, its logical volumes.
fn refresh(p: &mut Pool) -> SResult<()> {
    let vg = vg_name(&p.def);
    let sizes = report("vgs", ":", "vg_size,vg_free", &vg)?;
    let mut it = sizes.trim().split(':').map(|x| x.trim().parse::<u64>());
    let (Some(Ok(size)), Some(Ok(free))) = (it.next(), it.next()) else {
        return Err(StorageError::Internal(format!(
            "cannot parse the size of volume group '{vg}': {sizes}"
        )));
    };
    let lvs = report("lvs", "#", LVS_FIELDS, &vg)?;
    let mut vols: Vec<StorageVolDef> = parse_lvs(&lvs)
        .iter()
        .map(|lv| lv_volume(&p.def, lv))
        .collect();
    vols.sort_by(|a, b| a.name.cmp(&b.name));
    p.vols = vols;
    p.def.capacity = size;
    p.def.available = free;
    p.def.allocation = size - free.min(size);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_volume_groups_with_their_devices() {
        let pvs = "  /dev/loop1 vga\n  /dev/loop2\n  /dev/loop3 vgb\n  /dev/loop4 vga\n";
        assert_eq!(
            rvirt_xml::storage::sources_to_xml("logical", &groups_of(pvs)),
            "<sources>\n  <source>\n    <device path='/dev/loop1'/>\n    <device path='/dev/loop4'/>\n    \
             <name>vga</name>\n    <format type='lvm2'/>\n  </source>\n  <source>\n    \
             <device path='/dev/loop3'/>\n    <name>vgb</name>\n    <format type='lvm2'/>\n  \
             </source>\n</sources>\n"
        );
        assert_eq!(groups_of(""), []);
    }

    #[test]
    fn lvs_rows_with_segments_parse() {
        let text = "  a#Abc-1#/dev/vda(0)#8388608#4194304#12582912#-wi-a-----#\n  \
                    a#Abc-1#/dev/vdb(3)#4194304#4194304#12582912#-wi-a-----#\n  \
                    t#Def-2##0#4194304#67108864#Vwi-a-tz--#\n  \
                    lvol1#Ghi-3#lvol1_tdata(0)#4194304#4194304#4194304#twi-aotz--#\n  \
                    s#Jkl-4#/dev/vda(5)#4194304#4194304#4194304#swi-a-s---#a\n  \
                    sp#Mno-5#/dev/vda(6)#4194304#4194304#4194304#swi-a-s---#[sp_vorigin]\n  \
                    off#Pqr-6#/dev/vda(7)#4194304#4194304#4194304#-wi-------#\n";
        let lvs = parse_lvs(text);
        assert_eq!(lvs.len(), 4, "{lvs:?}");
        assert_eq!(
            lvs[0].extents,
            [("/dev/vda".into(), 0, 2), ("/dev/vdb".into(), 3, 1)]
        );
        assert_eq!(lvs[2].origin.as_deref(), Some("a"));
        assert_eq!(lvs[3].origin, None);
        let def = StoragePoolDef::parse(
            "<pool type='logical'><name>vg</name><target><path>/dev/vg</path></target></pool>",
        )
        .unwrap();
        let v = lv_volume(&def, &lvs[1]);
        assert_eq!(v.allocation, 67108864);
        assert_eq!(v.target_path.as_deref(), Some("/dev/vg/t"));
        let v = lv_volume(&def, &lvs[2]);
        assert_eq!(v.backing.map(|b| b.path).as_deref(), Some("/dev/vg/a"));
        let v = lv_volume(&def, &lvs[0]);
        assert_eq!(
            v.source_extents,
            Some(("/dev/vda".into(), vec![(0, 8388608), (12582912, 16777216)]))
        );
    }
}
