//! Resource tuning elements, described declaratively (see [`crate::spec`]):
//! `<maxMemory>`, `<blkiotune>`, `<memtune>`, `<vcpus>`, `<cputune>` and `<numatune>`,
//! with the defaults libvirt makes explicit.

use crate::spec::{attr, leaf, node, text, AttrSpec, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// `<maxMemory slots unit>`: the hotplug ceiling, written in KiB.
pub const MAX_MEMORY: Spec = Spec {
    name: "maxMemory",
    attrs: &[attr("slots", Value::Unsigned), attr("unit", Value::Unit)],
    children: &[],
    text: Some(Value::Kib),
};

const UNIT: &[AttrSpec] = &[attr("unit", Value::Unit)];

const fn amount(name: &'static str) -> Spec {
    Spec {
        name,
        attrs: UNIT,
        children: &[],
        text: Some(Value::Kib),
    }
}

/// `<memtune>`: limits in libvirt's order, each written in KiB.
pub const MEMTUNE: Spec = node(
    "memtune",
    &[
        amount("hard_limit"),
        amount("soft_limit"),
        amount("min_guarantee"),
        amount("swap_hard_limit"),
    ],
);

/// `<blkiotune>`: the weight, then per-device throttles.
pub const BLKIOTUNE: Spec = node(
    "blkiotune",
    &[
        text("weight", Value::Text),
        node(
            "device",
            &[
                text("path", Value::Text),
                text("weight", Value::Unsigned),
                text("read_iops_sec", Value::Unsigned),
                text("write_iops_sec", Value::Unsigned),
                text("read_bytes_sec", Value::Unsigned),
                text("write_bytes_sec", Value::Unsigned),
            ],
        ),
    ],
);

/// `<vcpus>`: per-vCPU state.
pub const VCPUS: Spec = node(
    "vcpus",
    &[leaf(
        "vcpu",
        &[
            attr("id", Value::Unsigned),
            attr("enabled", Value::YesNo),
            attr("hotpluggable", Value::YesNo),
            attr("order", Value::Unsigned),
        ],
    )],
);

const SCHEDULERS: &[&str] = &["batch", "idle", "fifo", "rr"];

const SCHED: &[AttrSpec] = &[
    attr("vcpus", Value::Bitmap),
    attr("iothreads", Value::Bitmap),
    attr("scheduler", Value::Enum(SCHEDULERS)),
    attr("priority", Value::Int),
];

/// `<cputune>`: shares, periods and quotas, then pinning and scheduling.
pub const CPUTUNE: Spec = node(
    "cputune",
    &[
        text("shares", Value::Text),
        text("period", Value::Text),
        text("quota", Value::Text),
        text("global_period", Value::Text),
        text("global_quota", Value::Text),
        text("emulator_period", Value::Text),
        text("emulator_quota", Value::Text),
        text("iothread_period", Value::Text),
        text("iothread_quota", Value::Text),
        leaf(
            "vcpupin",
            &[attr("vcpu", Value::Unsigned), attr("cpuset", Value::Bitmap)],
        ),
        leaf("emulatorpin", &[attr("cpuset", Value::Bitmap)]),
        leaf(
            "iothreadpin",
            &[
                attr("iothread", Value::Unsigned),
                attr("cpuset", Value::Bitmap),
            ],
        ),
        leaf("vcpusched", SCHED),
        leaf("emulatorsched", SCHED),
        leaf("iothreadsched", SCHED),
        Spec {
            name: "cachetune",
            attrs: &[attr("vcpus", Value::Bitmap)],
            children: &[
                leaf(
                    "cache",
                    &[
                        attr("id", Value::Unsigned),
                        attr("level", Value::Unsigned),
                        attr("type", Value::Enum(&["both", "code", "data"])),
                        attr("size", Value::Unsigned),
                        attr("unit", Value::Text),
                    ],
                ),
                MONITOR,
            ],
            text: None,
        },
        Spec {
            name: "memorytune",
            attrs: &[attr("vcpus", Value::Bitmap)],
            children: &[
                leaf(
                    "node",
                    &[
                        attr("id", Value::Unsigned),
                        attr("bandwidth", Value::Unsigned),
                    ],
                ),
                MONITOR,
            ],
            text: None,
        },
    ],
);

/// A resctrl `<monitor>` of `<cachetune>` or `<memorytune>`.
const MONITOR: Spec = leaf(
    "monitor",
    &[attr("level", Value::Unsigned), attr("vcpus", Value::Bitmap)],
);

const NUMA_MODES: &[&str] = &["strict", "preferred", "interleave", "restrictive"];

/// `<numatune>`: the guest-wide policy, then per-cell ones.
pub const NUMATUNE: Spec = node(
    "numatune",
    &[
        leaf(
            "memory",
            &[
                attr("mode", Value::Text),
                attr("placement", Value::Enum(&["static", "auto"])),
                attr("nodeset", Value::Bitmap),
            ],
        ),
        leaf(
            "memnode",
            &[
                attr("cellid", Value::Unsigned),
                attr("mode", Value::Text),
                attr("nodeset", Value::Bitmap),
            ],
        ),
    ],
);

fn set_attr(e: &mut Element, name: &str, value: &str, at: usize) {
    match e.attrs.iter_mut().find(|(k, _)| k == name) {
        Some(a) => a.1 = value.to_string(),
        None => e
            .attrs
            .insert(at.min(e.attrs.len()), (name.into(), value.into())),
    }
}

fn check_mode(e: &Element) -> Result<(), XmlError> {
    match e.attr("mode") {
        Some(m) if !NUMA_MODES.contains(&m) => Err(super::errs::unsupported(format!(
            "Unsupported NUMA memory tuning mode '{m}'"
        ))),
        _ => Ok(()),
    }
}

/// Per-cell policies: each names one of the guest's `cells` NUMA cells, and libvirt
/// writes them in cell order.
fn memnodes(e: &mut Element, cells: usize) -> Result<(), XmlError> {
    let cell = |c: &Element| c.attr("cellid").and_then(|v| v.parse::<usize>().ok());
    for c in e.children.iter().filter(|c| c.name == "memnode") {
        if cell(c).is_none_or(|i| i >= cells) {
            return Err(super::errs::xml(
                "Argument 'cellid' in memnode element must correspond to existing guest's NUMA cell"
                    .into(),
            ));
        }
    }
    let start = e.children.iter().position(|c| c.name == "memnode");
    if let Some(start) = start {
        e.children[start..].sort_by_key(|c| cell(c));
    }
    Ok(())
}

/// libvirt's reading of `<numatune>`: the mode defaults to strict, a static placement
/// is not written, and an automatic vCPU placement (`vcpu_auto`) makes the memory
/// placement automatic when no nodeset is given. Returns whether the placement is
/// automatic, which makes the vCPU placement automatic too.
pub fn fix_numatune(e: &mut Element, vcpu_auto: bool, cells: usize) -> Result<bool, XmlError> {
    for c in &e.children {
        check_mode(c)?;
    }
    let has_memnode = e.children.iter().any(|c| c.name == "memnode");
    if has_memnode && cells == 0 {
        return Err(super::errs::xml(
            "Element 'memnode' is invalid without any guest NUMA cells".into(),
        ));
    }
    memnodes(e, cells)?;
    let Some(m) = e.children.iter_mut().find(|c| c.name == "memory") else {
        return Ok(false);
    };
    set_attr(
        m,
        "mode",
        m.attr("mode").unwrap_or("strict").to_string().as_str(),
        0,
    );
    let auto = match m.attr("placement") {
        Some("auto") => true,
        Some(_) => false,
        None => vcpu_auto && m.attr("nodeset").is_none(),
    };
    m.attrs.retain(|(k, _)| k != "placement");
    if !auto && m.attr("nodeset").is_none() {
        return Err(super::errs::unsupported(
            "nodeset for NUMA memory tuning must be set if 'placement' is 'static'".into(),
        ));
    }
    if auto {
        m.attrs.retain(|(k, _)| k != "nodeset");
        set_attr(m, "placement", "auto", 1);
        if has_memnode {
            return Err(super::errs::unsupported(
                "Per-node binding is not compatible with automatic NUMA placement.".into(),
            ));
        }
    }
    Ok(auto)
}

/// The `<numatune>` libvirt writes for an automatic vCPU placement without one.
pub fn auto_numatune() -> Element {
    let memory = Element {
        name: "memory".into(),
        attrs: vec![
            ("mode".into(), "strict".into()),
            ("placement".into(), "auto".into()),
        ],
        ..Element::default()
    };
    Element {
        name: "numatune".into(),
        children: vec![memory],
        ..Element::default()
    }
}

/// How many vCPUs `<vcpus>` enables.
pub fn enabled_vcpus(vcpus: &Element) -> u32 {
    let n = vcpus
        .children
        .iter()
        .filter(|v| v.attr("enabled") == Some("yes"))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn leaf_el(name: &str, attrs: Vec<(String, String)>) -> Element {
    Element {
        name: name.into(),
        attrs,
        ..Element::default()
    }
}

/// Refuses a `<vcpus>` entry beyond the `<vcpu>` count, as libvirt does.
pub fn check_vcpu_ids(vcpus: &Element, max: u32) -> Result<(), XmlError> {
    for v in &vcpus.children {
        let id = v.attr("id").unwrap_or_default();
        if id.parse::<u32>().map_or(true, |i| i >= max) {
            return Err(super::errs::xml(format!(
                "vcpu id '{id}' is out of range of maximum vcpu count"
            )));
        }
    }
    Ok(())
}

/// libvirt's `<vcpus>`: one entry per vCPU up to `max`, disabled when not listed, and
/// hot-pluggable unless enabled (when not said).
pub fn fill_vcpus(vcpus: &mut Element, max: u32) {
    let given = std::mem::take(&mut vcpus.children);
    for id in 0..max.min(super::MAX_VCPUS) {
        let idt = id.to_string();
        let g = given.iter().find(|v| v.attr("id") == Some(idt.as_str()));
        let enabled = g.and_then(|v| v.attr("enabled")) == Some("yes");
        let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
        let hot = g
            .and_then(|v| v.attr_s("hotpluggable"))
            .unwrap_or_else(|| yn(!enabled));
        let mut attrs = vec![
            ("id".into(), idt.clone()),
            ("enabled".into(), yn(enabled)),
            ("hotpluggable".into(), hot),
        ];
        if let Some(o) = g.and_then(|v| v.attr_s("order")) {
            attrs.push(("order".into(), o));
        }
        vcpus.children.push(leaf_el("vcpu", attrs));
    }
}

/// libvirt's `<iothreadids>`: the ids given, then the lowest free ids up to the
/// `<iothreads>` count. Returns the count, which is at least the ids given.
pub fn fill_iothreads(ids: &mut Element, count: u32) -> u32 {
    let mut n = u32::try_from(ids.children.len()).unwrap_or(u32::MAX);
    let mut next = 1u32;
    while n < count {
        let t = next.to_string();
        if !ids
            .children
            .iter()
            .any(|c| c.attr("id") == Some(t.as_str()))
        {
            ids.children
                .push(leaf_el("iothread", vec![("id".into(), t)]));
            n += 1;
        }
        next += 1;
    }
    n
}

/// libvirt's ranges for the `<cputune>` periods and quotas (0 is unset, -1 an
/// unlimited quota).
fn check_cputune_range(name: &str, v: &str) -> Result<(), XmlError> {
    let (lo, hi, unlimited): (i64, i64, bool) = match name {
        n if n.ends_with("period") => (1000, 1_000_000, false),
        n if n.ends_with("quota") => (1000, 17_592_186_044_415, true),
        _ => return Ok(()),
    };
    let n: i64 = v.parse().unwrap_or(0);
    if n == 0 || (unlimited && n == -1) || (lo..=hi).contains(&n) {
        return Ok(());
    }
    Err(super::errs::unsupported(format!(
        "Value of cputune '{name}' must be in range [{lo}, {hi}]"
    )))
}

/// libvirt keeps one scheduler per I/O thread: each `<iothreadsched>` naming several
/// is written as one per thread, in the order of the domain's thread `ids`; threads
/// named twice or not at all in `ids` are refused.
pub fn split_iothreadsched(e: &mut Element, ids: &[u32]) -> Result<(), XmlError> {
    let Some(start) = e.children.iter().position(|c| c.name == "iothreadsched") else {
        return Ok(());
    };
    let mut per_id: Vec<(usize, Element)> = Vec::new();
    for c in e.children.iter().filter(|c| c.name == "iothreadsched") {
        let list = c.attr("iothreads").unwrap_or_default();
        for (lo, hi) in super::validate::cpu_ranges(list) {
            for id in lo..=hi {
                let Some(at) = ids.iter().position(|&i| i == id) else {
                    return Err(super::errs::unsupported(format!(
                        "Cannot find 'iothread' : {id}"
                    )));
                };
                if per_id.iter().any(|(a, _)| *a == at) {
                    return Err(super::errs::detail(
                        "'iothreadsched' attributes 'iothreads' must not overlap".into(),
                    ));
                }
                let mut one = c.clone();
                set_attr(&mut one, "iothreads", &id.to_string(), 0);
                per_id.push((at, one));
            }
        }
    }
    per_id.sort_by_key(|(at, _)| *at);
    e.children.retain(|c| c.name != "iothreadsched");
    let at = start.min(e.children.len());
    e.children
        .splice(at..at, per_id.into_iter().map(|(_, c)| c));
    Ok(())
}

/// libvirt's reading of the resctrl parts of `<cputune>`: a cache size (KiB when no
/// unit is given) is written in the largest of B, KiB, MiB, GiB and TiB that holds it
/// whole, and a memory bandwidth monitor has no cache level.
fn fix_resctrl(e: &mut Element) -> Result<(), XmlError> {
    const UNITS: [(&str, u64); 5] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("B", 1),
    ];
    for t in e.children.iter_mut() {
        for c in t.children.iter_mut() {
            match (t.name.as_str(), c.name.as_str()) {
                ("cachetune", "cache") => {
                    let Some(size) = c.attr("size") else { continue };
                    let path = "domain/cputune/cachetune/cache/@size";
                    let bytes = crate::units::to_bytes(path, size, c.attr("unit"), "KiB")?;
                    let (unit, scale) = UNITS
                        .into_iter()
                        .find(|(_, s)| bytes % s == 0 && bytes > 0)
                        .unwrap_or(("B", 1));
                    set_attr(c, "size", &(bytes / scale).to_string(), 3);
                    set_attr(c, "unit", unit, 4);
                }
                ("memorytune", "monitor") => c.attrs.retain(|(k, _)| k != "level"),
                _ => {}
            }
        }
    }
    Ok(())
}

/// libvirt's reading of `<cputune>`: periods and quotas in range, pinning of vCPUs the
/// domain has only, in vCPU order.
pub fn fix_cputune(e: &mut Element, vcpus: u32) -> Result<(), XmlError> {
    for c in &e.children {
        let numeric = c.attrs.is_empty() && c.children.is_empty();
        if numeric && c.text.parse::<i64>().is_err() {
            return Err(super::errs::xml(format!(
                "can't parse cputune {} value",
                c.name
            )));
        }
        // Real-time schedulers need a priority.
        let realtime = matches!(c.attr("scheduler"), Some("fifo" | "rr"));
        if realtime && c.attr("priority").is_none() {
            return Err(super::errs::missing_attr("priority".into(), c.name.clone()));
        }
        check_cputune_range(&c.name, &c.text)?;
    }
    fix_resctrl(e)?;
    let id = |c: &Element| c.attr("vcpu").and_then(|v| v.parse::<u32>().ok());
    e.children
        .retain(|c| c.name != "vcpupin" || id(c).is_some_and(|i| i < vcpus));
    let start = e.children.iter().position(|c| c.name == "vcpupin");
    if let Some(start) = start {
        let end = start
            + e.children[start..]
                .iter()
                .take_while(|c| c.name == "vcpupin")
                .count();
        e.children[start..end].sort_by_key(|c| id(c));
    }
    Ok(())
}
