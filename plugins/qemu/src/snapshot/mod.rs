//! Domain snapshots as libvirt's qemu driver keeps them: a tree of snapshots per domain
//! (parent, children, current), each one's XML under the state directory
//! ([`store`]), internal snapshots in the qcow2 images (`qemu-img snapshot` while shut
//! off, `savevm`/`delvm` over the monitor while running, `-loadvm` to revert).
//! The tree walks are shared with the test driver ([`rvirt_xml::moment`]).

pub mod create;
pub mod disks;
pub mod revert;
pub mod store;

use rvirt_plugin_api::protocol::{RemoteNonnullDomain, RemoteNonnullDomainSnapshot};
use rvirt_xml::domain::DomainDef;
use rvirt_xml::moment::{self, Moment};
use rvirt_xml::snapshot::{SnapshotMode, SnapshotView};

use crate::driver::{Dom, Driver, Inner};
use crate::error::{check_flags, QResult, QemuError};

/// One snapshot of a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub name: String,
    pub description: Option<String>,
    pub parent: Option<String>,
    pub creation_time: u64,
    /// `<state>`: `running`, `paused`, `shutoff` or `disk-snapshot`.
    pub state: String,
    pub memory: SnapshotMode,
    pub memory_file: Option<String>,
    /// Every disk of the domain (target) and how it was snapshotted.
    pub disks: Vec<(String, SnapshotMode)>,
    /// The definition when taken (the live one of a running domain).
    pub def: DomainDef,
    /// The persistent definition of a domain that was running (`<inactiveDomain>`).
    pub inactive_def: Option<DomainDef>,
}

impl Moment for Snapshot {
    fn name(&self) -> &str {
        &self.name
    }
    fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }
    fn set_parent(&mut self, parent: Option<String>) {
        self.parent = parent;
    }
}

impl Snapshot {
    /// Whether memory or a disk went to a new file.
    pub fn is_external(&self) -> bool {
        self.memory == SnapshotMode::External
            || self.disks.iter().any(|(_, m)| *m == SnapshotMode::External)
    }

    /// Whether the guest's memory is in it (a revert starts the guest).
    pub fn is_active(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused")
    }

    /// The disks snapshotted inside their images.
    pub fn internal_disks(&self) -> impl Iterator<Item = &str> {
        self.disks
            .iter()
            .filter(|(_, m)| *m == SnapshotMode::Internal)
            .map(|(t, _)| t.as_str())
    }

    /// The document `virDomainSnapshotGetXMLDesc` answers.
    pub fn to_xml(&self) -> String {
        SnapshotView {
            name: &self.name,
            description: self.description.as_deref(),
            state: &self.state,
            parent: self.parent.as_deref(),
            creation_time: self.creation_time,
            memory: self.memory,
            memory_file: self.memory_file.as_deref(),
            disks: (!self.disks.is_empty()).then_some(self.disks.as_slice()),
            disk_sources: &[],
            domain_xml: &self.def.to_xml(None),
            inactive_domain_xml: self
                .inactive_def
                .as_ref()
                .map(|d| d.to_xml(None))
                .as_deref(),
        }
        .to_xml()
    }
}

pub(crate) fn snap_ref(d: &Dom, name: &str) -> RemoteNonnullDomainSnapshot {
    RemoteNonnullDomainSnapshot {
        name: name.to_string(),
        dom: d.reference(),
    }
}

pub(crate) fn find_snap<'a>(d: &'a Dom, name: &str) -> QResult<&'a Snapshot> {
    d.snapshots.iter().find(|s| s.name == name).ok_or_else(|| {
        QemuError::NoSnapshot(format!("no domain snapshot with matching name '{name}'")).into()
    })
}

const LIST_ALL: u32 = 0x7ff;

fn selected<'a>(d: &'a Dom, from: Option<&str>, flags: u32) -> Vec<&'a Snapshot> {
    let keep = |s: &Snapshot| moment::snapshot_filter(flags, &s.state, s.is_external());
    moment::select(&d.snapshots, from, flags, keep)
}

/// `virDomainListAllSnapshots`, `virDomainSnapshotNum`, `virDomainSnapshotListNames`.
/// `func` names the call in a flags error, as libvirt's entry points do.
pub fn list_all(
    s: &Inner,
    r: &RemoteNonnullDomain,
    flags: u32,
    func: &'static str,
) -> QResult<Vec<RemoteNonnullDomainSnapshot>> {
    check_flags(flags, LIST_ALL, func)?;
    let d = s.find(r)?;
    Ok(selected(d, None, flags)
        .into_iter()
        .map(|x| snap_ref(d, &x.name))
        .collect())
}

/// The children calls: `virDomainSnapshotListAllChildren` and its elders.
pub fn children(
    s: &Inner,
    sn: &RemoteNonnullDomainSnapshot,
    flags: u32,
    func: &'static str,
) -> QResult<Vec<RemoteNonnullDomainSnapshot>> {
    check_flags(flags, LIST_ALL, func)?;
    let d = s.find(&sn.dom)?;
    let top = find_snap(d, &sn.name)?;
    Ok(selected(d, Some(&top.name), flags)
        .into_iter()
        .map(|x| snap_ref(d, &x.name))
        .collect())
}

/// Names of `refs`, at most `max`.
pub fn names(refs: Vec<RemoteNonnullDomainSnapshot>, max: i32) -> Vec<String> {
    let max = usize::try_from(max).unwrap_or(0);
    refs.into_iter().take(max).map(|r| r.name).collect()
}

pub fn lookup(
    s: &Inner,
    r: &RemoteNonnullDomain,
    name: &str,
    flags: u32,
) -> QResult<RemoteNonnullDomainSnapshot> {
    check_flags(flags, 0, "qemuDomainSnapshotLookupByName")?;
    let d = s.find(r)?;
    Ok(snap_ref(d, &find_snap(d, name)?.name))
}

pub fn current(
    s: &Inner,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> QResult<RemoteNonnullDomainSnapshot> {
    check_flags(flags, 0, "qemuDomainSnapshotCurrent")?;
    let d = s.find(r)?;
    match &d.current_snapshot {
        Some(n) => Ok(snap_ref(d, n)),
        None => {
            Err(QemuError::NoSnapshot("the domain does not have a current snapshot".into()).into())
        }
    }
}

pub fn has_current(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> QResult<i32> {
    check_flags(flags, 0, "qemuDomainHasCurrentSnapshot")?;
    Ok(i32::from(s.find(r)?.current_snapshot.is_some()))
}

pub fn parent(
    s: &Inner,
    sn: &RemoteNonnullDomainSnapshot,
    flags: u32,
) -> QResult<RemoteNonnullDomainSnapshot> {
    check_flags(flags, 0, "qemuDomainSnapshotGetParent")?;
    let d = s.find(&sn.dom)?;
    let snap = find_snap(d, &sn.name)?;
    match &snap.parent {
        Some(p) => Ok(snap_ref(d, p)),
        None => Err(QemuError::NoSnapshot(format!(
            "snapshot '{}' does not have a parent",
            snap.name
        ))
        .into()),
    }
}

pub fn is_current(s: &Inner, sn: &RemoteNonnullDomainSnapshot, flags: u32) -> QResult<i32> {
    check_flags(flags, 0, "qemuDomainSnapshotIsCurrent")?;
    let d = s.find(&sn.dom)?;
    let snap = find_snap(d, &sn.name)?;
    Ok(i32::from(d.current_snapshot.as_deref() == Some(&snap.name)))
}

pub fn has_metadata(s: &Inner, sn: &RemoteNonnullDomainSnapshot, flags: u32) -> QResult<i32> {
    check_flags(flags, 0, "qemuDomainSnapshotHasMetadata")?;
    find_snap(s.find(&sn.dom)?, &sn.name).map(|_| 1)
}

pub fn get_xml(s: &Inner, sn: &RemoteNonnullDomainSnapshot, flags: u32) -> QResult<String> {
    check_flags(
        flags,
        rvirt_plugin_api::protocol::facts::snapshot_xml::SECURE,
        "qemuDomainSnapshotGetXMLDesc",
    )?;
    Ok(find_snap(s.find(&sn.dom)?, &sn.name)?.to_xml())
}

/// Makes `name` the current snapshot of `d` and rewrites the files whose mark changed.
pub(crate) fn set_current(drv: &Driver, d: &mut Dom, name: Option<String>) {
    let old = std::mem::replace(&mut d.current_snapshot, name);
    if old == d.current_snapshot {
        return;
    }
    for n in [old, d.current_snapshot.clone()].into_iter().flatten() {
        if let Some(sn) = d.snapshots.iter().find(|s| s.name == n) {
            store::write(
                drv,
                &d.def.name,
                sn,
                d.current_snapshot.as_deref() == Some(&n),
            );
        }
    }
}

/// `virDomainUndefineFlags`' check: an inactive domain with snapshots is only undefined
/// with `VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA`, which drops their metadata.
pub fn undefine_check(d: &Dom, flags: u32) -> QResult<bool> {
    let n = d.snapshots.len();
    if d.is_active() || n == 0 {
        return Ok(false);
    }
    if flags & rvirt_plugin_api::protocol::facts::domain_undefine::SNAPSHOTS_METADATA == 0 {
        return Err(QemuError::Invalid(format!(
            "cannot delete inactive domain with {n} snapshots"
        ))
        .into());
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(name: &str, parent: Option<&str>) -> Snapshot {
        let def = DomainDef::parse(include_str!("../../testdata/tiny-tcg.xml")).unwrap();
        Snapshot {
            name: name.into(),
            description: None,
            parent: parent.map(Into::into),
            creation_time: 1700000000,
            state: "shutoff".into(),
            memory: SnapshotMode::No,
            memory_file: None,
            disks: vec![("vda".into(), SnapshotMode::Internal)],
            def,
            inactive_def: None,
        }
    }

    #[test]
    fn xml_in_libvirts_order() {
        let x = sample("s1", Some("s0")).to_xml();
        assert!(x.starts_with(
            "<domainsnapshot>\n  <name>s1</name>\n  <state>shutoff</state>\n  <parent>\n    <name>s0</name>\n  </parent>\n  <creationTime>1700000000</creationTime>\n  <memory snapshot='no'/>\n  <disks>\n    <disk name='vda' snapshot='internal'/>\n  </disks>\n  <domain type="
        ), "{x}");
    }
}
