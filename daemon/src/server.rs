//! Listeners, accept loops, signals and the daemon lifecycle.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rvirt_config::{parse_mode, Config, Limits};
use rvirt_core::registry::Registry;
use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::systemd;

/// What every client session shares.
pub struct Shared {
    pub registry: Arc<Registry>,
    pub limits: Limits,
    /// The URI a client gets when it opens with an empty name.
    pub default_uri: String,
    clients: AtomicU32,
}

/// Why the daemon could not start serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot create socket directory {0}: {1}")]
    SocketDir(PathBuf, std::io::Error),
    #[error("cannot listen on {0}: {1}")]
    Bind(PathBuf, std::io::Error),
    #[error("cannot set permissions of {0}: {1}")]
    Permissions(PathBuf, std::io::Error),
    #[error("socket group '{0}' does not exist")]
    NoGroup(String),
    #[error("cannot use the sockets passed by systemd: {0}")]
    Activation(std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
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

/// The two listeners: read-write and read-only.
pub struct Listeners {
    pub rw: UnixListener,
    pub ro: UnixListener,
    /// Socket files to remove at shutdown (none under socket activation).
    pub owned: Vec<PathBuf>,
}

pub fn listen(cfg: &Config) -> Result<Listeners, ServerError> {
    if let Some((rw, ro)) = systemd::activated_listeners().map_err(ServerError::Activation)? {
        tracing::info!("using sockets passed by systemd");
        return Ok(Listeners {
            rw,
            ro,
            owned: Vec::new(),
        });
    }
    let dir = &cfg.listen.socket_dir;
    std::fs::create_dir_all(dir).map_err(|e| ServerError::SocketDir(dir.clone(), e))?;
    let gid = group_id(&cfg.listen.socket_group)?;
    let rw_path = dir.join("rvirt-sock");
    let ro_path = dir.join("rvirt-sock-ro");
    let rw = bind(
        &rw_path,
        parse_mode(&cfg.listen.socket_mode).unwrap_or(0o600),
        gid,
    )?;
    let ro = bind(
        &ro_path,
        parse_mode(&cfg.listen.socket_ro_mode).unwrap_or(0o666),
        gid,
    )?;
    Ok(Listeners {
        rw,
        ro,
        owned: vec![rw_path, ro_path],
    })
}

async fn accept_loop(listener: UnixListener, shared: Arc<Shared>, read_only: bool) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if shared.clients.load(Ordering::Relaxed) >= shared.limits.max_clients {
            tracing::warn!(
                "refusing client: max_clients ({}) reached",
                shared.limits.max_clients
            );
            continue;
        }
        shared.clients.fetch_add(1, Ordering::Relaxed);
        let s = shared.clone();
        tokio::spawn(async move {
            crate::session::serve(stream, s.clone(), read_only).await;
            s.clients.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// Serves until SIGTERM or SIGINT; SIGHUP reloads the state drivers.
pub async fn run(
    cfg: Config,
    registry: Arc<Registry>,
    listeners: Listeners,
) -> Result<(), ServerError> {
    let shared = Arc::new(Shared {
        default_uri: default_uri(&registry),
        registry: registry.clone(),
        limits: cfg.limits.clone(),
        clients: AtomicU32::new(0),
    });
    let mut term = signal(SignalKind::terminate()).map_err(ServerError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServerError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(ServerError::Signals)?;
    let rw = tokio::spawn(accept_loop(listeners.rw, shared.clone(), false));
    let ro = tokio::spawn(accept_loop(listeners.ro, shared.clone(), true));
    systemd::notify("READY=1");
    tracing::info!("rvirtd ready");
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading state drivers");
                let r = registry.clone();
                let _ = tokio::task::spawn_blocking(move || r.reload()).await;
            }
        }
    }
    tracing::info!("shutting down");
    systemd::notify("STOPPING=1");
    rw.abort();
    ro.abort();
    let r = registry.clone();
    let _ = tokio::task::spawn_blocking(move || r.shutdown()).await;
    for p in &listeners.owned {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}
