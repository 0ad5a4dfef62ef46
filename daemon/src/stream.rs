//! libvirt data streams on one client connection (docs/abi.md "Streams", docs/threads.md).
//!
//! A stream-opening call (`@stream`, such as `STORAGE_VOL_UPLOAD`) runs on a worker: it
//! opens the stream in the driver module, sends the call's reply and starts one stream
//! thread. The reader hands the client's STREAM and STREAM_HOLE messages for that
//! call's serial to the thread over a bounded channel, so a module that writes slowly
//! stops the reader (backpressure), never the I/O thread. The thread calls the module's
//! SEND, HOLE, FINISH and ABORT, or, for a download, pulls RECV while the client's
//! outbox is below its bound and sends the data as STREAM messages. Module errors reach
//! the client as a STREAM message with status ERROR, as libvirtd sends them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rvirt_core::dispatch::DriverConnection;
use rvirt_core::remote::{StreamHole, STREAM_CHUNK};
use rvirt_core::stream::{Chunk, ModuleStream};
use rvirt_protocol::error::{code, domain};
use rvirt_protocol::message::{encode_frame, Header, MessageStatus, MessageType};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{RemoteError, StreamKind};
use tokio::sync::mpsc;

use crate::outbox::Outbox;

/// Streams one client may have open at once; each has a thread.
pub const MAX_STREAMS_PER_CLIENT: usize = 16;

/// Client messages queued per stream before the reader waits (each at most one frame).
const INBOUND_QUEUE: usize = 8;

/// How long one RECV may wait in the module for data. Client data for a duplex stream
/// (a console) waits at most this long behind a RECV.
const RECV_WAIT: Duration = Duration::from_millis(100);

/// What the client sent on a stream.
#[derive(Debug)]
enum Inbound {
    Data(Vec<u8>),
    Hole(u64),
    Finish,
    Abort,
}

struct Entry {
    program: u32,
    procedure: i32,
    /// Tells this stream from a later one that reuses the serial.
    id: u64,
    tx: mpsc::Sender<Inbound>,
}

#[derive(Default)]
struct Streams {
    open: HashMap<u32, Entry>,
    /// The client is gone: no stream may start any more.
    closed: bool,
}

/// The open streams of one client, by the serial of the call that opened them.
#[derive(Default)]
pub struct StreamTable {
    inner: Mutex<Streams>,
}

impl StreamTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, Streams> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops every stream's channel: each stream thread sees the client gone and aborts
    /// its module stream. A stream whose open is still running is aborted when it
    /// tries to register.
    pub fn close_all(&self) {
        let mut t = self.lock();
        t.closed = true;
        t.open.clear();
    }

    /// Forgets stream `id` (if a newer stream has taken its serial, that one stays).
    fn remove(&self, serial: u32, id: u64) {
        let mut t = self.lock();
        if t.open.get(&serial).is_some_and(|e| e.id == id) {
            t.open.remove(&serial);
        }
    }

    /// Registers a stream; false when the client is gone.
    fn insert(&self, serial: u32, e: Entry) -> bool {
        let mut t = self.lock();
        if t.closed {
            return false;
        }
        t.open.insert(serial, e);
        true
    }

    /// Hands one STREAM or STREAM_HOLE message to its stream. Messages for no stream
    /// are dropped, as libvirtd does. Waits while the stream's queue is full.
    pub async fn deliver(&self, outbox: &Outbox, header: &Header, payload: Vec<u8>) {
        let msg = match (header.kind, header.status) {
            (_, MessageStatus::Ok) => Inbound::Finish,
            (_, MessageStatus::Error) => Inbound::Abort,
            (MessageType::StreamHole, _) => match from_bytes::<StreamHole>(&payload) {
                Ok(h) => Inbound::Hole(u64::try_from(h.length).unwrap_or(0)),
                Err(e) => {
                    let err = rpc(format!("cannot decode the stream hole: {e}"));
                    outbox.send(frame(header, MessageType::Stream, Err(err)));
                    Inbound::Abort
                }
            },
            _ => Inbound::Data(payload),
        };
        let tx = {
            let mut t = self.lock();
            let open = &mut t.open;
            let Some(e) = open.get(&header.serial) else {
                tracing::debug!(serial = header.serial, "ignoring stream data for no stream");
                return;
            };
            if (e.program, e.procedure) != (header.program, header.procedure) {
                tracing::debug!(serial = header.serial, "ignoring stream data for no stream");
                return;
            }
            let tx = e.tx.clone();
            if matches!(msg, Inbound::Finish | Inbound::Abort) {
                open.remove(&header.serial);
            }
            tx
        };
        // The thread may have ended on a module error; the message is then moot.
        let _ = tx.send(msg).await;
    }
}

fn rpc(text: String) -> RemoteError {
    RemoteError::new(code::RPC, domain::RPC, text)
}

/// A frame of the stream opened by `call`: `kind`, status from `result`.
fn frame(call: &Header, kind: MessageType, result: Result<Vec<u8>, RemoteError>) -> Vec<u8> {
    let (status, payload) = match result {
        Ok(p) => (MessageStatus::Continue, p),
        Err(e) => (MessageStatus::Error, to_bytes(&e)),
    };
    encode_frame(
        &Header {
            kind,
            status,
            ..*call
        },
        &payload,
    )
}

fn finished(call: &Header) -> Vec<u8> {
    encode_frame(
        &Header {
            kind: MessageType::Stream,
            status: MessageStatus::Ok,
            ..*call
        },
        &[],
    )
}

/// Everything a stream thread needs.
pub struct StreamCtx {
    pub outbox: Outbox,
    pub table: Arc<StreamTable>,
    pub runtime: tokio::runtime::Handle,
    /// The outbox bound above which a download stops pulling (`max_client_queue`).
    pub queue_bound: usize,
}

/// Runs a stream-opening call: opens the module stream, sends the reply, starts the
/// stream thread. Errors are sent as the call's error reply.
pub fn open(ctx: StreamCtx, conn: Arc<DriverConnection>, call: Header, args: &[u8]) {
    let reply = |r: Result<Vec<u8>, RemoteError>| {
        let (status, payload) = match r {
            Ok(p) => (MessageStatus::Ok, p),
            Err(e) => (MessageStatus::Error, to_bytes(&e)),
        };
        let h = Header {
            kind: MessageType::Reply,
            status,
            ..call
        };
        encode_frame(&h, &payload)
    };
    if ctx.table.lock().open.len() >= MAX_STREAMS_PER_CLIENT {
        let e = RemoteError::new(
            code::OPERATION_FAILED,
            domain::STREAMS,
            format!(
                "operation failed: too many open streams on this connection \
                 ({MAX_STREAMS_PER_CLIENT})"
            ),
        );
        ctx.outbox.send(reply(Err(e)));
        return;
    }
    let (ret, ms) = match conn.open_stream(call.program, call.procedure, args) {
        Ok(x) => x,
        Err(e) => return ctx.outbox.send(reply(Err(e))),
    };
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
    let entry = Entry {
        program: call.program,
        procedure: call.procedure,
        id,
        tx,
    };
    if !ctx.table.insert(call.serial, entry) {
        // The client left while the stream opened: dropping `ms` aborts it.
        return;
    }
    // The reply goes out before the thread can send data, and after the stream is
    // registered, so no client message for it can arrive before it exists.
    ctx.outbox.send(reply(Ok(ret)));
    let (outbox, table) = (ctx.outbox.clone(), ctx.table.clone());
    let spawned = std::thread::Builder::new()
        .name("rvirtd-stream".into())
        .spawn(move || {
            let _conn = conn;
            let ctx = ThreadCtx { ctx, id };
            run(&ctx, call, ms, rx);
            ctx.table.remove(call.serial, id);
        });
    if let Err(e) = spawned {
        // The closure, and with it the module stream, is dropped: it is aborted.
        tracing::warn!("cannot start a stream thread: {e}");
        table.remove(call.serial, id);
        let e = RemoteError::new(
            code::INTERNAL_ERROR,
            domain::STREAMS,
            format!("internal error: cannot start a stream thread: {e}"),
        );
        outbox.send(frame(&call, MessageType::Stream, Err(e)));
    }
}

/// A stream thread's context: the client's, and which stream it runs.
struct ThreadCtx {
    ctx: StreamCtx,
    id: u64,
}

impl std::ops::Deref for ThreadCtx {
    type Target = StreamCtx;
    fn deref(&self) -> &StreamCtx {
        &self.ctx
    }
}

fn run(ctx: &ThreadCtx, call: Header, ms: ModuleStream, rx: mpsc::Receiver<Inbound>) {
    match ms.kind {
        StreamKind::Read => download(ctx, call, ms, rx),
        _ => upload(ctx, call, ms, rx),
    }
}

/// The client's abort: the module stream is aborted and, like libvirtd, the abort is
/// confirmed with an empty STREAM message of status OK.
fn aborted(ctx: &ThreadCtx, call: &Header, mut ms: ModuleStream) {
    ms.abort();
    ctx.outbox.send(finished(call));
}

/// Ends the stream on `e`: a STREAM error message to the client. A module error has
/// already ended the module stream; any other is aborted when `ms` drops.
fn fail(ctx: &ThreadCtx, call: &Header, e: RemoteError) {
    ctx.table.remove(call.serial, ctx.id);
    ctx.outbox.send(frame(call, MessageType::Stream, Err(e)));
}

fn finish(ctx: &ThreadCtx, call: &Header, ms: ModuleStream) {
    match ms.finish() {
        Ok(()) => ctx.outbox.send(finished(call)),
        Err(e) => fail(ctx, call, e),
    }
}

fn upload(ctx: &ThreadCtx, call: Header, mut ms: ModuleStream, mut rx: mpsc::Receiver<Inbound>) {
    loop {
        let step = match rx.blocking_recv() {
            // The client went away: dropping `ms` aborts the module stream.
            None => return,
            Some(Inbound::Data(d)) if d.is_empty() => Ok(()),
            Some(Inbound::Data(d)) => ms.send(&d),
            Some(Inbound::Hole(n)) => ms.hole(n),
            Some(Inbound::Finish) => return finish(ctx, &call, ms),
            Some(Inbound::Abort) => return aborted(ctx, &call, ms),
        };
        if let Err(e) = step {
            return fail(ctx, &call, e);
        }
    }
}

fn download(ctx: &ThreadCtx, call: Header, mut ms: ModuleStream, mut rx: mpsc::Receiver<Inbound>) {
    use mpsc::error::TryRecvError;
    let mut ended = false;
    loop {
        let msg = if ended {
            rx.blocking_recv()
        } else {
            match rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => {
                    if !pull(ctx, &call, &mut ms, &mut ended) {
                        return;
                    }
                    continue;
                }
                Err(TryRecvError::Disconnected) => None,
            }
        };
        match msg {
            None => return,
            Some(Inbound::Finish) => return finish(ctx, &call, ms),
            Some(Inbound::Abort) => return aborted(ctx, &call, ms),
            // Client data on a read stream: a duplex stream (a console) takes it, a
            // download answers the SDK's "cannot send to this stream".
            Some(Inbound::Data(d)) => {
                if let Err(e) = ms.send(&d) {
                    return fail(ctx, &call, e);
                }
            }
            Some(Inbound::Hole(n)) => {
                if let Err(e) = ms.hole(n) {
                    return fail(ctx, &call, e);
                }
            }
        }
    }
}

/// One RECV under flow control: waits while the client's outbox is above its bound.
/// Returns false when the stream is over (failed, or the client went away).
fn pull(ctx: &ThreadCtx, call: &Header, ms: &mut ModuleStream, ended: &mut bool) -> bool {
    ctx.runtime
        .block_on(ctx.outbox.wait_drained(ctx.queue_bound));
    if ctx.outbox.is_closed() {
        return false;
    }
    match ms.recv(STREAM_CHUNK, RECV_WAIT) {
        Ok(Chunk::Data(d)) => ctx.outbox.send(frame(call, MessageType::Stream, Ok(d))),
        Ok(Chunk::Hole(n)) => {
            let hole = StreamHole {
                length: i64::try_from(n).unwrap_or(i64::MAX),
                flags: 0,
            };
            let h = frame(call, MessageType::StreamHole, Ok(to_bytes(&hole)));
            ctx.outbox.send(h);
        }
        Ok(Chunk::End) => {
            // An empty data message tells the client the data is over.
            ctx.outbox
                .send(frame(call, MessageType::Stream, Ok(Vec::new())));
            *ended = true;
        }
        Ok(Chunk::Idle) => {}
        Err(e) => {
            fail(ctx, call, e);
            return false;
        }
    }
    true
}
