//! The devices and defaults libvirt's generic domain parser adds whatever the driver:
//! the console paired with the first serial port (and the serial port a serial-type
//! console implies), drive addresses of IDE/SCSI/SATA/floppy disks, the controllers those
//! addresses and virtio consoles, channels and smartcards need, the video device graphics
//! need, and the primary video.

use super::chardev::{CharDev, ChrKind};
use super::devices::Device;
use super::disk::Controller;
use super::info::Address;
use super::misc::Video;
use crate::tree::Element;
use crate::XmlError;

/// Adds libvirt's implicit devices to `devs` and `ctrls`.
/// `os_type` is the `<os><type>`: the serial/console pairing is for HVM guests only, and
/// Xen and container guests default to a Xen video device.
pub(super) fn add(
    devs: &mut Vec<Device>,
    ctrls: &mut Vec<Controller>,
    os_type: &str,
) -> Result<(), XmlError> {
    if os_type == "hvm" {
        console_compat(devs);
    }
    drive_addresses(devs);
    controllers(devs, ctrls);
    video(devs, matches!(os_type, "xen" | "linux"))?;
    Ok(())
}

fn chrs(devs: &[Device], kind: ChrKind) -> impl Iterator<Item = (usize, &CharDev)> {
    devs.iter().enumerate().filter_map(move |(i, d)| match d {
        Device::Chr(c) if c.kind == kind => Some((i, c)),
        _ => None,
    })
}

/// The first serial port doubles as the first console, and a first console of target
/// type serial implies a serial port.
fn console_compat(devs: &mut Vec<Device>) {
    let serial = chrs(devs, ChrKind::Serial).next().map(|(_, c)| c.clone());
    let console = chrs(devs, ChrKind::Console)
        .next()
        .map(|(i, c)| (i, c.clone()));
    // Only a serial port of the default or ISA type doubles as the console.
    let serial = serial.filter(|s| matches!(s.target_type.as_deref(), None | Some("isa-serial")));
    match (serial, console) {
        (None, Some((i, c))) if c.target_type.as_deref() == Some("serial") => {
            if let Device::Chr(x) = &mut devs[i] {
                x.target_port = Some(0);
            }
            let mut s = c;
            s.kind = ChrKind::Serial;
            s.target_type = None;
            s.target_port = Some(0);
            s.info = Default::default();
            devs.push(Device::Chr(s));
        }
        (Some(s), Some((i, c))) if c.target_type.as_deref() == Some("serial") => {
            let mut x = as_console(s);
            x.info = c.info;
            devs[i] = Device::Chr(x);
        }
        (Some(s), other) => {
            let at = other.map_or(devs.len(), |(i, _)| i);
            devs.insert(at, Device::Chr(as_console(s)));
        }
        _ => {}
    }
}

fn as_console(s: CharDev) -> CharDev {
    let mut c = s;
    c.kind = ChrKind::Console;
    c.target_type = Some("serial".into());
    c.target_model = None;
    c.info = Default::default();
    c
}

/// A disk name's index: `hda` → 0, `sdc` → 2, `sdaa` → 26.
fn dev_index(dev: &str) -> Option<u32> {
    let letters = ["xvd", "hd", "sd", "vd", "fd", "ubd"]
        .iter()
        .find_map(|p| dev.strip_prefix(p))?;
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut n: u32 = 0;
    for b in letters.bytes() {
        n = n.checked_mul(26)?.checked_add(u32::from(b - b'a') + 1)?;
    }
    Some(n - 1)
}

/// libvirt's drive address for disk index `i` on `bus`.
fn drive_address(bus: &str, i: u32) -> Option<Address> {
    let (controller, bus, unit) = match bus {
        "ide" => (i / 4, (i % 4) / 2, i % 2),
        "scsi" => (i / 7, 0, i % 7),
        "sata" => (i / 6, 0, i % 6),
        "fdc" => (i / 2, 0, i % 2),
        _ => return None,
    };
    Some(Address::Drive {
        controller,
        bus,
        target: 0,
        unit,
    })
}

fn drive_addresses(devs: &mut [Device]) {
    let mut scsi_units: Vec<u32> = Vec::new();
    for d in devs.iter_mut() {
        if let Device::Disk(k) = d {
            if k.info.address.is_none() {
                k.info.address =
                    dev_index(&k.target_dev).and_then(|i| drive_address(&k.target_bus, i));
            }
            if let (
                Some(Address::Drive {
                    controller: 0,
                    unit,
                    ..
                }),
                "scsi",
            ) = (&k.info.address, k.target_bus.as_str())
            {
                scsi_units.push(*unit);
            }
        }
    }
    let mut slot = 0;
    for d in devs.iter_mut() {
        let Device::Generic(g) = d else { continue };
        if g.info.address.is_some() {
            continue;
        }
        match g.element.name.as_str() {
            "hostdev" if g.attr("type") == Some("scsi") => {
                let unit = (0..).find(|u| !scsi_units.contains(u)).unwrap_or(0);
                scsi_units.push(unit);
                g.info.address = Some(Address::Drive {
                    controller: 0,
                    bus: 0,
                    target: 0,
                    unit,
                });
            }
            "smartcard" => {
                g.info.address = Some(Address::Ccid {
                    controller: 0,
                    slot,
                });
                slot += 1;
            }
            _ => {}
        }
    }
}

/// The controllers devices need: per disk bus type the highest index addressed (every
/// index up to it is needed), and single (type, index) pairs.
type Needs = (Vec<(&'static str, u32)>, Vec<(&'static str, u32)>);

fn needed(devs: &[Device]) -> Needs {
    let mut exact: Vec<(&'static str, u32)> = Vec::new();
    let mut need: Vec<(&'static str, u32)> = Vec::new();
    let mut want = |kind: &'static str, idx: u32| match need.iter_mut().find(|x| x.0 == kind) {
        Some(x) => x.1 = x.1.max(idx),
        None => need.push((kind, idx)),
    };
    for kind in ["scsi", "fdc", "ide", "sata"] {
        for d in devs {
            let (bus, addr) = match d {
                Device::Disk(k) => (k.target_bus.as_str(), &k.info.address),
                Device::Generic(g) if g.element.name == "hostdev" => {
                    (g.attr("type").unwrap_or_default(), &g.info.address)
                }
                _ => continue,
            };
            if let (true, Some(Address::Drive { controller, .. })) = (bus == kind, addr) {
                want(kind, *controller);
            }
        }
    }
    for d in devs {
        match d {
            Device::Chr(c)
                if c.target_type.as_deref() == Some("virtio")
                    && matches!(c.kind, ChrKind::Channel | ChrKind::Console) =>
            {
                let idx = match c.info.address {
                    Some(Address::VirtioSerial { controller, .. }) => controller,
                    _ => 0,
                };
                exact.push(("virtio-serial", idx));
            }
            Device::Generic(g) if g.element.name == "smartcard" => exact.push(("ccid", 0)),
            _ => {}
        }
    }
    (need, exact)
}

/// Appends the controllers devices need and the document lacks.
fn controllers(devs: &[Device], ctrls: &mut Vec<Controller>) {
    let (ranges, exact) = needed(devs);
    let wanted = ranges
        .into_iter()
        .flat_map(|(kind, max)| (0..=max).map(move |i| (kind, i)))
        .chain(exact);
    for (kind, idx) in wanted {
        if !ctrls
            .iter()
            .any(|c| c.controller_type == kind && c.index == idx)
        {
            let mut c = Controller::new(kind, idx);
            c.implicit = true;
            ctrls.push(c);
        }
    }
}

/// Graphics need a video device; the first video device is the primary one.
fn video(devs: &mut Vec<Device>, xen: bool) -> Result<(), XmlError> {
    let has_graphics = devs.iter().any(|d| matches!(d, Device::Graphics(_)));
    let has_video = devs.iter().any(|d| matches!(d, Device::Video(_)));
    if has_graphics && !has_video {
        devs.push(Device::Video(Video::parse(&Element {
            name: "video".into(),
            ..Element::default()
        })?));
    }
    for d in devs.iter_mut() {
        if let Device::Video(v) = d {
            if xen && v.implicit_model {
                v.model = "xen".into();
                v.vram = Some(4096);
            }
        }
    }
    // An explicitly primary video goes first; otherwise the first one is primary.
    let first = devs.iter().position(|d| matches!(d, Device::Video(_)));
    let primary = devs
        .iter()
        .position(|d| matches!(d, Device::Video(v) if v.primary));
    if let (Some(f), Some(p)) = (first, primary) {
        if p != f {
            let d = devs.remove(p);
            devs.insert(f, d);
        }
    }
    if let Some(Device::Video(v)) = first.map(|f| &mut devs[f]) {
        if v.model != "none" {
            v.primary = true;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainDef;

    fn devices(devs: &str) -> String {
        let x = format!(
            "<domain type='test'><name>t</name><memory>131072</memory>\
             <os><type>hvm</type></os><devices>{devs}</devices></domain>"
        );
        let out = DomainDef::parse(&x).unwrap().to_xml(None);
        let a = out.find("<devices>").unwrap();
        let b = out.find("</devices>").unwrap();
        out[a + 10..b]
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("")
    }

    #[test]
    fn serial_gets_a_console() {
        assert_eq!(
            devices("<serial type='file'><source path='/x'/></serial>"),
            "<serial type='file'><source path='/x'/><target port='0'/></serial>\
             <console type='file'><source path='/x'/><target type='serial' port='0'/></console>"
        );
        assert_eq!(
            devices("<console type='pty'/>"),
            "<serial type='pty'><target port='0'/></serial>\
             <console type='pty'><target type='serial' port='0'/></console>"
        );
    }

    #[test]
    fn drive_addresses_and_controllers() {
        assert_eq!(
            devices(
                "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>\
                 <controller type='usb' index='0'/>\
                 <channel type='pty'><target type='virtio' name='a'/></channel>"
            ),
            "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/>\
             <address type='drive' controller='0' bus='1' target='0' unit='0'/></disk>\
             <controller type='usb' index='0'/><controller type='ide' index='0'/>\
             <controller type='virtio-serial' index='0'/>\
             <channel type='pty'><target type='virtio' name='a'/></channel>"
        );
    }

    #[test]
    fn graphics_get_a_primary_video() {
        assert_eq!(
            devices("<graphics type='dbus'/>"),
            "<graphics type='dbus'/><video>\
             <model type='cirrus' vram='16384' heads='1' primary='yes'/></video>"
        );
    }

    #[test]
    fn indexes_and_addresses() {
        assert_eq!(dev_index("hda"), Some(0));
        assert_eq!(dev_index("sdaa"), Some(26));
        assert_eq!(dev_index("vd"), None);
        assert_eq!(
            drive_address("ide", 2),
            Some(Address::Drive {
                controller: 0,
                bus: 1,
                target: 0,
                unit: 0
            })
        );
    }
}
