//! Managed save: a save image the driver keeps for a persistent domain (libvirt's
//! `/var/lib/libvirt/qemu/save/NAME.save`; here `save/NAME.save` under the driver's
//! state directory). Starting the domain (and autostart) restores it and removes it;
//! `--force-boot` discards it; undefine refuses it unless asked to remove it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rvirt_plugin_api::protocol::RemoteNonnullDomain;

use super::image::ImageError;
use super::{check_save_flags, After, SaveError, BYPASS_CACHE, PAUSED, RUNNING};
use crate::config::Config;
use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};
use crate::events::ev;

use rvirt_plugin_api::protocol::facts::domain_undefine::MANAGED_SAVE as UNDEFINE_MANAGED_SAVE;

/// The managed save image of domain `name`.
pub fn path(cfg: &Config, name: &str) -> PathBuf {
    cfg.state_dir.join("save").join(format!("{name}.save"))
}

/// The domain's name, refusing transient domains as libvirt does.
fn persistent_name(drv: &Driver, dom: &RemoteNonnullDomain) -> QResult<String> {
    drv.read(|s| {
        let d = s.find(dom)?;
        if !d.persistent {
            return Err(
                QemuError::Invalid("cannot do managed save for transient domain".into()).into(),
            );
        }
        Ok(d.def.name.clone())
    })
}

fn set_flag(drv: &Driver, dom: &RemoteNonnullDomain, on: bool) {
    let _ = drv.write(|s, _| {
        s.find_mut(dom)?.managed_save = on;
        Ok(())
    });
}

/// `virDomainManagedSave`.
pub fn save(drv: &Arc<Driver>, dom: &RemoteNonnullDomain, flags: u32) -> QResult<()> {
    check_save_flags(
        flags,
        BYPASS_CACHE | RUNNING | PAUSED,
        "qemuDomainManagedSave",
    )?;
    let name = persistent_name(drv, dom)?;
    drv.read(|s| {
        s.find(dom)?
            .run
            .as_ref()
            .map(|_| ())
            .ok_or(QemuError::NotRunning.into())
    })?;
    let file = path(&drv.cfg, &name);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| QemuError::io(format!("cannot create {}", dir.display()), &e))?;
    }
    super::save_to(drv, dom, &file, None, flags)?;
    set_flag(drv, dom, true);
    Ok(())
}

/// Whether the domain has a managed save image.
pub fn has(drv: &Driver, dom: &RemoteNonnullDomain) -> QResult<bool> {
    drv.read(|s| Ok(s.find(dom)?.managed_save))
}

/// `virDomainManagedSaveRemove`: a missing image is an error, as libvirt's unlink.
pub fn remove(drv: &Driver, dom: &RemoteNonnullDomain, flags: u32) -> QResult<()> {
    check_flags(flags, 0, "qemuDomainManagedSaveRemove")?;
    let name = drv.read(|s| Ok(s.find(dom)?.def.name.clone()))?;
    let file = path(&drv.cfg, &name);
    std::fs::remove_file(&file).map_err(|e| {
        QemuError::io(
            format!("Failed to remove managed save file '{}'", file.display()),
            &e,
        )
    })?;
    set_flag(drv, dom, false);
    Ok(())
}

/// The managed save image, refusing a domain without one.
fn existing(drv: &Driver, dom: &RemoteNonnullDomain) -> QResult<PathBuf> {
    let (name, has) = drv.read(|s| {
        let d = s.find(dom)?;
        Ok((d.def.name.clone(), d.managed_save))
    })?;
    if !has {
        return Err(QemuError::Invalid("domain does not have managed save image".into()).into());
    }
    Ok(path(&drv.cfg, &name))
}

/// `virDomainManagedSaveGetXMLDesc`.
pub fn xml(drv: &Driver, dom: &RemoteNonnullDomain, flags: u32) -> QResult<String> {
    let file = existing(drv, dom)?;
    super::image_xml(drv, &file, flags)
}

/// `virDomainManagedSaveDefineXML`.
pub fn define_xml(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    dxml: Option<&str>,
    flags: u32,
) -> QResult<()> {
    let file = existing(drv, dom)?;
    super::define_image_xml(drv, &file, dxml, flags)
}

/// Starts domain `uuid`: from its managed save image when it has one (removed once
/// restored; discarded with `force_boot`), else a fresh boot.
pub fn start(
    drv: &Arc<Driver>,
    uuid: [u8; 16],
    paused: bool,
    force_boot: bool,
    bypass_cache: bool,
) -> QResult<RemoteNonnullDomain> {
    let (name, has) = drv.read(|s| {
        let d = s
            .doms
            .iter()
            .find(|d| d.def.uuid.0 == uuid)
            .ok_or(QemuError::Invalid("domain vanished".into()))?;
        Ok((d.def.name.clone(), d.managed_save))
    })?;
    let file = path(&drv.cfg, &name);
    if has && !force_boot {
        if let Some(dom) = restore(drv, uuid, &file, paused, bypass_cache)? {
            forget(drv, uuid, &file);
            return Ok(dom);
        }
    }
    if has {
        forget(drv, uuid, &file);
    }
    crate::lifecycle::start(drv, uuid, paused)
}

/// Restores domain `uuid` from its managed save image `file`; `None` when the image is
/// truncated or unfinished (libvirt then removes it and boots the domain).
fn restore(
    drv: &Arc<Driver>,
    uuid: [u8; 16],
    file: &Path,
    paused: bool,
    bypass_cache: bool,
) -> QResult<Option<RemoteNonnullDomain>> {
    let (img, f) = match super::image::Image::open(file, false) {
        Ok(opened) => opened,
        Err(ImageError::Short | ImageError::Incomplete | ImageError::Magic) => {
            tracing::warn!("removing corrupt managed save image {}", file.display());
            return Ok(None);
        }
        Err(e) => return Err(SaveError::from(e).into()),
    };
    let def = super::image_def(drv, &img)?;
    let after = match (paused, img.header.was_running) {
        (true, _) => After::Pause(ev::SUSPENDED_PAUSED),
        (false, running) => After::of(0, running),
    };
    let flags = if bypass_cache { BYPASS_CACHE } else { 0 };
    super::restore_into(drv, uuid, def, f, after, flags).map(Some)
}

/// Removes the managed save image `file` of domain `uuid`.
fn forget(drv: &Driver, uuid: [u8; 16], file: &Path) {
    let _ = std::fs::remove_file(file);
    let _ = drv.write(|s, _| {
        if let Some(d) = s.doms.iter_mut().find(|d| d.def.uuid.0 == uuid) {
            d.managed_save = false;
        }
        Ok(())
    });
}

/// Undefine: refused while a managed save image exists, unless the flag removes it.
/// Undefine's check of the managed save image: refused while one exists unless
/// `MANAGED_SAVE` is given; answers the image to remove once every check has passed.
pub fn undefine_check(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    flags: u32,
) -> QResult<Option<PathBuf>> {
    let (name, has) = drv.read(|s| {
        let d = s.find(dom)?;
        Ok((d.def.name.clone(), d.managed_save))
    })?;
    if !has {
        return Ok(None);
    }
    if flags & UNDEFINE_MANAGED_SAVE == 0 {
        return Err(QemuError::Invalid(
            "Refusing to undefine while domain managed save image exists".into(),
        )
        .into());
    }
    Ok(Some(path(&drv.cfg, &name)))
}

/// Removes a managed save image [`undefine_check`] answered.
pub fn remove_image(file: &Path) -> QResult<()> {
    std::fs::remove_file(file).map_err(|e| {
        QemuError::io(
            format!(
                "Failed to remove domain managed save image '{}'",
                file.display()
            ),
            &e,
        )
        .into()
    })
}
