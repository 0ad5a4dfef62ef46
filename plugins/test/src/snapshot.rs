//! Domain snapshots: metadata only, as in libvirt's test driver.

use std::time::{SystemTime, UNIX_EPOCH};

use rvirt_plugin_api::protocol::{RemoteNonnullDomain, RemoteNonnullDomainSnapshot};
use rvirt_xml::domain::DomainDef;
use rvirt_xml::moment::{self, Moment};
use rvirt_xml::snapshot::{SnapshotMode, SnapshotRecord, SnapshotRequest, SnapshotView, STATES};
use rvirt_xml::ParseOptions;

use crate::domain::{dom_ref, find, find_mut, index, reason, start_state, stop_state};
use crate::error::{check_flags, parse_error, TestError, TestResult};
use crate::events::{dom as ev, Event};
use crate::state::{dstate, Domain, Inner};
use rvirt_plugin_api::sdk::domain;

/// One snapshot of a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub name: String,
    pub description: Option<String>,
    pub parent: Option<String>,
    pub creation_time: u64,
    /// Domain state when taken.
    pub state: i32,
    /// Every disk of the domain (target) and how it was snapshotted.
    pub disks: Vec<(String, SnapshotMode)>,
    /// The sources a redefinition gave its external disks (`<disks><disk><source>`).
    pub disk_sources: Vec<(String, rvirt_xml::domain::Disk)>,
    /// The file of an external memory snapshot (the request's).
    pub memory_file: Option<String>,
    pub def: DomainDef,
    /// The inactive definition a redefinition recorded (`<inactiveDomain>`).
    pub inactive_def: Option<DomainDef>,
}

const CREATE_REDEFINE: u32 = 1;
const CREATE_CURRENT: u32 = 2;
const CREATE_NO_METADATA: u32 = 4;
const CREATE_HALT: u32 = 8;
const CREATE_VALIDATE: u32 = 0x200;
const CREATE_ALL: u32 = 0x3ff;
#[cfg(test)]
const LIST_ROOTS: u32 = 1;
const LIST_ALL: u32 = 0x7ff;
const REVERT_RUNNING: u32 = 1;
const REVERT_PAUSED: u32 = 2;
const REVERT_ALL: u32 = 0xf;
const DELETE_CHILDREN: u32 = 1;
const DELETE_CHILDREN_ONLY: u32 = 4;
const DELETE_ALL: u32 = 0x7;

fn snap_ref(d: &Domain, name: &str) -> RemoteNonnullDomainSnapshot {
    RemoteNonnullDomainSnapshot {
        name: name.to_string(),
        dom: dom_ref(d),
    }
}

/// The state number of a disk-only snapshot.
const DISK_SNAPSHOT: i32 = 8;

fn state_name(state: i32) -> &'static str {
    usize::try_from(state)
        .ok()
        .and_then(|i| STATES.get(i))
        .copied()
        .unwrap_or("shutoff")
}

fn to_xml(sn: &Snapshot) -> String {
    // libvirt's test driver keeps an external memory request; anything else is the
    // state's: internal for a running or paused domain, none for a stopped one.
    let memory = if sn.memory_file.is_some() {
        SnapshotMode::External
    } else if matches!(sn.state, dstate::SHUTOFF | DISK_SNAPSHOT) {
        SnapshotMode::No
    } else {
        SnapshotMode::Internal
    };
    SnapshotView {
        name: &sn.name,
        description: sn.description.as_deref(),
        state: state_name(sn.state),
        parent: sn.parent.as_deref(),
        creation_time: sn.creation_time,
        memory,
        memory_file: sn.memory_file.as_deref(),
        disks: (!sn.disks.is_empty()).then_some(sn.disks.as_slice()),
        disk_sources: &sn.disk_sources,
        domain_xml: &sn.def.to_xml(None),
        inactive_domain_xml: sn.inactive_def.as_ref().map(|d| d.to_xml(None)).as_deref(),
    }
    .to_xml()
}

/// Every disk of `def` with the mode the test driver gives it: what the request asks
/// (only `internal` can be done), internal for a disk with media, `no` for an empty one.
/// `disk_only` is a redefined disk-only snapshot, whose disks default to external.
fn align_disks(
    def: &DomainDef,
    req: &SnapshotRequest,
    disk_only: bool,
) -> TestResult<Vec<(String, SnapshotMode)>> {
    let disks: Vec<_> = def.disks().collect();
    for r in &req.disks {
        if !disks
            .iter()
            .any(|d| d.target_dev == r.name || d.source.as_deref() == Some(r.name.as_str()))
        {
            return Err(TestError::SnapshotConfig(format!("no disk named '{}'", r.name)).into());
        }
    }
    let mut out = Vec::with_capacity(disks.len());
    for d in disks {
        let given = req
            .disks
            .iter()
            .find(|r| r.name == d.target_dev || d.source.as_deref() == Some(r.name.as_str()));
        let asked = given.and_then(|r| r.mode);
        // A redefinition records an external disk snapshot whose new source it names.
        let recorded = disk_only && given.is_some_and(|r| r.source.is_some());
        let external_memory = req.memory == Some(SnapshotMode::External) || disk_only;
        let mode = match (asked, &d.source) {
            (Some(SnapshotMode::Manual), _) => {
                return Err(TestError::Unsupported(
                    "'manual' snapshot mode is not supported by the test driver".into(),
                )
                .into())
            }
            (Some(SnapshotMode::Internal), _) => SnapshotMode::Internal,
            (Some(SnapshotMode::External), _) if recorded => SnapshotMode::External,
            (Some(_), _) => return Err(must_be_internal(&d.target_dev)),
            (None, None) => SnapshotMode::No,
            (None, Some(src)) if external_memory => {
                return Err(if std::path::Path::new(src).is_file() {
                    must_be_internal(&d.target_dev)
                } else {
                    TestError::SnapshotConfig(format!(
                        "source for disk '{}' is not a regular file; refusing to generate external snapshot name",
                        d.target_dev
                    ))
                    .into()
                })
            }
            (None, Some(_)) => SnapshotMode::Internal,
        };
        out.push((d.target_dev.clone(), mode));
    }
    Ok(out)
}

fn must_be_internal(target: &str) -> rvirt_plugin_api::protocol::RemoteError {
    TestError::SnapshotConfig(format!("disk '{target}' must use snapshot mode 'internal'")).into()
}

fn find_snap<'a>(d: &'a Domain, name: &str) -> TestResult<&'a Snapshot> {
    d.snapshots.iter().find(|s| s.name == name).ok_or_else(|| {
        TestError::NoSnapshot(format!("no domain snapshot with matching name '{name}'")).into()
    })
}

/// DOMAIN_SNAPSHOT_CREATE_XML.
pub fn create(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullDomain,
    xml: &str,
    flags: u32,
) -> TestResult<RemoteNonnullDomainSnapshot> {
    check_flags(flags, CREATE_ALL, "testDomainSnapshotCreateXML")?;
    let opts = ParseOptions::validate(flags & CREATE_VALIDATE != 0);
    if flags & CREATE_REDEFINE != 0 {
        let sn = redefinition(s, r, xml, opts)?;
        let d = find_mut(s, r)?;
        let out = snap_ref(d, &sn.name);
        if flags & CREATE_NO_METADATA == 0 {
            if flags & CREATE_CURRENT != 0 {
                d.current_snapshot = Some(sn.name.clone());
            }
            d.snapshots.retain(|x| x.name != sn.name);
            d.snapshots.push(sn);
        }
        return Ok(out);
    }
    let req =
        SnapshotRequest::parse_with(xml, opts).map_err(parse_error(domain::DOMAIN_SNAPSHOT))?;
    let i = index(s, r)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|t| t.as_secs())
        .unwrap_or(0);
    let d = &mut s.domains[i];
    let disks = align_disks(&d.def, &req, false)?;
    let name = req.name.clone().unwrap_or_else(|| now.to_string());
    if d.snapshots.iter().any(|x| x.name == name) {
        return Err(TestError::Failed(format!("domain moment {name} already exists")).into());
    }
    let sn = Snapshot {
        name: name.clone(),
        description: req.description,
        parent: d.current_snapshot.clone(),
        creation_time: now,
        state: d.state,
        disks,
        disk_sources: Vec::new(),
        memory_file: req
            .memory_file
            .filter(|_| req.memory == Some(SnapshotMode::External)),
        def: d.def.clone(),
        inactive_def: None,
    };
    let out = snap_ref(d, &name);
    if flags & CREATE_NO_METADATA == 0 {
        d.snapshots.push(sn);
        if flags & CREATE_REDEFINE == 0 || flags & CREATE_CURRENT != 0 {
            d.current_snapshot = Some(name);
        }
    }
    if flags & CREATE_HALT != 0 && d.is_active() {
        let d = stop_state(s, i, reason::SHUTOFF_FROM_SNAPSHOT);
        evs.push(Event::Domain(
            dom_ref(d),
            ev::STOPPED,
            ev::STOPPED_FROM_SNAPSHOT,
        ));
        if !d.persistent {
            s.domains.remove(i);
        }
    }
    Ok(out)
}

/// An error of libvirt's snapshot code placed in `error_domain`.
fn placed(e: TestError, error_domain: i32) -> rvirt_plugin_api::protocol::RemoteError {
    let mut r: rvirt_plugin_api::protocol::RemoteError = e.into();
    r.domain = error_domain;
    r
}

/// The recorded state and creation time of a redefinition, with libvirt's refusals.
fn recorded_state(req: &SnapshotRequest, rec: &SnapshotRecord) -> TestResult<(i32, u64)> {
    let xml_error =
        |m: &str| parse_error(domain::DOMAIN_SNAPSHOT)(rvirt_xml::XmlError::Message(m.into()));
    if req.name.is_none() {
        return Err(xml_error("a redefined snapshot must have a name"));
    }
    let word = rec
        .state
        .as_deref()
        .ok_or_else(|| xml_error("missing state from existing snapshot"))?;
    let state = STATES.iter().position(|s| *s == word).ok_or_else(|| {
        placed(
            TestError::SnapshotConfig(format!("Invalid state '{word}' in domain snapshot XML")),
            domain::DOMAIN_SNAPSHOT,
        )
    })? as i32;
    let created = rec
        .creation_time
        .as_deref()
        .and_then(|t| t.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            placed(
                TestError::Internal("missing creationTime from existing snapshot".into()),
                domain::DOMAIN_SNAPSHOT,
            )
        })?;
    let memory_saved = matches!(
        req.memory,
        Some(SnapshotMode::Internal | SnapshotMode::External)
    );
    if memory_saved && matches!(state, dstate::SHUTOFF | DISK_SNAPSHOT) {
        return Err(xml_error(
            "memory state cannot be saved with offline or disk-only snapshot",
        ));
    }
    Ok((state, created))
}

/// The snapshot a `VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE` document describes, checked as
/// libvirt checks it: its own domain definition (of this domain), a known parent.
fn redefinition(
    s: &Inner,
    r: &RemoteNonnullDomain,
    xml: &str,
    opts: ParseOptions,
) -> TestResult<Snapshot> {
    let (req, rec) = SnapshotRequest::parse_redefinition(xml, opts)
        .map_err(parse_error(domain::DOMAIN_SNAPSHOT))?;
    let (state, creation_time) = recorded_state(&req, &rec)?;
    let name = req.name.clone().unwrap_or_default();
    let parse = |e: &rvirt_xml::tree::Element| {
        let mut def = DomainDef::from_element(e).map_err(parse_error(domain::DOMAIN))?;
        crate::domain::fill_arch(&mut def);
        Ok::<_, rvirt_plugin_api::protocol::RemoteError>(def)
    };
    let def = match &rec.domain {
        Some(e) => parse(e)?,
        None => {
            return Err(placed(
                TestError::Internal("missing domain in snapshot".into()),
                domain::DOMAIN_SNAPSHOT,
            ))
        }
    };
    let inactive_def = rec.inactive_domain.as_ref().map(parse).transpose()?;
    let d = find(s, r)?;
    if def.uuid != d.def.uuid {
        return Err(placed(
            TestError::InvalidArg(format!(
                "definition for snapshot {name} must use uuid {}",
                d.def.uuid
            )),
            domain::DOMAIN_SNAPSHOT,
        ));
    }
    if let Some(p) = rec.parent.as_deref() {
        if !d.snapshots.iter().any(|x| x.name == p) {
            return Err(placed(
                TestError::InvalidArg(format!("parent {p} for moment {name} not found")),
                domain::DOMAIN,
            ));
        }
    }
    let disks = align_disks(&def, &req, state == DISK_SNAPSHOT)?;
    let disk_sources = req
        .disks
        .iter()
        .filter_map(|r| {
            let dev = def
                .disks()
                .find(|d| d.target_dev == r.name || d.source.as_deref() == Some(r.name.as_str()))?;
            Some((dev.target_dev.clone(), r.source.clone()?))
        })
        .collect();
    Ok(Snapshot {
        name,
        description: req.description,
        parent: rec.parent,
        creation_time,
        state,
        disks,
        disk_sources,
        memory_file: req
            .memory_file
            .filter(|_| req.memory == Some(SnapshotMode::External)),
        def,
        inactive_def,
    })
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

fn listed(d: &Domain, flags: u32) -> TestResult<Vec<String>> {
    check_flags(flags, LIST_ALL, "testDomainListAllSnapshots")?;
    let keep = |x: &Snapshot| {
        let external = x.memory_file.is_some();
        moment::snapshot_filter(flags, state_name(x.state), external)
    };
    Ok(moment::select(&d.snapshots, None, flags, keep)
        .into_iter()
        .map(|x| x.name.clone())
        .collect())
}

pub fn list_all(
    s: &Inner,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<Vec<RemoteNonnullDomainSnapshot>> {
    let d = find(s, r)?;
    Ok(listed(d, flags)?.iter().map(|n| snap_ref(d, n)).collect())
}

pub fn names(s: &Inner, r: &RemoteNonnullDomain, max: i32, flags: u32) -> TestResult<Vec<String>> {
    let mut v = listed(find(s, r)?, flags)?;
    v.truncate(max.max(0) as usize);
    Ok(v)
}

pub fn num(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<i32> {
    Ok(listed(find(s, r)?, flags)?.len() as i32)
}

pub fn lookup(
    s: &Inner,
    r: &RemoteNonnullDomain,
    name: &str,
    flags: u32,
) -> TestResult<RemoteNonnullDomainSnapshot> {
    check_flags(flags, 0, "testDomainSnapshotLookupByName")?;
    let d = find(s, r)?;
    Ok(snap_ref(d, &find_snap(d, name)?.name))
}

pub fn current(
    s: &Inner,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<RemoteNonnullDomainSnapshot> {
    check_flags(flags, 0, "testDomainSnapshotCurrent")?;
    let d = find(s, r)?;
    match &d.current_snapshot {
        Some(n) => Ok(snap_ref(d, n)),
        None => {
            Err(TestError::NoSnapshot("the domain does not have a current snapshot".into()).into())
        }
    }
}

pub fn has_current(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<i32> {
    check_flags(flags, 0, "testDomainHasCurrentSnapshot")?;
    Ok(find(s, r)?.current_snapshot.is_some() as i32)
}

pub fn get_xml(s: &Inner, sn: &RemoteNonnullDomainSnapshot, flags: u32) -> TestResult<String> {
    check_flags(flags, 1, "testDomainSnapshotGetXMLDesc")?;
    let d = find(s, &sn.dom)?;
    Ok(to_xml(find_snap(d, &sn.name)?))
}

/// DOMAIN_REVERT_TO_SNAPSHOT: the domain takes the snapshot's config and state.
pub fn revert(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    sn: &RemoteNonnullDomainSnapshot,
    flags: u32,
) -> TestResult<()> {
    check_flags(flags, REVERT_ALL, "testDomainRevertToSnapshot")?;
    let i = index(s, &sn.dom)?;
    let snap = find_snap(&s.domains[i], &sn.name)?.clone();
    let mut target = snap.state;
    if flags & REVERT_RUNNING != 0 {
        target = dstate::RUNNING;
    } else if flags & REVERT_PAUSED != 0 {
        target = dstate::PAUSED;
    }
    // As libvirt's test driver: an active domain is stopped and started again from the
    // snapshot, whatever the snapshot's state.
    if s.domains[i].is_active() {
        let d = stop_state(s, i, reason::SHUTOFF_FROM_SNAPSHOT);
        evs.push(Event::Domain(
            dom_ref(d),
            ev::STOPPED,
            ev::STOPPED_FROM_SNAPSHOT,
        ));
    }
    s.domains.update(i, |d| d.def = snap.def.clone());
    if target != dstate::SHUTOFF {
        start_state(s, i, dstate::RUNNING, reason::RUNNING_FROM_SNAPSHOT);
        evs.push(Event::Domain(
            dom_ref(&s.domains[i]),
            ev::STARTED,
            ev::STARTED_FROM_SNAPSHOT,
        ));
    }
    let d = &mut s.domains[i];
    if target == dstate::PAUSED {
        d.state = dstate::PAUSED;
        d.reason = reason::PAUSED_FROM_SNAPSHOT;
        evs.push(Event::Domain(
            dom_ref(d),
            ev::SUSPENDED,
            ev::SUSPENDED_FROM_SNAPSHOT,
        ));
    }
    d.current_snapshot = Some(snap.name);
    Ok(())
}

/// DOMAIN_SNAPSHOT_DELETE.
pub fn delete(s: &mut Inner, sn: &RemoteNonnullDomainSnapshot, flags: u32) -> TestResult<()> {
    check_flags(flags, DELETE_ALL, "testDomainSnapshotDelete")?;
    let d = find_mut(s, &sn.dom)?;
    let name = find_snap(d, &sn.name)?.name.clone();
    let gone = moment::doomed(
        &d.snapshots,
        &name,
        flags & DELETE_CHILDREN != 0,
        flags & DELETE_CHILDREN_ONLY != 0,
    );
    let current = d.current_snapshot.clone();
    if let Some(c) = moment::remove(&mut d.snapshots, &name, &gone, current.as_deref()) {
        d.current_snapshot = c;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lookup_by_name;
    use crate::state::Driver;

    #[test]
    fn snapshot_lifecycle() {
        let d = Driver::new_default();
        d.write(|s, evs| {
            let r = lookup_by_name(s, "test")?;
            assert_eq!(has_current(s, &r, 0)?, 0);
            let a = create(
                s,
                evs,
                &r,
                "<domainsnapshot><name>a</name></domainsnapshot>",
                0,
            )?;
            create(
                s,
                evs,
                &r,
                "<domainsnapshot><name>b</name><description>x</description></domainsnapshot>",
                0,
            )?;
            assert_eq!(num(s, &r, 0)?, 2);
            assert_eq!(names(s, &r, 10, LIST_ROOTS)?, ["a"]);
            assert_eq!(current(s, &r, 0)?.name, "b");
            let xml = get_xml(s, &lookup(s, &r, "b", 0)?, 0)?;
            assert!(xml.contains("<parent>\n    <name>a</name>"));
            assert!(xml.contains("<state>running</state>"));
            let err = create(
                s,
                evs,
                &r,
                "<domainsnapshot><name>a</name></domainsnapshot>",
                0,
            )
            .unwrap_err();
            assert_eq!(
                err.text(),
                "operation failed: domain moment a already exists"
            );
            revert(s, evs, &a, 0)?;
            assert_eq!(current(s, &r, 0)?.name, "a");
            delete(s, &a, DELETE_CHILDREN)?;
            assert_eq!(num(s, &r, 0)?, 0);
            assert_eq!(lookup(s, &r, "a", 0).unwrap_err().code, 72);
            Ok(())
        })
        .unwrap();
    }
}
