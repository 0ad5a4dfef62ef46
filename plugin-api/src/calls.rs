//! Calls to other modules' drivers through the host (host call `RVIRT_HOST_CALL_DRIVER`):
//! a hypervisor driver reaches the storage, network or node device driver by message,
//! never by linking to it. The host picks the first loaded module with a driver of the
//! asked kind that serves the URI's scheme and implements the procedure.

use rvirt_protocol::xdr::{from_bytes, to_bytes, Xdr};
use rvirt_protocol::{DriverKind, RemoteError, RvirtHostDriverCall, REMOTE_PROGRAM_NUMBER};

/// Calls REMOTE procedure `procedure` with `args` on the `kind` driver serving `uri`, and
/// decodes its reply. A missing driver is libvirt's `NO_SUPPORT` error from the host.
pub fn call_driver<A: Xdr, R: Xdr>(
    kind: DriverKind,
    uri: &str,
    procedure: i32,
    args: &A,
) -> Result<R, RemoteError> {
    let req = RvirtHostDriverCall {
        kind: kind.code(),
        uri: uri.to_string(),
        program: REMOTE_PROGRAM_NUMBER,
        procedure,
        args: to_bytes(args),
    };
    let reply = crate::host::host_call(
        rvirt_protocol::RVIRT_HOST_CALL_DRIVER as u32,
        &to_bytes(&req),
    )?;
    Ok(from_bytes(&reply)?)
}
