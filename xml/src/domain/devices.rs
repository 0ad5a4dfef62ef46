//! The `<devices>` section: the [`Device`] enum, its parse and its format in libvirt's
//! category order. The implicit devices libvirt's generic parser adds are in
//! [`super::implicit`].

use super::chardev::{CharDev, ChrKind};
use super::disk::{Controller, Disk};
use super::generic::{self, GenericDevice};
use super::info::DeviceInfo;
use super::interface::Interface;
use super::misc::{Graphics, Input, MemBalloon, Rng, Video, Watchdog};
use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::XmlError;

/// One device under `<devices>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// `<disk>`.
    Disk(Disk),
    /// `<controller>`.
    Controller(Controller),
    /// `<interface>`.
    Interface(Interface),
    /// `<serial>`, `<parallel>`, `<console>`, `<channel>`.
    Chr(CharDev),
    /// `<input>`.
    Input(Input),
    /// `<graphics>`.
    Graphics(Graphics),
    /// `<video>`.
    Video(Video),
    /// `<watchdog>`.
    Watchdog(Watchdog),
    /// `<memballoon>`.
    MemBalloon(MemBalloon),
    /// `<rng>`.
    Rng(Rng),
    /// A device described declaratively ([`generic::DEVICES`]): sound, hostdev, tpm, ...
    Generic(Box<GenericDevice>),
}

// Ranks in libvirt's `<devices>` output order.
pub(super) const RANK_LEASE: u8 = 2;
pub(super) const RANK_FILESYSTEM: u8 = 3;
pub(super) const RANK_SMARTCARD: u8 = 5;
pub(super) const RANK_TPM: u8 = 11;
pub(super) const RANK_SOUND: u8 = 13;
pub(super) const RANK_AUDIO: u8 = 14;
pub(super) const RANK_HOSTDEV: u8 = 16;
pub(super) const RANK_REDIRDEV: u8 = 17;
pub(super) const RANK_REDIRFILTER: u8 = 18;
pub(super) const RANK_HUB: u8 = 19;
pub(super) const RANK_NVRAM: u8 = 23;
pub(super) const RANK_PANIC: u8 = 24;
pub(super) const RANK_SHMEM: u8 = 25;
pub(super) const RANK_MEMORY: u8 = 26;
pub(super) const RANK_IOMMU: u8 = 27;
pub(super) const RANK_VSOCK: u8 = 28;

impl Device {
    /// Parses one device element on its own (no implicit devices are added), as a
    /// driver's post-parse step adds its defaults; `hvm` selects input defaults.
    pub fn from_xml(xml: &str, hvm: bool) -> Result<Device, XmlError> {
        let e = crate::tree::parse_document(xml)?;
        Ok(match e.name.as_str() {
            "disk" => Device::Disk(Disk::parse(&e)?),
            "controller" => Device::Controller(Controller::parse(&e, 0)?),
            "interface" => Device::Interface(Interface::parse(&e)?),
            "input" => Device::Input(Input::parse(&e, hvm)?),
            "video" => Device::Video(Video::parse(&e)?),
            "memballoon" => Device::MemBalloon(MemBalloon::parse(&e)?),
            name => match generic::lookup(name) {
                Some((spec, _)) => Device::Generic(Box::new(GenericDevice::parse(&e, spec)?)),
                None => return Err(XmlError::Internal(format!("unknown device <{name}>"))),
            },
        })
    }

    /// The boot order, alias and address of the device (graphics have none).
    pub fn info(&self) -> Option<&DeviceInfo> {
        Some(match self {
            Device::Disk(x) => &x.info,
            Device::Controller(x) => &x.info,
            Device::Interface(x) => &x.info,
            Device::Chr(x) => &x.info,
            Device::Input(x) => &x.info,
            Device::Video(x) => &x.info,
            Device::Watchdog(x) => &x.info,
            Device::MemBalloon(x) => &x.info,
            Device::Rng(x) => &x.info,
            Device::Generic(x) => &x.info,
            Device::Graphics(_) => return None,
        })
    }

    /// Mutable access to [`Device::info`].
    pub fn info_mut(&mut self) -> Option<&mut DeviceInfo> {
        Some(match self {
            Device::Disk(x) => &mut x.info,
            Device::Controller(x) => &mut x.info,
            Device::Interface(x) => &mut x.info,
            Device::Chr(x) => &mut x.info,
            Device::Input(x) => &mut x.info,
            Device::Video(x) => &mut x.info,
            Device::Watchdog(x) => &mut x.info,
            Device::MemBalloon(x) => &mut x.info,
            Device::Rng(x) => &mut x.info,
            Device::Generic(x) => &mut x.info,
            Device::Graphics(_) => return None,
        })
    }

    /// Rank in libvirt's `<devices>` output order.
    fn rank(&self) -> u8 {
        match self {
            Device::Disk(_) => 0,
            Device::Controller(_) => 1,
            Device::Interface(_) => 4,
            Device::Chr(c) => match c.kind {
                ChrKind::Serial => 6,
                ChrKind::Parallel => 7,
                ChrKind::Console => 8,
                ChrKind::Channel => 9,
            },
            Device::Input(_) => 10,
            Device::Graphics(_) => 12,
            Device::Video(_) => 15,
            Device::Watchdog(_) => 20,
            Device::MemBalloon(_) => 21,
            Device::Rng(_) => 22,
            Device::Generic(g) => generic::lookup(&g.element.name).map_or(u8::MAX, |x| x.1),
        }
    }

    fn write(&self, out: &mut Out, live: bool) {
        match self {
            Device::Disk(d) => d.write(out),
            Device::Controller(c) => c.write(out),
            Device::Interface(i) => i.write(out),
            Device::Chr(c) => c.write(out, live),
            Device::Input(i) => i.write(out),
            Device::Graphics(g) => g.write(out, live),
            Device::Video(v) => v.write(out),
            Device::Watchdog(w) => w.write(out),
            Device::MemBalloon(m) => m.write(out),
            Device::Rng(r) => r.write(out),
            Device::Generic(g) => g.write(out),
        }
    }
}

/// Writes `<devices>`: the emulator, then every device in libvirt's category order.
pub(super) fn write(out: &mut Out, emulator: Option<&str>, devices: &[Device], live: bool) {
    out.open("devices", &Attrs::new());
    out.opt_text("emulator", emulator);
    let mut sorted: Vec<&Device> = devices.iter().collect();
    sorted.sort_by_key(|d| d.rank());
    for d in sorted {
        d.write(out, live);
    }
    out.close("devices");
}

/// Parses the devices of `<devices>` (all but `<emulator>`), in document order, then adds
/// the devices libvirt's generic parser adds; `default_usb`: see [`crate::ParseOptions`].
pub(super) fn parse(
    devs: &Element,
    os_type: &str,
    default_usb: bool,
) -> Result<Vec<Device>, XmlError> {
    let hvm = os_type == "hvm";
    let mut out = Vec::new();
    let mut counts = [0u32; 4];
    let mut controllers: Vec<Controller> = Vec::new();
    let mut disks: Vec<Disk> = Vec::new();
    for c in &devs.children {
        let d = match c.name.as_str() {
            "disk" => {
                insert_disk(&mut disks, Disk::parse(c)?);
                continue;
            }
            "controller" => {
                let n = default_index(&controllers, c);
                let k = Controller::parse(c, n)?;
                insert_controller(&mut controllers, k, c.attr("index").is_some());
                continue;
            }
            "interface" => Device::Interface(Interface::parse(c)?),
            "serial" => chr(c, ChrKind::Serial, &mut counts[0])?,
            "parallel" => chr(c, ChrKind::Parallel, &mut counts[1])?,
            "console" => chr(c, ChrKind::Console, &mut counts[2])?,
            "channel" => chr(c, ChrKind::Channel, &mut counts[3])?,
            "input" => Device::Input(Input::parse(c, hvm)?),
            "graphics" => Device::Graphics(Graphics::parse(c)?),
            "video" => Device::Video(Video::parse(c)?),
            "watchdog" => single(&out, c, Device::Watchdog(Watchdog::parse(c)?))?,
            "memballoon" => single(&out, c, Device::MemBalloon(MemBalloon::parse(c)?))?,
            "rng" => Device::Rng(Rng::parse(c)?),
            name => match generic::lookup(name) {
                Some((spec, _)) => Device::Generic(Box::new(GenericDevice::parse(c, spec)?)),
                None => continue,
            },
        };
        out.push(d);
    }
    out.splice(0..0, disks.into_iter().map(Device::Disk));
    super::implicit::add(&mut out, &mut controllers, os_type)?;
    out.extend(controllers.into_iter().map(Device::Controller));
    super::devcheck::check(&out, os_type, default_usb)?;
    Ok(out)
}

/// libvirt's `virDiskNameToIndex`: `vdd` is 3, `sdaa` 26; `None` for a name without
/// a known prefix and letters.
fn disk_index(name: &str) -> Option<u64> {
    let rest = ["fd", "hd", "vd", "sd", "xvd", "ubd"]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    let letters: Vec<u8> = rest.bytes().take_while(u8::is_ascii_lowercase).collect();
    if letters.is_empty() {
        return None;
    }
    let mut idx: u64 = 0;
    for (i, c) in letters.iter().enumerate() {
        idx = (idx + u64::from(i > 0)).saturating_mul(26) + u64::from(c - b'a');
    }
    Some(idx)
}

/// libvirt's `virDomainDiskInsert`: a disk goes before the first later-named disk on
/// its bus, else after the last disk on its bus, else at the end.
fn insert_disk(disks: &mut Vec<Disk>, disk: Disk) {
    let idx = |d: &Disk| disk_index(&d.target_dev).map_or(-1, |n| n as i128);
    let mut at = None;
    for (i, d) in disks.iter().enumerate().rev() {
        if d.target_bus != disk.target_bus {
            continue;
        }
        if idx(d) > idx(&disk) {
            at = Some(i);
        } else if at.is_none() {
            at = Some(i + 1);
        }
    }
    disks.insert(at.unwrap_or(disks.len()), disk);
}

/// The index libvirt gives a controller written without one: a USB companion shares
/// its master's (the last controller of its type that is no companion); any other
/// controller counts the earlier non-companion controllers of its type.
fn default_index(have: &[Controller], e: &Element) -> u32 {
    let kind = e.attr("type").unwrap_or_default();
    let mut masters = have
        .iter()
        .filter(|k| k.controller_type == kind && k.info.master_startport.is_none());
    if e.child("master").is_some() {
        masters.next_back().map_or(0, |k| k.index)
    } else {
        masters.count() as u32
    }
}

/// Inserts `c` where libvirt does: one written without an index after the controllers
/// of its type; otherwise after those with a lower index, before those with a higher
/// one (a USB master before its companions).
pub(super) fn insert_controller(list: &mut Vec<Controller>, c: Controller, indexed: bool) {
    let mut at: Option<usize> = None;
    for (i, k) in list.iter().enumerate().rev() {
        if k.controller_type != c.controller_type {
            continue;
        }
        if !indexed {
            at = Some(i + 1);
            break;
        }
        if k.index > c.index
            || (k.index == c.index
                && c.info.master_startport.is_none()
                && k.info.master_startport.is_some())
        {
            at = Some(i);
        } else if at.is_none() {
            at = Some(i + 1);
        }
    }
    match at {
        Some(i) => list.insert(i, c),
        None => list.push(c),
    }
}

/// A character device; `next` is the port a device of its kind written without one
/// gets (one past the highest so far).
fn chr(e: &Element, kind: ChrKind, next: &mut u32) -> Result<Device, XmlError> {
    let d = CharDev::parse(e, kind, *next)?;
    *next = (*next).max(d.target_port.map_or(0, |p| p.saturating_add(1)));
    Ok(Device::Chr(d))
}

fn single(have: &[Device], e: &Element, d: Device) -> Result<Device, XmlError> {
    if have.iter().any(|x| x.rank() == d.rank()) {
        let what = match e.name.as_str() {
            "watchdog" => "watchdog device",
            _ => "memory balloon device",
        };
        return Err(XmlError::Internal(format!(
            "only a single {what} is supported"
        )));
    }
    Ok(d)
}
