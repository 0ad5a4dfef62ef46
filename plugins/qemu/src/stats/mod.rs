//! Domain statistics: `virConnectGetAllDomainStats` (and `virDomainListGetStats`, the
//! same call with a domain list) with libvirt's groups and field names, and the older
//! single-purpose calls (`domblkstat`, `domifstat`, `dommemstat`, `vcpuinfo`,
//! `cpu-stats`, `domblkinfo`) in [`calls`]. Figures come from the places libvirt reads:
//! QEMU's monitor (balloon, block counters, KVM's `query-stats`, dirty rate) and the host
//! kernel (CPU time of the process and its vCPU threads, resident memory, tap counters).

pub mod calls;
pub mod host;
pub mod monitor;

use std::path::Path;
use std::sync::Arc;

use rvirt_plugin_api::protocol::facts::{domain_stats as g, vcpu_state};
use rvirt_plugin_api::protocol::{
    RemoteDomainStatsRecord, RemoteNonnullDomain, RemoteTypedParam, RemoteTypedParamValue as V,
};
use rvirt_xml::domain::{Device, DomainDef};

use crate::driver::{Dom, Driver};
use crate::error::{check_flags, QResult, QemuError};
use crate::qmp::Qmp;

/// The groups this driver reports (perf, iothread and memory add nothing for guests
/// without perf events, IOThreads or cache monitors, as in libvirt).
const SUPPORTED: u32 = g::STATE
    | g::CPU_TOTAL
    | g::BALLOON
    | g::VCPU
    | g::INTERFACE
    | g::BLOCK
    | g::PERF
    | g::IOTHREAD
    | g::MEMORY
    | g::DIRTYRATE
    | g::VM;

/// What a record is built from, copied out of the driver lock.
pub struct Snapshot {
    pub dom: RemoteNonnullDomain,
    pub state: (i32, i32),
    pub def: DomainDef,
    pub run: Option<(i32, Arc<Qmp>)>,
}

impl Snapshot {
    pub fn of(d: &Dom) -> Snapshot {
        Snapshot {
            dom: d.reference(),
            state: d.state(),
            def: d
                .run
                .as_ref()
                .map_or_else(|| d.def.clone(), |r| r.live.clone()),
            run: d.run.as_ref().map(|r| (r.proc.pid, r.qmp.clone())),
        }
    }
}

/// Typed parameters in the order they are added.
#[derive(Default)]
pub struct Params(pub Vec<RemoteTypedParam>);

impl Params {
    fn put(&mut self, field: impl Into<String>, value: V) {
        self.0.push(RemoteTypedParam {
            field: field.into(),
            value,
        });
    }
    pub fn int(&mut self, f: impl Into<String>, v: i32) {
        self.put(f, V::Int(v));
    }
    pub fn uint(&mut self, f: impl Into<String>, v: u32) {
        self.put(f, V::Uint(v));
    }
    pub fn llong(&mut self, f: impl Into<String>, v: i64) {
        self.put(f, V::Llong(v));
    }
    pub fn ullong(&mut self, f: impl Into<String>, v: u64) {
        self.put(f, V::Ullong(v));
    }
    pub fn boolean(&mut self, f: impl Into<String>, v: bool) {
        self.put(f, V::Boolean(v as i32));
    }
    pub fn string(&mut self, f: impl Into<String>, v: &str) {
        self.put(f, V::String(v.to_string()));
    }
}

/// CONNECT_GET_ALL_DOMAIN_STATS: records of `doms` (every domain when empty) matching
/// the listing filters of `flags`, with the groups in `stats` (all when 0).
pub fn get_all(
    drv: &Driver,
    doms: &[RemoteNonnullDomain],
    stats: u32,
    flags: u32,
) -> QResult<Vec<RemoteDomainStatsRecord>> {
    check_flags(
        flags,
        g::LIST_FILTERS | g::NOWAIT | g::BACKING | g::ENFORCE_STATS,
        "qemuConnectGetAllDomainStats",
    )?;
    let stats = match stats {
        0 => SUPPORTED,
        s if flags & g::ENFORCE_STATS != 0 && s & !SUPPORTED != 0 => {
            return Err(QemuError::ArgUnsupported(format!(
                "Stats types bits {:#x} are not supported by this daemon",
                s & !SUPPORTED
            ))
            .into())
        }
        s => s & SUPPORTED,
    };
    let chosen = drv.read(|s| {
        Ok(s.doms
            .iter()
            .filter(|d| doms.is_empty() || doms.iter().any(|r| r.uuid == d.def.uuid.0))
            .filter(|d| crate::domain::matches(d, flags & g::LIST_FILTERS))
            .map(Snapshot::of)
            .collect::<Vec<_>>())
    })?;
    Ok(records(&chosen, stats))
}

/// Running domains whose records are gathered on threads of their own, at most.
const PARALLEL_RECORDS: usize = 8;

/// The records in `chosen`'s order. Each running domain's figures wait on its own QEMU's
/// monitor, so several domains are asked at once (in order-keeping chunks on scoped
/// threads): the call takes about as long as the slowest guest rather than the sum of
/// all of them, where libvirt asks one domain after another.
fn records(chosen: &[Snapshot], stats: u32) -> Vec<RemoteDomainStatsRecord> {
    let running = chosen.iter().filter(|s| s.run.is_some()).count();
    if running < 2 {
        return chosen.iter().map(|s| record(s, stats)).collect();
    }
    let per_thread = chosen.len().div_ceil(running.min(PARALLEL_RECORDS));
    std::thread::scope(|scope| {
        let parts: Vec<_> = chosen
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || part.iter().map(|s| record(s, stats)).collect::<Vec<_>>())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| {
                // A panic in one chunk is re-raised here, inside the module's catch_unwind.
                h.join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
                    .into_iter()
            })
            .collect::<Vec<RemoteDomainStatsRecord>>()
    })
}

/// One domain's record.
fn record(s: &Snapshot, stats: u32) -> RemoteDomainStatsRecord {
    let mut p = Params::default();
    let running = s.run.as_ref().map(|(pid, qmp)| (*pid, qmp.as_ref()));
    if stats & g::STATE != 0 {
        p.int("state.state", s.state.0);
        p.int("state.reason", s.state.1);
    }
    // KVM's per-vCPU counters serve both the cpu and the vcpu groups: one query-stats
    // (which stops every vCPU for a moment) for the two.
    let kvm_vcpus = match running {
        Some((_, qmp)) if stats & (g::CPU_TOTAL | g::VCPU) != 0 => {
            monitor::kvm_stats(qmp, "vcpu").unwrap_or_default()
        }
        _ => Vec::new(),
    };
    if let (true, Some((pid, _))) = (stats & g::CPU_TOTAL != 0, running) {
        cpu_total(&mut p, pid, &kvm_vcpus);
    }
    if stats & g::BALLOON != 0 {
        balloon(&mut p, &s.def, running);
    }
    if stats & g::VCPU != 0 {
        vcpu(&mut p, &s.def, running, &kvm_vcpus);
    }
    if stats & g::INTERFACE != 0 {
        interfaces(&mut p, &s.def, running.is_some());
    }
    if stats & g::BLOCK != 0 {
        blocks(&mut p, &s.def, running.map(|r| r.1));
    }
    if let (true, Some((_, qmp))) = (stats & g::DIRTYRATE != 0, running) {
        dirty_rate(&mut p, qmp);
    }
    if let (true, Some((_, qmp))) = (stats & g::VM != 0, running) {
        for (_, values) in monitor::kvm_stats(qmp, "vm").unwrap_or_default() {
            kvm_values(&mut p, "vm", &values);
        }
    }
    RemoteDomainStatsRecord {
        dom: s.dom.clone(),
        params: p.0,
    }
}

fn cpu_total(p: &mut Params, pid: i32, vcpus: &[(String, monitor::Counters)]) {
    let Some(t) = host::process_cpu(pid) else {
        return;
    };
    p.ullong("cpu.time", t.total());
    p.ullong("cpu.user", t.user);
    p.ullong("cpu.system", t.system);
    // No <cachetune> monitors: libvirt reports their count, zero.
    p.uint("cpu.cache.monitor.count", 0);
    if vcpus.is_empty() {
        return;
    }
    let sum = |name: &str| -> u64 {
        vcpus
            .iter()
            .flat_map(|(_, v)| v.iter())
            .filter(|(n, _)| n == name)
            .map(|(_, v)| match v {
                monitor::KvmValue::Count(c) => *c,
                monitor::KvmValue::Flag(_) => 0,
            })
            .sum()
    };
    p.ullong("cpu.haltpoll.success.time", sum("halt_poll_success_ns.sum"));
    p.ullong("cpu.haltpoll.fail.time", sum("halt_poll_fail_ns.sum"));
}

fn has_balloon(def: &DomainDef) -> bool {
    def.devices
        .iter()
        .any(|d| matches!(d, Device::MemBalloon(b) if b.model != "none"))
}

fn balloon(p: &mut Params, def: &DomainDef, running: Option<(i32, &Qmp)>) {
    let current = match running {
        Some((_, qmp)) if has_balloon(def) => {
            monitor::balloon_kib(qmp).unwrap_or(def.current_memory_kib)
        }
        _ => def.current_memory_kib,
    };
    p.ullong("balloon.current", current);
    p.ullong("balloon.maximum", def.memory_kib);
    if let Some((pid, _)) = running {
        // No guest statistics are polled: the last update is never.
        p.ullong("balloon.last-update", 0);
        if let Some(rss) = host::rss_kib(pid) {
            p.ullong("balloon.rss", rss);
        }
    }
}

fn vcpu(
    p: &mut Params,
    def: &DomainDef,
    running: Option<(i32, &Qmp)>,
    kvm: &[(String, monitor::Counters)],
) {
    p.uint("vcpu.current", def.current_vcpus);
    p.uint("vcpu.maximum", def.vcpus);
    let Some((pid, qmp)) = running else { return };
    let threads = monitor::vcpus(qmp).unwrap_or_default();
    for v in &threads {
        let pre = format!("vcpu.{}", v.index);
        p.int(format!("{pre}.state"), vcpu_state::RUNNING);
        let time = host::thread_cpu(pid, v.thread).map_or(0, |t| t.total());
        p.ullong(format!("{pre}.time"), time);
        p.ullong(format!("{pre}.wait"), host::thread_wait(pid, v.thread));
        p.ullong(
            format!("{pre}.delay"),
            host::thread_run_delay(pid, v.thread),
        );
        if let Some((_, values)) = kvm.iter().find(|(path, _)| *path == v.qom_path) {
            kvm_values(p, &pre, values);
        }
    }
}

fn kvm_values(p: &mut Params, prefix: &str, values: &[(String, monitor::KvmValue)]) {
    for (name, value) in values {
        match value {
            monitor::KvmValue::Count(c) => p.ullong(format!("{prefix}.{name}"), *c),
            monitor::KvmValue::Flag(b) => p.boolean(format!("{prefix}.{name}"), *b),
        }
    }
}

/// Whether the guest's interface is a tap whose counters libvirt swaps.
fn is_tap(iface_type: &str) -> bool {
    matches!(iface_type, "network" | "bridge" | "ethernet")
}

fn interfaces(p: &mut Params, def: &DomainDef, running: bool) {
    let ifaces: Vec<_> = def
        .devices
        .iter()
        .filter_map(|d| match d {
            Device::Interface(i) => Some(i),
            _ => None,
        })
        .collect();
    if !running {
        return;
    }
    p.uint("net.count", ifaces.len() as u32);
    for (n, i) in ifaces.iter().enumerate() {
        let Some(dev) = i.target_dev.as_deref().filter(|_| i.iface_type != "user") else {
            continue;
        };
        let Some(c) = host::net_counters(Path::new("/sys/class/net"), dev, is_tap(&i.iface_type))
        else {
            continue;
        };
        let pre = format!("net.{n}");
        p.string(format!("{pre}.name"), dev);
        for (k, v) in [
            ("rx.bytes", c.rx_bytes),
            ("rx.pkts", c.rx_packets),
            ("rx.errs", c.rx_errs),
            ("rx.drop", c.rx_drop),
            ("tx.bytes", c.tx_bytes),
            ("tx.pkts", c.tx_packets),
            ("tx.errs", c.tx_errs),
            ("tx.drop", c.tx_drop),
        ] {
            p.ullong(format!("{pre}.{k}"), v);
        }
    }
}

fn blocks(p: &mut Params, def: &DomainDef, qmp: Option<&Qmp>) {
    let disks: Vec<_> = def
        .devices
        .iter()
        .filter_map(|d| match d {
            Device::Disk(k) => Some(k),
            _ => None,
        })
        .collect();
    let live = qmp.map(|q| monitor::blocks(q).unwrap_or_default());
    p.uint("block.count", disks.len() as u32);
    for (n, k) in disks.iter().enumerate() {
        let pre = format!("block.{n}");
        p.string(format!("{pre}.name"), &k.target_dev);
        let Some(src) = k.source.as_deref() else {
            continue;
        };
        p.string(format!("{pre}.path"), src);
        let file = host::file_size(src);
        let Some(live) = &live else {
            if let Some(f) = file {
                let format = k.driver.as_ref().and_then(|d| d.format.as_deref());
                p.ullong(format!("{pre}.allocation"), f.allocated);
                p.ullong(
                    format!("{pre}.capacity"),
                    host::image_capacity(src, format.unwrap_or("raw"), f.size),
                );
                p.ullong(format!("{pre}.physical"), f.allocated);
            }
            continue;
        };
        let Some(b) = live.iter().find(|b| b.file == src) else {
            continue;
        };
        if let Some(i) = b.node_index() {
            p.uint(format!("{pre}.backingIndex"), i);
        }
        for (k, v) in [
            ("rd.reqs", b.rd_reqs),
            ("rd.bytes", b.rd_bytes),
            ("rd.times", b.rd_times),
            ("wr.reqs", b.wr_reqs),
            ("wr.bytes", b.wr_bytes),
            ("wr.times", b.wr_times),
            ("fl.reqs", b.fl_reqs),
            ("fl.times", b.fl_times),
            ("allocation", b.wr_highest_offset),
            ("capacity", b.capacity),
        ] {
            p.ullong(format!("{pre}.{k}"), v);
        }
        if let Some(f) = file {
            p.ullong(format!("{pre}.physical"), f.allocated);
        }
    }
}

fn dirty_rate(p: &mut Params, qmp: &Qmp) {
    let Ok(d) = monitor::dirty_rate(qmp) else {
        return;
    };
    p.int("dirtyrate.calc_status", d.status);
    p.llong("dirtyrate.calc_start_time", d.start);
    p.int("dirtyrate.calc_period", d.period);
    p.string("dirtyrate.calc_mode", &d.mode);
    if let (2, Some(rate)) = (d.status, d.rate_mib) {
        p.llong("dirtyrate.megabytes_per_second", rate);
    }
}
