//! Host-side network device settings shared by networks, their port groups and domain
//! interfaces: `<bandwidth>`, `<vlan>` and `<virtualport>`, checked and formatted as
//! libvirt's common netdev code does (its errors carry no error domain).

use super::prop;
use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::{Uuid, XmlError, XML_DETAIL, XML_ERROR};

/// `VIR_FROM_NONE`.
const FROM_NONE: i32 = 0;
/// `VIR_FROM_NET`: where the virtual port checks report from.
const FROM_NET: i32 = 11;
/// `VIR_ERR_CONFIG_UNSUPPORTED`.
const UNSUPPORTED: i32 = 67;

fn none_err(code: i32, text: String) -> XmlError {
    XmlError::reported(code, Some(FROM_NONE), text)
}

fn xml_err(msg: &str) -> XmlError {
    none_err(XML_ERROR, format!("XML error: {msg}"))
}

fn unsupported(msg: String) -> XmlError {
    none_err(UNSUPPORTED, format!("unsupported configuration: {msg}"))
}

/// One direction of `<bandwidth>`: rates in KiB/s, sizes in KiB; 0 is unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    /// `average`.
    pub average: u64,
    /// `peak`.
    pub peak: u64,
    /// `floor` (inbound, where the context allows it).
    pub floor: u64,
    /// `burst`.
    pub burst: u64,
}

/// `<bandwidth>`: inbound and outbound shaping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bandwidth {
    /// `<inbound>`.
    pub inbound: Option<Rate>,
    /// `<outbound>`.
    pub outbound: Option<Rate>,
}

fn parse_rate(e: &Element) -> Result<Rate, XmlError> {
    let num = |k: &str| -> Result<Option<u64>, XmlError> {
        e.attr(k)
            .map(|v| {
                prop::to_u64_positive(v).ok_or_else(|| {
                    unsupported(format!("could not convert bandwidth {k} value '{v}'"))
                })
            })
            .transpose()
    };
    let has = |k: &str| e.attr(k).is_some();
    if !has("average") && !has("floor") {
        return Err(none_err(
            XML_DETAIL,
            "Missing mandatory average or floor attributes".into(),
        ));
    }
    let average = num("average")?;
    if (has("peak") || has("burst")) && average.is_none() {
        return Err(unsupported(
            "'peak' and 'burst' require 'average' attribute".into(),
        ));
    }
    Ok(Rate {
        average: average.unwrap_or(0),
        peak: num("peak")?.unwrap_or(0),
        burst: num("burst")?.unwrap_or(0),
        floor: num("floor")?.unwrap_or(0),
    })
}

/// The one child `name` of `e`, refusing a second as libvirt does.
fn only_one<'a>(e: &'a Element, name: &'a str) -> Result<Option<&'a Element>, XmlError> {
    let mut it = e.children_named(name);
    let first = it.next();
    if it.next().is_some() {
        return Err(none_err(
            XML_DETAIL,
            format!("Only one child <{name}> element allowed"),
        ));
    }
    Ok(first)
}

impl Bandwidth {
    /// Parses `<bandwidth>`; `None` when it sets neither direction. `allow_floor` says
    /// whether the context takes `floor`; `classID` is never accepted here.
    pub fn parse(e: &Element, allow_floor: bool) -> Result<Option<Bandwidth>, XmlError> {
        if e.attr("classID").is_some() {
            return Err(none_err(
                XML_DETAIL,
                "classID attribute not supported on <bandwidth> in this usage context".into(),
            ));
        }
        let (i, o) = (only_one(e, "inbound")?, only_one(e, "outbound")?);
        let inbound = i.map(parse_rate).transpose()?;
        if inbound.is_some_and(|r| r.floor != 0) && !allow_floor {
            return Err(unsupported(
                "floor attribute is not supported for this config".into(),
            ));
        }
        let outbound = o.map(parse_rate).transpose()?;
        if outbound.is_some_and(|r| r.floor != 0) {
            return Err(unsupported(
                "'floor' attribute allowed only in <inbound> element".into(),
            ));
        }
        Ok((inbound.is_some() || outbound.is_some()).then_some(Bandwidth { inbound, outbound }))
    }

    /// Writes `<bandwidth>` as libvirt does (a direction with neither average nor floor
    /// is left out, the element itself stays).
    pub fn write(&self, out: &mut Out) {
        out.open("bandwidth", &Attrs::new());
        for (name, r) in [("inbound", &self.inbound), ("outbound", &self.outbound)] {
            let Some(r) = r else { continue };
            if r.average == 0 && r.floor == 0 {
                continue;
            }
            let nz = |v: u64| (v != 0).then_some(v);
            let a = Attrs::new()
                .opt("average", nz(r.average))
                .opt("peak", nz(r.peak))
                .opt("floor", nz(r.floor))
                .opt("burst", nz(r.burst));
            out.empty(name, &a);
        }
        out.close("bandwidth");
    }
}

/// `<vlan>`: tags, trunking and the native tag's mode.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vlan {
    /// `trunk='yes'` (implied by more than one tag).
    pub trunk: bool,
    /// The `<tag id>` values in order.
    pub tags: Vec<u32>,
    /// The tag carrying `nativeMode` and that mode (`tagged`/`untagged`).
    pub native: Option<(u32, &'static str)>,
}

impl Vlan {
    /// Parses `<vlan>` with libvirt's checks.
    pub fn parse(e: &Element) -> Result<Vlan, XmlError> {
        let mut v = Vlan::default();
        for t in e.children_named("tag") {
            let id = prop::uint(t, "id")?.ok_or_else(|| prop::missing(t, "id"))?;
            if id > 4095 {
                return Err(xml_err(&format!(
                    "vlan tag id {id} too large (maximum 4095)"
                )));
            }
            if let Some(m) = prop::word(t, "nativeMode", &["tagged", "untagged"])? {
                if v.native.is_some() {
                    return Err(xml_err("duplicate native vlan setting"));
                }
                v.native = Some((id, m));
            }
            v.tags.push(id);
        }
        if v.tags.is_empty() {
            return Err(xml_err(
                "missing tag id - each <vlan> must have at least one <tag id='n'/> subelement",
            ));
        }
        v.trunk = v.tags.len() > 1;
        if let Some(t) = e.attr("trunk").filter(|t| !t.is_empty()) {
            v.trunk = t.eq_ignore_ascii_case("yes");
            if !v.trunk {
                v.check_no_trunk(t)?;
            }
        }
        Ok(v)
    }

    fn check_no_trunk(&self, t: &str) -> Result<(), XmlError> {
        if self.tags.len() > 1 {
            return Err(xml_err(&format!(
                "invalid \"trunk='{t}'\" in <vlan> - trunk='yes' is required for more than one vlan tag"
            )));
        }
        if self.native.is_some() {
            return Err(xml_err(
                "invalid configuration in <vlan> - \"trunk='no'\" is not allowed with a native vlan id",
            ));
        }
        if !t.eq_ignore_ascii_case("no") {
            return Err(xml_err(&format!(
                "invalid \"trunk='{t}'\" in <vlan> - must be yes or no"
            )));
        }
        Ok(())
    }

    /// Writes `<vlan>` as libvirt does.
    pub fn write(&self, out: &mut Out) {
        let a = if self.trunk {
            Attrs::new().add("trunk", "yes")
        } else {
            Attrs::new()
        };
        out.open("vlan", &a);
        for &id in &self.tags {
            let mut a = Attrs::new().add("id", id);
            if let Some((_, m)) = self.native.filter(|n| n.0 == id) {
                a = a.add("nativeMode", m);
            }
            out.empty("tag", &a);
        }
        out.close("vlan");
    }
}

/// Virtual port types libvirt knows, in its order (the first is "none").
const VPORT_TYPES: [&str; 5] = ["none", "802.1Qbg", "802.1Qbh", "openvswitch", "midonet"];

/// `<virtualport>`: a port profile of an external switch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VirtualPort {
    /// `type`; `None` when not given (allowed in port groups and interfaces).
    pub kind: Option<&'static str>,
    /// `managerid` (802.1Qbg).
    pub manager_id: Option<u8>,
    /// `typeid` (802.1Qbg, 24 bits).
    pub type_id: Option<u32>,
    /// `typeidversion` (802.1Qbg).
    pub type_id_version: Option<u8>,
    /// `instanceid` (802.1Qbg).
    pub instance_id: Option<Uuid>,
    /// `profileid` (802.1Qbh, openvswitch).
    pub profile_id: Option<String>,
    /// `interfaceid` (openvswitch, midonet).
    pub interface_id: Option<Uuid>,
}

fn vport_number(
    p: &Element,
    key: &str,
    max: u32,
    range_msg: &str,
) -> Result<Option<u32>, XmlError> {
    let Some(v) = p.attr(key) else {
        return Ok(None);
    };
    let n = prop::to_u32(v, 0)
        .ok_or_else(|| xml_err(&format!("cannot parse value of {key} parameter")))?;
    if n > max {
        return Err(xml_err(range_msg));
    }
    Ok(Some(n))
}

fn vport_uuid(p: &Element, key: &str) -> Result<Option<Uuid>, XmlError> {
    p.attr(key)
        .map(|v| {
            Uuid::parse(v).map_err(|_| xml_err(&format!("cannot parse {key} parameter as a uuid")))
        })
        .transpose()
}

impl VirtualPort {
    /// Parses `<virtualport>`; `require_type` refuses one without a type (a network's
    /// own). `None` when nothing at all is set.
    pub fn parse(e: &Element, require_type: bool) -> Result<VirtualPort, XmlError> {
        let mut v = VirtualPort::default();
        if let Some(t) = e.attr("type") {
            match VPORT_TYPES[1..].iter().find(|k| **k == t) {
                Some(k) => v.kind = Some(*k),
                None => return Err(unsupported(format!("unknown virtualport type {t}"))),
            }
        }
        if v.kind.is_none() && require_type {
            return Err(xml_err("missing required virtualport type"));
        }
        if let Some(p) = e.child("parameters") {
            v.parse_parameters(p)?;
        }
        v.check_no_extras()?;
        Ok(v)
    }

    fn parse_parameters(&mut self, p: &Element) -> Result<(), XmlError> {
        self.manager_id =
            vport_number(p, "managerid", 0xff, "value of managerid out of range")?.map(|n| n as u8);
        self.type_id = vport_number(p, "typeid", 0xff_ffff, "value for typeid out of range")?;
        self.type_id_version = vport_number(
            p,
            "typeidversion",
            0xff,
            "value of typeidversion out of range",
        )?
        .map(|n| n as u8);
        self.instance_id = vport_uuid(p, "instanceid")?;
        if let Some(id) = p.attr("profileid") {
            if id.len() >= 40 {
                return Err(xml_err("profileid parameter too long"));
            }
            self.profile_id = (!id.is_empty()).then(|| id.to_string());
        }
        self.interface_id = vport_uuid(p, "interfaceid")?;
        Ok(())
    }

    /// Refuses parameters the type has no use for, as libvirt does.
    fn check_no_extras(&self) -> Result<(), XmlError> {
        let Some(kind) = self.kind else {
            return Ok(());
        };
        let set = [
            ("managerid", self.manager_id.is_some()),
            ("typeid", self.type_id.is_some()),
            ("typeidversion", self.type_id_version.is_some()),
            ("instanceid", self.instance_id.is_some()),
            ("profileid", self.profile_id.is_some()),
            ("interfaceid", self.interface_id.is_some()),
        ];
        let refused: &[&str] = match kind {
            "802.1Qbg" => &["profileid", "interfaceid"],
            "802.1Qbh" => &[
                "managerid",
                "typeid",
                "typeidversion",
                "instanceid",
                "interfaceid",
            ],
            _ => &["managerid", "typeid", "typeidversion", "instanceid"],
        };
        match set.iter().find(|(k, on)| *on && refused.contains(k)) {
            Some((k, _)) => Err(XmlError::reported(
                XML_ERROR,
                Some(FROM_NET),
                format!("XML error: extra {k} unsupported in <virtualport type='{kind}'>"),
            )),
            None => Ok(()),
        }
    }

    /// Writes `<virtualport>` as libvirt does: only the parameters its type uses.
    pub fn write(&self, out: &mut Out) {
        let any = self.manager_id.is_some()
            || self.type_id.is_some()
            || self.type_id_version.is_some()
            || self.instance_id.is_some()
            || self.profile_id.is_some()
            || self.interface_id.is_some();
        let k = self.kind.unwrap_or("none");
        let a = Attrs::new().opt("type", self.kind);
        if !any {
            if self.kind.is_some() {
                out.empty("virtualport", &a);
            }
            return;
        }
        let qbg = matches!(k, "802.1Qbg" | "none");
        let iface = matches!(k, "midonet" | "openvswitch" | "none");
        let profile = matches!(k, "openvswitch" | "802.1Qbh" | "none");
        let p = Attrs::new()
            .opt("managerid", self.manager_id.filter(|_| qbg))
            .opt("typeid", self.type_id.filter(|_| qbg))
            .opt("typeidversion", self.type_id_version.filter(|_| qbg))
            .opt("instanceid", self.instance_id.filter(|_| qbg))
            .opt("interfaceid", self.interface_id.filter(|_| iface))
            .opt("profileid", self.profile_id.as_ref().filter(|_| profile));
        out.open("virtualport", &a);
        out.empty("parameters", &p);
        out.close("virtualport");
    }

    /// True when it says nothing (no type, no parameter): libvirt writes nothing.
    pub fn is_empty(&self) -> bool {
        *self == VirtualPort::default()
    }
}
