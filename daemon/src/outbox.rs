//! The write side of a client connection. Whoever produces a frame (the reader answering
//! inline, a worker thread, a driver emitting an event) writes it straight to the socket
//! when nothing is queued and the socket takes it; only what the socket refuses is queued
//! for a flusher task. So the common reply costs no thread hand-off at all.
//!
//! Nothing is ever dropped while the connection is open: the reader stops taking calls
//! from a client whose queue passes the soft bound ([`Outbox::wait_drained`]), and a
//! client whose queue still grows past the hard bound (events it never reads) is
//! disconnected rather than silently losing messages.

use std::io::IoSlice;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, PoisonError};

use rvirt_core::events::EventSink;
use rvirt_protocol::message::{frame_head, Header, MessageStatus, MessageType};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::Notify;

/// Queued bytes beyond which a client that does not read is disconnected.
const PENDING_HARD_MAX: usize = 64 * 1024 * 1024;

struct Pending {
    bytes: Vec<u8>,
    /// How much of `bytes` the socket has taken already.
    head: usize,
    closed: bool,
}

impl Pending {
    fn queued(&self) -> usize {
        self.bytes.len() - self.head
    }

    fn unsent(&self) -> &[u8] {
        &self.bytes[self.head..]
    }

    /// Marks `n` more bytes as sent, compacting only when most of the buffer is sent,
    /// so each byte is moved a bounded number of times.
    fn advance(&mut self, n: usize) {
        self.head += n;
        if self.head == self.bytes.len() {
            self.bytes.clear();
            self.head = 0;
        } else if self.head > 64 * 1024 && self.head * 2 > self.bytes.len() {
            self.bytes.drain(..self.head);
            self.head = 0;
        }
    }
}

/// Shared handle for sending whole frames to one client.
#[derive(Clone)]
pub struct Outbox {
    sock: Arc<OwnedWriteHalf>,
    pending: Arc<Mutex<Pending>>,
    wake: Arc<Notify>,
    /// Signalled whenever the queue shrinks or the connection closes.
    drained: Arc<Notify>,
}

impl Outbox {
    /// Creates the outbox and its flusher task.
    pub fn start(sock: OwnedWriteHalf) -> (Outbox, tokio::task::JoinHandle<()>) {
        let o = Outbox {
            sock: Arc::new(sock),
            pending: Arc::new(Mutex::new(Pending {
                bytes: Vec::new(),
                head: 0,
                closed: false,
            })),
            wake: Arc::new(Notify::new()),
            drained: Arc::new(Notify::new()),
        };
        let flusher = tokio::spawn(o.clone().flush_loop());
        (o, flusher)
    }

    /// Writes as much of `head` then `body` as the socket takes now, in one vectored
    /// write when it takes them whole; returns how much it took, or `None` when the
    /// connection is broken.
    fn write_now(&self, head: &[u8], body: &[u8]) -> Option<usize> {
        let total = head.len() + body.len();
        let mut done = 0;
        while done < total {
            let r = if done < head.len() {
                let parts = [IoSlice::new(&head[done..]), IoSlice::new(body)];
                self.sock.try_write_vectored(&parts)
            } else {
                self.sock.try_write(&body[done - head.len()..])
            };
            match r {
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return None,
            }
        }
        Some(done)
    }

    /// Sends one frame, in order with every frame sent before it.
    pub fn send(&self, frame: Vec<u8>) {
        self.send_parts(&frame, &[]);
    }

    /// Sends one frame given as its head and its payload (a reply in the buffer its driver
    /// encoded it to), in order with every frame sent before it.
    pub fn send_parts(&self, head: &[u8], body: &[u8]) {
        let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if p.closed {
            return;
        }
        if p.queued() == 0 {
            match self.write_now(head, body) {
                Some(n) if n == head.len() + body.len() => return,
                Some(n) if n < head.len() => {
                    p.bytes.extend_from_slice(&head[n..]);
                    p.bytes.extend_from_slice(body);
                }
                Some(n) => p.bytes.extend_from_slice(&body[n - head.len()..]),
                None => p.closed = true,
            }
        } else {
            p.bytes.extend_from_slice(head);
            p.bytes.extend_from_slice(body);
        }
        if p.queued() > PENDING_HARD_MAX {
            tracing::warn!(
                queued = p.queued(),
                "disconnecting a client that does not read what it is sent"
            );
            p.closed = true;
            self.shut_down();
        }
        drop(p);
        self.wake.notify_one();
    }

    pub async fn wait_drained(&self, bound: usize) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                if p.closed || p.queued() <= bound {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Whether the connection is closed (nothing sent is delivered any more).
    pub fn is_closed(&self) -> bool {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed
    }

    /// Ends both directions of the socket, so the reader sees the end too.
    fn shut_down(&self) {
        let stream: &tokio::net::UnixStream = (*self.sock).as_ref();
        let _ = nix::sys::socket::shutdown(stream.as_raw_fd(), nix::sys::socket::Shutdown::Both);
    }

    /// Stops sending; queued bytes are dropped.
    pub fn close(&self) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.wake.notify_one();
        self.drained.notify_waiters();
    }

    async fn flush_loop(self) {
        loop {
            self.wake.notified().await;
            loop {
                let state = {
                    let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                    if p.closed {
                        self.drained.notify_waiters();
                        return;
                    }
                    match self.write_now(p.unsent(), &[]) {
                        Some(n) => {
                            p.advance(n);
                            if n > 0 {
                                self.drained.notify_waiters();
                            }
                            p.queued() == 0
                        }
                        None => {
                            p.closed = true;
                            self.drained.notify_waiters();
                            return;
                        }
                    }
                };
                if state || self.sock.writable().await.is_err() {
                    break;
                }
            }
        }
    }
}

impl EventSink for Outbox {
    fn deliver(&self, program: u32, procedure: i32, payload: &[u8]) {
        let h = Header {
            program,
            version: 1,
            procedure,
            kind: MessageType::Message,
            serial: 0,
            status: MessageStatus::Ok,
        };
        self.send_parts(&frame_head(&h, payload.len()), payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Frames sent as head and body while the peer reads nothing reach it whole and in
    /// order, whichever byte the socket stopped taking at (in a head or in a body).
    #[tokio::test]
    async fn split_frames_arrive_whole_and_in_order() {
        let (ours, mut theirs) = tokio::net::UnixStream::pair().unwrap();
        let (_rd, wr) = ours.into_split();
        let (outbox, _flusher) = Outbox::start(wr);
        let mut want = Vec::new();
        for i in 0..400u32 {
            let head = [i as u8; 7];
            let body = vec![(i * 7) as u8; 1000 + i as usize * 13];
            want.extend_from_slice(&head);
            want.extend_from_slice(&body);
            outbox.send_parts(&head, &body);
        }
        assert!(
            outbox.pending.lock().unwrap().queued() > 0,
            "the socket took it all"
        );
        let mut got = vec![0u8; want.len()];
        theirs.read_exact(&mut got).await.unwrap();
        assert!(got == want, "bytes arrived out of order or altered");
    }
}
