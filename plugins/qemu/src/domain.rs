//! Domain operations behind the API: define, undefine, create, lookups, listing, info.

use std::sync::Arc;

use rvirt_plugin_api::protocol::{RemoteDomainGetInfoRet, RemoteNonnullDomain};
use rvirt_xml::domain::DomainDef;

use crate::driver::{Dom, Driver, Inner};
use crate::error::{check_flags, QResult, QemuError};
use crate::events::{ev, Event};
use crate::lifecycle;

const DEFINE_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::domain_define::VALIDATE;
const START_PAUSED: u32 = rvirt_plugin_api::protocol::facts::domain_start::PAUSED;
const START_AUTODESTROY: u32 = rvirt_plugin_api::protocol::facts::domain_start::AUTODESTROY;
const START_BYPASS_CACHE: u32 = rvirt_plugin_api::protocol::facts::domain_start::BYPASS_CACHE;
const START_FORCE_BOOT: u32 = rvirt_plugin_api::protocol::facts::domain_start::FORCE_BOOT;
const START_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::domain_start::VALIDATE;
/// Undefine flags this driver accepts: every `virDomainUndefineFlagsValues` bit (snapshot
/// and checkpoint metadata are no-ops, as this driver keeps none).
const UNDEFINE_ALL: u32 = {
    use rvirt_plugin_api::protocol::facts::domain_undefine as u;
    u::MANAGED_SAVE
        | u::SNAPSHOTS_METADATA
        | u::NVRAM
        | u::KEEP_NVRAM
        | u::CHECKPOINTS_METADATA
        | u::TPM
        | u::KEEP_TPM
};

/// Parses and checks a definition the way every entry point does.
pub fn parse(xml: &str) -> QResult<DomainDef> {
    parse_with(xml, false)
}

/// [`parse`], validating against libvirt's schema first when `validate` is set.
fn parse_with(xml: &str, validate: bool) -> QResult<DomainDef> {
    let opts = rvirt_xml::ParseOptions::validate(validate).with_default_usb();
    let def = DomainDef::parse_with(xml, opts).map_err(QemuError::from)?;
    if !matches!(&*def.domain_type, "kvm" | "qemu") {
        return Err(QemuError::Invalid(format!(
            "unsupported configuration: emulator '{}' does not support virt type '{}'",
            def.emulator
                .as_deref()
                .unwrap_or(crate::config::DEFAULT_EMULATOR),
            def.domain_type
        ))
        .into());
    }
    Ok(def)
}

/// Refuses more vCPUs than the machine type takes, with libvirt's text.
pub fn check_max_vcpus(host: &crate::caps::HostInfo, def: &DomainDef) -> QResult<()> {
    let max = host.machine_max_cpus(def.machine.as_deref().unwrap_or("pc"));
    if def.vcpus > max {
        return Err(QemuError::Unsupported(format!(
            "Maximum CPUs greater than specified machine type limit {max}"
        ))
        .into());
    }
    Ok(())
}

/// Refuses a definition whose name or UUID clashes with another domain; returns the slot of
/// the same domain if it exists.
pub(crate) fn slot_for(s: &Inner, def: &DomainDef) -> QResult<Option<usize>> {
    if let Some(i) = s.doms.iter().position(|d| d.def.uuid == def.uuid) {
        let d = &s.doms[i];
        if d.def.name != def.name {
            return Err(QemuError::Exists(d.def.name.clone(), d.def.uuid.to_string()).into());
        }
        return Ok(Some(i));
    }
    if let Some(d) = s.by_name(&def.name) {
        return Err(QemuError::Exists(d.def.name.clone(), d.def.uuid.to_string()).into());
    }
    Ok(None)
}

/// libvirt's post-parse step ([`crate::postparse`]): versioned machine type, CPU model,
/// emulator, implicit devices, PCI and USB addresses, which is what the stored definition
/// and every dump show.
pub fn post_parse(drv: &Driver, def: &mut DomainDef) {
    crate::postparse::run(drv.host(), &drv.cfg.emulator, def);
}

/// Refuses an emulator binary that cannot be examined, as libvirt's capability lookup does
/// when a definition is parsed.
pub fn check_emulator(drv: &Driver, def: &DomainDef) -> QResult<()> {
    let emulator = crate::argv::emulator(def, &drv.cfg.emulator);
    std::fs::metadata(emulator)
        .map(|_| ())
        .map_err(|e| QemuError::io(format!("Cannot check QEMU binary {emulator}"), &e).into())
}

/// Refuses local disk sources that do not exist (unless the disk is optional), before any
/// process is started: libvirt's disk chain check at start.
pub fn check_disks(def: &DomainDef) -> QResult<()> {
    use rvirt_xml::domain::Device;
    for dev in &def.devices {
        let Device::Disk(d) = dev else { continue };
        let Some(path) = &d.source else { continue };
        if !matches!(d.disk_type.as_str(), "file" | "block") {
            continue;
        }
        if d.startup_policy.as_deref() == Some("optional") {
            continue;
        }
        if let Err(e) = std::fs::metadata(path) {
            let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
            return Err(QemuError::io(
                format!("Cannot access storage file '{path}' (as uid:{uid}, gid:{gid})"),
                &e,
            )
            .into());
        }
    }
    Ok(())
}

/// Checks that the definition can be turned into a command line (so errors show at define).
fn validate(drv: &Driver, def: &DomainDef) -> QResult<()> {
    check_emulator(drv, def)?;
    crate::postparse::check(def)?;
    check_max_vcpus(drv.host(), def)?;
    crate::firmware::check(def).map_err(QemuError::Unsupported)?;
    let rt = crate::argv::Runtime {
        monitor: drv.cfg.monitor_path(&def.name),
        pidfile: drv.cfg.pid_file(&def.name),
        run_dir: drv.cfg.run_dir.clone(),
        vnc_port: Some(5900),
        spice_port: Some(5904),
    };
    let mut def = crate::volumes::placeholders(def);
    // Firmware is chosen at start, as libvirt 9.0 chooses it; one that cannot be found
    // then is that start's error, not this define's.
    let found = crate::firmware::descriptors(crate::firmware::DESCRIPTOR_DIRS);
    if crate::firmware::fill(&mut def, &drv.cfg.nvram_dir(), &found).is_err() {
        def.os.opts_mut().firmware = None;
    }
    crate::argv::build(&def, &rt)
        .map(|_| ())
        .map_err(|e| QemuError::Unsupported(e.to_string()).into())
}

pub fn define(drv: &Driver, xml: &str, flags: u32) -> QResult<RemoteNonnullDomain> {
    check_flags(flags, DEFINE_VALIDATE, "qemuDomainDefineXMLFlags")?;
    let mut def = parse_with(xml, flags & DEFINE_VALIDATE != 0)?;
    post_parse(drv, &mut def);
    validate(drv, &def)?;
    drv.write(|s, events| {
        let slot = slot_for(s, &def)?;
        drv.save_config(&def)?;
        let detail = if slot.is_some_and(|i| s.doms[i].persistent) {
            ev::DEFINED_UPDATED
        } else {
            ev::DEFINED_ADDED
        };
        let d = match slot {
            Some(i) => {
                let d = &mut s.doms[i];
                if d.is_active() {
                    d.next_def = Some(def);
                } else {
                    d.def = def;
                }
                d.persistent = true;
                d
            }
            None => {
                s.doms.push(Dom::new(def, true));
                s.doms.last_mut().expect("just pushed")
            }
        };
        events.push(Event::Lifecycle(d.reference(), ev::DEFINED, detail));
        Ok(d.reference())
    })
}

pub fn undefine(drv: &Driver, r: &RemoteNonnullDomain, flags: u32) -> QResult<()> {
    check_flags(flags, UNDEFINE_ALL, "qemuDomainUndefineFlags")?;
    let image = crate::save::managed::undefine_check(drv, r, flags)?;
    drv.write(|s, events| {
        let d = s.find(r)?;
        if !d.persistent {
            return Err(QemuError::Invalid("cannot undefine transient domain".into()).into());
        }
        let name = d.def.name.clone();
        let drop_snapshots = crate::snapshot::undefine_check(d, flags)?;
        let nvram = crate::firmware::undefine_nvram(&d.def, &drv.cfg.nvram_dir(), flags)
            .map_err(QemuError::Invalid)?;
        // Every check has passed: only now is anything removed.
        if let Some(f) = &image {
            crate::save::managed::remove_image(f)?;
        }
        if let Some(p) = nvram {
            std::fs::remove_file(&p).map_err(|e| {
                QemuError::Failed(format!("failed to remove nvram: {}: {e}", p.display()))
            })?;
        }
        // A running guest's swtpm still uses its state (libvirt removes it at the stop).
        if !(d.is_active() || d.starting) {
            crate::tpm::undefine(&d.def, &drv.cfg.state_dir, flags).map_err(QemuError::from)?;
        }
        drv.delete_config(&name);
        if drop_snapshots {
            crate::snapshot::store::remove_all(&drv.cfg, &name);
        }
        let i = s
            .doms
            .iter()
            .position(|x| x.def.uuid.0 == r.uuid)
            .expect("found above");
        events.push(Event::Lifecycle(
            s.doms[i].reference(),
            ev::UNDEFINED,
            ev::UNDEFINED_REMOVED,
        ));
        if s.doms[i].is_active() || s.doms[i].starting {
            let d = &mut s.doms[i];
            d.persistent = false;
            d.autostart = false;
            d.next_def = None;
        } else {
            s.doms.remove(i);
        }
        Ok(())
    })
}

fn start_flags(flags: u32, func: &'static str) -> QResult<bool> {
    let allowed =
        START_PAUSED | START_AUTODESTROY | START_BYPASS_CACHE | START_FORCE_BOOT | START_VALIDATE;
    check_flags(flags, allowed, func)?;
    if flags & START_AUTODESTROY != 0 {
        return Err(
            QemuError::Invalid("autodestroy is not supported by this driver".into()).into(),
        );
    }
    Ok(flags & START_PAUSED != 0)
}

pub fn create(
    drv: &Arc<Driver>,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> QResult<RemoteNonnullDomain> {
    let paused = start_flags(flags, "qemuDomainCreateWithFlags")?;
    drv.read(|s| s.find(r).map(|_| ()))?;
    crate::save::managed::start(
        drv,
        r.uuid,
        paused,
        flags & START_FORCE_BOOT != 0,
        flags & START_BYPASS_CACHE != 0,
    )
}

pub fn create_xml(drv: &Arc<Driver>, xml: &str, flags: u32) -> QResult<RemoteNonnullDomain> {
    let paused = start_flags(flags, "qemuDomainCreateXML")?;
    let mut def = parse_with(xml, flags & START_VALIDATE != 0)?;
    post_parse(drv, &mut def);
    validate(drv, &def)?;
    let uuid = def.uuid.0;
    drv.write(|s, _| {
        match slot_for(s, &def)? {
            Some(i) if s.doms[i].is_active() || s.doms[i].starting => {
                return Err(
                    QemuError::Invalid(format!("domain '{}' is already active", def.name)).into(),
                )
            }
            Some(i) => s.doms[i].def = def,
            None => s.doms.push(Dom::new(def, false)),
        }
        Ok(())
    })?;
    lifecycle::start(drv, uuid, paused)
}

pub fn lookup_by_name(s: &Inner, name: &str) -> QResult<RemoteNonnullDomain> {
    s.by_name(name)
        .map(Dom::reference)
        .ok_or_else(|| QemuError::NoDomainName(name.to_string()).into())
}

pub fn lookup_by_uuid(s: &Inner, uuid: &[u8; 16]) -> QResult<RemoteNonnullDomain> {
    s.doms
        .iter()
        .find(|d| d.def.uuid.0 == *uuid)
        .map(Dom::reference)
        .ok_or_else(|| QemuError::NoDomainUuid(rvirt_xml::Uuid(*uuid).to_string()).into())
}

pub fn lookup_by_id(s: &Inner, id: i32) -> QResult<RemoteNonnullDomain> {
    s.doms
        .iter()
        .find(|d| d.is_active() && d.id() == id)
        .map(Dom::reference)
        .ok_or_else(|| QemuError::NoDomainId(id).into())
}

/// `virConnectListAllDomains` filter flags.
use rvirt_plugin_api::listing::{domain_matches, DomainFacts};
use rvirt_plugin_api::protocol::facts::domain_list as list;

pub(crate) fn matches(d: &Dom, flags: u32) -> bool {
    let facts = DomainFacts {
        state: d.state().0,
        active: d.is_active(),
        persistent: d.persistent,
        managed_save: d.managed_save,
        autostart: d.autostart,
        ..Default::default()
    };
    domain_matches(&facts, flags)
}

pub fn list_all(s: &Inner, flags: u32) -> QResult<Vec<RemoteNonnullDomain>> {
    check_flags(flags, list::ALL, "qemuConnectListAllDomains")?;
    Ok(s.doms
        .iter()
        .filter(|d| matches(d, flags))
        .map(Dom::reference)
        .collect())
}

pub fn active_ids(s: &Inner, max: i32) -> Vec<i32> {
    let mut ids: Vec<i32> = s
        .doms
        .iter()
        .filter(|d| d.is_active())
        .map(Dom::id)
        .collect();
    ids.sort_unstable();
    ids.truncate(max.max(0) as usize);
    ids
}

pub fn defined_names(s: &Inner, max: i32) -> Vec<String> {
    let mut names: Vec<String> = s
        .doms
        .iter()
        .filter(|d| !d.is_active() && d.persistent)
        .map(|d| d.def.name.clone())
        .collect();
    names.sort();
    names.truncate(max.max(0) as usize);
    names
}

/// CPU time of a process in nanoseconds, from /proc.
fn cpu_time_ns(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields after the command: state is [0], utime [11], stime [12]; ticks are 1/100 s.
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) * 10_000_000
}

pub fn get_info(s: &Inner, r: &RemoteNonnullDomain) -> QResult<RemoteDomainGetInfoRet> {
    let d = s.find(r)?;
    let (state, _) = d.state();
    let def = d.run.as_ref().map_or(&d.def, |x| &x.live);
    Ok(RemoteDomainGetInfoRet {
        state: state as u8,
        max_mem: def.memory_kib,
        memory: if d.is_active() {
            def.current_memory_kib
        } else {
            def.current_memory_kib.min(def.memory_kib)
        },
        nr_virt_cpu: def.current_vcpus as u16,
        cpu_time: d.run.as_ref().map_or(0, |x| cpu_time_ns(x.proc.pid)),
    })
}

pub fn get_state(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> QResult<(i32, i32)> {
    check_flags(flags, 0, "qemuDomainGetState")?;
    Ok(s.find(r)?.state())
}

pub fn set_autostart(drv: &Driver, r: &RemoteNonnullDomain, on: bool) -> QResult<()> {
    drv.write(|s, _| {
        let d = s.find_mut(r)?;
        if !d.persistent {
            return Err(
                QemuError::Invalid("cannot set autostart for transient domain".into()).into(),
            );
        }
        if d.autostart != on {
            drv.set_autostart_file(&d.def.name, on)?;
            d.autostart = on;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters() {
        let def = DomainDef::parse(include_str!("../testdata/tiny-tcg.xml")).unwrap();
        let mut d = Dom::new(def, true);
        d.autostart = true;
        assert!(matches(&d, 0));
        assert!(matches(&d, list::INACTIVE | list::PERSISTENT));
        assert!(!matches(&d, list::ACTIVE));
        assert!(matches(&d, list::SHUTOFF | list::AUTOSTART));
        assert!(!matches(&d, list::NO_AUTOSTART));
        assert!(matches(&d, list::ACTIVE | list::INACTIVE));
        assert!(!matches(&d, list::TRANSIENT));
    }

    #[test]
    fn parse_refuses_other_types() {
        let xml = include_str!("../testdata/tiny-tcg.xml").replace("type='qemu'", "type='xen'");
        let e = parse(&xml).unwrap_err();
        assert!(e.text().contains("virt type 'xen'"), "{}", e.text());
    }

    fn with_vcpus(n: u32, machine: &str) -> DomainDef {
        let mut def = DomainDef::parse(include_str!("../testdata/tiny-tcg.xml")).unwrap();
        def.vcpus = n;
        def.current_vcpus = 1;
        def.machine = Some(machine.into());
        def
    }

    #[test]
    fn vcpus_above_the_machine_limit_are_refused() {
        let host = crate::caps::HostInfo {
            max_cpus: [("isapc".to_string(), 1)].into_iter().collect(),
            ..Default::default()
        };
        assert!(check_max_vcpus(&host, &with_vcpus(255, "pc")).is_ok());
        let e = check_max_vcpus(&host, &with_vcpus(256, "pc")).unwrap_err();
        assert_eq!(e.code, 67);
        assert_eq!(
            e.text(),
            "unsupported configuration: Maximum CPUs greater than specified machine type limit 255"
        );
        assert!(check_max_vcpus(&host, &with_vcpus(288, "q35")).is_ok());
        let e = check_max_vcpus(&host, &with_vcpus(2, "isapc")).unwrap_err();
        assert!(e.text().ends_with("machine type limit 1"), "{}", e.text());
    }

    #[test]
    fn names_are_checked_by_the_parser() {
        let xml = include_str!("../testdata/tiny-tcg.xml");
        let name = DomainDef::parse(xml).unwrap().name;
        let e = parse(&xml.replace(&format!(">{name}<"), ">a/b<")).unwrap_err();
        assert_eq!(e.code, 27);
        assert_eq!(e.text(), "XML error: name a/b cannot contain '/'");
        let e = parse(&xml.replace(&format!(">{name}<"), ">a\nb<")).unwrap_err();
        assert_eq!((e.code, e.text()), (35, "invalid char in name: \n"));
    }
}
