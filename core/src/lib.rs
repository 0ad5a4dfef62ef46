//! rvirt-core: the module loader and driver tables, call routing with libvirt's public-API
//! discipline, URI parsing, and the client library (embedded and remote).

pub mod audit;
pub mod calls;
pub mod client;
pub mod dispatch;
pub mod elf;
pub mod events;
pub mod host;
pub mod loader;
pub mod registry;
pub mod remote;
pub mod stream;
pub mod trust;
pub mod uri;

pub use client::{Connect, Domain, Network, NodeDevice, StoragePool, StorageVol};
pub use rvirt_protocol::RemoteError as Error;
pub use rvirt_protocol::{self as protocol};

/// libvirt version number this implementation answers for (9.0.0).
pub const LIBVIRT_VERSION: u64 = 9_000_000;
