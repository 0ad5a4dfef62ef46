//! What each pool type does for the steps of a pool's life. The lifecycle, the
//! bookkeeping, events and state files are common to all types (`pool.rs`, `vol.rs`);
//! a type's backend only touches its storage: a directory, a file system, a partition
//! table, a volume group, ... Adding a pool type is one file implementing [`Backend`]
//! and one line in [`BACKENDS`].

use rvirt_xml::storage::{PoolSource, StoragePoolDef, StorageVolDef};

use crate::error::{SResult, StorageError};
use crate::state::Pool;

/// A pool type's operations. `def` is the pool's definition, `p` a running pool.
pub trait Backend: Sync {
    /// Why this type cannot run on this host (a library it loads at run time is
    /// missing), `None` when it can.
    fn unavailable(&self) -> Option<String> {
        None
    }

    /// `virStoragePoolBuild` with its `VIR_STORAGE_POOL_BUILD_*` flags.
    fn build(&self, def: &StoragePoolDef, flags: u32) -> SResult<()>;

    /// Makes the pool's storage reachable before its first refresh. `resume`: the pool
    /// ran before the daemon restarted and may still be reachable.
    fn start(&self, _def: &StoragePoolDef, _resume: bool) -> SResult<()> {
        Ok(())
    }

    /// Undoes [`Backend::start`] (destroy, or a start whose first refresh failed).
    fn stop(&self, _def: &StoragePoolDef) -> SResult<()> {
        Ok(())
    }

    /// Reads the pool's volumes and its capacity, allocation and availability.
    fn refresh(&self, p: &mut Pool) -> SResult<()>;

    /// `virStoragePoolDelete` of the inactive pool.
    fn delete(&self, def: &StoragePoolDef, flags: u32) -> SResult<()>;

    /// Whether volumes are files under the target directory, made, cloned, resized and
    /// removed by `vol.rs` (directory and file system pools).
    fn file_volumes(&self) -> bool {
        false
    }

    /// A new volume `v` in a pool whose volumes are not files (the pool is refreshed
    /// afterwards by the backend, so `v` appears among `p.vols`).
    fn create_vol(&self, _p: &mut Pool, _v: &StorageVolDef, _flags: u32) -> SResult<()> {
        Err(StorageError::NoSupport(NO_CREATE.into()))
    }

    /// Removes volume `name` of a pool whose volumes are not files.
    fn delete_vol(&self, _p: &mut Pool, _name: &str, _flags: u32) -> SResult<()> {
        Err(StorageError::NoSupport(
            "storage pool does not support vol deletion".into(),
        ))
    }

    /// Changes the capacity of volume `v` (a pool whose volumes are not files) to `size`
    /// (`VIR_STORAGE_VOL_RESIZE_*` flags), and its figures in `v`.
    fn resize_vol(&self, _v: &mut StorageVolDef, _size: u64, _flags: u32) -> SResult<()> {
        Err(StorageError::NoSupport(
            "storage pool does not support changing of volume capacity".into(),
        ))
    }

    /// Whether `vol-upload` / `vol-download` stream the volume's path (a file or a
    /// device node).
    fn streams(&self) -> bool {
        true
    }

    /// Wipes volume `v` of the pool `def` with `virStorageVolWipeAlgorithm`
    /// `algorithm` (checked to be one libvirt knows); by default over its path.
    fn wipe_vol(&self, _def: &StoragePoolDef, v: &StorageVolDef, algorithm: u32) -> SResult<()> {
        crate::change::wipe_path(v, algorithm)
    }

    /// `virConnectFindStoragePoolSources`: the `<sources>` document for the optional
    /// source specification `spec`.
    fn find_sources(&self, pool_type: &str, _spec: Option<&str>, _flags: u32) -> SResult<String> {
        Err(no_discovery(pool_type))
    }
}

/// libvirt's error for volume creation in a pool type without it (a clone adds
/// `from an existing volume`).
pub const NO_CREATE: &str = "storage pool does not support volume creation";

/// libvirt's error for `virStoragePoolDelete` of a pool type that cannot delete.
pub fn no_pool_delete() -> StorageError {
    StorageError::NoSupport("pool does not support pool deletion".into())
}

/// libvirt's error for source discovery of a pool type that has none.
pub fn no_discovery(pool_type: &str) -> StorageError {
    StorageError::NoSupport(format!(
        "pool type '{pool_type}' does not support source discovery"
    ))
}

/// Every pool type this driver runs, with its backend.
static BACKENDS: &[(&str, &dyn Backend)] = &[
    ("dir", &crate::dir::Dir),
    ("fs", &crate::fs::Fs),
    ("netfs", &crate::fs::Fs),
    ("disk", &crate::disk::Disk),
    ("logical", &crate::logical::Logical),
    ("iscsi", &crate::iscsi::Iscsi),
    ("scsi", &crate::scsi::Scsi),
    ("iscsi-direct", &crate::iscsi_direct::IscsiDirect),
];

/// The source specification of a discovery (`virConnectFindStoragePoolSources`) of
/// pools of `pool_type` that asks one host, as libvirt's `netfs` and `iscsi` take it.
pub fn discovery_source(spec: Option<&str>, pool_type: &str) -> SResult<PoolSource> {
    let Some(spec) = spec else {
        return Err(StorageError::InvalidArg(format!(
            "hostname must be specified for {pool_type} sources"
        )));
    };
    let source = rvirt_xml::storage::parse_source_spec(spec, pool_type)?;
    if source.hosts.len() != 1 {
        return Err(StorageError::InvalidArg(
            "Expected exactly 1 host for the storage pool".into(),
        ));
    }
    Ok(source)
}

/// Whether this driver runs pools of type `t` (on this host).
pub fn supports(t: &str) -> bool {
    of_type(t).is_ok()
}

/// The backend of pool type `t`, or libvirt's error for a type without one (with the
/// reason, for a type this host cannot run).
pub fn of_type(t: &str) -> SResult<&'static dyn Backend> {
    let b = BACKENDS
        .iter()
        .find(|(name, _)| *name == t)
        .map(|(_, b)| *b)
        .ok_or_else(|| missing(t))?;
    match b.unavailable() {
        None => Ok(b),
        Some(why) => Err(match missing(t) {
            StorageError::Internal(m) => StorageError::Internal(format!("{m}: {why}")),
            e => e,
        }),
    }
}

/// The backend of the pool `def` defines.
pub fn of(def: &StoragePoolDef) -> SResult<&'static dyn Backend> {
    of_type(&def.pool_type)
}

/// libvirt's error for a known pool type without a backend (or an unknown type).
pub fn missing(t: &str) -> StorageError {
    match rvirt_xml::storage::PoolType::number(t) {
        Some(n) => StorageError::Internal(format!("missing backend for pool type {n} ({t})")),
        None => StorageError::Internal(format!("unknown storage pool type {t}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_is_a_libvirt_pool_type() {
        for (t, _) in BACKENDS {
            assert!(rvirt_xml::storage::PoolType::find(t).is_some(), "{t}");
        }
        assert!(supports("dir") && !supports("rbd"));
        assert_eq!(
            missing("rbd").to_string(),
            "internal error: missing backend for pool type 9 (rbd)"
        );
        assert_eq!(
            missing("nosuch").to_string(),
            "internal error: unknown storage pool type nosuch"
        );
    }
}
