//! The write side of a client connection. Whoever produces a frame (the reader answering
//! inline, a worker thread, a driver emitting an event) writes it straight to the socket
//! when nothing is queued and the socket takes it; only what the socket refuses is queued
//! for a flusher task. So the common reply costs no thread hand-off at all.

use std::sync::{Arc, Mutex, PoisonError};

use rvirt_core::events::EventSink;
use rvirt_protocol::message::{encode_frame, Header, MessageStatus, MessageType};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::Notify;

/// Queued bytes beyond which a client that does not read is dropped.
const PENDING_MAX: usize = 64 * 1024 * 1024;

struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

/// Shared handle for sending whole frames to one client.
#[derive(Clone)]
pub struct Outbox {
    sock: Arc<OwnedWriteHalf>,
    pending: Arc<Mutex<Pending>>,
    wake: Arc<Notify>,
}

impl Outbox {
    /// Creates the outbox and its flusher task.
    pub fn start(sock: OwnedWriteHalf) -> (Outbox, tokio::task::JoinHandle<()>) {
        let o = Outbox {
            sock: Arc::new(sock),
            pending: Arc::new(Mutex::new(Pending {
                bytes: Vec::new(),
                closed: false,
            })),
            wake: Arc::new(Notify::new()),
        };
        let flusher = tokio::spawn(o.clone().flush_loop());
        (o, flusher)
    }

    /// Writes as much of `data` as the socket takes now; returns how much it took, or
    /// `None` when the connection is broken.
    fn write_now(&self, data: &[u8]) -> Option<usize> {
        let mut done = 0;
        while done < data.len() {
            match self.sock.try_write(&data[done..]) {
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return None,
            }
        }
        Some(done)
    }

    /// Sends one frame, in order with every frame sent before it.
    pub fn send(&self, frame: Vec<u8>) {
        let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if p.closed {
            return;
        }
        if p.bytes.is_empty() {
            match self.write_now(&frame) {
                Some(n) if n == frame.len() => return,
                Some(n) => p.bytes.extend_from_slice(&frame[n..]),
                None => p.closed = true,
            }
        } else {
            p.bytes.extend_from_slice(&frame);
        }
        if p.bytes.len() > PENDING_MAX {
            tracing::warn!("dropping a client that does not read its replies");
            p.closed = true;
        }
        drop(p);
        self.wake.notify_one();
    }

    /// Stops sending; queued bytes are dropped.
    pub fn close(&self) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.wake.notify_one();
    }

    async fn flush_loop(self) {
        loop {
            self.wake.notified().await;
            loop {
                let state = {
                    let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                    if p.closed {
                        return;
                    }
                    match self.write_now(&p.bytes) {
                        Some(n) => {
                            p.bytes.drain(..n);
                            p.bytes.is_empty()
                        }
                        None => {
                            p.closed = true;
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
        self.send(encode_frame(&h, payload));
    }
}
