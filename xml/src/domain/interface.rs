//! `<interface>` devices.

use super::disk::spec_children;
use super::info::DeviceInfo;
use crate::out::{Attrs, Out};
use crate::spec::{attr, leaf, node, Spec, Value};
use crate::tree::Element;
use crate::XmlError;

const IT: Value = Value::Text;
const U: Value = Value::Unsigned;

const RATE: &[crate::spec::AttrSpec] = &[
    attr("average", U),
    attr("peak", U),
    attr("floor", U),
    attr("burst", U),
];

const OFFLOADS: &[crate::spec::AttrSpec] = &[
    attr("csum", Value::OnOff),
    attr("gso", Value::OnOff),
    attr("tso4", Value::OnOff),
    attr("tso6", Value::OnOff),
    attr("ecn", Value::OnOff),
    attr("ufo", Value::OnOff),
    attr("mrg_rxbuf", Value::OnOff),
];

/// Children libvirt writes after `<source>`, before `<script>`.
const AFTER_SOURCE: &[Spec] = &[
    Spec {
        name: "vlan",
        attrs: &[attr("trunk", Value::YesNo)],
        children: &[leaf("tag", &[attr("id", U), attr("nativeMode", IT)])],
        text: None,
    },
    Spec {
        name: "virtualport",
        attrs: &[attr("type", IT)],
        children: &[leaf(
            "parameters",
            &[
                attr("managerid", IT),
                attr("typeid", IT),
                attr("typeidversion", IT),
                attr("instanceid", IT),
                attr("interfaceid", IT),
                attr("profileid", IT),
            ],
        )],
        text: None,
    },
    node(
        "bandwidth",
        &[leaf("inbound", RATE), leaf("outbound", RATE)],
    ),
    leaf("port", &[attr("isolated", Value::YesNo)]),
    leaf(
        "ip",
        &[
            attr("address", IT),
            attr("family", IT),
            attr("prefix", U),
            attr("peer", IT),
        ],
    ),
    leaf(
        "route",
        &[
            attr("family", IT),
            attr("address", IT),
            attr("netmask", IT),
            attr("prefix", U),
            attr("gateway", IT),
            attr("metric", U),
        ],
    ),
];

/// Children libvirt writes after `<script>`/`<downscript>`, before `<target>`.
const AFTER_SCRIPT: &[Spec] = &[leaf("backenddomain", &[attr("name", IT)])];

/// Children libvirt writes after `<model>`, before `<link>`.
const AFTER_MODEL: &[Spec] = &[
    Spec {
        name: "driver",
        attrs: &[
            attr("name", IT),
            attr("txmode", IT),
            attr("ioeventfd", Value::OnOff),
            attr("event_idx", Value::OnOff),
            attr("queues", U),
            attr("rx_queue_size", U),
            attr("tx_queue_size", U),
            attr("rss", Value::OnOff),
            attr("rss_hash_report", Value::OnOff),
        ],
        children: &[leaf("host", OFFLOADS), leaf("guest", OFFLOADS)],
        text: None,
    },
    leaf("backend", &[attr("tap", IT), attr("vhost", IT)]),
    Spec {
        name: "filterref",
        attrs: &[attr("filter", IT)],
        children: &[leaf("parameter", &[attr("name", IT), attr("value", IT)])],
        text: None,
    },
    node("tune", &[crate::spec::text("sndbuf", U)]),
    leaf("teaming", &[attr("type", IT), attr("persistent", IT)]),
];

/// Children libvirt writes after `<mtu>`.
const AFTER_MTU: &[Spec] = &[node(
    "coalesce",
    &[node("rx", &[leaf("frames", &[attr("max", U)])])],
)];

/// The `<source>` of the types without a network, bridge or device name (vhostuser,
/// mcast, server, client, udp, hostdev, vdpa).
const OTHER_SOURCE: Spec = Spec {
    name: "source",
    attrs: &[
        attr("type", IT),
        attr("path", IT),
        attr("mode", IT),
        attr("address", IT),
        attr("port", IT),
        attr("dev", IT),
    ],
    children: &[
        leaf("local", &[attr("address", IT), attr("port", IT)]),
        leaf(
            "address",
            &[
                attr("type", IT),
                attr("domain", IT),
                attr("bus", IT),
                attr("slot", IT),
                attr("function", IT),
            ],
        ),
    ],
    text: None,
};

/// The interface types libvirt knows.
const TYPES: &[&str] = &[
    "network",
    "bridge",
    "user",
    "ethernet",
    "direct",
    "vhostuser",
    "mcast",
    "server",
    "client",
    "udp",
    "hostdev",
    "vdpa",
    "null",
    "vds",
];

/// The interface types [`OTHER_SOURCE`] describes the source of.
const OTHER_TYPES: &[&str] = &[
    "vhostuser",
    "mcast",
    "server",
    "client",
    "udp",
    "hostdev",
    "vdpa",
];

const ROM: Spec = leaf(
    "rom",
    &[
        attr("enabled", Value::YesNo),
        attr("bar", Value::OnOff),
        attr("file", IT),
    ],
);

/// The network port a running type network interface has (`<source portid>`) and
/// where the network driver plugged it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePort {
    /// The port's UUID.
    pub portid: String,
    pub plug: LivePlug,
}

/// Where a port is plugged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LivePlug {
    /// A tap on this bridge (`<source bridge>`).
    Bridge(String),
    /// A macvtap device on host interface `dev` in `mode` (`<source dev mode>`); the
    /// live XML shows such an interface as `type='direct'`, as libvirt's does.
    Direct { dev: String, mode: String },
}

/// An `<interface>` device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// `type`: network, bridge, user, ethernet, direct.
    pub iface_type: String,
    /// `<mac address>`; generated (52:54:00:...) when absent.
    pub mac: String,
    /// Network name, bridge name or host device, by type.
    pub source: Option<String>,
    /// `portgroup` (type network).
    pub portgroup: Option<String>,
    /// Live state of a type network interface, set by the driver that plugged it and
    /// never read from a definition (libvirt drops it from one): the network port it
    /// has and where that port is plugged in. Only a status document reads it back
    /// ([`Interface::restore_live_port`]).
    pub live_port: Option<LivePort>,
    /// `mode` (type direct).
    pub source_mode: Option<String>,
    /// `<script path>`.
    pub script: Option<String>,
    /// `<target dev>` (host-side device name).
    pub target_dev: Option<String>,
    /// `<model type>`.
    pub model: Option<String>,
    /// `<link state>`.
    pub link_state: Option<String>,
    /// `<mtu size>`.
    pub mtu: Option<u32>,
    /// The `<source>` of a vhostuser, mcast, server, client, udp, hostdev or vdpa
    /// interface, canonical.
    pub vhost_source: Option<Element>,
    /// `managed` (hostdev) and `trustGuestRxFilters`, in libvirt's order.
    pub flags: Vec<(String, String)>,
    /// `<target managed>` (ethernet).
    pub target_managed: Option<String>,
    /// `<downscript path>`.
    pub downscript: Option<String>,
    /// Described children (`<vlan>`, `<bandwidth>`, `<driver>`, `<coalesce>`, ...),
    /// canonical, in libvirt's order.
    pub extras: Vec<Element>,
    /// Boot order, alias, ROM, address.
    pub info: DeviceInfo,
}

impl Interface {
    fn source_attr(&self) -> Option<&'static str> {
        match self.iface_type.as_str() {
            "network" => Some("network"),
            "bridge" => Some("bridge"),
            "direct" => Some("dev"),
            _ => None,
        }
    }

    /// Parses `<interface>`.
    pub fn parse(e: &Element) -> Result<Interface, XmlError> {
        let p = "domain/devices/interface";
        let iface_type = e.attr("type").unwrap_or("user").to_string();
        if !TYPES.contains(&iface_type.as_str()) {
            return Err(XmlError::invalid(format!("{p}/@type"), iface_type));
        }
        let mac =
            match e.child("mac").and_then(|m| m.attr("address")) {
                Some(m) => unicast(normalize_mac(m).map_err(|_| {
                    XmlError::Message(format!("unable to parse mac address '{m}'"))
                })?)?,
                None => random_mac(),
            };
        let mut i = Interface {
            iface_type,
            mac,
            source: None,
            portgroup: None,
            live_port: None,
            source_mode: None,
            script: e.child("script").and_then(|s| s.attr_s("path")),
            target_dev: e.child("target").and_then(|t| t.attr_s("dev")),
            model: e.child("model").and_then(|m| m.attr_s("type")),
            link_state: e.child("link").and_then(|l| l.attr_s("state")),
            mtu: match e.child("mtu") {
                Some(m) => m.attr_num(&format!("{p}/mtu"), "size")?,
                None => None,
            },
            vhost_source: None,
            flags: ["managed", "trustGuestRxFilters"]
                .iter()
                .filter_map(|n| e.attr(n).map(|v| (n.to_string(), v.to_string())))
                .collect(),
            downscript: e.child("downscript").and_then(|s| s.attr_s("path")),
            target_managed: e.child("target").and_then(|t| t.attr_s("managed")),
            extras: Vec::new(),
            info: DeviceInfo::parse(e, p)?,
        };
        i.parse_described(e, p)?;
        if let (Some(s), Some(attr)) = (e.child("source"), i.source_attr()) {
            i.source = s.attr_s(attr);
            i.portgroup = s.attr_s("portgroup").filter(|_| attr == "network");
            i.source_mode = s.attr_s("mode").filter(|_| attr == "dev");
        }
        if matches!(i.iface_type.as_str(), "network" | "bridge" | "direct") && i.source.is_none() {
            return Err(XmlError::Message(format!(
                "interface type='{}' requires a 'source' element",
                i.iface_type
            )));
        }
        if i.iface_type == "direct" && i.source_mode.is_none() {
            i.source_mode = Some("vepa".into());
        }
        Ok(i)
    }

    /// The described parts: ROM, the source of the other types, the extras.
    fn parse_described(&mut self, e: &Element, p: &str) -> Result<(), XmlError> {
        if let Some(r) = e.child("rom") {
            self.info.rom = Some(Box::new(ROM.parse(r, &format!("{p}/rom"))?));
        }
        if OTHER_TYPES.contains(&self.iface_type.as_str()) {
            if let Some(s) = e.child("source") {
                let mut x = OTHER_SOURCE.parse(s, &format!("{p}/source"))?;
                for a in x.children.iter_mut().filter(|c| c.name == "address") {
                    super::generic::pci_source(a);
                }
                self.vhost_source = Some(x);
            }
        }
        // libvirt 9.0 knows no backend type (passt came later).
        if let Some(t) = e.child("backend").and_then(|b| b.attr("type")) {
            return Err(XmlError::Message(format!(
                "Invalid value for attribute 'type' in element 'backend': '{t}'."
            )));
        }
        let sndbuf = e.child("tune").and_then(|t| t.child("sndbuf"));
        if sndbuf.is_some_and(|b| b.text.parse::<u64>().is_err()) {
            return Err(XmlError::Message(
                "sndbuf must be a positive integer".into(),
            ));
        }
        for group in [AFTER_SOURCE, AFTER_SCRIPT, AFTER_MODEL, AFTER_MTU] {
            self.extras.extend(spec_children(e, group, p)?);
        }
        self.extras
            .retain(|x| !(x.name == "backend" && x.attrs.is_empty()));
        self.fill_defaults();
        Ok(())
    }

    /// libvirt's defaults: an IP's family, an Open vSwitch port's interface id.
    fn fill_defaults(&mut self) {
        for x in self.extras.iter_mut() {
            match x.name.as_str() {
                "ip" if x.attr("family").is_none() => {
                    let fam = match x.attr("address") {
                        Some(a) if a.contains(':') => "ipv6",
                        _ => "ipv4",
                    };
                    let at = usize::from(x.attr("address").is_some());
                    x.attrs.insert(at, ("family".into(), fam.into()));
                }
                "virtualport" if x.attr("type") == Some("openvswitch") => {
                    if !x.children.iter().any(|c| c.name == "parameters") {
                        x.children.push(Element {
                            name: "parameters".into(),
                            ..Element::default()
                        });
                    }
                    for p in x.children.iter_mut().filter(|c| c.name == "parameters") {
                        if p.attr("interfaceid").is_none() {
                            let id = crate::Uuid::random().to_string();
                            let at = p.attrs.iter().position(|(k, _)| k == "profileid");
                            p.attrs
                                .insert(at.unwrap_or(p.attrs.len()), ("interfaceid".into(), id));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn write_extras(&self, out: &mut Out, group: &[Spec]) {
        for x in &self.extras {
            if group.iter().any(|s| s.name == x.name) {
                x.write(out);
            }
        }
    }

    /// The type the live XML shows: a network interface plugged as a macvtap is
    /// `direct`, as libvirt shows it.
    fn shown_type(&self) -> &str {
        match &self.live_port {
            Some(LivePort {
                plug: LivePlug::Direct { .. },
                ..
            }) if self.iface_type == "network" => "direct",
            _ => &self.iface_type,
        }
    }

    /// Writes `<source>`, with the live port's attributes when there is one.
    fn write_source(&self, out: &mut Out) {
        let (Some(attr), Some(src)) = (self.source_attr(), &self.source) else {
            return;
        };
        let (mut portid, mut bridge, mut dev, mut mode) = (None, None, None, None);
        if let Some(lp) = &self.live_port {
            portid = Some(&lp.portid);
            match &lp.plug {
                LivePlug::Bridge(b) => bridge = Some(b),
                LivePlug::Direct { dev: d, mode: m } => (dev, mode) = (Some(d), Some(m)),
            }
        }
        let a = Attrs::new()
            .add(attr, src)
            .opt("portgroup", self.portgroup.as_ref())
            .opt("portid", portid)
            .opt("bridge", bridge)
            .opt("dev", dev)
            .opt("mode", mode.or(self.source_mode.as_ref()));
        out.empty("source", &a);
    }

    /// Reads back the live port a status document recorded for this interface
    /// (`e`, as [`Interface::write`] wrote it): `<source network portid bridge>`, or a
    /// `direct` one with `network`, `portid`, `dev` and `mode`.
    pub fn restore_live_port(&mut self, e: &Element) {
        let Some(s) = e.child("source") else {
            return;
        };
        let (Some(net), Some(portid)) = (s.attr_s("network"), s.attr_s("portid")) else {
            return;
        };
        let plug = match (s.attr_s("bridge"), s.attr_s("dev")) {
            (Some(b), _) => LivePlug::Bridge(b),
            (None, Some(dev)) => LivePlug::Direct {
                dev,
                mode: s.attr_s("mode").unwrap_or_else(|| "vepa".into()),
            },
            (None, None) => return,
        };
        self.iface_type = "network".into();
        self.source = Some(net);
        self.source_mode = None;
        self.live_port = Some(LivePort { portid, plug });
    }

    /// Writes `<interface>`.
    pub fn write(&self, out: &mut Out) {
        let mut a = Attrs::new().add("type", self.shown_type());
        for (k, v) in &self.flags {
            a = a.add(k, v);
        }
        out.open("interface", &a);
        out.empty("mac", &Attrs::new().add("address", &self.mac));
        self.write_source(out);
        if let Some(v) = &self.vhost_source {
            v.write(out);
        }
        self.write_extras(out, AFTER_SOURCE);
        if let Some(s) = &self.script {
            out.empty("script", &Attrs::new().add("path", s));
        }
        if let Some(s) = &self.downscript {
            out.empty("downscript", &Attrs::new().add("path", s));
        }
        self.write_extras(out, AFTER_SCRIPT);
        if let Some(t) = &self.target_dev {
            let a = Attrs::new()
                .add("dev", t)
                .opt("managed", self.target_managed.as_ref());
            out.empty("target", &a);
        }
        if let Some(m) = &self.model {
            out.empty("model", &Attrs::new().add("type", m));
        }
        self.write_extras(out, AFTER_MODEL);
        if let Some(l) = &self.link_state {
            out.empty("link", &Attrs::new().add("state", l));
        }
        if let Some(m) = self.mtu {
            out.empty("mtu", &Attrs::new().add("size", m));
        }
        self.write_extras(out, AFTER_MTU);
        self.info.write(out, true);
        out.close("interface");
    }
}

/// Refuses a multicast MAC for a guest interface, like libvirt.
fn unicast(mac: String) -> Result<String, XmlError> {
    let first = u8::from_str_radix(&mac[..2], 16).unwrap_or(0);
    if first & 1 == 1 {
        return Err(XmlError::Message(format!(
            "expected unicast mac address, found multicast '{mac}'"
        )));
    }
    Ok(mac)
}

/// Validates a MAC address and lower-cases it.
pub fn normalize_mac(m: &str) -> Result<String, XmlError> {
    let parts: Vec<&str> = m.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if !ok {
        return Err(XmlError::invalid(
            "domain/devices/interface/mac/@address",
            m,
        ));
    }
    Ok(parts
        .iter()
        .map(|p| format!("{:02x}", u8::from_str_radix(p, 16).unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(":"))
}

/// A random MAC with libvirt's 52:54:00 prefix.
pub fn random_mac() -> String {
    let b = crate::Uuid::random().0;
    format!("52:54:00:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    #[test]
    fn interface_round_trip() {
        let x = "<interface type='bridge'>\n  <mac address='52:54:00:12:34:56'/>\n  <source bridge='br0'/>\n  <target dev='vnet0'/>\n  <model type='virtio'/>\n</interface>\n";
        let i = Interface::parse(&parse_document(x).unwrap()).unwrap();
        let mut o = Out::new();
        i.write(&mut o);
        assert_eq!(o.finish(), x);
        let u = Interface::parse(&parse_document("<interface type='user'/>").unwrap()).unwrap();
        assert!(u.mac.starts_with("52:54:00:"));
        assert!(normalize_mac("zz:00:00:00:00:00").is_err());
    }

    /// A live port is written as libvirt's live XML shows it and a status document
    /// gives it back; a definition never does.
    #[test]
    fn live_ports_are_written_and_restored() {
        let x = "<interface type='network'><mac address='52:54:00:12:34:56'/>\
                 <source network='n' portid='p' bridge='virbr0'/></interface>";
        let e = parse_document(x).unwrap();
        let mut i = Interface::parse(&e).unwrap();
        assert_eq!(i.live_port, None);
        i.restore_live_port(&e);
        let want = LivePort {
            portid: "p".into(),
            plug: LivePlug::Bridge("virbr0".into()),
        };
        assert_eq!(i.live_port, Some(want));
        i.live_port = Some(LivePort {
            portid: "p".into(),
            plug: LivePlug::Direct {
                dev: "eth0".into(),
                mode: "private".into(),
            },
        });
        let mut o = Out::new();
        i.write(&mut o);
        let text = o.finish();
        assert!(text.starts_with("<interface type='direct'>"), "{text}");
        let src = "<source network='n' portid='p' dev='eth0' mode='private'/>";
        assert!(text.contains(src), "{text}");
        let e = parse_document(&text).unwrap();
        let mut back = Interface::parse(&e).unwrap();
        back.restore_live_port(&e);
        assert_eq!(back, i);
    }
}
