//! Host side of data streams through the module ABI (docs/abi.md "Streams"): a
//! stream-opening call (`@stream` in protocol/defs) becomes `RVIRT_STREAM_PROC_OPEN` on
//! the driver that serves it, and the open [`ModuleStream`] then carries SEND, HOLE,
//! RECV, FINISH and ABORT, each keyed by the stream id the host chose. rvirtd relays
//! libvirt's STREAM messages to it; the embedded client drives it directly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rvirt_protocol::error::{code, domain};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{self as p, procedure, RemoteError, StreamKind};

use crate::dispatch::{DriverConnection, OpenDriver};

/// `RVIRT_STREAM_PROGRAM`.
pub const STREAM_PROGRAM: u32 = p::RVIRT_STREAM_PROGRAM as u32;

/// What one RECV yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Data(Vec<u8>),
    Hole(u64),
    End,
    /// Nothing within the wait; ask again.
    Idle,
}

/// A stream open on a driver module. Dropping it without [`ModuleStream::finish`]
/// aborts it, so a client that goes away never leaves a stream open in a module.
#[derive(Debug)]
pub struct ModuleStream {
    driver: OpenDriver,
    id: u64,
    /// Which way the data flows.
    pub kind: StreamKind,
    done: bool,
}

/// Host-chosen stream ids: unique in the process, so never reused on any connection.
static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

impl DriverConnection {
    /// Runs a stream-opening call: the same checks as any call, then OPEN on the driver
    /// serving it. Returns the call's reply and the open stream. A driver that does not
    /// declare both the call and OPEN answers libvirt's "not supported".
    pub fn open_stream(
        &self,
        program: u32,
        number: i32,
        args: &[u8],
    ) -> Result<(Vec<u8>, ModuleStream), RemoteError> {
        let info = procedure(program, number)
            .ok_or_else(|| RemoteError::unknown_procedure(program, number))?;
        if info.stream == StreamKind::None {
            return Err(RemoteError::new(
                code::INTERNAL_ERROR,
                domain::RPC,
                format!("internal error: {} does not open a stream", info.api_name),
            ));
        }
        self.admit(info, args)?;
        let unsupported = || RemoteError::unsupported(info.api_name);
        let driver = self.driver_for(info.driver)?.ok_or_else(unsupported)?;
        let d = &driver.entry.driver;
        if !d.implements(program, number)
            || !d.implements(STREAM_PROGRAM, p::RVIRT_STREAM_PROC_OPEN as i32)
        {
            return Err(unsupported());
        }
        let id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
        let open = p::RvirtStreamOpenArgs {
            stream: id,
            program,
            procedure: number,
            args: args.to_vec(),
        };
        let mut stream = ModuleStream {
            driver,
            id,
            kind: info.stream,
            done: true,
        };
        let reply = stream.call(p::RVIRT_STREAM_PROC_OPEN, &to_bytes(&open))?;
        stream.done = false;
        crate::audit::record(info, &reply);
        Ok((reply, stream))
    }
}

impl ModuleStream {
    fn call(&self, proc_: i64, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        let e = &self.driver.entry;
        e.module.call(
            e.driver.index,
            self.driver.handle,
            STREAM_PROGRAM,
            proc_ as i32,
            args,
        )
    }

    /// Marks the stream ended by a failure: the module has dropped it already.
    fn failed<T>(&mut self, r: Result<T, RemoteError>) -> Result<T, RemoteError> {
        if r.is_err() {
            self.done = true;
        }
        r
    }

    /// Upload data.
    pub fn send(&mut self, data: &[u8]) -> Result<(), RemoteError> {
        let args = p::stream_data::encode_send(self.id, data);
        let r = self.call(p::RVIRT_STREAM_PROC_SEND, &args);
        self.failed(r).map(drop)
    }

    /// A run of zeros on a sparse upload.
    pub fn hole(&mut self, length: u64) -> Result<(), RemoteError> {
        let a = p::RvirtStreamHoleArgs {
            stream: self.id,
            length,
            flags: 0,
        };
        let r = self.call(p::RVIRT_STREAM_PROC_HOLE, &to_bytes(&a));
        self.failed(r).map(drop)
    }

    /// Download: up to `max` bytes, a hole, the end, or nothing within `wait`.
    pub fn recv(&mut self, max: usize, wait: Duration) -> Result<Chunk, RemoteError> {
        let a = p::RvirtStreamRecvArgs {
            stream: self.id,
            max_bytes: u32::try_from(max).unwrap_or(u32::MAX),
            wait_ms: u32::try_from(wait.as_millis()).unwrap_or(u32::MAX),
        };
        let r = self
            .call(p::RVIRT_STREAM_PROC_RECV, &to_bytes(&a))
            .and_then(|b| Ok(from_bytes::<p::RvirtStreamRecvRet>(&b)?));
        let ret = self.failed(r)?;
        Ok(match i64::from(ret.kind) {
            p::RVIRT_STREAM_RECV_DATA if ret.data.len() <= max => Chunk::Data(ret.data),
            p::RVIRT_STREAM_RECV_HOLE => Chunk::Hole(ret.hole),
            p::RVIRT_STREAM_RECV_END => Chunk::End,
            p::RVIRT_STREAM_RECV_IDLE => Chunk::Idle,
            _ => {
                self.abort();
                return Err(RemoteError::new(
                    code::INTERNAL_ERROR,
                    domain::STREAMS,
                    "internal error: the driver module answered a malformed stream chunk",
                ));
            }
        })
    }

    /// The client finished the stream.
    pub fn finish(mut self) -> Result<(), RemoteError> {
        self.done = true;
        let a = p::RvirtStreamId { stream: self.id };
        self.call(p::RVIRT_STREAM_PROC_FINISH, &to_bytes(&a))
            .map(drop)
    }

    /// The client aborted or went away. Idempotent.
    pub fn abort(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let a = p::RvirtStreamId { stream: self.id };
        if let Err(e) = self.call(p::RVIRT_STREAM_PROC_ABORT, &to_bytes(&a)) {
            tracing::debug!(stream = self.id, "aborting a module stream: {}", e.text());
        }
    }
}

impl Drop for ModuleStream {
    fn drop(&mut self) {
        self.abort();
    }
}
