//! Persistent-definition changes (`--config`): made on a copy, then read back through the
//! parser and the post-parse step, as libvirt runs its post-parse after a config attach
//! (implicit controllers, drive and PCI addresses for the new device).

use rvirt_xml::domain::{Device, DomainDef};

use super::parse::{self, Parsed};
use super::HotplugError;
use crate::driver::Driver;

/// Whether `--config` can take a device of this kind (libvirt's persistent attach list).
fn config_kind(d: &Device) -> bool {
    match d {
        Device::Disk(_)
        | Device::Controller(_)
        | Device::Interface(_)
        | Device::Chr(_)
        | Device::Input(_)
        | Device::Watchdog(_)
        | Device::Rng(_) => true,
        Device::Generic(g) => matches!(
            g.element.name.as_str(),
            "sound" | "hostdev" | "filesystem" | "redirdev" | "shmem" | "vsock" | "memory"
        ),
        _ => false,
    }
}

/// The persistent definition `def` with the device of `parsed` attached.
pub fn attach(
    drv: &Driver,
    mut def: DomainDef,
    _xml: &str,
    parsed: &Parsed,
) -> Result<DomainDef, HotplugError> {
    let mut dev = parsed.device.clone();
    if !config_kind(&dev) {
        return Err(HotplugError::Unsupported(format!(
            "persistent attach of device '{}' is not supported",
            parse::kind_name(&dev)
        )));
    }
    match &mut dev {
        Device::Disk(k) if def.disks().any(|x| x.target_dev == k.target_dev) => {
            return Err(HotplugError::Invalid(format!(
                "target {} already exists",
                k.target_dev
            )));
        }
        Device::Controller(k) => {
            if !parsed.index_given {
                k.index = parse::unused_controller_index(&def, &k.controller_type);
            }
            let taken = def.devices.iter().any(|d| {
                matches!(d, Device::Controller(x)
                    if x.controller_type == k.controller_type && x.index == k.index)
            });
            if taken {
                return Err(HotplugError::Invalid(format!(
                    "controller index='{}' already exists",
                    k.index
                )));
            }
        }
        _ => {}
    }
    parse::insert(&mut def, dev);
    reread(drv, &def)
}

/// The definition as the parser and post-parse step make it.
fn reread(drv: &Driver, def: &DomainDef) -> Result<DomainDef, HotplugError> {
    let mut again = DomainDef::parse(&def.to_xml(None))?;
    crate::domain::post_parse(drv, &mut again);
    Ok(again)
}

/// Refuses a persistent detach of a device kind `--config` does not take.
pub fn check_detach(def: &DomainDef, i: usize) -> Result<(), HotplugError> {
    if config_kind(&def.devices[i]) {
        return Ok(());
    }
    Err(HotplugError::Unsupported(format!(
        "persistent detach of device '{}' is not supported",
        parse::kind_name(&def.devices[i])
    )))
}

/// The persistent definition `def` with the disk of `parsed` in place of the one with
/// its target (its address kept unless the document gives one), as libvirt's config
/// update does.
pub fn update(mut def: DomainDef, parsed: &Parsed) -> Result<DomainDef, HotplugError> {
    let Device::Disk(new) = &parsed.device else {
        return Err(HotplugError::Unsupported(format!(
            "persistent update of device '{}' is not supported",
            parse::kind_name(&parsed.device)
        )));
    };
    let at = def
        .devices
        .iter()
        .position(|d| matches!(d, Device::Disk(x) if x.target_dev == new.target_dev))
        .ok_or_else(|| {
            HotplugError::InvalidArg(format!("target {} doesn't exist.", new.target_dev))
        })?;
    let mut new = new.clone();
    if let Device::Disk(old) = &def.devices[at] {
        if !parsed.address_given {
            new.info.address = old.info.address.clone();
        }
    }
    def.devices[at] = Device::Disk(new);
    Ok(def)
}
