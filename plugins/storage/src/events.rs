//! Storage pool events, sent to every open connection of the driver.

use rvirt_plugin_api::host::emit_event;
use rvirt_plugin_api::protocol::{
    remote_proc, RemoteNonnullStoragePool, RemoteStoragePoolEventLifecycleMsg,
    RemoteStoragePoolEventRefreshMsg, REMOTE_PROGRAM_NUMBER,
};

/// An open connection that receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub driver: u32,
    pub handle: u64,
}

pub use rvirt_plugin_api::protocol::facts::pool_event as ev;

/// One pool event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Lifecycle(RemoteNonnullStoragePool, i32),
    Refresh(RemoteNonnullStoragePool),
}

impl Event {
    /// Sends the event to each listener.
    pub fn send(&self, listeners: &[Listener]) {
        for l in listeners {
            match self {
                Event::Lifecycle(pool, event) => {
                    let msg = RemoteStoragePoolEventLifecycleMsg {
                        callback_id: 0,
                        pool: pool.clone(),
                        event: *event,
                        detail: 0,
                    };
                    let proc_ = remote_proc::STORAGE_POOL_EVENT_LIFECYCLE;
                    emit_event(l.driver, l.handle, REMOTE_PROGRAM_NUMBER, proc_, &msg);
                }
                Event::Refresh(pool) => {
                    let msg = RemoteStoragePoolEventRefreshMsg {
                        callback_id: 0,
                        pool: pool.clone(),
                    };
                    let proc_ = remote_proc::STORAGE_POOL_EVENT_REFRESH;
                    emit_event(l.driver, l.handle, REMOTE_PROGRAM_NUMBER, proc_, &msg);
                }
            }
        }
    }
}
