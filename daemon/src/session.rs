//! One client connection: reads frames, answers the connection sequence (AUTH_LIST,
//! CONNECT_OPEN, keepalive), dispatches calls to the drivers and writes replies, events
//! and pings through the connection's [`Outbox`].
//!
//! Which thread runs a call (see docs/threads.md): the I/O thread answers inline only
//! calls that provably never block — small calls to a module that declares
//! `nonblocking-calls`; libvirt's high-priority calls run on the priority pool, everything
//! else on the general pool. The reader stops reading while the client's unsent replies
//! exceed `max_client_queue` or it has `max_outstanding_calls` calls in flight.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rvirt_core::dispatch::{feature, DriverConnection};
use rvirt_core::events::EventSink;
use rvirt_core::loader::ReplyBuf;
use rvirt_protocol::error::{code, domain};
use rvirt_protocol::message::{
    check_length, encode_frame, frame_head, FrameHead, Header, MessageStatus, MessageType,
    HEADER_LEN,
};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{
    keepalive_proc, procedure, remote_proc, ProcedureInfo, RemoteError, KEEPALIVE_PROGRAM_NUMBER,
    REMOTE_PROGRAM_NUMBER,
};
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;
use tokio::sync::Semaphore;

use crate::outbox::Outbox;
use crate::server::{ClientSlot, Peer, Shared};
use crate::stream::{StreamCtx, StreamTable};
use crate::workers::Pool;

/// Largest argument payload answered inline; a bigger one (a large XML document, say)
/// costs enough CPU to delay every other client, so it goes to a worker.
const INLINE_MAX_ARGS: usize = 16 * 1024;

/// libvirt's admin program (`virt-admin`), which libvirt serves on `libvirt-admin-sock`.
const ADMIN_PROGRAM_NUMBER: u32 = 0x0690_0690;

/// Frames up to this size are read into a buffer of their announced size at once;
/// bigger ones grow with the bytes that actually arrive.
const SMALL_FRAME: usize = 64 * 1024;

/// Per-client state shared between the reader and the dispatch tasks.
struct Session {
    /// Tells this client's requests from other clients' (for the spinner).
    id: u64,
    shared: Arc<Shared>,
    read_only: bool,
    peer: Peer,
    slot: ClientSlot,
    outbox: Outbox,
    conn: Mutex<Option<Arc<DriverConnection>>>,
    /// Milliseconds since `epoch` of the last message from the client.
    last_seen: AtomicU64,
    unanswered_pings: AtomicU32,
    /// Set once the client asked for the keepalive feature, as libvirt clients do.
    keepalive_on: AtomicBool,
    epoch: Instant,
    slots: Arc<Semaphore>,
    /// Open data streams (see `stream.rs`).
    streams: Arc<StreamTable>,
}

/// A reply ready to send: its frame head and the payload in the buffer it was encoded to.
pub(crate) struct ReplyFrame {
    head: FrameHead,
    body: ReplyBuf,
}

impl ReplyFrame {
    fn new(call: &Header, result: Result<ReplyBuf, RemoteError>) -> ReplyFrame {
        let (status, body) = match result {
            Ok(p) => (MessageStatus::Ok, p),
            Err(e) => (MessageStatus::Error, to_bytes(&e).into()),
        };
        let header = Header {
            kind: MessageType::Reply,
            status,
            ..*call
        };
        ReplyFrame {
            head: frame_head(&header, body.len()),
            body,
        }
    }

    pub(crate) fn send(&self, outbox: &Outbox) {
        outbox.send_parts(&self.head, &self.body);
    }
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
        let c = DriverConnection::open_for_client(
            self.shared.registry.clone(),
            &uri,
            a.flags,
            read_only,
            self.peer.privileged,
            sink,
        )?;
        tracing::debug!(
            uri,
            read_only,
            uid = self.peer.uid,
            "client opened a connection"
        );
        *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(c));
        self.slot.opened();
        Ok(Vec::new())
    }

    /// Runs one call to completion and returns its reply frame.
    fn run_call(&self, header: &Header, payload: &[u8]) -> ReplyFrame {
        let result = if header.program == REMOTE_PROGRAM_NUMBER {
            self.session_level(header.procedure, payload)
                .map(|r| r.map(ReplyBuf::from))
        } else {
            None
        };
        let result = result.unwrap_or_else(|| match self.connection() {
            Some(c) => c.call_buf(header.program, header.procedure, payload),
            None => Err(not_open()),
        });
        ReplyFrame::new(header, result)
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
    #[error("the client opened no connection within {0} s")]
    OpenTimeout(u32),
}

/// Serves one client until it leaves, misbehaves beyond repair, or the daemon stops.
pub async fn serve(stream: UnixStream, shared: Arc<Shared>, read_only: bool, slot: ClientSlot) {
    let peer = slot.peer();
    tracing::info!(
        pid = peer.pid,
        uid = peer.uid,
        gid = peer.gid,
        read_only,
        "client connected"
    );
    let (mut rd, wr) = stream.into_split();
    let (outbox, flusher) = Outbox::start(wr);
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let session = Arc::new(Session {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        read_only,
        peer,
        slot,
        outbox: outbox.clone(),
        conn: Mutex::new(None),
        last_seen: AtomicU64::new(0),
        unanswered_pings: AtomicU32::new(0),
        keepalive_on: AtomicBool::new(false),
        epoch: Instant::now(),
        slots: Arc::new(Semaphore::new(shared.limits.max_outstanding_calls as usize)),
        streams: Arc::new(StreamTable::default()),
        shared,
    });
    let end = tokio::select! {
        end = read_loop(&mut rd, session.clone()) => end,
        end = keepalive(session.clone()) => end,
        end = open_deadline(session.clone()) => end,
    };
    match end {
        SessionEnd::Eof => tracing::debug!("client disconnected"),
        other => tracing::info!("closing client connection: {other}"),
    }
    // Stream threads see the client gone and abort their module streams.
    session.streams.close_all();
    outbox.close();
    session
        .conn
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    drop(session);
    outbox.close();
    let _ = flusher.await;
}

/// Ends a connection that has not opened a driver connection in time, so clients that
/// connect and stall cannot hold their slots for ever.
async fn open_deadline(s: Arc<Session>) -> SessionEnd {
    let secs = s.shared.limits.open_timeout;
    if secs == 0 {
        return std::future::pending().await;
    }
    tokio::time::sleep(Duration::from_secs(u64::from(secs))).await;
    if s.slot.is_open() {
        return std::future::pending().await;
    }
    SessionEnd::OpenTimeout(secs)
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
    let queue_bound = s.shared.limits.max_client_queue as usize;
    loop {
        // Backpressure: a client that does not read its replies is not read either.
        s.outbox.wait_drained(queue_bound).await;
        let (head, payload) = match read_frame(rd, max).await {
            Ok(f) => f,
            Err(e) => return e,
        };
        s.touch();
        s.shared.spinner.request_arrived(s.id);
        let header = match Header::decode(&head) {
            Ok(h) => h,
            Err(e) => return SessionEnd::Frame(e.to_string()),
        };
        handle_message(&s, header, payload).await;
    }
}

/// Reads one frame after its length word: the header, and the payload into a buffer of
/// its own (large stream data goes on from there without being moved). The buffer grows with
/// the data that actually arrives, so a length word announcing 32 MiB costs nothing
/// until the bytes come; once the first `SMALL_FRAME` bytes are in, the rest is reserved
/// at once rather than by doubling.
async fn read_frame(
    rd: &mut tokio::net::unix::OwnedReadHalf,
    max: usize,
) -> Result<([u8; HEADER_LEN], Vec<u8>), SessionEnd> {
    let mut len = [0u8; 4];
    if let Err(e) = rd.read_exact(&mut len).await {
        return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
            SessionEnd::Eof
        } else {
            e.into()
        });
    }
    let total =
        check_length(u32::from_be_bytes(len), max).map_err(|e| SessionEnd::Frame(e.to_string()))?;
    let mut head = [0u8; HEADER_LEN];
    let want = total - 4 - HEADER_LEN;
    if want <= SMALL_FRAME {
        // One read for header and payload; moving a small payload down costs less than
        // a second system call.
        let mut buf = vec![0u8; HEADER_LEN + want];
        rd.read_exact(&mut buf).await?;
        head.copy_from_slice(&buf[..HEADER_LEN]);
        buf.drain(..HEADER_LEN);
        return Ok((head, buf));
    }
    rd.read_exact(&mut head).await?;
    let mut buf = vec![0u8; SMALL_FRAME];
    rd.read_exact(&mut buf).await?;
    let rest = want - SMALL_FRAME;
    buf.reserve_exact(rest);
    let got = (&mut *rd).take(rest as u64).read_to_end(&mut buf).await?;
    if got < rest {
        return Err(SessionEnd::Frame(format!(
            "the connection ended after {} of {want} bytes of a message",
            SMALL_FRAME + got
        )));
    }
    Ok((head, buf))
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
        // Like libvirtd, data for a stream that is gone is dropped.
        MessageType::Stream | MessageType::StreamHole => {
            s.streams.deliver(&s.outbox, &header, payload).await;
        }
        _ => {
            let text = format!("Unexpected message type {}", header.kind.code());
            rpc_error(&header, text).send(&s.outbox);
        }
    }
}

/// Where a call runs.
enum Route<'a> {
    Inline,
    Pool(&'a Pool),
}

fn route<'a>(s: &'a Session, header: &Header, info: &ProcedureInfo, args_len: usize) -> Route<'a> {
    let remote = header.program == REMOTE_PROGRAM_NUMBER;
    if remote && header.procedure == remote_proc::AUTH_LIST {
        return Route::Inline;
    }
    if remote
        && matches!(
            header.procedure,
            remote_proc::CONNECT_OPEN | remote_proc::CONNECT_CLOSE
        )
    {
        // Opening may read files (test:///PATH) and closing waits for the driver.
        return Route::Pool(&s.shared.prio);
    }
    if args_len <= INLINE_MAX_ARGS && s.connection().is_some_and(|c| c.never_blocks(info)) {
        return Route::Inline;
    }
    if info.high_priority {
        Route::Pool(&s.shared.prio)
    } else {
        Route::Pool(&s.shared.workers)
    }
}

fn rpc_error(header: &Header, message: String) -> ReplyFrame {
    ReplyFrame::new(
        header,
        Err(RemoteError::new(code::RPC, domain::RPC, message)),
    )
}

async fn dispatch_call(s: &Arc<Session>, header: Header, payload: Vec<u8>) {
    if header.status != MessageStatus::Ok {
        // libvirtd refuses a call that claims to be an error or a continuation.
        let text = format!("Unexpected message status {}", header.status.code());
        rpc_error(&header, text).send(&s.outbox);
        return;
    }
    if header.program == ADMIN_PROGRAM_NUMBER {
        let text = "rvirtd does not implement libvirt's admin interface (virt-admin)".into();
        rpc_error(&header, text).send(&s.outbox);
        return;
    }
    let Some(info) = procedure(header.program, header.procedure).filter(|_| header.version == 1)
    else {
        let text = format!(
            "cannot find program {:#x} version {} procedure {}",
            header.program, header.version, header.procedure
        );
        rpc_error(&header, text).send(&s.outbox);
        return;
    };
    if info.stream != rvirt_protocol::StreamKind::None {
        return open_stream(s, header, payload).await;
    }
    let pool = match route(s, &header, info, payload.len()) {
        Route::Inline => {
            s.run_call(&header, &payload).send(&s.outbox);
            s.shared.spinner.arm();
            return;
        }
        Route::Pool(p) => p.clone(),
    };
    let Ok(permit) = s.slots.clone().acquire_owned().await else {
        return;
    };
    let s2 = s.clone();
    pool.submit(move || {
        s2.run_call(&header, &payload).send(&s2.outbox);
        drop(permit);
        s2.shared.spinner.arm();
    });
}

/// A stream-opening call: runs on the general pool, which opens the stream in the
/// module, replies and starts the stream's own thread (see `stream.rs`).
async fn open_stream(s: &Arc<Session>, header: Header, payload: Vec<u8>) {
    let Some(conn) = s.connection() else {
        ReplyFrame::new(&header, Err(not_open())).send(&s.outbox);
        return;
    };
    let Ok(permit) = s.slots.clone().acquire_owned().await else {
        return;
    };
    let ctx = StreamCtx {
        outbox: s.outbox.clone(),
        table: s.streams.clone(),
        runtime: tokio::runtime::Handle::current(),
        queue_bound: s.shared.limits.max_client_queue as usize,
    };
    s.shared.workers.submit(move || {
        crate::stream::open(ctx, conn, header, &payload);
        drop(permit);
    });
}
