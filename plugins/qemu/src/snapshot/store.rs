//! Snapshot metadata on disk: `STATE_DIR/snapshot/DOMAIN/NAME.xml`, the snapshot's XML
//! plus `<active>1</active>` on the current one (libvirt's internal format), each
//! written atomically so a kill at any moment leaves the old or the new file.

use std::path::{Path, PathBuf};

use rvirt_xml::domain::DomainDef;
use rvirt_xml::snapshot::{SnapshotMode, SnapshotRequest};
use rvirt_xml::ParseOptions;

use super::Snapshot;
use crate::config::{write_atomic, Config};
use crate::driver::{Dom, Driver};
use crate::error::{QResult, QemuError};

fn file(cfg: &Config, dom: &str, name: &str) -> PathBuf {
    cfg.snapshot_dir(dom).join(format!("{name}.xml"))
}

/// The stored form of `sn`.
pub fn stored_xml(sn: &Snapshot, current: bool) -> String {
    let mut x = sn.to_xml();
    if let Some(at) = x.rfind("</domainsnapshot>") {
        x.insert_str(at, &format!("  <active>{}</active>\n", u8::from(current)));
    }
    x
}

/// Writes `sn` of domain `dom`; a failure is logged (the snapshot itself exists).
pub fn write(drv: &Driver, dom: &str, sn: &Snapshot, current: bool) {
    if let Err(e) = try_write(&drv.cfg, dom, sn, current) {
        tracing::warn!("{e}");
    }
}

/// Writes `sn` of domain `dom`, or says why not.
pub fn try_write(cfg: &Config, dom: &str, sn: &Snapshot, current: bool) -> QResult<()> {
    let dir = cfg.snapshot_dir(dom);
    std::fs::create_dir_all(&dir).map_err(|e| {
        QemuError::io(
            format!("cannot create snapshot directory '{}'", dir.display()),
            &e,
        )
    })?;
    let path = file(cfg, dom, &sn.name);
    write_atomic(&path, stored_xml(sn, current).as_bytes()).map_err(|e| {
        QemuError::io(
            format!("failed to write snapshot data '{}'", path.display()),
            &e,
        )
        .into()
    })
}

/// Removes the file of snapshot `name`.
pub fn remove(cfg: &Config, dom: &str, name: &str) {
    let _ = std::fs::remove_file(file(cfg, dom, name));
}

/// Removes every snapshot file of domain `dom`.
pub fn remove_all(cfg: &Config, dom: &str) {
    let _ = std::fs::remove_dir_all(cfg.snapshot_dir(dom));
}

/// Reads the snapshots of `d` from its directory; a file that does not parse is logged
/// and left alone.
pub fn load(cfg: &Config, d: &mut Dom) {
    let Ok(rd) = std::fs::read_dir(cfg.snapshot_dir(&d.def.name)) else {
        return;
    };
    let mut found = Vec::new();
    for entry in rd.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        match read(&path) {
            Ok((sn, current)) => found.push((sn, current)),
            Err(e) => tracing::warn!("ignoring snapshot file {}: {e}", path.display()),
        }
    }
    // Creation order, which is also an order of parents before children.
    found.sort_by(|a, b| (a.0.creation_time, &a.0.name).cmp(&(b.0.creation_time, &b.0.name)));
    for (sn, current) in found {
        if current {
            d.current_snapshot = Some(sn.name.clone());
        }
        d.snapshots.push(sn);
    }
    // Parents before children, even for snapshots taken within one second.
    let order: Vec<String> = rvirt_xml::moment::topological(&d.snapshots)
        .into_iter()
        .map(|s| s.name.clone())
        .collect();
    d.snapshots.sort_by_key(|s| {
        order
            .iter()
            .position(|n| *n == s.name)
            .unwrap_or(usize::MAX)
    });
}

/// One stored snapshot and whether it is the current one.
pub fn read(path: &Path) -> Result<(Snapshot, bool), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (req, rec) = SnapshotRequest::parse_redefinition(&text, ParseOptions::default())
        .map_err(|e| e.to_string())?;
    let name = req.name.ok_or("no name")?;
    let def = |e: &rvirt_xml::tree::Element| DomainDef::from_element(e).map_err(|e| e.to_string());
    let sn = Snapshot {
        name,
        description: req.description,
        parent: rec.parent,
        creation_time: rec
            .creation_time
            .as_deref()
            .and_then(|t| t.trim().parse().ok())
            .ok_or("no creation time")?,
        state: rec.state.ok_or("no state")?,
        memory: req.memory.unwrap_or(SnapshotMode::No),
        memory_file: req.memory_file,
        disks: req
            .disks
            .into_iter()
            .map(|d| (d.name, d.mode.unwrap_or(SnapshotMode::No)))
            .collect(),
        def: def(rec.domain.as_ref().ok_or("no domain")?)?,
        inactive_def: rec.inactive_domain.as_ref().map(def).transpose()?,
    };
    Ok((sn, rec.active))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_snapshots_read_back() {
        let dir = std::env::temp_dir().join(format!("rvirt-qemu-snap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cfg = Config::parse("", dir.to_str().unwrap()).unwrap();
        let a = super::super::tests::sample("a", None);
        let b = super::super::tests::sample("b", Some("a"));
        try_write(&cfg, "dom", &b, true).unwrap();
        try_write(&cfg, "dom", &a, false).unwrap();
        std::fs::write(cfg.snapshot_dir("dom").join("bad.xml"), "<domainsnapshot").unwrap();
        let mut d = Dom::new(a.def.clone(), true);
        d.def.name = "dom".into();
        load(&cfg, &mut d);
        assert_eq!(d.snapshots, [a, b]);
        assert_eq!(d.current_snapshot.as_deref(), Some("b"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
