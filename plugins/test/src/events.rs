//! Lifecycle events, sent to every open connection of the right kind.

use rvirt_plugin_api::host::{
    emit_domain_lifecycle, emit_domain_metadata_change, emit_event, emit_network_metadata_change,
};
use rvirt_plugin_api::protocol::{
    remote_proc, DriverKind, RemoteNetworkEventLifecycleMsg, RemoteNodeDeviceEventLifecycleMsg,
    RemoteNonnullDomain, RemoteNonnullNetwork, RemoteNonnullNodeDevice, RemoteNonnullStoragePool,
    RemoteStoragePoolEventLifecycleMsg, REMOTE_PROGRAM_NUMBER,
};

use crate::state::Listener;

pub use rvirt_plugin_api::protocol::facts::{
    domain_event as dom, network_event as obj, nodedev_event as dev, pool_event,
};

/// One lifecycle event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Domain(RemoteNonnullDomain, i32, i32),
    /// METADATA_CHANGE: the metadata type and, for an element, its namespace.
    Metadata(RemoteNonnullDomain, i32, Option<String>),
    Network(RemoteNonnullNetwork, i32),
    /// Network METADATA_CHANGE: the metadata type and, for an element, its namespace.
    NetMetadata(RemoteNonnullNetwork, i32, Option<String>),
    Pool(RemoteNonnullStoragePool, i32),
    Device(String, i32),
}

impl Event {
    fn kind(&self) -> DriverKind {
        match self {
            Event::Domain(..) | Event::Metadata(..) => DriverKind::Hypervisor,
            Event::Network(..) | Event::NetMetadata(..) => DriverKind::Network,
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
            Event::Metadata(d, kind, nsuri) => {
                emit_domain_metadata_change(l.driver, l.handle, d, *kind, nsuri.clone());
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
            Event::NetMetadata(n, kind, nsuri) => {
                emit_network_metadata_change(l.driver, l.handle, n, *kind, nsuri.clone());
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
