//! The `fs` pool backend: a block device holding a file system, formatted by build
//! (`mkfs`, only when asked to by a build flag, as libvirt does), mounted on start and
//! unmounted on destroy. Its volumes are files, as in a directory pool.

use std::process::Command;

use rvirt_xml::storage::StoragePoolDef;

use crate::backend::Backend;
use crate::cmd::{program, run};
use crate::error::{SResult, StorageError};
use crate::pool::{target, BUILD_NO_OVERWRITE, BUILD_OVERWRITE};
use crate::state::Pool;

/// The `fs` backend.
pub struct Fs;

impl Backend for Fs {
    fn build(&self, def: &StoragePoolDef, flags: u32) -> SResult<()> {
        crate::dir::build(def, flags)
    }
    /// Mounts the file system; a pool found mounted after a daemon restart is taken as
    /// it is.
    fn start(&self, def: &StoragePoolDef, resume: bool) -> SResult<()> {
        if resume && is_mounted(target(def)?) {
            return Ok(());
        }
        mount(def)
    }
    fn stop(&self, def: &StoragePoolDef) -> SResult<()> {
        unmount(def)
    }
    fn refresh(&self, p: &mut Pool) -> SResult<()> {
        crate::dir::refresh(p)
    }
    fn delete(&self, def: &StoragePoolDef, flags: u32) -> SResult<()> {
        crate::dir::delete(def, flags)
    }
    fn file_volumes(&self) -> bool {
        true
    }
}

/// The pool's source device.
fn device(def: &StoragePoolDef) -> SResult<&str> {
    def.source
        .devices
        .first()
        .map(|d| d.path.as_str())
        .ok_or_else(|| {
            StorageError::Invalid(format!(
                "No source device specified when formatting pool '{}'",
                def.name
            ))
        })
}

fn format(def: &StoragePoolDef) -> &str {
    def.source.format.as_deref().unwrap_or("auto")
}

/// The file system type on `dev`, if `blkid` finds one.
pub fn probe_type(dev: &str) -> Option<String> {
    let out = Command::new(program("blkid"))
        .args(["-p", "-o", "value", "-s", "TYPE", dev])
        .output()
        .ok()?;
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !t.is_empty()).then_some(t)
}

/// Build with a formatting flag: `mkfs` of the source device. With NO_OVERWRITE a device
/// that already holds a file system is refused, as libvirt does.
pub fn make_fs(def: &StoragePoolDef, flags: u32) -> SResult<()> {
    let dev = device(def)?;
    let fmt = format(def);
    if flags & BUILD_OVERWRITE == 0 && flags & BUILD_NO_OVERWRITE != 0 {
        match probe_type(dev) {
            Some(found) if found == fmt => {
                return Err(StorageError::Built(format!(
                    "Device '{dev}' already formatted using '{fmt}'"
                )))
            }
            Some(_) => {
                return Err(StorageError::Built(format!(
                    "Format of device '{dev}' does not match the expected format '{fmt}', forced overwrite is necessary"
                )))
            }
            None => {}
        }
    }
    let mut args = vec!["-t", fmt];
    match fmt {
        "xfs" => args.push("-f"),
        "ext2" | "ext3" | "ext4" => args.push("-F"),
        "vfat" => args.push("-I"),
        _ => {}
    }
    args.push(dev);
    run(&program("mkfs"), &args).map(|_| ())
}

/// `/proc/mounts` escapes blanks and backslashes as octal.
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Whether something is mounted on `path`.
pub fn is_mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .any(|m| unescape(m) == path)
}

/// Mounts the source device on the target (refused when the target is in use).
pub fn mount(def: &StoragePoolDef) -> SResult<()> {
    let path = target(def)?;
    if is_mounted(path) {
        return Err(StorageError::Invalid(format!(
            "Target '{path}' is already mounted"
        )));
    }
    let dev = device(def)?;
    run(&program("mount"), &["-t", format(def), dev, path]).map(|_| ())
}

/// Unmounts the target if mounted.
pub fn unmount(def: &StoragePoolDef) -> SResult<()> {
    let path = target(def)?;
    if !is_mounted(path) {
        return Ok(());
    }
    run(&program("umount"), &[path]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_table_fields_unescaped() {
        assert_eq!(unescape("/a\\040b\\134c"), "/a b\\c");
        assert!(is_mounted("/proc"));
        assert!(!is_mounted("/no/such/mount/point"));
    }
}
