//! `oldmod:///`: a driver module written by hand against the frozen rvirt-plugin-api
//! 1.0.0 envelope, with no SDK: raw entry points, XDR encoded by hand. It stands for a
//! module built against the oldest 1.x and must keep loading into every later 1.x host.
//!
//! Procedures: CONNECT_GET_TYPE ("OldMod"), CONNECT_GET_HOSTNAME, and CONNECT_GET_SYSINFO,
//! which panics on purpose so the tests can prove the panic guard keeps the host alive.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use rvirt_plugin_api::abi::{
    export_root_module, hook, HostServices, ModuleRoot, ModuleRootRef, PrefixTypeTrait, RResult,
    RSlice, RStr, RVec, Reply,
};

mod xdr;

const REMOTE_PROGRAM: u32 = 0x2000_8086;
const PROC_CONNECT_GET_TYPE: i32 = 3;
const PROC_CONNECT_GET_HOSTNAME: i32 = 59;
const PROC_CONNECT_GET_SYSINFO: i32 = 203;
const PROCEDURES: [i32; 3] = [
    PROC_CONNECT_GET_TYPE,
    PROC_CONNECT_GET_HOSTNAME,
    PROC_CONNECT_GET_SYSINFO,
];

/// Host name this module reports (fixed, so tests can check it).
pub const HOSTNAME: &str = "oldmod.invalid";

/// libvirt error codes and domains used here.
const VIR_ERR_INTERNAL_ERROR: i32 = 1;
const VIR_ERR_NO_SUPPORT: i32 = 3;
const VIR_ERR_INVALID_CONN: i32 = 6;
const VIR_ERR_RPC: i32 = 39;
const VIR_FROM_NONE: i32 = 0;
const VIR_FROM_RPC: i32 = 7;

/// Descriptor driver kind 0: hypervisor.
const KIND_HYPERVISOR: u32 = 0;
const OPEN_SUCCESS: i32 = 0;
const OPEN_DECLINED: i32 = 1;
const INIT_COMPLETE: i32 = 0;

static HOST: OnceLock<(HostServices, u64)> = OnceLock::new();
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);
static OPEN: Mutex<BTreeSet<u64>> = Mutex::new(BTreeSet::new());

type Outcome = Result<Vec<u8>, Vec<u8>>;

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs an entry point body so that a panic comes back as an encoded `remote_error`.
fn guard(what: &str, f: impl FnOnce() -> Outcome) -> Reply {
    let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = format!(
            "internal error: oldmod panicked in {what}: {}",
            panic_text(&*p)
        );
        Err(xdr::remote_error(
            VIR_ERR_INTERNAL_ERROR,
            VIR_FROM_NONE,
            &msg,
        ))
    });
    match outcome {
        Ok(v) => RResult::ROk(RVec::from(v)),
        Err(e) => RResult::RErr(RVec::from(e)),
    }
}

fn log(level: u32, message: &str) {
    if let Some((host, token)) = HOST.get() {
        (host.log)(
            *token,
            level,
            RStr::from_str("oldmod"),
            RStr::from_str(message),
        );
    }
}

extern "C" fn attach_host(host: HostServices, token: u64) {
    let _ = catch_unwind(|| {
        let _ = HOST.set((host, token));
        log(4, "attached to host");
    });
}

/// `rvirt_module_descriptor`, field by field as in protocol/defs/90-rvirt-module.x.
fn descriptor() -> Vec<u8> {
    let mut w = Vec::new();
    xdr::string(&mut w, "oldmod");
    xdr::string(&mut w, env!("CARGO_PKG_VERSION"));
    xdr::u32(&mut w, rvirt_plugin_api::ABI_MAJOR);
    xdr::u32(&mut w, rvirt_plugin_api::ABI_MINOR);
    xdr::bool(&mut w, true); // has_state_driver
    xdr::u32(&mut w, 1); // drivers<>: one rvirt_driver_descriptor
    xdr::u32(&mut w, KIND_HYPERVISOR);
    xdr::string(&mut w, "OldMod");
    xdr::u32(&mut w, 1); // uri_schemes<>
    xdr::string(&mut w, "oldmod");
    xdr::u32(&mut w, 1); // procedures<>: one rvirt_procedure_set
    xdr::u32(&mut w, REMOTE_PROGRAM);
    xdr::u32(&mut w, PROCEDURES.len() as u32);
    PROCEDURES.iter().for_each(|p| xdr::i32(&mut w, *p));
    xdr::u32(&mut w, 0); // features<>
    w
}

extern "C" fn describe() -> Reply {
    guard("describe", || Ok(descriptor()))
}

extern "C" fn state(hook_id: u32, _payload: RSlice<'_, u8>) -> Reply {
    guard("a state hook", || {
        if hook_id != hook::INITIALIZE {
            return Ok(Vec::new());
        }
        // rvirt_init_ret { status, features<> }; the arguments are not needed.
        let mut w = Vec::new();
        xdr::i32(&mut w, INIT_COMPLETE);
        xdr::u32(&mut w, 0);
        Ok(w)
    })
}

/// `rvirt_open_args` is `{ string uri; unsigned int flags; bool read_only; }`; only the
/// URI matters here. Replies `rvirt_open_ret { int status; unsigned hyper handle; }`.
fn open_uri(payload: &[u8]) -> Outcome {
    let uri = xdr::Reader::new(payload).string().ok_or_else(|| {
        xdr::remote_error(
            VIR_ERR_RPC,
            VIR_FROM_RPC,
            "oldmod: malformed open arguments",
        )
    })?;
    let mut w = Vec::new();
    if !uri.starts_with("oldmod:") {
        xdr::i32(&mut w, OPEN_DECLINED);
        xdr::u64(&mut w, 0);
        return Ok(w);
    }
    let handle = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    OPEN.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(handle);
    log(4, &format!("opened {uri} as handle {handle}"));
    xdr::i32(&mut w, OPEN_SUCCESS);
    xdr::u64(&mut w, handle);
    Ok(w)
}

extern "C" fn open(_driver: u32, payload: RSlice<'_, u8>) -> Reply {
    guard("open", || open_uri(payload.as_slice()))
}

extern "C" fn close(_driver: u32, handle: u64) {
    let _ = catch_unwind(|| {
        OPEN.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&handle)
    });
}

fn string_reply(s: &str) -> Outcome {
    let mut w = Vec::new();
    xdr::string(&mut w, s);
    Ok(w)
}

fn remote_call(procedure: i32) -> Outcome {
    match procedure {
        PROC_CONNECT_GET_TYPE => string_reply("OldMod"),
        PROC_CONNECT_GET_HOSTNAME => string_reply(HOSTNAME),
        PROC_CONNECT_GET_SYSINFO => panic!("old module exploded"),
        other => Err(xdr::remote_error(
            VIR_ERR_NO_SUPPORT,
            VIR_FROM_NONE,
            &format!("this function is not supported by the connection driver: procedure {other}"),
        )),
    }
}

extern "C" fn call(
    _driver: u32,
    handle: u64,
    program: u32,
    procedure: i32,
    _args: RSlice<'_, u8>,
) -> Reply {
    guard("a call", || {
        if !OPEN
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&handle)
        {
            return Err(xdr::remote_error(
                VIR_ERR_INVALID_CONN,
                VIR_FROM_NONE,
                "oldmod: unknown connection handle",
            ));
        }
        if program != REMOTE_PROGRAM {
            return Err(xdr::remote_error(
                VIR_ERR_RPC,
                VIR_FROM_RPC,
                &format!("unknown program {program:#x}"),
            ));
        }
        remote_call(procedure)
    })
}

#[export_root_module]
pub fn rvirt_module_root() -> ModuleRootRef {
    ModuleRoot {
        attach_host,
        describe,
        state,
        open,
        close,
        call,
    }
    .leak_into_prefix()
}
