//! Domain checkpoints: metadata only, as in libvirt's test driver. A checkpoint's parent
//! is the checkpoint taken before it; deleting one hands its children to its parent.

use std::time::{SystemTime, UNIX_EPOCH};

use rvirt_plugin_api::protocol::{RemoteError, RemoteNonnullDomain, RemoteNonnullDomainCheckpoint};
use rvirt_xml::checkpoint::{CheckpointRequest, CheckpointView};
use rvirt_xml::domain::DomainDef;

use crate::domain::{dom_ref, find, find_mut};
use crate::error::{check_flags, parse_error, TestError, TestResult};
use crate::state::{Domain, Inner};
use rvirt_plugin_api::sdk::domain;

/// One checkpoint of a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub name: String,
    pub description: Option<String>,
    pub parent: Option<String>,
    pub creation_time: u64,
    /// Every disk of the domain (target) and its bitmap, `None` for a disk left out.
    pub disks: Vec<(String, Option<String>)>,
    pub def: DomainDef,
}

const CREATE_ALL: u32 = 0x7;
const XML_NO_DOMAIN: u32 = 0x2;
const XML_ALL: u32 = 0x7;
const LIST_ROOTS_OR_DESCENDANTS: u32 = 0x1;
const LIST_LEAVES: u32 = 0x4;
const LIST_NO_LEAVES: u32 = 0x8;
const LIST_ALL: u32 = 0xf;
const DELETE_CHILDREN: u32 = 0x1;
const DELETE_CHILDREN_ONLY: u32 = 0x4;
const DELETE_ALL: u32 = 0x7;

fn checkpoint_ref(d: &Domain, name: &str) -> RemoteNonnullDomainCheckpoint {
    RemoteNonnullDomainCheckpoint {
        name: name.to_string(),
        dom: dom_ref(d),
    }
}

fn not_found(what: String) -> RemoteError {
    TestError::NoCheckpoint(what).into()
}

fn find_checkpoint<'a>(d: &'a Domain, name: &str) -> TestResult<&'a Checkpoint> {
    d.checkpoints
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| not_found(format!("no domain checkpoint with matching name '{name}'")))
}

/// Every disk of `def` and its bitmap: what the request asks, else the checkpoint's
/// name for a disk with media and none for an empty drive.
fn align_disks(
    def: &DomainDef,
    req: &CheckpointRequest,
    name: &str,
) -> TestResult<Vec<(String, Option<String>)>> {
    let disks: Vec<_> = def.disks().collect();
    let names =
        |r: &str, d: &&rvirt_xml::domain::Disk| d.target_dev == r || d.source.as_deref() == Some(r);
    if let Some(r) = req
        .disks
        .iter()
        .find(|r| !disks.iter().any(|d| names(&r.name, d)))
    {
        let msg = format!("no disk named '{}'", r.name);
        return Err(TestError::CheckpointConfig(msg).into());
    }
    Ok(disks
        .iter()
        .map(|d| {
            let asked = req.disks.iter().find(|r| names(&r.name, d));
            let bitmap = match asked.and_then(|r| r.bitmap) {
                Some(false) => None,
                Some(true) => Some(
                    asked
                        .and_then(|r| r.bitmap_name.clone())
                        .unwrap_or(name.into()),
                ),
                None if d.source.is_some() => Some(name.to_string()),
                None => None,
            };
            (d.target_dev.clone(), bitmap)
        })
        .collect())
}

/// DOMAIN_CHECKPOINT_CREATE_XML.
pub fn create(
    s: &mut Inner,
    r: &RemoteNonnullDomain,
    xml: &str,
    flags: u32,
) -> TestResult<RemoteNonnullDomainCheckpoint> {
    check_flags(flags, CREATE_ALL, "testDomainCheckpointCreateXML")?;
    let req = CheckpointRequest::parse(xml).map_err(parse_error(domain::DOMAIN_CHECKPOINT))?;
    let d = find_mut(s, r)?;
    if !d.is_active() {
        return Err(
            TestError::Unsupported("cannot create checkpoint for inactive domain".into()).into(),
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|t| t.as_secs())
        .unwrap_or(0);
    let name = req.name.clone().unwrap_or_else(|| now.to_string());
    let disks = align_disks(&d.def, &req, &name)?;
    if d.checkpoints.iter().any(|c| c.name == name) {
        return Err(TestError::ConfFailed(format!("domain moment {name} already exists")).into());
    }
    d.checkpoints.push(Checkpoint {
        name: name.clone(),
        description: req.description,
        parent: d.current_checkpoint.replace(name.clone()),
        creation_time: now,
        disks,
        def: d.def.clone(),
    });
    Ok(checkpoint_ref(d, &name))
}

/// DOMAIN_CHECKPOINT_GET_XML_DESC.
pub fn get_xml(s: &Inner, c: &RemoteNonnullDomainCheckpoint, flags: u32) -> TestResult<String> {
    check_flags(flags, XML_ALL, "testDomainCheckpointGetXMLDesc")?;
    let cp = find_checkpoint(find(s, &c.dom)?, &c.name)?;
    let domain_xml = (flags & XML_NO_DOMAIN == 0).then(|| cp.def.to_xml(None));
    Ok(CheckpointView {
        name: &cp.name,
        description: cp.description.as_deref(),
        parent: cp.parent.as_deref(),
        creation_time: cp.creation_time,
        disks: (!cp.disks.is_empty()).then_some(cp.disks.as_slice()),
        domain_xml: domain_xml.as_deref(),
    }
    .to_xml())
}

fn has_children(d: &Domain, name: &str) -> bool {
    d.checkpoints
        .iter()
        .any(|c| c.parent.as_deref() == Some(name))
}

/// The checkpoints under `name` (all of them when `deep`), in creation order.
fn children(d: &Domain, name: &str, deep: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &d.checkpoints {
        let parent = c.parent.as_deref();
        if parent == Some(name) || (deep && parent.is_some_and(|p| out.iter().any(|o| o == p))) {
            out.push(c.name.clone());
        }
    }
    out
}

fn leaf_filter(d: &Domain, name: &str, flags: u32) -> bool {
    let leaf = !has_children(d, name);
    (flags & LIST_LEAVES == 0 || leaf) && (flags & LIST_NO_LEAVES == 0 || !leaf)
}

/// DOMAIN_LIST_ALL_CHECKPOINTS.
pub fn list_all(
    s: &Inner,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<Vec<RemoteNonnullDomainCheckpoint>> {
    check_flags(flags, LIST_ALL, "testDomainListAllCheckpoints")?;
    let d = find(s, r)?;
    Ok(d.checkpoints
        .iter()
        .filter(|c| flags & LIST_ROOTS_OR_DESCENDANTS == 0 || c.parent.is_none())
        .filter(|c| leaf_filter(d, &c.name, flags))
        .map(|c| checkpoint_ref(d, &c.name))
        .collect())
}

/// DOMAIN_CHECKPOINT_LIST_ALL_CHILDREN.
pub fn list_children(
    s: &Inner,
    c: &RemoteNonnullDomainCheckpoint,
    flags: u32,
) -> TestResult<Vec<RemoteNonnullDomainCheckpoint>> {
    check_flags(flags, LIST_ALL, "testDomainCheckpointListAllChildren")?;
    let d = find(s, &c.dom)?;
    find_checkpoint(d, &c.name)?;
    let deep = flags & LIST_ROOTS_OR_DESCENDANTS != 0;
    Ok(children(d, &c.name, deep)
        .into_iter()
        .filter(|n| leaf_filter(d, n, flags))
        .map(|n| checkpoint_ref(d, &n))
        .collect())
}

/// DOMAIN_CHECKPOINT_LOOKUP_BY_NAME.
pub fn lookup(
    s: &Inner,
    r: &RemoteNonnullDomain,
    name: &str,
    flags: u32,
) -> TestResult<RemoteNonnullDomainCheckpoint> {
    check_flags(flags, 0, "testDomainCheckpointLookupByName")?;
    let d = find(s, r)?;
    find_checkpoint(d, name)?;
    Ok(checkpoint_ref(d, name))
}

/// DOMAIN_CHECKPOINT_GET_PARENT.
pub fn parent(
    s: &Inner,
    c: &RemoteNonnullDomainCheckpoint,
    flags: u32,
) -> TestResult<RemoteNonnullDomainCheckpoint> {
    check_flags(flags, 0, "testDomainCheckpointGetParent")?;
    let d = find(s, &c.dom)?;
    match &find_checkpoint(d, &c.name)?.parent {
        Some(p) => Ok(checkpoint_ref(d, p)),
        None => Err(not_found(format!(
            "checkpoint '{}' does not have a parent",
            c.name
        ))),
    }
}

/// DOMAIN_CHECKPOINT_DELETE: the checkpoint (unless only its children are asked for)
/// and, with the children flags, everything under it; children left behind move up.
pub fn delete(s: &mut Inner, c: &RemoteNonnullDomainCheckpoint, flags: u32) -> TestResult<()> {
    check_flags(flags, DELETE_ALL, "testDomainCheckpointDelete")?;
    let d = find_mut(s, &c.dom)?;
    let parent = find_checkpoint(d, &c.name)?.parent.clone();
    let mut doomed = Vec::new();
    if flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY) != 0 {
        doomed = children(d, &c.name, true);
    }
    if flags & DELETE_CHILDREN_ONLY == 0 {
        doomed.push(c.name.clone());
    }
    for cp in d.checkpoints.iter_mut() {
        if cp.parent.as_deref() == Some(c.name.as_str()) && doomed.contains(&c.name) {
            cp.parent = parent.clone();
        }
    }
    d.checkpoints.retain(|cp| !doomed.contains(&cp.name));
    if d.current_checkpoint
        .as_ref()
        .is_some_and(|n| doomed.contains(n))
    {
        d.current_checkpoint = if doomed.contains(&c.name) {
            parent
        } else {
            Some(c.name.clone())
        };
    }
    Ok(())
}
