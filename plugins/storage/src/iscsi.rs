//! The `iscsi` pool backend: an iSCSI target logged in to with open-iscsi's `iscsiadm`,
//! its logical units the volumes (`scsi.rs`), as libvirt does it.
//!
//! The portal is `HOST:PORT,1` (`[HOST]:PORT,1` for IPv6 addresses; the port, 3260 when
//! the pool has none, is written back into the pool's source as libvirt does). Start
//! makes a node record for the target (`--op new`) and logs in (`--login`) unless a
//! session to the target exists; destroy logs out when there is one. A refresh finds
//! the session (`iscsiadm --mode session`), has it rescan its units (`-r ID -R`) and
//! reads them on the session's SCSI host. Source discovery is a `sendtargets`
//! discovery at the portal, one `<source>` per target. With an `<initiator>`, logins,
//! logouts and discoveries go through the open-iscsi interface of that initiator name
//! (`iscsi_iface.rs`); a login makes the interface when there is none, with a
//! persistent discovery through it. CHAP authentication is not implemented.

use rvirt_xml::storage::{PoolSource, StoragePoolDef};

use crate::backend::Backend;
use crate::cmd::{program, run};
use crate::error::{SResult, StorageError};
use crate::state::Pool;

/// The `iscsi` backend.
pub struct Iscsi;

impl Backend for Iscsi {
    /// There is nothing to build: libvirt's iSCSI backend has no build step.
    fn build(&self, _def: &StoragePoolDef, _flags: u32) -> SResult<()> {
        Ok(())
    }
    fn start(&self, def: &StoragePoolDef, _resume: bool) -> SResult<()> {
        start(def)
    }
    fn stop(&self, def: &StoragePoolDef) -> SResult<()> {
        if session(def)?.is_none() {
            return Ok(());
        }
        connection(def, "--logout")
    }
    fn refresh(&self, p: &mut Pool) -> SResult<()> {
        refresh(p)
    }
    fn delete(&self, _def: &StoragePoolDef, _flags: u32) -> SResult<()> {
        Err(crate::backend::no_pool_delete())
    }
    fn find_sources(&self, _: &str, spec: Option<&str>, _flags: u32) -> SResult<String> {
        find_sources(spec)
    }
}

const DEFAULT_PORT: i32 = 3260;

fn iscsiadm(args: &[&str]) -> SResult<String> {
    run(&program("iscsiadm"), args)
}

/// `HOST:PORT,1` of a source with one host.
fn portal(source: &PoolSource) -> SResult<String> {
    let [host] = &source.hosts[..] else {
        return Err(StorageError::Internal(
            "Expected exactly 1 host for the storage pool".into(),
        ));
    };
    let port = if host.port == 0 {
        DEFAULT_PORT
    } else {
        host.port
    };
    Ok(if host.name.contains(':') {
        format!("[{}]:{port},1", host.name)
    } else {
        format!("{}:{port},1", host.name)
    })
}

/// The target's IQN (the source device).
fn target(def: &StoragePoolDef) -> SResult<&str> {
    match &def.source.devices[..] {
        [d] if !d.path.is_empty() => Ok(&d.path),
        _ => Err(StorageError::Internal("missing source device".into())),
    }
}

/// `iscsiadm --mode node --portal P --targetname T EXTRA...`.
fn node(def: &StoragePoolDef, extra: &[&str]) -> SResult<String> {
    let (portal, target) = (portal(&def.source)?, target(def)?);
    let mut args = vec![
        "--mode",
        "node",
        "--portal",
        &portal,
        "--targetname",
        target,
    ];
    args.extend(extra);
    iscsiadm(&args)
}

/// [`node`] through the interface of the pool's initiator, if it has one (made, with a
/// persistent discovery through it, when missing).
fn connection(def: &StoragePoolDef, what: &str) -> SResult<()> {
    let Some(iqn) = def.source.initiator_iqn.as_deref() else {
        return node(def, &[what]).map(|_| ());
    };
    let iface = match crate::iscsi_iface::find(iqn)? {
        Some(i) => i,
        None => {
            let i = crate::iscsi_iface::create(iqn)?;
            discover(&portal(&def.source)?, Some(&i), true)?;
            i
        }
    };
    node(def, &[what, "--interface", &iface]).map(|_| ())
}

/// A `sendtargets` discovery at `portal` (through interface `iface`; kept in the node
/// database when `persist`): the targets found.
fn discover(portal: &str, iface: Option<&str>, persist: bool) -> SResult<Vec<String>> {
    let mut args = vec![
        "--mode",
        "discovery",
        "--type",
        "sendtargets",
        "--portal",
        portal,
    ];
    if let Some(i) = iface {
        args.extend(["--interface", i]);
    }
    if !persist {
        args.extend(["--op", "nonpersistent"]);
    }
    Ok(targets_of(&iscsiadm(&args)?))
}

/// The session id of the target in `iscsiadm --mode session` output
/// (`tcp: [ID] PORTAL TARGET ...`).
fn session_of(text: &str, target: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let (Some("tcp:"), Some(id), Some(_), Some(t)) = (f.next(), f.next(), f.next(), f.next())
        else {
            return None;
        };
        let id = id.strip_prefix('[')?.strip_suffix(']')?;
        (t == target && !id.is_empty()).then(|| id.to_string())
    })
}

/// The session to the pool's target, if there is one (`iscsiadm` exits with 21 when
/// there is none at all), and what `iscsiadm` said on stderr.
fn session_and_stderr(def: &StoragePoolDef) -> SResult<(Option<String>, String)> {
    let out = std::process::Command::new(program("iscsiadm"))
        .args(["--mode", "session"])
        .output()
        .map_err(|e| StorageError::io("Cannot run iscsiadm", &e))?;
    let id = session_of(&String::from_utf8_lossy(&out.stdout), target(def)?);
    Ok((
        id,
        String::from_utf8_lossy(&out.stderr).trim_end().to_string(),
    ))
}

fn session(def: &StoragePoolDef) -> SResult<Option<String>> {
    session_and_stderr(def).map(|(id, _)| id)
}

/// libvirt's checks, then the node record and the login, unless logged in already.
fn start(def: &StoragePoolDef) -> SResult<()> {
    let [host] = &def.source.hosts[..] else {
        return Err(StorageError::Internal(
            "Expected exactly 1 host for the storage pool".into(),
        ));
    };
    if host.name.is_empty() {
        return Err(StorageError::Internal("missing source host".into()));
    }
    let iqn = target(def)?;
    if def.source.auth.is_some() {
        return Err(StorageError::NotSupported(
            "iSCSI pools with CHAP authentication".into(),
        ));
    }
    if session(def)?.is_some() {
        return Ok(());
    }
    node(def, &["--op", "new"])
        .map_err(|_| StorageError::Internal(format!("Failed new node mode for target '{iqn}'")))?;
    connection(def, "--login")
}

/// The SCSI host of session `id`: its `targetH:B:T` entry.
fn host_number(id: &str) -> SResult<u32> {
    let path = format!("/sys/class/iscsi_session/session{id}/device");
    let err = || {
        StorageError::Internal(format!(
            "Failed to get host number for iSCSI session with path '{path}'"
        ))
    };
    std::fs::read_dir(&path)
        .map_err(|_| err())?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .find_map(|n| n.strip_prefix("target")?.split(':').next()?.parse().ok())
        .ok_or_else(err)
}

/// The session's units, rescanned first.
fn refresh(p: &mut Pool) -> SResult<()> {
    if let Some(h) = p.def.source.hosts.first_mut().filter(|h| h.port == 0) {
        h.port = DEFAULT_PORT;
    }
    let id = match session_and_stderr(&p.def)? {
        (Some(id), _) => id,
        (None, stderr) => {
            return Err(StorageError::Internal(format!(
                "cannot find iscsiadm session: {stderr}"
            )))
        }
    };
    iscsiadm(&["--mode", "session", "-r", &id, "-R"])?;
    crate::scsi::find_units(p, host_number(&id)?)
}

/// The targets of `iscsiadm --mode discovery` output (`PORTAL TARGET` per line).
fn targets_of(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [_, t] => Some(t.to_string()),
            _ => None,
        })
        .collect()
}

/// A `sendtargets` discovery at the portal of the specification's host.
fn find_sources(spec: Option<&str>) -> SResult<String> {
    let mut source = crate::backend::discovery_source(spec, "iscsi")?;
    if source.hosts[0].port == 0 {
        source.hosts[0].port = DEFAULT_PORT;
    }
    let portal = portal(&source)?;
    let iface = match source.initiator_iqn.as_deref() {
        None => None,
        Some(iqn) => Some(crate::iscsi_iface::find(iqn)?.ok_or_else(|| {
            StorageError::Failed(format!("no iSCSI interface defined for IQN {iqn}"))
        })?),
    };
    let sources: Vec<PoolSource> = discover(&portal, iface.as_deref(), false)?
        .into_iter()
        .map(|t| PoolSource {
            hosts: source.hosts.clone(),
            devices: vec![rvirt_xml::storage::PoolDevice {
                path: t,
                ..Default::default()
            }],
            initiator_iqn: source.initiator_iqn.clone(),
            ..PoolSource::default()
        })
        .collect();
    Ok(rvirt_xml::storage::sources_to_xml("iscsi", &sources))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_targets_are_read() {
        let s = "tcp: [1] 10.0.0.1:3260,1 iqn.a:x (non-flash)\ntcp: [12] [::1]:3260,1 iqn.a:y (non-flash)\n";
        assert_eq!(session_of(s, "iqn.a:y").as_deref(), Some("12"));
        assert_eq!(session_of(s, "iqn.a:x").as_deref(), Some("1"));
        assert_eq!(session_of(s, "iqn.a:z"), None);
        assert_eq!(
            targets_of("127.0.0.1:3260,1 iqn.2026-12.org.rvirt:lab\n[::1]:3260,1 iqn.b\n"),
            ["iqn.2026-12.org.rvirt:lab", "iqn.b"]
        );
    }

    #[test]
    fn portals_as_libvirt_writes_them() {
        let src = |xml: &str| rvirt_xml::storage::parse_source_spec(xml, "iscsi").unwrap();
        assert_eq!(
            portal(&src("<source><host name='h'/></source>")).unwrap(),
            "h:3260,1"
        );
        assert_eq!(
            portal(&src("<source><host name='::1' port='3261'/></source>")).unwrap(),
            "[::1]:3261,1"
        );
        assert_eq!(
            find_sources(None).unwrap_err().to_string(),
            "invalid argument: hostname must be specified for iscsi sources"
        );
    }
}
