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
/// left with nothing.
fn prune(e: &mut Element) {
    e.attrs.retain(|(_, v)| !v.is_empty());
    for c in &mut e.children {
        prune(c);
    }
    e.children
        .retain(|c| !(c.children.is_empty() && c.text.is_empty() && c.attrs.is_empty()));
}

/// Puts a described capability `raw` of type `t` in the form libvirt writes it.
pub fn normalise(t: &str, raw: &mut Element) {
    prune(raw);
    match t {
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
            raw.children
                .retain(|c| c.name != "pci-express" || !c.children.is_empty());
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
