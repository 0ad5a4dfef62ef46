//! The module side of the envelope: turns ABI calls into [`Module`] calls, under a panic
//! guard, and keeps the table of open connections. Used by [`crate::export_module!`].

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use abi_stable::std_types::{RResult, RVec};
use rvirt_protocol::error::{code, domain};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{
    RemoteError, RvirtDriverDescriptor, RvirtInitArgs, RvirtInitRet, RvirtModuleDescriptor,
    RvirtOpenArgs, RvirtOpenRet, RvirtProcedureSet, RVIRT_INIT_COMPLETE, RVIRT_INIT_SKIPPED,
    RVIRT_OPEN_DECLINED, RVIRT_OPEN_SUCCESS,
};

use crate::abi::{hook, HostServices, Reply};
use crate::sdk::{
    ConnContext, Connection, InitContext, InitStatus, Module, OpenOutcome, Stream, StreamChunk,
    FEATURE_CLIENT_IDENTITY, OPEN_FLAG_UNPRIVILEGED_CLIENT, STREAM_PROGRAM,
};

/// One open stream, locked while the host drives it.
type StreamSlot = Arc<Mutex<Box<dyn Stream>>>;

/// Per-module state behind the exported entry points.
pub struct Runtime {
    module: Box<dyn Module>,
    conns: Mutex<HashMap<(u32, u64), Arc<dyn Connection>>>,
    /// Open streams by (driver, connection handle, host-chosen stream id).
    streams: Mutex<HashMap<(u32, u64, u64), StreamSlot>>,
    next_handle: AtomicU64,
}

impl Runtime {
    pub fn new(module: Box<dyn Module>) -> Runtime {
        Runtime {
            module,
            conns: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
            next_handle: AtomicU64::new(1),
        }
    }

    fn connection(&self, driver: u32, handle: u64) -> Option<Arc<dyn Connection>> {
        self.conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(driver, handle))
            .cloned()
    }
}

type RuntimeFn = fn() -> &'static Runtime;

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f` so that neither a panic nor an error crosses the boundary as anything but
/// an encoded `remote_error`.
pub fn guard(what: &str, f: impl FnOnce() -> Result<Vec<u8>, RemoteError>) -> Reply {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => RResult::ROk(RVec::from(v)),
        Ok(Err(e)) => RResult::RErr(RVec::from(to_bytes(&e))),
        Err(p) => {
            let e = RemoteError::new(
                code::INTERNAL_ERROR,
                domain::NONE,
                format!(
                    "internal error: driver module panicked in {what}: {}",
                    panic_text(&*p)
                ),
            );
            RResult::RErr(RVec::from(to_bytes(&e)))
        }
    }
}

pub fn attach_host(rt: RuntimeFn, host: HostServices, token: u64) {
    let _ = catch_unwind(|| {
        let _ = rt();
        crate::host::attach(host, token);
    });
}

pub fn describe(rt: RuntimeFn) -> Reply {
    guard("describe", || {
        let info = rt().module.info();
        let d = RvirtModuleDescriptor {
            name: info.name,
            version: info.version,
            abi_major: crate::ABI_MAJOR,
            abi_minor: crate::ABI_MINOR,
            has_state_driver: info.has_state_driver,
            drivers: info
                .drivers
                .into_iter()
                .map(|d| RvirtDriverDescriptor {
                    kind: d.kind.code(),
                    name: d.name,
                    uri_schemes: d.uri_schemes,
                    procedures: d
                        .procedures
                        .into_iter()
                        .map(|(program, procedures)| RvirtProcedureSet {
                            program,
                            procedures,
                        })
                        .collect(),
                })
                .collect(),
            features: with_sdk_features(info.features),
        };
        Ok(to_bytes(&d))
    })
}

/// The module's own features plus those this SDK's glue implements for every module.
fn with_sdk_features(mut features: Vec<String>) -> Vec<String> {
    if !features.iter().any(|f| f == FEATURE_CLIENT_IDENTITY) {
        features.push(FEATURE_CLIENT_IDENTITY.to_string());
    }
    features
}

pub fn state(rt: RuntimeFn, hook_id: u32, payload: &[u8]) -> Reply {
    guard("a state hook", || {
        let m = &rt().module;
        match hook_id {
            hook::INITIALIZE => {
                let a: RvirtInitArgs = from_bytes(payload)?;
                let ctx = InitContext {
                    privileged: a.privileged,
                    config_toml: a.config_toml,
                    host_version: a.host_version,
                    host_features: a.host_features,
                    state_dir: a.state_dir,
                };
                let status = match m.initialize(&ctx)? {
                    InitStatus::Complete => RVIRT_INIT_COMPLETE,
                    InitStatus::Skipped => RVIRT_INIT_SKIPPED,
                };
                Ok(to_bytes(&RvirtInitRet {
                    status: status as i32,
                    features: Vec::new(),
                }))
            }
            hook::RELOAD => m.reload().map(|()| Vec::new()),
            hook::SHUTDOWN_PREPARE => m.shutdown_prepare().map(|()| Vec::new()),
            hook::SHUTDOWN_WAIT => m.shutdown_wait().map(|()| Vec::new()),
            hook::CLEANUP => m.cleanup().map(|()| Vec::new()),
            // Hooks newer than this module: nothing to do.
            _ => Ok(Vec::new()),
        }
    })
}

pub fn open(rt: RuntimeFn, driver: u32, payload: &[u8]) -> Reply {
    guard("open", || {
        let rt = rt();
        let a: RvirtOpenArgs = from_bytes(payload)?;
        let handle = rt.next_handle.fetch_add(1, Ordering::Relaxed);
        let ctx = ConnContext {
            driver,
            handle,
            read_only: a.read_only,
            privileged: a.flags & OPEN_FLAG_UNPRIVILEGED_CLIENT == 0,
        };
        let flags = a.flags & !OPEN_FLAG_UNPRIVILEGED_CLIENT;
        let ret = match rt.module.open(ctx, &a.uri, flags)? {
            OpenOutcome::Declined => RvirtOpenRet {
                status: RVIRT_OPEN_DECLINED as i32,
                handle: 0,
            },
            OpenOutcome::Opened(conn) => {
                rt.conns
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert((driver, handle), conn);
                RvirtOpenRet {
                    status: RVIRT_OPEN_SUCCESS as i32,
                    handle,
                }
            }
        };
        Ok(to_bytes(&ret))
    })
}

pub fn close(rt: RuntimeFn, driver: u32, handle: u64) {
    let _ = guard("close", || {
        let conn = rt()
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(driver, handle));
        let orphans: Vec<StreamSlot> = {
            let mut streams = rt().streams.lock().unwrap_or_else(PoisonError::into_inner);
            let keys: Vec<_> = streams
                .keys()
                .filter(|(d, h, _)| (*d, *h) == (driver, handle))
                .copied()
                .collect();
            keys.iter().filter_map(|k| streams.remove(k)).collect()
        };
        for s in orphans {
            s.lock().unwrap_or_else(PoisonError::into_inner).abort();
        }
        if let Some(c) = conn {
            c.close();
        }
        Ok(Vec::new())
    });
}

pub fn call(
    rt: RuntimeFn,
    driver: u32,
    handle: u64,
    program: u32,
    procedure: i32,
    args: &[u8],
) -> Reply {
    guard("a call", || match rt().connection(driver, handle) {
        Some(conn) if program == STREAM_PROGRAM => {
            stream_call(rt(), &*conn, (driver, handle), procedure, args)
        }
        Some(conn) => conn.call(program, procedure, args),
        None => Err(RemoteError::new(
            code::INVALID_CONN,
            domain::NONE,
            "invalid connection pointer in the driver call",
        )),
    })
}

fn no_stream(id: u64) -> RemoteError {
    RemoteError::new(
        code::INVALID_ARG,
        domain::STREAMS,
        format!("invalid argument: no open stream {id} on this connection"),
    )
}

impl Runtime {
    fn take_stream(&self, key: (u32, u64, u64)) -> Result<StreamSlot, RemoteError> {
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key)
            .ok_or_else(|| no_stream(key.2))
    }

    fn stream(&self, key: (u32, u64, u64)) -> Result<StreamSlot, RemoteError> {
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned()
            .ok_or_else(|| no_stream(key.2))
    }

    /// Runs `f` on an open stream; a failure (error or panic) ends the stream: it is
    /// aborted and dropped.
    fn with_stream<T>(
        &self,
        key: (u32, u64, u64),
        f: impl FnOnce(&mut dyn Stream) -> Result<T, RemoteError>,
    ) -> Result<T, RemoteError> {
        let slot = self.stream(key)?;
        let mut st = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let r = catch_unwind(AssertUnwindSafe(|| f(&mut **st)));
        drop(st);
        if !matches!(r, Ok(Ok(_))) {
            if let Ok(slot) = self.take_stream(key) {
                let mut st = slot.lock().unwrap_or_else(PoisonError::into_inner);
                let _ = catch_unwind(AssertUnwindSafe(|| st.abort()));
            }
        }
        // A panic goes on to the entry point's guard, which reports it.
        r.unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

/// One procedure of [`STREAM_PROGRAM`] (docs/abi.md "Streams").
fn stream_call(
    rt: &Runtime,
    conn: &dyn Connection,
    (driver, handle): (u32, u64),
    procedure: i32,
    args: &[u8],
) -> Result<Vec<u8>, RemoteError> {
    use rvirt_protocol as p;
    let key = |stream| (driver, handle, stream);
    match procedure as i64 {
        p::RVIRT_STREAM_PROC_OPEN => {
            let a: p::RvirtStreamOpenArgs = from_bytes(args)?;
            let (reply, st) = conn.open_stream(a.program, a.procedure, &a.args)?;
            let old = rt
                .streams
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key(a.stream), Arc::new(Mutex::new(st)));
            if let Some(old) = old {
                old.lock().unwrap_or_else(PoisonError::into_inner).abort();
            }
            Ok(reply)
        }
        p::RVIRT_STREAM_PROC_SEND => {
            let (stream, data) = p::stream_data::decode_send(args)?;
            rt.with_stream(key(stream), |s| s.send(data))
                .map(|()| Vec::new())
        }
        p::RVIRT_STREAM_PROC_HOLE => {
            let a: p::RvirtStreamHoleArgs = from_bytes(args)?;
            rt.with_stream(key(a.stream), |s| s.hole(a.length))
                .map(|()| Vec::new())
        }
        p::RVIRT_STREAM_PROC_RECV => {
            let a: p::RvirtStreamRecvArgs = from_bytes(args)?;
            let max = (a.max_bytes as usize).min(p::RVIRT_STREAM_DATA_MAX as usize);
            let wait = std::time::Duration::from_millis(u64::from(a.wait_ms));
            let chunk = rt.with_stream(key(a.stream), |s| s.recv(max, wait))?;
            Ok(to_bytes(&recv_ret(chunk, max)))
        }
        p::RVIRT_STREAM_PROC_FINISH => {
            let a: p::RvirtStreamId = from_bytes(args)?;
            let slot = rt.take_stream(key(a.stream))?;
            let r = slot.lock().unwrap_or_else(PoisonError::into_inner).finish();
            r.map(|()| Vec::new())
        }
        p::RVIRT_STREAM_PROC_ABORT => {
            let a: p::RvirtStreamId = from_bytes(args)?;
            if let Ok(slot) = rt.take_stream(key(a.stream)) {
                slot.lock().unwrap_or_else(PoisonError::into_inner).abort();
            }
            Ok(Vec::new())
        }
        _ => Err(RemoteError::unknown_procedure(STREAM_PROGRAM, procedure)),
    }
}

fn recv_ret(chunk: StreamChunk, max: usize) -> rvirt_protocol::RvirtStreamRecvRet {
    use rvirt_protocol as p;
    let (kind, mut data, hole) = match chunk {
        StreamChunk::Data(d) => (p::RVIRT_STREAM_RECV_DATA, d, 0),
        StreamChunk::Hole(n) => (p::RVIRT_STREAM_RECV_HOLE, Vec::new(), n),
        StreamChunk::End => (p::RVIRT_STREAM_RECV_END, Vec::new(), 0),
        StreamChunk::Idle => (p::RVIRT_STREAM_RECV_IDLE, Vec::new(), 0),
    };
    // A module that answers more than asked would break the host's framing.
    data.truncate(max);
    p::RvirtStreamRecvRet {
        kind: kind as i32,
        data,
        hole,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use rvirt_protocol as p;

    use super::*;
    use crate::sdk::{DriverSpec, ModuleInfo};

    type Log = Arc<Mutex<Vec<String>>>;

    fn log() -> &'static Log {
        static LOG: OnceLock<Log> = OnceLock::new();
        LOG.get_or_init(Log::default)
    }

    fn note(s: impl Into<String>) {
        log().lock().unwrap().push(s.into());
    }

    struct Upload;

    impl Stream for Upload {
        fn send(&mut self, data: &[u8]) -> Result<(), RemoteError> {
            if data == b"boom" {
                panic!("bad data");
            }
            note(format!("send {}", String::from_utf8_lossy(data)));
            Ok(())
        }
        fn finish(&mut self) -> Result<(), RemoteError> {
            note("finish");
            Ok(())
        }
        fn abort(&mut self) {
            note("abort");
        }
    }

    struct Conn;

    impl Connection for Conn {
        fn call(&self, _: u32, procedure: i32, _: &[u8]) -> Result<Vec<u8>, RemoteError> {
            Err(RemoteError::unsupported(&procedure.to_string()))
        }
        fn open_stream(
            &self,
            _: u32,
            _: i32,
            args: &[u8],
        ) -> Result<(Vec<u8>, Box<dyn Stream>), RemoteError> {
            note(format!("open {args:?}"));
            Ok((vec![7], Box::new(Upload)))
        }
    }

    struct M;

    impl Module for M {
        fn info(&self) -> ModuleInfo {
            ModuleInfo {
                name: "t".into(),
                version: "0".into(),
                has_state_driver: false,
                drivers: vec![DriverSpec {
                    kind: crate::sdk::DriverKind::Storage,
                    name: "t".into(),
                    uri_schemes: vec![],
                    procedures: vec![],
                }],
                features: vec![],
            }
        }
        fn open(&self, _: ConnContext, _: &str, _: u32) -> Result<OpenOutcome, RemoteError> {
            Ok(OpenOutcome::Opened(Arc::new(Conn)))
        }
    }

    fn rt() -> &'static Runtime {
        static RT: OnceLock<Runtime> = OnceLock::new();
        RT.get_or_init(|| Runtime::new(Box::new(M)))
    }

    fn ok(r: Reply) -> Vec<u8> {
        match r {
            RResult::ROk(v) => v.into_vec(),
            RResult::RErr(e) => panic!("{}", from_bytes::<RemoteError>(&e).unwrap().text()),
        }
    }

    fn err(r: Reply) -> String {
        match r {
            RResult::ROk(_) => panic!("success"),
            RResult::RErr(e) => from_bytes::<RemoteError>(&e).unwrap().text().to_string(),
        }
    }

    fn stream_call(handle: u64, proc_: i64, args: &[u8]) -> Reply {
        call(rt, 0, handle, STREAM_PROGRAM, proc_ as i32, args)
    }

    fn send(handle: u64, stream: u64, data: &[u8]) -> Reply {
        stream_call(
            handle,
            p::RVIRT_STREAM_PROC_SEND,
            &p::stream_data::encode_send(stream, data),
        )
    }

    fn open_stream(handle: u64, stream: u64) -> Vec<u8> {
        let a = p::RvirtStreamOpenArgs {
            stream,
            program: p::REMOTE_PROGRAM_NUMBER,
            procedure: p::remote_proc::STORAGE_VOL_UPLOAD,
            args: vec![1, 2],
        };
        ok(stream_call(
            handle,
            p::RVIRT_STREAM_PROC_OPEN,
            &to_bytes(&a),
        ))
    }

    fn connect() -> u64 {
        let a = RvirtOpenArgs {
            uri: "t:///".into(),
            flags: 0,
            read_only: false,
        };
        let r: RvirtOpenRet = from_bytes(&ok(open(rt, 0, &to_bytes(&a)))).unwrap();
        r.handle
    }

    /// One test, since the runtime and its log are process-wide.
    #[test]
    fn streams_are_routed_guarded_and_cleaned_up() {
        let h = connect();
        assert_eq!(open_stream(h, 41), vec![7], "OPEN answers the call's reply");
        ok(send(h, 41, b"abc"));
        let fin = to_bytes(&p::RvirtStreamId { stream: 41 });
        ok(stream_call(h, p::RVIRT_STREAM_PROC_FINISH, &fin));
        assert!(err(send(h, 41, b"late")).contains("no open stream 41"));
        // A panic is an error, and it ends the stream.
        open_stream(h, 42);
        assert!(err(send(h, 42, b"boom")).contains("panicked in a call: bad data"));
        assert!(err(send(h, 42, b"x")).contains("no open stream 42"));
        // Closing the connection aborts what is still open.
        open_stream(h, 43);
        close(rt, 0, h);
        assert!(err(send(h, 43, b"x")).contains("invalid connection"));
        let l = log().lock().unwrap().clone();
        assert_eq!(
            l,
            [
                "open [1, 2]",
                "send abc",
                "finish",
                "open [1, 2]",
                "abort",
                "open [1, 2]",
                "abort"
            ]
        );
    }
}
