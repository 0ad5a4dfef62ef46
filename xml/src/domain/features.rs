//! `<features>`: each hypervisor feature described declaratively (see [`crate::spec`]),
//! with how libvirt reads and writes its state.

use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, AttrSpec, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

/// How libvirt reads a feature's state and writes the feature back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Presence turns it on; any `state` is ignored and none is written.
    Flag,
    /// `state` is optional (on when absent) and always written.
    Tristate,
    /// `state` is required and written.
    State,
    /// A group of sub-features, each with a required `state`; written open and closed
    /// even when empty. The text names the group in libvirt's refusal of an unknown one.
    Group(&'static str),
    /// Settings only: dropped when none is given.
    Settings,
}

const STATE: AttrSpec = attr("state", Value::OnOff);
const ON_OFF: &[AttrSpec] = &[STATE];

const fn sub(name: &'static str) -> Spec {
    leaf(name, ON_OFF)
}

const HYPERV: &[Spec] = &[
    sub("relaxed"),
    sub("vapic"),
    leaf("spinlocks", &[STATE, attr("retries", Value::Unsigned)]),
    sub("vpindex"),
    sub("runtime"),
    sub("synic"),
    Spec {
        name: "stimer",
        attrs: ON_OFF,
        children: &[sub("direct")],
        text: None,
    },
    sub("reset"),
    leaf("vendor_id", &[STATE, attr("value", Value::Text)]),
    sub("frequencies"),
    sub("reenlightenment"),
    Spec {
        name: "tlbflush",
        attrs: ON_OFF,
        children: &[sub("direct"), sub("extended")],
        text: None,
    },
    sub("ipi"),
    sub("evmcs"),
    sub("avic"),
];

const KVM: &[Spec] = &[
    sub("hidden"),
    sub("hint-dedicated"),
    sub("poll-control"),
    sub("pv-ipi"),
    leaf("dirty-ring", &[STATE, attr("size", Value::Unsigned)]),
];

const XEN: &[Spec] = &[
    sub("e820_host"),
    leaf(
        "passthrough",
        &[STATE, attr("mode", Value::Enum(&["sync_pt", "share_pt"]))],
    ),
];

const CAPS: &[Spec] = &[
    sub("audit_control"),
    sub("audit_write"),
    sub("block_suspend"),
    sub("chown"),
    sub("dac_override"),
    sub("dac_read_search"),
    sub("fowner"),
    sub("fsetid"),
    sub("ipc_lock"),
    sub("ipc_owner"),
    sub("kill"),
    sub("lease"),
    sub("linux_immutable"),
    sub("mac_admin"),
    sub("mac_override"),
    sub("mknod"),
    sub("net_admin"),
    sub("net_bind_service"),
    sub("net_broadcast"),
    sub("net_raw"),
    sub("setgid"),
    sub("setfcap"),
    sub("setpcap"),
    sub("setuid"),
    sub("sys_admin"),
    sub("sys_boot"),
    sub("sys_chroot"),
    sub("sys_module"),
    sub("sys_nice"),
    sub("sys_pacct"),
    sub("sys_ptrace"),
    sub("sys_rawio"),
    sub("sys_resource"),
    sub("sys_time"),
    sub("sys_tty_config"),
    sub("syslog"),
    sub("wake_alarm"),
];

const SPECTRE: &[AttrSpec] = &[attr(
    "value",
    Value::Enum(&["broken", "workaround", "fixed"]),
)];
const IBS: &[AttrSpec] = &[attr(
    "value",
    Value::Enum(&["broken", "workaround", "fixed-ibs", "fixed-ccd", "fixed-na"]),
)];

const fn group(name: &'static str, attrs: &'static [AttrSpec], children: &'static [Spec]) -> Spec {
    Spec {
        name,
        attrs,
        children,
        text: None,
    }
}

/// Every feature libvirt knows, in the order it writes them.
const FEATURES: &[(Spec, Kind)] = &[
    (leaf("acpi", &[]), Kind::Flag),
    (leaf("apic", &[attr("eoi", Value::OnOff)]), Kind::Flag),
    (leaf("pae", &[]), Kind::Flag),
    (leaf("hap", ON_OFF), Kind::Tristate),
    (leaf("viridian", &[]), Kind::Flag),
    (leaf("privnet", &[]), Kind::Flag),
    (
        group(
            "hyperv",
            &[attr("mode", Value::Enum(&["custom", "passthrough"]))],
            HYPERV,
        ),
        Kind::Group("HyperV Enlightenment"),
    ),
    (group("kvm", &[], KVM), Kind::Group("KVM")),
    (leaf("pvspinlock", ON_OFF), Kind::Tristate),
    (
        group(
            "capabilities",
            &[attr("policy", Value::Enum(&["default", "allow", "deny"]))],
            CAPS,
        ),
        Kind::Settings,
    ),
    (leaf("pmu", ON_OFF), Kind::Tristate),
    (leaf("vmport", ON_OFF), Kind::Tristate),
    (
        leaf("gic", &[attr("version", Value::Enum(&["host", "2", "3"]))]),
        Kind::Flag,
    ),
    (
        group(
            "smm",
            ON_OFF,
            &[Spec {
                name: "tseg",
                attrs: &[attr("unit", Value::Text)],
                children: &[],
                text: Some(Value::Unsigned),
            }],
        ),
        Kind::Tristate,
    ),
    (
        leaf("ioapic", &[attr("driver", Value::Enum(&["qemu", "kvm"]))]),
        Kind::Settings,
    ),
    (
        group(
            "hpt",
            &[attr(
                "resizing",
                Value::Enum(&["enabled", "disabled", "required"]),
            )],
            &[Spec {
                name: "maxpagesize",
                attrs: &[attr("unit", Value::Unit)],
                children: &[],
                text: Some(Value::Kib),
            }],
        ),
        Kind::Settings,
    ),
    (leaf("vmcoreinfo", ON_OFF), Kind::Tristate),
    (leaf("htm", ON_OFF), Kind::State),
    (leaf("nested-hv", ON_OFF), Kind::State),
    (
        leaf(
            "msrs",
            &[attr("unknown", Value::Enum(&["ignore", "fault"]))],
        ),
        Kind::Settings,
    ),
    (leaf("ccf-assist", ON_OFF), Kind::State),
    (group("xen", &[], XEN), Kind::Group("Xen")),
    (leaf("cfpc", SPECTRE), Kind::Settings),
    (leaf("sbbc", SPECTRE), Kind::Settings),
    (leaf("ibs", IBS), Kind::Settings),
    (
        group(
            "tcg",
            &[],
            &[Spec {
                name: "tb-cache",
                attrs: &[attr("unit", Value::Unit)],
                children: &[],
                text: Some(Value::Kib),
            }],
        ),
        Kind::Settings,
    ),
];

/// One `<features>` entry: its name, whether it is on, and its canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Element name (`acpi`, `apic`, `pae`, ...).
    pub name: String,
    /// False when written with `state='off'`.
    pub enabled: bool,
    /// The element as libvirt writes it (defaults explicit, unknown parts dropped).
    pub element: Element,
}

fn required(e: &Element, what: &str) -> Result<(), XmlError> {
    match e.attr(what) {
        Some(_) => Ok(()),
        None => Err(super::errs::missing_attr(what.into(), e.name.clone())),
    }
}

/// The attributes libvirt requires of some features and sub-features.
fn required_parts(raw: &Element, name: &str) -> Result<(), XmlError> {
    match name {
        "msrs" => required(raw, "unknown"),
        "hyperv" => match raw
            .child("spinlocks")
            .filter(|s| s.attr("state") == Some("on"))
        {
            Some(s) => required(s, "retries"),
            None => match raw
                .child("vendor_id")
                .filter(|v| v.attr("state") == Some("on"))
            {
                Some(v) if v.attr("value").is_none() => Err(super::errs::xml(
                    "missing 'value' attribute for HyperV feature 'vendor_id'".into(),
                )),
                _ => Ok(()),
            },
        },
        "kvm" => match raw
            .child("dirty-ring")
            .filter(|d| d.attr("state") == Some("on"))
        {
            Some(d) => {
                required(d, "size")?;
                let size = d.attr("size").and_then(|v| v.parse::<u32>().ok());
                match size {
                    Some(n) if n.is_power_of_two() && (1024..=65536).contains(&n) => Ok(()),
                    _ => Err(super::errs::xml(
                        "dirty ring must be power of 2 and ranges [1024, 65536]".into(),
                    )),
                }
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// libvirt keeps the SMM TSEG size in bytes and writes it in the largest of GiB, MiB
/// and KiB that holds it whole; a bare number is MiB.
fn fix_tseg(smm: &mut Element) -> Result<(), XmlError> {
    for t in smm.children.iter_mut().filter(|t| t.name == "tseg") {
        let unit = t.attr("unit").unwrap_or("MiB");
        let scale = crate::units::unit_scale(unit)
            .ok_or_else(|| super::errs::invalid_arg(format!("unknown suffix '{unit}'")))?;
        let n: u64 = t
            .text
            .trim()
            .parse()
            .map_err(|_| XmlError::invalid("domain/features/smm/tseg", t.text.trim()))?;
        let bytes = n.saturating_mul(scale);
        let (unit, v) = if bytes % (1 << 30) == 0 {
            ("GiB", bytes >> 30)
        } else if bytes % (1 << 20) == 0 {
            ("MiB", bytes >> 20)
        } else {
            ("KiB", bytes.div_ceil(1024))
        };
        t.attrs = vec![("unit".into(), unit.into())];
        t.text = v.to_string();
    }
    Ok(())
}

/// Reads one feature `raw` described by `spec` as `kind` into canonical form.
fn parse_one(raw: &Element, spec: &Spec, kind: Kind) -> Result<Option<Feature>, XmlError> {
    let p = format!("domain/features/{}", spec.name);
    match kind {
        Kind::State => required(raw, "state")?,
        Kind::Group(what) => {
            for c in &raw.children {
                if !spec.children.iter().any(|s| s.name == c.name) {
                    return Err(super::errs::unsupported(format!(
                        "unsupported {what} feature: {}",
                        c.name
                    )));
                }
                required(c, "state")?;
            }
        }
        _ => {}
    }
    required_parts(raw, spec.name)?;
    let mut e = spec.parse(raw, &p)?;
    match kind {
        Kind::Tristate if e.attr("state").is_none() => {
            e.attrs.insert(0, ("state".into(), "on".into()));
        }
        Kind::Settings if e.attrs.is_empty() && e.children.is_empty() => return Ok(None),
        Kind::Group(_) if spec.name == "hyperv" && e.attr("mode").is_none() => {
            e.attrs.push(("mode".into(), "custom".into()));
        }
        Kind::Settings
            if spec.name == "capabilities"
                && e.attr("policy").is_none()
                && !e.children.is_empty() =>
        {
            e.attrs.push(("policy".into(), "default".into()));
        }
        _ => {}
    }
    if spec.name == "smm" {
        fix_tseg(&mut e)?;
    }
    let enabled = e.attr("state") != Some("off");
    if !enabled {
        e.children.clear();
    }
    // A sub-feature that is off keeps its state only.
    for c in e
        .children
        .iter_mut()
        .filter(|c| c.attr("state") == Some("off"))
    {
        c.attrs.retain(|(k, _)| k == "state");
        c.children.clear();
    }
    Ok(Some(Feature {
        name: spec.name.to_string(),
        enabled,
        element: e,
    }))
}

/// Puts `f` among `features` (in libvirt's order, as parsed) where libvirt lists it,
/// replacing a feature of the same name.
pub fn insert_feature(features: &mut Vec<Feature>, f: Feature) {
    let rank = |name: &str| FEATURES.iter().position(|(s, _)| s.name == name);
    features.retain(|x| x.name != f.name);
    let at = features
        .iter()
        .position(|x| rank(&x.name) > rank(&f.name))
        .unwrap_or(features.len());
    features.insert(at, f);
}

/// `<NAME state='on'/>` for a feature that takes a state (smm, pmu, vmport, ...).
pub fn feature_on(name: &str) -> Feature {
    let mut element = Element {
        name: name.into(),
        ..Element::default()
    };
    element.attrs.push(("state".into(), "on".into()));
    Feature {
        name: name.into(),
        enabled: true,
        element,
    }
}

/// Parses `<features>` into libvirt order; a feature libvirt does not know is refused,
/// as libvirt does.
pub fn parse_features(e: &Element) -> Result<Vec<Feature>, XmlError> {
    if let Some(c) = e
        .children
        .iter()
        .find(|c| !FEATURES.iter().any(|(s, _)| s.name == c.name))
    {
        return Err(super::errs::unsupported(format!(
            "unexpected feature '{}'",
            c.name
        )));
    }
    let mut v = Vec::new();
    for (spec, kind) in FEATURES {
        if let Some(raw) = e.child(spec.name) {
            v.extend(parse_one(raw, spec, *kind)?);
        }
    }
    Ok(v)
}

/// Writes `<features>` when non-empty.
pub fn write_features(out: &mut Out, features: &[Feature]) {
    out.element("features", &Attrs::new(), |o| {
        for f in features {
            let group = FEATURES
                .iter()
                .any(|(s, k)| s.name == f.name && matches!(k, Kind::Group(_)));
            if group {
                let mut a = Attrs::new();
                for (k, v) in &f.element.attrs {
                    a = a.add(k, v);
                }
                o.open(&f.name, &a);
                for c in &f.element.children {
                    c.write(o);
                }
                o.close(&f.name);
            } else {
                f.element.write(o);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    fn round(x: &str) -> Result<String, XmlError> {
        let f = parse_features(&parse_document(x).unwrap())?;
        let mut o = Out::new();
        write_features(&mut o, &f);
        Ok(o.finish())
    }

    /// Outputs checked against libvirt 9.0's test driver.
    #[test]
    fn libvirt_order_and_defaults() {
        assert_eq!(
            round("<features><pmu/><apic eoi='on'/><pae/><acpi state='off'/><hap state='off'/><hyperv/><ioapic/></features>").unwrap(),
            "<features>\n  <acpi/>\n  <apic eoi='on'/>\n  <pae/>\n  <hap state='off'/>\n  <hyperv mode='custom'>\n  </hyperv>\n  <pmu state='on'/>\n</features>\n"
        );
        assert_eq!(
            round("<features><kvm><hidden state='on'/></kvm><hpt><maxpagesize unit='MiB'>16</maxpagesize></hpt></features>").unwrap(),
            "<features>\n  <kvm>\n    <hidden state='on'/>\n  </kvm>\n  <hpt>\n    <maxpagesize unit='KiB'>16384</maxpagesize>\n  </hpt>\n</features>\n"
        );
        let f =
            parse_features(&parse_document("<features><vmport state='off'/></features>").unwrap())
                .unwrap();
        assert!(!f[0].enabled);
    }

    #[test]
    fn refusals_worded_like_libvirt() {
        let e = |x: &str| round(x).unwrap_err().to_string();
        assert_eq!(
            e("<features><frobnicate/></features>"),
            "unsupported configuration: unexpected feature 'frobnicate'"
        );
        assert_eq!(
            e("<features><htm/></features>"),
            "XML error: Missing required attribute 'state' in element 'htm'"
        );
        assert_eq!(
            e("<features><hyperv><bogus state='on'/></hyperv></features>"),
            "unsupported configuration: unsupported HyperV Enlightenment feature: bogus"
        );
        assert_eq!(
            e("<features><kvm><hidden/></kvm></features>"),
            "XML error: Missing required attribute 'state' in element 'hidden'"
        );
        assert_eq!(
            e("<features><pmu state='maybe'/></features>"),
            "XML error: Invalid value for attribute 'state' in element 'pmu': 'maybe'."
        );
    }
}
