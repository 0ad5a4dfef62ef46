//! Kernel uevents (`NETLINK_KOBJECT_UEVENT`): devices that come and go while the
//! daemon runs, without needing udevd. Where udevd runs, its own re-broadcasts (sent
//! once its database is written) trigger a second rescan that picks up udev's
//! properties.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Weak};

use crate::state::Driver;

/// Subsystems whose events can change the node device list.
const WATCHED: &[&str] = &["net", "block", "pci", "usb", "scsi", "drm"];

/// The kernel's uevent multicast group and udevd's.
const GROUP_KERNEL: u32 = 1;
const GROUP_UDEV: u32 = 2;

/// A socket bound to the kernel's uevent group, and udevd's when allowed.
fn open() -> std::io::Result<OwnedFd> {
    open_groups(GROUP_KERNEL | GROUP_UDEV).or_else(|_| open_groups(GROUP_KERNEL))
}

fn open_groups(groups: u32) -> std::io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_KOBJECT_UEVENT,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor nobody else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: an all-zero sockaddr_nl is valid; the fields are set below.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = groups;
    // SAFETY: `addr` is a valid sockaddr_nl and its exact size is passed.
    let r = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            std::ptr::addr_of!(addr).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(sock)
}

/// The `SUBSYSTEM=` of one uevent message: the kernel's (`action@devpath\0KEY=VAL\0...`)
/// or udevd's (`libudev\0`, a binary header, then the same `KEY=VAL\0` list).
pub fn subsystem(msg: &[u8]) -> Option<&str> {
    let mut parts = msg.split(|&b| b == 0);
    let head = parts.next()?;
    if head != b"libudev" && !head.contains(&b'@') {
        return None;
    }
    parts
        .filter_map(|p| std::str::from_utf8(p).ok())
        .find_map(|p| p.strip_prefix("SUBSYSTEM="))
}

/// Starts the listener thread; it ends when the driver is dropped.
pub fn start(drv: &Arc<Driver>) {
    let sock = match open() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("node devices will not follow host changes: uevent socket: {e}");
            return;
        }
    };
    let weak: Weak<Driver> = Arc::downgrade(drv);
    let spawned = std::thread::Builder::new()
        .name("nodedev-uevent".into())
        .spawn(move || listen(sock, weak));
    if let Err(e) = spawned {
        tracing::warn!("uevent thread: {e}");
    }
}

/// How long a burst of uevents may last before the rescan it causes.
const SETTLE_MS: i32 = 100;

/// What one wait on the socket gave.
enum Recv {
    /// A message that may change the device list.
    Relevant,
    /// A message of another subsystem.
    Other,
    /// The kernel dropped messages (the socket's buffer overran): rescan to be safe.
    Overrun,
    /// Nothing arrived within the timeout.
    Timeout,
}

/// Waits up to `timeout_ms` (-1: forever) for one message.
fn recv(sock: &OwnedFd, buf: &mut [u8], timeout_ms: i32) -> std::io::Result<Recv> {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd, and one is the count passed.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if r == 0 {
        return Ok(Recv::Timeout);
    }
    let n = if r > 0 {
        // SAFETY: `buf` is writable for its whole length, which is what is passed.
        unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) }
    } else {
        -1
    };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EINTR) => Ok(Recv::Other),
            Some(libc::ENOBUFS) => Ok(Recv::Overrun),
            _ => Err(e),
        };
    }
    let relevant = subsystem(&buf[..n as usize]).is_some_and(|s| WATCHED.contains(&s));
    Ok(if relevant {
        Recv::Relevant
    } else {
        Recv::Other
    })
}

/// Rescans after each burst of relevant uevents, once the burst has settled.
fn listen(sock: OwnedFd, drv: Weak<Driver>) {
    let mut buf = vec![0u8; 16384];
    let mut pending = false;
    loop {
        let timeout = if pending { SETTLE_MS } else { -1 };
        match recv(&sock, &mut buf, timeout) {
            Ok(Recv::Relevant | Recv::Overrun) => pending = true,
            Ok(Recv::Other) => {}
            Ok(Recv::Timeout) => {
                let Some(d) = drv.upgrade() else { return };
                d.rescan();
                pending = false;
            }
            Err(e) => {
                tracing::warn!("uevent: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn subsystem_of_kernel_messages_only() {
        let m = b"add@/devices/virtual/net/v0\0ACTION=add\0SUBSYSTEM=net\0INTERFACE=v0\0";
        assert_eq!(super::subsystem(m), Some("net"));
        assert_eq!(super::subsystem(b"libudev\0\xfe\xed"), None);
        let udev = b"libudev\0\xfe\xed\xca\xfe\0\0\0(ACTION=add\0SUBSYSTEM=block\0";
        assert_eq!(super::subsystem(udev), Some("block"));
        assert_eq!(super::subsystem(b"junk\0SUBSYSTEM=net\0"), None);
        assert_eq!(super::subsystem(b"remove@/x\0ACTION=remove\0"), None);
    }
}
