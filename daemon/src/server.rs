//! Listeners, accept loops, signals and the daemon lifecycle.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rvirt_config::{parse_mode, Config, Limits};
use rvirt_core::registry::Registry;
use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::spin::Spinner;
use crate::systemd::{self, Role};
use crate::workers::Pool;

/// What every client session shares.
pub struct Shared {
    pub registry: Arc<Registry>,
    pub limits: Limits,
    /// The URI a client gets when it opens with an empty name.
    pub default_uri: String,
    /// Calls that may block.
    pub workers: Pool,
    /// libvirt's high-priority calls, so they never queue behind blocked drivers.
    pub prio: Pool,
    /// Adaptive polling of the I/O thread after each served request.
    pub spinner: Arc<Spinner>,
    clients: Mutex<ClientCounts>,
}

/// Who is on the other end of a unix socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
    /// Root or the daemon's own user: not subject to the per-user limits, and trusted to
    /// have the daemon open files on its behalf.
    pub privileged: bool,
}

impl Peer {
    fn of(stream: &tokio::net::UnixStream) -> Option<Peer> {
        let cred = stream.peer_cred().ok()?;
        let uid = cred.uid();
        Some(Peer {
            pid: cred.pid().unwrap_or(-1),
            uid,
            gid: cred.gid(),
            privileged: uid == 0 || uid == nix::unistd::geteuid().as_raw(),
        })
    }
}

#[derive(Default)]
struct ClientCounts {
    total: u32,
    /// Per uid: (connections, connections that have not opened a driver connection yet).
    per_uid: HashMap<u32, (u32, u32)>,
}

/// Why a new client was turned away.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("max_clients ({0}) reached")]
    MaxClients(u32),
    #[error("uid {0} has max_clients_per_uid ({1}) connections")]
    PerUid(u32, u32),
    #[error("uid {0} has max_anonymous_clients ({1}) connections that opened nothing yet")]
    Anonymous(u32, u32),
}

/// One admitted client's place in the counts; given back on drop.
pub struct ClientSlot {
    shared: Arc<Shared>,
    peer: Peer,
    opened: AtomicBool,
}

impl ClientSlot {
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The client opened a driver connection: it no longer counts as anonymous.
    pub fn opened(&self) {
        if !self.opened.swap(true, Ordering::Relaxed) {
            let mut c = self.shared.counts();
            if let Some(e) = c.per_uid.get_mut(&self.peer.uid) {
                e.1 = e.1.saturating_sub(1);
            }
        }
    }

    pub fn is_open(&self) -> bool {
        self.opened.load(Ordering::Relaxed)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let anonymous = !self.opened.load(Ordering::Relaxed);
        let mut c = self.shared.counts();
        c.total = c.total.saturating_sub(1);
        if let Some(e) = c.per_uid.get_mut(&self.peer.uid) {
            e.0 = e.0.saturating_sub(1);
            if anonymous {
                e.1 = e.1.saturating_sub(1);
            }
            if e.0 == 0 {
                c.per_uid.remove(&self.peer.uid);
            }
        }
    }
}

impl Shared {
    fn counts(&self) -> std::sync::MutexGuard<'_, ClientCounts> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a client within max_clients and, for unprivileged users, the per-uid limits.
    fn admit(self: &Arc<Shared>, peer: Peer) -> Result<ClientSlot, Refusal> {
        let l = &self.limits;
        let mut c = self.counts();
        if c.total >= l.max_clients {
            return Err(Refusal::MaxClients(l.max_clients));
        }
        let (clients, anonymous) = c.per_uid.get(&peer.uid).copied().unwrap_or((0, 0));
        if !peer.privileged {
            if clients >= l.max_clients_per_uid {
                return Err(Refusal::PerUid(peer.uid, l.max_clients_per_uid));
            }
            if anonymous >= l.max_anonymous_clients {
                return Err(Refusal::Anonymous(peer.uid, l.max_anonymous_clients));
            }
        }
        c.total += 1;
        c.per_uid.insert(peer.uid, (clients + 1, anonymous + 1));
        drop(c);
        Ok(ClientSlot {
            shared: self.clone(),
            peer,
            opened: AtomicBool::new(false),
        })
    }
}

/// Why the daemon could not start serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("key 'listen.socket_dir': cannot create socket directory {0}: {1}")]
    SocketDir(PathBuf, std::io::Error),
    #[error("key 'listen.socket_dir': cannot listen on {0}: {1}")]
    Bind(PathBuf, std::io::Error),
    #[error("key 'listen.socket_mode': cannot set the permissions of {0}: {1}")]
    Permissions(PathBuf, std::io::Error),
    #[error("key 'listen.socket_group': group '{0}' does not exist")]
    NoGroup(String),
    #[error("cannot use the sockets passed by systemd: {0}")]
    Activation(std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// How often the main loop wakes for the watchdog and the idle check.
fn tick_period(watchdog: Option<Duration>) -> Duration {
    watchdog.map_or(Duration::from_secs(1), |w| w.min(Duration::from_secs(1)))
}

fn default_uri(registry: &Registry) -> String {
    let scheme = registry
        .drivers(rvirt_protocol::DriverKind::Hypervisor)
        .into_iter()
        .find_map(|d| d.driver.uri_schemes.first().cloned())
        .unwrap_or_else(|| "test".into());
    if scheme == "test" {
        "test:///default".into()
    } else {
        format!("{scheme}:///system")
    }
}

fn group_id(name: &str) -> Result<Option<nix::unistd::Gid>, ServerError> {
    if name.is_empty() {
        return Ok(None);
    }
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Some(nix::unistd::Gid::from_raw(n)));
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(Some(g.gid)),
        _ => Err(ServerError::NoGroup(name.to_string())),
    }
}

fn bind(
    path: &Path,
    mode: u32,
    gid: Option<nix::unistd::Gid>,
) -> Result<UnixListener, ServerError> {
    if path.exists() {
        // A stale socket from an earlier run; a live daemon would still hold it, which the
        // bind below cannot detect, so refuse when something answers on it.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ServerError::Bind(
                path.into(),
                std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another daemon is serving it",
                ),
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    let l = UnixListener::bind(path).map_err(|e| ServerError::Bind(path.into(), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| ServerError::Permissions(path.into(), e))?;
    if let Some(g) = gid {
        nix::unistd::chown(path, None, Some(g))
            .map_err(|e| ServerError::Permissions(path.into(), e.into()))?;
    }
    Ok(l)
}

/// The listening sockets and what each serves.
pub struct Listeners {
    pub sockets: Vec<(Role, UnixListener)>,
    /// Socket files to remove at shutdown (none under socket activation).
    pub owned: Vec<PathBuf>,
    /// systemd passed the sockets: it starts the daemon again on the next connection,
    /// so the daemon may exit when idle.
    pub activated: bool,
}

/// Listens on the sockets systemd passed (`activation`), or else on the configured ones.
pub fn listen(
    cfg: &Config,
    activation: Option<systemd::Activation>,
) -> Result<Listeners, ServerError> {
    if let Some(act) = activation {
        let sockets = systemd::activated_listeners(act).map_err(ServerError::Activation)?;
        tracing::info!("using sockets passed by systemd: {}", sockets.len());
        return Ok(Listeners {
            sockets,
            owned: Vec::new(),
            activated: true,
        });
    }
    let dir = &cfg.listen.socket_dir;
    std::fs::create_dir_all(dir).map_err(|e| ServerError::SocketDir(dir.clone(), e))?;
    let gid = group_id(&cfg.listen.socket_group)?;
    let rw_mode = parse_mode(&cfg.listen.socket_mode).unwrap_or(0o600);
    let ro_mode = parse_mode(&cfg.listen.socket_ro_mode).unwrap_or(0o666);
    let (rw, ro, admin) = cfg.listen.layout.socket_names();
    let mut wanted = vec![
        (Role::ReadWrite, rw, rw_mode),
        (Role::ReadOnly, ro, ro_mode),
    ];
    if let Some(admin) = admin {
        wanted.push((Role::Admin, admin, rw_mode));
    }
    let mut out = Listeners {
        sockets: Vec::new(),
        owned: Vec::new(),
        activated: false,
    };
    for (role, name, mode) in wanted {
        let path = dir.join(name);
        out.sockets.push((role, bind(&path, mode, gid)?));
        out.owned.push(path);
    }
    Ok(out)
}

async fn accept_loop(listener: UnixListener, shared: Arc<Shared>, role: Role) {
    // The admin socket serves no admin program (see session.rs); what else arrives on
    // it gets read-only access.
    let read_only = role != Role::ReadWrite;
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(peer) = Peer::of(&stream) else {
            tracing::warn!("refusing a client whose credentials cannot be read");
            continue;
        };
        let slot = match shared.admit(peer) {
            Ok(slot) => slot,
            Err(why) => {
                tracing::debug!(pid = peer.pid, "refusing client: {why}");
                continue;
            }
        };
        let s = shared.clone();
        tokio::spawn(crate::session::serve(stream, s, read_only, slot));
    }
}

/// Why the daemon stopped serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM or SIGINT.
    Signal,
    /// No client for `idle_timeout` seconds under socket activation.
    Idle,
}

/// Serves until SIGTERM or SIGINT, or until no client has been connected for
/// `idle_timeout` seconds (0: never); SIGHUP reloads the state drivers. Pings systemd's
/// watchdog when it is on.
/// Lets a running SIGHUP reload finish before the shutdown that follows tears the state
/// drivers down.
async fn after_reload(reload: Option<tokio::task::JoinHandle<()>>, stopped: Stopped) -> Stopped {
    if let Some(r) = reload {
        let _ = r.await;
    }
    stopped
}

async fn serve_until_stopped(
    shared: &Arc<Shared>,
    registry: &Arc<Registry>,
    idle_timeout: u32,
) -> Result<Stopped, ServerError> {
    let mut term = signal(SignalKind::terminate()).map_err(ServerError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServerError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(ServerError::Signals)?;
    let idle_limit = (idle_timeout > 0).then(|| Duration::from_secs(u64::from(idle_timeout)));
    let watchdog = systemd::watchdog_interval();
    let mut tick = tokio::time::interval(tick_period(watchdog));
    let mut idle_since = Instant::now();
    let mut reload: Option<tokio::task::JoinHandle<()>> = None;
    systemd::notify("READY=1");
    tracing::info!("rvirtd ready");
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(after_reload(reload, Stopped::Signal).await),
            _ = int.recv() => return Ok(after_reload(reload, Stopped::Signal).await),
            _ = hup.recv() => {
                // Not awaited here: a long reload must not hold back the watchdog pings
                // or the idle check.
                if reload.as_ref().is_some_and(|r| !r.is_finished()) {
                    tracing::info!("SIGHUP: a reload is still running; not starting another");
                } else {
                    tracing::info!("SIGHUP: reloading state drivers");
                    let r = registry.clone();
                    reload = Some(tokio::task::spawn_blocking(move || r.reload()));
                }
            }
            _ = tick.tick() => {
                if watchdog.is_some() {
                    // Sent from the I/O thread: a stuck event loop stops the pings.
                    systemd::notify("WATCHDOG=1");
                }
                // Running guests hold the daemon as clients do (as in libvirtd).
                if shared.counts().total > 0 || rvirt_core::host::idle_exit_held() {
                    idle_since = Instant::now();
                } else if idle_limit.is_some_and(|l| idle_since.elapsed() >= l) {
                    tracing::info!(
                        "no clients for {idle_timeout} s: exiting until the next connection"
                    );
                    return Ok(after_reload(reload, Stopped::Idle).await);
                }
            }
        }
    }
}

/// Serves every listener until [`serve_until_stopped`] returns, then shuts down.
pub async fn run(
    cfg: Config,
    registry: Arc<Registry>,
    listeners: Listeners,
) -> Result<Stopped, ServerError> {
    let shared = Arc::new(Shared {
        default_uri: default_uri(&registry),
        registry: registry.clone(),
        limits: cfg.limits.clone(),
        workers: Pool::new("rvirt-worker", cfg.limits.max_workers as usize),
        prio: Pool::new("rvirt-prio", cfg.limits.prio_workers as usize),
        spinner: Spinner::new(std::time::Duration::from_micros(u64::from(
            cfg.limits.io_poll_us,
        ))),
        clients: Mutex::new(ClientCounts::default()),
    });
    tokio::spawn(shared.spinner.clone().run());
    let loops: Vec<_> = listeners
        .sockets
        .into_iter()
        .map(|(role, l)| tokio::spawn(accept_loop(l, shared.clone(), role)))
        .collect();
    let idle_timeout = if listeners.activated {
        cfg.listen.idle_timeout
    } else {
        0
    };
    let stopped = serve_until_stopped(&shared, &registry, idle_timeout).await?;
    tracing::info!("shutting down");
    systemd::notify("STOPPING=1");
    for l in &loops {
        l.abort();
    }
    shared.workers.stop();
    shared.prio.stop();
    let r = registry.clone();
    let _ = tokio::task::spawn_blocking(move || r.shutdown()).await;
    for p in &listeners.owned {
        let _ = std::fs::remove_file(p);
    }
    Ok(stopped)
}
