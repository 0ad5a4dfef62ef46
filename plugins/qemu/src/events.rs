//! Domain events, sent to every open connection of the driver.

use rvirt_plugin_api::host::{emit_domain_lifecycle, emit_domain_metadata_change, emit_event};
use rvirt_plugin_api::protocol::{
    remote_proc, RemoteDomainEventCallbackRebootMsg, RemoteDomainEventRebootMsg,
    RemoteNonnullDomain, REMOTE_PROGRAM_NUMBER,
};

/// An open connection that receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub driver: u32,
    pub handle: u64,
}

pub use rvirt_plugin_api::protocol::facts::domain_event as ev;

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Lifecycle(RemoteNonnullDomain, i32, i32),
    Reboot(RemoteNonnullDomain),
    /// The title, description (nsuri None) or a metadata element changed.
    MetadataChange(RemoteNonnullDomain, i32, Option<String>),
    /// A device was unplugged (its alias).
    DeviceRemoved(RemoteNonnullDomain, String),
    /// A device was hotplugged (its alias).
    DeviceAdded(RemoteNonnullDomain, String),
    /// The guest agent connected or disconnected (state, reason:
    /// `facts::agent_lifecycle`).
    AgentLifecycle(RemoteNonnullDomain, i32, i32),
    /// The balloon's actual size changed (KiB).
    BalloonChange(RemoteNonnullDomain, u64),
    /// A block job changed state: the disk's source path and target, the job type and
    /// status (`facts::block_job_type`, `facts::block_job_status`); sent as BLOCK_JOB and
    /// BLOCK_JOB_2.
    BlockJob {
        dom: RemoteNonnullDomain,
        path: String,
        dev: String,
        kind: i32,
        status: i32,
    },
    /// Any QMP event, for `qemu-monitor-event` subscribers (QEMU program message 6).
    Monitor {
        dom: RemoteNonnullDomain,
        event: String,
        seconds: i64,
        micros: u32,
        details: Option<String>,
    },
}

impl Event {
    pub fn send(&self, listeners: &[Listener]) {
        for l in listeners {
            self.send_one(l);
        }
    }

    fn send_one(&self, l: &Listener) {
        let p = REMOTE_PROGRAM_NUMBER;
        match self {
            Event::Lifecycle(d, event, detail) => {
                emit_domain_lifecycle(l.driver, l.handle, d, *event, *detail);
            }
            Event::Reboot(d) => {
                let msg = RemoteDomainEventCallbackRebootMsg {
                    callback_id: 0,
                    msg: RemoteDomainEventRebootMsg { dom: d.clone() },
                };
                emit_event(
                    l.driver,
                    l.handle,
                    p,
                    remote_proc::DOMAIN_EVENT_CALLBACK_REBOOT,
                    &msg,
                );
            }
            Event::DeviceRemoved(d, alias) => {
                let msg = rvirt_plugin_api::protocol::RemoteDomainEventCallbackDeviceRemovedMsg {
                    callback_id: 0,
                    msg: rvirt_plugin_api::protocol::RemoteDomainEventDeviceRemovedMsg {
                        dom: d.clone(),
                        dev_alias: alias.clone(),
                    },
                };
                emit_event(
                    l.driver,
                    l.handle,
                    p,
                    remote_proc::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED,
                    &msg,
                );
            }
            Event::DeviceAdded(d, alias) => {
                let msg = rvirt_plugin_api::protocol::RemoteDomainEventCallbackDeviceAddedMsg {
                    callback_id: 0,
                    dom: d.clone(),
                    dev_alias: alias.clone(),
                };
                emit_event(
                    l.driver,
                    l.handle,
                    p,
                    remote_proc::DOMAIN_EVENT_CALLBACK_DEVICE_ADDED,
                    &msg,
                );
            }
            Event::BalloonChange(d, actual) => {
                let msg = rvirt_plugin_api::protocol::RemoteDomainEventCallbackBalloonChangeMsg {
                    callback_id: 0,
                    msg: rvirt_plugin_api::protocol::RemoteDomainEventBalloonChangeMsg {
                        dom: d.clone(),
                        actual: *actual,
                    },
                };
                emit_event(
                    l.driver,
                    l.handle,
                    p,
                    remote_proc::DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE,
                    &msg,
                );
            }
            Event::AgentLifecycle(d, state, reason) => {
                let msg = rvirt_plugin_api::protocol::RemoteDomainEventCallbackAgentLifecycleMsg {
                    callback_id: 0,
                    dom: d.clone(),
                    state: *state,
                    reason: *reason,
                };
                emit_event(
                    l.driver,
                    l.handle,
                    p,
                    remote_proc::DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE,
                    &msg,
                );
            }
            Event::BlockJob {
                dom,
                path,
                dev,
                kind,
                status,
            } => send_block_job(l, dom, path, dev, *kind, *status),
            Event::MetadataChange(d, kind, nsuri) => {
                emit_domain_metadata_change(l.driver, l.handle, d, *kind, nsuri.clone());
            }
            Event::Monitor {
                dom,
                event,
                seconds,
                micros,
                details,
            } => {
                let msg = rvirt_plugin_api::protocol::QemuDomainMonitorEventMsg {
                    callback_id: 0,
                    dom: dom.clone(),
                    event: event.clone(),
                    seconds: *seconds,
                    micros: *micros,
                    details: details.clone(),
                };
                emit_event(
                    l.driver,
                    l.handle,
                    rvirt_plugin_api::protocol::QEMU_PROGRAM_NUMBER,
                    rvirt_plugin_api::protocol::qemu_proc::DOMAIN_MONITOR_EVENT,
                    &msg,
                );
            }
        }
    }
}

/// BLOCK_JOB (by source path) then BLOCK_JOB_2 (by target), as libvirt sends both.
fn send_block_job(
    l: &Listener,
    dom: &RemoteNonnullDomain,
    path: &str,
    dev: &str,
    kind: i32,
    status: i32,
) {
    use rvirt_plugin_api::protocol::{
        RemoteDomainEventBlockJob2Msg, RemoteDomainEventBlockJobMsg,
        RemoteDomainEventCallbackBlockJobMsg,
    };
    let msg = RemoteDomainEventCallbackBlockJobMsg {
        callback_id: 0,
        msg: RemoteDomainEventBlockJobMsg {
            dom: dom.clone(),
            path: path.to_string(),
            r#type: kind,
            status,
        },
    };
    let p = REMOTE_PROGRAM_NUMBER;
    emit_event(
        l.driver,
        l.handle,
        p,
        remote_proc::DOMAIN_EVENT_CALLBACK_BLOCK_JOB,
        &msg,
    );
    let msg = RemoteDomainEventBlockJob2Msg {
        callback_id: 0,
        dom: dom.clone(),
        dst: dev.to_string(),
        r#type: kind,
        status,
    };
    emit_event(
        l.driver,
        l.handle,
        p,
        remote_proc::DOMAIN_EVENT_BLOCK_JOB_2,
        &msg,
    );
}
