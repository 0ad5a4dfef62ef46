//! Lifecycle events, sent to every open connection of the right kind.

use rvirt_plugin_api::host::{emit_domain_lifecycle, emit_event};
use rvirt_plugin_api::protocol::{
    remote_proc, DriverKind, RemoteNetworkEventLifecycleMsg, RemoteNodeDeviceEventLifecycleMsg,
    RemoteNonnullDomain, RemoteNonnullNetwork, RemoteNonnullNodeDevice, RemoteNonnullStoragePool,
    RemoteStoragePoolEventLifecycleMsg, REMOTE_PROGRAM_NUMBER,
};

use crate::state::Listener;

/// Domain event types and details (`virDomainEventType` and friends).
pub mod dom {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const SUSPENDED: i32 = 3;
    pub const RESUMED: i32 = 4;
    pub const STOPPED: i32 = 5;

    pub const DEFINED_ADDED: i32 = 0;
    pub const DEFINED_UPDATED: i32 = 1;
    pub const STARTED_BOOTED: i32 = 0;
    pub const STARTED_FROM_SNAPSHOT: i32 = 3;
    pub const SUSPENDED_PAUSED: i32 = 0;
    pub const SUSPENDED_FROM_SNAPSHOT: i32 = 5;
    pub const RESUMED_UNPAUSED: i32 = 0;
    pub const STOPPED_SHUTDOWN: i32 = 0;
    pub const STOPPED_DESTROYED: i32 = 1;
    pub const STOPPED_SAVED: i32 = 4;
    pub const STOPPED_FROM_SNAPSHOT: i32 = 6;
}

/// Network and storage pool event types (same numbering for both, pools add two).
pub mod obj {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const STOPPED: i32 = 3;
    pub const POOL_CREATED: i32 = 4;
    pub const POOL_DELETED: i32 = 5;
}

/// Node device event types.
pub mod dev {
    pub const CREATED: i32 = 0;
    pub const DELETED: i32 = 1;
}

/// One lifecycle event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Domain(RemoteNonnullDomain, i32, i32),
    Network(RemoteNonnullNetwork, i32),
    Pool(RemoteNonnullStoragePool, i32),
    Device(String, i32),
}

impl Event {
    fn kind(&self) -> DriverKind {
        match self {
            Event::Domain(..) => DriverKind::Hypervisor,
            Event::Network(..) => DriverKind::Network,
            Event::Pool(..) => DriverKind::Storage,
            Event::Device(..) => DriverKind::NodeDevice,
        }
    }

    /// Sends the event to every listener of the matching driver kind.
    pub fn send(&self, listeners: &[Listener]) {
        for l in listeners.iter().filter(|l| l.kind == self.kind()) {
            self.send_one(l);
        }
    }

    fn send_one(&self, l: &Listener) {
        let p = REMOTE_PROGRAM_NUMBER;
        match self {
            Event::Domain(d, event, detail) => {
                emit_domain_lifecycle(l.driver, l.handle, d, *event, *detail);
            }
            Event::Network(n, event) => {
                let msg = RemoteNetworkEventLifecycleMsg {
                    callback_id: 0,
                    net: n.clone(),
                    event: *event,
                    detail: 0,
                };
                emit_event(
                    l.driver,
                    l.handle,
                    p,
                    remote_proc::NETWORK_EVENT_LIFECYCLE,
                    &msg,
                );
            }
            Event::Pool(pool, event) => {
                let msg = RemoteStoragePoolEventLifecycleMsg {
                    callback_id: 0,
                    pool: pool.clone(),
                    event: *event,
                    detail: 0,
                };
                emit_event(
                    l.driver,
                    l.handle,
                    p,
                    remote_proc::STORAGE_POOL_EVENT_LIFECYCLE,
                    &msg,
                );
            }
            Event::Device(name, event) => {
                let msg = RemoteNodeDeviceEventLifecycleMsg {
                    callback_id: 0,
                    dev: RemoteNonnullNodeDevice { name: name.clone() },
                    event: *event,
                    detail: 0,
                };
                emit_event(
                    l.driver,
                    l.handle,
                    p,
                    remote_proc::NODE_DEVICE_EVENT_LIFECYCLE,
                    &msg,
                );
            }
        }
    }
}
