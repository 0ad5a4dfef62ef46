//! The `fs` and `netfs` pool backend: a file system mounted on the target directory on
//! start and unmounted on destroy (`mount.rs`), its files the volumes as in a directory
//! pool. For `fs` pools a block device, formatted by build (`mkfs`, only when asked to
//! by a build flag, as libvirt does); for `netfs` pools a network file system
//! (`netfs.rs` has its source discovery).

use std::process::Command;

use rvirt_xml::storage::StoragePoolDef;

use crate::backend::Backend;
use crate::cmd::{program, run};
use crate::error::{SResult, StorageError};
use crate::pool::{BUILD_NO_OVERWRITE, BUILD_OVERWRITE};
use crate::state::Pool;

/// The `fs` and `netfs` backend.
pub struct Fs;

impl Backend for Fs {
    fn build(&self, def: &StoragePoolDef, flags: u32) -> SResult<()> {
        crate::dir::build(def, flags)
    }
    /// Mounts the file system (one found mounted already, after a daemon restart say,
    /// is taken as it is).
    fn start(&self, def: &StoragePoolDef, _resume: bool) -> SResult<()> {
        crate::mount::mount(def)
    }
    fn stop(&self, def: &StoragePoolDef) -> SResult<()> {
        crate::mount::unmount(def)
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
    fn find_sources(&self, pool_type: &str, spec: Option<&str>, _flags: u32) -> SResult<String> {
        match pool_type {
            "netfs" => crate::netfs::find_sources(spec),
            t => Err(crate::backend::no_discovery(t)),
        }
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
