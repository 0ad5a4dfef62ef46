//! rvirt-plugin-api 1.0.0, envelope only: the fixture that stands for a module built
//! against the oldest 1.x. No SDK and no glue; see `tests/abi-compat/old-module`.

pub mod abi;

/// The ABI generation of this snapshot.
pub const ABI_MAJOR: u32 = 1;
/// The minor level of this snapshot.
pub const ABI_MINOR: u32 = 0;
