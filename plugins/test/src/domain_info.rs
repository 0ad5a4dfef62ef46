//! Domain getters and setters, and the domain listings.

use std::time::{SystemTime, UNIX_EPOCH};

use rvirt_plugin_api::listing::{domain_matches, DomainFacts};
use rvirt_plugin_api::protocol::{RemoteDomainGetInfoRet, RemoteNonnullDomain, RemoteVcpuInfo};
use rvirt_xml::domain::DomainDef;

use crate::domain::{dom_ref, find, find_mut};
use crate::error::{check_flags, TestError, TestResult};
use crate::state::{Domain, Inner};

/// Largest vCPU count the test hypervisor accepts.
pub const MAX_VCPUS: i32 = 32;

pub(crate) use rvirt_plugin_api::protocol::facts::domain_affect::{
    CONFIG as AFFECT_CONFIG, LIVE as AFFECT_LIVE,
};
const MEM_MAXIMUM: u32 = rvirt_plugin_api::protocol::facts::domain_tune::MAXIMUM;
const VCPU_MAXIMUM: u32 = rvirt_plugin_api::protocol::facts::domain_tune::MAXIMUM;
const XML_COMMON: u32 = rvirt_plugin_api::protocol::facts::domain_xml::SECURE
    | rvirt_plugin_api::protocol::facts::domain_xml::INACTIVE
    | rvirt_plugin_api::protocol::facts::domain_xml::MIGRATABLE;
const XML_INACTIVE: u32 = rvirt_plugin_api::protocol::facts::domain_xml::INACTIVE;
const MESSAGE_ALL: u32 = rvirt_plugin_api::protocol::facts::domain_message::DEPRECATION
    | rvirt_plugin_api::protocol::facts::domain_message::TAINTING;

/// Wall-clock nanoseconds: the test driver reports this as consumed CPU time.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64 * 1000)
        .unwrap_or(0)
}

pub fn get_info(s: &Inner, r: &RemoteNonnullDomain) -> TestResult<RemoteDomainGetInfoRet> {
    let d = find(s, r)?;
    Ok(RemoteDomainGetInfoRet {
        state: d.state as u8,
        max_mem: d.def.memory_kib,
        memory: d.def.current_memory_kib,
        nr_virt_cpu: d.def.current_vcpus as u16,
        cpu_time: now_ns(),
    })
}

pub fn get_state(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<(i32, i32)> {
    check_flags(flags, 0, "testDomainGetState")?;
    let d = find(s, r)?;
    Ok((d.state, d.reason))
}

pub fn get_xml(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<String> {
    check_flags(flags, XML_COMMON, "testDomainGetXMLDesc")?;
    let d = find(s, r)?;
    if flags & XML_INACTIVE != 0 {
        return Ok(d.persistent_def().to_xml(None));
    }
    Ok(d.def.to_xml(d.is_active().then_some(d.id)))
}

/// Resolves AFFECT_CURRENT/LIVE/CONFIG to (live, config) for a domain, with libvirt's errors.
pub(crate) fn impact(d: &Domain, flags: u32) -> TestResult<(bool, bool)> {
    if flags & AFFECT_LIVE != 0 && flags & AFFECT_CONFIG != 0 {
        let msg =
            "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive";
        return Err(TestError::InvalidArg(msg.into()).into());
    }
    let mut live = flags & AFFECT_LIVE != 0;
    let mut config = flags & AFFECT_CONFIG != 0;
    if !live && !config {
        live = d.is_active();
        config = !live;
    }
    if live && !d.is_active() {
        return Err(TestError::NotRunning.into());
    }
    if config && !d.persistent {
        return Err(TestError::ConfInvalid(
            "transient domains do not have any persistent config".into(),
        )
        .into());
    }
    Ok((live, config))
}

/// The one definition AFFECT flags select.
pub(crate) fn one_def_mut(d: &mut Domain, flags: u32) -> TestResult<(&mut DomainDef, bool)> {
    let (live, config) = impact(d, flags)?;
    if config && d.is_active() {
        if d.new_def.is_none() {
            d.new_def = Some(Box::new(d.def.clone()));
        }
        if let Some(nd) = d.new_def.as_mut() {
            return Ok((nd, live));
        }
    }
    Ok((&mut d.def, live))
}

pub fn set_memory(
    s: &mut Inner,
    r: &RemoteNonnullDomain,
    memory: u64,
    flags: u32,
) -> TestResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG | MEM_MAXIMUM,
        "testDomainSetMemoryFlags",
    )?;
    let d = find_mut(s, r)?;
    let (def, live) = one_def_mut(d, flags)?;
    if flags & MEM_MAXIMUM != 0 {
        if live {
            let msg = "cannot resize the maximum memory on an active domain";
            return Err(TestError::Invalid(msg.into()).into());
        }
        def.memory_kib = memory;
        def.current_memory_kib = def.current_memory_kib.min(memory);
    } else {
        if memory > def.memory_kib {
            return Err(
                TestError::InvalidArg("cannot set memory higher than max memory".into()).into(),
            );
        }
        def.current_memory_kib = memory;
    }
    Ok(())
}

pub fn get_vcpus_flags(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<i32> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG | VCPU_MAXIMUM,
        "testDomainGetVcpusFlags",
    )?;
    let d = find(s, r)?;
    let (_, config) = impact(d, flags)?;
    let def = if config { d.persistent_def() } else { &d.def };
    Ok(if flags & VCPU_MAXIMUM != 0 {
        def.vcpus
    } else {
        def.current_vcpus
    } as i32)
}

fn too_many(n: u32, max: u32) -> TestResult<()> {
    Err(TestError::InvalidArg(format!(
        "requested cpu amount exceeds maximum ({n} > {max})"
    ))
    .into())
}

pub fn set_vcpus(s: &mut Inner, r: &RemoteNonnullDomain, n: u32, flags: u32) -> TestResult<()> {
    check_flags(
        flags,
        AFFECT_LIVE | AFFECT_CONFIG | VCPU_MAXIMUM,
        "testDomainSetVcpusFlags",
    )?;
    if n > MAX_VCPUS as u32 {
        let msg =
            format!("requested cpu amount exceeds maximum supported amount ({n} > {MAX_VCPUS})");
        return Err(TestError::InvalidArg(msg).into());
    }
    let d = find_mut(s, r)?;
    let (live, config) = impact(d, flags)?;
    if live && d.def.vcpus < n {
        return too_many(n, d.def.vcpus);
    }
    let max_vcpu = flags & VCPU_MAXIMUM != 0;
    if config && !max_vcpu && d.persistent_def().vcpus < n {
        return too_many(n, d.persistent_def().vcpus);
    }
    if live {
        d.def.current_vcpus = n;
    }
    if config {
        let (pd, _) = one_def_mut(d, AFFECT_CONFIG)?;
        if max_vcpu {
            pd.vcpus = n;
            pd.current_vcpus = pd.current_vcpus.min(n);
        } else {
            pd.current_vcpus = n;
        }
    }
    Ok(())
}

pub fn get_vcpus(
    s: &Inner,
    r: &RemoteNonnullDomain,
    maxinfo: i32,
    maplen: i32,
) -> TestResult<(Vec<RemoteVcpuInfo>, Vec<u8>)> {
    let d = find(s, r)?;
    if !d.is_active() {
        return Err(TestError::Invalid("cannot list vcpus for an inactive domain".into()).into());
    }
    let host_cpus = s.cpu.nodes * s.cpu.sockets * s.cpu.cores * s.cpu.threads;
    let n = (d.def.current_vcpus as usize).min(maxinfo.max(0) as usize);
    let statbase = now_ns() / 1000;
    let info = (0..n)
        .map(|i| RemoteVcpuInfo {
            number: i as u32,
            state: 1,
            cpu_time: statbase / 10,
            cpu: (i as u32 % host_cpus.max(1)) as i32,
        })
        .collect();
    let mut maps = vec![0u8; n * maplen.max(0) as usize];
    for v in 0..n {
        for c in 0..(host_cpus as usize).min(maplen.max(0) as usize * 8) {
            maps[v * maplen as usize + c / 8] |= 1 << (c % 8);
        }
    }
    Ok((info, maps))
}

pub fn set_autostart(s: &mut Inner, r: &RemoteNonnullDomain, on: bool) -> TestResult<()> {
    find_mut(s, r)?.autostart = on;
    Ok(())
}

pub fn get_messages(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<Vec<String>> {
    check_flags(flags, MESSAGE_ALL, "testDomainGetMessages")?;
    find(s, r)?;
    Ok(Vec::new())
}

/// The security label: set only while the domain runs.
pub fn security_label(s: &Inner, r: &RemoteNonnullDomain) -> TestResult<(String, i32)> {
    let d = find(s, r)?;
    Ok(if d.is_active() {
        ("libvirt-test".into(), 1)
    } else {
        (String::new(), 0)
    })
}

/// VIR_CONNECT_LIST_DOMAINS_* filter.
pub fn matches(d: &Domain, flags: u32) -> bool {
    let facts = DomainFacts {
        state: d.state,
        active: d.is_active(),
        persistent: d.persistent,
        managed_save: d.managed_save,
        autostart: d.autostart,
        has_snapshot: !d.snapshots.is_empty(),
        has_checkpoint: !d.checkpoints.is_empty(),
    };
    domain_matches(&facts, flags)
}

pub fn list_all(s: &Inner, flags: u32) -> TestResult<Vec<RemoteNonnullDomain>> {
    check_flags(
        flags,
        rvirt_plugin_api::protocol::facts::domain_list::ALL,
        "testConnectListAllDomains",
    )?;
    Ok(s.domains
        .iter()
        .filter(|d| matches(d, flags))
        .map(dom_ref)
        .collect())
}

pub fn active_ids(s: &Inner, max: i32) -> Vec<i32> {
    s.domains
        .iter()
        .filter(|d| d.is_active())
        .map(|d| d.id)
        .take(max.max(0) as usize)
        .collect()
}

pub fn defined_names(s: &Inner, max: i32) -> Vec<String> {
    s.domains
        .iter()
        .filter(|d| !d.is_active())
        .map(|d| d.def.name.clone())
        .take(max.max(0) as usize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lookup_by_name;
    use crate::state::Driver;

    use crate::testutil::fixture;

    #[test]
    fn default_domain_info_and_xml() {
        let d = Driver::new_default();
        d.read(|s| {
            let r = lookup_by_name(s, "test")?;
            let info = get_info(s, &r)?;
            assert_eq!(
                (info.state, info.max_mem, info.memory, info.nr_virt_cpu),
                (1, 8388608, 2097152, 2)
            );
            assert!(info.cpu_time > 1_700_000_000_000_000_000);
            assert_eq!(get_state(s, &r, 0)?, (1, 0));
            assert_eq!(get_xml(s, &r, 0)?, fixture("dumpxml-test.txt"));
            assert_eq!(security_label(s, &r)?, ("libvirt-test".to_string(), 1));
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn memory_and_vcpu_setters() {
        let d = Driver::new_default();
        d.write(|s, _| {
            let r = lookup_by_name(s, "test")?;
            assert_eq!(set_memory(s, &r, 99_999_999, 0).unwrap_err().code, 8);
            set_memory(s, &r, 1024 * 1024, 0)?;
            assert_eq!(get_info(s, &r)?.memory, 1024 * 1024);
            assert_eq!(set_memory(s, &r, 1, MEM_MAXIMUM).unwrap_err().code, 55);
            assert_eq!(get_vcpus_flags(s, &r, VCPU_MAXIMUM)?, 2);
            set_vcpus(s, &r, 1, 0)?;
            assert_eq!(get_vcpus_flags(s, &r, 0)?, 1);
            assert_eq!(
                set_vcpus(s, &r, 3, 0).unwrap_err().text(),
                "invalid argument: requested cpu amount exceeds maximum (3 > 2)"
            );
            set_vcpus(s, &r, 4, AFFECT_CONFIG | VCPU_MAXIMUM)?;
            assert_eq!(get_vcpus_flags(s, &r, AFFECT_CONFIG | VCPU_MAXIMUM)?, 4);
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn list_filters() {
        let d = Driver::new_default();
        d.read(|s| {
            assert_eq!(list_all(s, 0)?.len(), 1);
            assert_eq!(list_all(s, 1)?.len(), 1);
            assert_eq!(list_all(s, 2)?.len(), 0);
            assert_eq!(list_all(s, 0x10 | 4)?.len(), 1);
            assert_eq!(list_all(s, 0x40)?.len(), 0);
            assert_eq!(list_all(s, 0x800)?.len(), 1);
            assert_eq!(list_all(s, 0x10000).unwrap_err().code, 8);
            assert_eq!(active_ids(s, 10), [1]);
            assert!(defined_names(s, 10).is_empty());
            Ok(())
        })
        .unwrap();
    }
}
