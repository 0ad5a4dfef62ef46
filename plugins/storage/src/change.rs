//! Changing a volume's content or size in place: wipes (zeros here, the other
//! algorithms through `scrub`) and resizes (`ftruncate`/`fallocate` for raw files,
//! `qemu-img resize` for images).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use rvirt_plugin_api::protocol::RemoteNonnullStorageVol;
use rvirt_xml::storage::StorageVolDef;

use crate::error::{check_flags, SResult, StorageError};
use crate::pool::active_mut;
use crate::probe::run_qemu_img;
use crate::state::Driver;
use crate::vol::{allocate, check_idle, index, refresh_vol, Job};

/// `VIR_STORAGE_VOL_RESIZE_*`.
const RESIZE_ALLOCATE: u32 = rvirt_plugin_api::protocol::facts::vol_resize::ALLOCATE;
const RESIZE_DELTA: u32 = rvirt_plugin_api::protocol::facts::vol_resize::DELTA;
const RESIZE_SHRINK: u32 = rvirt_plugin_api::protocol::facts::vol_resize::SHRINK;

/// `virStorageVolWipeAlgorithm` names `scrub` knows, by number.
const SCRUB_PATTERNS: [&str; 9] = [
    "",
    "nnsa",
    "dod",
    "bsi",
    "gutmann",
    "schneier",
    "pfitzner7",
    "pfitzner33",
    "random",
];
const WIPE_TRIM: u32 = rvirt_plugin_api::protocol::facts::vol_wipe::TRIM;

pub fn wipe(drv: &Driver, r: &RemoteNonnullStorageVol, algorithm: u32, flags: u32) -> SResult<()> {
    check_flags(flags, 0, "storageVolWipePattern")?;
    if algorithm > WIPE_TRIM {
        return Err(StorageError::InvalidArg(format!(
            "wiping algorithm {algorithm} not supported"
        )));
    }
    let mut pools = drv.lock();
    let p = active_mut(&mut pools, &r.pool)?;
    let i = index(p, &r.name)?;
    check_idle(p, &r.name)?;
    let v = &mut p.vols[i];
    refresh_vol(v)?;
    if v.vol_type.as_deref() == Some("dir") {
        return Err(StorageError::NotSupported(
            "cannot wipe a directory volume".into(),
        ));
    }
    let (def, v) = (p.def.clone(), v.clone());
    let backend = crate::backend::of(&def)?;
    let _job = Job::start(drv, &mut pools, vec![(r.pool.clone(), r.name.clone())]);
    drop(pools);
    backend.wipe_vol(&def, &v, algorithm)
}

/// Wipes the file or device at the volume's path: zeros over its allocation, or a
/// `scrub` pattern.
pub fn wipe_path(v: &StorageVolDef, algorithm: u32) -> SResult<()> {
    let path = v.target_path.clone().unwrap_or_default();
    match algorithm {
        0 => zero_file(&path, v.allocation),
        WIPE_TRIM => Err(StorageError::ArgUnsupported(
            "'trim' algorithm not supported".into(),
        )),
        n => scrub(&path, SCRUB_PATTERNS[n as usize]),
    }
}

/// Overwrites the first `len` bytes of the file with zeros: libvirt wipes as much as
/// the volume has allocated (nothing at all of a fully sparse file).
fn zero_file(path: &str, len: u64) -> SResult<()> {
    let mut f = OpenOptions::new().write(true).open(path).map_err(|e| {
        StorageError::io(
            format!("Failed to open storage volume with path '{path}'"),
            &e,
        )
    })?;
    let buf = vec![0u8; 1 << 20];
    let mut left = len;
    let wrote = |e: std::io::Error| {
        StorageError::io(
            format!("Failed to write {len} bytes to storage volume with path '{path}'"),
            &e,
        )
    };
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).map_err(wrote)?;
        left -= n as u64;
    }
    f.sync_all().map_err(wrote)
}

fn scrub(path: &str, pattern: &str) -> SResult<()> {
    let Some(bin) = ["/usr/bin/scrub", "/usr/sbin/scrub", "/bin/scrub"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        return Err(StorageError::System(
            "Cannot find 'scrub' in path: No such file or directory".into(),
        ));
    };
    let out = std::process::Command::new(bin)
        .args(["-f", "-p", pattern, path])
        .output()
        .map_err(|e| StorageError::io(format!("Cannot run {bin}"), &e))?;
    if !out.status.success() {
        return Err(StorageError::Internal(format!(
            "Child process ({bin} -f -p {pattern} {path}) unexpected exit status {}",
            out.status.code().unwrap_or(-1)
        )));
    }
    Ok(())
}

pub fn resize(drv: &Driver, r: &RemoteNonnullStorageVol, capacity: u64, flags: u32) -> SResult<()> {
    check_flags(
        flags,
        RESIZE_ALLOCATE | RESIZE_DELTA | RESIZE_SHRINK,
        "storageVolResize",
    )?;
    let mut pools = drv.lock();
    let p = active_mut(&mut pools, &r.pool)?;
    let i = index(p, &r.name)?;
    check_idle(p, &r.name)?;
    let free = p.def.available;
    let backend = crate::backend::of(&p.def)?;
    let v = &mut p.vols[i];
    refresh_vol(v)?;
    let want = match (flags & RESIZE_DELTA != 0, flags & RESIZE_SHRINK != 0) {
        (true, true) => v.capacity.saturating_sub(capacity),
        (true, false) => v.capacity.saturating_add(capacity),
        _ => capacity,
    };
    if want < v.allocation {
        return Err(StorageError::InvalidArg(
            "can't shrink capacity below existing allocation".into(),
        ));
    }
    if want < v.capacity && flags & RESIZE_SHRINK == 0 {
        return Err(StorageError::InvalidArg(
            "Can't shrink capacity below current capacity unless shrink flag explicitly specified"
                .into(),
        ));
    }
    if flags & RESIZE_ALLOCATE != 0 && want - v.allocation > free {
        return Err(StorageError::InvalidArg(
            "Not enough space left in storage pool".into(),
        ));
    }
    if !backend.file_volumes() {
        return backend.resize_vol(v, want, flags);
    }
    resize_file(
        v,
        want,
        flags & RESIZE_ALLOCATE != 0,
        flags & RESIZE_SHRINK != 0,
    )?;
    refresh_vol(v)
}

fn resize_file(v: &StorageVolDef, size: u64, allocate_all: bool, shrink: bool) -> SResult<()> {
    let path = v.target_path.as_deref().unwrap_or_default();
    match v.format.as_deref() {
        None | Some("raw") => {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| StorageError::io(format!("Unable to open '{path}'"), &e))?;
            f.set_len(size)
                .map_err(|e| StorageError::io(format!("Failed to truncate file '{path}'"), &e))?;
            if allocate_all {
                allocate(&f, path, size)?;
            }
            Ok(())
        }
        Some(fmt) => {
            if allocate_all {
                return Err(StorageError::NotSupported(
                    "preallocate is only supported for raw type volume".into(),
                ));
            }
            let size = size.to_string();
            let mut args = vec!["resize", "-f", fmt];
            if shrink {
                args.push("--shrink");
            }
            args.extend([path, size.as_str()]);
            run_qemu_img(&args).map(|_| ())
        }
    }
}
