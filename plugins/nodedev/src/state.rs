//! The driver's state: the host's devices and the connections that receive events.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rvirt_plugin_api::host::emit_event;
use rvirt_plugin_api::protocol::{
    remote_proc, RemoteNodeDeviceEventLifecycleMsg, RemoteNodeDeviceEventUpdateMsg,
    RemoteNonnullNodeDevice, REMOTE_PROGRAM_NUMBER,
};

use crate::devices::{scan, Device};
use crate::pciids::PciIds;
use crate::sysfs::Roots;

pub use rvirt_plugin_api::protocol::facts::nodedev_event as ev;

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

    /// Where detaching and re-attaching devices reads and writes.
    pub fn host(&self) -> crate::assign::Host {
        crate::assign::Host::new(&self.roots.sys)
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

    /// Enumerates again and sends the events of what changed: DELETED for devices that
    /// went, CREATED for new ones, an update for those whose definition changed.
    pub fn rescan(&self) -> Changes {
        let fresh = scan(&self.roots, &self.ids);
        let changes = {
            let mut cur = self.devices();
            let changes = Changes::between(&cur, &fresh);
            *cur = fresh;
            changes
        };
        let listeners = lock(&self.listeners).clone();
        for n in &changes.removed {
            send(&listeners, n, Some(ev::DELETED));
        }
        for n in &changes.added {
            send(&listeners, n, Some(ev::CREATED));
        }
        for n in &changes.updated {
            send(&listeners, n, None);
        }
        changes
    }
}

/// What a rescan found changed, by device name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub updated: Vec<String>,
}

impl Changes {
    /// The differences from `old` to `new`.
    pub fn between(old: &[Device], new: &[Device]) -> Changes {
        let find = |v: &'_ [Device], n: &str| v.iter().position(|d| d.def.name == n);
        let mut c = Changes::default();
        for d in new {
            match find(old, &d.def.name) {
                None => c.added.push(d.def.name.clone()),
                Some(i) if old[i].def != d.def => c.updated.push(d.def.name.clone()),
                Some(_) => {}
            }
        }
        c.removed = old
            .iter()
            .filter(|d| find(new, &d.def.name).is_none())
            .map(|d| d.def.name.clone())
            .collect();
        c
    }
}

/// Sends one lifecycle event (`Some(type)`) or update event (`None`) to each listener.
fn send(listeners: &[Listener], name: &str, event: Option<i32>) {
    let dev = RemoteNonnullNodeDevice {
        name: name.to_string(),
    };
    for l in listeners {
        match event {
            Some(event) => {
                let msg = RemoteNodeDeviceEventLifecycleMsg {
                    callback_id: 0,
                    dev: dev.clone(),
                    event,
                    detail: 0,
                };
                let p = remote_proc::NODE_DEVICE_EVENT_LIFECYCLE;
                emit_event(l.driver, l.handle, REMOTE_PROGRAM_NUMBER, p, &msg);
            }
            None => {
                let msg = RemoteNodeDeviceEventUpdateMsg {
                    callback_id: 0,
                    dev: dev.clone(),
                };
                let p = remote_proc::NODE_DEVICE_EVENT_UPDATE;
                emit_event(l.driver, l.handle, REMOTE_PROGRAM_NUMBER, p, &msg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvirt_xml::nodedev::NodeDeviceDef;

    fn dev(name: &str, parent: &str) -> Device {
        let mut def = NodeDeviceDef::new(name.to_string());
        def.parent = Some(parent.to_string());
        Device {
            def,
            sys_path: Default::default(),
        }
    }

    #[test]
    fn changes_between_scans() {
        let old = [
            dev("a", "computer"),
            dev("b", "computer"),
            dev("c", "computer"),
        ];
        let new = [dev("a", "computer"), dev("c", "b"), dev("d", "computer")];
        let c = Changes::between(&old, &new);
        assert_eq!(c.added, ["d"]);
        assert_eq!(c.removed, ["b"]);
        assert_eq!(c.updated, ["c"]);
        assert_eq!(Changes::between(&new, &new), Changes::default());
    }
}
