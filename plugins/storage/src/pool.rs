//! Pool operations: definitions, the lifecycle and what the directory backend does for
//! each step (build creates the directory, start and refresh read it, delete removes it).

use rvirt_plugin_api::protocol::{RemoteNonnullStoragePool, RemoteStoragePoolGetInfoRet};
use rvirt_xml::storage::StoragePoolDef;
use rvirt_xml::ParseOptions;

use crate::backend;
use crate::error::{check_flags, SResult, StorageError};
use crate::events::{ev, Event};
use crate::state::{Driver, Pool};

/// `virStoragePoolState`.
const POOL_INACTIVE: u8 = 0;
const POOL_RUNNING: u8 = 2;

/// `VIR_STORAGE_POOL_BUILD_*`.
pub const BUILD_OVERWRITE: u32 = rvirt_plugin_api::protocol::facts::pool_build::OVERWRITE;
pub const BUILD_NO_OVERWRITE: u32 = rvirt_plugin_api::protocol::facts::pool_build::NO_OVERWRITE;
/// `VIR_STORAGE_POOL_CREATE_WITH_BUILD*`.
const CREATE_WITH_BUILD: u32 = rvirt_plugin_api::protocol::facts::pool_create::WITH_BUILD;
const CREATE_WITH_BUILD_OVERWRITE: u32 =
    rvirt_plugin_api::protocol::facts::pool_create::WITH_BUILD_OVERWRITE;
const CREATE_WITH_BUILD_NO_OVERWRITE: u32 =
    rvirt_plugin_api::protocol::facts::pool_create::WITH_BUILD_NO_OVERWRITE;
/// `VIR_STORAGE_POOL_DEFINE_VALIDATE`.
const DEFINE_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::DEFINE_VALIDATE;

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
    backend::of(&def)?;
    Ok(def)
}

/// Where `def` goes among `pools`: the index of the pool it redefines, or `None` for a
/// new one; refuses name and UUID clashes, and a new pool on another's storage
/// (`dup.rs`), like libvirt.
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
    if let Some(p) = pools.iter().find(|p| crate::dup::same_source(&p.def, def)) {
        return Err(StorageError::Failed(format!(
            "Storage source conflict with pool: '{}'",
            p.def.name
        )));
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

/// Starts `p`: its backend makes the storage reachable (`resume`: after a daemon
/// restart, of a pool that ran before), the pool is read and recorded as running.
fn run(drv: &Driver, p: &mut Pool, resume: bool) -> SResult<()> {
    let b = backend::of(&p.def)?;
    b.start(&p.def, resume)?;
    if let Err(e) = b.refresh(p) {
        let _ = b.stop(&p.def);
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

/// A build's flags: OVERWRITE or NO_OVERWRITE, not both (`func` names the backend's
/// build in libvirt's unsupported-flags error).
pub fn check_build_flags(flags: u32, func: &'static str) -> SResult<()> {
    check_flags(flags, BUILD_OVERWRITE | BUILD_NO_OVERWRITE, func)?;
    if flags == BUILD_OVERWRITE | BUILD_NO_OVERWRITE {
        return Err(StorageError::ExclusiveFlags(
            "VIR_STORAGE_POOL_BUILD_OVERWRITE",
            "VIR_STORAGE_POOL_BUILD_NO_OVERWRITE",
        ));
    }
    Ok(())
}

/// The pool type's build.
fn build_pool(def: &StoragePoolDef, flags: u32) -> SResult<()> {
    backend::of(def)?.build(def, flags)
}

pub fn target(def: &StoragePoolDef) -> SResult<&str> {
    def.target_path
        .as_deref()
        .ok_or_else(|| StorageError::Internal(format!("pool '{}' has no target path", def.name)))
}

/// Reads the pool again through its backend.
pub fn refresh_pool(p: &mut Pool) -> SResult<()> {
    backend::of(&p.def)?.refresh(p)
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
    backend::of(&p.def)?.stop(&p.def)?;
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
    backend::of(&p.def)?.delete(&p.def, flags)?;
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
const XML_INACTIVE: u32 = rvirt_plugin_api::protocol::facts::storage_xml::INACTIVE;

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
    let type_ok = flags & (0x3fff << 6) == 0
        || rvirt_xml::storage::list_flag(&p.def.pool_type).is_some_and(|bit| flags & bit != 0);
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
/// Daemon start: pools that ran before it run again; inactive autostart pools start
/// only when `autostart` (the first start since the host booted, as libvirt's
/// drivers do it).
pub fn startup(drv: &Driver, autostart: bool) {
    let running = drv.load();
    start_all(drv, &running, autostart);
}

/// SIGHUP: definitions read again, autostart pools that are not running started.
pub fn reload(drv: &Driver) {
    drv.reload_configs();
    start_all(drv, &[], true);
}

/// Starts the pools in `running` (which ran before a restart), then, with `autostart`,
/// every inactive autostart pool; a pool that fails is logged and stays inactive.
fn start_all(drv: &Driver, running: &[String], autostart: bool) {
    let mut pools = drv.lock();
    let todo: Vec<(String, bool)> = pools
        .iter()
        .filter(|p| running.contains(&p.def.name))
        .map(|p| (p.def.name.clone(), true))
        .chain(
            pools
                .iter()
                .filter(|p| autostart && p.autostart && !p.active && !running.contains(&p.def.name))
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

/// `virConnectFindStoragePoolSources` through the type's backend.
pub fn find_sources(pool_type: &str, spec: Option<&str>, flags: u32) -> SResult<String> {
    check_flags(flags, 0, "storageConnectFindStoragePoolSources")?;
    backend::of_type(pool_type)?.find_sources(pool_type, spec, flags)
}
