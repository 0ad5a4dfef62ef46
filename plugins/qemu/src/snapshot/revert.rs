//! `virDomainRevertToSnapshot` and `virDomainSnapshotDelete`.
//!
//! A revert as libvirt 9.0 does it: a running domain is stopped (STOPPED/from
//! snapshot); a snapshot with memory starts QEMU again with `-loadvm` (STARTED/from
//! snapshot), then the CPUs run (RESUMED/from snapshot) or stay paused
//! (SUSPENDED/from snapshot); a shut-off snapshot is applied to the images with
//! `qemu-img snapshot -a` and the domain starts only with `--running`/`--paused`.

use std::sync::Arc;

use rvirt_plugin_api::protocol::facts::{snapshot_delete as del, snapshot_revert as rev};
use rvirt_plugin_api::protocol::RemoteNonnullDomainSnapshot;
use rvirt_xml::moment;

use super::{disks, find_snap, set_current, store, Snapshot};
use crate::driver::{reason, st, Driver};
use crate::error::{check_flags, QResult, QemuError};
use crate::events::{ev, Event};
use crate::lifecycle::{self, monitor_error, qmp_of, Boot};

/// DOMAIN_REVERT_TO_SNAPSHOT.
pub fn revert(drv: &Arc<Driver>, sn: &RemoteNonnullDomainSnapshot, flags: u32) -> QResult<()> {
    check_flags(flags, 0xf, "qemuDomainRevertToSnapshot")?;
    if flags & rev::RUNNING != 0 && flags & rev::PAUSED != 0 {
        return Err(QemuError::InvalidArg(
            "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive".into(),
        )
        .into());
    }
    let (snap, active, uuid) = drv.read(|s| {
        let d = s.find(&sn.dom)?;
        if d.is_active() && !d.persistent {
            // Its stop would end the domain; libvirt keeps it for the new start.
            return Err(QemuError::Unsupported(
                "reverting a running transient domain is not supported by this driver yet".into(),
            )
            .into());
        }
        Ok((find_snap(d, &sn.name)?.clone(), d.is_active(), d.def.uuid.0))
    })?;
    if snap.is_external() {
        return Err(QemuError::NotSupported(
            "revert to external snapshot not supported yet".into(),
        )
        .into());
    }
    if active {
        lifecycle::stop_closed(drv, &sn.dom, reason::SHUTOFF_FROM_SNAPSHOT)?;
    }
    if !snap.is_active() {
        disks::offline(&snap.def, &snap.disks, "-a", &snap.name)?;
    }
    let persistent = adopt(drv, sn, &snap)?;
    started(drv, uuid, &snap, flags)?;
    if persistent {
        // As libvirt: the definition changed, reported after the state changes.
        drv.write(|s, events| {
            let d = s.find(&sn.dom)?;
            events.push(Event::Lifecycle(
                d.reference(),
                ev::DEFINED,
                ev::DEFINED_FROM_SNAPSHOT,
            ));
            Ok(())
        })?;
    }
    Ok(())
}

/// Starts the reverted domain when the snapshot has memory or the flags ask, and runs
/// its CPUs or leaves them paused.
fn started(drv: &Arc<Driver>, uuid: [u8; 16], snap: &Snapshot, flags: u32) -> QResult<()> {
    let start = snap.is_active() || flags & (rev::RUNNING | rev::PAUSED) != 0;
    if !start {
        return Ok(());
    }
    let paused = flags & rev::RUNNING == 0 && (snap.state == "paused" || flags & rev::PAUSED != 0);
    if !snap.is_active() {
        // A boot of the reverted disks, reported as from the snapshot.
        let dom = lifecycle::start_from(drv, uuid, Boot::Snapshot { load: None, paused }, None)?;
        if paused {
            suspended_event(drv, &dom)?;
        }
        return Ok(());
    }
    let boot = Boot::Snapshot {
        load: Some(snap.name.clone()),
        paused: true,
    };
    let dom = lifecycle::start_from(drv, uuid, boot, Some(snap.def.clone()))?;
    if paused {
        return suspended_event(drv, &dom);
    }
    let qmp = qmp_of(drv, &dom)?;
    super::create::set_state(drv, &dom, st::RUNNING, reason::RUNNING_FROM_SNAPSHOT);
    if let Err(e) = qmp.execute("cont", None) {
        super::create::set_state(drv, &dom, st::PAUSED, reason::PAUSED_FROM_SNAPSHOT);
        return Err(monitor_error(e));
    }
    drv.write(|s, events| {
        let d = s.find_mut(&dom)?;
        events.push(Event::Lifecycle(
            d.reference(),
            ev::RESUMED,
            ev::RESUMED_FROM_SNAPSHOT,
        ));
        Ok(())
    })
}

fn suspended_event(
    drv: &Driver,
    dom: &rvirt_plugin_api::protocol::RemoteNonnullDomain,
) -> QResult<()> {
    drv.write(|s, events| {
        let d = s.find_mut(dom)?;
        events.push(Event::Lifecycle(
            d.reference(),
            ev::SUSPENDED,
            ev::SUSPENDED_FROM_SNAPSHOT,
        ));
        Ok(())
    })
}

/// The domain takes the snapshot's definition (its persistent one for a snapshot of a
/// running domain) and the snapshot becomes the current one.
/// Answers whether the domain is persistent.
fn adopt(drv: &Driver, sn: &RemoteNonnullDomainSnapshot, snap: &Snapshot) -> QResult<bool> {
    drv.write(|s, _| {
        let d = s.find_mut(&sn.dom)?;
        let mut def = snap
            .inactive_def
            .clone()
            .unwrap_or_else(|| snap.def.clone());
        def.name = d.def.name.clone();
        if d.persistent {
            drv.save_config(&def)?;
        }
        d.def = def;
        d.next_def = None;
        set_current(drv, d, Some(snap.name.clone()));
        Ok(d.persistent)
    })
}

/// DOMAIN_SNAPSHOT_DELETE: the snapshot (and with `CHILDREN` its descendants, with
/// `CHILDREN_ONLY` only those) out of the images, unless `METADATA_ONLY`, then out
/// of the tree; children move to the parent, the current mark to the parent too.
pub fn delete(drv: &Arc<Driver>, sn: &RemoteNonnullDomainSnapshot, flags: u32) -> QResult<()> {
    check_flags(flags, 0x7, "qemuSnapshotDelete")?;
    let (doomed, active) = drv.read(|s| {
        let d = s.find(&sn.dom)?;
        let top = find_snap(d, &sn.name)?;
        let names = moment::doomed(
            &d.snapshots,
            &top.name,
            flags & del::CHILDREN != 0,
            flags & del::CHILDREN_ONLY != 0,
        );
        let doomed: Vec<Snapshot> = names
            .iter()
            .filter_map(|n| d.snapshots.iter().find(|x| x.name == *n).cloned())
            .collect();
        Ok((doomed, d.is_active()))
    })?;
    if flags & del::METADATA_ONLY == 0 {
        for snap in &doomed {
            discard(drv, sn, snap, active)?;
        }
    }
    let gone: Vec<String> = doomed.into_iter().map(|s| s.name).collect();
    drv.write(|s, _| {
        let d = s.find_mut(&sn.dom)?;
        let current = d.current_snapshot.clone();
        let moved = moment::remove(&mut d.snapshots, &sn.name, &gone, current.as_deref());
        for n in &gone {
            store::remove(&drv.cfg, &d.def.name, n);
        }
        if let Some(c) = moved {
            d.current_snapshot = c;
        }
        for x in &d.snapshots {
            store::write(
                drv,
                &d.def.name,
                x,
                d.current_snapshot.as_deref() == Some(&x.name),
            );
        }
        Ok(())
    })
}

/// One snapshot out of the images: `delvm` while running, `qemu-img snapshot -d`
/// while shut off.
fn discard(
    drv: &Driver,
    sn: &RemoteNonnullDomainSnapshot,
    snap: &Snapshot,
    active: bool,
) -> QResult<()> {
    if snap.internal_disks().next().is_none() {
        return Ok(());
    }
    if active {
        let qmp = qmp_of(drv, &sn.dom)?;
        return disks::delvm(&qmp, &snap.name);
    }
    disks::offline(&snap.def, &snap.disks, "-d", &snap.name)
}
