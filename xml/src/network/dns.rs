//! A network's `<dns>`: forwarders, TXT and SRV records and host entries, with the
//! checks and wording of libvirt's network parser.

use std::net::IpAddr;

use super::{addr, prop};
use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::XmlError;

/// `<forwarder>`: where (some) queries go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarder {
    /// `domain`: only queries for this domain.
    pub domain: Option<String>,
    /// `addr`: the server.
    pub addr: Option<IpAddr>,
}

/// `<txt>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txt {
    /// `name`.
    pub name: String,
    /// `value`.
    pub value: String,
}

/// `<srv>`; numbers are 0 when unset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Srv {
    /// `service`.
    pub service: String,
    /// `protocol`.
    pub protocol: String,
    /// `domain`.
    pub domain: Option<String>,
    /// `target`.
    pub target: Option<String>,
    /// `port`.
    pub port: u32,
    /// `priority`.
    pub priority: u32,
    /// `weight`.
    pub weight: u32,
}

/// `<host>`: names for one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsHost {
    /// `ip`.
    pub ip: IpAddr,
    /// `<hostname>` texts, as written.
    pub hostnames: Vec<String>,
}

/// `<dns>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dns {
    /// `enable`.
    pub enable: Option<bool>,
    /// `forwardPlainNames`.
    pub forward_plain_names: Option<bool>,
    /// `<forwarder>`s.
    pub forwarders: Vec<Forwarder>,
    /// `<txt>` records.
    pub txts: Vec<Txt>,
    /// `<srv>` records.
    pub srvs: Vec<Srv>,
    /// `<host>` entries.
    pub hosts: Vec<DnsHost>,
}

const PROTOCOL_CHARS: &str = "-+/";
const SERVICE_CHARS: &str = "_-+/*";

fn word_chars(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

impl Dns {
    /// Parses `<dns>` of network `net`.
    pub fn parse(e: &Element, net: &str) -> Result<Dns, XmlError> {
        let mut d = Dns {
            enable: prop::yes_no(e, "enable")?,
            forward_plain_names: prop::yes_no(e, "forwardPlainNames")?,
            ..Dns::default()
        };
        for f in e.children_named("forwarder") {
            d.forwarders.push(parse_forwarder(f, net)?);
        }
        for h in e.children_named("host") {
            d.hosts.push(parse_host(h, net)?);
        }
        for s in e.children_named("srv") {
            d.srvs.push(parse_srv(s, net)?);
        }
        for t in e.children_named("txt") {
            d.txts.push(parse_txt(t, net)?);
        }
        let extra = !(d.forwarders.is_empty()
            && d.hosts.is_empty()
            && d.srvs.is_empty()
            && d.txts.is_empty());
        if d.enable == Some(false) && extra {
            return Err(XmlError::xml(format!(
                "Extra data in disabled network '{net}'"
            )));
        }
        Ok(d)
    }

    fn has_records(&self) -> bool {
        !(self.forwarders.is_empty()
            && self.txts.is_empty()
            && self.srvs.is_empty()
            && self.hosts.is_empty())
    }

    /// Writes `<dns>` as libvirt does; nothing when it says nothing.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .opt("enable", self.enable.map(prop::yn))
            .opt("forwardPlainNames", self.forward_plain_names.map(prop::yn));
        if !self.has_records() {
            if !a.is_empty() {
                out.empty("dns", &a);
            }
            return;
        }
        out.open("dns", &a);
        for f in &self.forwarders {
            let a = Attrs::new()
                .opt("domain", f.domain.as_ref())
                .opt("addr", f.addr);
            out.empty("forwarder", &a);
        }
        for t in &self.txts {
            out.empty(
                "txt",
                &Attrs::new().add("name", &t.name).add("value", &t.value),
            );
        }
        for s in &self.srvs {
            let nz = |v: u32| (v != 0).then_some(v);
            let a = Attrs::new()
                .add("service", &s.service)
                .add("protocol", &s.protocol)
                .opt("domain", s.domain.as_ref())
                .opt("target", s.target.as_ref())
                .opt("port", nz(s.port))
                .opt("priority", nz(s.priority))
                .opt("weight", nz(s.weight));
            out.empty("srv", &a);
        }
        for h in &self.hosts {
            out.open("host", &Attrs::new().add("ip", h.ip));
            for n in &h.hostnames {
                out.text("hostname", &Attrs::new(), n);
            }
            out.close("host");
        }
        out.close("dns");
    }
}

fn parse_forwarder(f: &Element, net: &str) -> Result<Forwarder, XmlError> {
    let addr = match f.attr("addr") {
        Some(a) => Some(addr::parse(a).ok_or_else(|| {
            XmlError::xml(format!(
                "Invalid forwarder IP address '{a}' in network '{net}'"
            ))
        })?),
        None => None,
    };
    let domain = f.attr_s("domain");
    if addr.is_none() && domain.is_none() {
        return Err(XmlError::xml(
            "Invalid forwarder element, must contain at least one of addr or domain",
        ));
    }
    Ok(Forwarder { domain, addr })
}

pub fn parse_host(h: &Element, net: &str) -> Result<DnsHost, XmlError> {
    let missing_name = || {
        XmlError::detail(format!(
            "Missing hostname in network '{net}' DNS HOST record"
        ))
    };
    let mut hostnames = Vec::new();
    for n in h.children_named("hostname") {
        if n.text.is_empty() {
            return Err(missing_name());
        }
        hostnames.push(n.text.clone());
    }
    if hostnames.is_empty() {
        return Err(missing_name());
    }
    let ip = match h.attr("ip") {
        Some(a) => addr::parse(a).ok_or_else(|| {
            XmlError::detail(format!(
                "Invalid IP address in network '{net}' DNS HOST record"
            ))
        })?,
        None => {
            return Err(XmlError::detail(format!(
                "Missing IP address in network '{net}' DNS HOST record"
            )))
        }
    };
    Ok(DnsHost { ip, hostnames })
}

pub fn parse_srv(s: &Element, net: &str) -> Result<Srv, XmlError> {
    let Some(service) = s.attr_s("service") else {
        return Err(XmlError::detail(format!(
            "missing required service attribute in DNS SRV record of network '{net}'"
        )));
    };
    if !word_chars(&service, SERVICE_CHARS) {
        return Err(XmlError::detail(format!(
            "invalid character in service attribute '{service}' in DNS SRV record of network '{net}'"
        )));
    }
    let Some(protocol) = s.attr_s("protocol") else {
        return Err(XmlError::detail(format!(
            "missing required protocol attribute in DNS SRV record '{service}' of network '{net}'"
        )));
    };
    if !word_chars(&protocol, PROTOCOL_CHARS) {
        return Err(XmlError::detail(format!(
            "invalid character in protocol attribute '{protocol}' in DNS SRV record of network '{net}'"
        )));
    }
    let mut srv = Srv {
        service,
        protocol,
        domain: s.attr_s("domain"),
        target: s.attr_s("target"),
        ..Srv::default()
    };
    srv.port = srv_num(s, "port", 1, &srv, net, "invalid")?;
    srv.priority = srv_num(s, "priority", 0, &srv, net, "Invalid")?;
    srv.weight = srv_num(s, "weight", 0, &srv, net, "invalid")?;
    Ok(srv)
}

fn srv_num(
    s: &Element,
    key: &str,
    min: u32,
    srv: &Srv,
    net: &str,
    word: &str,
) -> Result<u32, XmlError> {
    let Some(v) = s.attr(key).filter(|v| !v.is_empty()) else {
        return Ok(0);
    };
    let n = prop::to_u32(v, 10);
    if n.is_some() && srv.target.is_none() {
        return Err(XmlError::detail(format!(
            "DNS SRV {key} attribute not permitted without target for service '{}' in network '{net}'",
            srv.service
        )));
    }
    match n {
        Some(n) if (min..=65535).contains(&n) => Ok(n),
        _ => Err(XmlError::detail(format!(
            "{word} DNS SRV {key} attribute for service '{}' in network '{net}'",
            srv.service
        ))),
    }
}

pub fn parse_txt(t: &Element, net: &str) -> Result<Txt, XmlError> {
    let Some(name) = t.attr_s("name") else {
        return Err(XmlError::detail(format!(
            "missing required name attribute in DNS TXT record of network {net}"
        )));
    };
    if name.contains([' ', ',']) {
        return Err(XmlError::detail(format!(
            "prohibited character in DNS TXT record name '{name}' of network {net}"
        )));
    }
    let Some(value) = t.attr_s("value") else {
        return Err(XmlError::detail(format!(
            "missing required value attribute in DNS TXT record named '{name}' of network {net}"
        )));
    };
    Ok(Txt { name, value })
}
