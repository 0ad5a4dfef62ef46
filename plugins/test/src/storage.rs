//! Storage pools and volumes kept in memory; pool allocation tracks its volumes.

use rvirt_plugin_api::protocol::{
    RemoteNonnullStoragePool, RemoteNonnullStorageVol, RemoteStoragePoolGetInfoRet,
};
use rvirt_xml::storage::{StoragePoolDef, StorageVolDef};
use rvirt_xml::ParseOptions;

use crate::error::{check_flags, parse_error, TestError, TestResult};
use crate::events::{pool_event as ev, Event};
use crate::state::{new_pool, place_vol, Inner, Pool};
use crate::store::Key;
use rvirt_plugin_api::sdk::domain;

const POOL_RUNNING: u8 = 2;
const POOL_INACTIVE: u8 = 0;

pub fn pool_ref(p: &Pool) -> RemoteNonnullStoragePool {
    RemoteNonnullStoragePool {
        name: p.def.name.clone(),
        uuid: p.def.uuid.0,
    }
}

pub fn vol_ref(p: &Pool, v: &StorageVolDef) -> RemoteNonnullStorageVol {
    RemoteNonnullStorageVol {
        pool: p.def.name.clone(),
        name: v.name.clone(),
        key: v.key.clone().unwrap_or_default(),
    }
}

fn no_pool(name: &str) -> TestError {
    TestError::NoPool(format!("no storage pool with matching name '{name}'"))
}

fn no_vol(name: &str) -> TestError {
    TestError::NoVol(format!("no storage vol with matching name '{name}'"))
}

pub fn pool_index(s: &Inner, name: &str) -> TestResult<Key> {
    s.pools
        .key_by_name(name)
        .ok_or_else(|| no_pool(name).into())
}

pub fn pool<'a>(s: &'a Inner, name: &str) -> TestResult<&'a Pool> {
    Ok(&s.pools[pool_index(s, name)?])
}

fn pool_mut<'a>(s: &'a mut Inner, name: &str) -> TestResult<&'a mut Pool> {
    let i = pool_index(s, name)?;
    Ok(&mut s.pools[i])
}

pub(crate) fn active_pool_mut<'a>(s: &'a mut Inner, name: &str) -> TestResult<&'a mut Pool> {
    let p = pool_mut(s, name)?;
    if !p.active {
        return Err(TestError::Invalid(format!("storage pool '{name}' is not active")).into());
    }
    Ok(p)
}

fn active_pool<'a>(s: &'a Inner, name: &str) -> TestResult<&'a Pool> {
    let p = pool(s, name)?;
    if !p.active {
        return Err(TestError::Invalid(format!("storage pool '{name}' is not active")).into());
    }
    Ok(p)
}

fn inactive_pool_index(s: &Inner, name: &str) -> TestResult<Key> {
    let i = pool_index(s, name)?;
    if s.pools[i].active {
        return Err(TestError::Invalid(format!("storage pool '{name}' is active")).into());
    }
    Ok(i)
}

pub fn lookup_uuid(s: &Inner, uuid: &[u8; 16]) -> TestResult<RemoteNonnullStoragePool> {
    s.pools.by_uuid(uuid).map(pool_ref).ok_or_else(|| {
        let u = rvirt_xml::Uuid(*uuid);
        TestError::NoPool(format!("no storage pool with matching uuid '{u}'")).into()
    })
}

/// Adds a pool definition, refusing name/UUID clashes like libvirt.
fn assign(s: &mut Inner, def: StoragePoolDef, live: bool) -> TestResult<Key> {
    if let Some(i) = s.pools.key_by_uuid(&def.uuid.0) {
        let p = &mut s.pools[i];
        if p.def.name != def.name {
            let msg = format!(
                "pool '{}' is already defined with uuid {}",
                p.def.name, p.def.uuid
            );
            return Err(TestError::ConfFailed(msg).into());
        }
        if live && p.active {
            return Err(TestError::ConfInvalid(format!(
                "pool is already active as '{}'",
                p.def.name
            ))
            .into());
        }
        let vols = std::mem::take(&mut p.vols);
        let keep = (p.persistent, p.autostart);
        *p = new_pool(def, vols);
        (p.persistent, p.autostart) = keep;
        p.active = false;
        return Ok(i);
    }
    if let Some(p) = s.pools.by_name(&def.name) {
        let msg = format!(
            "pool '{}' already exists with uuid {}",
            def.name, p.def.uuid
        );
        return Err(TestError::ConfFailed(msg).into());
    }
    let mut p = new_pool(def, Vec::new());
    p.active = false;
    p.persistent = false;
    Ok(s.pools.insert(p))
}

/// `VIR_STORAGE_POOL_DEFINE_VALIDATE`.
const POOL_DEFINE_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::DEFINE_VALIDATE;
/// `VIR_STORAGE_VOL_CREATE_VALIDATE`.
const VOL_CREATE_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::vol_create::VALIDATE;

fn parse_pool(xml: &str, validate: bool) -> TestResult<StoragePoolDef> {
    let opts = ParseOptions::validate(validate);
    StoragePoolDef::parse_with(xml, opts).map_err(parse_error(domain::STORAGE))
}

pub fn define(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    xml: &str,
    flags: u32,
) -> TestResult<RemoteNonnullStoragePool> {
    check_flags(flags, POOL_DEFINE_VALIDATE, "testStoragePoolDefineXML")?;
    let i = assign(
        s,
        parse_pool(xml, flags & POOL_DEFINE_VALIDATE != 0)?,
        false,
    )?;
    let p = &mut s.pools[i];
    p.persistent = true;
    evs.push(Event::Pool(pool_ref(p), ev::DEFINED));
    Ok(pool_ref(p))
}

pub fn create_xml(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    xml: &str,
    flags: u32,
) -> TestResult<RemoteNonnullStoragePool> {
    check_flags(flags, 0x7, "testStoragePoolCreateXML")?;
    let i = assign(s, parse_pool(xml, false)?, true)?;
    let p = &mut s.pools[i];
    p.active = true;
    evs.push(Event::Pool(pool_ref(p), ev::STARTED));
    Ok(pool_ref(p))
}

pub fn start(s: &mut Inner, evs: &mut Vec<Event>, name: &str, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testStoragePoolCreate")?;
    let i = inactive_pool_index(s, name)?;
    s.pools[i].active = true;
    evs.push(Event::Pool(pool_ref(&s.pools[i]), ev::STARTED));
    Ok(())
}

pub fn build(s: &mut Inner, evs: &mut Vec<Event>, name: &str, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testStoragePoolBuild")?;
    let i = inactive_pool_index(s, name)?;
    evs.push(Event::Pool(pool_ref(&s.pools[i]), ev::CREATED));
    Ok(())
}

pub fn delete(s: &mut Inner, evs: &mut Vec<Event>, name: &str, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testStoragePoolDelete")?;
    let i = inactive_pool_index(s, name)?;
    evs.push(Event::Pool(pool_ref(&s.pools[i]), ev::DELETED));
    Ok(())
}

pub fn undefine(s: &mut Inner, evs: &mut Vec<Event>, name: &str) -> TestResult<()> {
    let i = inactive_pool_index(s, name)?;
    evs.push(Event::Pool(pool_ref(&s.pools[i]), ev::UNDEFINED));
    s.pools.remove(i);
    Ok(())
}

pub fn destroy(s: &mut Inner, evs: &mut Vec<Event>, name: &str) -> TestResult<()> {
    let p = active_pool_mut(s, name)?;
    p.active = false;
    evs.push(Event::Pool(pool_ref(p), ev::STOPPED));
    let i = pool_index(s, name)?;
    if !s.pools[i].persistent {
        s.pools.remove(i);
    }
    Ok(())
}

pub fn refresh(s: &Inner, name: &str, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testStoragePoolRefresh")?;
    active_pool(s, name).map(|_| ())
}

pub fn info(s: &Inner, name: &str) -> TestResult<RemoteStoragePoolGetInfoRet> {
    let p = pool(s, name)?;
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

pub fn set_autostart(s: &mut Inner, name: &str, on: bool) -> TestResult<()> {
    pool_mut(s, name)?.autostart = on;
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

pub fn list_all(s: &Inner, flags: u32) -> TestResult<Vec<RemoteNonnullStoragePool>> {
    check_flags(flags, 0xfffff, "testConnectListAllStoragePools")?;
    Ok(s.pools
        .iter()
        .filter(|p| matches(p, flags))
        .map(pool_ref)
        .collect())
}

pub fn names(s: &Inner, active: bool, max: i32) -> Vec<String> {
    s.pools
        .iter()
        .filter(|p| p.active == active)
        .map(|p| p.def.name.clone())
        .take(max.max(0) as usize)
        .collect()
}

// ---- volumes ----

pub fn vol<'a>(
    s: &'a Inner,
    r: &RemoteNonnullStorageVol,
) -> TestResult<(&'a Pool, &'a StorageVolDef)> {
    let p = active_pool(s, &r.pool)?;
    let v = p
        .vols
        .iter()
        .find(|v| v.name == r.name)
        .ok_or_else(|| no_vol(&r.name))?;
    Ok((p, v))
}

pub fn vols(s: &Inner, pool_name: &str) -> TestResult<Vec<RemoteNonnullStorageVol>> {
    let p = active_pool(s, pool_name)?;
    Ok(p.vols.iter().map(|v| vol_ref(p, v)).collect())
}

pub fn vol_by_name(s: &Inner, pool_name: &str, name: &str) -> TestResult<RemoteNonnullStorageVol> {
    let p = active_pool(s, pool_name)?;
    p.vols
        .iter()
        .find(|v| v.name == name)
        .map(|v| vol_ref(p, v))
        .ok_or_else(|| no_vol(name).into())
}

/// Finds a volume in any active pool by key or by path.
pub fn vol_where(s: &Inner, key: bool, what: &str) -> TestResult<RemoteNonnullStorageVol> {
    for p in s.pools.iter().filter(|p| p.active) {
        let hit = p.vols.iter().find(|v| if key { v.key.as_deref() } else { v.target_path.as_deref() } == Some(what));
        if let Some(v) = hit {
            return Ok(vol_ref(p, v));
        }
    }
    let kind = if key { "key" } else { "path" };
    Err(TestError::NoVol(format!("no storage vol with matching {kind} '{what}'")).into())
}

pub(crate) fn recount(p: &mut Pool) {
    p.def.allocation = p.vols.iter().map(|v| v.allocation).sum();
    p.def.available = p.def.capacity.saturating_sub(p.def.allocation);
}

/// STORAGE_VOL_CREATE_XML(_FROM): `clone_of` names the source volume of a copy.
pub fn vol_create(
    s: &mut Inner,
    pool_name: &str,
    xml: &str,
    clone_of: Option<&str>,
    flags: u32,
) -> TestResult<RemoteNonnullStorageVol> {
    let func = if clone_of.is_some() {
        "testStorageVolCreateXMLFrom"
    } else {
        "testStorageVolCreateXML"
    };
    // libvirt's test driver takes only the validate flag here.
    check_flags(flags, VOL_CREATE_VALIDATE, func)?;
    let p = active_pool_mut(s, pool_name)?;
    let opts = ParseOptions::validate(flags & VOL_CREATE_VALIDATE != 0);
    let v = StorageVolDef::parse_with(xml, &p.def.pool_type, opts)
        .map_err(parse_error(domain::STORAGE))?;
    if p.vols.iter().any(|x| x.name == v.name) {
        return Err(TestError::Failed("storage vol already exists".into()).into());
    }
    if let Some(src) = clone_of {
        if !p.vols.iter().any(|x| x.name == src) {
            return Err(no_vol(src).into());
        }
    }
    if p.def.allocation + v.allocation > p.def.capacity {
        return Err(TestError::Internal(format!(
            "Not enough free space in pool for volume '{}'",
            v.name
        ))
        .into());
    }
    let target = p
        .def
        .target_path
        .clone()
        .unwrap_or_else(|| crate::state::NO_TARGET.into());
    let v = place_vol(&target, v);
    let r = vol_ref(p, &v);
    p.vols.push(v);
    recount(p);
    Ok(r)
}

pub fn vol_delete(s: &mut Inner, r: &RemoteNonnullStorageVol, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testStorageVolDelete")?;
    let p = active_pool_mut(s, &r.pool)?;
    let i = p
        .vols
        .iter()
        .position(|v| v.name == r.name)
        .ok_or_else(|| no_vol(&r.name))?;
    p.vols.remove(i);
    p.data.remove(&r.name);
    recount(p);
    Ok(())
}

pub fn vol_wipe(s: &Inner, r: &RemoteNonnullStorageVol, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testStorageVolWipe")?;
    vol(s, r).map(|_| ())
}

const RESIZE_ALLOCATE: u32 = rvirt_plugin_api::protocol::facts::vol_resize::ALLOCATE;
const RESIZE_DELTA: u32 = rvirt_plugin_api::protocol::facts::vol_resize::DELTA;
const RESIZE_SHRINK: u32 = rvirt_plugin_api::protocol::facts::vol_resize::SHRINK;

/// STORAGE_VOL_RESIZE: new capacity; ALLOCATE also allocates it from the pool.
pub fn vol_resize(
    s: &mut Inner,
    r: &RemoteNonnullStorageVol,
    capacity: u64,
    flags: u32,
) -> TestResult<()> {
    check_flags(
        flags,
        RESIZE_ALLOCATE | RESIZE_DELTA | RESIZE_SHRINK,
        "testStorageVolResize",
    )?;
    let p = active_pool_mut(s, &r.pool)?;
    let (free, i) = (
        p.def.available,
        p.vols
            .iter()
            .position(|v| v.name == r.name)
            .ok_or_else(|| no_vol(&r.name))?,
    );
    let v = &mut p.vols[i];
    let want = if flags & RESIZE_DELTA != 0 {
        if flags & RESIZE_SHRINK != 0 {
            v.capacity.saturating_sub(capacity)
        } else {
            v.capacity + capacity
        }
    } else {
        capacity
    };
    if want < v.capacity && flags & RESIZE_SHRINK == 0 {
        return Err(TestError::InvalidArg(
            "Can't shrink capacity below current capacity unless shrink flag explicitly specified"
                .into(),
        )
        .into());
    }
    if flags & RESIZE_ALLOCATE != 0 && want > v.allocation && want - v.allocation > free {
        return Err(TestError::InvalidArg("Not enough space left in storage pool".into()).into());
    }
    v.capacity = want;
    if flags & RESIZE_ALLOCATE != 0 || v.allocation > want {
        v.allocation = want;
    }
    if let Some(d) = p.data.get_mut(&r.name) {
        d.truncate(want);
    }
    recount(p);
    Ok(())
}

/// Volume type as the pool type implies it (`virStorageVolType`).
pub fn vol_type(pool_type: &str) -> i8 {
    match pool_type {
        "dir" | "fs" | "netfs" | "vstorage" => 0,
        "sheepdog" | "iscsi-direct" | "gluster" | "rbd" => 3,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Driver, DEFAULT_POOL_CAPACITY};

    const VOL: &str =
        "<volume><name>v1</name><capacity>1048576</capacity><allocation>4096</allocation></volume>";

    #[test]
    fn volume_accounting() {
        let d = Driver::new_default();
        d.write(|s, _| {
            let r = vol_create(s, "default-pool", VOL, None, 0)?;
            assert_eq!(r.key, "/default-pool/v1");
            let i = info(s, "default-pool")?;
            assert_eq!(
                (i.allocation, i.available),
                (4096, DEFAULT_POOL_CAPACITY - 4096)
            );
            assert_eq!(
                vol_create(s, "default-pool", VOL, None, 0)
                    .unwrap_err()
                    .text(),
                "operation failed: storage vol already exists"
            );
            let c = vol_create(s, "default-pool", &VOL.replace("v1", "v2"), Some("v1"), 0)?;
            assert_eq!(info(s, "default-pool")?.allocation, 8192);
            assert_eq!(vol_where(s, false, "/default-pool/v2")?, c);
            vol_resize(s, &c, 1 << 20, RESIZE_ALLOCATE)?;
            assert_eq!(info(s, "default-pool")?.allocation, 4096 + (1 << 20));
            vol_delete(s, &r, 0)?;
            vol_delete(s, &c, 0)?;
            assert_eq!(info(s, "default-pool")?.allocation, 0);
            let huge = VOL.replace(
                "<allocation>4096",
                &format!("<allocation>{}", DEFAULT_POOL_CAPACITY + 1),
            );
            assert_eq!(
                vol_create(s, "default-pool", &huge, None, 0)
                    .unwrap_err()
                    .code,
                1
            );
            Ok(())
        })
        .unwrap();
    }

    /// Volumes take their format rules and paths from their pool's type, as in
    /// libvirt's test driver (`(null)` stands for a network pool's missing target).
    #[test]
    fn volumes_follow_their_pool_type() {
        let d = Driver::new_default();
        d.write(|s, e| {
            let pools = [
                ("<pool type='rbd'><name>r</name><source><name>r</name><host name='h'/></source></pool>", "(null)/v", Some("raw")),
                ("<pool type='logical'><name>l</name><source><name>vg</name></source></pool>", "/dev/vg/v", None),
                ("<pool type='disk'><name>d</name><source><device path='/x'/></source><target><path>/p</path></target></pool>", "/p/v", Some("none")),
            ];
            for (xml, path, format) in pools {
                let p = create_xml(s, e, xml, 0)?;
                vol_create(s, &p.name, "<volume><name>v</name><capacity>1</capacity></volume>", None, 0)?;
                let v = &pool(s, &p.name)?.vols[0];
                assert_eq!(v.target_path.as_deref(), Some(path));
                assert_eq!(v.format.as_deref(), format);
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn pool_lifecycle_and_filters() {
        let d = Driver::new_default();
        d.write(|s, e| {
            assert_eq!(list_all(s, 2 | (1 << 6))?.len(), 1);
            assert_eq!(list_all(s, 1 << 7)?.len(), 0);
            assert_eq!(
                undefine(s, e, "default-pool").unwrap_err().text(),
                "Requested operation is not valid: storage pool 'default-pool' is active"
            );
            destroy(s, e, "default-pool")?;
            assert_eq!(info(s, "default-pool")?.state, POOL_INACTIVE);
            assert!(vols(s, "default-pool").is_err());
            build(s, e, "default-pool", 0)?;
            start(s, e, "default-pool", 0)?;
            destroy(s, e, "default-pool")?;
            undefine(s, e, "default-pool")?;
            assert_eq!(pool(s, "default-pool").unwrap_err().code, 49);
            assert_eq!(e.len(), 5);
            Ok(())
        })
        .unwrap();
    }
}
