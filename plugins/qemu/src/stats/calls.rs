//! The single-purpose statistics calls: `dommemstat`, `domblkstat`, `domifstat`,
//! `vcpuinfo`, `cpu-stats --total` and `domblkinfo`.

use std::path::Path;

use rvirt_plugin_api::protocol::facts::{memory_stat as tag, vcpu_state};
use rvirt_plugin_api::protocol::{
    RemoteDomainBlockStatsFlagsRet, RemoteDomainBlockStatsRet, RemoteDomainGetBlockInfoRet,
    RemoteDomainGetCpuStatsRet, RemoteDomainGetVcpusRet, RemoteDomainInterfaceStatsRet,
    RemoteDomainMemoryStat, RemoteNonnullDomain, RemoteVcpuInfo,
};
use rvirt_xml::domain::{Device, Disk, DomainDef};

use super::{host, monitor, Params, Snapshot};
use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};
use crate::lifecycle::monitor_error;
use crate::qmp::Qmp;

/// The domain's snapshot, and its process and monitor when it runs.
fn running(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
) -> QResult<(Snapshot, i32, std::sync::Arc<Qmp>)> {
    let s = drv.read(|s| Ok(Snapshot::of(s.find(dom)?)))?;
    let (pid, qmp) = s.run.clone().ok_or(QemuError::NotRunning)?;
    Ok((s, pid, qmp))
}

/// DOMAIN_MEMORY_STATS: the balloon's size, when it was last updated, resident memory.
pub fn memory(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    max: u32,
    flags: u32,
) -> QResult<Vec<RemoteDomainMemoryStat>> {
    check_flags(flags, 0, "qemuDomainMemoryStats")?;
    let (s, pid, qmp) = running(drv, dom)?;
    let actual = if super::has_balloon(&s.def) {
        monitor::balloon_kib(&qmp).map_err(monitor_error)?
    } else {
        s.def.current_memory_kib
    };
    let mut out = vec![
        RemoteDomainMemoryStat {
            tag: tag::ACTUAL_BALLOON,
            val: actual,
        },
        RemoteDomainMemoryStat {
            tag: tag::LAST_UPDATE,
            val: 0,
        },
    ];
    if let Some(rss) = host::rss_kib(pid) {
        out.push(RemoteDomainMemoryStat {
            tag: tag::RSS,
            val: rss,
        });
    }
    out.truncate(max as usize);
    Ok(out)
}

/// The disk named by target (`vda`) or source path.
fn disk<'a>(def: &'a DomainDef, path: &str) -> QResult<&'a Disk> {
    def.devices
        .iter()
        .find_map(|d| match d {
            Device::Disk(k) if k.target_dev == path || k.source.as_deref() == Some(path) => Some(k),
            _ => None,
        })
        .ok_or_else(|| QemuError::InvalidArg(format!("invalid path: {path}")).into())
}

/// The monitor's view of a disk.
fn live_block(qmp: &Qmp, k: &Disk, path: &str) -> QResult<monitor::Block> {
    let src = k.source.as_deref().unwrap_or_default();
    monitor::blocks(qmp)
        .map_err(monitor_error)?
        .into_iter()
        .find(|b| !src.is_empty() && b.file == src)
        .ok_or_else(|| {
            QemuError::Internal(format!("cannot find statistics for device '{path}'")).into()
        })
}

/// DOMAIN_BLOCK_STATS (errors are not counted: -1, as libvirt).
pub fn block(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
) -> QResult<RemoteDomainBlockStatsRet> {
    let (s, _, qmp) = running(drv, dom)?;
    let b = live_block(&qmp, disk(&s.def, path)?, path)?;
    Ok(RemoteDomainBlockStatsRet {
        rd_req: b.rd_reqs as i64,
        rd_bytes: b.rd_bytes as i64,
        wr_req: b.wr_reqs as i64,
        wr_bytes: b.wr_bytes as i64,
        errs: -1,
    })
}

// libvirt's client adds it to typed-parameter calls.
use rvirt_plugin_api::protocol::facts::typed_param_flags::STRING_OKAY as TYPED_PARAM_STRING_OKAY;

/// DOMAIN_BLOCK_STATS_FLAGS: the counters as typed parameters in libvirt's order; with
/// `nparams` 0 it answers how many there are.
pub fn block_flags(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    nparams: i32,
    flags: u32,
) -> QResult<RemoteDomainBlockStatsFlagsRet> {
    check_flags(flags, TYPED_PARAM_STRING_OKAY, "qemuDomainBlockStatsFlags")?;
    let (s, _, qmp) = running(drv, dom)?;
    let b = live_block(&qmp, disk(&s.def, path)?, path)?;
    let mut p = Params::default();
    for (name, v) in [
        ("wr_bytes", b.wr_bytes),
        ("wr_operations", b.wr_reqs),
        ("rd_bytes", b.rd_bytes),
        ("rd_operations", b.rd_reqs),
        ("flush_operations", b.fl_reqs),
        ("wr_total_times", b.wr_times),
        ("rd_total_times", b.rd_times),
        ("flush_total_times", b.fl_times),
    ] {
        p.llong(name, v as i64);
    }
    if nparams == 0 {
        return Ok(RemoteDomainBlockStatsFlagsRet {
            params: Vec::new(),
            nparams: p.0.len() as i32,
        });
    }
    p.0.truncate(nparams.max(0) as usize);
    Ok(RemoteDomainBlockStatsFlagsRet {
        nparams: p.0.len() as i32,
        params: p.0,
    })
}

/// DOMAIN_INTERFACE_STATS of the interface named by host device or MAC address.
pub fn interface(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    device: &str,
) -> QResult<RemoteDomainInterfaceStatsRet> {
    let (s, _, _) = running(drv, dom)?;
    let unknown = || QemuError::InvalidArg(format!("'{device}' is not a known interface"));
    let iface = s
        .def
        .devices
        .iter()
        .find_map(|d| match d {
            Device::Interface(i)
                if i.iface_type != "user"
                    && (i.target_dev.as_deref() == Some(device)
                        || i.mac.eq_ignore_ascii_case(device)) =>
            {
                Some(i)
            }
            _ => None,
        })
        .ok_or_else(unknown)?;
    let dev = iface.target_dev.as_deref().ok_or_else(unknown)?;
    let c = host::net_counters(
        Path::new("/sys/class/net"),
        dev,
        super::is_tap(&iface.iface_type),
    )
    .ok_or_else(|| QemuError::Failed(format!("cannot read the counters of interface {dev}")))?;
    let i = |v: u64| v as i64;
    Ok(RemoteDomainInterfaceStatsRet {
        rx_bytes: i(c.rx_bytes),
        rx_packets: i(c.rx_packets),
        rx_errs: i(c.rx_errs),
        rx_drop: i(c.rx_drop),
        tx_bytes: i(c.tx_bytes),
        tx_packets: i(c.tx_packets),
        tx_errs: i(c.tx_errs),
        tx_drop: i(c.tx_drop),
    })
}

/// DOMAIN_GET_VCPUS: each vCPU's state, CPU time and host CPU, and (`maplen` > 0) the
/// host CPUs its thread may run on.
pub fn vcpus(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    maxinfo: i32,
    maplen: i32,
) -> QResult<RemoteDomainGetVcpusRet> {
    use rvirt_plugin_api::protocol::{REMOTE_CPUMAPS_MAX, REMOTE_VCPUINFO_MAX};
    // The bounds libvirt's remote server enforces before any driver sees the call.
    if i64::from(maxinfo) > REMOTE_VCPUINFO_MAX {
        return Err(QemuError::InvalidArg("maxinfo > REMOTE_VCPUINFO_MAX".into()).into());
    }
    if maxinfo < 0 || maplen < 0 || i64::from(maxinfo) * i64::from(maplen) > REMOTE_CPUMAPS_MAX {
        return Err(QemuError::InvalidArg("maxinfo * maplen > REMOTE_CPUMAPS_MAX".into()).into());
    }
    let (_, pid, qmp) = running(drv, dom)?;
    let threads = monitor::vcpus(&qmp).map_err(monitor_error)?;
    let mut info = Vec::new();
    let mut cpumaps = Vec::new();
    for v in threads.iter().take(maxinfo.max(0) as usize) {
        info.push(RemoteVcpuInfo {
            number: v.index,
            state: vcpu_state::RUNNING,
            cpu_time: host::thread_cpu(pid, v.thread).map_or(0, |t| t.total()),
            cpu: host::thread_cpu_number(pid, v.thread).unwrap_or(-1),
        });
        cpumaps.extend(affinity_map(v.thread, maplen.max(0) as usize));
    }
    Ok(RemoteDomainGetVcpusRet { info, cpumaps })
}

/// The host CPUs thread `tid` may run on, one bit each, in `len` bytes.
fn affinity_map(tid: i64, len: usize) -> Vec<u8> {
    use nix::sched::sched_getaffinity;
    use nix::unistd::Pid;
    let mut map = vec![0u8; len];
    let cpus = (len * 8).min(nix::sched::CpuSet::count());
    if let Ok(set) = sched_getaffinity(Pid::from_raw(tid as i32)) {
        for cpu in 0..cpus {
            if set.is_set(cpu).unwrap_or(false) {
                map[cpu / 8] |= 1 << (cpu % 8);
            }
        }
    }
    map
}

/// DOMAIN_GET_CPU_STATS for the whole domain (`start_cpu` -1; per CPU: [`crate::cgroup::percpu`]): cpu_time, user_time,
/// system_time. With `nparams` 0 it answers how many there are.
pub fn cpu_total(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    nparams: u32,
    start_cpu: i32,
    flags: u32,
) -> QResult<RemoteDomainGetCpuStatsRet> {
    check_flags(flags, TYPED_PARAM_STRING_OKAY, "qemuDomainGetCPUStats")?;
    debug_assert_eq!(
        start_cpu, -1,
        "per-CPU statistics are crate::cgroup::percpu's"
    );
    let (_, pid, _) = running(drv, dom)?;
    if nparams == 0 {
        return Ok(RemoteDomainGetCpuStatsRet {
            params: Vec::new(),
            nparams: 3,
        });
    }
    let t = host::process_cpu(pid)
        .ok_or_else(|| QemuError::Failed("cannot read the CPU time of the QEMU process".into()))?;
    let mut p = Params::default();
    p.ullong("cpu_time", t.total());
    p.ullong("user_time", t.user);
    p.ullong("system_time", t.system);
    p.0.truncate(nparams as usize);
    Ok(RemoteDomainGetCpuStatsRet {
        nparams: p.0.len() as i32,
        params: p.0,
    })
}

/// DOMAIN_GET_BLOCK_INFO: capacity, allocation and physical size of a disk's image.
pub fn block_info(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    path: &str,
    flags: u32,
) -> QResult<RemoteDomainGetBlockInfoRet> {
    check_flags(flags, 0, "qemuDomainGetBlockInfo")?;
    let s = drv.read(|s| Ok(Snapshot::of(s.find(dom)?)))?;
    let k = disk(&s.def, path)?;
    let src = k.source.as_deref().ok_or_else(|| {
        QemuError::Invalid(format!(
            "disk '{path}' does not currently have a source assigned"
        ))
    })?;
    let f = host::file_size(src)
        .ok_or_else(|| QemuError::Failed(format!("cannot stat file '{src}'")))?;
    let live = match &s.run {
        Some((_, qmp)) => Some(live_block(qmp, k, path)?),
        None => None,
    };
    let format = k
        .driver
        .as_ref()
        .and_then(|d| d.format.as_deref())
        .unwrap_or("raw");
    let capacity = live
        .as_ref()
        .map_or_else(|| host::image_capacity(src, format, f.size), |b| b.capacity);
    let allocation = match live.as_ref().map(|b| b.wr_highest_offset) {
        Some(o) if o > 0 => o,
        _ => f.allocated,
    };
    Ok(RemoteDomainGetBlockInfoRet {
        allocation,
        capacity,
        physical: f.size,
    })
}
