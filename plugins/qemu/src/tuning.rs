//! Memory and vCPU tuning: the balloon for a running domain's memory, the persistent
//! definition for `--config` changes, with libvirt's flag semantics.

use rvirt_plugin_api::protocol::RemoteNonnullDomain;
use rvirt_xml::domain::DomainDef;
use serde_json::json;

use crate::driver::{Dom, Driver};
use crate::error::{check_flags, QResult, QemuError};
use crate::lifecycle::{monitor_error, qmp_of};

pub use rvirt_plugin_api::protocol::facts::domain_affect::{
    CONFIG as AFFECT_CONFIG, LIVE as AFFECT_LIVE,
};
/// `VIR_DOMAIN_MEM_MAXIMUM` and `VIR_DOMAIN_VCPU_MAXIMUM`.
pub const MAXIMUM: u32 = rvirt_plugin_api::protocol::facts::domain_tune::MAXIMUM;

/// Resolves `CURRENT` (neither live nor config) from the domain's state, and refuses what
/// the domain cannot take: (live, config).
pub(crate) fn impact(d: &Dom, flags: u32) -> QResult<(bool, bool)> {
    let active = d.run.is_some();
    let (mut live, mut config) = (flags & AFFECT_LIVE != 0, flags & AFFECT_CONFIG != 0);
    if !live && !config {
        live = active;
        config = !active;
    }
    if live && !active {
        return Err(QemuError::NotRunning.into());
    }
    if config && !d.persistent {
        return Err(QemuError::Invalid(
            "transient domains do not have any persistent config".into(),
        )
        .into());
    }
    Ok((live, config))
}

/// The persistent definition to change: the one waiting for the next start when running.
pub(crate) fn persistent_def(d: &mut Dom) -> &mut DomainDef {
    if d.run.is_some() {
        let def = d.def.clone();
        d.next_def.get_or_insert(def)
    } else {
        &mut d.def
    }
}

/// The definition a read with resolved `live` sees: the running one, or the persistent.
pub(crate) fn selected_def(d: &Dom, live: bool) -> &DomainDef {
    match (&d.run, live) {
        (Some(run), true) => &run.live,
        _ => d.next_def.as_ref().unwrap_or(&d.def),
    }
}

/// `virDomainSetMemoryFlags` (and `SetMemory`/`SetMaxMemory`), sizes in KiB.
pub fn set_memory(drv: &Driver, r: &RemoteNonnullDomain, kib: u64, flags: u32) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM,
        "qemuDomainSetMemoryFlags",
    )?;
    let (live, config) = drv.read(|s| impact(s.find(r)?, flags))?;
    if flags & MAXIMUM != 0 {
        if live {
            return Err(QemuError::NotSupported(
                "cannot resize the maximum memory on an active domain".into(),
            )
            .into());
        }
        return drv.write(|s, _| {
            let def = persistent_def(s.find_mut(r)?);
            def.memory_kib = kib;
            def.current_memory_kib = def.current_memory_kib.min(kib);
            drv.save_config(def)
        });
    }
    if live {
        let max = drv.read(|s| Ok(s.find(r)?.run.as_ref().map_or(0, |run| run.live.memory_kib)))?;
        if kib > max {
            return Err(
                QemuError::InvalidArg("cannot set memory higher than max memory".into()).into(),
            );
        }
        let qmp = qmp_of(drv, r)?;
        qmp.execute("balloon", Some(json!({ "value": kib * 1024 })))
            .map_err(monitor_error)?;
        drv.write(|s, _| {
            let d = s.find_mut(r)?;
            if let Some(run) = d.run.as_mut() {
                run.live.current_memory_kib = kib;
            }
            drv.save_status(d);
            Ok(())
        })?;
    }
    if config {
        drv.write(|s, _| {
            let def = persistent_def(s.find_mut(r)?);
            if kib > def.memory_kib {
                return Err(QemuError::InvalidArg(
                    "cannot set memory higher than max memory".into(),
                )
                .into());
            }
            def.current_memory_kib = kib;
            drv.save_config(def)
        })?;
    }
    Ok(())
}

/// `virDomainSetVcpusFlags`: a running domain gets vCPUs plugged up to the count
/// ([`crate::hotplug::vcpus`]); the persistent definition can always change.
pub fn set_vcpus(drv: &Driver, r: &RemoteNonnullDomain, n: u32, flags: u32) -> QResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM,
        "qemuDomainSetVcpusFlags",
    )?;
    if n == 0 {
        return Err(QemuError::InvalidArg(
            "argument unsupported: vcpu count must be at least 1".into(),
        )
        .into());
    }
    let (live, config) = drv.read(|s| impact(s.find(r)?, flags))?;
    if live && flags & MAXIMUM != 0 {
        return Err(QemuError::NotSupported(
            "changing the maximum vCPU count of a running QEMU domain is not possible".into(),
        )
        .into());
    }
    if live {
        crate::hotplug::vcpus::set_live(drv, r, n)?;
    }
    if config {
        drv.write(|s, _| {
            let def = persistent_def(s.find_mut(r)?);
            if flags & MAXIMUM != 0 {
                def.vcpus = n;
                def.current_vcpus = def.current_vcpus.min(n);
            } else if n > def.vcpus {
                return Err(QemuError::InvalidArg(format!(
                    "requested vcpus is greater than max allowable vcpus for the persistent domain: {n} > {}",
                    def.vcpus
                ))
                .into());
            } else {
                def.current_vcpus = n;
            }
            drv.save_config(def)
        })?;
    }
    Ok(())
}

/// `virDomainGetVcpusFlags`.
pub fn get_vcpus(drv: &Driver, r: &RemoteNonnullDomain, flags: u32) -> QResult<u32> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM,
        "qemuDomainGetVcpusFlags",
    )?;
    drv.read(|s| {
        let d = s.find(r)?;
        let (live, _) = impact(d, flags)?;
        let def = selected_def(d, live);
        Ok(if flags & MAXIMUM != 0 {
            def.vcpus
        } else {
            def.current_vcpus
        })
    })
}
