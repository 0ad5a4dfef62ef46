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
    /// After `<on_crash>`, before `<devices>`.
    AfterLifecycle,
    /// After `<devices>`.
    AfterDevices,
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
    (tune::VCPUS, Anchor::AfterVcpu),
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
    (SECLABEL, Anchor::AfterDevices),
    (KEYWRAP, Anchor::AfterDevices),
];

/// libvirt's reading of `<genid>`: a UUID, generated when the element is empty.
fn fix_genid(e: &mut Element) -> Result<(), XmlError> {
    if e.text.is_empty() {
        e.text = crate::Uuid::random().to_string();
    } else {
        let u = crate::Uuid::parse(&e.text)
            .map_err(|_| XmlError::Internal("malformed genid element".into()))?;
        e.text = u.to_string();
    }
    Ok(())
}

/// libvirt's reading of `<seclabel>`: relabelling defaults on for dynamic labels (which
/// need it) and off for static ones; a static label needs its `<label>`.
fn fix_seclabel(e: &mut Element) -> Result<(), XmlError> {
    let kind = e.attr("type").unwrap_or("dynamic").to_string();
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
        return Err(XmlError::Unsupported(
            "dynamic label type must use resource relabeling".into(),
        ));
    }
    if kind == "static" && e.children.iter().all(|c| c.name != "label") {
        return Err(XmlError::Message("security label is missing".into()));
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

/// Applies the defaults and checks libvirt makes beyond the descriptions.
fn fix(e: &mut Element) -> Result<(), XmlError> {
    match e.name.as_str() {
        "genid" => fix_genid(e),
        "seclabel" => fix_seclabel(e),
        "keywrap" => {
            // One setting per cipher, written AES first.
            e.children
                .sort_by(|a, b| a.attr("name").cmp(&b.attr("name")));
            e.children.dedup_by(|a, b| a.attr("name") == b.attr("name"));
            Ok(())
        }
        "on_lockfailure" => match e.text.as_str() {
            "poweroff" | "restart" | "pause" | "ignore" => Ok(()),
            other => Err(XmlError::Unsupported(format!(
                "unknown on_lockfailure action: {other}"
            ))),
        },
        _ => Ok(()),
    }
}

/// Parses every described element `domain` holds, in [`TOP`] order.
pub fn parse(domain: &Element) -> Result<Vec<Element>, XmlError> {
    let mut out = Vec::new();
    for (spec, _) in TOP {
        if let Some(mut e) = spec.parse_child(domain, "domain")? {
            fix(&mut e)?;
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
