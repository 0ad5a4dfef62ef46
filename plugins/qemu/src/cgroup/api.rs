//! The tuning procedures with their wire arguments, so that the hypervisor connection
//! hands each on in one line.

use rvirt_plugin_api::protocol::*;

use super::{calls, memblk, percpu};
use crate::driver::Driver;
use crate::error::QResult;

pub fn sched_type(
    drv: &Driver,
    a: &RemoteDomainGetSchedulerTypeArgs,
) -> QResult<RemoteDomainGetSchedulerTypeRet> {
    let (t, nparams) = calls::sched_type(drv, &a.dom)?;
    Ok(RemoteDomainGetSchedulerTypeRet { r#type: t, nparams })
}

pub fn sched_get(
    drv: &Driver,
    a: &RemoteDomainGetSchedulerParametersArgs,
) -> QResult<RemoteDomainGetSchedulerParametersRet> {
    Ok(RemoteDomainGetSchedulerParametersRet {
        params: calls::get(drv, &a.dom, a.nparams, 0)?,
    })
}

pub fn sched_get_flags(
    drv: &Driver,
    a: &RemoteDomainGetSchedulerParametersFlagsArgs,
) -> QResult<RemoteDomainGetSchedulerParametersFlagsRet> {
    Ok(RemoteDomainGetSchedulerParametersFlagsRet {
        params: calls::get(drv, &a.dom, a.nparams, a.flags)?,
    })
}

pub fn mem_get(
    drv: &Driver,
    a: &RemoteDomainGetMemoryParametersArgs,
) -> QResult<RemoteDomainGetMemoryParametersRet> {
    let (params, nparams) = memblk::get_memory(drv, &a.dom, a.nparams, a.flags)?;
    Ok(RemoteDomainGetMemoryParametersRet { params, nparams })
}

pub fn blkio_get(
    drv: &Driver,
    a: &RemoteDomainGetBlkioParametersArgs,
) -> QResult<RemoteDomainGetBlkioParametersRet> {
    let (params, nparams) = memblk::get_blkio(drv, &a.dom, a.nparams, a.flags)?;
    Ok(RemoteDomainGetBlkioParametersRet { params, nparams })
}

/// DOMAIN_GET_CPU_STATS: the whole domain (`start_cpu` -1) or per host CPU.
pub fn cpu_stats(
    drv: &Driver,
    a: &RemoteDomainGetCpuStatsArgs,
) -> QResult<RemoteDomainGetCpuStatsRet> {
    if a.start_cpu == -1 {
        return crate::stats::calls::cpu_total(drv, &a.dom, a.nparams, a.start_cpu, a.flags);
    }
    crate::error::check_flags(
        a.flags,
        rvirt_plugin_api::protocol::facts::typed_param_flags::STRING_OKAY,
        "qemuDomainGetCPUStats",
    )?;
    percpu::get(drv, &a.dom, a.nparams, a.start_cpu, a.ncpus)
}
