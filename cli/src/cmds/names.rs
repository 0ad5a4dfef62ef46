//! Display names of libvirt enumerations, as virsh prints them.

use rvirt_protocol::RemoteTypedParamValue;

pub fn domain_state(s: i32) -> &'static str {
    match s {
        1 => "running",
        2 => "idle",
        3 => "paused",
        4 => "in shutdown",
        5 => "shut off",
        6 => "crashed",
        7 => "pmsuspended",
        _ => "no state",
    }
}

const RUNNING: &[&str] = &[
    "unknown",
    "booted",
    "migrated",
    "restored",
    "from snapshot",
    "unpaused",
    "migration canceled",
    "save canceled",
    "event wakeup",
    "crashed",
    "post-copy",
    "post-copy failed",
];
const PAUSED: &[&str] = &[
    "unknown",
    "user",
    "migrating",
    "saving",
    "dumping",
    "I/O error",
    "watchdog",
    "from snapshot",
    "shutting down",
    "creating snapshot",
    "crashed",
    "starting up",
    "post-copy",
    "post-copy failed",
];
const SHUTDOWN: &[&str] = &["unknown", "user"];
const SHUTOFF: &[&str] = &[
    "unknown",
    "shutdown",
    "destroyed",
    "crashed",
    "migrated",
    "saved",
    "failed",
    "from snapshot",
    "daemon",
];
const CRASHED: &[&str] = &["unknown", "panicked"];

pub fn state_reason(state: i32, reason: i32) -> &'static str {
    let table: &[&str] = match state {
        1 => RUNNING,
        3 => PAUSED,
        4 => SHUTDOWN,
        5 => SHUTOFF,
        6 => CRASHED,
        _ => &["unknown"],
    };
    usize::try_from(reason)
        .ok()
        .and_then(|r| table.get(r))
        .copied()
        .unwrap_or("unknown")
}

/// `pool-event --list`, in event id order.
pub const POOL_EVENTS: &[&str] = &["lifecycle", "refresh"];
/// `net-event --list` (libvirt 9.8 added `metadata-change`), in event id order.
pub const NETWORK_EVENTS: &[&str] = &["lifecycle", "metadata-change"];
/// `nodedev-event --list`, in event id order.
pub const NODE_DEVICE_EVENTS: &[&str] = &["lifecycle", "update"];

fn word(words: &[&'static str], i: i32) -> &'static str {
    usize::try_from(i)
        .ok()
        .and_then(|i| words.get(i))
        .copied()
        .unwrap_or("unknown")
}

/// A storage pool lifecycle event, as `pool-event` prints it.
pub fn pool_event_word(event: i32) -> &'static str {
    word(
        &[
            "Defined",
            "Undefined",
            "Started",
            "Stopped",
            "Created",
            "Deleted",
        ],
        event,
    )
}

/// A network lifecycle event, as `net-event` prints it.
pub fn network_event_word(event: i32) -> &'static str {
    word(&["Defined", "Undefined", "Started", "Stopped"], event)
}

/// A node device lifecycle event, as `nodedev-event` prints it.
pub fn node_device_event_word(event: i32) -> &'static str {
    word(&["Created", "Deleted", "Defined", "Undefined"], event)
}

/// Lifecycle event type and detail, as `event` prints them.
pub fn lifecycle(event: i32, detail: i32) -> (&'static str, &'static str) {
    const TYPES: &[&str] = &[
        "Defined",
        "Undefined",
        "Started",
        "Suspended",
        "Resumed",
        "Stopped",
        "Shutdown",
        "PMSuspended",
        "Crashed",
    ];
    let details: &[&str] = match event {
        0 => &["Added", "Updated", "Renamed", "Snapshot"],
        1 => &["Removed", "Renamed"],
        2 => &["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"],
        3 => &[
            "Paused",
            "Migrated",
            "I/O Error",
            "Watchdog",
            "Restored",
            "Snapshot",
            "API error",
            "Post-copy",
            "Post-copy Error",
        ],
        4 => &[
            "Unpaused",
            "Migrated",
            "Snapshot",
            "Post-copy",
            "Post-copy Error",
        ],
        5 => &[
            "Shutdown",
            "Destroyed",
            "Crashed",
            "Migrated",
            "Saved",
            "Failed",
            "Snapshot",
        ],
        6 => &[
            "Finished",
            "Finished after guest request",
            "Finished after host request",
        ],
        7 => &["Memory", "Disk"],
        8 => &["Panicked", "Crashloaded"],
        _ => &[],
    };
    let get = |t: &[&'static str], i: i32| {
        usize::try_from(i)
            .ok()
            .and_then(|i| t.get(i))
            .copied()
            .unwrap_or("unknown")
    };
    (get(TYPES, event), get(details, detail))
}

/// Domain event ids and their names, in libvirt's numbering.
pub const DOMAIN_EVENTS: &[&str] = &[
    "lifecycle",
    "reboot",
    "rtc-change",
    "watchdog",
    "io-error",
    "graphics",
    "io-error-reason",
    "control-error",
    "block-job",
    "disk-change",
    "tray-change",
    "pm-wakeup",
    "pm-suspend",
    "balloon-change",
    "pm-suspend-disk",
    "device-removed",
    "block-job-2",
    "tunable",
    "agent-lifecycle",
    "device-added",
    "migration-iteration",
    "job-completed",
    "device-removal-failed",
    "metadata-change",
    "block-threshold",
    "memory-failure",
    "memory-device-size-change",
];

pub fn pool_state(s: i32) -> &'static str {
    match s {
        0 => "inactive",
        1 => "building",
        2 => "running",
        3 => "degraded",
        4 => "inaccessible",
        _ => "unknown",
    }
}

pub fn vol_type(t: i32) -> &'static str {
    match t {
        0 => "file",
        1 => "block",
        2 => "dir",
        3 => "network",
        4 => "netdir",
        5 => "ploop",
        _ => "unknown",
    }
}

/// A typed parameter's value as virsh prints it.
pub fn typed_value(v: &RemoteTypedParamValue) -> String {
    match v {
        RemoteTypedParamValue::Int(x) => x.to_string(),
        RemoteTypedParamValue::Uint(x) => x.to_string(),
        RemoteTypedParamValue::Llong(x) => x.to_string(),
        RemoteTypedParamValue::Ullong(x) => x.to_string(),
        RemoteTypedParamValue::Double(x) => format!("{x:.6}"),
        RemoteTypedParamValue::Boolean(b) => (if *b != 0 { "yes" } else { "no" }).to_string(),
        RemoteTypedParamValue::String(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(domain_state(5), "shut off");
        assert_eq!(state_reason(1, 1), "booted");
        assert_eq!(state_reason(5, 99), "unknown");
        assert_eq!(lifecycle(5, 1), ("Stopped", "Destroyed"));
        assert_eq!(DOMAIN_EVENTS.len(), 27);
        assert_eq!(typed_value(&RemoteTypedParamValue::Boolean(1)), "yes");
    }
}
