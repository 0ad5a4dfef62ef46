//! Reading the top-level (non-device) parts of `<domain>` in the order libvirt's parser
//! reads them, so that a document with several faults is refused for the one libvirt
//! names first, with its code and wording.

use super::{simple, tune, validate, word, ClockDef, CpuDef, DomainDef, DomainExtras, OsDef, Word};
use crate::tree::{num, Element};
use crate::{Schema, Uuid, XmlError};

/// Refuses bad values of the attributes the schema enumerates in the child `child` of
/// `root` (libvirt's parsers refuse them without the validate flag), leaving out the
/// grandchildren named in `skip`, whose values libvirt reads more leniently.
pub(super) fn check_values_of(
    root: &Element,
    child: &Element,
    skip: &[&str],
) -> Result<(), XmlError> {
    let mut c = child.clone();
    c.children.retain(|g| !skip.contains(&g.name.as_str()));
    let shallow = Element {
        name: root.name.clone(),
        attrs: root.attrs.clone(),
        children: vec![c],
        text: String::new(),
    };
    crate::schema::check_values(&shallow, Schema::Domain)
}

/// Checks the values of the child `name` of `e`, when there is one and `check` is set.
fn values(e: &Element, name: &str, check: bool) -> Result<(), XmlError> {
    match e.child(name) {
        Some(c) if check => check_values_of(e, c, if name == "os" { &["bios"] } else { &[] }),
        _ => Ok(()),
    }
}

fn lifecycle(e: &Element, name: &str, default: &'static str) -> Result<Word, XmlError> {
    match e.child_text_raw(name) {
        None => Ok(Word::Borrowed(default)),
        Some(v) => {
            validate::lifecycle_action(name, &v)?;
            Ok(word(&v))
        }
    }
}

/// The ids and names: type, name, uuid (and genid, title, description, metadata).
fn ids(e: &Element) -> Result<(Word, String, Uuid), XmlError> {
    let domain_type = e
        .attr("type")
        .map(word)
        .ok_or_else(|| XmlError::MissingElement("domain/@type".into()))?;
    let name = e
        .child_text("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| XmlError::MissingElement("domain/name".into()))?;
    validate::check_object_name(validate::raw_name(e), &name)?;
    let uuid = match e.child_text("uuid") {
        Some(u) => Uuid::parse(&u).map_err(|_| XmlError::invalid("domain/uuid", u))?,
        None => Uuid::random(),
    };
    Ok((domain_type, name, uuid))
}

/// Memory sizes: `<memory>`, `<currentMemory>` (capped at it) and `<maxMemory>`.
fn memory(e: &Element) -> Result<(u64, u64), XmlError> {
    let memory_kib = validate::memory_kib(e)?;
    // A zero current size is an unset one.
    let current = match e.child("currentMemory") {
        Some(m) => Some(validate::size_kib(m)?).filter(|c| *c > 0),
        None => None,
    }
    .unwrap_or(memory_kib);
    if let Some(m) = e.child("maxMemory") {
        if m.attr("slots").is_none() || m.text.trim().is_empty() {
            return Err(super::errs::xml(
                "both maximum memory size and memory slot count must be specified".into(),
            ));
        }
        if validate::size_kib(m)? < memory_kib {
            return Err(super::errs::xml(
                "maximum memory size must be equal or greater than the actual memory size".into(),
            ));
        }
    }
    Ok((memory_kib, current.min(memory_kib)))
}

/// Reads `<vcpu>` (and `<vcpus>`, whose enabled entries make the current count).
fn vcpu(d: &mut DomainDef, e: &Element) -> Result<(), XmlError> {
    let Some(v) = e.child("vcpu") else {
        return Ok(());
    };
    d.vcpus = validate::vcpu_count(&v.text)?;
    d.current_vcpus = match v.attr("current") {
        Some(c) => c.trim().parse().map_err(|_| {
            super::errs::xml_util(format!(
                "Invalid value for attribute 'current' in element 'vcpu': '{c}'. \
                 Expected non-negative integer value"
            ))
        })?,
        None => d.vcpus,
    };
    let max = d.vcpus;
    let vcpus = d
        .extras
        .as_deref_mut()
        .and_then(|x| x.simple.iter_mut().find(|x| x.name == "vcpus"));
    if let Some(vs) = vcpus {
        tune::check_vcpu_ids(vs, max)?;
        tune::fill_vcpus(vs, max);
        d.current_vcpus = tune::enabled_vcpus(vs);
    }
    if d.current_vcpus > d.vcpus {
        return Err(super::errs::unsupported(
            "maximum vCPU count must not be less than current vCPU count".into(),
        ));
    }
    if let Some(pl) = v.attr("placement") {
        if !matches!(pl, "static" | "auto") {
            return Err(XmlError::BadAttribute {
                attr: "placement".into(),
                element: "vcpu".into(),
                value: pl.into(),
            });
        }
        d.vcpu_placement = word(pl);
    }
    // An automatic placement picks its own host CPUs.
    if let Some(cpuset) = v.attr_s("cpuset").filter(|_| d.vcpu_placement != "auto") {
        let cpuset = crate::spec::canonical_bitmap(&cpuset).ok_or_else(|| {
            super::errs::invalid_arg(format!("Failed to parse bitmap '{cpuset}'"))
        })?;
        d.extras_mut().cpuset = Some(cpuset);
    }
    Ok(())
}

/// Settles `<iothreads>`, `<iothreadids>` and `<cputune>` against each other and the
/// vCPU count, as libvirt does.
fn threads(d: &mut DomainDef) -> Result<(), XmlError> {
    let vcpus = d.vcpus;
    let Some(x) = d.extras.as_deref_mut() else {
        return Ok(());
    };
    let count = x
        .simple
        .iter()
        .find(|s| s.name == "iothreads")
        .and_then(|s| s.text.parse().ok())
        .unwrap_or(0u32);
    if let Some(ids) = x.simple.iter_mut().find(|s| s.name == "iothreadids") {
        let n = tune::fill_iothreads(ids, count);
        match x.simple.iter_mut().find(|s| s.name == "iothreads") {
            Some(t) => t.text = n.to_string(),
            None => {
                let at = x
                    .simple
                    .iter()
                    .position(|s| s.name == "iothreadids")
                    .unwrap_or(0);
                let t = Element {
                    name: "iothreads".into(),
                    text: n.to_string(),
                    ..Element::default()
                };
                x.simple.insert(at, t);
            }
        }
    }
    let ids: Vec<u32> = match x.simple.iter().find(|s| s.name == "iothreadids") {
        Some(t) => t
            .children
            .iter()
            .filter_map(|c| c.attr("id").and_then(|v| v.parse().ok()))
            .collect(),
        None => (1..=count).collect(),
    };
    if let Some(c) = x.simple.iter_mut().find(|s| s.name == "cputune") {
        tune::fix_cputune(c, vcpus)?;
        tune::split_iothreadsched(c, &ids)?;
        if c.children.is_empty() {
            x.simple.retain(|s| s.name != "cputune");
        }
    }
    Ok(())
}

/// Without guest NUMA cells, huge pages are not tied to any: libvirt drops their
/// nodesets, which may leave two default sizes.
fn drop_page_nodesets(d: &mut DomainDef) -> Result<(), XmlError> {
    let Some(x) = d.extras.as_deref_mut() else {
        return Ok(());
    };
    let Some(backing) = x.simple.iter_mut().find(|s| s.name == "memoryBacking") else {
        return Ok(());
    };
    for h in backing.children.iter_mut() {
        for p in h.children.iter_mut().filter(|p| p.name == "page") {
            p.attrs.retain(|(k, _)| k != "nodeset");
        }
    }
    simple::check_master_pages(backing)
}

/// Settles `<numatune>` against the vCPU placement, as libvirt does.
fn numatune(d: &mut DomainDef) -> Result<(), XmlError> {
    let vcpu_auto = d.vcpu_placement == "auto";
    let cells = match &d.cpu {
        Some(c) if c.numa_cpus().0 > 0 => c.numa_cells(),
        _ => 0,
    };
    let has = d.extras().simple.iter().any(|s| s.name == "numatune");
    if !has && !vcpu_auto {
        return Ok(());
    }
    let x = d.extras_mut();
    let auto = match x.simple.iter_mut().find(|s| s.name == "numatune") {
        Some(n) => tune::fix_numatune(n, vcpu_auto, cells)?,
        None if vcpu_auto => {
            let at = x
                .simple
                .iter()
                .position(|s| s.name == "sysinfo" || s.name == "pm" || s.name == "perf")
                .unwrap_or(x.simple.len());
            x.simple.insert(at, tune::auto_numatune());
            true
        }
        None => false,
    };
    if auto {
        d.vcpu_placement = Word::Borrowed("auto");
    }
    Ok(())
}

/// The `<os>` of a domain that names no OS type: with a `<bootloader>` it is a Xen
/// guest (libvirt's default for a host bootloader), without one an error.
fn bootloader_os(e: &Element, os: Option<&Element>) -> Result<Element, XmlError> {
    if e.child("bootloader")
        .is_none_or(|b| b.text.trim().is_empty())
    {
        return Err(super::errs::xml("an os <type> must be specified".into()));
    }
    let mut os = os.cloned().unwrap_or_else(|| Element {
        name: "os".into(),
        ..Element::default()
    });
    os.children.insert(
        0,
        Element {
            name: "type".into(),
            text: "xen".into(),
            ..Element::default()
        },
    );
    Ok(os)
}

/// Everything above `<devices>`, read and checked in libvirt's order; `check` also
/// refuses bad values of the attributes the schema enumerates, element by element.
pub(super) fn parse(e: &Element, check: bool) -> Result<DomainDef, XmlError> {
    let (domain_type, name, uuid) = ids(e)?;
    let xen_os;
    let os_el = match e.child("os") {
        Some(o) if o.child("type").is_some() => o,
        o => {
            xen_os = bootloader_os(e, o)?;
            &xen_os
        }
    };
    let os_type_el = os_el.req_child("domain/os", "type")?;
    validate::os_type(os_type_el)?;
    let simple = simple::parse(e)?;
    let (memory_kib, current_memory_kib) = memory(e)?;
    let mut d = DomainDef {
        domain_type,
        name,
        uuid,
        extras: None,
        metadata: e.child("metadata").map(validate::metadata).map(Box::new),
        memory_kib,
        current_memory_kib,
        vcpus: 1,
        current_vcpus: 1,
        vcpu_placement: Word::Borrowed("static"),
        os_type: word(os_type_el.text.trim()),
        arch: os_type_el.attr_s("arch"),
        machine: os_type_el.attr_s("machine"),
        os: OsDef::default(),
        features: Vec::new(),
        cpu: None,
        clock: ClockDef::default(),
        on_poweroff: Word::Borrowed("destroy"),
        on_reboot: Word::Borrowed("restart"),
        on_crash: Word::Borrowed("destroy"),
        emulator: None,
        devices: Vec::new(),
        test_runstate: match e.child("test:runstate") {
            Some(r) => Some(num("domain/test:runstate", &r.text)?),
            None => None,
        },
    };
    let extras = DomainExtras {
        title: e.child_text_raw("title").filter(|t| !t.is_empty()),
        description: e.child_text_raw("description"),
        cpuset: None,
        resource_partition: e.child("resource").and_then(|r| r.child_text("partition")),
        resource_appid: e
            .child("resource")
            .and_then(|r| r.child("fibrechannel"))
            .and_then(|f| f.attr_s("appid")),
        dump_core: e.child("memory").and_then(|m| m.attr_s("dumpCore")),
        simple,
    };
    if extras != DomainExtras::default() {
        d.extras = Some(Box::new(extras));
    }
    vcpu(&mut d, e)?;
    values(e, "vcpu", check)?;
    threads(&mut d)?;
    if let Some(c) = e.child("cpu") {
        d.cpu = Some(Box::new(CpuDef::parse(c)?));
        values(e, "cpu", check)?;
    }
    let (count, max_id) = d.cpu.as_ref().map(|c| c.numa_cpus()).unwrap_or_default();
    validate::numa_vcpus(d.vcpus, count, max_id)?;
    numatune(&mut d)?;
    if let Some(f) = e.child("features") {
        d.features = super::features::parse_features(f)?;
    }
    if count == 0 {
        drop_page_nodesets(&mut d)?;
    }
    d.on_poweroff = lifecycle(e, "on_poweroff", "destroy")?;
    d.on_reboot = lifecycle(e, "on_reboot", "restart")?;
    d.on_crash = lifecycle(e, "on_crash", "destroy")?;
    if let Some(c) = e.child("clock") {
        d.clock = ClockDef::parse(c)?;
        values(e, "clock", check)?;
    }
    d.os = OsDef::parse(os_el)?;
    values(e, "os", check)?;
    Ok(d)
}

/// The top-level elements read with their own checks (besides those in
/// [`simple::TOP`]).
const HANDLED: &[&str] = &[
    "name",
    "uuid",
    "title",
    "description",
    "metadata",
    "memory",
    "currentMemory",
    "vcpu",
    "resource",
    "os",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "devices",
];

/// Checks the values of every top-level child not read with its own checks (checked where it is read)
/// and `<devices>` (checked before the devices are read), when `check` is set.
pub(super) fn check_rest(e: &Element, check: bool) -> Result<(), XmlError> {
    if !check {
        return Ok(());
    }
    let shallow = Element {
        name: e.name.clone(),
        attrs: e.attrs.clone(),
        children: e
            .children
            .iter()
            .filter(|c| !HANDLED.contains(&c.name.as_str()))
            .filter(|c| simple::TOP.iter().all(|(s, _)| s.name != c.name))
            .cloned()
            .collect(),
        text: String::new(),
    };
    crate::schema::check_values(&shallow, Schema::Domain)
}

/// The checks libvirt makes once the whole definition is read.
pub(super) fn finish(d: &DomainDef) -> Result<(), XmlError> {
    validate::lifecycle_allowed("poweroff", &d.on_poweroff)?;
    validate::lifecycle_allowed("reboot", &d.on_reboot)
}
