//! `virsh console`: DOMAIN_OPEN_CONSOLE opens a duplex stream on the host side of a
//! running guest's pty console or serial port (libvirt's qemu driver takes ptys only). One
//! stream per device at a time, as libvirt: another open fails unless forced, and a forced
//! open ends the stream it takes over.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rvirt_plugin_api::protocol::{RemoteDomainOpenConsoleArgs, RemoteError};
use rvirt_plugin_api::sdk::{code, domain, Stream, StreamChunk};
use rvirt_xml::domain::{CharDev, ChrKind, Device, DomainDef};

use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};

use rvirt_plugin_api::protocol::facts::console_flags::{FORCE, SAFE};

/// Marks an open console: cleared by the stream that holds it when it ends, or set
/// `taken` by a forced open that displaces it.
#[derive(Debug, Clone, Default)]
pub struct Lease {
    taken: Arc<AtomicBool>,
}

/// The alias libvirt gives a character device that has none in the definition.
fn alias(c: &CharDev, index: usize) -> String {
    c.info.alias.clone().unwrap_or_else(|| {
        let n = c.target_port.map_or(index, |p| p as usize);
        format!("{}{n}", c.kind.element())
    })
}

/// The device `dev_name` names (an alias), or the first console, else the first serial.
fn find<'a>(def: &'a DomainDef, dev_name: Option<&str>) -> Option<(String, &'a CharDev)> {
    let chr = |kind: ChrKind| {
        def.devices
            .iter()
            .filter_map(move |d| match d {
                Device::Chr(c) if c.kind == kind => Some(c),
                _ => None,
            })
            .enumerate()
            .map(|(i, c)| (alias(c, i), c))
    };
    match dev_name {
        Some(name) => chr(ChrKind::Console)
            .chain(chr(ChrKind::Serial))
            .chain(chr(ChrKind::Parallel))
            .find(|(a, _)| a == name),
        None => chr(ChrKind::Console).chain(chr(ChrKind::Serial)).next(),
    }
}

/// DOMAIN_OPEN_CONSOLE.
pub fn open(drv: &Arc<Driver>, a: &RemoteDomainOpenConsoleArgs) -> QResult<Box<dyn Stream>> {
    check_flags(a.flags, FORCE | SAFE, "qemuDomainOpenConsole")?;
    let dev_name = a.dev_name.as_deref();
    let (uuid, alias, path) = drv.read(|s| {
        let d = s.find(&a.dom)?;
        let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
        let (alias, chr) = find(&run.live, dev_name).ok_or_else(|| {
            QemuError::Internal(format!(
                "cannot find character device {}",
                dev_name.unwrap_or("<null>")
            ))
        })?;
        if chr.source_type != "pty" {
            return Err(QemuError::Internal(format!(
                "character device {} is not using a PTY",
                dev_name.unwrap_or(&alias)
            ))
            .into());
        }
        let path = chr.source_path.clone().unwrap_or_default();
        Ok((d.def.uuid.0, alias, path))
    })?;
    // Held per host-side device, as libvirt: console0 and serial0 are one pty. The lease
    // comes first: a refused open must not touch the pty of the session that holds it.
    let key = (uuid, path.clone());
    let lease = take_lease(drv, &key, a.flags & FORCE != 0)?;
    let fd = match open_pty(&path) {
        Ok(fd) => fd,
        Err(e) => {
            give_back(drv, &key, &lease);
            return Err(e);
        }
    };
    Ok(Box::new(Console {
        fd,
        lease,
        key,
        alias,
        drv: Arc::downgrade(drv),
    }))
}

/// The device's lease, displacing the holder's when `force`.
fn take_lease(drv: &Driver, key: &([u8; 16], String), force: bool) -> QResult<Lease> {
    drv.write(|s, _| {
        if let Some(old) = s.consoles.get(key) {
            if !force {
                return Err(QemuError::Failed(
                    "Active console session exists for this domain".into(),
                )
                .into());
            }
            old.taken.store(true, Ordering::SeqCst);
        }
        let lease = Lease::default();
        s.consoles.insert(key.clone(), lease.clone());
        Ok(lease)
    })
}

/// Drops `lease` from the table, unless a forced open has replaced it since.
fn give_back(drv: &Driver, key: &([u8; 16], String), lease: &Lease) {
    let _ = drv.write(|s, _| {
        if s.consoles
            .get(key)
            .is_some_and(|l| Arc::ptr_eq(&l.taken, &lease.taken))
        {
            s.consoles.remove(key);
        }
        Ok(())
    });
}

/// The host side of the pty, in raw mode as libvirt sets it.
fn open_pty(path: &str) -> QResult<OwnedFd> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let raw = open(path, flags, Mode::empty())
        .map_err(|e| QemuError::sys(format!("Unable to open tty {path}"), e))?;
    // SAFETY: `open` returned a new descriptor that nothing else owns.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    let mut t =
        tcgetattr(fd.as_fd()).map_err(|e| QemuError::sys("Unable to read tty attributes", e))?;
    cfmakeraw(&mut t);
    tcsetattr(fd.as_fd(), SetArg::TCSADRAIN, &t)
        .map_err(|e| QemuError::sys("Unable to set tty attributes", e))?;
    Ok(fd)
}

struct Console {
    fd: OwnedFd,
    lease: Lease,
    /// The domain and the host-side path.
    key: ([u8; 16], String),
    alias: String,
    drv: std::sync::Weak<Driver>,
}

impl Console {
    fn io_error(&self, what: &str, e: nix::errno::Errno) -> RemoteError {
        QemuError::sys(
            format!("cannot {what} the console of device {}", self.alias),
            e,
        )
        .into()
    }

    /// Gives the device back, unless a forced open took it.
    fn release(&mut self) {
        if let Some(drv) = self.drv.upgrade() {
            give_back(&drv, &self.key, &self.lease);
        }
        self.drv = std::sync::Weak::new();
    }

    /// The error of a session a forced open took over, as libvirtd sends it.
    fn taken_over(&self) -> Option<RemoteError> {
        self.lease.taken.load(Ordering::SeqCst).then(|| {
            RemoteError::new(
                code::RPC,
                domain::STREAMS,
                "stream had I/O failure".to_string(),
            )
        })
    }
}

impl Stream for Console {
    fn send(&mut self, mut data: &[u8]) -> Result<(), RemoteError> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        if let Some(e) = self.taken_over() {
            return Err(e);
        }
        while !data.is_empty() {
            match nix::unistd::write(self.fd.as_fd(), data) {
                Ok(n) => data = &data[n..],
                Err(nix::errno::Errno::EAGAIN) => {
                    let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLOUT)];
                    poll(&mut fds, PollTimeout::from(100u16))
                        .map_err(|e| self.io_error("wait for", e))?;
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(self.io_error("write to", e)),
            }
        }
        Ok(())
    }

    fn recv(&mut self, max: usize, wait: Duration) -> Result<StreamChunk, RemoteError> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        if let Some(e) = self.taken_over() {
            return Err(e);
        }
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return Ok(StreamChunk::Idle),
            Ok(_) => {}
            Err(e) => return Err(self.io_error("wait for", e)),
        }
        let mut buf = vec![0u8; max.clamp(1, 64 * 1024)];
        match nix::unistd::read(self.fd.as_raw_fd(), &mut buf) {
            Ok(0) => Ok(StreamChunk::End),
            Ok(n) => {
                buf.truncate(n);
                Ok(StreamChunk::Data(buf))
            }
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Ok(StreamChunk::Idle),
            // The guest side of the pty closed: QEMU is gone.
            Err(nix::errno::Errno::EIO) => Ok(StreamChunk::End),
            Err(e) => Err(self.io_error("read from", e)),
        }
    }

    fn finish(&mut self) -> Result<(), RemoteError> {
        self.release();
        Ok(())
    }

    fn abort(&mut self) {
        self.release();
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(devices: &str) -> DomainDef {
        let xml = format!(
            "<domain type='qemu'><name>c</name><memory>1024</memory>\
             <os><type>hvm</type></os><devices>{devices}</devices></domain>"
        );
        DomainDef::parse(&xml).unwrap()
    }

    #[test]
    fn the_first_console_or_serial_is_the_default() {
        let d = def("<serial type='pty'><target port='0'/></serial>\
                     <serial type='file'><source path='/x'/><target port='1'/></serial>");
        // The parser pairs the first serial port with a console, as libvirt does.
        assert_eq!(find(&d, None).unwrap().0, "console0");
        assert_eq!(find(&d, Some("serial0")).unwrap().1.source_type, "pty");
        assert_eq!(find(&d, Some("serial1")).unwrap().1.source_type, "file");
        assert!(find(&d, Some("serial7")).is_none());
        assert!(find(&def(""), None).is_none());
    }
}
