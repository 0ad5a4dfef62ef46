//! `virsh cpu-stats` per host CPU: `cpu_time` of the domain group and `vcpu_time` of its
//! vCPU groups on each CPU, from cgroup v1's `cpuacct.usage_percpu`. cgroup v2 has no
//! per-CPU usage, and like libvirt's v2 backend (which takes cpu accounting whenever a
//! unified hierarchy is mounted) the call then fails.

use rvirt_plugin_api::protocol::{RemoteDomainGetCpuStatsRet, RemoteNonnullDomain};

use super::calls::live_group;
use super::{read, Ctl, Group};
use crate::driver::Driver;
use crate::error::{QResult, QemuError};
use crate::stats::Params;

/// How many CPUs the host has present (the highest present CPU + 1).
fn present_cpus() -> u32 {
    let t = std::fs::read_to_string("/sys/devices/system/cpu/present").unwrap_or_default();
    t.trim()
        .split([',', '-'])
        .filter_map(|n| n.parse::<u32>().ok())
        .max()
        .map_or(1, |m| m + 1)
}

/// Per-CPU nanoseconds of a group.
fn usage(g: &std::path::Path) -> QResult<Vec<u64>> {
    Ok(read(&g.join("cpuacct.usage_percpu"))?
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect())
}

/// DOMAIN_GET_CPU_STATS with `start_cpu` >= 0: with `ncpus` 0 how many CPUs there are,
/// with `nparams` 0 how many parameters each has, else `ncpus` CPUs' parameters.
pub fn get(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    nparams: u32,
    start_cpu: i32,
    ncpus: u32,
) -> QResult<RemoteDomainGetCpuStatsRet> {
    let g = drv.read(|s| {
        live_group(
            s.find(dom)?,
            Ctl::Cpuacct,
            "cgroup CPUACCT controller is not mounted",
        )
    })?;
    let answer = |n: u32| RemoteDomainGetCpuStatsRet {
        params: Vec::new(),
        nparams: n as i32,
    };
    if nparams == 0 && ncpus != 0 {
        return Ok(answer(2));
    }
    let total = present_cpus();
    if ncpus == 0 {
        return Ok(answer(total));
    }
    let v2 = g.mounts.place(Ctl::Cpuacct).is_some_and(|p| p.1);
    if v2 {
        return Err(QemuError::NotSupported(
            "operation 'getCpuacctPercpuUsage' not supported for backend 'cgroup V2'".into(),
        )
        .into());
    }
    per_cpu(&g, nparams, start_cpu, ncpus, total)
}

fn per_cpu(
    g: &Group,
    nparams: u32,
    start_cpu: i32,
    ncpus: u32,
    total: u32,
) -> QResult<RemoteDomainGetCpuStatsRet> {
    if start_cpu as u32 >= total {
        return Err(QemuError::InvalidArg(format!(
            "start_cpu {start_cpu} larger than maximum of {}",
            total - 1
        ))
        .into());
    }
    let top = g.dir(Ctl::Cpuacct, None).unwrap_or_default();
    let cpu = usage(&top)?;
    let mut vcpu = vec![0u64; cpu.len()];
    for d in g.subgroups(Ctl::Cpuacct, "vcpu") {
        for (i, v) in usage(&d)?.into_iter().enumerate() {
            if let Some(s) = vcpu.get_mut(i) {
                *s += v;
            }
        }
    }
    let mut p = Params::default();
    let end = (start_cpu as u32 + ncpus).min(total);
    let per = nparams.min(2);
    for i in start_cpu as u32..end {
        let i = i as usize;
        p.ullong("cpu_time", cpu.get(i).copied().unwrap_or(0));
        if per > 1 {
            p.ullong("vcpu_time", vcpu.get(i).copied().unwrap_or(0));
        }
    }
    Ok(RemoteDomainGetCpuStatsRet {
        params: p.0,
        nparams: per as i32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvirt_plugin_api::protocol::RemoteTypedParamValue as V;

    /// cgroup v1's cpuacct in plain directories: the domain group's usage per CPU and
    /// the vCPU groups' sums.
    #[test]
    fn per_cpu_from_cpuacct() {
        let root = std::env::temp_dir().join(format!("rvirt-percpu-{}", std::process::id()));
        let top = root.join("machine/qemu-1-g.libvirt-qemu");
        for (sub, usage) in [
            ("", "100 200 300"),
            ("vcpu0", "10 20 30"),
            ("vcpu1", "1 2 3"),
        ] {
            std::fs::create_dir_all(top.join(sub)).unwrap();
            std::fs::write(top.join(sub).join("cpuacct.usage_percpu"), usage).unwrap();
        }
        let g = Group {
            mounts: super::super::Mounts {
                v1: vec![(Ctl::Cpuacct, root.clone())],
                unified: None,
            },
            rel: "machine/qemu-1-g.libvirt-qemu".into(),
        };
        let r = per_cpu(&g, 2, 1, 2, 3).unwrap();
        let got: Vec<(String, u64)> = r
            .params
            .iter()
            .map(|p| match p.value {
                V::Ullong(v) => (p.field.clone(), v),
                _ => panic!("not ullong"),
            })
            .collect();
        let want = [
            ("cpu_time", 200),
            ("vcpu_time", 22),
            ("cpu_time", 300),
            ("vcpu_time", 33),
        ];
        assert_eq!(got, want.map(|(f, v)| (f.to_string(), v)));
        assert_eq!(r.nparams, 2);
        assert!(per_cpu(&g, 2, 3, 1, 3).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
