//! QEMU's `BLOCK_JOB_READY` / `_COMPLETED` / `_CANCELLED` events: the job's new state,
//! the disk's new source after a pivot, and libvirt's BLOCK_JOB and BLOCK_JOB_2 events.

use std::sync::{Arc, Weak};

use serde_json::{json, Value};

use rvirt_xml::domain::{Device, DomainDef};

use super::{control::event_job, status, Job};
use crate::driver::{Dom, Driver, Run};
use crate::events::Event;
use crate::qmp::Qmp;

/// Whether a QMP event is one of the block job events handled here.
pub fn is_job_event(name: &str) -> bool {
    matches!(
        name,
        "BLOCK_JOB_READY" | "BLOCK_JOB_COMPLETED" | "BLOCK_JOB_CANCELLED"
    )
}

/// Nodes to remove (off the monitor's reader thread) before the job ends and its event
/// goes, as libvirt does: a pivoted disk's old top (it holds the new top's backing
/// link), an abandoned copy's target.
#[derive(Debug)]
pub struct Cleanup {
    qmp: Arc<Qmp>,
    nodes: Vec<String>,
    job: String,
    event: Event,
}

/// What a job event left to do.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The persistent definition to store (a pivot changed it).
    pub stored: Option<DomainDef>,
    pub cleanup: Option<Cleanup>,
}

/// Puts disk `dev` of `def` on the image `path` of `format`.
fn switch_source(def: &mut DomainDef, dev: &str, path: &str, format: &str) {
    for d in &mut def.devices {
        if let Device::Disk(k) = d {
            if k.target_dev == dev {
                k.source = Some(path.to_string());
                if let Some(drv) = k.driver.as_mut() {
                    drv.format = Some(format.to_string());
                }
                k.extras.retain(|e| e.name != "backingStore");
            }
        }
    }
}

/// Moves the persistent definition (and the one waiting for the domain's stop) onto
/// the pivoted-to image; returns the one to store.
fn switch_persistent(
    def: &mut DomainDef,
    next_def: &mut Option<DomainDef>,
    dev: &str,
    path: &str,
    format: &str,
) -> DomainDef {
    switch_source(def, dev, path, format);
    if let Some(n) = next_def.as_mut() {
        switch_source(n, dev, path, format);
    }
    next_def.as_ref().unwrap_or(def).clone()
}

/// Sends the job's event, or hands it to a [`Cleanup`] when nodes must go first; an
/// ended job leaves the run (after its cleanup).
fn dispose(
    run: &mut Run,
    at: usize,
    job: Job,
    st: i32,
    pivoted: bool,
    event: Event,
    events: &mut Vec<Event>,
) -> Option<Cleanup> {
    let nodes = if pivoted {
        nodes_of(&job.node)
    } else if st != status::READY {
        job.added
    } else {
        Vec::new()
    };
    if nodes.is_empty() {
        if st != status::READY {
            run.block_jobs.remove(at);
        }
        events.push(event);
        return None;
    }
    Some(Cleanup {
        qmp: run.qmp.clone(),
        nodes,
        job: job.name,
        event,
    })
}

/// How QEMU's end of job `j` is reported.
fn end_status(j: &Job, name: &str, data: &Value) -> i32 {
    if j.aborting || name == "BLOCK_JOB_CANCELLED" {
        status::CANCELED
    } else if data.get("error").is_some() {
        status::FAILED
    } else {
        status::COMPLETED
    }
}

/// The storage node under a `libvirt-N-format` node.
fn nodes_of(top: &str) -> Vec<String> {
    let mut out = vec![top.to_string()];
    if let Some(n) = top.strip_suffix("-format") {
        out.push(format!("{n}-storage"));
    }
    out
}

/// Applies QMP event `name` to the domain's jobs and queues libvirt's events.
pub fn on_event(d: &mut Dom, name: &str, data: &Value, events: &mut Vec<Event>) -> Outcome {
    let mut out = Outcome::default();
    let dref = d.reference();
    let Some(id) = event_job(data) else {
        return out;
    };
    let Dom {
        run,
        def,
        next_def,
        persistent,
        ..
    } = d;
    let Some(run) = run.as_mut() else { return out };
    let Some(at) = run.block_jobs.iter().position(|j| j.name == id) else {
        return out;
    };
    let job = run.block_jobs[at].clone();
    let st = if name == "BLOCK_JOB_READY" {
        if job.ready {
            return out;
        }
        run.block_jobs[at].ready = true;
        status::READY
    } else {
        end_status(&job, name, data)
    };
    let pivot = match (&job.base, st) {
        (Some(b), status::COMPLETED) if job.pivoting => Some(b),
        _ => None,
    };
    let done = st == status::COMPLETED && (pivot.is_some() || !job.mirrors());
    if let (true, Some(images)) = (done, job.after.clone()) {
        super::live::set(run, &job.dev, images);
    }
    if let Some((path, format)) = pivot {
        switch_source(&mut run.live, &job.dev, path, format);
        if *persistent {
            out.stored = Some(switch_persistent(def, next_def, &job.dev, path, format));
        }
    }
    // libvirt names the disk by its source at the time (the new one after a pivot).
    let path = super::find_disk(&run.live, &job.dev).and_then(|k| k.source.clone());
    let event = Event::BlockJob {
        dom: dref,
        path: path.unwrap_or_default(),
        dev: job.dev.clone(),
        kind: job.kind,
        status: st,
    };
    let pivoted = pivot.is_some();
    out.cleanup = dispose(run, at, job, st, pivoted, event, events);
    out
}

/// Removes the nodes a job left, then ends the job and sends its event (on a thread of
/// its own: the monitor's reader thread cannot wait for replies).
pub fn finish(weak: &Weak<Driver>, uuid: [u8; 16], p: Cleanup) {
    let weak = weak.clone();
    std::thread::spawn(move || {
        for node in &p.nodes {
            if let Err(e) = p
                .qmp
                .execute("blockdev-del", Some(json!({"node-name": node})))
            {
                tracing::warn!("cannot remove block node {node} after a block job: {e}");
            }
        }
        let Some(drv) = weak.upgrade() else { return };
        let _ = drv.write(|s, events| {
            if let Some(run) = s
                .doms
                .iter_mut()
                .find(|d| d.def.uuid.0 == uuid)
                .and_then(|d| d.run.as_mut())
            {
                run.block_jobs.retain(|j| j.name != p.job);
            }
            events.push(p.event);
            Ok(())
        });
    });
}
