//! rvirt's QEMU driver: runs real `qemu-system-*` processes and talks QMP to them.
//!
//! URIs `qemu:///system` and `qemu:///session` share one driver state. Persistent domain
//! XML lives in the state directory, runtime status (pid, monitor socket, live XML) in the
//! run directory, so a restarted daemon finds running domains again.

// `RemoteError` is the SDK's fixed error type; its size is not this crate's choice.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, OnceLock};

use rvirt_plugin_api::protocol::{
    DriverKind, RemoteError, QEMU_PROGRAM_NUMBER, REMOTE_PROGRAM_NUMBER,
};
use rvirt_plugin_api::sdk::{
    ConnContext, DriverSpec, InitContext, InitStatus, Module, ModuleInfo, OpenOutcome,
    HOST_FEATURE_RESUMED,
};
use rvirt_xml::domain::DomainDef;

pub mod agent;
pub mod argv;
pub mod blockjob;
pub mod caps;
pub mod cgroup;
pub mod config;
pub mod console;
pub mod controllers;
pub mod devices;
pub mod disks;
pub mod domain;
pub mod domcaps;
pub mod driver;
pub mod error;
pub mod events;
pub mod firmware;
pub mod hostdev;
pub mod hotplug;
pub mod hypervisor;
pub mod lifecycle;
pub mod macvtap;
pub mod metadata;
pub mod misc_devices;
pub mod netplug;
pub mod postparse;
pub mod process;
pub mod qmp;
pub mod save;
pub mod scope;
pub mod screenshot;
pub mod snapshot;
pub mod sound;
pub mod spice;
pub mod stats;
pub mod status;
pub mod tapbw;
pub mod tpm;
pub mod tuning;
pub mod volumes;

use config::Config;
use driver::Driver;
use error::{check_flags, QemuError};

/// The module root.
#[derive(Debug, Default)]
pub struct QemuModule {
    driver: OnceLock<Arc<Driver>>,
}

impl QemuModule {
    pub fn new() -> QemuModule {
        QemuModule::default()
    }

    /// The driver; a module opened without initialize (embedded use) gets default settings.
    fn driver(&self) -> Result<Arc<Driver>, RemoteError> {
        if let Some(d) = self.driver.get() {
            return Ok(d.clone());
        }
        let cfg = Config::parse("", "").map_err(|e| QemuError::Internal(e.to_string()))?;
        Ok(self
            .driver
            .get_or_init(|| start_driver(cfg, false, true))
            .clone())
    }
}

/// Creates the driver: directories, persistent definitions, running domains, and (unless
/// the daemon resumes after an idle exit) autostart domains.
fn start_driver(cfg: Config, privileged: bool, autostart_now: bool) -> Arc<Driver> {
    if let Err(e) = cfg.create_dirs() {
        tracing::warn!("{e}");
    }
    let drv = Arc::new(Driver::new(cfg, privileged));
    drv.load_configs();
    lifecycle::reconnect(&drv);
    if autostart_now {
        autostart(&drv);
    }
    drv
}

/// Starts every inactive domain marked autostart.
fn autostart(drv: &Arc<Driver>) {
    let todo: Vec<[u8; 16]> = drv
        .lock()
        .doms
        .iter()
        .filter(|d| d.autostart && !d.is_active())
        .map(|d| d.def.uuid.0)
        .collect();
    for uuid in todo {
        if let Err(e) = save::managed::start(drv, uuid, false, false, false) {
            tracing::warn!("failed to autostart domain: {e}");
        }
    }
}

/// The `qemu-argv` native form of a definition.
pub fn native(drv: &Driver, def: &DomainDef) -> Result<String, RemoteError> {
    let rt = argv::Runtime {
        monitor: drv.cfg.monitor_path(&def.name),
        pidfile: drv.cfg.pid_file(&def.name),
        run_dir: drv.cfg.run_dir.clone(),
        vnc_port: Some(5900),
        spice_port: Some(5904),
    };
    let mut def = def.clone();
    domain::post_parse(drv, &mut def);
    postparse::check(&def)?;
    postparse::for_native(&mut def);
    firmware::fill(
        &mut def,
        &drv.cfg.nvram_dir(),
        &firmware::descriptors(firmware::DESCRIPTOR_DIRS),
    )
    .map_err(QemuError::from)?;
    let def = &volumes::resolve(drv.own_uri(), &def)?;
    let args = argv::build(def, &rt).map_err(|e| QemuError::Unsupported(e.to_string()))?;
    Ok(argv::to_native(
        argv::emulator(def, &drv.cfg.emulator),
        &args,
    ))
}

/// Whether `uri` is one this driver serves (`qemu:///system`, `qemu:///session`,
/// with any transport suffix already stripped by the host).
fn qemu_path(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    if scheme.split('+').next()? != "qemu" {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let path = match rest.strip_prefix("//") {
        Some(after) => after.find('/').map(|i| &after[i..]).unwrap_or(""),
        None => rest,
    };
    Some(path.to_string())
}

impl Module for QemuModule {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "qemu".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            has_state_driver: true,
            drivers: vec![DriverSpec {
                kind: DriverKind::Hypervisor,
                name: "QEMU".into(),
                uri_schemes: vec!["qemu".into()],
                procedures: vec![
                    (
                        REMOTE_PROGRAM_NUMBER,
                        [hypervisor::PROCEDURES, hypervisor::STREAM_OPENERS].concat(),
                    ),
                    (QEMU_PROGRAM_NUMBER, hypervisor::QEMU_PROCEDURES.to_vec()),
                    (
                        rvirt_plugin_api::sdk::STREAM_PROGRAM,
                        rvirt_plugin_api::sdk::STREAM_PROCEDURES.to_vec(),
                    ),
                ],
            }],
            features: Vec::new(),
        }
    }

    fn initialize(&self, ctx: &InitContext) -> Result<InitStatus, RemoteError> {
        let cfg = Config::parse(&ctx.config_toml, &ctx.state_dir)
            .map_err(|e| QemuError::Internal(e.to_string()))?;
        cfg.create_dirs()
            .map_err(|e| QemuError::Internal(e.to_string()))?;
        if self.driver.get().is_none() {
            let resumed = ctx.host_features.iter().any(|f| f == HOST_FEATURE_RESUMED);
            let _ = self.driver.set(start_driver(cfg, ctx.privileged, !resumed));
        }
        Ok(InitStatus::Complete)
    }

    fn shutdown_prepare(&self) -> Result<(), RemoteError> {
        // Running domains keep running; a restarted daemon reconnects to them.
        Ok(())
    }

    fn open(&self, ctx: ConnContext, uri: &str, flags: u32) -> Result<OpenOutcome, RemoteError> {
        if ctx.driver != 0 {
            return Ok(OpenOutcome::Declined);
        }
        let Some(path) = qemu_path(uri) else {
            return Ok(OpenOutcome::Declined);
        };
        check_flags(flags, 0x7, "qemuConnectOpen")?;
        if path != "/system" && path != "/session" {
            return Err(QemuError::Invalid(format!(
                "unexpected QEMU URI path '{path}', try qemu:///system or qemu:///session"
            ))
            .into());
        }
        let drv = self.driver()?;
        let listener = events::Listener {
            driver: ctx.driver,
            handle: ctx.handle,
        };
        Ok(OpenOutcome::Opened(Arc::new(hypervisor::QemuConn::open(
            drv, listener,
        ))))
    }
}

rvirt_plugin_api::export_module!(QemuModule::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_declares_both_programs() {
        let info = QemuModule::new().info();
        assert_eq!(info.name, "qemu");
        assert!(info.has_state_driver);
        let d = &info.drivers[0];
        assert_eq!(
            (d.kind, d.name.as_str(), d.uri_schemes.clone()),
            (DriverKind::Hypervisor, "QEMU", vec!["qemu".into()])
        );
        assert!(d
            .procedures
            .iter()
            .any(|(p, list)| *p == QEMU_PROGRAM_NUMBER && list.contains(&1)));
    }

    /// The procedure lists are exactly what the handler implements: every procedure of
    /// both programs is called with default arguments, and whatever does not answer
    /// the trait's "not supported" is implemented.
    #[test]
    fn declared_procedures_are_the_implemented_ones() {
        use rvirt_plugin_api::sdk::Connection;
        let dir = std::env::temp_dir().join(format!("rvirt-qemu-procs-{}", std::process::id()));
        let cfg = config::Config::parse("", dir.to_str().unwrap()).unwrap();
        cfg.create_dirs().unwrap();
        let drv = std::sync::Arc::new(driver::Driver::new(cfg, true));
        let conn = hypervisor::QemuConn::open(
            drv,
            events::Listener {
                driver: 0,
                handle: 1,
            },
        );
        for (program, declared) in [
            (REMOTE_PROGRAM_NUMBER, hypervisor::PROCEDURES),
            (QEMU_PROGRAM_NUMBER, hypervisor::QEMU_PROCEDURES),
        ] {
            let implemented =
                rvirt_plugin_api::sdk::implemented_procedures(program, |prog, n, args| {
                    conn.call(prog, n, args)
                });
            let declared = rvirt_plugin_api::sdk::sorted(declared);
            assert_eq!(declared, implemented, "program {program:#x}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn uri_paths() {
        assert_eq!(qemu_path("qemu:///system").as_deref(), Some("/system"));
        assert_eq!(
            qemu_path("qemu+unix:///session?socket=/x").as_deref(),
            Some("/session")
        );
        assert_eq!(qemu_path("test:///default"), None);
    }
}
