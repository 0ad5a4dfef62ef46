//! The frozen ABI envelope (plugin-api 1.0). Nothing in this file may change within 1.x:
//! abi_stable refuses a host whose view of a prefix type has more fields than the module's,
//! so growth happens through procedure numbers, descriptor features and host-call kinds,
//! never through new fields here. See docs/abi.md.

pub use abi_stable::export_root_module;
use abi_stable::library::RootModule;
pub use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_types::VersionStrings;
pub use abi_stable::std_types::{RResult, RSlice, RStr, RVec};
use abi_stable::{declare_root_module_statics, StableAbi};

/// Every entry point answers XDR bytes: `ROk` is the procedure's reply payload, `RErr`
/// an encoded `remote_error`.
pub type Reply = RResult<RVec<u8>, RVec<u8>>;

/// State-driver hook numbers for [`ModuleRoot::state`] (append-only).
pub mod hook {
    /// Payload `rvirt_init_args`, reply `rvirt_init_ret`.
    pub const INITIALIZE: u32 = 0;
    pub const RELOAD: u32 = 1;
    pub const SHUTDOWN_PREPARE: u32 = 2;
    pub const SHUTDOWN_WAIT: u32 = 3;
    pub const CLEANUP: u32 = 4;
}

/// Services the host provides to a module. Frozen: new services are new `host_call` kinds.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct HostServices {
    /// Log one record: level 1=error 2=warn 3=info 4=debug 5=trace.
    pub log: extern "C" fn(token: u64, level: u32, target: RStr<'_>, message: RStr<'_>),
    /// Deliver an event (a MESSAGE payload of `program`/`procedure`) to the subscribers
    /// of connection `handle` of driver `driver`.
    pub emit_event: extern "C" fn(
        token: u64,
        driver: u32,
        handle: u64,
        program: u32,
        procedure: i32,
        payload: RSlice<'_, u8>,
    ),
    /// A message-level request to the host; kinds are append-only. Unknown kinds answer
    /// an encoded `remote_error`.
    pub host_call: extern "C" fn(token: u64, kind: u32, payload: RSlice<'_, u8>) -> Reply,
}

/// The root every module exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ModuleRootRef)))]
#[sabi(missing_field(panic))]
pub struct ModuleRoot {
    /// First call after load: the host's services and this module's token.
    pub attach_host: extern "C" fn(host: HostServices, token: u64),
    /// The module's `rvirt_module_descriptor`.
    pub describe: extern "C" fn() -> Reply,
    /// A state-driver hook (see [`hook`]).
    pub state: extern "C" fn(hook: u32, payload: RSlice<'_, u8>) -> Reply,
    /// Open a connection on driver `driver` (index into the descriptor's drivers):
    /// payload `rvirt_open_args`, reply `rvirt_open_ret`.
    pub open: extern "C" fn(driver: u32, payload: RSlice<'_, u8>) -> Reply,
    /// Close a connection handle returned by `open`.
    pub close: extern "C" fn(driver: u32, handle: u64),
    /// One procedure call on an open connection.
    #[sabi(last_prefix_field)]
    pub call: extern "C" fn(
        driver: u32,
        handle: u64,
        program: u32,
        procedure: i32,
        args: RSlice<'_, u8>,
    ) -> Reply,
}

impl RootModule for ModuleRootRef {
    declare_root_module_statics! {ModuleRootRef}
    const BASE_NAME: &'static str = "rvirt_driver";
    const NAME: &'static str = "rvirt_driver";
    const VERSION_STRINGS: VersionStrings = abi_stable::package_version_strings!();
}
