//! rvirt-plugin-api 1.x: the only crate a driver module depends on.
//!
//! - [`abi`]: the frozen envelope every module exports (abi_stable, checked at load).
//! - [`sdk`]: what a driver author implements: [`sdk::Module`] and [`sdk::Connection`],
//!   with the generated typed handler traits ([`protocol::RemoteHandler`],
//!   [`protocol::QemuHandler`]) so a driver writes typed methods and never touches bytes.
//! - [`host`]: services the host hands to the module: log bridge, event sink, host calls.
//! - [`export_module!`]: exports a [`sdk::Module`] as the module's root.
//!
//! Compatibility policy: docs/abi.md.

pub mod abi;
pub mod calls;
pub mod glue;
pub mod host;
pub mod listing;
pub mod sdk;

pub use rvirt_protocol as protocol;

/// The abi_stable crate `export_module!` expands to, so a module needs no dependency on
/// it (the envelope in [`abi`] stays byte-for-byte the 1.0 one).
#[doc(hidden)]
pub use abi_stable;

/// The ABI generation this crate implements. A host accepts modules whose major matches.
pub const ABI_MAJOR: u32 = 1;
/// Minor level of this crate's SDK; informative only (the envelope never changes within 1.x).
/// 1.0: the envelope and typed REMOTE handlers. 1.1: QEMU program handlers and dispatch
/// (`sdk::dispatch_remote_and_qemu`); the envelope is byte-for-byte the 1.0 one.
/// 1.2: the `client-identity` feature (`sdk::ConnContext::privileged`).
/// 1.3: data streams (`sdk::Connection::open_stream`, `sdk::Stream`, the
/// `RVIRT_STREAM_PROGRAM` procedures; docs/abi.md "Streams"), and `calls` (calls
/// between modules through the `host_call` service).
pub const ABI_MINOR: u32 = 3;

/// Exports a driver module: `export_module!(MyModule::new);` where the expression is a
/// `fn() -> impl Module`. Every entry point runs under `catch_unwind`.
#[macro_export]
macro_rules! export_module {
    ($ctor:expr) => {
        static RVIRT_RUNTIME: ::std::sync::OnceLock<$crate::glue::Runtime> =
            ::std::sync::OnceLock::new();

        fn rvirt_runtime() -> &'static $crate::glue::Runtime {
            RVIRT_RUNTIME
                .get_or_init(|| $crate::glue::Runtime::new(::std::boxed::Box::new(($ctor)())))
        }

        extern "C" fn rvirt_attach_host(host: $crate::abi::HostServices, token: u64) {
            $crate::glue::attach_host(rvirt_runtime, host, token)
        }
        extern "C" fn rvirt_describe() -> $crate::abi::Reply {
            $crate::glue::describe(rvirt_runtime)
        }
        extern "C" fn rvirt_state(
            hook: u32,
            payload: $crate::abi::RSlice<'_, u8>,
        ) -> $crate::abi::Reply {
            $crate::glue::state(rvirt_runtime, hook, payload.as_slice())
        }
        extern "C" fn rvirt_open(
            driver: u32,
            payload: $crate::abi::RSlice<'_, u8>,
        ) -> $crate::abi::Reply {
            $crate::glue::open(rvirt_runtime, driver, payload.as_slice())
        }
        extern "C" fn rvirt_close(driver: u32, handle: u64) {
            $crate::glue::close(rvirt_runtime, driver, handle)
        }
        extern "C" fn rvirt_call(
            driver: u32,
            handle: u64,
            program: u32,
            procedure: i32,
            args: $crate::abi::RSlice<'_, u8>,
        ) -> $crate::abi::Reply {
            $crate::glue::call(
                rvirt_runtime,
                driver,
                handle,
                program,
                procedure,
                args.as_slice(),
            )
        }

        pub fn rvirt_module_root() -> $crate::abi::ModuleRootRef {
            use $crate::abi::PrefixTypeTrait;
            $crate::abi::ModuleRoot {
                attach_host: rvirt_attach_host,
                describe: rvirt_describe,
                state: rvirt_state,
                open: rvirt_open,
                close: rvirt_close,
                call: rvirt_call,
            }
            .leak_into_prefix()
        }

        // What abi_stable's `#[export_root_module]` expands to, spelled through this
        // crate's re-export so a module needs no `abi_stable` dependency of its own. The
        // symbol name is abi_stable 0.11's `ROOT_MODULE_LOADER_NAME` (checked by a test).
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static RVIRT_LIB_HEADER: $crate::abi_stable::library::LibHeader = {
            extern "C" fn rvirt_erased_root() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(rvirt_module_root)
            }
            type RvirtRoot = <$crate::abi::ModuleRootRef as
                                        $crate::abi_stable::library::IntoRootModuleResult>::Module;
            // SAFETY: `rvirt_erased_root` returns the root module of type `RvirtRoot`,
            // which is what `from_constructor` requires; the layout is checked at load.
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<RvirtRoot>(
                    rvirt_erased_root,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

#[cfg(test)]
mod tests {
    /// `export_module!` names the root module's symbol as abi_stable does.
    #[test]
    fn export_symbol_is_abi_stables() {
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }
}
