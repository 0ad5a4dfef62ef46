//! rvirt's Xen driver: `xen:///system` (libvirt's libxl driver's URI) and the conversion
//! between xl.cfg (`xen-xl`, `xen-xm`) and domain XML.
//!
//! rvirt has no libxenlight binding yet, so the state driver always reports Skipped
//! (with one log line saying why) and every domain call answers libvirt's
//! "libxenlight state driver is not active". What works without a Xen host is served:
//! the driver's type, hostname and version, and `virConnectDomainXMLFromNative` /
//! `virConnectDomainXMLToNative`. See docs/xen.md.

// `RemoteError` is the SDK's fixed error type; its size is not this crate's choice.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::Arc;

use rvirt_plugin_api::protocol::{DriverKind, RemoteError, REMOTE_PROGRAM_NUMBER};
use rvirt_plugin_api::sdk::{
    ConnContext, DriverSpec, InitContext, InitStatus, Module, ModuleInfo, OpenOutcome,
};

pub mod conn;
pub mod error;
pub mod from_xl;
pub mod to_xl;
pub mod xlcfg;
pub mod xlspec;

use error::XenError;

/// Where a Xen dom0 kernel reports the hypervisor's capabilities.
pub const XEN_CAPABILITIES: &str = "/proc/xen/capabilities";

/// The module root.
#[derive(Debug, Default)]
pub struct XenModule;

/// Why the state driver cannot be active on this host, as one log line.
pub fn inactive_reason(capabilities: &Path) -> String {
    if capabilities.exists() {
        "Xen host found, but rvirt has no libxenlight binding yet: the xen driver is not active"
            .into()
    } else {
        format!(
            "host is not running Xen ({} missing): the xen driver is not active",
            capabilities.display()
        )
    }
}

impl Module for XenModule {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "xen".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            has_state_driver: true,
            drivers: vec![DriverSpec {
                kind: DriverKind::Hypervisor,
                name: "Xen".into(),
                uri_schemes: vec!["xen".into()],
                procedures: vec![(REMOTE_PROGRAM_NUMBER, conn::procedures())],
            }],
            features: Vec::new(),
        }
    }

    fn initialize(&self, _ctx: &InitContext) -> Result<InitStatus, RemoteError> {
        tracing::info!("{}", inactive_reason(Path::new(XEN_CAPABILITIES)));
        Ok(InitStatus::Skipped)
    }

    fn open(&self, _ctx: ConnContext, uri: &str, _flags: u32) -> Result<OpenOutcome, RemoteError> {
        let Some(rest) = uri.strip_prefix("xen://") else {
            return Ok(OpenOutcome::Declined);
        };
        // Only the local, direct form reaches a module; the path decides.
        let path = rest.split('?').next().unwrap_or("");
        match path {
            "/" | "/system" | "/system/" => Ok(OpenOutcome::Opened(Arc::new(conn::XenConn))),
            other => Err(XenError::BadPath(other.to_string()).into()),
        }
    }
}

rvirt_plugin_api::export_module!(|| XenModule);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_the_xen_scheme() {
        let info = XenModule.info();
        assert_eq!(info.name, "xen");
        assert!(info.has_state_driver);
        assert_eq!(info.drivers[0].uri_schemes, vec!["xen".to_string()]);
        assert_eq!(info.drivers[0].kind, DriverKind::Hypervisor);
    }

    #[test]
    fn opens_only_the_system_uri() {
        let ctx = ConnContext {
            driver: 0,
            handle: 1,
            read_only: false,
            privileged: true,
        };
        assert!(matches!(
            XenModule.open(ctx, "xen:///system", 0),
            Ok(OpenOutcome::Opened(_))
        ));
        assert!(matches!(
            XenModule.open(ctx, "xen:///", 0),
            Ok(OpenOutcome::Opened(_))
        ));
        assert!(matches!(
            XenModule.open(ctx, "qemu:///system", 0),
            Ok(OpenOutcome::Declined)
        ));
        assert!(XenModule.open(ctx, "xen:///session", 0).is_err());
    }

    #[test]
    fn says_why_it_is_inactive() {
        let r = inactive_reason(Path::new("/nonexistent/xen/capabilities"));
        assert!(r.contains("not running Xen"), "{r}");
    }
}
