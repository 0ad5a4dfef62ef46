//! Live changes over the monitor: attach, detach (and the removal QEMU reports later),
//! and a removable drive's medium change.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use rvirt_plugin_api::protocol::RemoteNonnullDomain;
use rvirt_xml::domain::{Address, Device, Disk, DomainDef};
use serde_json::{json, Value};

use super::parse::{self, Parsed};
use super::qmpargs::{self, Command};
use super::HotplugError;
use crate::driver::Driver;
use crate::error::{QResult, QemuError};
use crate::events::Event;
use crate::lifecycle::monitor_error;
use crate::qmp::Qmp;

/// One live device change at a time, as libvirt's modify job.
static JOB: Mutex<()> = Mutex::new(());

/// How long a detach waits for QEMU's DEVICE_DELETED (libvirt's 5 seconds).
const REMOVAL_WAIT: Duration = Duration::from_secs(5);

/// The running domain's live definition, monitor and run generation.
fn running(drv: &Driver, r: &RemoteNonnullDomain) -> QResult<(DomainDef, Arc<Qmp>, u64)> {
    drv.read(|s| {
        let run = s.find(r)?.run.as_ref().ok_or(QemuError::NotRunning)?;
        Ok((run.live.clone(), run.qmp.clone(), run.generation))
    })
}

/// Applies `f` to the live definition of run `generation`, saving the status; `event`
/// is sent after.
fn change_live(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    generation: u64,
    event: impl FnOnce(RemoteNonnullDomain) -> Option<Event>,
    f: impl FnOnce(&mut DomainDef),
) -> QResult<()> {
    drv.write(|s, events| {
        let d = s.find_mut(r)?;
        let run = d
            .run
            .as_mut()
            .filter(|x| x.generation == generation)
            .ok_or(QemuError::NotRunning)?;
        f(&mut run.live);
        drv.save_status(d);
        events.extend(event(d.reference()));
        Ok(())
    })
}

fn has_controller(def: &DomainDef, kind: &str, index: u32) -> bool {
    def.devices.iter().any(
        |d| matches!(d, Device::Controller(k) if k.controller_type == kind && k.index == index),
    )
}

/// libvirt's checks before a live attach; `true` when the document changes the medium
/// of an existing removable drive instead.
fn check_attach(live: &DomainDef, dev: &mut Device, p: &Parsed) -> Result<bool, HotplugError> {
    match dev {
        Device::Disk(k) => {
            let removable = matches!(k.device.as_str(), "cdrom" | "floppy");
            let exists = live.disks().any(|x| x.target_dev == k.target_dev);
            if removable && exists {
                return Ok(true);
            }
            if let Some(old) = live.disks().find(|x| x.target_dev == k.target_dev) {
                let src = |d: &Disk| d.source.clone().unwrap_or_else(|| "<null>".into());
                return Err(HotplugError::Xml(format!(
                    "target '{}' duplicated for disk sources '{}' and '{}'",
                    k.target_dev,
                    src(old),
                    src(k)
                )));
            }
            let bus = k.target_bus.as_str();
            if matches!(bus, "ide" | "sata" | "fdc" | "scsi") {
                let ctl = match k.info.address {
                    Some(Address::Drive { controller, .. }) => controller,
                    _ => 0,
                };
                if !has_controller(live, bus, ctl) {
                    return Err(HotplugError::Internal(format!(
                        "Could not find {bus} controller with index {ctl} required for device"
                    )));
                }
            }
            if removable && !matches!(bus, "scsi" | "usb") {
                return Err(HotplugError::Unsupported(
                    "cdrom/floppy device hotplug isn't supported".into(),
                ));
            }
            if !matches!(bus, "virtio" | "usb" | "scsi") {
                return Err(HotplugError::Unsupported(format!(
                    "disk bus '{bus}' cannot be hotplugged."
                )));
            }
        }
        Device::Controller(k) => {
            if k.controller_type != "scsi" {
                return Err(HotplugError::Unsupported(format!(
                    "'{}' controller cannot be hot plugged.",
                    k.controller_type
                )));
            }
            if !p.index_given {
                k.index = parse::unused_controller_index(live, &k.controller_type);
            }
            if has_controller(live, &k.controller_type, k.index) {
                return Err(HotplugError::Failed(format!(
                    "target {}:{} already exists",
                    k.controller_type, k.index
                )));
            }
        }
        Device::Input(i) => {
            let bus = i.bus.as_deref().unwrap_or("ps2");
            if !matches!(bus, "usb" | "virtio") {
                return Err(HotplugError::Unsupported(format!(
                    "input device on bus '{bus}' cannot be hot plugged."
                )));
            }
        }
        Device::Interface(i) => {
            if !matches!(i.iface_type.as_str(), "user" | "network" | "bridge") {
                return Err(HotplugError::Unsupported(format!(
                    "live attach of interface type '{}' is not supported",
                    i.iface_type
                )));
            }
        }
        Device::Rng(_) => {}
        other => {
            return Err(HotplugError::Unsupported(format!(
                "live attach of device '{}' is not supported",
                parse::kind_name(other)
            )))
        }
    }
    Ok(false)
}

/// The next free `libvirt-N-*` block node number.
fn next_node(qmp: &Qmp) -> usize {
    let nodes = qmp
        .execute("query-named-block-nodes", Some(json!({ "flat": true })))
        .unwrap_or(Value::Null);
    nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let name = n.get("node-name")?.as_str()?;
            name.strip_prefix("libvirt-")?
                .split('-')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .max()
        .map_or(1, |n| n + 1)
}

/// The block nodes (format first, then storage) rvirt made for a medium at `path`.
fn nodes_of(qmp: &Qmp, path: &str) -> Vec<String> {
    let nodes = qmp
        .execute("query-named-block-nodes", Some(json!({ "flat": true })))
        .unwrap_or(Value::Null);
    let mut found: Vec<(bool, String)> = nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n.get("file").and_then(Value::as_str) == Some(path))
        .filter_map(|n| {
            let name = n.get("node-name")?.as_str()?;
            name.starts_with("libvirt-")
                .then(|| (name.ends_with("-storage"), name.to_string()))
        })
        .collect();
    found.sort();
    found.dedup();
    found.into_iter().map(|(_, n)| n).collect()
}

/// Undoes what `done` added, newest first (best effort).
fn roll_back(qmp: &Qmp, done: &[Command]) {
    for (cmd, args) in done.iter().rev() {
        let undo = match *cmd {
            "blockdev-add" => ("blockdev-del", json!({ "node-name": args["node-name"] })),
            "netdev_add" => ("netdev_del", json!({ "id": args["id"] })),
            "object-add" => ("object-del", json!({ "id": args["id"] })),
            "device_add" => ("device_del", json!({ "id": args["id"] })),
            _ => continue,
        };
        let _ = qmp.execute(undo.0, Some(undo.1));
    }
}

/// Runs `cmds` in order; on a failure undoes the ones that ran.
fn run_all(qmp: &Qmp, cmds: Vec<Command>, tap: Option<&std::fs::File>) -> QResult<()> {
    let mut done: Vec<Command> = Vec::new();
    for (cmd, mut args) in cmds {
        if let (Some(f), "netdev_add") = (tap, cmd) {
            use std::os::fd::AsRawFd;
            let id = args["id"].as_str().unwrap_or_default().to_string();
            let fdname = format!("fd-{id}");
            if let Err(e) = qmp.execute_with_fd("getfd", json!({ "fdname": fdname }), f.as_raw_fd())
            {
                roll_back(qmp, &done);
                return Err(monitor_error(e));
            }
            args = json!({ "type": "tap", "id": id, "fd": fdname });
        }
        if let Err(e) = qmp.execute(cmd, Some(args.clone())) {
            roll_back(qmp, &done);
            return Err(monitor_error(e));
        }
        done.push((cmd, args));
    }
    Ok(())
}

/// Live attach of the device `p` describes.
pub fn attach(drv: &Driver, r: &RemoteNonnullDomain, p: &Parsed) -> QResult<()> {
    let _job = JOB.lock().unwrap_or_else(PoisonError::into_inner);
    let (live, qmp, generation) = running(drv, r)?;
    let mut dev = p.device.clone();
    if check_attach(&live, &mut dev, p)? {
        let Device::Disk(k) = &dev else {
            unreachable!("only drives change media")
        };
        return change_media(drv, r, (&live, &qmp, generation), k, false);
    }
    let alias = parse::live_alias(&live, &dev)
        .ok_or_else(|| HotplugError::Internal("cannot give the device an alias".into()))?;
    if let Some(info) = dev.info_mut() {
        info.alias = Some(alias.clone());
    }
    let mut placed = live.clone();
    let at = parse::insert(&mut placed, dev);
    let count = placed.devices.len();
    crate::postparse::assign_addresses(&mut placed);
    if placed.devices.len() != count {
        return Err(HotplugError::Failed("No more available PCI slots".into()).into());
    }
    let usb = match &placed.devices[at] {
        Device::Disk(k) => k.target_bus == "usb",
        Device::Input(i) => i.bus.as_deref() == Some("usb"),
        _ => false,
    };
    let placed_usb = matches!(
        placed.devices[at].info().and_then(|i| i.address.as_ref()),
        Some(Address::Usb { .. })
    );
    if usb && !placed_usb {
        return Err(HotplugError::Internal("No free USB ports".into()).into());
    }
    let uri = drv.own_uri();
    let plugged = match &placed.devices[at] {
        Device::Interface(i) => crate::netplug::plug_one(uri, &live, i)?,
        _ => None,
    };
    let mut tap_file = None;
    if let (Some((tap, file, port)), Device::Interface(i)) = (plugged, &mut placed.devices[at]) {
        i.target_dev = Some(tap);
        i.live_port = port;
        tap_file = Some(file);
    }
    let dev = placed.devices[at].clone();
    let unplug = |dev: &Device| {
        if tap_file.is_some() {
            let mut one = live.clone();
            one.devices = vec![dev.clone()];
            crate::netplug::unplug(uri, &one);
        }
    };
    let cmds = match qmpargs::for_device(&placed, &dev, &alias, next_node(&qmp)) {
        Ok(c) => c,
        Err(e) => {
            unplug(&dev);
            return Err(e.into());
        }
    };
    if let Err(e) = run_all(&qmp, cmds, tap_file.as_ref()) {
        unplug(&dev);
        return Err(e);
    }
    change_live(
        drv,
        r,
        generation,
        |d| Some(Event::DeviceAdded(d, alias.clone())),
        |l| {
            parse::insert(l, dev.clone());
        },
    )
}

/// libvirt's checks before a live detach.
fn check_detach(live: &DomainDef, dev: &Device) -> Result<(), HotplugError> {
    match dev {
        Device::Disk(k) => {
            let bus = k.target_bus.as_str();
            if matches!(bus, "virtio" | "usb" | "scsi") {
                return Ok(());
            }
            if matches!(k.device.as_str(), "cdrom" | "floppy") {
                return Err(HotplugError::Unsupported(format!(
                    "disk device type '{}' cannot be detached",
                    k.device
                )));
            }
            Err(HotplugError::Unsupported(
                "This type of disk cannot be hot unplugged".into(),
            ))
        }
        Device::Controller(k) if k.controller_type != "scsi" => {
            Err(HotplugError::Unsupported(format!(
                "'{}' controller cannot be hot unplugged.",
                k.controller_type
            )))
        }
        Device::Controller(k) => {
            let busy = live.disks().any(|x| {
                x.target_bus == "scsi"
                    && matches!(x.info.address, Some(Address::Drive { controller, .. }) if controller == k.index)
            });
            if busy {
                return Err(HotplugError::Failed(
                    "device cannot be detached: device is busy".into(),
                ));
            }
            Ok(())
        }
        Device::Input(i) => {
            let bus = i.bus.as_deref().unwrap_or("ps2");
            if matches!(bus, "usb" | "virtio") {
                return Ok(());
            }
            Err(HotplugError::Unsupported(format!(
                "input device on bus '{bus}' cannot be detached"
            )))
        }
        Device::Interface(_) | Device::Rng(_) => Ok(()),
        other => Err(HotplugError::Unsupported(format!(
            "live detach of device '{}' is not supported",
            parse::kind_name(other)
        ))),
    }
}

/// Live detach of device `i` of the live definition: `device_del`, then up to
/// [`REMOVAL_WAIT`] for QEMU to report the device gone.
pub fn detach(drv: &Driver, r: &RemoteNonnullDomain, i: usize) -> QResult<()> {
    let _job = JOB.lock().unwrap_or_else(PoisonError::into_inner);
    let (live, qmp, generation) = running(drv, r)?;
    let dev = live
        .devices
        .get(i)
        .ok_or_else(|| HotplugError::Internal("the device vanished".into()))?;
    check_detach(&live, dev)?;
    let alias = dev
        .info()
        .and_then(|x| x.alias.clone())
        .ok_or_else(|| HotplugError::Failed("device alias not found".into()))?;
    qmp.execute("device_del", Some(json!({ "id": alias })))
        .map_err(monitor_error)?;
    let uuid = r.uuid;
    drv.wait_until(REMOVAL_WAIT, |s| {
        s.doms
            .iter()
            .find(|d| d.def.uuid.0 == uuid)
            .and_then(|d| d.run.as_ref())
            .filter(|x| x.generation == generation)
            .is_none_or(|x| parse::find_alias(&x.live, &alias).is_err())
    });
    Ok(())
}

/// QEMU reported device `alias` of run `generation` gone: its backends go, then the
/// device leaves the live definition and DEVICE_REMOVED is sent. Runs off the monitor's
/// reader thread. A device the live definition does not have is ignored, as libvirt.
pub fn removed(weak: &Weak<Driver>, uuid: [u8; 16], generation: u64, alias: &str) {
    let Some(drv) = weak.upgrade() else { return };
    let found = drv.read(|s| {
        Ok(s.doms
            .iter()
            .find(|d| d.def.uuid.0 == uuid)
            .and_then(|d| Some((d.reference(), d.run.as_ref()?)))
            .filter(|(_, x)| x.generation == generation)
            .and_then(|(r, x)| {
                let i = parse::find_alias(&x.live, alias).ok()?;
                Some((r, x.live.clone(), x.live.devices[i].clone(), x.qmp.clone()))
            }))
    });
    let Ok(Some((r, live, dev, qmp))) = found else {
        return;
    };
    match &dev {
        Device::Disk(k) => {
            for node in k
                .source
                .as_deref()
                .map(|p| nodes_of(&qmp, p))
                .unwrap_or_default()
            {
                let _ = qmp.execute("blockdev-del", Some(json!({ "node-name": node })));
            }
        }
        Device::Interface(i) => {
            let _ = qmp.execute("netdev_del", Some(json!({ "id": format!("host{alias}") })));
            if matches!(i.iface_type.as_str(), "network" | "bridge" | "direct") {
                let mut one = live.clone();
                one.devices = vec![dev.clone()];
                crate::netplug::unplug(drv.own_uri(), &one);
            }
        }
        Device::Rng(_) => {
            let _ = qmp.execute("object-del", Some(json!({ "id": format!("obj{alias}") })));
        }
        _ => {}
    }
    let _ = change_live(
        &drv,
        &r,
        generation,
        |d| Some(Event::DeviceRemoved(d, alias.to_string())),
        |l| {
            if let Ok(i) = parse::find_alias(l, alias) {
                l.devices.remove(i);
            }
        },
    );
}

/// `virDomainUpdateDeviceFlags` live: a new medium for a cdrom or floppy drive (none:
/// eject), through the blockdev tray commands as libvirt changes media.
pub fn update(drv: &Driver, r: &RemoteNonnullDomain, p: &Parsed, force: bool) -> QResult<()> {
    let _job = JOB.lock().unwrap_or_else(PoisonError::into_inner);
    let (live, qmp, generation) = running(drv, r)?;
    let Device::Disk(new) = &p.device else {
        return Err(HotplugError::Unsupported(format!(
            "live update of device '{}' is not supported",
            parse::kind_name(&p.device)
        ))
        .into());
    };
    let Some(orig) = live.disks().find(|x| x.target_dev == new.target_dev) else {
        return Err(HotplugError::Internal(format!("disk '{}' not found", new.target_dev)).into());
    };
    if !matches!(orig.device.as_str(), "cdrom" | "floppy") {
        if orig.source != new.source {
            return Err(HotplugError::Unsupported(
                "disk source can be changed only in removable drives".into(),
            )
            .into());
        }
        return Ok(());
    }
    change_media(drv, r, (&live, &qmp, generation), new, force)
}

/// Opens the tray, removes the medium (and its nodes), inserts the new one, closes the
/// tray, and records the new source in the live definition.
fn change_media(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    (live, qmp, generation): (&DomainDef, &Arc<Qmp>, u64),
    new: &Disk,
    force: bool,
) -> QResult<()> {
    let orig = live
        .disks()
        .find(|x| x.target_dev == new.target_dev)
        .ok_or_else(|| HotplugError::Internal(format!("disk '{}' not found", new.target_dev)))?;
    let id = orig
        .info
        .alias
        .clone()
        .ok_or_else(|| HotplugError::Failed("device alias not found".into()))?;
    let mut medium = orig.clone();
    medium.source = new.source.clone();
    medium.disk_type = new.disk_type.clone();
    if new.driver.is_some() {
        medium.driver = new.driver.clone();
    }
    let adds = match &medium.source {
        Some(_) => qmpargs::medium(live, &medium, next_node(qmp))?,
        None => Vec::new(),
    };
    let exec = |cmd: &str, args: Value| qmp.execute(cmd, Some(args)).map_err(monitor_error);
    exec("blockdev-open-tray", json!({ "id": id, "force": force }))?;
    exec("blockdev-remove-medium", json!({ "id": id }))?;
    if let Some(old) = &orig.source {
        for node in nodes_of(qmp, old) {
            let _ = qmp.execute("blockdev-del", Some(json!({ "node-name": node })));
        }
    }
    let format_node = adds
        .iter()
        .find(|(_, a)| a.get("file").is_some())
        .map(|(_, a)| a["node-name"].clone());
    run_all(qmp, adds, None)?;
    if let Some(node) = format_node {
        exec(
            "blockdev-insert-medium",
            json!({ "id": id, "node-name": node }),
        )?;
    }
    exec("blockdev-close-tray", json!({ "id": id }))?;
    change_live(
        drv,
        r,
        generation,
        |_| None,
        |l| {
            for d in &mut l.devices {
                if let Device::Disk(k) = d {
                    if k.target_dev == medium.target_dev {
                        *k = medium.clone();
                    }
                }
            }
        },
    )
}
