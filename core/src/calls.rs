//! Calls between modules: a module asks the host (host call `RVIRT_HOST_CALL_DRIVER`) to
//! run one procedure on a connection driver of another module, chosen by driver kind.
//! That is how a hypervisor driver resolves a `<disk type='volume'>` through the storage
//! driver without linking to it. The peers of a module are the modules of the registry
//! it was initialized in; each peer connection is opened once (read-write, privileged)
//! and kept for the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use rvirt_protocol::error::{code, domain};
use rvirt_protocol::{DriverKind, RemoteError, RvirtHostDriverCall, RvirtOpenArgs};

use crate::loader::{DriverInfo, LoadedModule};

/// Caller token → the modules of the registry the caller belongs to.
static PEERS: RwLock<Option<HashMap<u64, Vec<Weak<LoadedModule>>>>> = RwLock::new(None);

/// A peer connection: module token, driver index, URI.
type PeerKey = (u64, u32, String);

/// Open peer connections and their handles.
static CONNECTIONS: Mutex<Option<HashMap<PeerKey, u64>>> = Mutex::new(None);

/// Makes `modules` each other's peers (called by a registry before its state drivers
/// initialize, so a hypervisor driver can reach the storage driver at autostart).
pub fn publish(modules: &[Arc<LoadedModule>]) {
    let weak: Vec<Weak<LoadedModule>> = modules.iter().map(Arc::downgrade).collect();
    let mut peers = PEERS.write().unwrap_or_else(PoisonError::into_inner);
    let peers = peers.get_or_insert_with(HashMap::new);
    for m in modules {
        peers.insert(m.token, weak.clone());
    }
}

/// The libvirt error domain of a driver kind's objects, for errors about reaching it.
fn kind_domain(kind: DriverKind) -> i32 {
    match kind {
        DriverKind::Storage => domain::STORAGE,
        DriverKind::Network => domain::NETWORK,
        DriverKind::NodeDevice => domain::NODEDEV,
        DriverKind::Secret => domain::SECRET,
        DriverKind::NwFilter => domain::NWFILTER,
        DriverKind::Hypervisor | DriverKind::Interface => domain::NONE,
    }
}

/// The peer of `caller` with a `kind` driver that serves `scheme` and implements the
/// procedure: one naming the scheme before a catch-all one, as for a connection's own
/// secondary drivers, then in module order.
fn find_peer(
    caller: u64,
    kind: DriverKind,
    scheme: &str,
    req: &RvirtHostDriverCall,
) -> Option<(Arc<LoadedModule>, Arc<DriverInfo>)> {
    let peers = PEERS.read().unwrap_or_else(PoisonError::into_inner);
    let modules = peers.as_ref()?.get(&caller)?;
    let mut found: Vec<(Arc<LoadedModule>, Arc<DriverInfo>)> = modules
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|m| m.token != caller)
        .flat_map(|m| {
            m.drivers
                .iter()
                .filter(|d| {
                    d.kind == kind && d.serves(scheme) && d.implements(req.program, req.procedure)
                })
                .map(|d| (m.clone(), d.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort_by_key(|(_, d)| d.uri_schemes.is_empty());
    found.into_iter().next()
}

/// The kept connection of `driver` of `module` to `uri`, opened on first use.
fn connection(module: &LoadedModule, driver: &DriverInfo, uri: &str) -> Result<u64, RemoteError> {
    let key = (module.token, driver.index, uri.to_string());
    let mut conns = CONNECTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    let conns = conns.get_or_insert_with(HashMap::new);
    if let Some(h) = conns.get(&key) {
        return Ok(*h);
    }
    let args = RvirtOpenArgs {
        uri: uri.to_string(),
        flags: 0,
        read_only: false,
    };
    let ret = module.open(driver.index, &args)?;
    if ret.status == rvirt_protocol::RVIRT_OPEN_DECLINED as i32 {
        return Err(RemoteError::new(
            code::NO_CONNECT,
            kind_domain(driver.kind),
            format!(
                "the {} driver of module {} declined {uri}",
                driver.kind.name(),
                module.name
            ),
        ));
    }
    conns.insert(key, ret.handle);
    Ok(ret.handle)
}

/// Runs the call `req` of module `caller` on a peer driver; answers the reply payload.
pub fn driver_call(caller: u64, req: &RvirtHostDriverCall) -> Result<Vec<u8>, RemoteError> {
    let kind = DriverKind::from_code(req.kind).ok_or_else(|| {
        RemoteError::new(
            code::INTERNAL_ERROR,
            domain::NONE,
            format!("unknown driver kind {} in a host call", req.kind),
        )
    })?;
    let scheme = crate::uri::Uri::parse(&req.uri)
        .map(|u| u.driver)
        .unwrap_or_default();
    let (module, driver) = find_peer(caller, kind, &scheme, req).ok_or_else(|| {
        RemoteError::new(
            code::NO_SUPPORT,
            kind_domain(kind),
            format!(
                "no loaded {} driver module serves {} (procedure {} of program {:#x})",
                kind.name(),
                req.uri,
                req.procedure,
                req.program
            ),
        )
    })?;
    let handle = connection(&module, &driver, &req.uri)?;
    module.call(driver.index, handle, req.program, req.procedure, &req.args)
}
