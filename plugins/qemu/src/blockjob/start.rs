//! Starting block work: `blockresize`, `blockpull` / `blockrebase` (`block-stream`) and
//! `blockcommit` (`block-commit`).

use serde_json::json;

use rvirt_plugin_api::protocol::facts::{block_commit, block_pull, block_rebase, block_resize};
use rvirt_plugin_api::protocol::RemoteNonnullDomain;
use rvirt_xml::domain::{ChainImage, Disk};

use super::chain::{self, Chain};
use super::{find_disk, job_name, kind, lookup, speed, BlockJobError, Job};
use crate::driver::{Driver, Run};
use crate::error::{check_flags, QResult, QemuError};
use crate::lifecycle::monitor_error;
use crate::qmp::Qmp;

/// The running disk's chain as QEMU has it open.
pub(super) fn live_chain(qmp: &Qmp, k: &Disk) -> QResult<Chain> {
    chain::of(qmp, k)
        .map_err(monitor_error)?
        .ok_or_else(|| BlockJobError::NoNode(k.target_dev.clone()).into())
}

/// The refusal of a second job on a disk.
pub(super) fn busy(j: &Job) -> BlockJobError {
    if j.mirrors() {
        BlockJobError::BusyMirror(j.dev.clone())
    } else {
        BlockJobError::Busy(j.dev.clone())
    }
}

/// The disk's chain once a job has done its work, worked out from the run's chains.
pub(super) type After<'a> = Box<dyn FnOnce(&mut Run) -> Option<Vec<ChainImage>> + 'a>;

/// Adds `job` to the run before QEMU starts it, so its events find it.
fn register(drv: &Driver, dom: &RemoteNonnullDomain, mut job: Job, after: After) -> QResult<()> {
    drv.write(|s, _| {
        let (d, _) = s.running_mut(dom)?;
        let run = d.run.as_mut().expect("running");
        if let Some(j) = run.block_jobs.iter().find(|j| j.dev == job.dev) {
            return Err(busy(j).into());
        }
        job.after = after(run);
        run.block_jobs.push(job);
        Ok(())
    })
}

/// Forgets a job QEMU refused to start.
pub(super) fn unregister(drv: &Driver, dom: &RemoteNonnullDomain, name: &str) {
    let _ = drv.write(|s, _| {
        if let Some(run) = s.find_mut(dom)?.run.as_mut() {
            run.block_jobs.retain(|j| j.name != name);
        }
        Ok(())
    });
}

/// Registers `job`, then runs `cmd`; a refused command forgets the job again.
pub(super) fn launch(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    qmp: &Qmp,
    job: Job,
    after: After,
    cmd: &str,
    args: serde_json::Value,
) -> QResult<()> {
    let name = job.name.clone();
    register(drv, dom, job, after)?;
    qmp.execute(cmd, Some(args)).map(drop).map_err(|e| {
        unregister(drv, dom, &name);
        monitor_error(e)
    })
}

/// DOMAIN_BLOCK_RESIZE: `block_resize` on the disk's top node (KiB unless BYTES; qcow2
/// sizes rounded up to 512 bytes, as libvirt).
pub fn resize(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    disk: &str,
    size: u64,
    flags: u32,
) -> QResult<()> {
    check_flags(flags, block_resize::BYTES, "qemuDomainBlockResize")?;
    let (k, qmp) = drv.read(|s| {
        let d = s.find(dom)?;
        let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
        let k =
            find_disk(&run.live, disk).ok_or_else(|| BlockJobError::NoDiskConfig(disk.into()))?;
        Ok((k.clone(), run.qmp.clone()))
    })?;
    let mut bytes = if flags & block_resize::BYTES != 0 {
        size
    } else {
        size.checked_mul(1024)
            .ok_or(BlockJobError::TooBig(u64::MAX / 1024))?
    };
    let format = k.driver.as_ref().and_then(|d| d.format.as_deref());
    if format == Some("qcow2") {
        bytes = bytes.div_ceil(512).saturating_mul(512);
    }
    let node = live_chain(&qmp, &k)?.node;
    qmp.execute(
        "block_resize",
        Some(json!({"node-name": node, "size": bytes})),
    )
    .map_err(monitor_error)?;
    Ok(())
}

/// DOMAIN_BLOCK_PULL (`func` qemuDomainBlockPull) and DOMAIN_BLOCK_REBASE without COPY:
/// `block-stream` of everything above `base` into the top image.
pub fn pull(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    base: Option<&str>,
    bandwidth: u64,
    flags: u32,
    func: &'static str,
) -> QResult<()> {
    // Both calls' BANDWIDTH_BYTES are the same bit.
    const _: () = assert!(block_pull::BANDWIDTH_BYTES == block_rebase::BANDWIDTH_BYTES);
    check_flags(flags, block_pull::BANDWIDTH_BYTES, func)?;
    let (k, job, qmp) = lookup(drv, dom, path)?;
    if let Some(j) = job {
        return Err(busy(&j).into());
    }
    let speed = speed(bandwidth, flags & block_pull::BANDWIDTH_BYTES != 0)?;
    let chain = live_chain(&qmp, &k)?;
    let b = chain.base(base, 0, &k.target_dev, false)?;
    let name = job_name(kind::PULL, &k.target_dev, &chain.node);
    let mut args = json!({"job-id": name, "device": chain.node, "speed": speed});
    if let Some(i) = b {
        args["base"] = chain.layers[i].path.clone().into();
    }
    let job = Job {
        dev: k.target_dev.clone(),
        name,
        kind: kind::PULL,
        ready: false,
        aborting: false,
        pivoting: false,
        base: None,
        node: chain.node.clone(),
        added: Vec::new(),
        after: None,
    };
    let dev = k.target_dev.clone();
    let after: After = Box::new(move |run| super::live::after(run, &dev, &chain, 1, b));
    launch(drv, dom, &qmp, job, after, "block-stream", args)
}

/// The disk, its job and monitor when the domain runs; a shut-off domain's disk has no
/// chain beyond its source (libvirt's commit looks the images up first).
fn commit_target(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
) -> QResult<(Disk, Option<Job>, Option<std::sync::Arc<Qmp>>)> {
    drv.read(|s| {
        let d = s.find(dom)?;
        let (def, run) = match &d.run {
            Some(r) => (&r.live, Some(r)),
            None => (&d.def, None),
        };
        let k = find_disk(def, path).ok_or_else(|| BlockJobError::NoDisk(path.into()))?;
        let job = run.and_then(|r| r.block_jobs.iter().find(|j| j.dev == k.target_dev).cloned());
        Ok((k.clone(), job, run.map(|r| r.qmp.clone())))
    })
}

/// DOMAIN_BLOCK_COMMIT: `block-commit` of `top` (the active layer: an active commit,
/// which needs ACTIVE and stays ready until pivoted or aborted) into `base` (the deepest
/// image when none is given).
pub fn commit(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    base: Option<&str>,
    top: Option<&str>,
    bandwidth: u64,
    flags: u32,
) -> QResult<()> {
    let allowed = block_commit::ACTIVE | block_commit::BANDWIDTH_BYTES;
    check_flags(flags, allowed, "qemuDomainBlockCommit")?;
    let (k, job, qmp) = commit_target(drv, dom, path)?;
    let dev = k.target_dev.clone();
    let chain = match &qmp {
        Some(q) => live_chain(q, &k)?,
        None => chain::offline(&k),
    };
    let t = chain.top(top, &dev)?;
    let b = chain
        .base(base, t, &dev, true)?
        .unwrap_or(chain.layers.len() - 1);
    let active = flags & block_commit::ACTIVE != 0;
    if t == 0 && !active {
        return Err(BlockJobError::ActiveFlag(dev).into());
    }
    if t != 0 && active {
        return Err(BlockJobError::NotActive(chain.layers[t].path.clone()).into());
    }
    let qmp = qmp.ok_or(QemuError::NotRunning)?;
    if let Some(j) = job {
        return Err(busy(&j).into());
    }
    let speed = speed(bandwidth, flags & block_commit::BANDWIDTH_BYTES != 0)?;
    let kind = if t == 0 {
        kind::ACTIVE_COMMIT
    } else {
        kind::COMMIT
    };
    let name = job_name(kind, &dev, &chain.node);
    let base_layer = chain.layers[b].clone();
    let mut args = json!({"job-id": name, "device": chain.node, "base": base_layer.path,
        "speed": speed});
    if t != 0 {
        args["top"] = chain.layers[t].path.clone().into();
    }
    let job = Job {
        node: chain.node.clone(),
        added: Vec::new(),
        after: None,
        dev,
        name,
        kind,
        ready: false,
        aborting: false,
        pivoting: false,
        base: (t == 0).then_some((base_layer.path, base_layer.format)),
    };
    let dev = job.dev.clone();
    let after: After = Box::new(move |run| super::live::after(run, &dev, &chain, t, Some(b)));
    launch(drv, dom, &qmp, job, after, "block-commit", args)
}
