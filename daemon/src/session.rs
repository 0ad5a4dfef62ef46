//! One client connection: reads frames, answers the connection sequence (AUTH_LIST,
//! CONNECT_OPEN, keepalive), dispatches calls to the drivers — inline when the procedure
//! never blocks, on the blocking pool otherwise — and writes replies, events and pings
//! through the connection's [`Outbox`].

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rvirt_core::dispatch::{feature, DriverConnection};
use rvirt_core::events::EventSink;
use rvirt_protocol::error::{code, domain};
use rvirt_protocol::message::{
    check_length, encode_frame, Header, MessageStatus, MessageType, HEADER_LEN,
};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{
    keepalive_proc, procedure, remote_proc, RemoteError, KEEPALIVE_PROGRAM_NUMBER,
    REMOTE_PROGRAM_NUMBER,
};
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;
use tokio::sync::Semaphore;

use crate::outbox::Outbox;

use crate::server::Shared;

/// Per-client state shared between the reader and the dispatch tasks.
struct Session {
    shared: Arc<Shared>,
    read_only: bool,
    outbox: Outbox,
    conn: Mutex<Option<Arc<DriverConnection>>>,
    /// Milliseconds since `epoch` of the last message from the client.
    last_seen: AtomicU64,
    unanswered_pings: AtomicU32,
    /// Set once the client asked for the keepalive feature, as libvirt clients do.
    keepalive_on: AtomicBool,
    epoch: Instant,
    slots: Arc<Semaphore>,
}

fn reply_frame(call: &Header, result: Result<Vec<u8>, RemoteError>) -> Vec<u8> {
    let (status, payload) = match result {
        Ok(p) => (MessageStatus::Ok, p),
        Err(e) => (MessageStatus::Error, to_bytes(&e)),
    };
    encode_frame(
        &Header {
            kind: MessageType::Reply,
            status,
            ..*call
        },
        &payload,
    )
}

fn not_open() -> RemoteError {
    RemoteError::new(
        code::INTERNAL_ERROR,
        domain::RPC,
        "internal error: connection not open",
    )
}

impl Session {
    fn connection(&self) -> Option<Arc<DriverConnection>> {
        self.conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Procedures the session answers itself; `None` means "dispatch to the drivers".
    fn session_level(&self, number: i32, args: &[u8]) -> Option<Result<Vec<u8>, RemoteError>> {
        use rvirt_protocol as p;
        Some(match number {
            remote_proc::AUTH_LIST => Ok(to_bytes(&p::RemoteAuthListRet {
                types: vec![p::REMOTE_AUTH_NONE as i32],
            })),
            remote_proc::CONNECT_OPEN => self.open(args),
            remote_proc::CONNECT_CLOSE => {
                self.conn
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                Ok(Vec::new())
            }
            remote_proc::CONNECT_SUPPORTS_FEATURE => {
                let a: p::RemoteConnectSupportsFeatureArgs = match from_bytes(args) {
                    Ok(a) => a,
                    Err(e) => return Some(Err(e.into())),
                };
                if a.feature == feature::PROGRAM_KEEPALIVE {
                    self.keepalive_on.store(true, Ordering::Relaxed);
                    return Some(Ok(to_bytes(&p::RemoteConnectSupportsFeatureRet {
                        supported: 1,
                    })));
                }
                match self.connection() {
                    Some(c) => c.call(REMOTE_PROGRAM_NUMBER, number, args),
                    None => Err(not_open()),
                }
            }
            _ => return None,
        })
    }

    fn open(&self, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        let a: rvirt_protocol::RemoteConnectOpenArgs = from_bytes(args)?;
        let uri = a.name.unwrap_or_default();
        let uri = if uri.is_empty() {
            self.shared.default_uri.clone()
        } else {
            uri
        };
        let read_only = self.read_only || a.flags & rvirt_core::client::CONNECT_RO != 0;
        let sink: Arc<dyn EventSink> = Arc::new(self.outbox.clone());
        let c =
            DriverConnection::open(self.shared.registry.clone(), &uri, a.flags, read_only, sink)?;
        tracing::debug!(uri, read_only, "client opened a connection");
        *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(c));
        Ok(Vec::new())
    }

    /// Runs one call to completion and returns its reply frame.
    fn run_call(&self, header: &Header, payload: &[u8]) -> Vec<u8> {
        let result = if header.program == REMOTE_PROGRAM_NUMBER {
            self.session_level(header.procedure, payload)
        } else {
            None
        };
        let result = result.unwrap_or_else(|| match self.connection() {
            Some(c) => c.call(header.program, header.procedure, payload),
            None => Err(not_open()),
        });
        reply_frame(header, result)
    }

    fn touch(&self) {
        self.last_seen
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.unanswered_pings.store(0, Ordering::Relaxed);
    }
}

/// Why a client's stream is closed.
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("client closed the connection")]
    Eof,
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed frame: {0}")]
    Frame(String),
    #[error("keepalive timed out")]
    KeepaliveTimeout,
}

/// Serves one client until it leaves, misbehaves beyond repair, or the daemon stops.
pub async fn serve(stream: UnixStream, shared: Arc<Shared>, read_only: bool) {
    if let Ok(cred) = stream.peer_cred() {
        tracing::info!(
            pid = cred.pid(),
            uid = cred.uid(),
            gid = cred.gid(),
            read_only,
            "client connected"
        );
    }
    let (mut rd, wr) = stream.into_split();
    let (outbox, flusher) = Outbox::start(wr);
    let session = Arc::new(Session {
        read_only,
        outbox: outbox.clone(),
        conn: Mutex::new(None),
        last_seen: AtomicU64::new(0),
        unanswered_pings: AtomicU32::new(0),
        keepalive_on: AtomicBool::new(false),
        epoch: Instant::now(),
        slots: Arc::new(Semaphore::new(shared.limits.max_outstanding_calls as usize)),
        shared,
    });
    let end = tokio::select! {
        end = read_loop(&mut rd, session.clone()) => end,
        end = keepalive(session.clone()) => end,
    };
    match end {
        SessionEnd::Eof => tracing::debug!("client disconnected"),
        other => tracing::info!("closing client connection: {other}"),
    }
    session
        .conn
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    drop(session);
    outbox.close();
    let _ = flusher.await;
}

async fn keepalive(s: Arc<Session>) -> SessionEnd {
    let interval = u64::from(s.shared.limits.keepalive_interval);
    if interval == 0 {
        return std::future::pending().await;
    }
    let count = s.shared.limits.keepalive_count;
    let mut tick = tokio::time::interval(Duration::from_secs(interval));
    tick.tick().await;
    loop {
        tick.tick().await;
        let idle = (s.epoch.elapsed().as_millis() as u64)
            .saturating_sub(s.last_seen.load(Ordering::Relaxed));
        if !s.keepalive_on.load(Ordering::Relaxed) || idle < interval * 1000 {
            continue;
        }
        if s.unanswered_pings.fetch_add(1, Ordering::Relaxed) >= count {
            return SessionEnd::KeepaliveTimeout;
        }
        let ping = Header {
            program: KEEPALIVE_PROGRAM_NUMBER,
            version: 1,
            procedure: keepalive_proc::PING,
            kind: MessageType::Message,
            serial: 0,
            status: MessageStatus::Ok,
        };
        s.outbox.send(encode_frame(&ping, &[]));
    }
}

async fn read_loop(rd: &mut tokio::net::unix::OwnedReadHalf, s: Arc<Session>) -> SessionEnd {
    let max = s.shared.limits.max_message_size as usize;
    let mut len = [0u8; 4];
    loop {
        if let Err(e) = rd.read_exact(&mut len).await {
            return if e.kind() == std::io::ErrorKind::UnexpectedEof {
                SessionEnd::Eof
            } else {
                e.into()
            };
        }
        let total = match check_length(u32::from_be_bytes(len), max) {
            Ok(t) => t,
            Err(e) => return SessionEnd::Frame(e.to_string()),
        };
        let mut buf = vec![0u8; total - 4];
        if let Err(e) = rd.read_exact(&mut buf).await {
            return e.into();
        }
        s.touch();
        let header = match Header::decode(&buf[..HEADER_LEN]) {
            Ok(h) => h,
            Err(e) => return SessionEnd::Frame(e.to_string()),
        };
        buf.drain(..HEADER_LEN);
        handle_message(&s, header, buf).await;
    }
}

async fn handle_message(s: &Arc<Session>, header: Header, payload: Vec<u8>) {
    match header.kind {
        MessageType::Message if header.program == KEEPALIVE_PROGRAM_NUMBER => {
            if header.procedure == keepalive_proc::PING {
                let pong = Header {
                    procedure: keepalive_proc::PONG,
                    ..header
                };
                s.outbox.send(encode_frame(&pong, &[]));
            }
        }
        MessageType::Call => dispatch_call(s, header, payload).await,
        MessageType::Message => {}
        _ => {
            let e = RemoteError::new(
                code::RPC,
                domain::RPC,
                "unexpected message type from client",
            );
            s.outbox.send(reply_frame(
                &Header {
                    kind: MessageType::Call,
                    ..header
                },
                Err(e),
            ));
        }
    }
}

async fn dispatch_call(s: &Arc<Session>, header: Header, payload: Vec<u8>) {
    let Some(info) = procedure(header.program, header.procedure).filter(|_| header.version == 1)
    else {
        let e = RemoteError::new(
            code::RPC,
            domain::RPC,
            format!(
                "cannot find program {:#x} version {} procedure {}",
                header.program, header.version, header.procedure
            ),
        );
        s.outbox.send(reply_frame(&header, Err(e)));
        return;
    };
    if info.high_priority || s.connection().is_some_and(|c| c.never_blocks(info)) {
        let frame = s.run_call(&header, &payload);
        s.outbox.send(frame);
        return;
    }
    let Ok(permit) = s.slots.clone().acquire_owned().await else {
        return;
    };
    let s2 = s.clone();
    tokio::task::spawn_blocking(move || {
        let frame = s2.run_call(&header, &payload);
        s2.outbox.send(frame);
        drop(permit);
    });
}
