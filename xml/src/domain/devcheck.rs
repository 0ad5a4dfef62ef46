//! The device checks libvirt's generic parser makes after the implicit devices are in:
//! USB devices need USB, inputs need a guest type that has them, `sgio='unfiltered'` is
//! gone, and memory devices fit the guest.

use super::devices::Device;
use crate::XmlError;

fn unsupported(msg: &str) -> XmlError {
    XmlError::ConfigUnsupported(msg.to_string())
}

/// Two disks on one target, in libvirt's words.
fn duplicate_targets(devs: &[Device]) -> Result<(), XmlError> {
    let disks: Vec<&super::disk::Disk> = devs
        .iter()
        .filter_map(|d| match d {
            Device::Disk(k) => Some(k),
            _ => None,
        })
        .collect();
    let src = |k: &super::disk::Disk| k.source.clone().unwrap_or_else(|| "<null>".into());
    let mut seen: std::collections::HashMap<&str, &super::disk::Disk> = Default::default();
    for a in disks {
        if let Some(b) = seen.insert(a.target_dev.as_str(), a) {
            return Err(XmlError::Message(format!(
                "target '{}' duplicated for disk sources '{}' and '{}'",
                a.target_dev,
                src(b),
                src(a)
            )));
        }
    }
    Ok(())
}

/// Refuses what libvirt refuses in `devs` of a guest of `os_type`.
pub(super) fn check(devs: &[Device], os_type: &str, default_usb: bool) -> Result<(), XmlError> {
    duplicate_targets(devs)?;
    let usb: Vec<_> = devs
        .iter()
        .filter_map(|d| match d {
            Device::Controller(c) if c.controller_type == "usb" => Some(c.model.as_deref()),
            _ => None,
        })
        .collect();
    let usb_off = usb.contains(&Some("none"));
    let mut panics: Vec<&str> = Vec::new();
    let has_usb = usb.iter().any(|m| *m != Some("none")) || (default_usb && !usb_off);
    for d in devs {
        if let Device::Disk(k) = d {
            super::disk::iotune_conflicts(k)?;
        }
        match d {
            Device::Disk(k) if k.sgio.as_deref() == Some("unfiltered") => {
                return Err(unsupported("unfiltered sgio is no longer supported"));
            }
            Device::Disk(k) if k.encryption_cipher => {
                return Err(unsupported(
                    "supplying <cipher> for domain disk definition is unnecessary",
                ));
            }
            Device::Disk(k)
                if k.device == "lun" && !matches!(k.disk_type.as_str(), "block" | "network") =>
            {
                return Err(unsupported(
                    "disk device='lun' is only valid for block type disk source",
                ));
            }
            Device::Input(i) => input(i, os_type, usb_off)?,
            Device::Chr(c) => chardev(c)?,
            Device::Disk(k) if k.removable.is_some() && k.target_bus != "usb" => {
                return Err(XmlError::Message(
                    "removable is only valid for usb disks".into(),
                ));
            }
            Device::Interface(n)
                if n.target_managed.as_deref() == Some("no") && n.iface_type != "ethernet" =>
            {
                return Err(XmlError::ConfigUnsupported(format!(
                    "unmanaged target dev is not supported on interfaces of type '{}'",
                    n.iface_type
                )));
            }
            Device::Video(v)
                if v.driver_name.as_deref() == Some("vhostuser") && v.model != "virtio" =>
            {
                return Err(unsupported(
                    "'vhostuser' driver is only supported with 'virtio' device",
                ));
            }
            Device::Generic(g) if g.element.name == "panic" => {
                let m = g.attr("model").unwrap_or_default();
                if panics.contains(&m) {
                    return Err(XmlError::Message(format!(
                        "Multiple panic devices with model '{m}'"
                    )));
                }
                panics.push(m);
            }
            Device::Generic(g) if g.element.name == "iommu" => iommu(g)?,
            Device::Generic(g)
                if g.element.name == "audio"
                    && g.element.children.iter().any(|c| {
                        c.children.iter().any(|s| s.name == "settings")
                            && c.attr("fixedSettings") != Some("yes")
                    }) =>
            {
                return Err(unsupported(
                    "audio settings specified without fixed settings flag",
                ));
            }
            Device::Generic(g)
                if g.element.name == "hostdev" && g.attr("sgio") == Some("unfiltered") =>
            {
                return Err(unsupported("unfiltered sgio is no longer supported"));
            }
            Device::Generic(g) => usb_device(g, has_usb, usb_off)?,
            _ => {}
        }
    }
    Ok(())
}

/// Extended interrupt mode needs interrupt remapping.
fn iommu(g: &super::GenericDevice) -> Result<(), XmlError> {
    let driver = g.element.children.iter().find(|c| c.name == "driver");
    let on = |a: &str| driver.and_then(|d| d.attr(a)) == Some("on");
    if on("eim") && !on("intremap") {
        return Err(unsupported(
            "IOMMU eim requires interrupt remapping to be enabled",
        ));
    }
    Ok(())
}

/// Redirected USB devices need USB; a USB hub needs USB not to be off.
fn usb_device(g: &super::GenericDevice, has_usb: bool, usb_off: bool) -> Result<(), XmlError> {
    match g.element.name.as_str() {
        "redirdev" if g.attr("bus") == Some("usb") && !has_usb => {
            return Err(unsupported(
                "cannot add redirected USB device: USB is disabled for this domain",
            ));
        }
        "hub" if g.attr("type") == Some("usb") && usb_off => {
            return Err(unsupported(
                "Can't add USB hub: USB is disabled for this domain",
            ));
        }
        _ => {}
    }
    Ok(())
}

fn chardev(c: &super::chardev::CharDev) -> Result<(), XmlError> {
    use super::chardev::ChrKind;
    if c.source_type == "spicevmc" && c.kind != ChrKind::Channel {
        return Err(unsupported("spicevmc device type only supports virtio"));
    }
    let reconnect = c.source_seclabels.iter().any(|x| x.name == "reconnect");
    if reconnect && c.source_mode.as_deref() == Some("bind") {
        return Err(XmlError::Internal(
            "chardev reconnect is possible only for connect mode".into(),
        ));
    }
    Ok(())
}

fn input(i: &super::misc::Input, os_type: &str, usb_off: bool) -> Result<(), XmlError> {
    let bus = i.bus.as_deref().unwrap_or_default();
    match os_type {
        "hvm" if bus == "usb" && usb_off => Err(unsupported(
            "Can't add USB input device. USB bus is disabled",
        )),
        "hvm" => Ok(()),
        "xen" if bus == "ps2" => Err(XmlError::Internal("unsupported input bus ps2".into())),
        "xen" if bus == "xen" && i.input_type == "tablet" => Err(XmlError::Internal(
            "xen bus does not support tablet input device".into(),
        )),
        "xen" => Ok(()),
        _ => Err(XmlError::Internal(
            "Input devices are not supported by this virtualization driver.".into(),
        )),
    }
}

/// libvirt's checks of `<memory>` devices against the guest: their total fits in the
/// guest's memory, and a device on a NUMA node needs NUMA nodes.
pub(super) fn memory_devices(
    devs: &[Device],
    memory_kib: u64,
    has_numa: bool,
) -> Result<(), XmlError> {
    let mut total: u64 = 0;
    let mut on_node = false;
    for d in devs {
        let Device::Generic(g) = d else { continue };
        if g.element.name != "memory" {
            continue;
        }
        let Some(t) = g.element.children.iter().find(|c| c.name == "target") else {
            continue;
        };
        if let Some(s) = t.children.iter().find(|c| c.name == "size") {
            let kib =
                crate::units::to_kib("domain/devices/memory/target/size", &s.text, s.attr("unit"))?;
            total = total.saturating_add(kib);
        }
        on_node |= t.children.iter().any(|c| c.name == "node");
    }
    if total > memory_kib {
        return Err(XmlError::Message(
            "Total size of memory devices exceeds the total memory size".into(),
        ));
    }
    // Devices taking all of `<memory>` leave the guest's initial memory at zero.
    if total > 0 && total == memory_kib {
        return Err(XmlError::NoMemory);
    }
    if on_node && !has_numa {
        return Err(XmlError::Detail(
            "can't add memory backend as guest has no NUMA nodes configured".into(),
        ));
    }
    Ok(())
}

/// libvirt's wording for a bad enumerated device value it checks after parsing (as an
/// unsupported configuration) rather than while reading the attribute; other errors
/// are returned unchanged.
pub(super) fn reword(e: XmlError) -> XmlError {
    let XmlError::BadAttribute {
        attr,
        element,
        value,
    } = &e
    else {
        return e;
    };
    let msg = match (element.as_str(), attr.as_str()) {
        ("controller", "model") => format!("Unknown model type '{value}'"),
        ("serial" | "parallel" | "console" | "channel", "type") => {
            format!("unknown type presented to host for character device: {value}")
        }
        ("input", "bus") => format!("unknown input bus type '{value}'"),
        ("model", "type") => format!("unknown video model '{value}'"),
        ("watchdog", "action") => format!("unknown watchdog action '{value}'"),
        ("watchdog", "model") => format!("unknown watchdog model '{value}'"),
        ("panic", "model") => format!("unknown panic model '{value}'"),
        _ => return e,
    };
    XmlError::ConfigUnsupported(msg)
}
