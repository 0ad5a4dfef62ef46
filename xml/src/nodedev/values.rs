//! libvirt's value checks of the described capabilities ([`super::caps`]) and what it
//! leaves out when writing them again.

use crate::storage::errs::{self, bad_attr};
use crate::tree::Element;
use crate::{Uuid, XmlError};

/// How libvirt reads a numeric attribute.
#[derive(Clone, Copy)]
enum Num {
    /// Unsigned, any C base (`0x` hex, leading-zero octal).
    UInt,
    /// Signed decimal.
    Int,
}

fn reads(kind: Num, v: &str) -> bool {
    let t = v.trim();
    match kind {
        Num::Int => t.parse::<i64>().is_ok(),
        Num::UInt => {
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).is_ok()
            } else {
                !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
            }
        }
    }
}

/// libvirt's wording for a numeric attribute it cannot read.
fn check_num(e: &Element, attr: &str, kind: Num) -> Result<(), XmlError> {
    let Some(v) = e.attr(attr) else {
        return Ok(());
    };
    if reads(kind, v) {
        return Ok(());
    }
    let expected = match kind {
        Num::UInt => "Expected non-negative integer value",
        Num::Int => "Expected integer value",
    };
    Err(errs::reported(
        errs::XML_ERROR,
        errs::FROM_XML,
        format!(
            "Invalid value for attribute '{attr}' in element '{}': '{v}'. {expected}",
            e.name
        ),
    ))
}

fn check_address(a: &Element) -> Result<(), XmlError> {
    for k in ["domain", "bus", "slot", "function"] {
        check_num(a, k, Num::UInt)?;
    }
    Ok(())
}

fn is_hex(v: &str) -> bool {
    let t = v.trim();
    let h = t.strip_prefix("0x").unwrap_or(t);
    !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_pci(e: &Element, name: &str) -> Result<(), XmlError> {
    let bad = |what: &str| errs::nodedev(format!("invalid {what} supplied for '{name}'"));
    if let Some(c) = e.child("class").filter(|c| !c.text.is_empty()) {
        if !is_hex(&c.text) {
            return Err(bad("PCI class"));
        }
    }
    for sub in e.children_named("capability") {
        if let Some(m) = sub.attr("maxCount").filter(|m| !m.is_empty()) {
            if !reads(Num::UInt, m) {
                return Err(errs::reported(
                    errs::XML_ERROR,
                    errs::FROM_NODEDEV,
                    "Malformed 'maxCount' parameter",
                ));
            }
        }
        sub.children_named("address").try_for_each(check_address)?;
    }
    if let Some(g) = e.child("iommuGroup") {
        check_num(g, "number", Num::UInt)?;
        g.children_named("address").try_for_each(check_address)?;
    }
    if let Some(n) = e.child("numa").and_then(|n| n.attr("node")) {
        if !n.is_empty() && n.trim().parse::<i32>().is_err() {
            return Err(bad("NUMA node ID"));
        }
    }
    for l in e
        .child("pci-express")
        .iter()
        .flat_map(|p| p.children_named("link"))
    {
        check_num(l, "port", Num::Int)?;
        if let Some(s) = l.attr("speed").filter(|s| !s.is_empty()) {
            if !["2.5", "5", "8", "16", "32", "64"].contains(&s) {
                return Err(bad_attr("speed", "link", s));
            }
        }
        check_num(l, "width", Num::UInt)?;
    }
    Ok(())
}

fn check_mdev(e: &Element, name: &str) -> Result<(), XmlError> {
    if let Some(u) = e
        .child("uuid")
        .map(|u| u.text.trim())
        .filter(|u| !u.is_empty())
    {
        if Uuid::parse(u).is_err() {
            return Err(errs::nodedev(format!(
                "Invalid uuid '{u}' for new mdev device"
            )));
        }
    }
    if let Some(n) = e.child("iommuGroup").and_then(|g| g.attr("number")) {
        if !n.is_empty() && !reads(Num::UInt, n) {
            return Err(errs::nodedev(format!(
                "invalid iommuGroup number attribute for '{name}'"
            )));
        }
    }
    Ok(())
}

fn check_ccw(e: &Element, name: &str) -> Result<(), XmlError> {
    for k in ["cssid", "ssid", "devno"] {
        if let Some(v) = e.child(k).map(|c| c.text.trim()) {
            if !is_hex(v) {
                return Err(errs::reported(
                    errs::CONFIG_UNSUPPORTED,
                    errs::FROM_NODEDEV,
                    format!("invalid {k} value '{v}' for '{name}'"),
                ));
            }
        }
    }
    Ok(())
}

/// libvirt's checks of the values of capability `t` (after its required values).
pub fn check(t: &str, e: &Element, name: &str) -> Result<(), XmlError> {
    match t {
        "pci" => check_pci(e, name),
        "mdev" => check_mdev(e, name),
        "ccw" | "css" => check_ccw(e, name),
        "net" => e
            .child("link")
            .map_or(Ok(()), |l| check_num(l, "speed", Num::UInt)),
        "storage" => match e.child("size").filter(|s| !s.text.is_empty()) {
            Some(s) if !reads(Num::UInt, &s.text) => {
                Err(errs::nodedev(format!("invalid size supplied for '{name}'")))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Drops what libvirt reads as no value, recursively: empty attributes, then elements
/// left with nothing (except those named in `keep`, which mean something when empty).
fn prune(e: &mut Element, keep: &[&str]) {
    e.attrs.retain(|(_, v)| !v.is_empty());
    for c in &mut e.children {
        prune(c, keep);
    }
    e.children.retain(|c| {
        !(c.children.is_empty() && c.text.is_empty() && c.attrs.is_empty())
            || keep.contains(&c.name.as_str())
    });
}

/// The sub-capabilities of a PCI device in the order libvirt writes them.
const PCI_SUB_CAPS: &[&str] = &[
    "phys_function",
    "virt_functions",
    "pci-bridge",
    "cardbus-bridge",
    "mdev_types",
    "vpd",
];

/// Where child `c` of a PCI capability goes among its `<capability>` children.
fn pci_sub_rank(c: &Element) -> usize {
    let t = c.attr("type").unwrap_or("");
    PCI_SUB_CAPS.iter().position(|s| *s == t).unwrap_or(0)
}

/// A network device's features once, in libvirt's order (it keeps them as a set).
fn sort_features(raw: &mut Element) {
    let rank = |c: &Element| {
        let n = c.attr("name").unwrap_or("");
        super::parse::NET_FEATURES.iter().position(|f| *f == n)
    };
    let Some(first) = raw.children.iter().position(|c| c.name == "feature") else {
        return;
    };
    let mut feats: Vec<Element> = Vec::new();
    raw.children.retain(|c| {
        if c.name == "feature" {
            feats.push(c.clone());
        }
        c.name != "feature"
    });
    feats.sort_by_key(rank);
    feats.dedup_by_key(|c| rank(c));
    for (i, f) in feats.into_iter().enumerate() {
        raw.children.insert(first + i, f);
    }
}

/// Puts a described capability `raw` of type `t` in the form libvirt writes it: of a
/// host's device when `host` (where an empty `<pci-express/>` says the device is PCI
/// Express without link details), else of a document.
pub fn normalise(t: &str, raw: &mut Element, host: bool) {
    prune(raw, if host { &["pci-express"] } else { &[] });
    match t {
        "net" => sort_features(raw),
        "pci" => {
            raw.children.retain(|c| match c.name.as_str() {
                // A group is written with its addresses only.
                "iommuGroup" => !c.children.is_empty(),
                "capability" => matches!(
                    c.attr("type"),
                    Some(
                        "phys_function"
                            | "virt_functions"
                            | "pci-bridge"
                            | "cardbus-bridge"
                            | "mdev_types"
                            | "vpd"
                    )
                ),
                _ => true,
            });
            for p in raw.children.iter_mut().filter(|c| c.name == "pci-express") {
                p.children
                    .retain(|l| matches!(l.attr("validity"), Some("cap" | "sta")));
            }
            if !host {
                raw.children
                    .retain(|c| c.name != "pci-express" || !c.children.is_empty());
            }
            sort_pci_sub_caps(raw);
        }
        "mdev" if raw.child("iommuGroup").is_none() => {
            // libvirt always writes the group, 0 when none is known.
            let group = Element {
                name: "iommuGroup".into(),
                attrs: vec![("number".into(), "0".into())],
                ..Element::default()
            };
            let at = raw
                .children
                .iter()
                .position(|c| c.name == "attr")
                .unwrap_or(raw.children.len());
            raw.children.insert(at, group);
        }
        _ => {}
    }
}

/// Orders a PCI capability's `<capability>` children as libvirt writes them; they sit
/// together in the described order, so sorting that run is enough.
fn sort_pci_sub_caps(raw: &mut Element) {
    let Some(first) = raw.children.iter().position(|c| c.name == "capability") else {
        return;
    };
    let n = raw.children[first..]
        .iter()
        .take_while(|c| c.name == "capability")
        .count();
    raw.children[first..first + n].sort_by_key(pci_sub_rank);
}
