//! `blockrebase --copy` (libvirt's `blockcopy` through virDomainBlockRebase): a new image
//! made with `qemu-img`, opened as `libvirt-N-storage` / `libvirt-N-format` nodes and
//! filled by `blockdev-mirror`; the job stays ready until pivoted to or aborted.

use std::process::Command;

use serde_json::{json, Value};

use rvirt_plugin_api::protocol::facts::{block_copy, block_rebase};
use rvirt_plugin_api::protocol::{RemoteNonnullDomain, RemoteTypedParam, RemoteTypedParamValue};

use super::start::{busy, launch, live_chain};
use super::{find_disk, job_name, kind, speed, BlockJobError, Job};
use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};
use crate::lifecycle::monitor_error;
use crate::qmp::Qmp;

/// The first `libvirt-N-` number no node of QEMU's uses.
fn free_index(qmp: &Qmp) -> QResult<u32> {
    let nodes = qmp
        .execute("query-named-block-nodes", None)
        .map_err(monitor_error)?;
    let used = nodes
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["node-name"].as_str())
        .filter_map(|n| {
            n.strip_prefix("libvirt-")?
                .split('-')
                .next()?
                .parse::<u32>()
                .ok()
        });
    Ok(used.max().unwrap_or(0) + 1)
}

/// libvirt makes the copy itself: an existing file (not a block device) is refused.
fn refuse_existing(dev: &str, dest: &str) -> QResult<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(dest) {
        Ok(m) if !m.file_type().is_block_device() => Err(QemuError::Unsupported(format!(
            "external destination file for disk {dev} already exists and is not a block \
             device: {dest}"
        ))
        .into()),
        _ => Ok(()),
    }
}

/// Makes the empty image `dest` of `format` and `size` bytes.
fn create(dest: &str, format: &str, size: u64) -> QResult<()> {
    let out = Command::new("qemu-img")
        .args(["create", "-q", "-f", format, dest, &size.to_string()])
        .output()
        .map_err(|e| BlockJobError::Create(dest.into(), e.to_string()))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(BlockJobError::Create(dest.into(), why).into());
    }
    Ok(())
}

/// Opens `dest` as nodes `libvirt-N-storage` and `libvirt-N-format`; returns their names
/// (format first).
fn open(qmp: &Qmp, n: u32, dest: &str, format: &str) -> QResult<Vec<String>> {
    let (storage, fmt) = (
        format!("libvirt-{n}-storage"),
        format!("libvirt-{n}-format"),
    );
    let file: Value = json!({"driver": "file", "filename": dest, "node-name": storage,
        "auto-read-only": true, "discard": "unmap"});
    qmp.execute("blockdev-add", Some(file))
        .map_err(monitor_error)?;
    let top: Value = json!({"node-name": fmt, "read-only": false, "driver": format,
        "file": storage});
    if let Err(e) = qmp.execute("blockdev-add", Some(top)) {
        let _ = qmp.execute("blockdev-del", Some(json!({"node-name": storage})));
        return Err(monitor_error(e));
    }
    Ok(vec![fmt, storage])
}

/// The disk, its job and monitor; a persistent domain is refused unless `transient_job`,
/// as libvirt 9.0 refuses it.
fn target(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    transient_job: bool,
) -> QResult<(rvirt_xml::domain::Disk, Option<Job>, std::sync::Arc<Qmp>)> {
    drv.read(|s| {
        let d = s.find(dom)?;
        let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
        let k = find_disk(&run.live, path).ok_or_else(|| BlockJobError::NoDisk(path.into()))?;
        if d.persistent && !transient_job {
            return Err(QemuError::Invalid("domain is not transient".into()).into());
        }
        let job = run
            .block_jobs
            .iter()
            .find(|j| j.dev == k.target_dev)
            .cloned();
        Ok((k.clone(), job, run.qmp.clone()))
    })
}

/// DOMAIN_BLOCK_REBASE with COPY: a full copy of the disk into the new image `dest`
/// (raw with COPY_RAW, else the top image's format).
pub fn copy(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    dest: &str,
    bandwidth: u64,
    flags: u32,
) -> QResult<()> {
    let allowed = block_rebase::COPY | block_rebase::COPY_RAW | block_rebase::BANDWIDTH_BYTES;
    check_flags(flags, allowed, "qemuDomainBlockRebase")?;
    let speed = speed(bandwidth, flags & block_rebase::BANDWIDTH_BYTES != 0)?;
    let raw = flags & block_rebase::COPY_RAW != 0;
    let to = Dest {
        path: dest,
        format: raw.then(|| "raw".to_string()),
        speed,
        extra: json!({}),
    };
    start(drv, dom, path, &to, false)
}

/// Where and how a copy goes.
struct Dest<'a> {
    path: &'a str,
    /// None: the top image's format.
    format: Option<String>,
    speed: u64,
    /// More `blockdev-mirror` arguments (granularity, buffer size).
    extra: Value,
}

/// Starts the copy of disk `path` to `to`.
fn start(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    to: &Dest,
    transient_job: bool,
) -> QResult<()> {
    let (dest, speed) = (to.path, to.speed);
    let (k, job, qmp) = target(drv, dom, path, transient_job)?;
    if let Some(j) = job {
        return Err(busy(&j).into());
    }
    refuse_existing(&k.target_dev, dest)?;
    let chain = live_chain(&qmp, &k)?;
    let format = to
        .format
        .clone()
        .unwrap_or_else(|| chain.layers[0].format.clone());
    create(dest, &format, chain.size)?;
    let added = open(&qmp, free_index(&qmp)?, dest, &format)?;
    let name = job_name(kind::COPY, &k.target_dev, &chain.node);
    let mut args = json!({"job-id": name, "device": chain.node, "target": added[0],
        "sync": "full", "speed": speed});
    if let (Some(a), Some(extra)) = (args.as_object_mut(), to.extra.as_object()) {
        a.extend(extra.clone());
    }
    let job = Job {
        dev: k.target_dev.clone(),
        name,
        kind: kind::COPY,
        ready: false,
        aborting: false,
        pivoting: false,
        base: Some((dest.to_string(), format.clone())),
        node: chain.node.clone(),
        added: added.clone(),
        after: None,
    };
    let (path, fmt) = (dest.to_string(), format.clone());
    let after: super::start::After =
        Box::new(move |run| Some(super::live::fresh(run, &path, &fmt)));
    launch(drv, dom, &qmp, job, after, "blockdev-mirror", args).inspect_err(|_| {
        for n in &added {
            let _ = qmp.execute("blockdev-del", Some(json!({"node-name": n})));
        }
    })
}

/// DOMAIN_BLOCK_COPY: a full copy into the new image `destxml` describes (`<disk
/// type='file'>` with `<source file>` and an optional `<driver type>`), with the
/// bandwidth (bytes/s), granularity and buf-size parameters; TRANSIENT_JOB allows a
/// persistent domain.
pub fn block_copy(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    destxml: &str,
    params: &[RemoteTypedParam],
    flags: u32,
) -> QResult<()> {
    check_flags(flags, block_copy::TRANSIENT_JOB, "qemuDomainBlockCopy")?;
    let disk = rvirt_xml::tree::parse_root(destxml, "disk").map_err(QemuError::Xml)?;
    let file = disk.child("source").and_then(|s| s.attr("file"));
    let (Some("file") | None, Some(file)) = (disk.attr("type"), file) else {
        return Err(QemuError::ArgUnsupported(
            "the copy destination must be a file given by <source file>".into(),
        )
        .into());
    };
    let mut to = Dest {
        path: file,
        format: disk
            .child("driver")
            .and_then(|d| d.attr("type"))
            .map(str::to_string),
        speed: 0,
        extra: json!({}),
    };
    for p in params {
        let v = match p.value {
            RemoteTypedParamValue::Ullong(v) => v,
            RemoteTypedParamValue::Uint(v) => u64::from(v),
            _ => continue,
        };
        match p.field.as_str() {
            "bandwidth" => to.speed = v,
            "granularity" | "buf-size" => to.extra[p.field.as_str()] = v.into(),
            _ => {}
        }
    }
    let transient_job = flags & block_copy::TRANSIENT_JOB != 0;
    start(drv, dom, path, &to, transient_job)
}
