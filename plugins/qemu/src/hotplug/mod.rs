//! Device hotplug: `virDomainAttachDevice(Flags)`, `DetachDevice(Flags)`,
//! `DetachDeviceAlias` and `UpdateDeviceFlags` with libvirt's `--live` / `--config` /
//! current semantics.
//!
//! As libvirt: the persistent change is made on a copy first (so its errors come before
//! anything happens to the guest), then the live change, then the copy is stored. A live
//! attach builds the device's QEMU arguments with the start path's own builders and
//! sends them as `blockdev-add` / `netdev_add` / `object-add` and `device_add`; the
//! device gets its PCI or USB address from the post-parse step and the alias libvirt
//! gives it, and DEVICE_ADDED is sent. A live detach sends `device_del` and waits up to
//! five seconds for QEMU's DEVICE_DELETED; without it (a guest that does not answer the
//! unplug request) the call succeeds with the removal pending, and the device goes, with
//! its backends and DEVICE_REMOVED, whenever QEMU reports it ([`removed`]).

mod config;
mod live;
mod parse;
mod qmpargs;
pub mod vcpus;

pub use live::removed;

use rvirt_plugin_api::protocol::{RemoteError, RemoteNonnullDomain};
use rvirt_plugin_api::sdk::{code, domain};
use rvirt_xml::domain::DomainDef;

use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};
use crate::tuning::{impact, persistent_def, selected_def, AFFECT_CONFIG, AFFECT_LIVE};

/// `VIR_DOMAIN_DEVICE_MODIFY_FORCE`: an update may force the tray open.
pub const FORCE: u32 = rvirt_plugin_api::protocol::facts::domain_device_modify::FORCE;

/// Why a device change is refused, with libvirt's texts.
#[derive(Debug, thiserror::Error)]
pub enum HotplugError {
    #[error("device not found: {0}")]
    Missing(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("Operation not supported: {0}")]
    Unsupported(String),
    #[error("Requested operation is not valid: {0}")]
    Invalid(String),
    #[error("operation failed: {0}")]
    Failed(String),
    #[error("invalid argument: {0}")]
    InvalidArg(String),
    #[error("unsupported configuration: {0}")]
    Config(String),
    #[error("XML error: unknown device type '{0}'")]
    UnknownDevice(String),
    #[error("XML error: {0}")]
    Xml(String),
    #[error("{0}")]
    Parse(#[from] rvirt_xml::XmlError),
}

impl From<HotplugError> for RemoteError {
    fn from(e: HotplugError) -> RemoteError {
        let (c, d) = match &e {
            HotplugError::Missing(_) => (code::DEVICE_MISSING, domain::QEMU),
            HotplugError::Internal(_) => (code::INTERNAL_ERROR, domain::QEMU),
            HotplugError::Unsupported(_) => (code::OPERATION_UNSUPPORTED, domain::QEMU),
            HotplugError::Invalid(_) => (code::OPERATION_INVALID, domain::QEMU),
            HotplugError::Failed(_) => (code::OPERATION_FAILED, domain::QEMU),
            HotplugError::InvalidArg(_) => (code::INVALID_ARG, domain::QEMU),
            HotplugError::Config(_) => (code::CONFIG_UNSUPPORTED, domain::QEMU),
            HotplugError::UnknownDevice(_) | HotplugError::Xml(_) => {
                (code::XML_ERROR, domain::DOMAIN)
            }
            HotplugError::Parse(x) => (x.code(), x.error_domain(domain::DOMAIN)),
        };
        RemoteError::reported(c, d, e.to_string())
    }
}

/// What the call changes: (live, config), and the guest's OS type for parsing.
fn scope(drv: &Driver, r: &RemoteNonnullDomain, flags: u32) -> QResult<(bool, bool, String)> {
    drv.read(|s| {
        let d = s.find(r)?;
        let (live, config) = impact(d, flags)?;
        Ok((live, config, d.def.os_type.to_string()))
    })
}

/// The persistent definition (the one for the next start while running), copied.
fn config_copy(drv: &Driver, r: &RemoteNonnullDomain) -> QResult<DomainDef> {
    drv.read(|s| Ok(selected_def(s.find(r)?, false).clone()))
}

/// Stores a changed persistent definition.
fn commit_config(drv: &Driver, r: &RemoteNonnullDomain, def: DomainDef) -> QResult<()> {
    drv.write(|s, _| {
        let d = s.find_mut(r)?;
        let slot = persistent_def(d);
        *slot = def;
        drv.save_config(slot)
    })
}

/// `virDomainAttachDeviceFlags` (`AttachDevice` is this with `AFFECT_LIVE`).
pub fn attach(drv: &Driver, r: &RemoteNonnullDomain, xml: &str, flags: u32) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG,
        "qemuDomainAttachDeviceFlags",
    )?;
    let (live, config, os_type) = scope(drv, r, flags)?;
    let parsed = parse::device(xml, &os_type)?;
    let new_config = if config {
        Some(config::attach(drv, config_copy(drv, r)?, xml, &parsed)?)
    } else {
        None
    };
    if live {
        live::attach(drv, r, &parsed)?;
    }
    match new_config {
        Some(def) => commit_config(drv, r, def),
        None => Ok(()),
    }
}

/// `virDomainDetachDeviceFlags` (`DetachDevice` is this with `AFFECT_LIVE`).
pub fn detach(drv: &Driver, r: &RemoteNonnullDomain, xml: &str, flags: u32) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG,
        "qemuDomainDetachDeviceFlags",
    )?;
    let (live, config, os_type) = scope(drv, r, flags)?;
    let parsed = parse::device(xml, &os_type)?;
    let new_config = if config {
        let mut def = config_copy(drv, r)?;
        let i = parse::find(&def, &parsed, true)?;
        config::check_detach(&def, i)?;
        def.devices.remove(i);
        Some(def)
    } else {
        None
    };
    if live {
        let i = drv.read(|s| {
            let d = s.find(r)?;
            let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
            Ok(parse::find(&run.live, &parsed, false)?)
        })?;
        live::detach(drv, r, i)?;
    }
    match new_config {
        Some(def) => commit_config(drv, r, def),
        None => Ok(()),
    }
}

/// `virDomainDetachDeviceAlias`.
pub fn detach_alias(drv: &Driver, r: &RemoteNonnullDomain, alias: &str, flags: u32) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG,
        "qemuDomainDetachDeviceAlias",
    )?;
    let (live, config, _) = scope(drv, r, flags)?;
    let not_found = || HotplugError::Internal(format!("no device found with alias {alias}"));
    let new_config = if config {
        let mut def = config_copy(drv, r)?;
        let i = parse::find_alias(&def, alias).map_err(|_| not_found())?;
        config::check_detach(&def, i)?;
        def.devices.remove(i);
        Some(def)
    } else {
        None
    };
    if live {
        let i = drv.read(|s| {
            let d = s.find(r)?;
            let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
            Ok(parse::find_alias(&run.live, alias).map_err(|_| not_found())?)
        })?;
        live::detach(drv, r, i)?;
    }
    match new_config {
        Some(def) => commit_config(drv, r, def),
        None => Ok(()),
    }
}

/// `virDomainUpdateDeviceFlags`: a cdrom or floppy's medium (changed, inserted or
/// ejected), live and in the persistent definition.
pub fn update(drv: &Driver, r: &RemoteNonnullDomain, xml: &str, flags: u32) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG | FORCE,
        "qemuDomainUpdateDeviceFlags",
    )?;
    let (live, config, os_type) = scope(drv, r, flags & !FORCE)?;
    let parsed = parse::device(xml, &os_type)?;
    let new_config = if config {
        Some(config::update(config_copy(drv, r)?, &parsed)?)
    } else {
        None
    };
    if live {
        live::update(drv, r, &parsed, flags & FORCE != 0)?;
    }
    match new_config {
        Some(def) => commit_config(drv, r, def),
        None => Ok(()),
    }
}
