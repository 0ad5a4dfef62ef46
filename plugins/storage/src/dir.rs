//! The `dir` pool backend: a directory whose files (and subdirectories) are the volumes.
//! Build makes the directory, a refresh reads it, delete removes it. The `fs` and
//! `netfs` backends mount a file system there and reuse all of this.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};

use rvirt_xml::storage::{StoragePoolDef, StorageVolDef};

use crate::backend::Backend;
use crate::error::{check_flags, SResult, StorageError};
use crate::pool::target;
use crate::probe;
use crate::state::Pool;

/// The `dir` backend.
pub struct Dir;

impl Backend for Dir {
    fn build(&self, def: &StoragePoolDef, flags: u32) -> SResult<()> {
        build(def, flags)
    }
    fn refresh(&self, p: &mut Pool) -> SResult<()> {
        refresh(p)
    }
    fn delete(&self, def: &StoragePoolDef, flags: u32) -> SResult<()> {
        delete(def, flags)
    }
    fn file_volumes(&self) -> bool {
        true
    }
}

/// The file system backends' build: makes the target directory with the pool's mode
/// and owner; a formatting flag also makes the file system on the source device (which
/// a directory pool has not).
pub fn build(def: &StoragePoolDef, flags: u32) -> SResult<()> {
    crate::pool::check_build_flags(flags, "virStorageBackendFileSystemBuild")?;
    let path = target(def)?;
    let perms = def.permissions.clone().unwrap_or_default();
    let mode = perms.mode.unwrap_or(0o711);
    let exists = std::path::Path::new(path).is_dir();
    if !exists {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(path)
            .map_err(|e| StorageError::io(format!("cannot create path '{path}'"), &e))?;
    }
    if perms.mode.is_some() || !exists {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            StorageError::io(format!("cannot set mode of '{path}' to {mode:04o}"), &e)
        })?;
    }
    if perms.owner.is_some() || perms.group.is_some() {
        chown(path, perms.owner, perms.group)?;
    }
    if flags != 0 {
        return crate::fs::make_fs(def, flags);
    }
    Ok(())
}

/// Changes a file's owner and group (either may stay).
pub fn chown(path: &str, uid: Option<u32>, gid: Option<u32>) -> SResult<()> {
    use nix::unistd::{Gid, Uid};
    nix::unistd::chown(path, uid.map(Uid::from_raw), gid.map(Gid::from_raw)).map_err(|e| {
        StorageError::errno(
            format!(
                "cannot chown '{path}' to ({}, {})",
                uid.map_or(-1, i64::from),
                gid.map_or(-1, i64::from)
            ),
            e,
        )
    })
}

/// Reads the pool directory: its volumes, the file system's sizes and the directory's
/// own permissions.
pub fn refresh(p: &mut Pool) -> SResult<()> {
    let path = target(&p.def)?.to_string();
    let rd = std::fs::read_dir(&path)
        .map_err(|e| StorageError::io(format!("cannot open directory '{path}'"), &e))?;
    let mut vols: Vec<StorageVolDef> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|name| probe::probe_volume(&path, &name))
        .collect();
    vols.sort_by(|a, b| a.name.cmp(&b.name));
    p.vols = vols;
    update_sizes(p)
}

/// The pool's capacity, allocation and availability from `statvfs`, counted as libvirt
/// does: blocks reserved for root count as available. Also its directory's permissions.
pub fn update_sizes(p: &mut Pool) -> SResult<()> {
    let path = target(&p.def)?.to_string();
    let st = nix::sys::statvfs::statvfs(path.as_str())
        .map_err(|e| StorageError::errno(format!("cannot statvfs path '{path}'"), e))?;
    let frsize = st.fragment_size() as u64;
    p.def.capacity = st.blocks() as u64 * frsize;
    p.def.allocation = (st.blocks() as u64 - st.blocks_free() as u64) * frsize;
    p.def.available = st.blocks_free() as u64 * frsize;
    let md = std::fs::metadata(&path)
        .map_err(|e| StorageError::io(format!("cannot stat path '{path}'"), &e))?;
    p.def.permissions = Some(rvirt_xml::storage::Permissions {
        mode: Some(md.mode() & 0o777),
        owner: Some(md.uid()),
        group: Some(md.gid()),
        label: None,
    });
    Ok(())
}

/// Removes the (empty) target directory.
pub fn delete(def: &StoragePoolDef, flags: u32) -> SResult<()> {
    check_flags(flags, 0, "virStorageBackendFileSystemDelete")?;
    let path = target(def)?;
    std::fs::remove_dir(path)
        .map_err(|e| StorageError::io(format!("failed to remove pool '{path}'"), &e))
}
