//! The driver state: domains (persistent and transient), their runtime, event listeners,
//! persistent configuration on disk.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rvirt_plugin_api::protocol::RemoteNonnullDomain;
use rvirt_xml::domain::DomainDef;

use crate::caps::HostInfo;
use crate::config::{write_atomic, Config};
use crate::error::{QResult, QemuError};
use crate::events::{Event, Listener};
use crate::process::Proc;
use crate::qmp::Qmp;
use crate::status::Status;

pub use rvirt_plugin_api::protocol::facts::domain_state as st;

pub use rvirt_plugin_api::protocol::facts::domain_reason as reason;

/// A running QEMU.
#[derive(Debug)]
pub struct Run {
    pub id: i32,
    /// Distinguishes this run from earlier ones of the same domain in late callbacks.
    pub generation: u64,
    pub proc: Proc,
    pub qmp: Arc<Qmp>,
    /// Live definition (pty paths filled in).
    pub live: DomainDef,
    pub state: i32,
    pub reason: i32,
    /// Shut-off reason once the driver has decided the process must go.
    pub stopping: Option<i32>,
    /// A reboot asked for by the API: the next guest shutdown becomes a reset.
    pub fake_reboot: bool,
    /// QEMU has reported its shutdown; later SHUTDOWN events of this run repeat it.
    pub shutdown_seen: bool,
    /// A save is writing this run's state ([`crate::save`]); another must not start.
    pub saving: bool,
    /// The guest agent, while the guest has its channel open ([`crate::agent`]).
    pub agent: Option<Arc<crate::agent::Agent>>,
    /// `virDomainAgentSetResponseTimeout`'s value (libvirt's default: block).
    pub agent_timeout: i32,
    /// Events of a serial port change, sent after the next monitor event, a moment
    /// later, or before the stop, whichever comes first ([`crate::agent::channel`]).
    pub pending_events: Vec<Event>,
    /// Block jobs QEMU runs for this domain ([`crate::blockjob`]); not kept across a
    /// daemon restart.
    pub block_jobs: Vec<crate::blockjob::Job>,
    /// Each disk's backing chain with libvirt's indexes ([`crate::blockjob::live`]).
    pub chains: Vec<(String, Vec<rvirt_xml::domain::ChainImage>)>,
    /// The next index a new image gets.
    pub next_index: u32,
}

/// One domain.
#[derive(Debug)]
pub struct Dom {
    pub def: DomainDef,
    /// A definition saved while running; it replaces `def` when the domain stops.
    pub next_def: Option<DomainDef>,
    pub persistent: bool,
    pub autostart: bool,
    /// A start is in progress (process spawned, not yet running).
    pub starting: bool,
    pub run: Option<Run>,
    pub shutoff_reason: i32,
    /// A managed save image exists ([`crate::save::managed`]).
    pub managed_save: bool,
    /// The snapshot tree ([`crate::snapshot`]), in creation order.
    pub snapshots: Vec<crate::snapshot::Snapshot>,
    /// The current snapshot's name.
    pub current_snapshot: Option<String>,
}

impl Dom {
    pub fn new(def: DomainDef, persistent: bool) -> Dom {
        Dom {
            def,
            next_def: None,
            persistent,
            autostart: false,
            starting: false,
            run: None,
            shutoff_reason: 0,
            managed_save: false,
            snapshots: Vec::new(),
            current_snapshot: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.run.is_some()
    }

    pub fn id(&self) -> i32 {
        self.run.as_ref().map_or(-1, |r| r.id)
    }

    pub fn state(&self) -> (i32, i32) {
        match &self.run {
            Some(r) if r.stopping.is_some() => (st::SHUTDOWN, reason::UNKNOWN),
            Some(r) => (r.state, r.reason),
            None => (st::SHUTOFF, self.shutoff_reason),
        }
    }

    pub fn reference(&self) -> RemoteNonnullDomain {
        RemoteNonnullDomain {
            name: self.def.name.clone(),
            uuid: self.def.uuid.0,
            id: self.id(),
        }
    }

    /// The definition `virDomainGetXMLDesc` shows.
    pub fn xml(&self, inactive: bool) -> String {
        match (&self.run, inactive) {
            (Some(r), false) => crate::blockjob::live::with_chains(r).to_xml(Some(r.id)),
            _ => self.next_def.as_ref().unwrap_or(&self.def).to_xml(None),
        }
    }
}

/// Everything behind the driver lock.
#[derive(Debug, Default)]
pub struct Inner {
    pub doms: Vec<Dom>,
    pub next_id: i32,
    pub next_generation: u64,
    pub listeners: Vec<Listener>,
    /// Open console streams, by domain UUID and host-side device path.
    pub consoles: std::collections::HashMap<([u8; 16], String), crate::console::Lease>,
}

impl Inner {
    pub fn find(&self, r: &RemoteNonnullDomain) -> QResult<&Dom> {
        self.doms
            .iter()
            .find(|d| d.def.uuid.0 == r.uuid)
            .ok_or_else(|| no_domain(r))
    }

    pub fn find_mut(&mut self, r: &RemoteNonnullDomain) -> QResult<&mut Dom> {
        self.doms
            .iter_mut()
            .find(|d| d.def.uuid.0 == r.uuid)
            .ok_or_else(|| no_domain(r))
    }

    pub fn by_name(&self, name: &str) -> Option<&Dom> {
        self.doms.iter().find(|d| d.def.name == name)
    }

    pub fn running_mut(&mut self, r: &RemoteNonnullDomain) -> QResult<(&mut Dom, bool)> {
        let d = self.find_mut(r)?;
        if d.run.is_none() {
            return Err(QemuError::NotRunning.into());
        }
        let stopping = d.run.as_ref().is_some_and(|r| r.stopping.is_some());
        Ok((d, stopping))
    }
}

fn no_domain(r: &RemoteNonnullDomain) -> rvirt_plugin_api::protocol::RemoteError {
    let uuid = rvirt_xml::Uuid(r.uuid).to_string();
    QemuError::NoDomainUuid(format!("{uuid}' ({}", r.name)).into()
}

/// The driver.
#[derive(Debug)]
pub struct Driver {
    pub cfg: Config,
    pub privileged: bool,
    inner: Mutex<Inner>,
    /// Held from the end of a change until its events are sent, and taken before the
    /// state lock is let go, so events leave in the order of the changes that made them
    /// (a client that sees a domain shut off and undefines it must get STOPPED first).
    emitting: Mutex<()>,
    changed: Condvar,
    /// Host facts probed from the emulator on first use, so daemon start-up does not wait
    /// for two QEMU runs.
    host: std::sync::OnceLock<HostInfo>,
    /// Domain capabilities probes per emulator binary.
    pub domcaps: crate::domcaps::Cache,
    /// The running domains last told to the host, which keep an idle daemon from exiting.
    held: std::sync::atomic::AtomicUsize,
}

impl Driver {
    pub fn new(cfg: Config, privileged: bool) -> Driver {
        let inner = Inner {
            next_id: 1,
            next_generation: 1,
            ..Inner::default()
        };
        Driver {
            cfg,
            privileged,
            inner: Mutex::new(inner),
            emitting: Mutex::new(()),
            changed: Condvar::new(),
            host: std::sync::OnceLock::new(),
            domcaps: crate::domcaps::Cache::default(),
            held: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The URI this driver's guests reach other drivers (storage, network) by:
    /// `qemu:///system` for a privileged daemon, `qemu:///session` otherwise.
    pub fn own_uri(&self) -> &'static str {
        if self.privileged {
            "qemu:///system"
        } else {
            "qemu:///session"
        }
    }

    /// Host facts (QEMU version, machine types), probed once.
    pub fn host(&self) -> &HostInfo {
        self.host
            .get_or_init(|| HostInfo::probe(&self.cfg.emulator))
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` under the lock, then sends the events it queued (outside the lock) and
    /// wakes anyone waiting for a state change.
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut Inner, &mut Vec<Event>) -> QResult<R>,
    ) -> QResult<R> {
        let mut events = Vec::new();
        let mut g = self.lock();
        let r = f(&mut g, &mut events);
        self.hold_idle_exit(&g);
        if events.is_empty() {
            drop(g);
            self.changed.notify_all();
            return r;
        }
        let listeners = g.listeners.clone();
        let order = self.emitting.lock().unwrap_or_else(PoisonError::into_inner);
        drop(g);
        self.changed.notify_all();
        for e in &events {
            e.send(&listeners);
        }
        drop(order);
        r
    }

    /// Tells the host how many domains run or start, when that changed: while any do, an
    /// idle daemon stays (their events and exits need it).
    fn hold_idle_exit(&self, s: &Inner) {
        use std::sync::atomic::Ordering;
        let n = s
            .doms
            .iter()
            .filter(|d| d.run.is_some() || d.starting)
            .count();
        if self.held.swap(n, Ordering::SeqCst) != n {
            rvirt_plugin_api::host::hold_idle_exit(u32::try_from(n).unwrap_or(u32::MAX));
        }
    }

    pub fn read<R>(&self, f: impl FnOnce(&Inner) -> QResult<R>) -> QResult<R> {
        f(&self.lock())
    }

    /// Waits until `done` holds or `timeout` passes.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&Inner) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.lock();
        while !done(&g) {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = self
                .changed
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    pub fn add_listener(&self, l: Listener) {
        self.lock().listeners.push(l);
    }

    pub fn remove_listener(&self, l: Listener) {
        self.lock().listeners.retain(|x| *x != l);
    }

    /// Writes the persistent definition atomically.
    pub fn save_config(&self, def: &DomainDef) -> QResult<()> {
        let path = self.cfg.config_file(&def.name);
        write_atomic(&path, def.to_xml(None).as_bytes()).map_err(|e| {
            QemuError::sys(
                format!("cannot write domain configuration {}", path.display()),
                e,
            )
            .into()
        })
    }

    pub fn delete_config(&self, name: &str) {
        let _ = std::fs::remove_file(self.cfg.config_file(name));
        let _ = std::fs::remove_file(self.cfg.autostart_file(name));
    }

    pub fn set_autostart_file(&self, name: &str, on: bool) -> QResult<()> {
        let link = self.cfg.autostart_file(name);
        if !on {
            return match std::fs::remove_file(&link) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(QemuError::sys(
                    format!("cannot remove autostart link {}", link.display()),
                    e,
                )
                .into()),
            };
        }
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(self.cfg.config_file(name), &link).map_err(|e| {
            QemuError::sys(
                format!("cannot create autostart link {}", link.display()),
                e,
            )
            .into()
        })
    }

    pub fn save_status(&self, d: &Dom) {
        let Some(r) = &d.run else { return };
        let s = Status {
            state: r.state,
            reason: r.reason,
            pid: r.proc.pid,
            id: r.id,
            monitor: self.cfg.monitor_path(&d.def.name),
            live: r.live.clone(),
        };
        let path = self.cfg.status_file(&d.def.name);
        if let Err(e) = write_atomic(&path, s.to_xml().as_bytes()) {
            tracing::warn!("cannot write status file {}: {e}", path.display());
        }
    }

    pub fn remove_runtime_files(&self, name: &str) {
        for p in [
            self.cfg.status_file(name),
            self.cfg.monitor_path(name),
            self.cfg.pid_file(name),
        ] {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Loads every persistent definition from the state directory.
    pub fn load_configs(&self) {
        let Ok(rd) = std::fs::read_dir(&self.cfg.state_dir) else {
            return;
        };
        let mut g = self.lock();
        for entry in rd.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "xml") || !path.is_file() {
                continue;
            }
            match load_def(&path) {
                Ok(def) if g.by_name(&def.name).is_none() => {
                    let mut d = Dom::new(def, true);
                    d.autostart = self.cfg.autostart_file(&d.def.name).exists();
                    d.managed_save = crate::save::managed::path(&self.cfg, &d.def.name).exists();
                    if d.managed_save {
                        d.shutoff_reason = reason::SHUTOFF_SAVED;
                    }
                    crate::snapshot::store::load(&self.cfg, &mut d);
                    g.doms.push(d);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("ignoring domain configuration {}: {e}", path.display()),
            }
        }
        g.doms.sort_by(|a, b| a.def.name.cmp(&b.def.name));
    }
}

fn load_def(path: &Path) -> Result<DomainDef, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let def = DomainDef::parse(&text).map_err(|e| e.to_string())?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if def.name != stem {
        return Err(format!(
            "file name does not match the domain name '{}'",
            def.name
        ));
    }
    Ok(def)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn test_driver(tag: &str) -> (Driver, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("rvirt-qemu-drv-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = Config::parse("", dir.to_str().unwrap()).unwrap();
        cfg.create_dirs().unwrap();
        (Driver::new(cfg, true), dir)
    }

    #[test]
    fn configs_persist_and_reload() {
        let (drv, dir) = test_driver("persist");
        let def = DomainDef::parse(include_str!("../testdata/tiny-tcg.xml")).unwrap();
        drv.save_config(&def).unwrap();
        drv.set_autostart_file(&def.name, true).unwrap();
        std::fs::write(dir.join("broken.xml"), "<domain").unwrap();
        let again = Driver::new(drv.cfg.clone(), true);
        again.load_configs();
        let g = again.lock();
        assert_eq!(g.doms.len(), 1);
        assert!(g.doms[0].autostart && g.doms[0].persistent);
        assert_eq!(g.doms[0].def, def);
        assert_eq!(g.doms[0].state(), (st::SHUTOFF, 0));
        drop(g);
        drv.delete_config(&def.name);
        assert!(!drv.cfg.config_file(&def.name).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
