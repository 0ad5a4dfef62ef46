//! rvirt's storage driver: pools and volumes on the host, for every hypervisor
//! connection whose own module has no storage driver (`qemu:///system`, ...).
//!
//! A secondary driver (it serves no URI scheme of its own) with a state driver:
//! persistent pool definitions live in the module's state directory, written atomically;
//! pools that ran before a restart (or a `kill -9`) run again, and autostart pools
//! start with the daemon. Pool types `dir`, `fs`, `netfs`, `disk`, `logical`, `iscsi`,
//! `iscsi-direct` (libiscsi, loaded at run time) and `scsi` are implemented; volumes are raw files (sparse or allocated), images made by
//! `qemu-img` (qcow2 and the other formats), partitions, logical volumes or LUNs;
//! uploads and downloads stream a volume's bytes.
//! See docs/storage.md for what is supported.

// `RemoteError` is the SDK's fixed error type; its size is not this crate's choice.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, OnceLock};

use rvirt_plugin_api::protocol::{DriverKind, RemoteError, REMOTE_PROGRAM_NUMBER};
use rvirt_plugin_api::sdk::{
    ConnContext, DriverSpec, InitContext, InitStatus, Module, ModuleInfo, OpenOutcome,
    HOST_FEATURE_RESUMED,
};

pub mod backend;
pub mod change;
pub mod cmd;
pub mod conn;
pub mod dir;
pub mod disk;
pub mod dup;
pub mod error;
pub mod events;
pub mod fs;
pub mod iscsi;
pub mod iscsi_direct;
pub mod iscsi_iface;
pub mod libiscsi;
pub mod logical;
pub mod mount;
pub mod netfs;
pub mod pool;
pub mod probe;
pub mod scsi;
pub mod state;
pub mod stream;
pub mod vol;

use state::{Dirs, Driver};

/// The module root.
#[derive(Debug, Default)]
pub struct StorageModule {
    driver: OnceLock<Arc<Driver>>,
}

impl StorageModule {
    pub fn new() -> StorageModule {
        StorageModule::default()
    }

    /// The driver; a module opened without initialize (embedded use) keeps its state in
    /// a temporary directory.
    fn driver(&self) -> Arc<Driver> {
        self.driver
            .get_or_init(|| start_driver(Dirs::new(""), false, true))
            .clone()
    }
}

/// Creates the driver: directories, persistent definitions, running and autostart pools.
fn start_driver(dirs: Dirs, privileged: bool, autostart: bool) -> Arc<Driver> {
    if let Err(e) = dirs.create() {
        tracing::warn!("{e}");
    }
    let drv = Arc::new(Driver::new(dirs, privileged));
    pool::startup(&drv, autostart);
    drv
}

/// What the driver declares: its REMOTE procedures with the stream-opening calls, and
/// rvirt's stream program for them (docs/abi.md, "Streams").
fn procedure_sets() -> Vec<(u32, Vec<i32>)> {
    let mut remote = conn::PROCEDURES.to_vec();
    remote.extend_from_slice(rvirt_plugin_api::sdk::VOLUME_STREAM_OPENERS);
    vec![
        (REMOTE_PROGRAM_NUMBER, remote),
        (
            rvirt_plugin_api::sdk::STREAM_PROGRAM,
            rvirt_plugin_api::sdk::STREAM_PROCEDURES.to_vec(),
        ),
    ]
}

impl Module for StorageModule {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "storage".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            has_state_driver: true,
            drivers: vec![DriverSpec {
                kind: DriverKind::Storage,
                name: "storage".into(),
                uri_schemes: Vec::new(),
                procedures: procedure_sets(),
            }],
            features: Vec::new(),
        }
    }

    fn initialize(&self, ctx: &InitContext) -> Result<InitStatus, RemoteError> {
        let dirs = Dirs::new(&ctx.state_dir);
        dirs.create()?;
        if self.driver.get().is_none() {
            let resumed = ctx.host_features.iter().any(|f| f == HOST_FEATURE_RESUMED);
            let _ = self
                .driver
                .set(start_driver(dirs, ctx.privileged, !resumed));
        }
        Ok(InitStatus::Complete)
    }

    fn reload(&self) -> Result<(), RemoteError> {
        if let Some(d) = self.driver.get() {
            pool::reload(d);
        }
        Ok(())
    }

    fn open(&self, ctx: ConnContext, _uri: &str, _flags: u32) -> Result<OpenOutcome, RemoteError> {
        if ctx.driver != 0 {
            return Ok(OpenOutcome::Declined);
        }
        let listener = events::Listener {
            driver: ctx.driver,
            handle: ctx.handle,
        };
        let conn = conn::StorageConn::open(self.driver(), listener);
        Ok(OpenOutcome::Opened(Arc::new(conn)))
    }
}

rvirt_plugin_api::export_module!(StorageModule::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_a_secondary_storage_driver() {
        let info = StorageModule::new().info();
        assert_eq!(info.name, "storage");
        assert!(info.has_state_driver);
        let d = &info.drivers[0];
        assert_eq!(d.kind, DriverKind::Storage);
        assert!(d.uri_schemes.is_empty());
        assert!(d.procedures[0]
            .1
            .contains(&rvirt_plugin_api::protocol::remote_proc::STORAGE_VOL_UPLOAD));
        assert_eq!(d.procedures[1].0, rvirt_plugin_api::sdk::STREAM_PROGRAM);
    }

    /// The procedure list is exactly what the handler implements: every REMOTE
    /// procedure is called with default arguments, and whatever does not answer the
    /// trait's "not supported" is implemented.
    #[test]
    fn declared_procedures_are_the_implemented_ones() {
        use rvirt_plugin_api::sdk::Connection;
        let dir = std::env::temp_dir().join(format!("rvirt-storage-procs-{}", std::process::id()));
        let dirs = Dirs::new(dir.to_str().unwrap());
        dirs.create().unwrap();
        let listener = events::Listener {
            driver: 0,
            handle: 1,
        };
        let conn = conn::StorageConn::open(Arc::new(Driver::new(dirs, true)), listener);
        let implemented = rvirt_plugin_api::sdk::implemented_procedures(
            REMOTE_PROGRAM_NUMBER,
            |prog, n, args| conn.call(prog, n, args),
        );
        assert_eq!(rvirt_plugin_api::sdk::sorted(conn::PROCEDURES), implemented);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
