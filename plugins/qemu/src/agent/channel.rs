//! The agent's channel in a running domain: the socket path libvirt would pick, the
//! `<target state>` of virtio channels from QEMU, and connecting the agent when the
//! guest opens its port.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use rvirt_plugin_api::protocol::facts::agent_lifecycle as al;
use rvirt_xml::domain::{CharDev, ChrKind, Device, DomainDef};
use serde_json::Value;

use super::{Agent, AgentError, CHANNEL_NAME};
use crate::config::Config;
use crate::devices::chardev_id;
use crate::driver::Driver;
use crate::events::Event;
use crate::qmp::{Qmp, QmpError};

fn is_virtio_channel(c: &CharDev) -> bool {
    c.kind == ChrKind::Channel && c.target_type.as_deref() == Some("virtio")
}

fn is_agent(c: &CharDev) -> bool {
    is_virtio_channel(c) && c.target_name.as_deref() == Some(CHANNEL_NAME)
}

/// The guest agent channel of a definition.
pub fn agent_channel(def: &DomainDef) -> Option<&CharDev> {
    def.devices.iter().find_map(|d| match d {
        Device::Chr(c) if is_agent(c) => Some(c),
        _ => None,
    })
}

/// The socket the driver connects to, for a unix agent channel.
pub fn agent_socket(def: &DomainDef) -> Option<PathBuf> {
    agent_channel(def)
        .filter(|c| c.source_type == "unix")
        .and_then(|c| c.source_path.as_deref().map(PathBuf::from))
}

/// At start: a unix virtio channel without a path gets libvirt's, the target name in
/// the run's channel directory (created here), QEMU listening on it; states given in
/// the definition are not the guest's.
pub fn prepare(cfg: &Config, live: &mut DomainDef, id: i32) -> std::io::Result<()> {
    let dir = cfg.channel_target_dir(id, &live.name);
    for d in &mut live.devices {
        let Device::Chr(c) = d else { continue };
        if !is_virtio_channel(c) {
            continue;
        }
        c.target_state = None;
        if c.source_type != "unix" || c.source_path.is_some() {
            continue;
        }
        let Some(name) = c.target_name.clone() else {
            continue;
        };
        std::fs::create_dir_all(&dir)?;
        c.source_path = Some(dir.join(name).display().to_string());
        c.source_mode = Some("bind".into());
    }
    Ok(())
}

/// Removes a stopped run's channel directory.
pub fn cleanup(cfg: &Config, id: i32, name: &str) {
    let _ = std::fs::remove_dir_all(cfg.channel_target_dir(id, name));
}

fn state_word(open: bool) -> String {
    if open { "connected" } else { "disconnected" }.to_string()
}

/// Sets each virtio channel's state from `query-chardev` (`frontend-open`); answers
/// whether the guest has the agent's port open, when there is an agent channel.
pub fn refresh_states(qmp: &Qmp, live: &mut DomainDef) -> Result<Option<bool>, QmpError> {
    let list = qmp.execute("query-chardev", None)?;
    let open = |label: &str| {
        list.as_array()?
            .iter()
            .find(|c| c.get("label").and_then(Value::as_str) == Some(label))?
            .get("frontend-open")
            .and_then(Value::as_bool)
    };
    let mut agent = None;
    let mut n = 0usize;
    for d in &mut live.devices {
        let Device::Chr(c) = d else { continue };
        if c.kind != ChrKind::Channel {
            continue;
        }
        let id = chardev_id(c, n);
        n += 1;
        if !is_virtio_channel(c) {
            continue;
        }
        if let Some(o) = open(&id) {
            c.target_state = Some(state_word(o));
            if is_agent(c) {
                agent = Some(o);
            }
        }
    }
    Ok(agent)
}

/// The AGENT_LIFECYCLE state of an open or closed port.
pub fn lifecycle_state(open: bool) -> i32 {
    if open {
        al::STATE_CONNECTED
    } else {
        al::STATE_DISCONNECTED
    }
}

/// What a `VSERPORT_CHANGE` asks of the driver once the state is recorded.
pub enum PortChange {
    None,
    /// The agent's port opened: connect to this socket.
    Connect(PathBuf),
    /// The agent's port closed: this connection is over.
    Disconnect(Option<Arc<Agent>>),
}

/// Records QEMU's `VSERPORT_CHANGE` (device `id`, `open`) in the live definition; for
/// the agent channel, queues AGENT_LIFECYCLE and says what to do with the connection.
pub fn on_port_change(
    run: &mut crate::driver::Run,
    dref: &rvirt_plugin_api::protocol::RemoteNonnullDomain,
    data: &Value,
    events: &mut Vec<Event>,
) -> PortChange {
    let (Some(id), Some(open)) = (
        data.get("id").and_then(Value::as_str),
        data.get("open").and_then(Value::as_bool),
    ) else {
        return PortChange::None;
    };
    let found = run.live.devices.iter_mut().find_map(|d| match d {
        Device::Chr(c) if is_virtio_channel(c) && c.info.alias.as_deref() == Some(id) => Some(c),
        _ => None,
    });
    let Some(c) = found else {
        return PortChange::None;
    };
    c.target_state = Some(state_word(open));
    if !is_agent(c) {
        return PortChange::None;
    }
    events.push(Event::AgentLifecycle(
        dref.clone(),
        lifecycle_state(open),
        al::REASON_CHANNEL,
    ));
    match (open, c.source_path.clone()) {
        (true, Some(p)) if c.source_type == "unix" && run.agent.is_none() => {
            PortChange::Connect(PathBuf::from(p))
        }
        (true, _) => PortChange::None,
        (false, _) => PortChange::Disconnect(run.agent.take()),
    }
}

/// Sends the events a port change left pending for run `generation`.
pub fn flush_pending(drv: &Driver, uuid: [u8; 16], generation: u64) {
    let _ = drv.write(|s, events| {
        let run = s
            .doms
            .iter_mut()
            .find(|d| d.def.uuid.0 == uuid)
            .and_then(|d| d.run.as_mut())
            .filter(|r| r.generation == generation);
        if let Some(r) = run {
            events.append(&mut r.pending_events);
        }
        Ok(())
    });
}

/// After QEMU's `VSERPORT_CHANGE` (recorded, its AGENT_LIFECYCLE pending): off the
/// monitor's reader thread, the connection is made or closed and the event is sent a
/// moment later unless the next monitor event or the stop sent it first. So the events
/// QEMU sends with it (a guest's SHUTDOWN as its agent goes) come first, as from
/// libvirtd, whose event worker handles port changes.
pub fn after_port_change(weak: &Weak<Driver>, uuid: [u8; 16], generation: u64, port: PortChange) {
    let weak = weak.clone();
    std::thread::spawn(move || {
        match port {
            PortChange::Connect(path) => connect(&weak, uuid, generation, path),
            PortChange::Disconnect(Some(a)) => a.close(),
            _ => {}
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        if let Some(drv) = weak.upgrade() {
            flush_pending(&drv, uuid, generation);
        }
    });
}

/// Connects to the agent of run `generation` (off the monitor's reader thread) and
/// records the connection unless the run has ended or already has one.
pub fn connect(weak: &Weak<Driver>, uuid: [u8; 16], generation: u64, path: PathBuf) {
    let Some(drv) = weak.upgrade() else { return };
    let timeout = drv
        .read(|s| {
            Ok(s.doms
                .iter()
                .find(|d| d.def.uuid.0 == uuid)
                .and_then(|d| d.run.as_ref())
                .map_or(super::TIMEOUT_BLOCK, |r| r.agent_timeout))
        })
        .unwrap_or(super::TIMEOUT_BLOCK);
    let agent = match Agent::connect(&path, timeout) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("cannot connect to the guest agent: {e}");
            return;
        }
    };
    let _ = drv.write(|s, _| {
        let run = s
            .doms
            .iter_mut()
            .find(|d| d.def.uuid.0 == uuid)
            .and_then(|d| d.run.as_mut())
            .filter(|r| r.generation == generation);
        match run {
            Some(r) if r.agent.is_none() => r.agent = Some(agent.clone()),
            _ => agent.close(),
        }
        Ok(())
    });
}

/// The agent of a running domain, for a call: libvirt's checks, in its order.
pub fn agent_of(
    drv: &Driver,
    dom: &rvirt_plugin_api::protocol::RemoteNonnullDomain,
) -> crate::error::QResult<Arc<Agent>> {
    drv.read(|s| {
        let d = s.find(dom)?;
        let run = d
            .run
            .as_ref()
            .filter(|r| r.state == crate::driver::st::RUNNING && r.stopping.is_none())
            .ok_or(crate::error::QemuError::NotRunning)?;
        if let Some(a) = &run.agent {
            return Ok(a.clone());
        }
        Err(match agent_channel(&run.live) {
            Some(_) => AgentError::NotConnected.into(),
            None => AgentError::NotConfigured.into(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_without_path_gets_libvirts() {
        let mut def = DomainDef::parse(
            "<domain type='qemu'><name>g</name><memory>65536</memory><os><type>hvm</type></os>\
             <devices><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0' state='connected'/></channel>\
             <channel type='unix'><source mode='bind' path='/tmp/x.sock'/><target type='virtio' name='other'/></channel>\
             </devices></domain>",
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("rvirt-chan-{}", std::process::id()));
        let cfg = Config::parse("", dir.to_str().unwrap()).unwrap();
        prepare(&cfg, &mut def, 4).unwrap();
        let want = dir.join("channel/target/domain-4-g/org.qemu.guest_agent.0");
        assert_eq!(agent_socket(&def), Some(want));
        assert!(dir.join("channel/target/domain-4-g").is_dir());
        assert_eq!(agent_channel(&def).unwrap().target_state, None);
        assert!(def.to_xml(Some(4)).contains("path='/tmp/x.sock'"));
        cleanup(&cfg, 4, "g");
        assert!(!dir.join("channel/target/domain-4-g").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
