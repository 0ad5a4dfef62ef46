//! The remote transport: libvirt's RPC over a unix socket, as a synchronous client.
//! One call at a time per connection under a lock (the caller reads until its own reply,
//! answering keepalive pings and queueing event messages on the way), plus a pipelined
//! mode that writes many calls before reading the replies.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rvirt_protocol::error::{code, domain};
use rvirt_protocol::message::{
    check_length, encode_frame, Header, MessageStatus, MessageType, HEADER_LEN, MESSAGE_MAX,
};
use rvirt_protocol::xdr::from_bytes;
use rvirt_protocol::{keepalive_proc, RemoteError, KEEPALIVE_PROGRAM_NUMBER};

use crate::events::EventSink;

struct Wire {
    sock: UnixStream,
    serial: u32,
}

/// A connected libvirt RPC client.
pub struct RemoteTransport {
    wire: Mutex<Wire>,
    events: Arc<dyn EventSink>,
}

fn io_error(what: &str, e: &std::io::Error) -> RemoteError {
    RemoteError::new(code::SYSTEM_ERROR, domain::RPC, format!("{what}: {e}"))
}

/// One received frame.
struct Frame {
    header: Header,
    payload: Vec<u8>,
}

impl Wire {
    fn send(&mut self, header: &Header, payload: &[u8]) -> Result<(), RemoteError> {
        self.sock
            .write_all(&encode_frame(header, payload))
            .map_err(|e| io_error("cannot send data", &e))
    }

    fn recv(&mut self) -> Result<Frame, RemoteError> {
        let mut len = [0u8; 4];
        self.sock
            .read_exact(&mut len)
            .map_err(|e| io_error("cannot recv data", &e))?;
        let total = check_length(u32::from_be_bytes(len), MESSAGE_MAX).map_err(|e| {
            RemoteError::new(code::RPC, domain::RPC, format!("bad reply frame: {e}"))
        })?;
        let mut rest = vec![0u8; total - 4];
        self.sock
            .read_exact(&mut rest)
            .map_err(|e| io_error("cannot recv data", &e))?;
        let header = Header::decode(&rest[..HEADER_LEN]).map_err(|e| {
            RemoteError::new(code::RPC, domain::RPC, format!("bad reply header: {e}"))
        })?;
        rest.drain(..HEADER_LEN);
        Ok(Frame {
            header,
            payload: rest,
        })
    }

    fn next_serial(&mut self) -> u32 {
        let s = self.serial;
        self.serial = self.serial.wrapping_add(1);
        s
    }
}

fn call_header(program: u32, procedure: i32, serial: u32) -> Header {
    Header {
        program,
        version: 1,
        procedure,
        kind: MessageType::Call,
        serial,
        status: MessageStatus::Ok,
    }
}

impl RemoteTransport {
    /// Connects to a libvirt-protocol unix socket.
    pub fn connect_unix(
        path: &Path,
        events: Arc<dyn EventSink>,
    ) -> Result<RemoteTransport, RemoteError> {
        let sock = UnixStream::connect(path).map_err(|e| {
            RemoteError::new(
                code::SYSTEM_ERROR,
                domain::RPC,
                format!("Failed to connect socket to '{}': {e}", path.display()),
            )
        })?;
        Ok(RemoteTransport {
            wire: Mutex::new(Wire { sock, serial: 0 }),
            events,
        })
    }

    /// Handles a frame that is not the awaited reply. Returns true if it was consumed.
    fn side_frame(&self, wire: &mut Wire, f: &Frame) -> Result<bool, RemoteError> {
        if f.header.kind != MessageType::Message {
            return Ok(false);
        }
        if f.header.program == KEEPALIVE_PROGRAM_NUMBER {
            if f.header.procedure == keepalive_proc::PING {
                let pong = Header {
                    procedure: keepalive_proc::PONG,
                    kind: MessageType::Message,
                    ..f.header
                };
                wire.send(&pong, &[])?;
            }
        } else {
            self.events
                .deliver(f.header.program, f.header.procedure, &f.payload);
        }
        Ok(true)
    }

    fn reply_of(f: Frame) -> Result<Vec<u8>, RemoteError> {
        match f.header.status {
            MessageStatus::Ok => Ok(f.payload),
            _ => Err(from_bytes::<RemoteError>(&f.payload)?),
        }
    }

    /// Sends one call and waits for its reply.
    pub fn call(&self, program: u32, procedure: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        let mut wire = self.wire.lock().unwrap_or_else(PoisonError::into_inner);
        let serial = wire.next_serial();
        wire.send(&call_header(program, procedure, serial), args)?;
        loop {
            let f = wire.recv()?;
            if self.side_frame(&mut wire, &f)? {
                continue;
            }
            if f.header.kind == MessageType::Reply && f.header.serial == serial {
                return Self::reply_of(f);
            }
        }
    }

    /// Writes every call first, then collects the replies in call order.
    pub fn pipeline(
        &self,
        calls: &[(u32, i32, Vec<u8>)],
    ) -> Result<Vec<Result<Vec<u8>, RemoteError>>, RemoteError> {
        let mut wire = self.wire.lock().unwrap_or_else(PoisonError::into_inner);
        let first = wire.serial;
        let mut out = Vec::with_capacity(calls.len() * 64);
        for (program, procedure, args) in calls {
            let serial = wire.next_serial();
            out.extend_from_slice(&encode_frame(
                &call_header(*program, *procedure, serial),
                args,
            ));
        }
        wire.sock
            .write_all(&out)
            .map_err(|e| io_error("cannot send data", &e))?;
        let mut replies: Vec<Option<Result<Vec<u8>, RemoteError>>> =
            (0..calls.len()).map(|_| None).collect();
        let mut pending = calls.len();
        while pending > 0 {
            let f = wire.recv()?;
            if self.side_frame(&mut wire, &f)? {
                continue;
            }
            let idx = f.header.serial.wrapping_sub(first) as usize;
            if f.header.kind == MessageType::Reply && idx < replies.len() && replies[idx].is_none()
            {
                replies[idx] = Some(Self::reply_of(f));
                pending -= 1;
            }
        }
        Ok(replies
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(RemoteError::new(code::RPC, domain::RPC, "missing reply")))
            })
            .collect())
    }

    /// Reads event and keepalive messages for up to `timeout`.
    pub fn poll(&self, timeout: Duration) -> Result<(), RemoteError> {
        let mut wire = self.wire.lock().unwrap_or_else(PoisonError::into_inner);
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            wire.sock
                .set_read_timeout(Some(left))
                .map_err(|e| io_error("cannot set timeout", &e))?;
            let mut peek = [0u8; 1];
            let fd = std::os::fd::AsRawFd::as_raw_fd(&wire.sock);
            match nix::sys::socket::recv(fd, &mut peek, nix::sys::socket::MsgFlags::MSG_PEEK)
                .map_err(std::io::Error::from)
            {
                Ok(0) => {
                    return Err(RemoteError::new(
                        code::SYSTEM_ERROR,
                        domain::RPC,
                        "End of file while reading data",
                    ))
                }
                Ok(_) => {
                    wire.sock
                        .set_read_timeout(None)
                        .map_err(|e| io_error("cannot set timeout", &e))?;
                    let f = wire.recv()?;
                    self.side_frame(&mut wire, &f)?;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(io_error("cannot recv data", &e)),
            }
        }
        wire.sock
            .set_read_timeout(None)
            .map_err(|e| io_error("cannot set timeout", &e))?;
        Ok(())
    }
}
