//! Internal snapshots inside the images: `qemu-img snapshot` on a shut-off domain's
//! qcow2 disks, `savevm`/`delvm` over the monitor of a running one (what libvirt 9.0
//! sends QEMU 7.2: `human-monitor-command`, not the `snapshot-save` job).

use std::process::Command;

use rvirt_xml::domain::{Disk, DomainDef};
use rvirt_xml::snapshot::SnapshotMode;

use crate::error::{QResult, QemuError};
use crate::lifecycle::monitor_error;
use crate::qmp::Qmp;

const QEMU_IMG: &str = "qemu-img";

/// A disk's image format as the driver opens it (raw when unnamed).
pub fn format(d: &Disk) -> &str {
    d.driver
        .as_ref()
        .and_then(|x| x.format.as_deref())
        .unwrap_or("raw")
}

/// The disks of `def` the snapshot's `disks` keep internally.
fn internal<'a>(def: &'a DomainDef, disks: &'a [(String, SnapshotMode)]) -> Vec<&'a Disk> {
    def.disks()
        .filter(|d| {
            disks
                .iter()
                .any(|(t, m)| *t == d.target_dev && *m == SnapshotMode::Internal)
        })
        .collect()
}

/// Runs `qemu-img snapshot OP NAME IMAGE`, with libvirt's report of a failed child.
fn run_qemu_img(op: &str, name: &str, image: &str) -> QResult<()> {
    let out = Command::new(QEMU_IMG)
        .args(["snapshot", op, name, image])
        .output()
        .map_err(|e| QemuError::io(format!("Cannot run {QEMU_IMG}"), &e))?;
    if out.status.success() {
        return Ok(());
    }
    let code = out.status.code().unwrap_or(-1);
    let err = String::from_utf8_lossy(&out.stderr);
    Err(QemuError::Internal(format!(
        "Child process ({QEMU_IMG} snapshot {op} {name} {image}) unexpected exit status {code}: {}",
        err.trim_end()
    ))
    .into())
}

/// `qemu-img snapshot OP` on every internal disk of a shut-off domain; a failed
/// create (`-c`) deletes what it made on the disks before.
pub fn offline(
    def: &DomainDef,
    disks: &[(String, SnapshotMode)],
    op: &str,
    name: &str,
) -> QResult<()> {
    let targets = internal(def, disks);
    for d in &targets {
        if d.disk_type != "file" {
            return Err(QemuError::Invalid(format!(
                "can't manipulate inactive snapshots of disk '{}'",
                d.target_dev
            ))
            .into());
        }
        if format(d) != "qcow2" {
            return Err(QemuError::Invalid(format!(
                "Disk device '{}' does not support snapshotting",
                d.target_dev
            ))
            .into());
        }
    }
    for (i, d) in targets.iter().enumerate() {
        let Some(src) = d.source.as_deref() else {
            continue;
        };
        if let Err(e) = run_qemu_img(op, name, src) {
            if op == "-c" {
                for done in targets[..i].iter().filter_map(|d| d.source.as_deref()) {
                    let _ = run_qemu_img("-d", name, done);
                }
            }
            return Err(e);
        }
    }
    Ok(())
}

/// The argument of an HMP snapshot command, quoted as libvirt quotes it.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `savevm`: the running guest's disks and memory into its images.
pub fn savevm(qmp: &Qmp, name: &str) -> QResult<()> {
    let reply = qmp
        .hmp(&format!("savevm {}", quoted(name)))
        .map_err(monitor_error)?;
    if reply.contains("Error while creating snapshot")
        || reply.contains("Could not open VM state file")
        || reply.contains("State blocked by non-migratable device")
        || reply.contains("Error: ")
        || (reply.contains("Error") && reply.contains("while writing VM"))
    {
        return Err(
            QemuError::Failed(format!("Failed to take snapshot: {}", reply.trim_end())).into(),
        );
    }
    if reply.contains("No block device can accept snapshots") {
        return Err(QemuError::Invalid(
            "this domain does not have a device to take snapshots".into(),
        )
        .into());
    }
    Ok(())
}

/// `delvm`: an internal snapshot of a running guest out of its images.
pub fn delvm(qmp: &Qmp, name: &str) -> QResult<()> {
    let reply = qmp
        .hmp(&format!("delvm {}", quoted(name)))
        .map_err(monitor_error)?;
    if reply.contains("No block device supports snapshots") {
        return Err(QemuError::Invalid(
            "this domain does not have a device to delete snapshots".into(),
        )
        .into());
    }
    if reply.contains("Snapshots not supported on device") {
        return Err(QemuError::Invalid(reply.trim_end().to_string()).into());
    }
    if reply.contains("Error") && reply.contains("while deleting snapshot") {
        return Err(
            QemuError::Failed(format!("Failed to delete snapshot: {}", reply.trim_end())).into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_quoted_for_hmp() {
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
