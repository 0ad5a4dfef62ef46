//! Kernel uevents (`NETLINK_KOBJECT_UEVENT`): devices that come and go while the
//! daemon runs, without needing udevd.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Weak};

use crate::state::Driver;

/// Subsystems whose events can change the node device list.
const WATCHED: &[&str] = &["net", "block", "pci", "usb", "scsi", "drm"];

/// A socket bound to the kernel's uevent multicast group.
fn open() -> std::io::Result<OwnedFd> {
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
    addr.nl_groups = 1;
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

/// The `SUBSYSTEM=` of one kernel uevent message (`action@devpath\0KEY=VAL\0...`);
/// `None` for udevd's own re-broadcasts and malformed messages.
pub fn subsystem(msg: &[u8]) -> Option<&str> {
    let mut parts = msg.split(|&b| b == 0);
    let head = std::str::from_utf8(parts.next()?).ok()?;
    head.contains('@').then_some(())?;
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

fn listen(sock: OwnedFd, drv: Weak<Driver>) {
    let mut buf = vec![0u8; 16384];
    loop {
        // SAFETY: `buf` is writable for its whole length, which is what is passed.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            tracing::warn!("uevent: {}", std::io::Error::last_os_error());
            return;
        }
        let Some(d) = drv.upgrade() else { return };
        if subsystem(&buf[..n as usize]).is_some_and(|s| WATCHED.contains(&s)) {
            d.rescan();
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
        assert_eq!(super::subsystem(b"remove@/x\0ACTION=remove\0"), None);
    }
}
