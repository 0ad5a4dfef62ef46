//! The host services handed to every module: log bridge, event sink, host calls.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{PoisonError, RwLock};

use abi_stable::std_types::{RResult, RSlice, RStr, RVec};
use rvirt_plugin_api::abi::{HostServices, Reply};
use rvirt_protocol::xdr::to_bytes;
use rvirt_protocol::RemoteError;

static MODULE_NAMES: RwLock<Option<HashMap<u64, String>>> = RwLock::new(None);

/// Remembers the name behind a token, for log records.
pub fn name_token(token: u64, name: &str) {
    let mut names = MODULE_NAMES.write().unwrap_or_else(PoisonError::into_inner);
    names
        .get_or_insert_with(HashMap::new)
        .insert(token, name.to_string());
}

fn module_name(token: u64) -> String {
    let names = MODULE_NAMES.read().unwrap_or_else(PoisonError::into_inner);
    names
        .as_ref()
        .and_then(|n| n.get(&token).cloned())
        .unwrap_or_else(|| format!("module#{token}"))
}

extern "C" fn host_log(token: u64, level: u32, target: RStr<'_>, message: RStr<'_>) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let module = module_name(token);
        let (target, message) = (target.as_str(), message.as_str());
        match level {
            1 => tracing::error!(target: "rvirt::module", module, origin = target, "{message}"),
            2 => tracing::warn!(target: "rvirt::module", module, origin = target, "{message}"),
            3 => tracing::info!(target: "rvirt::module", module, origin = target, "{message}"),
            4 => tracing::debug!(target: "rvirt::module", module, origin = target, "{message}"),
            _ => tracing::trace!(target: "rvirt::module", module, origin = target, "{message}"),
        }
    }));
}

extern "C" fn host_emit_event(
    token: u64,
    driver: u32,
    handle: u64,
    program: u32,
    procedure: i32,
    payload: RSlice<'_, u8>,
) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        crate::events::route(
            token,
            driver,
            handle,
            program,
            procedure,
            payload.as_slice(),
        );
    }));
}

extern "C" fn host_call(token: u64, kind: u32, payload: RSlice<'_, u8>) -> Reply {
    let outcome = catch_unwind(AssertUnwindSafe(|| serve_host_call(token, kind, &payload)))
        .unwrap_or_else(|_| {
            Err(RemoteError::new(
                rvirt_protocol::error::code::INTERNAL_ERROR,
                rvirt_protocol::error::domain::NONE,
                format!("host call {kind} panicked"),
            ))
        });
    match outcome {
        Ok(bytes) => RResult::ROk(RVec::from(bytes)),
        Err(e) => RResult::RErr(RVec::from(to_bytes(&e))),
    }
}

/// One host call of module `token` (see `protocol/defs/91-rvirt-host-calls.x`).
fn serve_host_call(token: u64, kind: u32, payload: &[u8]) -> Result<Vec<u8>, RemoteError> {
    match i64::from(kind) {
        rvirt_protocol::RVIRT_HOST_CALL_DRIVER => {
            let req: rvirt_protocol::RvirtHostDriverCall =
                rvirt_protocol::xdr::from_bytes(payload)?;
            crate::calls::driver_call(token, &req)
        }
        rvirt_protocol::RVIRT_HOST_CALL_HOLD_IDLE_EXIT => {
            let req: rvirt_protocol::RvirtHostHoldIdleExit =
                rvirt_protocol::xdr::from_bytes(payload)?;
            set_idle_holds(token, req.holds);
            Ok(Vec::new())
        }
        _ => Err(RemoteError::new(
            rvirt_protocol::error::code::NO_SUPPORT,
            rvirt_protocol::error::domain::NONE,
            format!("this host does not offer service {kind}"),
        )),
    }
}

/// What each module (by token) holds against an idle exit.
static IDLE_HOLDS: std::sync::Mutex<Vec<(u64, u32)>> = std::sync::Mutex::new(Vec::new());

fn set_idle_holds(token: u64, holds: u32) {
    let mut h = IDLE_HOLDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    h.retain(|(t, _)| *t != token);
    if holds > 0 {
        h.push((token, holds));
    }
}

/// Whether some module holds the daemon against an idle exit (running guests).
pub fn idle_exit_held() -> bool {
    !IDLE_HOLDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_empty()
}

/// The services table given to modules at load.
pub fn services() -> HostServices {
    HostServices {
        log: host_log,
        emit_event: host_emit_event,
        host_call,
    }
}
