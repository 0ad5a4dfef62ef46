//! Top-level domain elements described declaratively (see [`crate::spec`]): each entry
//! is the element's description and where libvirt writes it among the typed parts.

use crate::out::Out;
use crate::spec::{attr, leaf, node, text, AttrSpec, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// Where a described element goes in libvirt's output, relative to the typed parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// After `<currentMemory>`, before `<vcpu>`.
    AfterMemory,
    /// After `<vcpu>`, before `<resource>`.
    AfterVcpu,
    /// After `<resource>`, before `<os>`.
    BeforeOs,
    /// After `<on_crash>`, before `<devices>`.
    AfterLifecycle,
}

const ENABLED: &[AttrSpec] = &[attr("enabled", Value::YesNo)];

const PERF_EVENT: &[AttrSpec] = &[attr("name", Value::Text), attr("enabled", Value::YesNo)];

const PAGE: &[AttrSpec] = &[
    attr("size", Value::Unsigned),
    attr("unit", Value::Text),
    attr("nodeset", Value::Text),
];

const ENTRY: Spec = Spec {
    name: "entry",
    attrs: &[attr("name", Value::Text)],
    children: &[],
    text: Some(Value::Text),
};

const BACKING_SOURCES: &[&str] = &["file", "anonymous", "memfd"];

/// The described top-level elements, in libvirt's output order within each anchor.
pub const TOP: &[(Spec, Anchor)] = &[
    (
        node(
            "memoryBacking",
            &[
                node("hugepages", &[leaf("page", PAGE)]),
                leaf("nosharepages", &[]),
                leaf("locked", &[]),
                leaf("source", &[attr("type", Value::Enum(BACKING_SOURCES))]),
                leaf(
                    "access",
                    &[attr("mode", Value::Enum(&["shared", "private"]))],
                ),
                leaf(
                    "allocation",
                    &[
                        attr("mode", Value::Enum(&["immediate", "ondemand"])),
                        attr("threads", Value::Unsigned),
                    ],
                ),
                leaf("discard", &[]),
            ],
        ),
        Anchor::AfterMemory,
    ),
    (text("iothreads", Value::Unsigned), Anchor::AfterVcpu),
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
        Spec {
            name: "sysinfo",
            attrs: &[attr("type", Value::Enum(&["smbios", "fwcfg"]))],
            children: &[
                node("bios", &[ENTRY]),
                node("system", &[ENTRY]),
                node("baseBoard", &[ENTRY]),
                node("chassis", &[ENTRY]),
                node("oemStrings", &[ENTRY]),
            ],
            text: None,
        },
        Anchor::BeforeOs,
    ),
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
];

/// Parses every described element `domain` holds, in [`TOP`] order.
pub fn parse(domain: &Element) -> Result<Vec<Element>, XmlError> {
    let mut out = Vec::new();
    for (spec, _) in TOP {
        if let Some(e) = spec.parse_child(domain, "domain")? {
            out.push(e);
        }
    }
    Ok(out)
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
