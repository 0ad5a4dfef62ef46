//! Domain lookup and lifecycle: define, start, stop, pause, undefine, managed save.

use rvirt_plugin_api::protocol::RemoteNonnullDomain;
use rvirt_xml::domain::DomainDef;

use crate::error::{check_flags, TestError, TestResult};
use crate::events::{dom as ev, Event};
use crate::state::{dstate, Domain, Inner};
use crate::store::Key;

pub use rvirt_plugin_api::protocol::facts::domain_reason as reason;

const DEFINE_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::domain_define::VALIDATE;
const START_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::domain_start::VALIDATE;
const UNDEFINE_MANAGED_SAVE: u32 = rvirt_plugin_api::protocol::facts::domain_undefine::MANAGED_SAVE;
const UNDEFINE_SNAPSHOTS_METADATA: u32 =
    rvirt_plugin_api::protocol::facts::domain_undefine::SNAPSHOTS_METADATA;
const DESTROY_GRACEFUL: u32 = rvirt_plugin_api::protocol::facts::domain_destroy::GRACEFUL;
const REBOOT_ALL: u32 = rvirt_plugin_api::protocol::facts::domain_shutdown::ALL;
const SAVE_ALL: u32 = rvirt_plugin_api::protocol::facts::domain_save::BYPASS_CACHE
    | rvirt_plugin_api::protocol::facts::domain_save::RUNNING
    | rvirt_plugin_api::protocol::facts::domain_save::PAUSED;

/// The wire reference of a domain.
pub fn dom_ref(d: &Domain) -> RemoteNonnullDomain {
    RemoteNonnullDomain {
        name: d.def.name.clone(),
        uuid: d.def.uuid.0,
        id: d.id,
    }
}

fn uuid_text(u: &[u8; 16]) -> String {
    rvirt_xml::Uuid(*u).to_string()
}

/// Key of the domain a reference names (matched by UUID, like libvirt).
pub fn index(s: &Inner, r: &RemoteNonnullDomain) -> TestResult<Key> {
    s.domains.key_by_uuid(&r.uuid).ok_or_else(|| {
        TestError::NoDomainUuid {
            uuid: uuid_text(&r.uuid),
            name: r.name.clone(),
        }
        .into()
    })
}

pub fn find<'a>(s: &'a Inner, r: &RemoteNonnullDomain) -> TestResult<&'a Domain> {
    Ok(&s.domains[index(s, r)?])
}

pub fn find_mut<'a>(s: &'a mut Inner, r: &RemoteNonnullDomain) -> TestResult<&'a mut Domain> {
    let i = index(s, r)?;
    Ok(&mut s.domains[i])
}

pub fn lookup_by_name(s: &Inner, name: &str) -> TestResult<RemoteNonnullDomain> {
    s.domains
        .by_name(name)
        .map(dom_ref)
        .ok_or_else(|| TestError::NoDomain.into())
}

pub fn lookup_by_uuid(s: &Inner, uuid: &[u8; 16]) -> TestResult<RemoteNonnullDomain> {
    s.domains
        .by_uuid(uuid)
        .map(dom_ref)
        .ok_or_else(|| TestError::NoDomain.into())
}

pub fn lookup_by_id(s: &Inner, id: i32) -> TestResult<RemoteNonnullDomain> {
    s.domains
        .by_id(id)
        .filter(|d| d.is_active() && d.id == id)
        .map(dom_ref)
        .ok_or_else(|| TestError::NoDomain.into())
}

/// Parses a definition; the parser makes libvirt's checks on names, memory and vCPUs.
fn parse(xml: &str, validate: bool) -> TestResult<DomainDef> {
    let opts = rvirt_xml::ParseOptions::validate(validate);
    let mut def = DomainDef::parse_with(xml, opts).map_err(TestError::from)?;
    fill_arch(&mut def);
    generate_ifnames(&mut def);
    Ok(def)
}

/// The test driver's only guest architecture, which libvirt fills in when a definition
/// (a domain's, or one a snapshot carries) gives none.
pub fn fill_arch(def: &mut DomainDef) {
    if def.arch.is_none() {
        def.arch = Some("i686".into());
    }
}

/// Like libvirt's test driver, names every interface without a host-side device
/// `testnetN`, N the lowest number no interface of the domain uses.
fn generate_ifnames(def: &mut DomainDef) {
    let mut n = 0;
    while def.interfaces().any(|i| i.target_dev.is_none()) {
        let name = loop {
            let name = format!("testnet{n}");
            n += 1;
            if !def
                .interfaces()
                .any(|i| i.target_dev.as_deref() == Some(name.as_str()))
            {
                break name;
            }
        };
        if let Some(i) = def.interfaces_mut().find(|i| i.target_dev.is_none()) {
            i.target_dev = Some(name);
        }
    }
}

/// Where a new definition goes: an existing domain (same UUID and name) or a new slot.
/// Refuses name/UUID clashes with libvirt's texts.
fn slot_for(s: &Inner, def: &DomainDef, check_live: bool) -> TestResult<Option<Key>> {
    if let Some(i) = s.domains.key_by_uuid(&def.uuid.0) {
        let d = &s.domains[i];
        if d.def.name != def.name {
            let msg = format!(
                "domain '{}' is already defined with uuid {}",
                d.def.name, d.def.uuid
            );
            return Err(TestError::ConfFailed(msg).into());
        }
        if check_live && d.is_active() {
            return Err(TestError::ConfInvalid(format!(
                "domain '{}' is already active",
                d.def.name
            ))
            .into());
        }
        return Ok(Some(i));
    }
    if let Some(d) = s.domains.by_name(&def.name) {
        let msg = format!(
            "domain '{}' already exists with uuid {}",
            def.name, d.def.uuid
        );
        return Err(TestError::ConfFailed(msg).into());
    }
    Ok(None)
}

/// DOMAIN_DEFINE_XML(_FLAGS).
pub fn define(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    xml: &str,
    flags: u32,
) -> TestResult<RemoteNonnullDomain> {
    check_flags(flags, DEFINE_VALIDATE, "testDomainDefineXMLFlags")?;
    let def = parse(xml, flags & DEFINE_VALIDATE != 0)?;
    let (i, detail) = match slot_for(s, &def, false)? {
        Some(i) => {
            let d = &mut s.domains[i];
            if d.is_active() {
                d.new_def = Some(Box::new(def));
            } else {
                d.def = def;
            }
            (i, ev::DEFINED_UPDATED)
        }
        None => (s.domains.insert(Domain::new(def)), ev::DEFINED_ADDED),
    };
    let d = &mut s.domains[i];
    d.persistent = true;
    let r = dom_ref(d);
    evs.push(Event::Domain(r.clone(), ev::DEFINED, detail));
    Ok(r)
}

/// Marks a domain running with a fresh id.
pub fn start_state(s: &mut Inner, i: Key, state: i32, why: i32) {
    let id = s.next_dom_id;
    s.next_dom_id += 1;
    s.domains.update(i, |d| {
        d.state = state;
        d.reason = why;
        d.id = id;
        if d.persistent && d.new_def.is_none() {
            d.new_def = Some(Box::new(d.def.clone()));
        }
        d.managed_save = false;
    });
}

/// Marks a domain shut off; the persistent definition becomes current again.
pub fn stop_state(s: &mut Inner, i: Key, why: i32) -> &mut Domain {
    s.domains.update(i, |d| {
        d.state = dstate::SHUTOFF;
        d.reason = why;
        d.id = -1;
        if let Some(nd) = d.new_def.take() {
            d.def = *nd;
        }
    });
    &mut s.domains[i]
}

/// Stops domain `i`, queues STOPPED/detail and drops it when transient.
fn stop_and_reap(s: &mut Inner, evs: &mut Vec<Event>, i: Key, why: i32, detail: i32) {
    stop_state(s, i, why);
    evs.push(Event::Domain(dom_ref(&s.domains[i]), ev::STOPPED, detail));
    if !s.domains[i].persistent {
        s.domains.remove(i);
    }
}

/// DOMAIN_CREATE_XML: a transient (or existing inactive) domain, started.
pub fn create_xml(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    xml: &str,
    flags: u32,
) -> TestResult<RemoteNonnullDomain> {
    check_flags(flags, START_VALIDATE, "testDomainCreateXML")?;
    let def = parse(xml, flags & START_VALIDATE != 0)?;
    let i = match slot_for(s, &def, true)? {
        Some(i) => {
            let d = &mut s.domains[i];
            if !d.persistent {
                return Err(TestError::ConfInvalid(format!(
                    "domain '{}' is already being started",
                    d.def.name
                ))
                .into());
            }
            d.new_def = Some(Box::new(std::mem::replace(&mut d.def, def)));
            i
        }
        None => s.domains.insert(Domain::new(def)),
    };
    start_state(s, i, dstate::RUNNING, reason::RUNNING_BOOTED);
    let r = dom_ref(&s.domains[i]);
    evs.push(Event::Domain(r.clone(), ev::STARTED, ev::STARTED_BOOTED));
    Ok(r)
}

/// DOMAIN_CREATE(_WITH_FLAGS).
pub fn create(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<RemoteNonnullDomain> {
    check_flags(flags, 0, "testDomainCreateWithFlags")?;
    let i = index(s, r)?;
    if s.domains[i].state != dstate::SHUTOFF {
        return Err(TestError::Internal(format!("Domain '{}' is already running", r.name)).into());
    }
    start_state(s, i, dstate::RUNNING, reason::RUNNING_BOOTED);
    let r = dom_ref(&s.domains[i]);
    evs.push(Event::Domain(r.clone(), ev::STARTED, ev::STARTED_BOOTED));
    Ok(r)
}

fn require_active(d: &Domain) -> TestResult<()> {
    if d.is_active() {
        Ok(())
    } else {
        Err(TestError::NotRunning.into())
    }
}

/// DOMAIN_DESTROY(_FLAGS).
pub fn destroy(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<()> {
    check_flags(flags, DESTROY_GRACEFUL, "testDomainDestroyFlags")?;
    let i = index(s, r)?;
    require_active(&s.domains[i])?;
    stop_and_reap(s, evs, i, reason::SHUTOFF_DESTROYED, ev::STOPPED_DESTROYED);
    Ok(())
}

/// What the guest does on power-off or reboot: `destroy`-like actions stop it.
fn action_stops(action: &str) -> bool {
    !matches!(action, "restart" | "rename-restart")
}

/// DOMAIN_SHUTDOWN(_FLAGS).
pub fn shutdown(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<()> {
    check_flags(flags, 0, "testDomainShutdownFlags")?;
    let i = index(s, r)?;
    if s.domains[i].state == dstate::SHUTOFF {
        return Err(TestError::Internal(format!("domain '{}' not running", r.name)).into());
    }
    after_guest_action(s, evs, i, action_stops(&s.domains[i].def.on_poweroff));
    Ok(())
}

/// DOMAIN_REBOOT.
pub fn reboot(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<()> {
    check_flags(flags, REBOOT_ALL, "testDomainReboot")?;
    let i = index(s, r)?;
    require_active(&s.domains[i])?;
    after_guest_action(s, evs, i, action_stops(&s.domains[i].def.on_reboot));
    Ok(())
}

fn after_guest_action(s: &mut Inner, evs: &mut Vec<Event>, i: Key, stops: bool) {
    if stops {
        stop_and_reap(s, evs, i, reason::SHUTOFF_SHUTDOWN, ev::STOPPED_SHUTDOWN);
    } else {
        let d = &mut s.domains[i];
        d.state = dstate::RUNNING;
        d.reason = reason::RUNNING_BOOTED;
    }
}

/// DOMAIN_RESET.
pub fn reset(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testDomainReset")?;
    require_active(find(s, r)?)
}

/// DOMAIN_SUSPEND.
pub fn suspend(s: &mut Inner, evs: &mut Vec<Event>, r: &RemoteNonnullDomain) -> TestResult<()> {
    let d = find_mut(s, r)?;
    if d.state == dstate::SHUTOFF || d.state == dstate::PAUSED {
        return Err(TestError::Internal(format!("domain '{}' not running", r.name)).into());
    }
    d.state = dstate::PAUSED;
    d.reason = reason::PAUSED_USER;
    evs.push(Event::Domain(
        dom_ref(d),
        ev::SUSPENDED,
        ev::SUSPENDED_PAUSED,
    ));
    Ok(())
}

/// DOMAIN_RESUME.
pub fn resume(s: &mut Inner, evs: &mut Vec<Event>, r: &RemoteNonnullDomain) -> TestResult<()> {
    let d = find_mut(s, r)?;
    if d.state != dstate::PAUSED {
        return Err(TestError::Internal(format!("domain '{}' not paused", r.name)).into());
    }
    d.state = dstate::RUNNING;
    d.reason = reason::RUNNING_UNPAUSED;
    evs.push(Event::Domain(dom_ref(d), ev::RESUMED, ev::RESUMED_UNPAUSED));
    Ok(())
}

/// DOMAIN_UNDEFINE(_FLAGS).
pub fn undefine(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<()> {
    check_flags(
        flags,
        UNDEFINE_MANAGED_SAVE | UNDEFINE_SNAPSHOTS_METADATA,
        "testDomainUndefineFlags",
    )?;
    let i = index(s, r)?;
    let d = &mut s.domains[i];
    if d.managed_save && flags & UNDEFINE_MANAGED_SAVE == 0 {
        let msg = "Refusing to undefine while domain managed save image exists";
        return Err(TestError::Invalid(msg.into()).into());
    }
    if !d.is_active() && !d.snapshots.is_empty() && flags & UNDEFINE_SNAPSHOTS_METADATA == 0 {
        let msg = format!(
            "cannot delete inactive domain with {} snapshots",
            d.snapshots.len()
        );
        return Err(TestError::Invalid(msg).into());
    }
    evs.push(Event::Domain(dom_ref(d), ev::UNDEFINED, 0));
    d.managed_save = false;
    if d.is_active() {
        d.persistent = false;
        d.new_def = None;
    } else {
        s.domains.remove(i);
    }
    Ok(())
}

/// DOMAIN_MANAGED_SAVE.
pub fn managed_save(
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullDomain,
    flags: u32,
) -> TestResult<()> {
    check_flags(flags, SAVE_ALL, "testDomainManagedSave")?;
    let i = index(s, r)?;
    let d = &s.domains[i];
    require_active(d)?;
    if !d.persistent {
        return Err(
            TestError::Invalid("cannot do managed save for transient domain".into()).into(),
        );
    }
    let d = stop_state(s, i, reason::SHUTOFF_SAVED);
    d.managed_save = true;
    evs.push(Event::Domain(dom_ref(d), ev::STOPPED, ev::STOPPED_SAVED));
    Ok(())
}

/// DOMAIN_HAS_MANAGED_SAVE_IMAGE.
pub fn has_managed_save(s: &Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<i32> {
    check_flags(flags, 0, "testDomainHasManagedSaveImage")?;
    Ok(find(s, r)?.managed_save as i32)
}

/// DOMAIN_MANAGED_SAVE_REMOVE.
pub fn managed_save_remove(s: &mut Inner, r: &RemoteNonnullDomain, flags: u32) -> TestResult<()> {
    check_flags(flags, 0, "testDomainManagedSaveRemove")?;
    find_mut(s, r)?.managed_save = false;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Driver;

    pub const XML: &str = "<domain type='test'><name>anchor1</name>\
        <uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>\
        <os><type>hvm</type></os></domain>";

    fn run<R>(
        d: &Driver,
        f: impl FnOnce(&mut Inner, &mut Vec<Event>) -> TestResult<R>,
    ) -> (TestResult<R>, Vec<Event>) {
        let mut out = Vec::new();
        let r = d.write(|s, evs| {
            let r = f(s, evs);
            out = evs.clone();
            r
        });
        (r, out)
    }

    #[test]
    fn define_start_destroy_undefine() {
        let d = Driver::new_default();
        let (r, evs) = run(&d, |s, e| define(s, e, XML, 0));
        let r = r.unwrap();
        assert_eq!(r.id, -1);
        assert_eq!(
            evs,
            [Event::Domain(r.clone(), ev::DEFINED, ev::DEFINED_ADDED)]
        );
        let (started, evs) = run(&d, |s, e| create(s, e, &r, 0));
        let started = started.unwrap();
        assert_eq!(started.id, 2);
        assert_eq!(
            evs[0],
            Event::Domain(started.clone(), ev::STARTED, ev::STARTED_BOOTED)
        );
        let err = run(&d, |s, e| create(s, e, &r, 0)).0.unwrap_err();
        assert_eq!(
            err.text(),
            "internal error: Domain 'anchor1' is already running"
        );
        run(&d, |s, e| destroy(s, e, &r, 0)).0.unwrap();
        let err = run(&d, |s, e| destroy(s, e, &r, 0)).0.unwrap_err();
        assert_eq!(
            err.text(),
            "Requested operation is not valid: domain is not running"
        );
        run(&d, |s, e| undefine(s, e, &r, 0)).0.unwrap();
        let err = d.read(|s| lookup_by_name(s, "anchor1")).unwrap_err();
        assert_eq!(err.code, 42);
    }

    #[test]
    fn name_and_uuid_clashes() {
        let d = Driver::new_default();
        let other_uuid = XML.replace("<name>anchor1</name>", "<name>test</name>");
        let err = run(&d, |s, e| define(s, e, &other_uuid, 0)).0.unwrap_err();
        assert_eq!(
            err.text(),
            "operation failed: domain 'test' already exists with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f"
        );
        run(&d, |s, e| define(s, e, XML, 0)).0.unwrap();
        let renamed = XML.replace("anchor1", "anchor2");
        let err = run(&d, |s, e| define(s, e, &renamed, 0)).0.unwrap_err();
        assert_eq!(
            err.text(),
            "operation failed: domain 'anchor1' is already defined with uuid 11111111-2222-3333-4444-555555555555"
        );
    }

    #[test]
    fn redefine_running_domain_updates_config() {
        let d = Driver::new_default();
        let r = d.read(|s| lookup_by_name(s, "test")).unwrap();
        let xml = d.read(|s| Ok(find(s, &r)?.def.to_xml(None))).unwrap();
        let (_, evs) = run(&d, |s, e| {
            define(s, e, &xml.replace("2097152", "1048576"), 0)
        });
        assert_eq!(
            evs[0],
            Event::Domain(r.clone(), ev::DEFINED, ev::DEFINED_UPDATED)
        );
        d.read(|s| {
            let dom = find(s, &r)?;
            assert_eq!(dom.def.current_memory_kib, 2097152);
            assert_eq!(dom.persistent_def().current_memory_kib, 1048576);
            Ok(())
        })
        .unwrap();
        run(&d, |s, e| destroy(s, e, &r, 0)).0.unwrap();
        assert_eq!(
            d.read(|s| Ok(find(s, &r)?.def.current_memory_kib)).unwrap(),
            1048576
        );
    }

    #[test]
    fn transient_domain_vanishes_on_destroy() {
        let d = Driver::new_default();
        let r = run(&d, |s, e| create_xml(s, e, XML, 0)).0.unwrap();
        assert!(r.id > 0);
        let (_, evs) = run(&d, |s, e| destroy(s, e, &r, 0));
        let stopped = RemoteNonnullDomain {
            id: -1,
            ..r.clone()
        };
        assert_eq!(
            evs[0],
            Event::Domain(stopped, ev::STOPPED, ev::STOPPED_DESTROYED)
        );
        assert!(d.read(|s| lookup_by_name(s, "anchor1")).is_err());
    }

    #[test]
    fn suspend_resume_and_managed_save() {
        let d = Driver::new_default();
        let r = d.read(|s| lookup_by_name(s, "test")).unwrap();
        run(&d, |s, e| suspend(s, e, &r)).0.unwrap();
        assert!(run(&d, |s, e| suspend(s, e, &r)).0.is_err());
        run(&d, |s, e| resume(s, e, &r)).0.unwrap();
        run(&d, |s, e| managed_save(s, e, &r, 0)).0.unwrap();
        assert_eq!(d.read(|s| has_managed_save(s, &r, 0)).unwrap(), 1);
        let err = run(&d, |s, e| undefine(s, e, &r, 0)).0.unwrap_err();
        assert_eq!(err.code, 55);
        run(&d, |s, e| undefine(s, e, &r, UNDEFINE_MANAGED_SAVE))
            .0
            .unwrap();
    }

    /// A permutation of 0..n from a fixed linear congruential generator.
    fn shuffled(n: usize, seed: u64) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        let mut x = seed;
        for i in (1..n).rev() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            v.swap(i, (x >> 33) as usize % (i + 1));
        }
        v
    }

    fn scale_xml(i: usize) -> String {
        format!(
            "<domain type='test'><name>scale-{i}</name>\
             <uuid>{:08x}-0000-4000-8000-{:012x}</uuid><memory>131072</memory>\
             <os><type arch='x86_64'>hvm</type></os></domain>",
            i, i
        )
    }

    fn names_in_order(s: &Inner) -> Vec<String> {
        s.domains.iter().map(|d| d.def.name.clone()).collect()
    }

    #[test]
    fn twenty_thousand_domains() {
        const N: usize = 20_000;
        let d = Driver::new_default();
        d.write(|s, evs| {
            // Define in order, then check that listing keeps definition order.
            let mut refs = Vec::with_capacity(N);
            for i in 0..N {
                refs.push(define(s, evs, &scale_xml(i), 0)?);
                evs.clear();
            }
            let mut expected: Vec<String> = std::iter::once("test".to_string())
                .chain((0..N).map(|i| format!("scale-{i}")))
                .collect();
            assert_eq!(names_in_order(s), expected);
            s.domains.check_indexes();

            // Lookups in a mixed order.
            for &i in &shuffled(N, 1) {
                let r = &refs[i];
                assert_eq!(lookup_by_name(s, &r.name)?, *r);
                assert_eq!(lookup_by_uuid(s, &r.uuid)?, *r);
                assert_eq!(find(s, r)?.def.name, r.name);
            }

            // Start every other domain, in a mixed order; ids follow the start order.
            let mut running = std::collections::HashMap::new();
            let first_id = s.next_dom_id;
            for (n, &i) in shuffled(N, 2).iter().filter(|&&i| i % 2 == 0).enumerate() {
                let started = create(s, evs, &refs[i], 0)?;
                evs.clear();
                assert_eq!(started.id, first_id + n as i32);
                running.insert(i, started.id);
            }
            s.domains.check_indexes();
            for (&i, &id) in &running {
                let r = lookup_by_id(s, id)?;
                assert_eq!(r.name, refs[i].name);
                assert_eq!(r.id, id);
            }
            assert!(lookup_by_id(s, -1).is_err());
            assert!(lookup_by_id(s, first_id + N as i32).is_err());

            // Stop every fourth domain (half of the running ones); their ids disappear.
            for &i in shuffled(N, 3).iter().filter(|&&i| i % 4 == 0) {
                destroy(s, evs, &refs[i], 0)?;
                evs.clear();
                let id = running.remove(&i).unwrap();
                assert!(lookup_by_id(s, id).is_err());
                assert_eq!(lookup_by_name(s, &refs[i].name)?.id, -1);
            }
            s.domains.check_indexes();

            // Undefine every third domain in a mixed order: inactive ones vanish, running
            // ones become transient and vanish when stopped.
            let mut gone = std::collections::HashSet::new();
            for &i in shuffled(N, 4).iter().filter(|&&i| i % 3 == 0) {
                let r = lookup_by_name(s, &refs[i].name)?;
                undefine(s, evs, &r, 0)?;
                evs.clear();
                if let Some(&id) = running.get(&i) {
                    assert_eq!(lookup_by_id(s, id)?.name, refs[i].name);
                    assert!(!find(s, &r)?.persistent);
                    destroy(s, evs, &r, 0)?;
                    evs.clear();
                    running.remove(&i);
                    assert!(lookup_by_id(s, id).is_err());
                }
                gone.insert(i);
                assert!(lookup_by_name(s, &refs[i].name).is_err());
                assert!(lookup_by_uuid(s, &refs[i].uuid).is_err());
                assert!(find(s, &refs[i]).is_err());
            }
            s.domains.check_indexes();
            expected.retain(|n| match n.strip_prefix("scale-") {
                Some(i) => !gone.contains(&i.parse::<usize>().unwrap()),
                None => true,
            });
            assert_eq!(names_in_order(s), expected);
            assert_eq!(s.domains.len(), expected.len());
            let active = s.domains.iter().filter(|d| d.is_active()).count();
            assert_eq!(active, running.len() + 1); // plus the default "test" domain

            // Remaining domains still answer by name, uuid and id.
            for &i in &shuffled(N, 5) {
                if gone.contains(&i) {
                    continue;
                }
                let r = lookup_by_uuid(s, &refs[i].uuid)?;
                assert_eq!(r.name, refs[i].name);
                assert_eq!(r.id, running.get(&i).copied().unwrap_or(-1));
            }

            // A redefined name goes to the end of the list; a transient one vanishes.
            let again = define(s, evs, &scale_xml(0), 0)?;
            expected.push(again.name.clone());
            let transient = create_xml(s, evs, &scale_xml(3), 0)?;
            assert!(transient.id > 0);
            assert_eq!(lookup_by_id(s, transient.id)?.name, "scale-3");
            destroy(s, evs, &transient, 0)?;
            assert!(lookup_by_name(s, "scale-3").is_err());
            assert_eq!(names_in_order(s), expected);

            // Undefine everything left, in a mixed order.
            let left: Vec<_> = s.domains.iter().map(dom_ref).collect();
            for &i in &shuffled(left.len(), 6) {
                let r = &left[i];
                if r.id > 0 {
                    destroy(s, evs, r, 0)?;
                }
                undefine(s, evs, &lookup_by_uuid(s, &r.uuid)?, 0)?;
                evs.clear();
            }
            assert!(s.domains.is_empty());
            s.domains.check_indexes();
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn unknown_flags_are_refused() {
        let d = Driver::new_default();
        let r = d.read(|s| lookup_by_name(s, "test")).unwrap();
        let err = run(&d, |s, e| destroy(s, e, &r, 2)).0.unwrap_err();
        assert_eq!(
            err.text(),
            "unsupported flags (0x2) in function testDomainDestroyFlags"
        );
    }

    #[test]
    fn unknown_elements_ignored_unless_validating() {
        let d = Driver::new_default();
        let xml = "<domain type='test'><name>v</name><memory>1024</memory>\
                   <os><type>hvm</type></os><frob/></domain>";
        let err = run(&d, |s, e| define(s, e, xml, DEFINE_VALIDATE))
            .0
            .unwrap_err();
        assert_eq!((err.code, err.domain), (92, 5));
        assert!(err
            .text()
            .ends_with("\nElement domain has extra content: frob\n"));
        let err = run(&d, |s, e| create_xml(s, e, xml, START_VALIDATE))
            .0
            .unwrap_err();
        assert_eq!(err.code, 92);
        let r = run(&d, |s, e| define(s, e, xml, 0)).0.unwrap();
        assert_eq!(r.name, "v");
        let pm = xml
            .replace("<frob/>", "<pm><suspend-to-mem enabled='no'/></pm>")
            .replace(">v<", ">w<");
        assert!(run(&d, |s, e| define(s, e, &pm, DEFINE_VALIDATE)).0.is_ok());
    }
}
