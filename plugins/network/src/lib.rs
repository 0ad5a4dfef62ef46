//! rvirt's network driver: virtual networks on Linux bridges, with a dnsmasq per network
//! for DHCP and DNS, nftables tables of our own (or libvirt's iptables chains) for NAT
//! and routing, and `tc` for `<bandwidth>`.
//!
//! A secondary driver: every hypervisor connection except `test:///` (whose driver keeps
//! its own networks) gets it. Persistent definitions live in the module's state
//! directory, the status of running networks (live XML and what their start created) in
//! its run directory, so a restarted daemon finds running networks again without
//! touching them. See docs/network.md.

// `RemoteError` is the SDK's fixed error type; its size is not this crate's choice.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, OnceLock};

use rvirt_plugin_api::protocol::{DriverKind, RemoteError, REMOTE_PROGRAM_NUMBER};
use rvirt_plugin_api::sdk::{
    ConnContext, DriverSpec, InitContext, InitStatus, Module, ModuleInfo, OpenOutcome,
    HOST_FEATURE_RESUMED,
};

pub mod bandwidth;
pub mod config;
pub mod conn;
pub mod dhcp;
pub mod dnsmasq;
pub mod error;
pub mod firewall;
pub mod floor;
pub mod host;
pub mod hostdev;
pub mod iptables;
pub mod leases;
pub mod lifecycle;
pub mod metadata;
pub mod portgroup;
pub mod ports;
pub mod state;
pub mod update;

use config::Config;
use error::NetError;
use state::{Driver, Listener};

/// The module root.
#[derive(Debug, Default)]
pub struct NetworkModule {
    driver: OnceLock<Arc<Driver>>,
}

impl NetworkModule {
    pub fn new() -> NetworkModule {
        NetworkModule::default()
    }

    /// The driver; a module opened without initialize (embedded use) gets default settings.
    fn driver(&self) -> Result<Arc<Driver>, RemoteError> {
        if let Some(d) = self.driver.get() {
            return Ok(d.clone());
        }
        let cfg = Config::parse("", "").map_err(|e| NetError::Internal(e.to_string()))?;
        Ok(self
            .driver
            .get_or_init(|| start_driver(cfg, false, true))
            .clone())
    }
}

/// Creates the driver: directories, persistent definitions, running networks, and
/// (unless the daemon resumes after an idle exit) autostart networks.
fn start_driver(cfg: Config, privileged: bool, autostart_now: bool) -> Arc<Driver> {
    if let Err(e) = cfg.create_dirs() {
        tracing::warn!("{e}");
    }
    let drv = Arc::new(Driver::new(cfg, privileged));
    drv.load();
    lifecycle::reconnect(&drv);
    if autostart_now {
        lifecycle::autostart(&drv);
    }
    drv
}

/// The URI scheme (without transport) of `uri`.
fn scheme(uri: &str) -> Option<&str> {
    uri.split_once(':')?.0.split('+').next()
}

impl Module for NetworkModule {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "network".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            has_state_driver: true,
            drivers: vec![DriverSpec {
                kind: DriverKind::Network,
                name: "bridge".into(),
                // Any hypervisor connection; `open` declines the test driver's.
                uri_schemes: Vec::new(),
                procedures: vec![(REMOTE_PROGRAM_NUMBER, conn::PROCEDURES.to_vec())],
            }],
            features: Vec::new(),
        }
    }

    fn initialize(&self, ctx: &InitContext) -> Result<InitStatus, RemoteError> {
        let cfg = Config::parse(&ctx.config_toml, &ctx.state_dir)
            .map_err(|e| NetError::Internal(e.to_string()))?;
        cfg.create_dirs()
            .map_err(|e| NetError::Internal(e.to_string()))?;
        if self.driver.get().is_none() {
            let resumed = ctx.host_features.iter().any(|f| f == HOST_FEATURE_RESUMED);
            let _ = self.driver.set(start_driver(cfg, ctx.privileged, !resumed));
        }
        Ok(InitStatus::Complete)
    }

    fn shutdown_prepare(&self) -> Result<(), RemoteError> {
        // Running networks keep running; a restarted daemon finds them again.
        Ok(())
    }

    fn open(&self, ctx: ConnContext, uri: &str, _flags: u32) -> Result<OpenOutcome, RemoteError> {
        if ctx.driver != 0 || matches!(scheme(uri), None | Some("test")) {
            return Ok(OpenOutcome::Declined);
        }
        // Networks change the host (bridges, firewall, dnsmasq as root): only root or
        // the daemon's own user gets them; others see no network driver at all.
        if !ctx.privileged {
            return Ok(OpenOutcome::Declined);
        }
        let listener = Listener {
            driver: ctx.driver,
            handle: ctx.handle,
        };
        Ok(OpenOutcome::Opened(Arc::new(conn::NetworkConn::open(
            self.driver()?,
            listener,
        ))))
    }
}

rvirt_plugin_api::export_module!(NetworkModule::new);

#[cfg(test)]
mod tests;
