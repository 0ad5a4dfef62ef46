//! Virtual network XML: `<network>`.

use crate::domain::normalize_mac;
use crate::out::{Attrs, Out};
use crate::tree::{num, parse_root, Element};
use crate::{Uuid, XmlError};

/// A DHCP static host entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DhcpHost {
    /// `mac`.
    pub mac: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `ip`.
    pub ip: Option<String>,
}

/// One `<ip>` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkIp {
    /// `family` (ipv4/ipv6).
    pub family: Option<String>,
    /// `address`.
    pub address: Option<String>,
    /// `netmask`.
    pub netmask: Option<String>,
    /// `prefix`.
    pub prefix: Option<u32>,
    /// `<tftp root>`.
    pub tftp_root: Option<String>,
    /// `<dhcp><range start end>` pairs.
    pub dhcp_ranges: Vec<(String, String)>,
    /// `<dhcp><host>` entries.
    pub dhcp_hosts: Vec<DhcpHost>,
    /// `<dhcp><bootp file>`.
    pub bootp_file: Option<String>,
    /// `<dhcp><bootp server>`.
    pub bootp_server: Option<String>,
}

/// A network definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDef {
    /// `<name>`.
    pub name: String,
    /// `<uuid>`, generated when absent.
    pub uuid: Uuid,
    /// `<bridge name>`.
    pub bridge: Option<String>,
    /// `<bridge stp>` (default on).
    pub stp: bool,
    /// `<bridge delay>`.
    pub delay: u64,
    /// `<forward mode>`; `None` is an isolated network. `<forward/>` means nat.
    pub forward_mode: Option<String>,
    /// `<forward dev>`.
    pub forward_dev: Option<String>,
    /// `<forward><interface dev>` entries.
    pub forward_interfaces: Vec<String>,
    /// `<mtu size>`.
    pub mtu: Option<u32>,
    /// `<mac address>`.
    pub mac: Option<String>,
    /// `<domain name>`.
    pub domain_name: Option<String>,
    /// `<ip>` blocks.
    pub ips: Vec<NetworkIp>,
}

const MODES: [&str; 9] = [
    "nat",
    "route",
    "open",
    "bridge",
    "private",
    "vepa",
    "passthrough",
    "hostdev",
    "none",
];

impl NetworkDef {
    /// Parses a `<network>` document.
    pub fn parse(xml: &str) -> Result<NetworkDef, XmlError> {
        NetworkDef::from_element(&parse_root(xml, "network")?)
    }

    /// Parses a `<network>` document, validating it against libvirt's schema first when
    /// `opts` asks for it.
    pub fn parse_with(xml: &str, opts: crate::ParseOptions) -> Result<NetworkDef, XmlError> {
        let e = crate::schema::parse_root_with(xml, "network", crate::Schema::Network, opts)?;
        NetworkDef::from_element(&e)
    }

    /// Builds a definition from a parsed `<network>` element.
    pub fn from_element(e: &Element) -> Result<NetworkDef, XmlError> {
        let name = e
            .child_text("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| XmlError::MissingElement("network/name".into()))?;
        // libvirt's network parser refuses '/' alone, as an illegal character.
        XmlError::check_illegal_chars("name", &name, &['/'])?;
        let uuid = match e.child_text("uuid") {
            Some(u) => Uuid::parse(&u).map_err(|_| XmlError::invalid("network/uuid", u))?,
            None => Uuid::random(),
        };
        let br = e.child("bridge");
        let mut n = NetworkDef {
            name,
            uuid,
            bridge: br.and_then(|b| b.attr_s("name")),
            stp: match br.and_then(|b| b.attr("stp")) {
                None | Some("on") => true,
                Some("off") => false,
                Some(x) => return Err(XmlError::invalid("network/bridge/@stp", x)),
            },
            delay: match br {
                Some(b) => b.attr_num("network/bridge", "delay")?.unwrap_or(0),
                None => 0,
            },
            forward_mode: None,
            forward_dev: None,
            forward_interfaces: Vec::new(),
            mtu: match e.child("mtu") {
                Some(m) => m.attr_num("network/mtu", "size")?,
                None => None,
            },
            mac: e
                .child("mac")
                .and_then(|m| m.attr("address"))
                .map(normalize_mac)
                .transpose()?,
            domain_name: e.child("domain").and_then(|d| d.attr_s("name")),
            ips: e
                .children_named("ip")
                .map(parse_ip)
                .collect::<Result<_, _>>()?,
        };
        if let Some(f) = e.child("forward") {
            n.parse_forward(f)?;
        }
        Ok(n)
    }

    fn parse_forward(&mut self, f: &Element) -> Result<(), XmlError> {
        let mode = f.attr("mode").unwrap_or("nat");
        if !MODES.contains(&mode) {
            return Err(XmlError::invalid("network/forward/@mode", mode));
        }
        self.forward_mode = (mode != "none").then(|| mode.to_string());
        self.forward_interfaces = f
            .children_named("interface")
            .filter_map(|i| i.attr_s("dev"))
            .collect();
        self.forward_dev = f
            .attr_s("dev")
            .or_else(|| self.forward_interfaces.first().cloned());
        if let (Some(d), true) = (&self.forward_dev, self.forward_interfaces.is_empty()) {
            self.forward_interfaces.push(d.clone());
        }
        Ok(())
    }

    /// True when the network owns a bridge libvirt configures (none, nat, route, open).
    fn has_bridge(&self) -> bool {
        matches!(
            self.forward_mode.as_deref(),
            None | Some("nat" | "route" | "open")
        )
    }

    /// Formats the definition as libvirt does.
    pub fn to_xml(&self) -> String {
        let mut out = Out::new();
        out.open("network", &Attrs::new());
        out.text("name", &Attrs::new(), &self.name);
        out.text("uuid", &Attrs::new(), &self.uuid.to_string());
        if let Some(mode) = &self.forward_mode {
            let a = Attrs::new()
                .opt("dev", self.forward_dev.as_ref())
                .add("mode", mode);
            out.element_always("forward", &a, |o| {
                for i in &self.forward_interfaces {
                    o.empty("interface", &Attrs::new().add("dev", i));
                }
            });
        }
        if self.has_bridge() || self.bridge.is_some() {
            let mut a = Attrs::new().opt("name", self.bridge.as_ref());
            if self.has_bridge() {
                a = a
                    .add("stp", if self.stp { "on" } else { "off" })
                    .add("delay", self.delay);
            }
            out.empty("bridge", &a);
        }
        if let Some(m) = self.mtu {
            out.empty("mtu", &Attrs::new().add("size", m));
        }
        if let Some(m) = &self.mac {
            out.empty("mac", &Attrs::new().add("address", m));
        }
        if let Some(d) = &self.domain_name {
            out.empty("domain", &Attrs::new().add("name", d));
        }
        for ip in &self.ips {
            write_ip(&mut out, ip);
        }
        out.close("network");
        out.finish()
    }
}

fn parse_ip(e: &Element) -> Result<NetworkIp, XmlError> {
    let p = "network/ip";
    let mut ip = NetworkIp {
        family: e.attr_s("family"),
        address: e.attr_s("address"),
        netmask: e.attr_s("netmask"),
        prefix: e
            .attr("prefix")
            .map(|v| num(&format!("{p}/@prefix"), v))
            .transpose()?,
        tftp_root: e.child("tftp").and_then(|t| t.attr_s("root")),
        ..NetworkIp::default()
    };
    if let Some(d) = e.child("dhcp") {
        let dp = format!("{p}/dhcp");
        for r in d.children_named("range") {
            let get = |k: &str| {
                r.attr_s(k)
                    .ok_or_else(|| XmlError::MissingElement(format!("{dp}/range/@{k}")))
            };
            ip.dhcp_ranges.push((get("start")?, get("end")?));
        }
        for h in d.children_named("host") {
            ip.dhcp_hosts.push(DhcpHost {
                mac: h.attr_s("mac"),
                name: h.attr_s("name"),
                ip: h.attr_s("ip"),
            });
        }
        if let Some(b) = d.child("bootp") {
            ip.bootp_file = b.attr_s("file");
            ip.bootp_server = b.attr_s("server");
        }
    }
    Ok(ip)
}

fn write_ip(out: &mut Out, ip: &NetworkIp) {
    let a = Attrs::new()
        .opt("family", ip.family.as_ref())
        .opt("address", ip.address.as_ref())
        .opt("netmask", ip.netmask.as_ref())
        .opt("prefix", ip.prefix);
    out.open("ip", &a);
    if let Some(t) = &ip.tftp_root {
        out.empty("tftp", &Attrs::new().add("root", t));
    }
    if !ip.dhcp_ranges.is_empty() || !ip.dhcp_hosts.is_empty() {
        out.open("dhcp", &Attrs::new());
        for (s, e) in &ip.dhcp_ranges {
            out.empty("range", &Attrs::new().add("start", s).add("end", e));
        }
        for h in &ip.dhcp_hosts {
            let a = Attrs::new()
                .opt("mac", h.mac.as_ref())
                .opt("name", h.name.as_ref())
                .opt("ip", h.ip.as_ref());
            out.empty("host", &a);
        }
        if let Some(f) = &ip.bootp_file {
            let a = Attrs::new()
                .add("file", f)
                .opt("server", ip.bootp_server.as_ref());
            out.empty("bootp", &a);
        }
        out.close("dhcp");
    }
    out.close("ip");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_virsh(s: &str) -> String {
        let body = s.split_once('\n').map(|x| x.1).unwrap_or("");
        let end = body
            .rfind("\n\n[exit=")
            .expect("fixture has an exit marker");
        format!("{}\n", &body[..end])
    }

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/compat/virsh-testdriver/net-dumpxml-default.txt"
    ));

    const DEFAULT_TEST_NET: &str = "<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>";

    #[test]
    fn fixture_round_trip() {
        let want = strip_virsh(FIXTURE);
        let n = NetworkDef::parse(&want).unwrap();
        assert_eq!(n.to_xml(), want);
        assert_eq!(n.forward_mode.as_deref(), Some("nat"));
        assert_eq!(n.bridge.as_deref(), Some("virbr0"));
        let d = NetworkDef::parse(DEFAULT_TEST_NET).unwrap();
        assert_eq!(d.to_xml(), want);
    }

    #[test]
    fn isolated_and_forward_dev() {
        let n = NetworkDef::parse("<network><name>iso</name><uuid>004b22212d78c30f5aa5f03c87d21e69</uuid><bridge name='brpriv'/><ip address='10.0.0.1' prefix='24'/></network>").unwrap();
        assert_eq!(
            n.to_xml(),
            "<network>\n  <name>iso</name>\n  <uuid>004b2221-2d78-c30f-5aa5-f03c87d21e69</uuid>\n  <bridge name='brpriv' stp='on' delay='0'/>\n  <ip address='10.0.0.1' prefix='24'>\n  </ip>\n</network>\n"
        );
        let f =
            NetworkDef::parse("<network><name>f</name><forward dev='eth0'/></network>").unwrap();
        assert!(f.to_xml().contains(
            "  <forward dev='eth0' mode='nat'>\n    <interface dev='eth0'/>\n  </forward>\n"
        ));
        let b = NetworkDef::parse(
            "<network><name>b</name><forward mode='bridge'/><bridge name='br0'/></network>",
        )
        .unwrap();
        assert!(b.to_xml().contains("<bridge name='br0'/>"));
        assert_eq!(NetworkDef::parse(&b.to_xml()).unwrap(), b);
    }

    #[test]
    fn errors() {
        assert_eq!(
            NetworkDef::parse(
                "<network><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid></network>"
            ),
            Err(XmlError::MissingElement("network/name".into()))
        );
        // Unknown elements are ignored, as libvirt does without a validate flag.
        assert!(NetworkDef::parse("<network><name>x</name><frob/></network>").is_ok());
        assert!(
            NetworkDef::parse("<network><name>x</name><forward mode='warp'/></network>").is_err()
        );
        assert!(matches!(
            NetworkDef::parse("<network>"),
            Err(XmlError::Malformed(_))
        ));
    }

    #[test]
    fn names_with_slash_are_refused_as_libvirt_does() {
        let e = NetworkDef::parse("<network><name>a/b</name></network>").unwrap_err();
        assert_eq!(e.to_string(), "invalid char in name: /");
        assert_eq!(e.code(), crate::XML_DETAIL);
        assert_eq!(
            NetworkDef::parse("<network><name>a\nb</name></network>")
                .unwrap()
                .name,
            "a\nb"
        );
    }
}
