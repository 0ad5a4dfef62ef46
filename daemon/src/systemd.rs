//! systemd integration: socket activation (`LISTEN_FDS`) and readiness (`sd_notify`).

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use tokio::net::UnixListener;

const FIRST_FD: RawFd = 3;

/// What a listening socket serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ReadWrite,
    ReadOnly,
    /// libvirt's admin socket: answered, but the admin program is not implemented.
    Admin,
}

impl Role {
    /// The role of a socket systemd passed under `FileDescriptorName=name`; `None` for
    /// names rvirtd does not know.
    fn of_name(name: &str) -> Option<Role> {
        match name {
            "rvirt-sock" | "libvirt-sock" => Some(Role::ReadWrite),
            "rvirt-sock-ro" | "libvirt-sock-ro" => Some(Role::ReadOnly),
            "rvirt-admin-sock" | "libvirt-admin-sock" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The roles of `count` passed sockets: by name where `names` has a known one (rvirt's
/// and libvirt's layouts may be passed together), otherwise by position (read-write,
/// read-only, admin). Unknown extra sockets get `None`.
fn roles(names: &[String], count: usize) -> Vec<Option<Role>> {
    let positional = [Role::ReadWrite, Role::ReadOnly, Role::Admin];
    let named: Vec<Option<Role>> = (0..count)
        .map(|i| names.get(i).and_then(|n| Role::of_name(n)))
        .collect();
    if named.iter().any(Option::is_some) {
        return named;
    }
    (0..count).map(|i| positional.get(i).copied()).collect()
}

/// The sockets systemd passed this process: how many, and their names.
#[derive(Debug)]
pub struct Activation {
    count: usize,
    names: Vec<String>,
}

/// Reads and clears systemd's `LISTEN_*` variables (so children do not inherit them).
/// Call it before any other thread starts: changing the environment races with threads
/// reading it.
pub fn take_activation() -> Option<Activation> {
    let pid_matches = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count: usize = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .unwrap_or_default()
        .split(':')
        .map(str::to_string)
        .collect();
    for k in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(k);
    }
    (pid_matches && count > 0).then_some(Activation { count, names })
}

/// The listeners systemd passed, with their roles.
pub fn activated_listeners(act: Activation) -> std::io::Result<Vec<(Role, UnixListener)>> {
    let Activation { count, names } = act;
    let mut out = Vec::new();
    for (i, role) in roles(&names, count).into_iter().enumerate() {
        let fd = FIRST_FD + i as RawFd;
        // SAFETY: systemd passes these descriptors to this process (LISTEN_PID matched) as
        // open listening sockets that nothing else in the process owns; we take each once.
        let l = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
        let Some(role) = role else {
            tracing::warn!("ignoring socket {fd} passed by systemd under an unknown name");
            continue;
        };
        l.set_nonblocking(true)?;
        out.push((role, UnixListener::from_std(l)?));
    }
    Ok(out)
}

/// How often systemd's watchdog wants a `WATCHDOG=1` (half its timeout), when it is on
/// for this process (`WATCHDOG_USEC`, and `WATCHDOG_PID` naming us if set).
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok() != Some(std::process::id()) {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Sends a state line to systemd when run under it; does nothing otherwise.
pub fn notify(state: &str) {
    if let Some(path) = std::env::var_os("NOTIFY_SOCKET") {
        notify_to(&path, state);
    }
}

/// Sends `state` to the notification socket at `path` (`@name`: an abstract one),
/// without waiting for room in it.
fn notify_to(path: &std::ffi::OsStr, state: &str) {
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    // Sent from the I/O thread: a notification socket nobody reads must not stall it.
    if sock.set_nonblocking(true).is_err() {
        return;
    }
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
    } else {
        sock.send_to(state.as_bytes(), path)
    };
    if let Err(e) = sent {
        tracing::warn!("cannot notify systemd: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notification socket that is never read fills up; sending to it then fails at
    /// once instead of blocking the sender.
    #[test]
    fn a_full_notification_socket_does_not_block() {
        let dir = std::env::temp_dir().join(format!("rvirt-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let receiver = UnixDatagram::bind(&path).unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            for _ in 0..10_000 {
                notify_to(p.as_os_str(), "WATCHDOG=1");
            }
            done.send(()).unwrap();
        });
        let r = finished.recv_timeout(Duration::from_secs(20));
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(r.is_ok(), "notify blocked on a socket nobody reads");
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn roles_by_name_then_position() {
        use Role::*;
        let both = names(&[
            "rvirt-sock",
            "libvirt-sock-ro",
            "libvirt-admin-sock",
            "libvirt-sock",
            "rvirt-sock-ro",
        ]);
        assert_eq!(
            roles(&both, 5),
            vec![
                Some(ReadWrite),
                Some(ReadOnly),
                Some(Admin),
                Some(ReadWrite),
                Some(ReadOnly)
            ]
        );
        assert_eq!(
            roles(&names(&["unknown", "unknown"]), 2),
            vec![Some(ReadWrite), Some(ReadOnly)]
        );
        assert_eq!(roles(&[], 1), vec![Some(ReadWrite)]);
        assert_eq!(
            roles(&names(&["rvirt-sock", "other"]), 2),
            vec![Some(ReadWrite), None]
        );
    }
}
