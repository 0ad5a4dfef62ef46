//! rvirt's node device driver: the host's devices (PCI, network interfaces, disks,
//! SCSI, USB, DRM, the computer itself) for every hypervisor connection whose own module
//! has no node device driver (`qemu:///system`, ...; the test driver keeps its own).
//!
//! A secondary driver (it serves no URI scheme of its own) with a state driver. Devices
//! are read from sysfs, with udev's database on top when udevd keeps one, and formatted
//! by rvirt-xml exactly as libvirt's node-device driver writes them; a kernel uevent
//! listener follows devices that come and go and sends NODE_DEVICE lifecycle events.
//! See docs/nodedev.md.

// `RemoteError` is the SDK's fixed error type; its size is not this crate's choice.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, OnceLock};

use rvirt_plugin_api::protocol::{DriverKind, RemoteError, REMOTE_PROGRAM_NUMBER};
use rvirt_plugin_api::sdk::{
    ConnContext, DriverSpec, InitContext, InitStatus, Module, ModuleInfo, OpenOutcome,
};

pub mod assign;
pub mod block;
pub mod conn;
pub mod devices;
pub mod error;
pub mod ethtool;
pub mod hostuse;
pub mod pci;
pub mod pciids;
pub mod state;
pub mod sysfs;
pub mod uevent;

use state::{Driver, Listener};

/// The module root.
#[derive(Debug, Default)]
pub struct NodeDevModule {
    driver: OnceLock<Arc<Driver>>,
}

impl NodeDevModule {
    pub fn new() -> NodeDevModule {
        NodeDevModule::default()
    }

    /// The driver, enumerating the host and starting the uevent listener on first use.
    fn driver(&self) -> Arc<Driver> {
        self.driver
            .get_or_init(|| {
                let d = Arc::new(Driver::new(sysfs::Roots::host()));
                uevent::start(&d);
                d
            })
            .clone()
    }
}

impl Module for NodeDevModule {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "nodedev".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            has_state_driver: true,
            drivers: vec![DriverSpec {
                kind: DriverKind::NodeDevice,
                name: "nodedev".into(),
                uri_schemes: Vec::new(),
                procedures: vec![(REMOTE_PROGRAM_NUMBER, conn::PROCEDURES.to_vec())],
            }],
            features: Vec::new(),
        }
    }

    fn initialize(&self, _ctx: &InitContext) -> Result<InitStatus, RemoteError> {
        self.driver();
        Ok(InitStatus::Complete)
    }

    fn open(&self, ctx: ConnContext, uri: &str, _flags: u32) -> Result<OpenOutcome, RemoteError> {
        // The test driver's fake host keeps its own devices.
        if ctx.driver != 0 || uri.starts_with("test:") {
            return Ok(OpenOutcome::Declined);
        }
        let listener = Listener {
            driver: ctx.driver,
            handle: ctx.handle,
        };
        Ok(OpenOutcome::Opened(Arc::new(conn::NodeDevConn::open(
            self.driver(),
            listener,
        ))))
    }
}

rvirt_plugin_api::export_module!(NodeDevModule::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_a_secondary_node_device_driver() {
        let info = NodeDevModule::new().info();
        assert_eq!(info.name, "nodedev");
        let d = &info.drivers[0];
        assert_eq!(d.kind, DriverKind::NodeDevice);
        assert!(d.uri_schemes.is_empty());
    }

    /// The procedure list is exactly what the handler implements: every REMOTE
    /// procedure is called with default arguments, and whatever does not answer the
    /// trait's "not supported" is implemented.
    #[test]
    fn declared_procedures_are_the_implemented_ones() {
        use rvirt_plugin_api::sdk::Connection;
        let listener = Listener {
            driver: 0,
            handle: 1,
        };
        let drv = Arc::new(Driver::new(sysfs::Roots::host()));
        let conn = conn::NodeDevConn::open(drv, listener);
        let implemented = rvirt_plugin_api::sdk::implemented_procedures(
            REMOTE_PROGRAM_NUMBER,
            |prog, n, args| conn.call(prog, n, args),
        );
        assert_eq!(rvirt_plugin_api::sdk::sorted(conn::PROCEDURES), implemented);
    }
}
