//! Pool operations: definitions, the lifecycle and what the directory backend does for
//! each step (build creates the directory, start and refresh read it, delete removes it).

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};

use rvirt_plugin_api::protocol::{RemoteNonnullStoragePool, RemoteStoragePoolGetInfoRet};
use rvirt_xml::storage::{StoragePoolDef, StorageVolDef};
use rvirt_xml::ParseOptions;

use crate::error::{check_flags, SResult, StorageError};
use crate::events::{ev, Event};
use crate::probe;
use crate::state::{Driver, Pool};

/// `virStoragePoolState`.
const POOL_INACTIVE: u8 = 0;
const POOL_RUNNING: u8 = 2;

/// `VIR_STORAGE_POOL_BUILD_*`.
pub const BUILD_OVERWRITE: u32 = 8;
pub const BUILD_NO_OVERWRITE: u32 = 4;
/// `VIR_STORAGE_POOL_CREATE_WITH_BUILD*`.
const CREATE_WITH_BUILD: u32 = 1;
const CREATE_WITH_BUILD_OVERWRITE: u32 = 2;
const CREATE_WITH_BUILD_NO_OVERWRITE: u32 = 4;
/// `VIR_STORAGE_POOL_DEFINE_VALIDATE`.
const DEFINE_VALIDATE: u32 = 1;

/// Pool types this driver can run.
pub const SUPPORTED_TYPES: &[&str] = &["dir", "fs", "disk"];

/// Pool types in the order of the VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE> bits (from bit 6).
const POOL_TYPES: [&str; 14] = [
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
    "iscsi-direct",
];

pub fn pool_ref(p: &Pool) -> RemoteNonnullStoragePool {
    RemoteNonnullStoragePool {
        name: p.def.name.clone(),
        uuid: p.def.uuid.0,
    }
}

pub fn find<'a>(pools: &'a [Pool], name: &str) -> SResult<&'a Pool> {
    pools
        .iter()
        .find(|p| p.def.name == name)
        .ok_or_else(|| StorageError::NoPoolName(name.to_string()))
}

pub fn find_mut<'a>(pools: &'a mut [Pool], name: &str) -> SResult<&'a mut Pool> {
    pools
        .iter_mut()
        .find(|p| p.def.name == name)
        .ok_or_else(|| StorageError::NoPoolName(name.to_string()))
}

pub fn find_uuid<'a>(pools: &'a [Pool], uuid: &[u8; 16]) -> SResult<&'a Pool> {
    pools
        .iter()
        .find(|p| &p.def.uuid.0 == uuid)
        .ok_or_else(|| StorageError::NoPoolUuid(rvirt_xml::Uuid(*uuid).to_string()))
}

/// The running pool `name`.
pub fn active<'a>(pools: &'a [Pool], name: &str) -> SResult<&'a Pool> {
    let p = find(pools, name)?;
    if !p.active {
        return Err(not_active(name));
    }
    Ok(p)
}

pub fn active_mut<'a>(pools: &'a mut [Pool], name: &str) -> SResult<&'a mut Pool> {
    let p = find_mut(pools, name)?;
    if !p.active {
        return Err(not_active(name));
    }
    Ok(p)
}

/// Refuses to stop or re-read a pool while a job works in it.
pub fn check_no_jobs(p: &Pool) -> SResult<()> {
    if p.jobs.is_empty() {
        return Ok(());
    }
    Err(StorageError::Invalid(format!(
        "pool '{}' has asynchronous jobs running.",
        p.def.name
    )))
}

fn not_active(name: &str) -> StorageError {
    StorageError::Invalid(format!("storage pool '{name}' is not active"))
}

fn already_active(name: &str) -> StorageError {
    StorageError::Invalid(format!("storage pool '{name}' is already active"))
}

fn parse(xml: &str, validate: bool) -> SResult<StoragePoolDef> {
    let def = StoragePoolDef::parse_with(xml, ParseOptions::validate(validate))?;
    if !SUPPORTED_TYPES.contains(&def.pool_type.as_str()) {
        return Err(StorageError::Internal(format!(
            "missing backend for pool type {} ({})",
            backend_number(&def.pool_type),
            def.pool_type
        )));
    }
    Ok(def)
}

/// libvirt names a missing backend by its type's number.
fn backend_number(t: &str) -> usize {
    POOL_TYPES.iter().position(|x| *x == t).unwrap_or(0)
}

/// Where `def` goes among `pools`: the index of the pool it redefines, or `None` for a
/// new one; refuses name and UUID clashes like libvirt.
fn slot(pools: &[Pool], def: &StoragePoolDef, live: bool) -> SResult<Option<usize>> {
    if let Some(i) = pools.iter().position(|p| p.def.uuid == def.uuid) {
        let p = &pools[i];
        if p.def.name != def.name {
            return Err(StorageError::Failed(format!(
                "pool '{}' is already defined with uuid {}",
                p.def.name, p.def.uuid
            )));
        }
        if live && p.active {
            return Err(StorageError::Invalid(format!(
                "pool is already active as '{}'",
                p.def.name
            )));
        }
        return Ok(Some(i));
    }
    if let Some(p) = pools.iter().find(|p| p.def.name == def.name) {
        return Err(StorageError::Failed(format!(
            "pool '{}' already exists with uuid {}",
            def.name, p.def.uuid
        )));
    }
    if let Some(path) = def.target_path.as_deref() {
        if let Some(p) = pools.iter().find(|p| {
            p.def.pool_type == def.pool_type && p.def.target_path.as_deref() == Some(path)
        }) {
            return Err(StorageError::Failed(format!(
                "Storage source conflict with pool: '{}'",
                p.def.name
            )));
        }
    }
    Ok(None)
}

pub fn define(drv: &Driver, xml: &str, flags: u32) -> SResult<RemoteNonnullStoragePool> {
    check_flags(flags, DEFINE_VALIDATE, "storagePoolDefineXML")?;
    let def = parse(xml, flags & DEFINE_VALIDATE != 0)?;
    let mut pools = drv.lock();
    let at = slot(&pools, &def, false)?;
    drv.save_config(&def)?;
    let p = match at {
        Some(i) if pools[i].active => {
            pools[i].new_def = Some(def);
            &mut pools[i]
        }
        Some(i) => {
            pools[i].def = def;
            &mut pools[i]
        }
        None => {
            pools.push(Pool::new(def));
            pools.last_mut().expect("just pushed")
        }
    };
    p.persistent = true;
    let r = pool_ref(p);
    drv.emit(Event::Lifecycle(r.clone(), ev::DEFINED));
    Ok(r)
}

pub fn create_xml(drv: &Driver, xml: &str, flags: u32) -> SResult<RemoteNonnullStoragePool> {
    check_flags(flags, 0x7, "storagePoolCreateXML")?;
    let def = parse(xml, false)?;
    let mut pools = drv.lock();
    if slot(&pools, &def, true)?.is_some() {
        let name = def.name.clone();
        return Err(StorageError::Invalid(format!(
            "storage pool '{name}' is already active"
        )));
    }
    let mut p = Pool::new(def);
    if flags & (CREATE_WITH_BUILD | CREATE_WITH_BUILD_OVERWRITE | CREATE_WITH_BUILD_NO_OVERWRITE)
        != 0
    {
        build_pool(&p.def, build_flags(flags))?;
    }
    run(drv, &mut p, false)?;
    let r = pool_ref(&p);
    pools.push(p);
    drv.emit(Event::Lifecycle(r.clone(), ev::STARTED));
    Ok(r)
}

/// Starts `p`: mounts its file system (an `fs` pool found mounted after a daemon restart
/// is taken as it is), reads its directory and records that it runs.
fn run(drv: &Driver, p: &mut Pool, resume: bool) -> SResult<()> {
    if crate::fs::is_fs(&p.def) && !(resume && crate::fs::is_mounted(target(&p.def)?)) {
        crate::fs::mount(&p.def)?;
    }
    if crate::disk::is_disk(&p.def) {
        crate::disk::check_built(&p.def)?;
    }
    if let Err(e) = refresh_pool(p) {
        if crate::fs::is_fs(&p.def) {
            let _ = crate::fs::unmount(&p.def);
        }
        return Err(e);
    }
    drv.save_status(&p.def)?;
    p.active = true;
    Ok(())
}

pub fn start(drv: &Driver, name: &str, flags: u32) -> SResult<()> {
    check_flags(flags, 0x7, "storagePoolCreate")?;
    let mut pools = drv.lock();
    let p = find_mut(&mut pools, name)?;
    if p.active {
        return Err(already_active(name));
    }
    if flags != 0 {
        build_pool(&p.def, build_flags(flags))?;
    }
    run(drv, p, false)?;
    drv.emit(Event::Lifecycle(pool_ref(p), ev::STARTED));
    Ok(())
}

pub fn build(drv: &Driver, name: &str, flags: u32) -> SResult<()> {
    let pools = drv.lock();
    let p = find(&pools, name)?;
    if p.active {
        return Err(already_active(name));
    }
    build_pool(&p.def, flags)?;
    drv.emit(Event::Lifecycle(pool_ref(p), ev::CREATED));
    Ok(())
}

/// The build flags of a create call's `VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE` (2)
/// and `_NO_OVERWRITE` (4): `VIR_STORAGE_POOL_BUILD_OVERWRITE` and `_NO_OVERWRITE`.
fn build_flags(create_flags: u32) -> u32 {
    let mut flags = 0;
    if create_flags & CREATE_WITH_BUILD_OVERWRITE != 0 {
        flags |= BUILD_OVERWRITE;
    }
    if create_flags & CREATE_WITH_BUILD_NO_OVERWRITE != 0 {
        flags |= BUILD_NO_OVERWRITE;
    }
    flags
}

/// The pool type's build.
fn build_pool(def: &StoragePoolDef, flags: u32) -> SResult<()> {
    if crate::disk::is_disk(def) {
        return crate::disk::build(def, flags);
    }
    build_dir(def, flags)
}

/// The file system backends' build: makes the target directory with the pool's mode
/// and owner; a formatting flag also makes the file system on the source device (which
/// a directory pool has not).
fn build_dir(def: &StoragePoolDef, flags: u32) -> SResult<()> {
    check_flags(
        flags,
        BUILD_OVERWRITE | BUILD_NO_OVERWRITE,
        "virStorageBackendFileSystemBuild",
    )?;
    if flags == BUILD_OVERWRITE | BUILD_NO_OVERWRITE {
        return Err(StorageError::ExclusiveFlags(
            "VIR_STORAGE_POOL_BUILD_OVERWRITE",
            "VIR_STORAGE_POOL_BUILD_NO_OVERWRITE",
        ));
    }
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

pub fn target(def: &StoragePoolDef) -> SResult<&str> {
    def.target_path
        .as_deref()
        .ok_or_else(|| StorageError::Internal(format!("pool '{}' has no target path", def.name)))
}

/// Reads the pool again: its directory, or a `disk` pool's partition table.
pub fn refresh_pool(p: &mut Pool) -> SResult<()> {
    if crate::disk::is_disk(&p.def) {
        return crate::disk::refresh(p);
    }
    refresh_dir(p)
}

/// Reads the pool directory: its volumes, the file system's sizes and the directory's
/// own permissions.
pub fn refresh_dir(p: &mut Pool) -> SResult<()> {
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

pub fn refresh(drv: &Driver, name: &str, flags: u32) -> SResult<()> {
    check_flags(flags, 0, "storagePoolRefresh")?;
    let mut pools = drv.lock();
    let p = active_mut(&mut pools, name)?;
    check_no_jobs(p)?;
    let r = pool_ref(p);
    if let Err(e) = refresh_pool(p) {
        stop(drv, &mut pools, name);
        drv.emit(Event::Lifecycle(r, ev::STOPPED));
        return Err(e);
    }
    drv.emit(Event::Refresh(r));
    Ok(())
}

/// Marks a pool stopped: forgets its volumes, applies a pending definition and drops a
/// transient pool altogether.
fn stop(drv: &Driver, pools: &mut Vec<Pool>, name: &str) {
    drv.remove_status(name);
    let Some(i) = pools.iter().position(|p| p.def.name == name) else {
        return;
    };
    let p = &mut pools[i];
    p.active = false;
    p.vols.clear();
    if let Some(d) = p.new_def.take() {
        p.def = d;
    }
    if !p.persistent {
        pools.remove(i);
    }
}

pub fn destroy(drv: &Driver, name: &str) -> SResult<()> {
    let mut pools = drv.lock();
    let p = active(&pools, name)?;
    check_no_jobs(p)?;
    if crate::fs::is_fs(&p.def) {
        crate::fs::unmount(&p.def)?;
    }
    let r = pool_ref(p);
    stop(drv, &mut pools, name);
    drv.emit(Event::Lifecycle(r, ev::STOPPED));
    Ok(())
}

pub fn delete(drv: &Driver, name: &str, flags: u32) -> SResult<()> {
    let pools = drv.lock();
    let p = find(&pools, name)?;
    if p.active {
        return Err(StorageError::Invalid(format!(
            "storage pool '{name}' is still active"
        )));
    }
    if crate::disk::is_disk(&p.def) {
        return Err(StorageError::NotSupported(
            "deleting a disk pool's partition table".into(),
        ));
    }
    check_flags(flags, 0, "virStorageBackendFileSystemDelete")?;
    let path = target(&p.def)?;
    std::fs::remove_dir(path)
        .map_err(|e| StorageError::io(format!("failed to remove pool '{path}'"), &e))?;
    drv.emit(Event::Lifecycle(pool_ref(p), ev::DELETED));
    Ok(())
}

pub fn undefine(drv: &Driver, name: &str) -> SResult<()> {
    let mut pools = drv.lock();
    let p = find(&pools, name)?;
    if p.active {
        return Err(StorageError::Invalid(format!(
            "storage pool '{name}' is still active"
        )));
    }
    if !p.persistent {
        return Err(StorageError::Invalid(format!(
            "storage pool '{name}' is transient"
        )));
    }
    drv.set_autostart_link(name, false)?;
    let cfg = drv.dirs.config_file(name);
    crate::state::remove(&cfg)
        .map_err(|e| StorageError::io(format!("cannot remove config {}", cfg.display()), &e))?;
    let r = pool_ref(p);
    pools.retain(|p| p.def.name != name);
    drv.emit(Event::Lifecycle(r, ev::UNDEFINED));
    Ok(())
}

pub fn info(drv: &Driver, name: &str) -> SResult<RemoteStoragePoolGetInfoRet> {
    let pools = drv.lock();
    let p = find(&pools, name)?;
    Ok(RemoteStoragePoolGetInfoRet {
        state: if p.active {
            POOL_RUNNING
        } else {
            POOL_INACTIVE
        },
        capacity: p.def.capacity,
        allocation: p.def.allocation,
        available: p.def.available,
    })
}

/// `VIR_STORAGE_XML_INACTIVE`.
const XML_INACTIVE: u32 = 1;

pub fn xml(drv: &Driver, name: &str, flags: u32) -> SResult<String> {
    check_flags(flags, XML_INACTIVE, "storagePoolGetXMLDesc")?;
    let pools = drv.lock();
    let p = find(&pools, name)?;
    Ok(match (&p.new_def, flags & XML_INACTIVE != 0) {
        (Some(d), true) => d.to_xml(),
        _ => p.def.to_xml(),
    })
}

pub fn set_autostart(drv: &Driver, name: &str, on: bool) -> SResult<()> {
    let mut pools = drv.lock();
    let p = find_mut(&mut pools, name)?;
    if !p.persistent {
        return Err(StorageError::Internal("pool has no config file".into()));
    }
    if p.autostart != on {
        drv.set_autostart_link(name, on)?;
        p.autostart = on;
    }
    Ok(())
}

/// VIR_CONNECT_LIST_STORAGE_POOLS_* filter.
fn matches(p: &Pool, flags: u32) -> bool {
    let pair = |yes: u32, no: u32, v: bool| {
        flags & (yes | no) == 0 || (v && flags & yes != 0) || (!v && flags & no != 0)
    };
    let type_bits = (flags >> 6) & 0x3fff;
    let type_ok = type_bits == 0
        || POOL_TYPES
            .iter()
            .enumerate()
            .any(|(i, t)| type_bits & (1 << i) != 0 && p.def.pool_type == *t);
    pair(2, 1, p.active) && pair(4, 8, p.persistent) && pair(16, 32, p.autostart) && type_ok
}

pub fn list_all(drv: &Driver, flags: u32) -> SResult<Vec<RemoteNonnullStoragePool>> {
    check_flags(flags, 0xfffff, "storageConnectListAllStoragePools")?;
    Ok(drv
        .lock()
        .iter()
        .filter(|p| matches(p, flags))
        .map(pool_ref)
        .collect())
}

pub fn names(drv: &Driver, active: bool, max: i32) -> Vec<String> {
    drv.lock()
        .iter()
        .filter(|p| p.active == active)
        .map(|p| p.def.name.clone())
        .take(max.max(0) as usize)
        .collect()
}

/// Daemon start: pools that ran before run again, then autostart pools start.
pub fn startup(drv: &Driver) {
    let running = drv.load();
    start_all(drv, &running);
}

/// SIGHUP: definitions read again, autostart pools that are not running started.
pub fn reload(drv: &Driver) {
    drv.reload_configs();
    start_all(drv, &[]);
}

/// Starts the pools in `running` (which ran before a restart), then every inactive
/// autostart pool; a pool that fails is logged and stays inactive.
fn start_all(drv: &Driver, running: &[String]) {
    let mut pools = drv.lock();
    let todo: Vec<(String, bool)> = pools
        .iter()
        .filter(|p| running.contains(&p.def.name))
        .map(|p| (p.def.name.clone(), true))
        .chain(
            pools
                .iter()
                .filter(|p| p.autostart && !p.active && !running.contains(&p.def.name))
                .map(|p| (p.def.name.clone(), false)),
        )
        .collect();
    for (name, ran) in todo {
        let Ok(p) = find_mut(&mut pools, &name) else {
            continue;
        };
        match run(drv, p, ran) {
            Ok(()) => drv.emit(Event::Lifecycle(pool_ref(p), ev::STARTED)),
            Err(e) => {
                let what = if ran { "restart" } else { "autostart" };
                tracing::warn!("failed to {what} storage pool '{name}': {e}");
                stop(drv, &mut pools, &name);
            }
        }
    }
}

/// The pool whose target directory is `path`.
pub fn lookup_target(drv: &Driver, path: &str) -> SResult<RemoteNonnullStoragePool> {
    let want = rvirt_xml::storage::sanitize_path(path);
    drv.lock()
        .iter()
        .find(|p| p.def.target_path.as_deref() == Some(want.as_str()))
        .map(pool_ref)
        .ok_or_else(|| StorageError::NoPoolTarget(path.to_string()))
}

/// `virConnectFindStoragePoolSources`: none of the backends here can discover sources.
pub fn find_sources(pool_type: &str, flags: u32) -> SResult<String> {
    check_flags(flags, 0, "storageConnectFindStoragePoolSources")?;
    if !POOL_TYPES.contains(&pool_type) {
        return Err(StorageError::Internal(format!(
            "unknown storage pool type {pool_type}"
        )));
    }
    if !SUPPORTED_TYPES.contains(&pool_type) {
        return Err(StorageError::Internal(format!(
            "missing backend for pool type {} ({pool_type})",
            backend_number(pool_type)
        )));
    }
    Err(StorageError::NoSupport(format!(
        "pool type '{pool_type}' does not support source discovery"
    )))
}
