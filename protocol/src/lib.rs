//! rvirt-protocol: libvirt's remote wire protocol.
//!
//! The XDR runtime ([`xdr`]), message framing ([`message`]), and the types, procedure
//! tables, call/reply enums and typed handler traits generated at build time from the
//! definitions in `protocol/defs/` by `rvirt-xdrgen`.

pub mod error;
pub mod facts;
pub mod message;
pub mod procedure;
#[cfg(test)]
mod robustness;
pub mod stream_data;
pub mod xdr;

pub use message::{Header, MessageStatus, MessageType};
pub use procedure::{procedure, procedures, DriverKind, ObjectKind, ProcedureInfo, StreamKind};
pub use xdr::{Reader, Xdr, XdrError};

#[allow(
    clippy::all,
    clippy::pedantic,
    unused_variables,
    unused_mut,
    unreachable_code,
    non_camel_case_types,
    non_upper_case_globals
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

pub use generated::*;
