//! The driver's state: the host's devices and the connections that receive events.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rvirt_plugin_api::host::emit_event;
use rvirt_plugin_api::protocol::{
    remote_proc, RemoteNodeDeviceEventLifecycleMsg, RemoteNonnullNodeDevice, REMOTE_PROGRAM_NUMBER,
};

use crate::devices::{scan, Device};
use crate::pciids::PciIds;
use crate::sysfs::Roots;

/// `virNodeDeviceEventLifecycleType`.
pub mod ev {
    pub const CREATED: i32 = 0;
    pub const DELETED: i32 = 1;
}

/// An open connection that receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub driver: u32,
    pub handle: u64,
}

/// The shared state of every connection.
#[derive(Debug)]
pub struct Driver {
    roots: Roots,
    ids: PciIds,
    devices: Mutex<Vec<Device>>,
    listeners: Mutex<Vec<Listener>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Driver {
    /// Enumerates the devices under `roots`.
    pub fn new(roots: Roots) -> Driver {
        let ids = PciIds::load(&roots.pci_ids);
        let devices = scan(&roots, &ids);
        Driver {
            roots,
            ids,
            devices: Mutex::new(devices),
            listeners: Mutex::new(Vec::new()),
        }
    }

    /// The devices, locked.
    pub fn devices(&self) -> MutexGuard<'_, Vec<Device>> {
        lock(&self.devices)
    }

    pub fn add_listener(&self, l: Listener) {
        lock(&self.listeners).push(l);
    }

    pub fn remove_listener(&self, l: Listener) {
        lock(&self.listeners).retain(|x| *x != l);
    }

    /// Enumerates again; returns the names that appeared and those that went, and
    /// sends their CREATED / DELETED events.
    pub fn rescan(&self) -> (Vec<String>, Vec<String>) {
        let fresh = scan(&self.roots, &self.ids);
        let (added, removed) = {
            let mut cur = self.devices();
            let has = |v: &[Device], n: &str| v.iter().any(|d| d.def.name == n);
            let added: Vec<String> = fresh
                .iter()
                .filter(|d| !has(&cur, &d.def.name))
                .map(|d| d.def.name.clone())
                .collect();
            let removed: Vec<String> = cur
                .iter()
                .filter(|d| !has(&fresh, &d.def.name))
                .map(|d| d.def.name.clone())
                .collect();
            *cur = fresh;
            (added, removed)
        };
        let listeners = lock(&self.listeners).clone();
        for (names, event) in [(&removed, ev::DELETED), (&added, ev::CREATED)] {
            for n in names {
                send(&listeners, n, event);
            }
        }
        (added, removed)
    }
}

/// Sends one lifecycle event to each listener.
fn send(listeners: &[Listener], name: &str, event: i32) {
    let msg = RemoteNodeDeviceEventLifecycleMsg {
        callback_id: 0,
        dev: RemoteNonnullNodeDevice {
            name: name.to_string(),
        },
        event,
        detail: 0,
    };
    for l in listeners {
        let p = remote_proc::NODE_DEVICE_EVENT_LIFECYCLE;
        emit_event(l.driver, l.handle, REMOTE_PROGRAM_NUMBER, p, &msg);
    }
}
