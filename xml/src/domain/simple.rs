//! Top-level domain elements described declaratively (see [`crate::spec`]): each entry
//! is the element's description and where libvirt writes it among the typed parts.

use super::tune;
use crate::out::Out;
use crate::spec::{attr, leaf, node, text, AttrSpec, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// Where a described element goes in libvirt's output, relative to the typed parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// After `<uuid>`, before `<title>`.
    AfterUuid,
    /// After `<metadata>`, before `<memory>`.
    BeforeMemory,
    /// After `<currentMemory>`, before `<vcpu>`.
    AfterMemory,
    /// After `<vcpu>`, before `<resource>`.
    AfterVcpu,
    /// After `<resource>`, before `<os>`.
    BeforeOs,
    /// After `<os>`, before `<features>`.
    AfterOs,
    /// After `<on_crash>`, before `<devices>`.
    AfterLifecycle,
    /// After `<devices>`.
    AfterDevices,
}

const ENABLED: &[AttrSpec] = &[attr("enabled", Value::YesNo)];

/// The perf events libvirt knows, in the order it writes them.
const PERF_EVENTS: &[&str] = &[
    "cmt",
    "mbmt",
    "mbml",
    "cpu_cycles",
    "instructions",
    "cache_references",
    "cache_misses",
    "branch_instructions",
    "branch_misses",
    "bus_cycles",
    "stalled_cycles_frontend",
    "stalled_cycles_backend",
    "ref_cpu_cycles",
    "cpu_clock",
    "task_clock",
    "page_faults",
    "context_switches",
    "cpu_migrations",
    "page_faults_min",
    "page_faults_maj",
    "alignment_faults",
    "emulation_faults",
];

const PERF_EVENT: &[AttrSpec] = &[
    attr("name", Value::Enum(PERF_EVENTS)),
    attr("enabled", Value::YesNo),
];

/// The most a `<memtune>` limit can be: libvirt's "unlimited", which it does not write.
const UNLIMITED_KIB: u64 = 9_007_199_254_740_991;

const PAGE: &[AttrSpec] = &[
    attr("size", Value::Kib),
    attr("unit", Value::Unit),
    attr("nodeset", Value::Bitmap),
];

const ENTRY: Spec = Spec {
    name: "entry",
    attrs: &[attr("name", Value::Text)],
    children: &[],
    text: Some(Value::Text),
};

const BACKING_SOURCES: &[&str] = &["file", "anonymous", "memfd"];

const SECLABEL: Spec = Spec {
    name: "seclabel",
    attrs: &[
        attr("type", Value::Enum(&["dynamic", "static", "none"])),
        attr("model", Value::Text),
        attr("relabel", Value::YesNo),
    ],
    children: &[text("label", Value::Text), text("baselabel", Value::Text)],
    text: None,
};

const KEYWRAP: Spec = node(
    "keywrap",
    &[leaf(
        "cipher",
        &[
            attr("name", Value::Enum(&["aes", "dea"])),
            attr("state", Value::OnOff),
        ],
    )],
);

/// The described top-level elements, in libvirt's output order within each anchor.
pub const TOP: &[(Spec, Anchor)] = &[
    (text("genid", Value::Text), Anchor::AfterUuid),
    (tune::MAX_MEMORY, Anchor::BeforeMemory),
    (tune::BLKIOTUNE, Anchor::AfterMemory),
    (tune::MEMTUNE, Anchor::AfterMemory),
    (
        node(
            "memoryBacking",
            &[
                node("hugepages", &[leaf("page", PAGE)]),
                leaf("nosharepages", &[]),
                leaf("locked", &[]),
                leaf("source", &[attr("type", Value::Text)]),
                leaf("access", &[attr("mode", Value::Text)]),
                leaf(
                    "allocation",
                    &[attr("mode", Value::Text), attr("threads", Value::Text)],
                ),
                leaf("discard", &[]),
            ],
        ),
        Anchor::AfterMemory,
    ),
    (tune::VCPUS, Anchor::AfterVcpu),
    (text("iothreads", Value::Text), Anchor::AfterVcpu),
    (
        node(
            "iothreadids",
            &[leaf(
                "iothread",
                &[
                    attr("id", Value::Unsigned),
                    attr("thread_pool_min", Value::Unsigned),
                    attr("thread_pool_max", Value::Unsigned),
                ],
            )],
        ),
        Anchor::AfterVcpu,
    ),
    (
        leaf(
            "defaultiothread",
            &[
                attr("thread_pool_min", Value::Unsigned),
                attr("thread_pool_max", Value::Unsigned),
            ],
        ),
        Anchor::AfterVcpu,
    ),
    (tune::CPUTUNE, Anchor::AfterVcpu),
    (tune::NUMATUNE, Anchor::AfterVcpu),
    (
        Spec {
            name: "sysinfo",
            attrs: &[attr("type", Value::Enum(&["smbios", "fwcfg"]))],
            children: &[
                node("bios", &[ENTRY]),
                node("system", &[ENTRY]),
                node("baseBoard", &[ENTRY]),
                node("chassis", &[ENTRY]),
                node("oemStrings", &[ENTRY]),
                ENTRY,
            ],
            text: None,
        },
        Anchor::BeforeOs,
    ),
    (text("on_lockfailure", Value::Text), Anchor::AfterLifecycle),
    (
        node(
            "pm",
            &[
                leaf("suspend-to-mem", ENABLED),
                leaf("suspend-to-disk", ENABLED),
            ],
        ),
        Anchor::AfterLifecycle,
    ),
    (
        node("perf", &[leaf("event", PERF_EVENT)]),
        Anchor::AfterLifecycle,
    ),
    (text("bootloader", Value::Text), Anchor::BeforeOs),
    (text("bootloader_args", Value::Text), Anchor::BeforeOs),
    (
        node("idmap", &[leaf("uid", IDMAP), leaf("gid", IDMAP)]),
        Anchor::AfterOs,
    ),
    (SECLABEL, Anchor::AfterDevices),
    (KEYWRAP, Anchor::AfterDevices),
    (LAUNCH_SECURITY, Anchor::AfterDevices),
];

const IDMAP: &[AttrSpec] = &[
    attr("start", Value::Unsigned),
    attr("target", Value::Unsigned),
    attr("count", Value::Unsigned),
];

const LAUNCH_SECURITY: Spec = Spec {
    name: "launchSecurity",
    attrs: &[
        attr("type", Value::Enum(&["sev", "s390-pv"])),
        attr("kernelHashes", Value::YesNo),
    ],
    children: &[
        text("cbitpos", Value::Unsigned),
        text("reducedPhysBits", Value::Unsigned),
        text("policy", Value::Text),
        text("dhCert", Value::Text),
        text("session", Value::Text),
    ],
    text: None,
};

/// libvirt's reading of `<genid>`: a UUID, generated when the element is empty.
fn fix_genid(e: &mut Element) -> Result<(), XmlError> {
    if e.text.is_empty() {
        e.text = crate::Uuid::random().to_string();
    } else {
        let u = crate::Uuid::parse(&e.text)
            .map_err(|_| super::errs::internal("malformed genid element".into()))?;
        e.text = u.to_string();
    }
    Ok(())
}

/// libvirt's reading of `<seclabel>`: relabelling defaults on for dynamic labels (which
/// need it) and off for static ones; a static label needs its `<label>`.
fn fix_seclabel(e: &mut Element) -> Result<(), XmlError> {
    // A label of no stated type is the driver's default, which libvirt does not write:
    // emptied here, it is dropped.
    let Some(kind) = e.attr_s("type") else {
        e.attrs.clear();
        e.children.clear();
        return Ok(());
    };
    if kind == "none" {
        e.attrs.retain(|(k, _)| k != "relabel");
        e.children.clear();
        return Ok(());
    }
    let relabel = match e.attr("relabel") {
        Some(r) => r == "yes",
        None => kind == "dynamic",
    };
    if kind == "dynamic" && !relabel {
        return Err(super::errs::unsupported(
            "dynamic label type must use resource relabeling".into(),
        ));
    }
    if kind == "static" && e.children.iter().all(|c| c.name != "label") {
        return Err(super::errs::xml("security label is missing".into()));
    }
    if kind == "static" {
        e.children.retain(|c| c.name == "label");
    } else {
        e.children.retain(|c| c.name == "baselabel");
    }
    e.attrs.retain(|(k, _)| k == "model");
    e.attrs.insert(0, ("type".into(), kind));
    e.attrs
        .push(("relabel".into(), if relabel { "yes" } else { "no" }.into()));
    Ok(())
}

/// The SMBIOS entries libvirt knows in each `<sysinfo>` block, in the order it
/// writes them.
const SMBIOS: &[(&str, &[&str])] = &[
    ("bios", &["vendor", "version", "date", "release"]),
    (
        "system",
        &[
            "manufacturer",
            "product",
            "version",
            "serial",
            "uuid",
            "sku",
            "family",
        ],
    ),
    (
        "baseBoard",
        &[
            "manufacturer",
            "product",
            "version",
            "serial",
            "asset",
            "location",
        ],
    ),
    (
        "chassis",
        &["manufacturer", "version", "serial", "asset", "sku"],
    ),
];

/// libvirt's reading of `<sysinfo>`: SMBIOS entries it knows, in its order; fw_cfg
/// entries only for the fw_cfg type.
fn fix_sysinfo(e: &mut Element) {
    let fwcfg = e.attr("type") == Some("fwcfg");
    e.children.retain(|c| (c.name == "entry") == fwcfg);
    for block in &mut e.children {
        if let Some((_, names)) = SMBIOS.iter().find(|(b, _)| *b == block.name) {
            let rank = |c: &Element| names.iter().position(|n| Some(*n) == c.attr("name"));
            block.children.retain(|c| rank(c).is_some());
            block.children.sort_by_key(|c| rank(c));
        }
    }
    e.children
        .retain(|b| b.name == "entry" || !b.children.is_empty());
}

/// libvirt's checks on `<memoryBacking>`: known source types and modes, a thread count,
/// and one default huge page size at most.
fn fix_backing(e: &Element) -> Result<(), XmlError> {
    let words: [(&str, &str, &[&str]); 3] = [
        ("source", "type", BACKING_SOURCES),
        ("access", "mode", &["shared", "private"]),
        ("allocation", "mode", &["immediate", "ondemand"]),
    ];
    for (el, at, known) in words {
        if let Some(v) = e.child(el).and_then(|c| c.attr(at)) {
            if !known.contains(&v) {
                return Err(super::errs::unsupported(format!(
                    "unknown memoryBacking/{el}/{at} '{v}'"
                )));
            }
        }
    }
    let threads = e.child("allocation").and_then(|a| a.attr("threads"));
    if threads.is_some_and(|t| t.parse::<u32>().is_err()) {
        return Err(super::errs::xml(
            "Failed to parse memory allocation threads".into(),
        ));
    }
    check_master_pages(e)
}

/// At most one huge page size without a nodeset (the default size) in `<memoryBacking>`.
pub(super) fn check_master_pages(e: &Element) -> Result<(), XmlError> {
    let masters: Vec<&str> = e
        .child("hugepages")
        .map(|h| {
            h.children
                .iter()
                .filter(|p| p.attr("nodeset").is_none())
                .filter_map(|p| p.attr("size"))
                .collect()
        })
        .unwrap_or_default();
    if let [first, second, ..] = masters[..] {
        return Err(super::errs::detail(format!(
            "two master hugepages detected: {second} and {first}"
        )));
    }
    Ok(())
}

/// libvirt's checks on `<perf>`: every event says whether it is on; written in
/// libvirt's event order.
fn fix_perf(e: &mut Element) -> Result<(), XmlError> {
    if let Some(ev) = e.children.iter().find(|c| c.attr("enabled").is_none()) {
        return Err(super::errs::missing_attr("enabled".into(), ev.name.clone()));
    }
    let rank = |c: &Element| PERF_EVENTS.iter().position(|n| Some(*n) == c.attr("name"));
    e.children.sort_by_key(|c| rank(c));
    Ok(())
}

/// A thread pool (of an `<iothread>` or `<defaultiothread>`) whose minimum is at most
/// its maximum.
fn check_thread_pool(t: &Element) -> Result<(), XmlError> {
    let bound = |k: &str| t.attr(k).and_then(|v| v.parse::<u64>().ok());
    match (bound("thread_pool_min"), bound("thread_pool_max")) {
        (Some(lo), Some(hi)) if lo > hi => Err(super::errs::unsupported(
            "thread_pool_min must be smaller or equal to thread_pool_max".into(),
        )),
        _ => Ok(()),
    }
}

/// libvirt's checks on `<iothreadids>`: ids nonzero and unique.
fn check_iothreadids(e: &Element) -> Result<(), XmlError> {
    let mut seen = Vec::new();
    for t in &e.children {
        let id = t.attr("id").unwrap_or_default();
        if id == "0" {
            return Err(super::errs::xml_util(
                "Invalid value for attribute 'id' in element 'iothread': Zero is not permitted"
                    .into(),
            ));
        }
        check_thread_pool(t)?;
        if seen.contains(&id) {
            return Err(super::errs::xml(format!(
                "duplicate iothread id '{id}' found"
            )));
        }
        seen.push(id);
    }
    Ok(())
}

/// The checks on the small elements: iothreads count, lifecycle action on lock
/// failure, idmap completeness.
fn check_small(e: &Element) -> Result<(), XmlError> {
    match e.name.as_str() {
        "iothreads" if e.text.parse::<u32>().is_err() => Err(super::errs::xml(format!(
            "invalid iothreads count '{}'",
            e.text
        ))),
        "on_lockfailure"
            if !matches!(e.text.as_str(), "poweroff" | "restart" | "pause" | "ignore") =>
        {
            Err(super::errs::unsupported(format!(
                "unknown on_lockfailure action: {}",
                e.text
            )))
        }
        "idmap" => {
            let has = |n: &str| e.children.iter().any(|c| c.name == n);
            if has("uid") != has("gid") {
                return Err(super::errs::unsupported(
                    "uid and gid should be mapped both".into(),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Applies the defaults and checks libvirt makes beyond the descriptions.
fn fix(e: &mut Element) -> Result<(), XmlError> {
    match e.name.as_str() {
        "sysinfo" => fix_sysinfo(e),
        "memoryBacking" => fix_backing(e)?,
        // A state without `enabled` is no setting.
        "pm" => e.children.retain(|c| c.attr("enabled").is_some()),
        "perf" => fix_perf(e)?,
        "iothreadids" => check_iothreadids(e)?,
        "defaultiothread" => check_thread_pool(e)?,
        "memtune" => e
            .children
            .retain(|c| c.text.parse::<u64>().is_ok_and(|n| n < UNLIMITED_KIB)),
        // A weight that is not a number is ignored.
        "blkiotune" => e
            .children
            .retain(|c| c.name != "weight" || c.text.parse::<u32>().is_ok()),
        "genid" => fix_genid(e)?,
        "seclabel" => fix_seclabel(e)?,
        "keywrap" => {
            // One setting per cipher, written AES first.
            e.children
                .sort_by(|a, b| a.attr("name").cmp(&b.attr("name")));
            e.children.dedup_by(|a, b| a.attr("name") == b.attr("name"));
        }
        _ => check_small(e)?,
    }
    Ok(())
}

/// Parses every described element `domain` holds, in [`TOP`] order. A container that
/// comes out empty is dropped, as libvirt writes none; every `<seclabel>` is kept.
pub fn parse(domain: &Element) -> Result<Vec<Element>, XmlError> {
    let mut out = Vec::new();
    for (spec, _) in TOP {
        for raw in domain.children_named(spec.name) {
            let mut e = spec.parse(raw, &format!("domain/{}", spec.name))?;
            fix(&mut e)?;
            let empty = e.attrs.is_empty() && e.children.is_empty() && e.text.is_empty();
            if !(empty && spec.text.is_none()) {
                out.push(e);
            }
            if spec.name != "seclabel" {
                break;
            }
        }
    }
    check_seclabels(&out)?;
    Ok(out)
}

/// Several `<seclabel>`s must each name their model.
fn check_seclabels(have: &[Element]) -> Result<(), XmlError> {
    let labels = have.iter().filter(|e| e.name == "seclabel");
    if labels.clone().count() > 1 && labels.clone().any(|l| l.attr("model").is_none()) {
        return Err(super::errs::xml(
            "missing security model when using multiple labels".into(),
        ));
    }
    Ok(())
}

/// Writes the elements of `have` that belong at `anchor`.
pub fn write(out: &mut Out, have: &[Element], anchor: Anchor) {
    for e in have {
        let at = TOP.iter().find(|(s, _)| s.name == e.name).map(|(_, a)| *a);
        if at == Some(anchor) {
            e.write(out);
        }
    }
}
