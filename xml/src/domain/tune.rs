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
        text("weight", Value::Unsigned),
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
    attr("vcpus", Value::Text),
    attr("iothreads", Value::Text),
    attr("scheduler", Value::Enum(SCHEDULERS)),
    attr("priority", Value::Int),
];

/// `<cputune>`: shares, periods and quotas, then pinning and scheduling.
pub const CPUTUNE: Spec = node(
    "cputune",
    &[
        text("shares", Value::Unsigned),
        text("global_period", Value::Unsigned),
        text("global_quota", Value::Int),
        text("period", Value::Unsigned),
        text("quota", Value::Int),
        text("emulator_period", Value::Unsigned),
        text("emulator_quota", Value::Int),
        text("iothread_period", Value::Unsigned),
        text("iothread_quota", Value::Int),
        leaf(
            "vcpupin",
            &[attr("vcpu", Value::Unsigned), attr("cpuset", Value::Text)],
        ),
        leaf("emulatorpin", &[attr("cpuset", Value::Text)]),
        leaf(
            "iothreadpin",
            &[
                attr("iothread", Value::Unsigned),
                attr("cpuset", Value::Text),
            ],
        ),
        leaf("vcpusched", SCHED),
        leaf("iothreadsched", SCHED),
        leaf("emulatorsched", SCHED),
    ],
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
                attr("nodeset", Value::Text),
            ],
        ),
        leaf(
            "memnode",
            &[
                attr("cellid", Value::Unsigned),
                attr("mode", Value::Text),
                attr("nodeset", Value::Text),
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
        Some(m) if !NUMA_MODES.contains(&m) => Err(XmlError::Unsupported(format!(
            "Unsupported NUMA memory tuning mode '{m}'"
        ))),
        _ => Ok(()),
    }
}

/// libvirt's reading of `<numatune>`: the mode defaults to strict, a static placement
/// is not written, and an automatic vCPU placement (`vcpu_auto`) makes the memory
/// placement automatic when no nodeset is given. Returns whether the placement is
/// automatic, which makes the vCPU placement automatic too.
pub fn fix_numatune(e: &mut Element, vcpu_auto: bool) -> Result<bool, XmlError> {
    for c in &e.children {
        check_mode(c)?;
    }
    let has_memnode = e.children.iter().any(|c| c.name == "memnode");
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
    if auto {
        m.attrs.retain(|(k, _)| k != "nodeset");
        set_attr(m, "placement", "auto", 1);
        if has_memnode {
            return Err(XmlError::Unsupported(
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
