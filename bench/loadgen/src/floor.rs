//! The floor server: the fastest a daemon could answer a synchronous client on this
//! machine. One thread, no work: each reply is a canned payload recorded from a real
//! daemon (rvirtd) the first time its procedure is seen, written inline. In `sleep` mode
//! the thread sleeps in `poll` between requests, like any event loop; in `busy` mode it
//! never sleeps, so a request is seen the moment it lands. The difference between the
//! two is the cost of waking a sleeping thread; the busy figure is the floor.
//!
//! ```text
//! loadgen floor --listen SOCKET --upstream RVIRTD_SOCKET --mode sleep|busy
//! ```
//! Runs until killed.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::{UnixListener, UnixStream};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use rvirt_protocol::message::{Header, MessageStatus, MessageType, HEADER_LEN};
use rvirt_protocol::{keepalive_proc, KEEPALIVE_PROGRAM_NUMBER};

use crate::Opts;

/// A recorded answer: reply status and payload.
type Canned = (MessageStatus, Vec<u8>);

struct Client {
    sock: UnixStream,
    buf: Vec<u8>,
}

struct Floor {
    upstream: UnixStream,
    /// By program, procedure and (for tiny arguments, such as a feature number) the
    /// arguments themselves; bigger arguments (names, XML) get one answer whatever they are.
    canned: HashMap<(u32, i32, Vec<u8>), Canned>,
}

pub fn run(o: &Opts) -> Result<String, String> {
    let listen = o.need("listen")?;
    let busy = match o.need("mode")? {
        "sleep" => false,
        "busy" => true,
        other => return Err(format!("--mode: '{other}' is neither sleep nor busy")),
    };
    let upstream =
        UnixStream::connect(o.need("upstream")?).map_err(|e| format!("--upstream: {e}"))?;
    let _ = std::fs::remove_file(listen);
    let listener = UnixListener::bind(listen).map_err(|e| format!("--listen: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut floor = Floor {
        upstream,
        canned: HashMap::new(),
    };
    let mut clients: Vec<Client> = Vec::new();
    loop {
        if !busy {
            wait_readable(&listener, &clients)?;
        }
        while let Ok((sock, _)) = listener.accept() {
            sock.set_nonblocking(true).map_err(|e| e.to_string())?;
            clients.push(Client {
                sock,
                buf: Vec::new(),
            });
        }
        clients.retain_mut(|c| floor.serve(c));
    }
}

/// Sleeps until the listener or a client has something to read.
fn wait_readable(listener: &UnixListener, clients: &[Client]) -> Result<(), String> {
    let mut fds = Vec::with_capacity(clients.len() + 1);
    fds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
    fds.extend(
        clients
            .iter()
            .map(|c| PollFd::new(c.sock.as_fd(), PollFlags::POLLIN)),
    );
    poll(&mut fds, PollTimeout::NONE).map_err(|e| format!("poll: {e}"))?;
    Ok(())
}

impl Floor {
    /// Reads what the client sent and answers every whole call; false once it is gone.
    fn serve(&mut self, c: &mut Client) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match c.sock.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => c.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
        }
        while c.buf.len() >= 4 {
            let len = u32::from_be_bytes([c.buf[0], c.buf[1], c.buf[2], c.buf[3]]) as usize;
            if len < 4 + HEADER_LEN {
                return false;
            }
            if c.buf.len() < len {
                break;
            }
            let frame: Vec<u8> = c.buf.drain(..len).collect();
            let Some(reply) = self.answer(&frame) else {
                continue;
            };
            if write_all_blocking(&mut c.sock, &reply).is_err() {
                return false;
            }
        }
        true
    }

    /// The reply frame for one frame from a client (none for messages).
    fn answer(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        let h = Header::decode(&frame[4..4 + HEADER_LEN]).ok()?;
        if h.program == KEEPALIVE_PROGRAM_NUMBER {
            return (h.procedure == keepalive_proc::PING).then(|| {
                let pong = Header {
                    procedure: keepalive_proc::PONG,
                    ..h
                };
                rvirt_protocol::message::encode_frame(&pong, &[])
            });
        }
        if h.kind != MessageType::Call {
            return None;
        }
        let args = &frame[4 + HEADER_LEN..];
        let key = (
            h.program,
            h.procedure,
            if args.len() <= 8 {
                args.to_vec()
            } else {
                Vec::new()
            },
        );
        if !self.canned.contains_key(&key) {
            let recorded = self.record(frame, h.serial)?;
            self.canned.insert(key.clone(), recorded);
        }
        let (status, payload) = &self.canned[&key];
        let reply = Header {
            kind: MessageType::Reply,
            status: *status,
            ..h
        };
        Some(rvirt_protocol::message::encode_frame(&reply, payload))
    }

    /// Asks the upstream daemon once and keeps its answer.
    fn record(&mut self, frame: &[u8], serial: u32) -> Option<Canned> {
        self.upstream.write_all(frame).ok()?;
        loop {
            let mut len = [0u8; 4];
            self.upstream.read_exact(&mut len).ok()?;
            let mut rest = vec![0u8; (u32::from_be_bytes(len) as usize).checked_sub(4)?];
            self.upstream.read_exact(&mut rest).ok()?;
            let h = Header::decode(rest.get(..HEADER_LEN)?).ok()?;
            if h.kind == MessageType::Reply && h.serial == serial {
                return Some((h.status, rest[HEADER_LEN..].to_vec()));
            }
        }
    }
}

/// Writes a whole reply to a non-blocking socket, waiting while it is full.
fn write_all_blocking(sock: &mut UnixStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match sock.write(data) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
