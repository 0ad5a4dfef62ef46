//! Block jobs on running domains, as libvirt 9.0 runs them on `-blockdev` guests:
//! `blockresize`, `blockpull`/`blockrebase` (QMP `block-stream`), `blockcommit`
//! (`block-commit`, active commits stay ready until pivoted or aborted), job info, speed
//! and abort, and the BLOCK_JOB / BLOCK_JOB_2 events from QEMU's `BLOCK_JOB_*` events.
//!
//! A job lives in the run's [`Job`] list from just before QEMU is asked to start it until
//! QEMU reports its end ([`notice`]); QEMU's job id is libvirt's job name
//! (`pull-vda-libvirt-1-format`), which names the disk the events belong to.

pub mod chain;
pub mod control;
pub mod copy;
pub mod live;
pub mod notice;
pub mod start;

use rvirt_plugin_api::protocol::{RemoteError, RemoteNonnullDomain};
use rvirt_plugin_api::sdk::{code, domain};
use rvirt_xml::domain::{Device, Disk, DomainDef};

pub use rvirt_plugin_api::protocol::facts::{block_job_status as status, block_job_type as kind};

use crate::driver::{Dom, Driver};
use crate::error::QResult;

/// Refusals of the block job calls, with libvirt's codes and texts.
#[derive(Debug, thiserror::Error)]
pub enum BlockJobError {
    /// A disk the job calls look up (`qemuDomainDiskByName`).
    #[error("invalid argument: disk '{0}' not found in domain")]
    NoDisk(String),
    /// A disk `blockresize` looks up.
    #[error("invalid argument: disk '{0}' was not found in the domain config")]
    NoDiskConfig(String),
    #[error("invalid argument: disk {0} does not have an active block job")]
    NoJob(String),
    #[error("Operation not supported: disk '{0}' already in active block job")]
    Busy(String),
    #[error("block copy still active: disk '{0}' already in active block job")]
    BusyMirror(String),
    #[error("block copy still active: block job '{0}' not ready for pivot yet")]
    NotReady(String),
    #[error("Requested operation is not valid: job type '{0}' does not support pivot")]
    NoPivot(String),
    #[error("invalid argument: could not find image '{0}' in chain for '{1}'")]
    NoImage(String, String),
    #[error("invalid argument: could not find image '{0}' beneath '{1}' in chain for '{2}'")]
    NotBeneath(String, String, String),
    #[error("invalid argument: could not find base image in chain for '{0}'")]
    NoBase(String),
    #[error("invalid argument: commit of '{0}' active layer requires active flag")]
    ActiveFlag(String),
    #[error("invalid argument: active commit requested but '{0}' is not active")]
    NotActive(String),
    #[error("invalid argument: size must be less than {0}")]
    TooBig(u64),
    #[error("internal error: block job of disk '{0}' did not end in time")]
    Timeout(String),
    #[error("internal error: cannot find block device of disk '{0}'")]
    NoNode(String),
    #[error("internal error: cannot create the copy {0}: {1}")]
    Create(String, String),
}

impl From<BlockJobError> for RemoteError {
    fn from(e: BlockJobError) -> RemoteError {
        use BlockJobError as E;
        let (c, d) = match &e {
            E::NoImage(..) | E::NotBeneath(..) | E::NoBase(_) => {
                (code::INVALID_ARG, domain::STORAGE)
            }
            E::Busy(_) => (code::OPERATION_UNSUPPORTED, domain::QEMU),
            E::BusyMirror(_) | E::NotReady(_) => (code::BLOCK_COPY_ACTIVE, domain::QEMU),
            E::NoPivot(_) => (code::OPERATION_INVALID, domain::QEMU),
            E::Timeout(_) | E::NoNode(_) | E::Create(..) => (code::INTERNAL_ERROR, domain::QEMU),
            _ => (code::INVALID_ARG, domain::QEMU),
        };
        RemoteError::reported(c, d, e.to_string())
    }
}

/// One block job of a running domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The disk's target (`vda`).
    pub dev: String,
    /// QEMU's job id, libvirt's job name.
    pub name: String,
    /// `facts::block_job_type`.
    pub kind: i32,
    /// QEMU reported BLOCK_JOB_READY.
    pub ready: bool,
    /// An abort was asked for: however QEMU ends the job, it was canceled.
    pub aborting: bool,
    /// A pivot was asked for: a completed job moves the disk onto `base`.
    pub pivoting: bool,
    /// Path and format of the image an active commit ends on.
    pub base: Option<(String, String)>,
    /// The disk's top node when the job started (gone from the disk after a pivot).
    pub node: String,
    /// Nodes the job added (a copy's target), removed when it ends without a pivot.
    pub added: Vec<String>,
    /// The disk's chain once the job has completed (or been pivoted), when known.
    pub after: Option<Vec<rvirt_xml::domain::ChainImage>>,
}

impl Job {
    /// Active commits (and copies) mirror writes and must be pivoted or aborted.
    pub fn mirrors(&self) -> bool {
        matches!(self.kind, kind::ACTIVE_COMMIT | kind::COPY)
    }
}

/// The disk named by target or source path.
pub fn find_disk<'a>(def: &'a DomainDef, path: &str) -> Option<&'a Disk> {
    def.devices.iter().find_map(|d| match d {
        Device::Disk(k) if k.target_dev == path || k.source.as_deref() == Some(path) => Some(k),
        _ => None,
    })
}

/// The running domain's disk `path` (target or source) and its job, if any.
pub fn running_disk(d: &Dom, path: &str) -> QResult<(Disk, Option<Job>)> {
    let run = d.run.as_ref().ok_or(crate::error::QemuError::NotRunning)?;
    let k = find_disk(&run.live, path).ok_or_else(|| BlockJobError::NoDisk(path.into()))?;
    let job = run
        .block_jobs
        .iter()
        .find(|j| j.dev == k.target_dev)
        .cloned();
    Ok((k.clone(), job))
}

/// Looks `dom` up and returns [`running_disk`] with the domain's monitor.
pub fn lookup(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
) -> QResult<(Disk, Option<Job>, std::sync::Arc<crate::qmp::Qmp>)> {
    drv.read(|s| {
        let d = s.find(dom)?;
        let (k, job) = running_disk(d, path)?;
        let qmp = d.run.as_ref().map(|r| r.qmp.clone()).expect("running");
        Ok((k, job, qmp))
    })
}

/// A bandwidth in MiB/s (or bytes/s with `bytes`) as QEMU's bytes per second.
pub fn speed(bandwidth: u64, bytes: bool) -> QResult<u64> {
    if bytes {
        return Ok(bandwidth);
    }
    bandwidth
        .checked_mul(1 << 20)
        .ok_or_else(|| BlockJobError::TooBig(u64::MAX >> 20).into())
}

/// libvirt's job name, QEMU's job id: `pull-vda-libvirt-1-format`. A node QEMU named
/// itself (`#block382`, the base an active commit pivoted to) loses its `#`, which job
/// ids cannot have.
pub fn job_name(k: i32, dev: &str, node: &str) -> String {
    format!("{}-{dev}-{}", kind_name(k), node.trim_start_matches('#'))
}

/// libvirt's name of a job type in its job names and messages.
pub fn kind_name(k: i32) -> &'static str {
    match k {
        kind::PULL => "pull",
        kind::COPY => "copy",
        kind::COMMIT => "commit",
        kind::ACTIVE_COMMIT => "active-commit",
        _ => "none",
    }
}
