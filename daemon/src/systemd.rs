//! systemd integration: socket activation (`LISTEN_FDS`) and readiness (`sd_notify`).

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixDatagram;

use tokio::net::UnixListener;

const FIRST_FD: RawFd = 3;

/// The (read-write, read-only) listeners systemd passed, if it passed any. With
/// `LISTEN_FDNAMES` the sockets are picked by name (`rvirt-sock`, `rvirt-sock-ro`),
/// otherwise the first is read-write and the second read-only.
pub fn activated_listeners() -> std::io::Result<Option<(UnixListener, UnixListener)>> {
    let pid_matches = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count: RawFd = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if !pid_matches || count < 2 {
        return Ok(None);
    }
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .unwrap_or_default()
        .split(':')
        .map(str::to_string)
        .collect();
    let pick = |name: &str, default: RawFd| {
        names
            .iter()
            .position(|n| n == name)
            .map_or(default, |i| FIRST_FD + i as RawFd)
    };
    let (rw_fd, ro_fd) = (
        pick("rvirt-sock", FIRST_FD),
        pick("rvirt-sock-ro", FIRST_FD + 1),
    );
    let adopt = |fd: RawFd| -> std::io::Result<UnixListener> {
        // SAFETY: systemd passes these descriptors to this process (LISTEN_PID matched) as
        // open listening sockets that nothing else in the process owns; we take them once.
        let l = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
        l.set_nonblocking(true)?;
        UnixListener::from_std(l)
    };
    for k in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(k);
    }
    Ok(Some((adopt(rw_fd)?, adopt(ro_fd)?)))
}

/// Sends a state line to systemd when run under it; does nothing otherwise.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
    } else {
        sock.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = sent {
        tracing::warn!("cannot notify systemd: {e}");
    }
}
