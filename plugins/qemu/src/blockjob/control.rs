//! A running job: `blockjob --info`, `--bandwidth`, `--abort` / `--pivot` (`--async`).

use std::time::Duration;

use serde_json::{json, Value};

use rvirt_plugin_api::protocol::facts::{block_job_abort as abort_flag, block_job_bandwidth};
use rvirt_plugin_api::protocol::{RemoteDomainGetBlockJobInfoRet, RemoteNonnullDomain};

use super::{kind_name, lookup, speed, BlockJobError, Job};
use crate::driver::Driver;
use crate::error::{check_flags, QResult};
use crate::lifecycle::monitor_error;

/// How long a synchronous abort or pivot waits for QEMU to end the job.
const END_WAIT: Duration = Duration::from_secs(300);

/// The disk's job, or libvirt's refusal when it has none.
fn job_of(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
) -> QResult<(Job, std::sync::Arc<crate::qmp::Qmp>)> {
    let (k, job, qmp) = lookup(drv, dom, path)?;
    let job = job.ok_or(BlockJobError::NoJob(k.target_dev))?;
    Ok((job, qmp))
}

/// DOMAIN_GET_BLOCK_JOB_INFO: QEMU's progress and speed of the disk's job (found 0
/// without one); the bandwidth in MiB/s unless BANDWIDTH_BYTES.
pub fn info(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    flags: u32,
) -> QResult<RemoteDomainGetBlockJobInfoRet> {
    check_flags(
        flags,
        block_job_bandwidth::BYTES,
        "qemuDomainGetBlockJobInfo",
    )?;
    let none = RemoteDomainGetBlockJobInfoRet {
        found: 0,
        r#type: 0,
        bandwidth: 0,
        cur: 0,
        end: 0,
    };
    let (_, job, qmp) = lookup(drv, dom, path)?;
    let Some(job) = job else { return Ok(none) };
    let jobs = qmp
        .execute("query-block-jobs", None)
        .map_err(monitor_error)?;
    let Some(q) = jobs.as_array().and_then(|a| {
        a.iter()
            .find(|q| q["device"].as_str() == Some(job.name.as_str()))
    }) else {
        return Ok(none);
    };
    let speed = q["speed"].as_u64().unwrap_or(0);
    Ok(RemoteDomainGetBlockJobInfoRet {
        found: 1,
        r#type: job.kind,
        bandwidth: if flags & block_job_bandwidth::BYTES != 0 {
            speed
        } else {
            speed >> 20
        },
        cur: q["offset"].as_u64().unwrap_or(0),
        end: q["len"].as_u64().unwrap_or(0),
    })
}

/// DOMAIN_BLOCK_JOB_SET_SPEED: `block-job-set-speed`.
pub fn set_speed(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    bandwidth: u64,
    flags: u32,
) -> QResult<()> {
    check_flags(
        flags,
        block_job_bandwidth::BYTES,
        "qemuDomainBlockJobSetSpeed",
    )?;
    let (job, qmp) = job_of(drv, dom, path)?;
    let speed = speed(bandwidth, flags & block_job_bandwidth::BYTES != 0)?;
    qmp.execute(
        "block-job-set-speed",
        Some(json!({"device": job.name, "speed": speed})),
    )
    .map_err(monitor_error)?;
    Ok(())
}

/// Marks the job pivoting or aborting (how its end is reported).
fn mark(drv: &Driver, dom: &RemoteNonnullDomain, name: &str, pivot: Option<bool>) {
    let _ = drv.write(|s, _| {
        let run = s.find_mut(dom)?.run.as_mut();
        if let Some(j) = run.and_then(|r| r.block_jobs.iter_mut().find(|j| j.name == name)) {
            match pivot {
                Some(true) => j.pivoting = true,
                Some(false) => j.aborting = true,
                None => (j.pivoting, j.aborting) = (false, false),
            }
        }
        Ok(())
    });
}

/// DOMAIN_BLOCK_JOB_ABORT: `block-job-cancel`, or with PIVOT `block-job-complete` of a
/// ready active commit or copy; waits for the job's end unless ASYNC.
pub fn abort(drv: &Driver, dom: &RemoteNonnullDomain, path: &str, flags: u32) -> QResult<()> {
    check_flags(
        flags,
        abort_flag::ASYNC | abort_flag::PIVOT,
        "qemuDomainBlockJobAbort",
    )?;
    let (job, qmp) = job_of(drv, dom, path)?;
    let pivot = flags & abort_flag::PIVOT != 0;
    if pivot && !job.ready {
        return Err(BlockJobError::NotReady(job.name).into());
    }
    if pivot && !job.mirrors() {
        return Err(BlockJobError::NoPivot(kind_name(job.kind).into()).into());
    }
    mark(drv, dom, &job.name, Some(pivot));
    let cmd = if pivot {
        "block-job-complete"
    } else {
        "block-job-cancel"
    };
    if let Err(e) = qmp.execute(cmd, Some(json!({"device": job.name}))) {
        mark(drv, dom, &job.name, None);
        return Err(monitor_error(e));
    }
    if flags & abort_flag::ASYNC != 0 {
        return Ok(());
    }
    let ended = drv.wait_until(END_WAIT, |s| {
        s.doms
            .iter()
            .find(|d| d.def.uuid.0 == dom.uuid)
            .and_then(|d| d.run.as_ref())
            .is_none_or(|r| r.block_jobs.iter().all(|j| j.name != job.name))
    });
    if !ended {
        return Err(BlockJobError::Timeout(job.dev).into());
    }
    Ok(())
}

/// The QEMU job id of a `BLOCK_JOB_*` event.
pub fn event_job(data: &Value) -> Option<&str> {
    data.get("device").and_then(Value::as_str)
}
