//! `virDomainSnapshotCreateXML`: a new internal snapshot (offline with `qemu-img`,
//! running with `savevm`), or with `REDEFINE` the metadata of one taken before.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rvirt_plugin_api::protocol::facts::snapshot_create as fl;
use rvirt_plugin_api::protocol::{RemoteError, RemoteNonnullDomain, RemoteNonnullDomainSnapshot};
use rvirt_plugin_api::sdk::domain as err_domain;
use rvirt_xml::domain::DomainDef;
use rvirt_xml::snapshot::{SnapshotMode, SnapshotRequest};
use rvirt_xml::{ParseOptions, XmlError};

use super::{disks, set_current, snap_ref, Snapshot};
use crate::driver::{reason, st, Dom, Driver};
use crate::error::{check_flags, QResult, QemuError};
use crate::lifecycle::{self, monitor_error, qmp_of};

const CREATE_ALL: u32 = 0x3ff;

/// A snapshot XML error, reported from libvirt's snapshot layer.
fn xml_error(e: XmlError) -> RemoteError {
    RemoteError::reported(
        e.code(),
        e.error_domain(err_domain::DOMAIN_SNAPSHOT),
        e.to_string(),
    )
}

/// An error libvirt reports from `layer` (its snapshot or domain code), not the driver.
fn placed(e: QemuError, layer: i32) -> RemoteError {
    let mut r = RemoteError::from(e);
    r.domain = layer;
    r
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|t| t.as_secs())
        .unwrap_or(0)
}

/// DOMAIN_SNAPSHOT_CREATE_XML.
pub fn create(
    drv: &Arc<Driver>,
    r: &RemoteNonnullDomain,
    xml: &str,
    flags: u32,
) -> QResult<RemoteNonnullDomainSnapshot> {
    check_flags(flags, CREATE_ALL, "qemuDomainSnapshotCreateXML")?;
    let opts = ParseOptions::validate(flags & fl::VALIDATE != 0);
    if flags & fl::REDEFINE != 0 {
        return redefine(drv, r, xml, flags, opts);
    }
    if flags & fl::CURRENT != 0 {
        return Err(QemuError::InvalidArg(
            "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT' requires flag 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE'".into(),
        )
        .into());
    }
    let req = SnapshotRequest::parse_with(xml, opts).map_err(xml_error)?;
    let (sn, active) = drv.read(|s| plan(s.find(r)?, &req, flags))?;
    take(drv, r, &sn, active, flags)?;
    drv.write(|s, _| {
        let d = s.find_mut(r)?;
        let out = snap_ref(d, &sn.name);
        if flags & fl::NO_METADATA == 0 {
            let mut sn = sn;
            sn.parent = d.current_snapshot.clone();
            let name = sn.name.clone();
            d.snapshots.push(sn);
            set_current(drv, d, Some(name));
        }
        Ok(out)
    })
}

/// The snapshot a request makes of `d` (no parent yet), and whether `d` runs.
fn plan(d: &Dom, req: &SnapshotRequest, flags: u32) -> QResult<(Snapshot, bool)> {
    let name = req.name.clone().unwrap_or_else(|| now().to_string());
    if d.snapshots.iter().any(|s| s.name == name) {
        return Err(placed(
            QemuError::Failed(format!("domain moment {name} already exists")),
            err_domain::DOMAIN,
        ));
    }
    let active = d.is_active();
    if flags & fl::DISK_ONLY != 0 || req.memory == Some(SnapshotMode::External) {
        return Err(external_unsupported());
    }
    if active && flags & fl::HALT != 0 && !d.persistent {
        return Err(
            QemuError::Invalid("cannot halt after transient domain snapshot".into()).into(),
        );
    }
    let memory = match (active, req.memory) {
        (false, Some(SnapshotMode::Internal)) => {
            return Err(xml_error(XmlError::Message(
                "memory state cannot be saved with offline or disk-only snapshot".into(),
            )))
        }
        (true, Some(SnapshotMode::No)) => {
            return Err(QemuError::NotSupported(
                "internal snapshot of a running VM must include the memory state".into(),
            )
            .into())
        }
        (true, _) => SnapshotMode::Internal,
        (false, _) => SnapshotMode::No,
    };
    let (def, inactive_def) = match &d.run {
        Some(run) => (
            run.live.clone(),
            d.persistent
                .then(|| d.next_def.clone().unwrap_or_else(|| d.def.clone())),
        ),
        None => (d.def.clone(), None),
    };
    let disks = align(&def, req)?;
    let state = match d.state().0 {
        st::RUNNING => "running",
        st::PAUSED => "paused",
        _ => "shutoff",
    };
    Ok((
        Snapshot {
            name,
            description: req.description.clone(),
            parent: None,
            creation_time: now(),
            state: state.into(),
            memory,
            memory_file: None,
            disks,
            def,
            inactive_def,
        },
        active,
    ))
}

fn external_unsupported() -> RemoteError {
    QemuError::Unsupported("external snapshots are not supported by this driver yet".into()).into()
}

/// Every disk of `def` with its mode: the request's, else the disk's own
/// `snapshot` attribute, else internal (`no` for an empty drive); internal ones
/// must be qcow2 images.
fn align(def: &DomainDef, req: &SnapshotRequest) -> QResult<Vec<(String, SnapshotMode)>> {
    let names =
        |r: &str, d: &rvirt_xml::domain::Disk| d.target_dev == r || d.source.as_deref() == Some(r);
    if let Some(r) = req
        .disks
        .iter()
        .find(|r| !def.disks().any(|d| names(&r.name, d)))
    {
        return Err(placed(
            QemuError::Unsupported(format!("no disk named '{}'", r.name)),
            err_domain::DOMAIN_SNAPSHOT,
        ));
    }
    let mut out = Vec::new();
    for d in def.disks() {
        let asked = req
            .disks
            .iter()
            .find(|r| names(&r.name, d))
            .and_then(|r| r.mode);
        let own = d.snapshot.as_deref().and_then(|m| match m {
            "no" => Some(SnapshotMode::No),
            "internal" => Some(SnapshotMode::Internal),
            "external" => Some(SnapshotMode::External),
            _ => None,
        });
        let mode = match (asked.or(own), &d.source) {
            (_, None) => SnapshotMode::No,
            (Some(m), _) => m,
            (None, Some(_)) => SnapshotMode::Internal,
        };
        match mode {
            SnapshotMode::External | SnapshotMode::Manual => return Err(external_unsupported()),
            SnapshotMode::Internal if disks::format(d) != "qcow2" => {
                return Err(QemuError::Unsupported(format!(
                    "internal snapshot for disk {} unsupported for storage type {}",
                    d.target_dev,
                    disks::format(d)
                ))
                .into())
            }
            _ => {}
        }
        out.push((d.target_dev.clone(), mode));
    }
    Ok(out)
}

/// Takes the snapshot: `qemu-img snapshot -c` while shut off; while running the CPUs
/// stop (SUSPENDED), `savevm` runs and they go on (RESUMED), or with `HALT` the
/// domain stops (STOPPED/from snapshot).
fn take(
    drv: &Arc<Driver>,
    r: &RemoteNonnullDomain,
    sn: &Snapshot,
    active: bool,
    flags: u32,
) -> QResult<()> {
    if !active {
        return disks::offline(&sn.def, &sn.disks, "-c", &sn.name);
    }
    let qmp = qmp_of(drv, r)?;
    let was_running = sn.state == "running";
    if was_running {
        qmp.execute("stop", None).map_err(monitor_error)?;
        set_state(drv, r, st::PAUSED, reason::PAUSED_SNAPSHOT);
    }
    let saved = disks::savevm(&qmp, &sn.name);
    if saved.is_ok() && flags & fl::HALT != 0 {
        return lifecycle::stop_closed(drv, r, reason::SHUTOFF_FROM_SNAPSHOT);
    }
    if was_running {
        qmp.execute("cont", None).map_err(monitor_error)?;
    }
    saved
}

/// Records a state the driver caused (QEMU's events give the state, not the reason).
pub(crate) fn set_state(drv: &Driver, r: &RemoteNonnullDomain, state: i32, why: i32) {
    let _ = drv.write(|s, _| {
        let d = s.find_mut(r)?;
        if let Some(run) = d.run.as_mut() {
            run.state = state;
            run.reason = why;
        }
        drv.save_status(d);
        Ok(())
    });
}

/// `REDEFINE`: the metadata of a snapshot taken before (on this or another host),
/// checked as libvirt checks it; `CURRENT` makes it the current one.
fn redefine(
    drv: &Driver,
    r: &RemoteNonnullDomain,
    xml: &str,
    flags: u32,
    opts: ParseOptions,
) -> QResult<RemoteNonnullDomainSnapshot> {
    let (req, rec) = SnapshotRequest::parse_redefinition(xml, opts).map_err(xml_error)?;
    let bad = |m: &str| xml_error(XmlError::Message(m.into()));
    let name = req
        .name
        .clone()
        .ok_or_else(|| bad("a redefined snapshot must have a name"))?;
    let state = rec
        .state
        .clone()
        .ok_or_else(|| bad("missing state from existing snapshot"))?;
    let creation_time = rec
        .creation_time
        .as_deref()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .ok_or_else(|| QemuError::Internal("missing creationTime from existing snapshot".into()))?;
    let parse = |e: &rvirt_xml::tree::Element| {
        DomainDef::from_element(e).map_err(|e| RemoteError::from(QemuError::from(e)))
    };
    let def = parse(
        rec.domain
            .as_ref()
            .ok_or_else(|| QemuError::Internal("missing domain in snapshot".into()))?,
    )?;
    let inactive_def = rec.inactive_domain.as_ref().map(parse).transpose()?;
    drv.write(|s, _| {
        let d = s.find_mut(r)?;
        if def.uuid != d.def.uuid {
            return Err(QemuError::InvalidArg(format!(
                "definition for snapshot {name} must use uuid {}",
                d.def.uuid
            ))
            .into());
        }
        if let Some(p) = rec.parent.as_deref() {
            if !d.snapshots.iter().any(|x| x.name == p) {
                return Err(QemuError::InvalidArg(format!(
                    "parent {p} for moment {name} not found"
                ))
                .into());
            }
        }
        let sn = Snapshot {
            name: name.clone(),
            description: req.description.clone(),
            parent: rec.parent.clone(),
            creation_time,
            memory: req
                .memory
                .unwrap_or(if matches!(state.as_str(), "running" | "paused") {
                    SnapshotMode::Internal
                } else {
                    SnapshotMode::No
                }),
            state,
            memory_file: req.memory_file.clone(),
            disks: req
                .disks
                .iter()
                .map(|x| (x.name.clone(), x.mode.unwrap_or(SnapshotMode::Internal)))
                .collect(),
            def,
            inactive_def,
        };
        let out = snap_ref(d, &name);
        if flags & fl::NO_METADATA != 0 {
            return Ok(out);
        }
        let is_current = d.current_snapshot.as_deref() == Some(&name);
        super::store::try_write(&drv.cfg, &d.def.name, &sn, is_current)?;
        match d.snapshots.iter_mut().find(|x| x.name == name) {
            Some(old) => *old = sn,
            None => d.snapshots.push(sn),
        }
        if flags & fl::CURRENT != 0 {
            set_current(drv, d, Some(name));
        }
        Ok(out)
    })
}
