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
            return Err(XmlError::Message(
                "both maximum memory size and memory slot count must be specified".into(),
            ));
        }
        if validate::size_kib(m)? < memory_kib {
            return Err(XmlError::Message(
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
            XmlError::Message(format!(
                "Invalid value for attribute 'current' in element 'vcpu': '{c}'. \
                 Expected non-negative integer value"
            ))
        })?,
        None => d.vcpus,
    };
    let max = d.vcpus;
    if let Some(vs) = d.extras_mut().simple.iter_mut().find(|x| x.name == "vcpus") {
        tune::check_vcpu_ids(vs, max)?;
        tune::fill_vcpus(vs, max);
        d.current_vcpus = tune::enabled_vcpus(vs);
    }
    if d.current_vcpus > d.vcpus {
        return Err(XmlError::Unsupported(
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
        let cpuset = crate::spec::canonical_bitmap(&cpuset).unwrap_or(cpuset);
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
    if let Some(c) = x.simple.iter_mut().find(|s| s.name == "cputune") {
        tune::fix_cputune(c, vcpus)?;
        if c.children.is_empty() {
            x.simple.retain(|s| s.name != "cputune");
        }
    }
    Ok(())
}

/// Settles `<numatune>` against the vCPU placement, as libvirt does.
fn numatune(d: &mut DomainDef) -> Result<(), XmlError> {
    let vcpu_auto = d.vcpu_placement == "auto";
    let cells = d.cpu.as_ref().is_some_and(|c| c.numa_cpus().0 > 0);
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

/// Everything above `<devices>`, read and checked in libvirt's order; `check` also
/// refuses bad values of the attributes the schema enumerates, element by element.
pub(super) fn parse(e: &Element, check: bool) -> Result<DomainDef, XmlError> {
    let (domain_type, name, uuid) = ids(e)?;
    let os_el = e.req_child("domain", "os")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines every test document's output shares, left out of the expectations.
    const BOILERPLATE: &[&str] = &[
        "<domain type='test'>",
        "  <name>f</name>",
        "  <uuid>11111111-2222-3333-4444-555555555555</uuid>",
        "  <memory unit='KiB'>1024</memory>",
        "  <currentMemory unit='KiB'>1024</currentMemory>",
        "  <vcpu placement='static'>1</vcpu>",
        "  <os>",
        "    <type arch='i686'>hvm</type>",
        "    <boot dev='hd'/>",
        "  </os>",
        "  <clock offset='utc'/>",
        "  <on_poweroff>destroy</on_poweroff>",
        "  <on_reboot>restart</on_reboot>",
        "  <on_crash>destroy</on_crash>",
        "  <devices>",
        "  </devices>",
        "</domain>",
    ];

    /// What rvirt makes of a document holding `case` (before `@@`: ahead of `<os>`,
    /// after it: behind), as the test driver keeps it: the output less the
    /// boilerplate, or `ERR code message`.
    fn outcome(case: &str) -> String {
        let (pre, post) = case.split_once("@@").unwrap_or((case, ""));
        let os = if case.contains("<os") {
            ""
        } else {
            "<os><type>hvm</type></os>"
        };
        let x = format!(
            "<domain type='test'><name>f</name><uuid>11111111-2222-3333-4444-555555555555</uuid>\
             <memory>1024</memory>{pre}{os}{post}</domain>"
        );
        match DomainDef::parse_with(&x, crate::ParseOptions::default()) {
            Ok(mut d) => {
                d.arch.get_or_insert_with(|| "i686".into());
                let out = d.to_xml(None);
                let kept: Vec<&str> = out.lines().filter(|l| !BOILERPLATE.contains(l)).collect();
                kept.join("\n")
            }
            Err(e) => format!("ERR {} {e}", e.code()),
        }
    }

    /// Tunables, vCPUs and the elements around them: the expectations are what libvirt
    /// 9.0's test driver printed for the same documents.
    #[test]
    fn tunables_like_libvirt() {
        const CASES: &[(&str, &str)] = &[
        (
                "<maxMemory slots='16' unit='GiB'>4</maxMemory>",
                "  <maxMemory slots='16' unit='KiB'>4194304</maxMemory>",
            ),
            (
                "<memtune><swap_hard_limit>9</swap_hard_limit><min_guarantee unit='MiB'>1</min_guarantee><soft_limit>8</soft_limit><hard_limit unit='GiB'>1</hard_limit></memtune>",
                "  <memtune>\n    <hard_limit unit='KiB'>1048576</hard_limit>\n    <soft_limit unit='KiB'>8</soft_limit>\n    <min_guarantee unit='KiB'>1024</min_guarantee>\n    <swap_hard_limit unit='KiB'>9</swap_hard_limit>\n  </memtune>",
            ),
            (
                "<blkiotune><device><path>/dev/sda</path><weight>100</weight><read_bytes_sec>5</read_bytes_sec><write_iops_sec>3</write_iops_sec></device><weight>300</weight></blkiotune>",
                "  <blkiotune>\n    <weight>300</weight>\n    <device>\n      <path>/dev/sda</path>\n      <weight>100</weight>\n      <write_iops_sec>3</write_iops_sec>\n      <read_bytes_sec>5</read_bytes_sec>\n    </device>\n  </blkiotune>",
            ),
            (
                "<vcpu>2</vcpu><vcpus><vcpu id='0' enabled='yes'/></vcpus>",
                "  <vcpu placement='static' current='1'>2</vcpu>\n  <vcpus>\n    <vcpu id='0' enabled='yes' hotpluggable='no'/>\n    <vcpu id='1' enabled='no' hotpluggable='yes'/>\n  </vcpus>",
            ),
            (
                "<vcpu placement='static' cpuset='0-3,^2'>2</vcpu><iothreads>3</iothreads><iothreadids><iothread id='5'/></iothreadids>",
                "  <vcpu placement='static' cpuset='0-1,3'>2</vcpu>\n  <iothreads>3</iothreads>\n  <iothreadids>\n    <iothread id='5'/>\n    <iothread id='1'/>\n    <iothread id='2'/>\n  </iothreadids>",
            ),
            (
                "<vcpu>2</vcpu><cputune><shares>2048</shares><vcpupin vcpu='1' cpuset='1'/><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='7' cpuset='0'/></cputune>",
                "  <vcpu placement='static'>2</vcpu>\n  <cputune>\n    <shares>2048</shares>\n    <vcpupin vcpu='0' cpuset='0'/>\n    <vcpupin vcpu='1' cpuset='1'/>\n  </cputune>",
            ),
            (
                "<cputune><period>1</period></cputune>",
                "ERR 67 unsupported configuration: Value of cputune 'period' must be in range [1000, 1000000]",
            ),
            (
                "<vcpu placement='auto'>2</vcpu>",
                "  <vcpu placement='auto'>2</vcpu>\n  <numatune>\n    <memory mode='strict' placement='auto'/>\n  </numatune>",
            ),
            (
                "<numatune><memory mode='strict' placement='static'/></numatune>",
                "ERR 67 unsupported configuration: nodeset for NUMA memory tuning must be set if 'placement' is 'static'",
            ),
            (
                "<genid>x</genid>",
                "ERR 1 internal error: malformed genid element",
            ),
            (
                "<sysinfo type='smbios'><system><entry name='serial'>s</entry><entry name='bogus'>b</entry><entry name='manufacturer'>m</entry></system></sysinfo>",
                "  <sysinfo type='smbios'>\n    <system>\n      <entry name='manufacturer'>m</entry>\n      <entry name='serial'>s</entry>\n    </system>\n  </sysinfo>",
            ),
            (
                "@@<seclabel type='static' model='dac'><label>1:1</label></seclabel><keywrap><cipher name='dea' state='on'/><cipher name='aes' state='off'/></keywrap>",
                "  <seclabel type='static' model='dac' relabel='no'>\n    <label>1:1</label>\n  </seclabel>\n  <keywrap>\n    <cipher name='aes' state='off'/>\n    <cipher name='dea' state='on'/>\n  </keywrap>",
            ),
            (
                "@@<seclabel type='dynamic' model='selinux' relabel='no'/>",
                "ERR 67 unsupported configuration: dynamic label type must use resource relabeling",
            ),
            (
                "@@<on_lockfailure>pause</on_lockfailure><perf><event name='mbmt' enabled='no'/><event name='cmt' enabled='yes'/></perf>",
                "  <on_lockfailure>pause</on_lockfailure>\n  <perf>\n    <event name='cmt' enabled='yes'/>\n    <event name='mbmt' enabled='no'/>\n  </perf>",
            ),
            (
                "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages><source type='bogus'/></memoryBacking>",
                "ERR 67 unsupported configuration: unknown memoryBacking/source/type 'bogus'",
            ),
        ];
        for (case, want) in CASES {
            assert_eq!(outcome(case), *want, "{case}");
        }
    }

    /// Features, CPU, clock, OS and refusals, likewise checked against libvirt 9.0.
    #[test]
    fn top_level_like_libvirt() {
        const CASES: &[(&str, &str)] = &[
        (
                "<features><hyperv/><pmu/><smm><tseg unit='KiB'>1024</tseg></smm></features>",
                "  <features>\n    <hyperv mode='custom'>\n    </hyperv>\n    <pmu state='on'/>\n    <smm state='on'>\n      <tseg unit='MiB'>1</tseg>\n    </smm>\n  </features>",
            ),
            (
                "<features><frobnicate/></features>",
                "ERR 67 unsupported configuration: unexpected feature 'frobnicate'",
            ),
            (
                "<cpu mode='host-passthrough'><model>qemu64</model><vendor>Intel</vendor></cpu>",
                "  <cpu mode='host-passthrough'/>",
            ),
            (
                "<vcpu>3</vcpu>@@<cpu><numa><cell cpus='0' memory='1'><distances><sibling id='1' value='15'/></distances></cell><cell cpus='1' memory='1'/><cell cpus='2' memory='1'/></numa></cpu>",
                "  <vcpu placement='static'>3</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='0' memory='1' unit='KiB'>\n        <distances>\n          <sibling id='0' value='10'/>\n          <sibling id='1' value='15'/>\n        </distances>\n      </cell>\n      <cell id='1' cpus='1' memory='1' unit='KiB'>\n        <distances>\n          <sibling id='0' value='15'/>\n          <sibling id='1' value='10'/>\n        </distances>\n      </cell>\n      <cell id='2' cpus='2' memory='1' unit='KiB'/>\n    </numa>\n  </cpu>",
            ),
            (
                "<clock offset='localtime' adjustment='5'/>",
                "  <clock offset='variable' adjustment='5' basis='localtime'/>",
            ),
            (
                "<clock offset='variable' basis='bogus'/>",
                "ERR 67 unsupported configuration: unknown clock basis 'bogus'",
            ),
            (
                "@@<os><type>hvm</type><boot dev='fd'/><boot dev='network'/><boot dev='cdrom'/><boot dev='hd'/><boot dev='hd'/><bootmenu enable='yes' timeout='3000'/><bios useserial='bogus'/></os>",
                "    <boot dev='fd'/>\n    <boot dev='network'/>\n    <boot dev='cdrom'/>\n    <bootmenu enable='yes' timeout='3000'/>\n    <bios useserial='no'/>",
            ),
            (
                "@@<os><type>exe</type><init>/bin/sh</init><initarg>a</initarg><initenv name='X'>1</initenv></os><idmap><uid start='0' target='1000' count='10'/></idmap>",
                "ERR 67 unsupported configuration: uid and gid should be mapped both",
            ),
            (
                "@@<os><type>hvm</type><nvram>/n</nvram></os>",
                "ERR 35 no loader path specified and firmware auto selection disabled",
            ),
            (
                "@@<os><type>hvm</type><loader>/l</loader><acpi><table type='slic'>/x</table></acpi><smbios mode='host'/></os>",
                "    <loader type='rom'>/l</loader>\n    <acpi>\n      <table type='slic'>/x</table>\n    </acpi>\n    <smbios mode='host'/>",
            ),
            (
                "<metadata><a/><x:b xmlns:x='urn:x'/></metadata>",
                "  <metadata>\n    <x:b xmlns:x=\"urn:x\"/>\n  </metadata>",
            ),
            (
                "<memory unit='furlong'>1</memory>",
                "",
            ),
            (
                "<vcpu current='5'>4</vcpu>",
                "ERR 67 unsupported configuration: maximum vCPU count must not be less than current vCPU count",
            ),
            (
                "<vcpu>0</vcpu>",
                "ERR 1 internal error: CPU IDs in <numa> exceed the <vcpu> count",
            ),
            (
                "@@<on_poweroff>coredump-destroy</on_poweroff>",
                "ERR 67 unsupported configuration: Lifecycle event 'poweroff' doesn't support 'coredump-destroy' action",
            ),
            (
                "@@<on_reboot>explode</on_reboot>",
                "ERR 67 unsupported configuration: unknown on_reboot action: explode",
            ),
        ];
        for (case, want) in CASES {
            assert_eq!(outcome(case), *want, "{case}");
        }
    }

    /// Memory backing, resource and tuning refusals and defaults, likewise checked
    /// against libvirt 9.0.
    #[test]
    fn backing_and_tuning_like_libvirt() {
        const CASES: &[(&str, &str)] = &[
        (
                "<resource><partition>/machine</partition><fibrechannel appid='abc'/></resource>",
                "  <resource>\n    <partition>/machine</partition>\n    <fibrechannel appid='abc'/>\n  </resource>",
            ),
            (
                "<memoryBacking><hugepages><page size='1' unit='GiB'/><page size='2' unit='MiB'/></hugepages></memoryBacking>",
                "ERR 35 two master hugepages detected: 2048 and 1048576",
            ),
            (
                "<memoryBacking><access mode='bogus'/></memoryBacking>",
                "ERR 67 unsupported configuration: unknown memoryBacking/access/mode 'bogus'",
            ),
            (
                "<memoryBacking><allocation threads='x'/></memoryBacking>",
                "ERR 27 XML error: Failed to parse memory allocation threads",
            ),
            (
                "<pm><suspend-to-mem/><suspend-to-disk enabled='no'/></pm>",
                "  <pm>\n    <suspend-to-disk enabled='no'/>\n  </pm>",
            ),
            (
                "<perf><event name='cmt'/></perf>",
                "ERR 27 XML error: Missing required attribute 'enabled' in element 'event'",
            ),
            (
                "<iothreadids><iothread id='1'/><iothread id='1'/></iothreadids>",
                "ERR 27 XML error: duplicate iothread id '1' found",
            ),
            (
                "<cputune><vcpusched vcpus='0' scheduler='fifo'/></cputune>",
                "ERR 27 XML error: Missing required attribute 'priority' in element 'vcpusched'",
            ),
            (
                "<cputune><shares>x</shares></cputune>",
                "ERR 27 XML error: can't parse cputune shares value",
            ),
            (
                "<numatune><memory mode='interleave' nodeset='x'/></numatune>",
                "ERR 8 invalid argument: Failed to parse bitmap 'x'",
            ),
            (
                "<cpu mode='custom' match='strict' check='none'><model fallback='forbid' vendor_id='GenuineIntel'>Skylake-Client</model><feature policy='optional' name='pcid'/></cpu>",
                "  <cpu mode='custom' match='strict' check='none'>\n    <model fallback='forbid' vendor_id='GenuineIntel'>Skylake-Client</model>\n    <feature policy='optional' name='pcid'/>\n  </cpu>",
            ),
            (
                "<memtune><hard_limit>9007199254740991</hard_limit></memtune><blkiotune><weight>x</weight></blkiotune><cputune/>",
                "",
            ),
        ];
        for (case, want) in CASES {
            assert_eq!(outcome(case), *want, "{case}");
        }
    }

    /// Loaders, kernel boot, boot menu and NUMA cells, likewise checked against
    /// libvirt 9.0.
    #[test]
    fn os_and_numa_like_libvirt() {
        const CASES: &[(&str, &str)] = &[
        (
                "@@<os><type>hvm</type><loader readonly='yes' type='pflash' stateless='yes' format='qcow2'>/l</loader></os>",
                "    <loader readonly='yes' type='pflash' stateless='yes'>/l</loader>",
            ),
            (
                "@@<os><type>hvm</type><loader readonly='yes' type='pflash'>/l</loader><nvram template='/t' format='raw'>/n</nvram></os>",
                "    <loader readonly='yes' type='pflash'>/l</loader>\n    <nvram template='/t'>/n</nvram>",
            ),
            (
                "@@<os><type>hvm</type><loader readonly='no'>/l</loader></os>",
                "    <loader readonly='no' type='rom'>/l</loader>",
            ),
            (
                "@@<os><type>hvm</type><loader/></os>",
                "ERR 35 no loader path specified and firmware auto selection disabled",
            ),
            (
                "@@<os firmware='efi'><type>hvm</type><loader secure='yes'/></os>",
                "  <os firmware='efi'>\n    <loader secure='yes'/>",
            ),
            (
                "@@<os><type>hvm</type><cmdline></cmdline><initrd></initrd></os>",
                "",
            ),
            (
                "@@<os><type>hvm</type><root>/dev/sda</root><kernel>/k</kernel></os>",
                "    <kernel>/k</kernel>\n    <root>/dev/sda</root>",
            ),
            (
                "@@<os><type>hvm</type><bootmenu enable='no' timeout='5'/></os>",
                "    <bootmenu enable='no'/>",
            ),
            (
                "<vcpu>2</vcpu><cpu><topology sockets='1' cores='1' threads='1'/></cpu>",
                "  <vcpu placement='static'>2</vcpu>\n  <cpu>\n    <topology sockets='1' dies='1' cores='1' threads='1'/>\n  </cpu>",
            ),
            (
                "<vcpu>4</vcpu>@@<cpu><numa><cell cpus='0-1' memory='512' unit='MiB'/><cell cpus='2-3' memory='512' unit='MiB'/></numa></cpu>",
                "  <vcpu placement='static'>4</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='0-1' memory='524288' unit='KiB'/>\n      <cell id='1' cpus='2-3' memory='524288' unit='KiB'/>\n    </numa>\n  </cpu>",
            ),
            (
                "<vcpu>4</vcpu>@@<cpu><numa><cell id='1' cpus='0-1' memory='512'/><cell id='0' cpus='2-3' memory='512'/></numa></cpu>",
                "  <vcpu placement='static'>4</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='2-3' memory='512' unit='KiB'/>\n      <cell id='1' cpus='0-1' memory='512' unit='KiB'/>\n    </numa>\n  </cpu>",
            ),
            (
                "<vcpu>4</vcpu>@@<cpu><numa><cell cpus='0-5' memory='512'/></numa></cpu>",
                "ERR 1 internal error: Number of CPUs in <numa> exceeds the <vcpu> count",
            ),
            (
                "<vcpu>4</vcpu>@@<cpu><numa><cell cpus='0-1,7' memory='512'/></numa></cpu>",
                "ERR 1 internal error: CPU IDs in <numa> exceed the <vcpu> count",
            ),
            (
                "<description>d</description><metadata><m:x xmlns:m='urn:m'><m:y a='1'>t</m:y></m:x></metadata>",
                "  <description>d</description>\n  <metadata>\n    <m:x xmlns:m=\"urn:m\">\n      <m:y a=\"1\">t</m:y>\n    </m:x>\n  </metadata>",
            ),
        ];
        for (case, want) in CASES {
            assert_eq!(outcome(case), *want, "{case}");
        }
    }
}
