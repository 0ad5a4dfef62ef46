//! Event routing from driver modules to whoever holds the connection (a daemon client
//! session or an embedded client), and callback bookkeeping shared by both.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, Weak};

use rvirt_protocol::{remote_proc, REMOTE_PROGRAM_NUMBER};

/// Receives event messages for one connection.
pub trait EventSink: Send + Sync {
    /// Called synchronously from driver code: must not block or call back into a driver.
    fn deliver(&self, program: u32, procedure: i32, payload: &[u8]);
}

type RouteKey = (u64, u32, u64);

static ROUTES: RwLock<Option<HashMap<RouteKey, Weak<dyn EventSink>>>> = RwLock::new(None);

/// Sends events of (module token, driver, handle) to `sink` until unsubscribed.
pub fn subscribe(token: u64, driver: u32, handle: u64, sink: Weak<dyn EventSink>) {
    let mut routes = ROUTES.write().unwrap_or_else(PoisonError::into_inner);
    routes
        .get_or_insert_with(HashMap::new)
        .insert((token, driver, handle), sink);
}

pub fn unsubscribe(token: u64, driver: u32, handle: u64) {
    let mut routes = ROUTES.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = routes.as_mut() {
        r.remove(&(token, driver, handle));
    }
}

/// Called by the host services when a module emits an event.
pub fn route(token: u64, driver: u32, handle: u64, program: u32, procedure: i32, payload: &[u8]) {
    let sink = {
        let routes = ROUTES.read().unwrap_or_else(PoisonError::into_inner);
        routes
            .as_ref()
            .and_then(|r| r.get(&(token, driver, handle)))
            .and_then(Weak::upgrade)
    };
    if let Some(s) = sink {
        s.deliver(program, procedure, payload);
    }
}

/// The object family an event registration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFamily {
    Domain,
    Network,
    StoragePool,
    NodeDevice,
    Secret,
    QemuMonitor,
}

impl EventFamily {
    /// The kind of driver whose events these are.
    pub fn driver_kind(self) -> rvirt_protocol::DriverKind {
        use rvirt_protocol::DriverKind as K;
        match self {
            EventFamily::Domain | EventFamily::QemuMonitor => K::Hypervisor,
            EventFamily::Network => K::Network,
            EventFamily::StoragePool => K::Storage,
            EventFamily::NodeDevice => K::NodeDevice,
            EventFamily::Secret => K::Secret,
        }
    }
}

/// Maps a callback-style event message procedure to (family, event id).
pub fn event_of(program: u32, procedure: i32) -> Option<(EventFamily, i32)> {
    use remote_proc as p;
    use rvirt_protocol::facts::network_event_id;
    if program != REMOTE_PROGRAM_NUMBER {
        return (program == rvirt_protocol::QEMU_PROGRAM_NUMBER
            && procedure == rvirt_protocol::qemu_proc::DOMAIN_MONITOR_EVENT)
            .then_some((EventFamily::QemuMonitor, 0));
    }
    const DOMAIN: &[(i32, i32)] = &[
        (p::DOMAIN_EVENT_CALLBACK_LIFECYCLE, 0),
        (p::DOMAIN_EVENT_CALLBACK_REBOOT, 1),
        (p::DOMAIN_EVENT_CALLBACK_RTC_CHANGE, 2),
        (p::DOMAIN_EVENT_CALLBACK_WATCHDOG, 3),
        (p::DOMAIN_EVENT_CALLBACK_IO_ERROR, 4),
        (p::DOMAIN_EVENT_CALLBACK_GRAPHICS, 5),
        (p::DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON, 6),
        (p::DOMAIN_EVENT_CALLBACK_CONTROL_ERROR, 7),
        (p::DOMAIN_EVENT_BLOCK_JOB_2, 16),
        (p::DOMAIN_EVENT_CALLBACK_BLOCK_JOB, 8),
        (p::DOMAIN_EVENT_CALLBACK_DISK_CHANGE, 9),
        (p::DOMAIN_EVENT_CALLBACK_TRAY_CHANGE, 10),
        (p::DOMAIN_EVENT_CALLBACK_PMWAKEUP, 11),
        (p::DOMAIN_EVENT_CALLBACK_PMSUSPEND, 12),
        (p::DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE, 13),
        (p::DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK, 14),
        (p::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED, 15),
        (p::DOMAIN_EVENT_CALLBACK_TUNABLE, 17),
        (p::DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE, 18),
        (p::DOMAIN_EVENT_CALLBACK_DEVICE_ADDED, 19),
        (p::DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION, 20),
        (p::DOMAIN_EVENT_CALLBACK_JOB_COMPLETED, 21),
        (p::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED, 22),
        (p::DOMAIN_EVENT_CALLBACK_METADATA_CHANGE, 23),
        (p::DOMAIN_EVENT_BLOCK_THRESHOLD, 24),
        (p::DOMAIN_EVENT_MEMORY_FAILURE, 25),
        (p::DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE, 26),
    ];
    if let Some((_, id)) = DOMAIN.iter().find(|(n, _)| *n == procedure) {
        return Some((EventFamily::Domain, *id));
    }
    Some(match procedure {
        p::NETWORK_EVENT_LIFECYCLE => (EventFamily::Network, network_event_id::LIFECYCLE),
        p::NETWORK_EVENT_CALLBACK_METADATA_CHANGE => {
            (EventFamily::Network, network_event_id::METADATA_CHANGE)
        }
        p::STORAGE_POOL_EVENT_LIFECYCLE => (EventFamily::StoragePool, 0),
        p::STORAGE_POOL_EVENT_REFRESH => (EventFamily::StoragePool, 1),
        p::NODE_DEVICE_EVENT_LIFECYCLE => (EventFamily::NodeDevice, 0),
        p::NODE_DEVICE_EVENT_UPDATE => (EventFamily::NodeDevice, 1),
        p::SECRET_EVENT_LIFECYCLE => (EventFamily::Secret, 0),
        p::SECRET_EVENT_VALUE_CHANGED => (EventFamily::Secret, 1),
        _ => return None,
    })
}

/// One registered callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub id: i32,
    pub family: EventFamily,
    pub event_id: i32,
    /// Only events for the object of this name.
    pub object: Option<String>,
    /// QEMU monitor events only: the event name to match (exactly, or ignoring ASCII case).
    pub monitor_event: Option<(String, bool)>,
}

/// `virConnectDomainQemuMonitorEventRegisterFlags`: match the name as a regex.
pub const MONITOR_EVENT_REGEX: u32 = rvirt_protocol::facts::qemu_monitor_event::REGEX;
/// ... ignoring case.
pub const MONITOR_EVENT_NOCASE: u32 = rvirt_protocol::facts::qemu_monitor_event::NOCASE;

/// The callbacks of one connection; ids are unique per connection.
#[derive(Debug, Default)]
pub struct Callbacks {
    next: i32,
    list: Vec<Callback>,
}

impl Callbacks {
    pub fn add(&mut self, family: EventFamily, event_id: i32, object: Option<String>) -> i32 {
        let id = self.next;
        self.next += 1;
        self.list.push(Callback {
            id,
            family,
            event_id,
            object,
            monitor_event: None,
        });
        id
    }

    /// Registers a QEMU monitor event callback, optionally for one domain and one event
    /// name (`nocase` compares ignoring ASCII case).
    pub fn add_monitor(
        &mut self,
        object: Option<String>,
        event: Option<String>,
        nocase: bool,
    ) -> i32 {
        let id = self.add(EventFamily::QemuMonitor, 0, object);
        if let Some(c) = self.list.last_mut() {
            c.monitor_event = event.map(|e| (e, nocase));
        }
        id
    }

    pub fn remove(&mut self, id: i32) -> Option<Callback> {
        let i = self.list.iter().position(|c| c.id == id)?;
        Some(self.list.remove(i))
    }

    /// For an event message (whose payload starts with the callback id and the object's
    /// name), the payloads to deliver: one per matching callback, id patched in.
    pub fn fan_out(&self, program: u32, procedure: i32, payload: &[u8]) -> Vec<Vec<u8>> {
        let Some((family, event_id)) = event_of(program, procedure) else {
            return Vec::new();
        };
        let object = object_name(payload);
        let monitor_event = (family == EventFamily::QemuMonitor)
            .then(|| {
                rvirt_protocol::xdr::from_bytes::<rvirt_protocol::QemuDomainMonitorEventMsg>(
                    payload,
                )
                .ok()
            })
            .flatten()
            .map(|m| m.event);
        self.list
            .iter()
            .filter(|c| c.family == family && c.event_id == event_id)
            .filter(|c| c.object.is_none() || c.object.as_deref() == object.as_deref())
            .filter(|c| match (&c.monitor_event, &monitor_event) {
                (None, _) => true,
                (Some((want, nocase)), Some(got)) => {
                    if *nocase {
                        want.eq_ignore_ascii_case(got)
                    } else {
                        want == got
                    }
                }
                (Some(_), None) => false,
            })
            .filter(|_| payload.len() >= 4)
            .map(|c| {
                let mut p = payload.to_vec();
                p[..4].copy_from_slice(&c.id.to_be_bytes());
                p
            })
            .collect()
    }
}

/// The object name that follows the callback id in every callback-style event message.
fn object_name(payload: &[u8]) -> Option<String> {
    let mut r = rvirt_protocol::Reader::new(payload.get(4..)?);
    rvirt_protocol::xdr::dec_string(&mut r, rvirt_protocol::xdr::STRING_MAX).ok()
}

/// A shared, cloneable sink handle.
pub type SharedSink = Arc<dyn EventSink>;

#[cfg(test)]
mod tests {
    use super::*;
    use rvirt_protocol::xdr::to_bytes;

    #[test]
    fn fan_out_patches_ids_and_filters_by_object() {
        let msg = rvirt_protocol::RemoteDomainEventCallbackLifecycleMsg {
            callback_id: 0,
            msg: rvirt_protocol::RemoteDomainEventLifecycleMsg {
                dom: rvirt_protocol::RemoteNonnullDomain {
                    name: "vm1".into(),
                    uuid: [1; 16],
                    id: 1,
                },
                event: 2,
                detail: 0,
            },
        };
        let payload = to_bytes(&msg);
        let mut cbs = Callbacks::default();
        let all = cbs.add(EventFamily::Domain, 0, None);
        let _other = cbs.add(EventFamily::Domain, 0, Some("vm2".into()));
        let reboot = cbs.add(EventFamily::Domain, 1, None);
        let out = cbs.fan_out(
            REMOTE_PROGRAM_NUMBER,
            remote_proc::DOMAIN_EVENT_CALLBACK_LIFECYCLE,
            &payload,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0][..4], &all.to_be_bytes());
        assert!(cbs.remove(reboot).is_some());
        assert!(cbs.remove(reboot).is_none());
    }

    #[test]
    fn network_metadata_changes_reach_metadata_callbacks_only() {
        let msg = rvirt_protocol::RemoteNetworkEventCallbackMetadataChangeMsg {
            callback_id: 0,
            net: rvirt_protocol::RemoteNonnullNetwork {
                name: "n1".into(),
                uuid: [2; 16],
            },
            r#type: 1,
            nsuri: None,
        };
        let payload = to_bytes(&msg);
        let mut cbs = Callbacks::default();
        let _lifecycle = cbs.add(EventFamily::Network, 0, None);
        let meta = cbs.add(EventFamily::Network, 1, Some("n1".into()));
        let _other = cbs.add(EventFamily::Network, 1, Some("n2".into()));
        let out = cbs.fan_out(
            REMOTE_PROGRAM_NUMBER,
            remote_proc::NETWORK_EVENT_CALLBACK_METADATA_CHANGE,
            &payload,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0][..4], &meta.to_be_bytes());
    }
}
