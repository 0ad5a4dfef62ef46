//! Mounting the file system of an `fs` or `netfs` pool on its target, as libvirt does.
//!
//! The source is the pool's device (`fs`), `HOST:DIR` (`netfs` over NFS) or
//! `//HOST/DIR` (`netfs` over CIFS, `dir` being the share's name). The command is
//! `mount -o OPTIONS -t FORMAT SOURCE TARGET`, without `-t` for a `netfs` pool of format
//! `auto` (`mount -t auto` does not find NFS where plain `mount` does). The options are
//! libvirt's defaults `nodev,nosuid,noexec`, then those of the format (`nfsvers=N` for
//! a `<protocol ver>`, `guest` for CIFS, `direct-io-mode=1` for GlusterFS), then the
//! pool's own `<fs:mount_opts>`. A pool whose source is mounted on its target already
//! is taken as started; a stop unmounts it only when it is mounted.

use rvirt_xml::storage::StoragePoolDef;

use crate::cmd::{libvirt_program, run, run_with};
use crate::error::{SResult, StorageError};
use crate::pool::target;

/// libvirt's default mount options on Linux.
const DEFAULT_OPTS: &str = "nodev,nosuid,noexec";

fn is_netfs(def: &StoragePoolDef) -> bool {
    def.pool_type == "netfs"
}

fn format(def: &StoragePoolDef) -> &str {
    def.source.format.as_deref().unwrap_or("auto")
}

/// libvirt's checks of the source before mounting or unmounting.
pub fn check_source(def: &StoragePoolDef) -> SResult<()> {
    let err = |m: &str| Err(StorageError::Internal(m.into()));
    if is_netfs(def) {
        match def.source.hosts.len() {
            1 => {}
            _ => return err("expected exactly 1 host for the storage pool"),
        }
        if def.source.hosts[0].name.is_empty() {
            return err("missing source host");
        }
        if def.source.dir.is_none() {
            return err("missing source path");
        }
        return Ok(());
    }
    match def.source.devices.len() {
        1 => Ok(()),
        0 => err("missing source device"),
        _ => err("expected exactly 1 device for the storage pool"),
    }
}

/// What is mounted: the device, `HOST:DIR` or, for CIFS, `//HOST/DIR`.
pub fn source(def: &StoragePoolDef) -> SResult<String> {
    check_source(def)?;
    if !is_netfs(def) {
        return Ok(def.source.devices[0].path.clone());
    }
    let host = &def.source.hosts[0].name;
    let dir = def.source.dir.as_deref().unwrap_or_default();
    Ok(if format(def) == "cifs" {
        format!("//{host}/{dir}")
    } else {
        format!("{host}:{dir}")
    })
}

/// The `-o` list: libvirt's defaults, the format's own, the pool's.
fn options(def: &StoragePoolDef) -> String {
    let mut opts = vec![DEFAULT_OPTS.to_string()];
    let own = match (is_netfs(def), format(def)) {
        (true, "cifs") => Some("guest".to_string()),
        (true, "glusterfs") => Some("direct-io-mode=1".to_string()),
        (true, _) => def
            .source
            .protocol_ver
            .as_ref()
            .map(|v| format!("nfsvers={v}")),
        (false, _) => None,
    };
    opts.extend(own);
    opts.extend(def.mount_opts.iter().cloned());
    opts.join(",")
}

/// `mount`'s arguments for the pool.
pub fn mount_args(def: &StoragePoolDef) -> SResult<Vec<String>> {
    let src = source(def)?;
    let mut args = vec!["-o".to_string(), options(def)];
    if !(is_netfs(def) && format(def) == "auto") {
        args.extend(["-t".to_string(), format(def).to_string()]);
    }
    args.extend([src, target(def)?.to_string()]);
    Ok(args)
}

/// `/proc/mounts` escapes blanks and backslashes as octal.
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Two paths are the same file, or (when either does not resolve) the same text.
fn same_path(a: &str, b: &str) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Whether the pool's source is mounted on its target.
pub fn is_mounted(def: &StoragePoolDef) -> SResult<bool> {
    let (src, path) = (source(def)?, target(def)?);
    let mounts = std::fs::read_to_string("/proc/mounts")
        .map_err(|e| StorageError::io("cannot read /proc/mounts", &e))?;
    Ok(mounts.lines().any(|l| {
        let mut f = l.split(' ');
        match (f.next(), f.next()) {
            (Some(s), Some(d)) => same_path(&unescape(d), path) && same_path(&unescape(s), &src),
            _ => false,
        }
    }))
}

/// Mounts the pool's source on its target, unless it is mounted there already.
pub fn mount(def: &StoragePoolDef) -> SResult<()> {
    if is_mounted(def)? {
        tracing::info!("Target '{}' is already mounted", target(def)?);
        return Ok(());
    }
    let args = mount_args(def)?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // libvirt reports mount's stderr with its newline.
    run_with(&libvirt_program("/bin/mount"), &args, true).map(|_| ())
}

/// Unmounts the target if the pool's source is mounted there.
pub fn unmount(def: &StoragePoolDef) -> SResult<()> {
    if !is_mounted(def)? {
        return Ok(());
    }
    run(&libvirt_program("/bin/umount"), &[target(def)?]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(xml: &str) -> StoragePoolDef {
        StoragePoolDef::parse(xml).unwrap()
    }

    #[test]
    fn mount_commands_are_libvirts() {
        let nfs = def(
            "<pool type='netfs'><name>n</name><source><host name='srv'/>\
                       <dir path='/export/a'/><format type='nfs'/><protocol ver='3'/></source>\
                       <target><path>/mnt/n</path></target></pool>",
        );
        assert_eq!(
            mount_args(&nfs).unwrap(),
            [
                "-o",
                "nodev,nosuid,noexec,nfsvers=3",
                "-t",
                "nfs",
                "srv:/export/a",
                "/mnt/n"
            ]
        );
        let auto = def(
            "<pool type='netfs' xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'>\
                        <name>n</name><source><host name='srv'/><dir path='/e'/></source>\
                        <target><path>/mnt/n</path></target><fs:mount_opts>\
                        <fs:option name='nolock'/><fs:option name='ro'/></fs:mount_opts></pool>",
        );
        assert_eq!(
            mount_args(&auto).unwrap(),
            ["-o", "nodev,nosuid,noexec,nolock,ro", "srv:/e", "/mnt/n"]
        );
        let cifs = def(
            "<pool type='netfs'><name>n</name><source><host name='srv'/>\
                        <dir path='share'/><format type='cifs'/></source>\
                        <target><path>/mnt/c</path></target></pool>",
        );
        assert_eq!(
            mount_args(&cifs).unwrap(),
            [
                "-o",
                "nodev,nosuid,noexec,guest",
                "-t",
                "cifs",
                "//srv/share",
                "/mnt/c"
            ]
        );
        let fs = def(
            "<pool type='fs'><name>f</name><source><device path='/dev/vda'/>\
                      <format type='ext4'/></source><target><path>/mnt</path></target></pool>",
        );
        assert_eq!(
            mount_args(&fs).unwrap(),
            [
                "-o",
                "nodev,nosuid,noexec",
                "-t",
                "ext4",
                "/dev/vda",
                "/mnt"
            ]
        );
    }

    #[test]
    fn mount_table_fields_unescaped() {
        assert_eq!(unescape("/a\\040b\\134c"), "/a b\\c");
        let proc = def(
            "<pool type='fs'><name>f</name><source><device path='proc'/></source>\
                        <target><path>/proc</path></target></pool>",
        );
        assert!(is_mounted(&proc).unwrap());
        let none = def(
            "<pool type='fs'><name>f</name><source><device path='/dev/x'/></source>\
                        <target><path>/no/such/mount/point</path></target></pool>",
        );
        assert!(!is_mounted(&none).unwrap());
    }
}
