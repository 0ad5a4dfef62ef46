//! `pool-event`, `net-event` and `nodedev-event`: wait for events of storage pools,
//! networks and node devices and print them as virsh does.

use rvirt_core::client::{Connect, Event};
use rvirt_protocol as p;
use rvirt_protocol::{RemoteArgs, RemoteClient};

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Opt};

use super::names::{
    network_event_word, node_device_event_word, pool_event_word, NETWORK_EVENTS,
    NODE_DEVICE_EVENTS, POOL_EVENTS,
};

/// The options of every object event command, `object` naming the filter option.
macro_rules! event_opts {
    ($object:literal, $help:literal) => {
        &[
            Opt::named($object, $help),
            Opt::named("event", "which event type to wait for"),
            Opt::flag(
                "loop",
                "loop until timeout or interrupt, rather than one-shot",
            ),
            Opt::int("timeout", "timeout seconds"),
            Opt::flag("list", "list valid event types"),
            Opt::flag("timestamp", "show timestamp for each printed event"),
        ]
    };
}

pub const POOL_OPTS: &[Opt] = event_opts!("pool", "filter by storage pool name or uuid");
pub const NET_OPTS: &[Opt] = event_opts!("network", "filter by network name or uuid");
pub const NODEDEV_OPTS: &[Opt] = event_opts!("device", "filter by node device name");

/// The event id asked for with `--event`, after `--list` has been dealt with.
fn event_id(a: &Args, names: &[&str]) -> Result<Option<i32>, CmdError> {
    if a.has("list") {
        for n in names {
            println!("{n}");
        }
        return Ok(None);
    }
    let name = a
        .get("event")
        .ok_or_else(|| CmdError::Msg("either --list or --event <type> is required".into()))?;
    let id = names
        .iter()
        .position(|n| *n == name)
        .ok_or_else(|| CmdError::Msg(format!("unknown event type {name}")))?;
    Ok(Some(id as i32))
}

/// Waits for the events of one registered callback and prints the count, as virsh does.
fn run(
    c: &Connect,
    a: &Args,
    callback: i32,
    describe: &dyn Fn(&Event, i32) -> Option<String>,
) -> Result<u32, CmdError> {
    let timeout: Option<u64> = a.int("timeout")?;
    let describe = |ev: &Event| describe(ev, callback);
    let count = super::event::wait(c, &describe, a.has("loop"), timeout, a.has("timestamp"))?;
    println!("events received: {count}");
    // virsh fails an event command that received nothing.
    if count == 0 {
        return Err(CmdError::Silent);
    }
    Ok(count)
}

pub fn pool_event(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let Some(event_id) = event_id(a, POOL_EVENTS)? else {
        return Ok(());
    };
    let pool = match a.get("pool") {
        Some(name) => Some(ctl.pool(name)?),
        None => None,
    };
    let c = ctl.conn()?.clone();
    let args = p::RemoteConnectStoragePoolEventRegisterAnyArgs { event_id, pool };
    let cb = c
        .connect_storage_pool_event_register_any(&args)
        .ctx(|| "failed to register storage pool event callback".into())?
        .callback_id;
    let result = run(&c, a, cb, &describe_pool);
    let _ = c.connect_storage_pool_event_deregister_any(
        &p::RemoteConnectStoragePoolEventDeregisterAnyArgs { callback_id: cb },
    );
    result.map(drop)
}

fn describe_pool(ev: &Event, cb: i32) -> Option<String> {
    match ev.decode().ok()? {
        RemoteArgs::StoragePoolEventLifecycle(m) if m.callback_id == cb => Some(format!(
            "event 'lifecycle' for storage pool {}: {}",
            m.pool.name,
            pool_event_word(m.event)
        )),
        RemoteArgs::StoragePoolEventRefresh(m) if m.callback_id == cb => {
            Some(format!("event 'refresh' for storage pool {}", m.pool.name))
        }
        _ => None,
    }
}

pub fn net_event(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let Some(event_id) = event_id(a, NETWORK_EVENTS)? else {
        return Ok(());
    };
    let net = match a.get("network") {
        Some(name) => Some(ctl.network(name)?),
        None => None,
    };
    let c = ctl.conn()?.clone();
    let args = p::RemoteConnectNetworkEventRegisterAnyArgs { event_id, net };
    let cb = c
        .connect_network_event_register_any(&args)
        .ctx(|| "failed to register network event callback".into())?
        .callback_id;
    let result = run(&c, a, cb, &describe_network);
    let _ =
        c.connect_network_event_deregister_any(&p::RemoteConnectNetworkEventDeregisterAnyArgs {
            callback_id: cb,
        });
    result.map(drop)
}

fn describe_network(ev: &Event, cb: i32) -> Option<String> {
    match ev.decode().ok()? {
        RemoteArgs::NetworkEventLifecycle(m) if m.callback_id == cb => Some(format!(
            "event 'lifecycle' for network {}: {}",
            m.net.name,
            network_event_word(m.event)
        )),
        RemoteArgs::NetworkEventCallbackMetadataChange(m) if m.callback_id == cb => Some(format!(
            "event 'metadata-change' for network {}: type {}, uri {}",
            m.net.name,
            metadata_type_word(m.r#type),
            m.nsuri.as_deref().unwrap_or("<null>")
        )),
        _ => None,
    }
}

/// `virNetworkMetadataType` as virsh names it in events.
fn metadata_type_word(t: i32) -> &'static str {
    match t {
        0 => "description",
        1 => "title",
        2 => "element",
        _ => "unsupported value",
    }
}

pub fn nodedev_event(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let Some(event_id) = event_id(a, NODE_DEVICE_EVENTS)? else {
        return Ok(());
    };
    let dev = match a.get("device") {
        Some(name) => Some(ctl.nodedev(name)?),
        None => None,
    };
    let c = ctl.conn()?.clone();
    let args = p::RemoteConnectNodeDeviceEventRegisterAnyArgs { event_id, dev };
    let cb = c
        .connect_node_device_event_register_any(&args)
        .ctx(|| "failed to register node device event callback".into())?
        .callback_id;
    let result = run(&c, a, cb, &describe_node_device);
    let _ = c.connect_node_device_event_deregister_any(
        &p::RemoteConnectNodeDeviceEventDeregisterAnyArgs { callback_id: cb },
    );
    result.map(drop)
}

fn describe_node_device(ev: &Event, cb: i32) -> Option<String> {
    match ev.decode().ok()? {
        RemoteArgs::NodeDeviceEventLifecycle(m) if m.callback_id == cb => Some(format!(
            "event 'lifecycle' for node device {}: {}",
            m.dev.name,
            node_device_event_word(m.event)
        )),
        RemoteArgs::NodeDeviceEventUpdate(m) if m.callback_id == cb => {
            Some(format!("event 'update' for node device {}", m.dev.name))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(payload: Vec<u8>, procedure: i32) -> Event {
        Event {
            program: p::REMOTE_PROGRAM_NUMBER,
            procedure,
            payload,
        }
    }

    #[test]
    fn lines_as_virsh_prints_them() {
        let pool = p::RemoteNonnullStoragePool {
            name: "ev".into(),
            uuid: [0; 16],
        };
        let lifecycle = p::RemoteStoragePoolEventLifecycleMsg {
            callback_id: 3,
            pool: pool.clone(),
            event: 4,
            detail: 0,
        };
        let ev = event(
            p::xdr::to_bytes(&lifecycle),
            p::remote_proc::STORAGE_POOL_EVENT_LIFECYCLE,
        );
        assert_eq!(
            describe_pool(&ev, 3).as_deref(),
            Some("event 'lifecycle' for storage pool ev: Created")
        );
        assert_eq!(describe_pool(&ev, 4), None, "another callback's event");
        let refresh = p::RemoteStoragePoolEventRefreshMsg {
            callback_id: 3,
            pool,
        };
        let ev = event(
            p::xdr::to_bytes(&refresh),
            p::remote_proc::STORAGE_POOL_EVENT_REFRESH,
        );
        assert_eq!(
            describe_pool(&ev, 3).as_deref(),
            Some("event 'refresh' for storage pool ev")
        );
    }

    #[test]
    fn network_metadata_change_line() {
        let msg = p::RemoteNetworkEventCallbackMetadataChangeMsg {
            callback_id: 2,
            net: p::RemoteNonnullNetwork {
                name: "n1".into(),
                uuid: [0; 16],
            },
            r#type: 2,
            nsuri: Some("urn:x".into()),
        };
        let ev = event(
            p::xdr::to_bytes(&msg),
            p::remote_proc::NETWORK_EVENT_CALLBACK_METADATA_CHANGE,
        );
        assert_eq!(
            describe_network(&ev, 2).as_deref(),
            Some("event 'metadata-change' for network n1: type element, uri urn:x")
        );
        let title = p::RemoteNetworkEventCallbackMetadataChangeMsg {
            r#type: 1,
            nsuri: None,
            ..msg
        };
        let ev = event(
            p::xdr::to_bytes(&title),
            p::remote_proc::NETWORK_EVENT_CALLBACK_METADATA_CHANGE,
        );
        assert_eq!(
            describe_network(&ev, 2).as_deref(),
            Some("event 'metadata-change' for network n1: type title, uri <null>")
        );
    }
}
