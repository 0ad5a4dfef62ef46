//! Network ports (`<networkport>`): a guest interface's connection to a virtual network,
//! as a network driver creates it (`virNetworkPortCreateXML`), keeps it and reports it
//! (`virNetworkPortGetXMLDesc`). Read with libvirt 9.0's rules and wording and written in
//! its canonical form.
//!
//! A driver parses the caller's document, fills in what it decides at plug time (the
//! [`Plug`] of a port created without one, an Open vSwitch `interfaceid`, values
//! inherited from the network or its port group) and formats the result.

use super::forward::{parse_pci, PciAddress};
use super::netdev::{Bandwidth, Rate, VirtualPort, Vlan};
use super::prop;
use crate::domain::normalize_mac;
use crate::out::{Attrs, Out};
use crate::secret::content;
use crate::tree::Element;
use crate::{ParseOptions, Schema, Uuid, XmlError};

use rvirt_protocol::error::code::{INTERNAL_ERROR, XML_ERROR};
use rvirt_protocol::error::domain::{NETWORK as FROM_NETWORK, NONE as FROM_NONE};

/// `macTableManager` values, in libvirt's order (the first, "default", is refused).
const MAC_TABLE_MANAGERS: [&str; 3] = ["default", "kernel", "libvirt"];
/// `mode` of a direct (macvtap) plug, in libvirt's order (the first is the default).
const DIRECT_MODES: [&str; 4] = ["vepa", "private", "bridge", "passthrough"];
/// `<driver name>` of a PCI hostdev plug (the first, "default", is refused).
const PCI_DRIVERS: [&str; 3] = ["default", "kvm", "vfio"];
/// `<plug type>` values, in libvirt's order (the first is no plug).
const PLUG_TYPES: [&str; 5] = ["none", "network", "bridge", "direct", "hostdev-pci"];

/// How the port is connected on the host: libvirt's `<plug>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plug {
    /// `network`: a tap device on the network's own bridge.
    Network {
        /// `bridge`.
        bridge: String,
        /// `macTableManager` (`kernel` or `libvirt`); `None` is the default.
        mac_table_manager: Option<&'static str>,
    },
    /// `bridge`: a tap device on a host bridge the network forwards to.
    Bridge {
        /// `bridge`.
        bridge: String,
        /// `macTableManager`.
        mac_table_manager: Option<&'static str>,
    },
    /// `direct`: a macvtap device on a host interface.
    Direct {
        /// `dev`.
        dev: String,
        /// `mode` (one of vepa, private, bridge, passthrough).
        mode: &'static str,
    },
    /// `hostdev-pci`: an SR-IOV function passed to the guest.
    HostdevPci {
        /// `managed`.
        managed: bool,
        /// `<driver name>` (`kvm` or `vfio`).
        driver: Option<&'static str>,
        /// `<address>`.
        address: PciAddress,
    },
}

/// A network port definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPort {
    /// `<uuid>`.
    pub uuid: Uuid,
    /// `<owner><name>`: the domain.
    pub owner_name: String,
    /// `<owner><uuid>`.
    pub owner_uuid: Uuid,
    /// `<group>`: the network's port group.
    pub group: Option<String>,
    /// `<mac address>`, normalised (lower case, two digits a byte).
    pub mac: String,
    /// `<virtualport>`.
    pub virtualport: Option<VirtualPort>,
    /// `<bandwidth>`.
    pub bandwidth: Option<Bandwidth>,
    /// `<bandwidth classID>`: the traffic class of a port with a `floor` (0: none).
    pub class_id: u32,
    /// `<vlan>`.
    pub vlan: Option<Vlan>,
    /// `<port isolated>`.
    pub isolated: Option<bool>,
    /// `<rxfilters trustGuest>`.
    pub trust_guest_rx_filters: Option<bool>,
    /// `<plug>`; `None` until the network driver plugs the port.
    pub plug: Option<Plug>,
}

/// An error of libvirt's port parser (`VIR_FROM_NETWORK`).
fn err(code: i32, text: String) -> XmlError {
    XmlError::reported(code, Some(FROM_NETWORK), text)
}

fn internal(msg: String) -> XmlError {
    err(INTERNAL_ERROR, format!("internal error: {msg}"))
}

fn xml(msg: &str) -> XmlError {
    err(XML_ERROR, format!("XML error: {msg}"))
}

/// XPath's `string()` of the first child `name`: `None` when missing or empty.
fn text(e: Option<&Element>, name: &str) -> Option<String> {
    e?.child_text_raw(name).filter(|t| !t.is_empty())
}

fn uuid(v: &str) -> Result<Uuid, XmlError> {
    Uuid::parse(v).map_err(|_| internal(format!("Unable to parse UUID '{v}'")))
}

/// `<bandwidth>` of a port: `floor` is allowed (the driver checks it at plug time) and so
/// is `classID`.
fn parse_bandwidth(e: &Element) -> Result<(Option<Bandwidth>, u32), XmlError> {
    let class_id = match e.attr("classID") {
        None => 0,
        // Reported by libvirt's shared netdev code, from no error domain.
        Some(v) => prop::to_u32(v, 10).ok_or_else(|| {
            XmlError::reported(
                INTERNAL_ERROR,
                Some(FROM_NONE),
                format!("internal error: Unable to parse class id '{v}'"),
            )
        })?,
    };
    let mut plain = e.clone();
    plain.attrs.retain(|(k, _)| k != "classID");
    Ok((Bandwidth::parse(&plain, true)?, class_id))
}

/// `macTableManager` of a network or bridge plug.
fn mac_table_manager(p: &Element) -> Result<Option<&'static str>, XmlError> {
    let Some(v) = p.attr("macTableManager") else {
        return Ok(None);
    };
    match MAC_TABLE_MANAGERS[1..].iter().find(|m| **m == v) {
        Some(m) => Ok(Some(*m)),
        None => Err(xml(&format!(
            "Invalid macTableManager setting '{v}' in network port"
        ))),
    }
}

fn parse_plug(p: &Element) -> Result<Option<Plug>, XmlError> {
    let Some(kind) = prop::word(p, "type", &PLUG_TYPES)? else {
        return Ok(None);
    };
    let bridge = || {
        p.attr_s("bridge")
            .ok_or_else(|| xml("Missing network port bridge name"))
    };
    Ok(Some(match kind {
        "none" => return Ok(None),
        "network" => Plug::Network {
            bridge: bridge()?,
            mac_table_manager: mac_table_manager(p)?,
        },
        "bridge" => Plug::Bridge {
            bridge: bridge()?,
            mac_table_manager: mac_table_manager(p)?,
        },
        "direct" => {
            let dev = p
                .attr_s("dev")
                .ok_or_else(|| xml("Missing network port link device name"))?;
            let mode = match p.attr("mode") {
                None => DIRECT_MODES[0],
                Some(m) => DIRECT_MODES
                    .iter()
                    .find(|d| **d == m)
                    .ok_or_else(|| xml(&format!("Invalid mode setting '{m}' in network port")))?,
            };
            Plug::Direct { dev, mode }
        }
        _ => parse_hostdev(p)?,
    }))
}

fn parse_hostdev(p: &Element) -> Result<Plug, XmlError> {
    let managed = prop::yes_no(p, "managed")?.unwrap_or(false);
    let driver = match text_attr(p.child("driver"), "name") {
        None => None,
        Some(d) => Some(
            *PCI_DRIVERS[1..]
                .iter()
                .find(|k| **k == d)
                .ok_or_else(|| xml("Missing network port driver name"))?,
        ),
    };
    let a = p
        .child("address")
        .ok_or_else(|| xml("Missing network port PCI address"))?;
    Ok(Plug::HostdevPci {
        managed,
        driver,
        address: parse_pci(a)?,
    })
}

/// XPath's `string(@attr)` of `e`: `None` when missing or empty.
fn text_attr(e: Option<&Element>, attr: &str) -> Option<String> {
    e?.attr_s(attr).filter(|v| !v.is_empty())
}

/// The content checks of `networkport.rng` beyond element names: the required
/// elements, at most one of each, and the datatypes of the identifiers.
fn check_content(root: &Element) -> Result<(), XmlError> {
    use content::*;
    const F: &str = "networkport.rng";
    for name in [
        "group",
        "rxfilters",
        "virtualport",
        "bandwidth",
        "vlan",
        "port",
        "plug",
    ] {
        at_most_one(F, root, name)?;
    }
    text_matches(F, exactly_one(F, root, "uuid")?, is_uuid)?;
    let owner = exactly_one(F, root, "owner")?;
    text_matches(F, exactly_one(F, owner, "name")?, |_| true)?;
    text_matches(F, exactly_one(F, owner, "uuid")?, is_uuid)?;
    let mac = exactly_one(F, root, "mac")?;
    if !mac.attr("address").is_some_and(is_unicast_mac) {
        return Err(fail(F, "Element mac failed to validate attributes"));
    }
    let device_name = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-\\:/".contains(&b))
    };
    if let Some(g) = root.child("group") {
        text_matches(F, g, device_name)?;
    }
    let ok = root.child("vlan").is_none_or(vlan_fits)
        && root.child("bandwidth").is_none_or(bandwidth_fits)
        && root.child("virtualport").is_none_or(virtualport_fits)
        && root.child("plug").is_none_or(|p| plug_fits(p, device_name));
    if !ok {
        return Err(fail(F, "Element networkport failed to validate content"));
    }
    Ok(())
}

/// networkcommon.rng's `<vlan>`: at least one tag, ids up to 4095.
fn vlan_fits(v: &Element) -> bool {
    let tags: Vec<&Element> = v.children_named("tag").collect();
    !tags.is_empty()
        && tags.iter().all(|t| {
            t.attr("id")
                .is_some_and(|id| id.parse::<u32>().is_ok_and(|n| n <= 4095))
        })
}

/// networkcommon.rng's `<bandwidth>`: rates and bursts are positive decimal numbers.
fn bandwidth_fits(b: &Element) -> bool {
    let positive =
        |v: &str| v.bytes().all(|c| c.is_ascii_digit()) && v.parse::<u32>().is_ok_and(|n| n >= 1);
    b.attr("classID").is_none_or(positive)
        && b.children.iter().all(|d| {
            ["average", "peak", "floor", "burst"]
                .iter()
                .all(|k| d.attr(k).is_none_or(positive))
        })
}

/// basictypes.rng's `uint8` and `uint24`: hex with `0x` (at most `digits` digits), or a
/// decimal number up to `max`.
fn uint_fits(v: &str, digits: usize, max: u32) -> bool {
    match v.strip_prefix("0x") {
        Some(h) => !h.is_empty() && h.len() <= digits && h.bytes().all(|b| b.is_ascii_hexdigit()),
        None => v
            .parse::<i64>()
            .is_ok_and(|n| (0..=i64::from(max)).contains(&n)),
    }
}

/// networkcommon.rng's `virtualPortProfile`: the parameters each type allows, in their
/// datatypes; midonet requires its interface ID.
fn virtualport_fits(v: &Element) -> bool {
    let kind = v.attr("type");
    let params = v.child("parameters");
    if kind == Some("midonet") && params.is_none_or(|p| p.attr("interfaceid").is_none()) {
        return false;
    }
    let Some(p) = params else {
        return true;
    };
    let allowed: &[&str] = match kind {
        Some("802.1Qbg") => &["managerid", "typeid", "typeidversion", "instanceid"],
        Some("802.1Qbh") => &["profileid"],
        Some("openvswitch") => &["profileid", "interfaceid"],
        Some("midonet") => &["interfaceid"],
        _ => &[
            "managerid",
            "typeid",
            "typeidversion",
            "instanceid",
            "profileid",
            "interfaceid",
        ],
    };
    p.attrs.iter().all(|(k, val)| {
        allowed.contains(&k.as_str())
            && match k.as_str() {
                "managerid" | "typeidversion" => uint_fits(val, 2, 0xff),
                "typeid" => uint_fits(val, 6, 0xff_ffff),
                "instanceid" | "interfaceid" => content::is_uuid(val),
                _ => val.chars().count() <= 39,
            }
    })
}

/// A PCI address field: hex with an optional `0x` (at most `digits` digits, the first
/// at most `first`), or a decimal number up to `max` (basictypes.rng's `pciaddress`).
fn pci_field_fits(v: &str, digits: usize, first: u8, max: u64) -> bool {
    let h = v.strip_prefix("0x").unwrap_or(v);
    let hex = !h.is_empty()
        && h.len() <= digits
        && h.bytes().all(|b| b.is_ascii_hexdigit())
        && (h.len() < digits || digits == 1 || h.as_bytes()[0] <= first);
    hex || v.parse::<u64>().is_ok_and(|n| n <= max)
}

/// networkport.rng's `<plug>`: the attributes each type requires, in their datatypes.
fn plug_fits(p: &Element, device_name: impl Fn(&str) -> bool) -> bool {
    let name = |k: &str| p.attr(k).is_some_and(&device_name);
    match p.attr("type").unwrap_or("") {
        "network" | "bridge" => name("bridge"),
        "direct" => name("dev") && p.attr("mode").is_some_and(|m| DIRECT_MODES.contains(&m)),
        "hostdev-pci" => {
            let Some(a) = p.child("address") else {
                return false;
            };
            let fits = |k: &str, digits, first, max| {
                a.attr(k)
                    .is_none_or(|v| pci_field_fits(v, digits, first, max))
            };
            fits("domain", 8, b'f', u64::from(u32::MAX))
                && fits("bus", 2, b'f', 255)
                && fits("slot", 2, b'1', 31)
                && a.attr("function").is_none_or(|v| {
                    matches!(v.strip_prefix("0x").unwrap_or(v).as_bytes(), [b'0'..=b'7'])
                        || v.parse::<u8>().is_ok_and(|n| n <= 7)
                })
        }
        _ => false,
    }
}

/// basictypes.rng's `uniMacAddr`: six two-digit hex bytes, the first one even.
fn is_unicast_mac(m: &str) -> bool {
    let parts: Vec<&str> = m.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b % 2 == 0)
}

impl NetworkPort {
    /// Parses a `<networkport>` document.
    pub fn parse(xml: &str) -> Result<NetworkPort, XmlError> {
        NetworkPort::parse_with(xml, ParseOptions::default())
    }

    /// Parses a `<networkport>` document, checking it against libvirt's schema first
    /// when `opts` asks for it (`VIR_NETWORK_PORT_CREATE_VALIDATE`).
    pub fn parse_with(xml: &str, opts: ParseOptions) -> Result<NetworkPort, XmlError> {
        let e = crate::schema::parse_lenient(xml, "networkport", Schema::NetworkPort, opts)?;
        if opts.validate {
            check_content(&e)?;
        }
        NetworkPort::from_element(&e)
    }

    /// Builds a port from a parsed `<networkport>` element, with libvirt's checks in
    /// its order.
    pub fn from_element(e: &Element) -> Result<NetworkPort, XmlError> {
        let port_uuid =
            text(Some(e), "uuid").ok_or_else(|| internal("network port has no uuid".into()))?;
        let port_uuid = uuid(&port_uuid)?;
        let owner = e.child("owner");
        let owner_name =
            text(owner, "name").ok_or_else(|| internal("network port has no owner name".into()))?;
        let owner_uuid =
            text(owner, "uuid").ok_or_else(|| internal("network port has no owner UUID".into()))?;
        let owner_uuid = uuid(&owner_uuid)?;
        let group = text(Some(e), "group");
        let mac = text_attr(e.child("mac"), "address")
            .ok_or_else(|| internal("network port has no mac".into()))?;
        let mac =
            normalize_mac(&mac).map_err(|_| internal(format!("Unable to parse MAC '{mac}'")))?;
        let virtualport = e
            .child("virtualport")
            .map(|v| VirtualPort::parse(v, false))
            .transpose()?;
        let (bandwidth, class_id) = match e.child("bandwidth") {
            Some(b) => parse_bandwidth(b)?,
            None => (None, 0),
        };
        let vlan = e.child("vlan").map(Vlan::parse).transpose()?;
        let isolated = match e.child("port") {
            Some(p) => prop::yes_no(p, "isolated")?,
            None => None,
        };
        let trust_guest_rx_filters = match e.child("rxfilters") {
            Some(r) => prop::yes_no(r, "trustGuest")?,
            None => None,
        };
        let plug = e.child("plug").map(parse_plug).transpose()?.flatten();
        Ok(NetworkPort {
            uuid: port_uuid,
            owner_name,
            owner_uuid,
            group,
            mac,
            virtualport,
            bandwidth,
            class_id,
            vlan,
            isolated,
            trust_guest_rx_filters,
            plug,
        })
    }

    /// Formats the port as libvirt does.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        out.open("networkport", &Attrs::new());
        out.opt_text("uuid", Some(self.uuid));
        out.open("owner", &Attrs::new());
        out.opt_text("name", Some(&self.owner_name));
        out.opt_text("uuid", Some(self.owner_uuid));
        out.close("owner");
        out.opt_text("group", self.group.as_ref());
        out.empty("mac", &Attrs::new().add("address", &self.mac));
        if let Some(v) = &self.virtualport {
            v.write(&mut out);
        }
        if let Some(b) = &self.bandwidth {
            write_bandwidth(&mut out, b, self.class_id);
        }
        if let Some(v) = self.vlan.as_ref().filter(|v| !v.tags.is_empty()) {
            v.write(&mut out);
        }
        if let Some(i) = self.isolated {
            out.empty("port", &Attrs::new().add("isolated", prop::yn(i)));
        }
        if let Some(t) = self.trust_guest_rx_filters {
            out.empty("rxfilters", &Attrs::new().add("trustGuest", prop::yn(t)));
        }
        if let Some(p) = &self.plug {
            write_plug(&mut out, p);
        }
        out.close("networkport");
        out.finish()
    }
}

/// `<bandwidth>` with the port's traffic class, when it has one.
fn write_bandwidth(out: &mut Out, b: &Bandwidth, class_id: u32) {
    if class_id == 0 {
        b.write(out);
        return;
    }
    out.open("bandwidth", &Attrs::new().add("classID", class_id));
    for (name, r) in [("inbound", &b.inbound), ("outbound", &b.outbound)] {
        if let Some(r) = r.filter(|r| r.average != 0 || r.floor != 0) {
            out.empty(name, &rate_attrs(&r));
        }
    }
    out.close("bandwidth");
}

fn rate_attrs(r: &Rate) -> Attrs {
    let nz = |v: u64| (v != 0).then_some(v);
    Attrs::new()
        .opt("average", nz(r.average))
        .opt("peak", nz(r.peak))
        .opt("floor", nz(r.floor))
        .opt("burst", nz(r.burst))
}

fn write_plug(out: &mut Out, p: &Plug) {
    match p {
        Plug::Network {
            bridge,
            mac_table_manager,
        }
        | Plug::Bridge {
            bridge,
            mac_table_manager,
        } => {
            let kind = if matches!(p, Plug::Network { .. }) {
                "network"
            } else {
                "bridge"
            };
            let a = Attrs::new()
                .add("type", kind)
                .add("bridge", bridge)
                .opt("macTableManager", *mac_table_manager);
            out.empty("plug", &a);
        }
        Plug::Direct { dev, mode } => {
            let a = Attrs::new()
                .add("type", "direct")
                .add("dev", dev)
                .add("mode", mode);
            out.empty("plug", &a);
        }
        Plug::HostdevPci {
            managed,
            driver,
            address,
        } => {
            let a = Attrs::new()
                .add("type", "hostdev-pci")
                .add("managed", prop::yn(*managed));
            out.open("plug", &a);
            if let Some(d) = driver {
                out.empty("driver", &Attrs::new().add("name", d));
            }
            let a = Attrs::new()
                .add("domain", format_args!("0x{:04x}", address.domain))
                .add("bus", format_args!("0x{:02x}", address.bus))
                .add("slot", format_args!("0x{:02x}", address.slot))
                .add("function", format_args!("0x{:x}", address.function));
            out.empty("address", &a);
            out.close("plug");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "<networkport><uuid>aaaaaaaa-bbbb-cccc-dddd-000000000001</uuid><owner><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></owner><mac address='52:54:00:AB:cd:1'/>";

    fn port(rest: &str) -> Result<NetworkPort, XmlError> {
        NetworkPort::parse(&format!("{HEAD}{rest}</networkport>"))
    }

    #[test]
    fn every_part_in_libvirts_order() {
        let p = port("<plug type='hostdev-pci' managed='yes'><address domain='0' bus='3' slot='16' function='1'/><driver name='vfio'/></plug><rxfilters trustGuest='no'/><port isolated='yes'/><vlan><tag id='5'/></vlan><bandwidth classID='3'><inbound average='10' floor='5'/></bandwidth><virtualport type='802.1Qbh'><parameters profileid='p'/></virtualport><group>g1</group>").unwrap();
        let want = "<networkport>\n  <uuid>aaaaaaaa-bbbb-cccc-dddd-000000000001</uuid>\n  <owner>\n    <name>g</name>\n    <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n  </owner>\n  <group>g1</group>\n  <mac address='52:54:00:ab:cd:01'/>\n  <virtualport type='802.1Qbh'>\n    <parameters profileid='p'/>\n  </virtualport>\n  <bandwidth classID='3'>\n    <inbound average='10' floor='5'/>\n  </bandwidth>\n  <vlan>\n    <tag id='5'/>\n  </vlan>\n  <port isolated='yes'/>\n  <rxfilters trustGuest='no'/>\n  <plug type='hostdev-pci' managed='yes'>\n    <driver name='vfio'/>\n    <address domain='0x0000' bus='0x03' slot='0x10' function='0x1'/>\n  </plug>\n</networkport>\n";
        assert_eq!(p.to_xml(), want);
        assert_eq!(NetworkPort::parse(want).unwrap(), p);
    }

    #[test]
    fn plugs_and_their_defaults() {
        let p = port("<plug type='direct' dev='eth0'/>").unwrap();
        assert_eq!(
            p.plug,
            Some(Plug::Direct {
                dev: "eth0".into(),
                mode: "vepa"
            })
        );
        let p = port("<plug type='network' bridge='virbr0' macTableManager='libvirt'/>").unwrap();
        assert!(p
            .to_xml()
            .contains("<plug type='network' bridge='virbr0' macTableManager='libvirt'/>"));
        assert_eq!(port("<plug type='none'/>").unwrap().plug, None);
        assert_eq!(port("<plug/>").unwrap().plug, None);
    }

    #[test]
    fn refusals_worded_like_libvirt() {
        let e = |r: Result<NetworkPort, XmlError>| {
            let e = r.unwrap_err();
            (e.code(), e.error_domain(FROM_NETWORK), e.to_string())
        };
        assert_eq!(
            e(NetworkPort::parse("<networkport/>")),
            (1, 19, "internal error: network port has no uuid".into())
        );
        assert_eq!(
            e(port("<plug type='bridge'/>")),
            (27, 19, "XML error: Missing network port bridge name".into())
        );
        assert_eq!(
            e(port("<plug type='tap'/>")),
            (
                27,
                5,
                "XML error: Invalid value for attribute 'type' in element 'plug': 'tap'.".into()
            )
        );
        assert_eq!(
            e(port(
                "<plug type='hostdev-pci'><driver name='default'/><address/></plug>"
            )),
            (27, 19, "XML error: Missing network port driver name".into())
        );
        assert_eq!(
            e(port(
                "<bandwidth classID='x'><inbound average='1'/></bandwidth>"
            )),
            (1, 0, "internal error: Unable to parse class id 'x'".into())
        );
    }

    #[test]
    fn validation_checks_values_too() {
        let v = ParseOptions::validate(true);
        let doc = |rest: &str| {
            format!("<networkport><uuid>aaaaaaaa-bbbb-cccc-dddd-000000000001</uuid><owner><name>g</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid></owner><mac address='52:54:00:11:22:33'/>{rest}</networkport>")
        };
        assert!(NetworkPort::parse_with(&doc(""), v).is_ok());
        let qbg = "<virtualport type='802.1Qbg'><parameters managerid='0xff' typeid='16777215' typeidversion='2'/></virtualport>";
        assert!(NetworkPort::parse_with(&doc(qbg), v).is_ok());
        for bad in [
            "<plug type='direct' dev='eth0'/>",
            "<vlan/>",
            "<group></group>",
            "<bandwidth><inbound average='0'/></bandwidth>",
            "<plug type='hostdev-pci'><address slot='0x20'/></plug>",
            "<virtualport type='802.1Qbg'><parameters managerid='300'/></virtualport>",
            "<virtualport type='802.1Qbg'><parameters typeid='0x1234567'/></virtualport>",
            "<virtualport type='802.1Qbh'><parameters interfaceid='c7a5fdbd-edaf-9455-926a-d65c16db1809'/></virtualport>",
            "<virtualport type='midonet'/>",
            "<virtualport type='openvswitch'><parameters interfaceid='x'/></virtualport>",
        ] {
            let e = NetworkPort::parse_with(&doc(bad), v).unwrap_err();
            assert_eq!(e.code(), crate::XML_INVALID_SCHEMA, "{bad}");
        }
        assert_eq!(
            NetworkPort::parse_with(&doc("").replace("52:54", "53:54"), v)
                .unwrap_err()
                .code(),
            crate::XML_INVALID_SCHEMA
        );
    }
}
