//! The driver state: networks (persistent and transient), what each running one created
//! on the host, event listeners, and the files that keep all of it across restarts.

use std::sync::{Mutex, MutexGuard, PoisonError};

use rvirt_plugin_api::host::{emit_event, emit_network_metadata_change};
use rvirt_plugin_api::protocol::{
    remote_proc, RemoteNetworkEventLifecycleMsg, RemoteNonnullNetwork, REMOTE_PROGRAM_NUMBER,
};
use rvirt_xml::network::{NetworkDef, NetworkPort};
use serde::{Deserialize, Serialize};

use crate::config::{write_atomic, Config};
use crate::error::{NResult, NetError};

pub use rvirt_plugin_api::protocol::facts::network_event as ev;

/// What a start created, saved in the status file so that a restarted daemon can find
/// the network again and remove exactly this at `net-destroy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The live definition.
    pub xml: String,
    /// The bridge the start created (none in `bridge` and other host-device modes).
    pub bridge: Option<String>,
    /// nftables tables of ours, as `FAMILY NAME`.
    pub nft_tables: Vec<String>,
    /// iptables rules of the network (iptables backend), as `FAMILY TABLE CHAIN ARGS`.
    #[serde(default)]
    pub iptables_rules: Vec<String>,
    /// The network's dnsmasq.
    pub dnsmasq_pid: Option<i32>,
    /// The bridge whose traffic the start shaped with `tc` (`<bandwidth>`): the
    /// network's own or, in `bridge` mode, the host's.
    #[serde(default)]
    pub tc_dev: Option<String>,
    /// The network's ports (`<networkport>` documents), in creation order.
    #[serde(default)]
    pub ports: Vec<String>,
}

/// A running network.
#[derive(Debug, Clone)]
pub struct Run {
    pub live: NetworkDef,
    pub status: Status,
}

/// One network.
#[derive(Debug)]
pub struct Net {
    pub def: NetworkDef,
    /// A definition saved while running; it replaces `def` when the network stops.
    pub next_def: Option<NetworkDef>,
    pub persistent: bool,
    pub autostart: bool,
    pub run: Option<Run>,
}

impl Net {
    pub fn reference(&self) -> RemoteNonnullNetwork {
        RemoteNonnullNetwork {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
        }
    }

    pub fn is_active(&self) -> bool {
        self.run.is_some()
    }

    /// The definition `virNetworkGetXMLDesc` shows. The live one of a network with
    /// ports says how many (`connections`, the first attribute, as libvirt writes it):
    /// a count of the driver's state, not part of any definition.
    pub fn xml(&self, inactive: bool) -> String {
        match (&self.run, inactive) {
            (Some(r), false) => {
                let xml = live_xml(&r.live, &r.status.ports);
                match (r.status.ports.len(), xml.strip_prefix("<network")) {
                    (0, _) | (_, None) => xml,
                    (n, Some(rest)) => format!("<network connections='{n}'{rest}"),
                }
            }
            // A transient network has no other definition than its live one (libvirt
            // shows that, without the count of connections).
            (Some(r), true) if !self.persistent => r.live.to_xml(),
            _ => self.next_def.as_ref().unwrap_or(&self.def).to_xml(),
        }
    }

    /// The definition in force: the live one while running.
    pub fn current(&self) -> &NetworkDef {
        self.run.as_ref().map_or(&self.def, |r| &r.live)
    }
}

/// The XML of `live`, with the count of `ports` (their XML) on each forward interface.
fn live_xml(live: &NetworkDef, ports: &[String]) -> String {
    let Some(f) = live.forward.as_ref().filter(|f| !f.interfaces.is_empty()) else {
        return live.to_xml();
    };
    let parsed: Vec<NetworkPort> = ports
        .iter()
        .filter_map(|x| NetworkPort::parse(x).ok())
        .collect();
    let mut counted = live.clone();
    if let Some(cf) = counted.forward.as_mut() {
        cf.connections = crate::ports::interface_connections(&f.interfaces, &parsed);
    }
    counted.to_xml()
}

/// A connection registered for events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub driver: u32,
    pub handle: u64,
}

/// An event to send once the lock is released.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A lifecycle event (`virNetworkEventLifecycleType`).
    Lifecycle(RemoteNonnullNetwork, i32),
    /// METADATA_CHANGE: the metadata type and, for an element, its namespace.
    Metadata(RemoteNonnullNetwork, i32, Option<String>),
}

/// Everything behind the driver lock.
#[derive(Debug, Default)]
pub struct Inner {
    pub nets: Vec<Net>,
    pub listeners: Vec<Listener>,
}

impl Inner {
    pub fn by_name(&self, name: &str) -> NResult<usize> {
        self.nets
            .iter()
            .position(|n| n.def.name == name)
            .ok_or_else(|| NetError::NoNetworkName(name.to_string()).into())
    }

    pub fn by_uuid(&self, uuid: &[u8; 16]) -> NResult<usize> {
        self.nets
            .iter()
            .position(|n| n.def.uuid.0 == *uuid)
            .ok_or_else(|| NetError::NoNetworkUuid(rvirt_xml::Uuid(*uuid).to_string()).into())
    }

    /// The network a call names, by UUID like libvirt's lookups.
    pub fn find(&self, r: &RemoteNonnullNetwork) -> NResult<usize> {
        self.by_uuid(&r.uuid).map_err(|_| {
            NetError::NoNetworkRef(rvirt_xml::Uuid(r.uuid).to_string(), r.name.clone()).into()
        })
    }
}

/// The driver: configuration and the locked state.
#[derive(Debug)]
pub struct Driver {
    pub cfg: Config,
    pub privileged: bool,
    inner: Mutex<Inner>,
}

impl Driver {
    pub fn new(cfg: Config, privileged: bool) -> Driver {
        Driver {
            cfg,
            privileged,
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` under the lock, then sends the events it produced.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Inner, &mut Vec<Event>) -> NResult<R>,
    ) -> NResult<R> {
        let mut evs = Vec::new();
        let (r, listeners) = {
            let mut s = self.lock();
            let r = f(&mut s, &mut evs);
            (r, s.listeners.clone())
        };
        for e in &evs {
            send(&listeners, e);
        }
        r
    }

    pub fn add_listener(&self, l: Listener) {
        self.lock().listeners.push(l);
    }

    pub fn remove_listener(&self, l: Listener) {
        self.lock().listeners.retain(|x| *x != l);
    }

    /// Saves the persistent definition atomically.
    pub fn save_config(&self, def: &NetworkDef) -> NResult<()> {
        let p = self.cfg.config_file(&def.name);
        write_atomic(&p, def.to_xml().as_bytes())
            .map_err(|e| NetError::sys(format!("cannot write {}", p.display()), e).into())
    }

    /// Removes the persistent definition and its autostart link.
    pub fn delete_config(&self, name: &str) -> NResult<()> {
        let _ = std::fs::remove_file(self.cfg.autostart_file(name));
        let p = self.cfg.config_file(name);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(NetError::sys(format!("cannot remove config file '{}'", p.display()), e).into())
            }
            _ => Ok(()),
        }
    }

    /// Marks or unmarks a network for autostart (a link to its definition).
    pub fn set_autostart_link(&self, name: &str, on: bool) -> NResult<()> {
        let link = self.cfg.autostart_file(name);
        let _ = std::fs::remove_file(&link);
        if on {
            std::os::unix::fs::symlink(self.cfg.config_file(name), &link).map_err(|e| {
                NetError::sys(format!("Failed to create symlink '{}'", link.display()), e)
            })?;
        }
        Ok(())
    }

    /// Saves the status of a running network atomically.
    pub fn save_status(&self, name: &str, st: &Status) -> NResult<()> {
        let p = self.cfg.status_file(name);
        let text = serde_json::to_vec_pretty(st).map_err(|e| NetError::Internal(e.to_string()))?;
        write_atomic(&p, &text)
            .map_err(|e| NetError::sys(format!("cannot write {}", p.display()), e).into())
    }

    pub fn delete_status(&self, name: &str) {
        let _ = std::fs::remove_file(self.cfg.status_file(name));
    }

    /// Loads the persistent definitions and the status of running networks.
    pub fn load(&self) {
        let mut s = self.lock();
        for (path, xml) in xml_files(&self.cfg.state_dir, "xml") {
            match NetworkDef::parse(&xml) {
                Ok(def) => {
                    let autostart = self.cfg.autostart_file(&def.name).exists();
                    s.nets.push(Net {
                        def,
                        next_def: None,
                        persistent: true,
                        autostart,
                        run: None,
                    });
                }
                Err(e) => tracing::warn!("ignoring network config {}: {e}", path.display()),
            }
        }
        for (path, text) in xml_files(&self.cfg.run_dir, "json") {
            let parsed = serde_json::from_str::<Status>(&text)
                .map_err(|e| e.to_string())
                .and_then(|st| {
                    let live = NetworkDef::parse(&st.xml).map_err(|e| e.to_string())?;
                    Ok(Run { live, status: st })
                });
            match parsed {
                Ok(run) => attach_run(&mut s, run),
                Err(e) => tracing::warn!("ignoring network status {}: {e}", path.display()),
            }
        }
    }
}

/// Puts a running network found in a status file in place (transient if not defined).
fn attach_run(s: &mut Inner, run: Run) {
    match s.nets.iter_mut().find(|n| n.def.uuid == run.live.uuid) {
        Some(n) => n.run = Some(run),
        None => s.nets.push(Net {
            def: run.live.clone(),
            next_def: None,
            persistent: false,
            autostart: false,
            run: Some(run),
        }),
    }
}

/// The files of `dir` ending in `.ext`, with their text, in name order.
fn xml_files(dir: &std::path::Path, ext: &str) -> Vec<(std::path::PathBuf, String)> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == ext))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect()
}

/// Sends an event to every listener.
fn send(listeners: &[Listener], e: &Event) {
    let (net, event) = match e {
        Event::Lifecycle(net, event) => (net, *event),
        Event::Metadata(net, kind, nsuri) => {
            for l in listeners {
                emit_network_metadata_change(l.driver, l.handle, net, *kind, nsuri.clone());
            }
            return;
        }
    };
    let msg = RemoteNetworkEventLifecycleMsg {
        callback_id: 0,
        net: net.clone(),
        event,
        detail: 0,
    };
    for l in listeners {
        emit_event(
            l.driver,
            l.handle,
            REMOTE_PROGRAM_NUMBER,
            remote_proc::NETWORK_EVENT_LIFECYCLE,
            &msg,
        );
    }
}
