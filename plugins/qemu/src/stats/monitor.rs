//! What QEMU's monitor reports for the statistics: balloon size, vCPU threads, block
//! counters and sizes, dirty-rate state, and KVM's own counters (`query-stats`).

use serde_json::Value;

use crate::qmp::{Qmp, QmpError};

/// One vCPU: its index and host thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vcpu {
    pub index: u32,
    pub thread: i64,
    pub qom_path: String,
}

pub fn vcpus(qmp: &Qmp) -> Result<Vec<Vcpu>, QmpError> {
    let r = qmp.execute("query-cpus-fast", None)?;
    Ok(r.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(Vcpu {
                index: c.get("cpu-index")?.as_u64()? as u32,
                thread: c.get("thread-id")?.as_i64()?,
                qom_path: c.get("qom-path")?.as_str()?.to_string(),
            })
        })
        .collect())
}

/// The balloon's current size in KiB.
pub fn balloon_kib(qmp: &Qmp) -> Result<u64, QmpError> {
    let r = qmp.execute("query-balloon", None)?;
    Ok(r.get("actual").and_then(Value::as_u64).unwrap_or(0) / 1024)
}

/// Counters and sizes of one block node, by its node name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    pub node: String,
    pub file: String,
    pub rd_reqs: u64,
    pub rd_bytes: u64,
    pub rd_times: u64,
    pub wr_reqs: u64,
    pub wr_bytes: u64,
    pub wr_times: u64,
    pub fl_reqs: u64,
    pub fl_times: u64,
    pub wr_highest_offset: u64,
    pub capacity: u64,
}

impl Block {
    /// The number N of a `libvirt-N-format` node name.
    pub fn node_index(&self) -> Option<u32> {
        self.node
            .strip_prefix("libvirt-")?
            .split('-')
            .next()?
            .parse()
            .ok()
    }
}

/// Every inserted block device: `query-block` names its top node, file and size,
/// `query-blockstats` its counters.
pub fn blocks(qmp: &Qmp) -> Result<Vec<Block>, QmpError> {
    let inserted = qmp.execute("query-block", None)?;
    let counters = qmp.execute(
        "query-blockstats",
        Some(serde_json::json!({"query-nodes": false})),
    )?;
    let mut out = Vec::new();
    for dev in inserted.as_array().into_iter().flatten() {
        let Some(ins) = dev.get("inserted") else {
            continue;
        };
        let node = ins
            .get("node-name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut b = Block {
            file: ins
                .get("file")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            capacity: ins
                .pointer("/image/virtual-size")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            ..Block::default()
        };
        let stats = counters
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e.get("node-name").and_then(Value::as_str) == Some(node.as_str()))
            .and_then(|e| e.get("stats"));
        if let Some(s) = stats {
            let n = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
            b.rd_reqs = n("rd_operations");
            b.rd_bytes = n("rd_bytes");
            b.rd_times = n("rd_total_time_ns");
            b.wr_reqs = n("wr_operations");
            b.wr_bytes = n("wr_bytes");
            b.wr_times = n("wr_total_time_ns");
            b.fl_reqs = n("flush_operations");
            b.fl_times = n("flush_total_time_ns");
            b.wr_highest_offset = n("wr_highest_offset");
        }
        b.node = node;
        out.push(b);
    }
    Ok(out)
}

/// `query-dirty-rate`: status (libvirt's number), start time, period, mode.
#[derive(Debug, Clone, PartialEq)]
pub struct DirtyRate {
    pub status: i32,
    pub start: i64,
    pub period: i32,
    pub mode: String,
    pub rate_mib: Option<i64>,
}

pub fn dirty_rate(qmp: &Qmp) -> Result<DirtyRate, QmpError> {
    let r = qmp.execute("query-dirty-rate", None)?;
    let status = match r.get("status").and_then(Value::as_str) {
        Some("measuring") => 1,
        Some("measured") => 2,
        _ => 0,
    };
    Ok(DirtyRate {
        status,
        start: r.get("start-time").and_then(Value::as_i64).unwrap_or(0),
        period: r.get("calc-time").and_then(Value::as_i64).unwrap_or(0) as i32,
        mode: r
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("page-sampling")
            .to_string(),
        rate_mib: r.get("dirty-rate").and_then(Value::as_i64),
    })
}

/// One of KVM's counters: its libvirt name (`NAME.sum`, `.cur` or `.max` by the schema's
/// type) and value.
#[derive(Debug, Clone, PartialEq)]
pub enum KvmValue {
    Count(u64),
    Flag(bool),
}

/// Named counters of one vCPU or the VM.
pub type Counters = Vec<(String, KvmValue)>;

/// KVM's counters of `target` ("vm" or "vcpu") keyed by the QOM path of the vCPU (empty
/// for the VM), in QEMU's order. Histograms are left out, as libvirt leaves them.
pub fn kvm_stats(qmp: &Qmp, target: &str) -> Result<Vec<(String, Counters)>, QmpError> {
    let schemas = qmp.stats_schemas()?;
    let suffix = |name: &str| -> Option<&'static str> {
        let s = schemas
            .as_array()?
            .iter()
            .filter(|p| p.get("target").and_then(Value::as_str) == Some(target))
            .flat_map(|p| {
                p.get("stats")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))?;
        match s.get("type").and_then(Value::as_str)? {
            "cumulative" => Some("sum"),
            "instant" => Some("cur"),
            "peak" => Some("max"),
            _ => None,
        }
    };
    let r = qmp.execute("query-stats", Some(serde_json::json!({"target": target})))?;
    let mut out = Vec::new();
    for provider in r.as_array().into_iter().flatten() {
        let owner = provider
            .get("qom-path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut values = Vec::new();
        for s in provider
            .get("stats")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = s.get("name").and_then(Value::as_str) else {
                continue;
            };
            let value = match s.get("value") {
                Some(Value::Bool(b)) => KvmValue::Flag(*b),
                Some(v) if v.is_u64() => KvmValue::Count(v.as_u64().unwrap_or(0)),
                _ => continue,
            };
            if let Some(sfx) = suffix(name) {
                values.push((format!("{name}.{sfx}"), value));
            }
        }
        out.push((owner, values));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_index_is_libvirts_number() {
        let b = |n: &str| Block {
            node: n.into(),
            ..Block::default()
        };
        assert_eq!(b("libvirt-3-format").node_index(), Some(3));
        assert_eq!(b("#block123").node_index(), None);
    }
}
