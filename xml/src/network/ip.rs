//! A network's `<ip>` blocks: address, netmask or prefix, TFTP root and DHCP (ranges with
//! leases, static hosts, BOOTP), with libvirt's checks and wording.

use std::net::IpAddr;

use super::addr::{self, Net};
use super::prop;
use crate::domain::normalize_mac;
use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::XmlError;

/// A DHCP lease time: `expiry` 0 is infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// `expiry`.
    pub expiry: u64,
    /// `unit` (`seconds`, `minutes`, `hours`).
    pub unit: &'static str,
}

/// A `<dhcp><range>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpRange {
    /// `start`.
    pub start: IpAddr,
    /// `end`.
    pub end: IpAddr,
    /// `<lease>`.
    pub lease: Option<Lease>,
}

/// A DHCP static host entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DhcpHost {
    /// `mac`, as written.
    pub mac: Option<String>,
    /// `id` (a DHCP client id).
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `ip`.
    pub ip: Option<IpAddr>,
    /// `<lease>`.
    pub lease: Option<Lease>,
}

/// One `<ip>` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkIp {
    /// `family` as written (`ipv4`/`ipv6`).
    pub family: Option<String>,
    /// `address`.
    pub address: IpAddr,
    /// `netmask`.
    pub netmask: Option<IpAddr>,
    /// `prefix`; 0 is unset.
    pub prefix: u32,
    /// `localPtr`.
    pub local_ptr: Option<bool>,
    /// `<tftp root>`.
    pub tftp_root: Option<String>,
    /// `<dhcp><range>`s.
    pub dhcp_ranges: Vec<DhcpRange>,
    /// `<dhcp><host>` entries.
    pub dhcp_hosts: Vec<DhcpHost>,
    /// `<dhcp><bootp file>` (IPv4).
    pub bootp_file: Option<String>,
    /// `<dhcp><bootp server>`.
    pub bootp_server: Option<IpAddr>,
}

impl NetworkIp {
    /// The prefix libvirt works with (given, from the netmask, or natural).
    pub fn effective_prefix(&self) -> Option<u32> {
        addr::effective_prefix(&self.address, self.netmask.as_ref(), self.prefix)
    }

    /// Parses one `<ip>` of network `net`.
    pub fn parse(e: &Element, net: &str) -> Result<NetworkIp, XmlError> {
        let family = e.attr_s("family").filter(|f| !f.is_empty());
        let a = e.attr("address").filter(|a| !a.is_empty()).ok_or_else(|| {
            XmlError::xml(format!(
                "Missing required address attribute in network '{net}'"
            ))
        })?;
        let address = addr::parse(a)
            .ok_or_else(|| XmlError::xml(format!("Invalid address '{a}' in network '{net}'")))?;
        let mask_s = e.attr("netmask").filter(|m| !m.is_empty());
        let netmask = match mask_s {
            Some(m) => Some(addr::parse(m).ok_or_else(|| {
                XmlError::xml(format!("Invalid netmask '{m}' in network '{net}'"))
            })?),
            None => None,
        };
        let mut ip = NetworkIp {
            family,
            address,
            netmask,
            prefix: prop::uint(e, "prefix")?.unwrap_or(0),
            local_ptr: prop::yes_no(e, "localPtr")?,
            tftp_root: None,
            dhcp_ranges: Vec::new(),
            dhcp_hosts: Vec::new(),
            bootp_file: None,
            bootp_server: None,
        };
        ip.check_family(a, mask_s, net)?;
        if let Some(d) = e.child("dhcp") {
            ip.parse_dhcp(d, net)?;
        }
        if let Some(t) = e.child("tftp") {
            if !ip.address.is_ipv4() {
                return Err(XmlError::unsupported(format!(
                    "Unsupported <tftp> element in an IPv6 element in network '{net}'"
                )));
            }
            ip.tftp_root = t.attr_s("root").filter(|r| !r.is_empty());
        }
        Ok(ip)
    }

    fn check_family(&self, a: &str, mask: Option<&str>, net: &str) -> Result<(), XmlError> {
        let u = XmlError::unsupported;
        match self.family.as_deref() {
            None | Some("ipv4") => {
                if !self.address.is_ipv4() {
                    let f = if self.family.is_some() { "ipv4" } else { "no" };
                    return Err(u(format!(
                        "{f} family specified for non-IPv4 address '{a}' in network '{net}'"
                    )));
                }
                if let (Some(m), Some(nm)) = (mask, self.netmask) {
                    if !nm.is_ipv4() {
                        return Err(u(format!("Invalid netmask '{m}' for address '{a}' in network '{net}' (both must be IPv4)")));
                    }
                    if self.prefix > 0 {
                        return Err(u(format!(
                            "Network '{net}' IP address cannot have both a prefix and a netmask"
                        )));
                    }
                } else if self.prefix > 32 {
                    return Err(u(format!(
                        "Invalid IPv4 prefix '{}' in network '{net}'",
                        self.prefix
                    )));
                }
            }
            Some("ipv6") => {
                if self.address.is_ipv4() {
                    return Err(u(format!(
                        "Family 'ipv6' specified for non-IPv6 address '{a}' in network '{net}'"
                    )));
                }
                if mask.is_some() {
                    return Err(u(format!(
                        "netmask not allowed for IPv6 address '{a}' in network '{net}'"
                    )));
                }
                if self.prefix > 128 {
                    return Err(u(format!(
                        "Invalid IPv6 prefix '{}' in network '{net}'",
                        self.prefix
                    )));
                }
            }
            Some(f) => {
                return Err(XmlError::xml(format!(
                    "Unrecognized family '{f}' in network '{net}'"
                )))
            }
        }
        Ok(())
    }

    fn parse_dhcp(&mut self, d: &Element, net: &str) -> Result<(), XmlError> {
        for r in d.children_named("range") {
            let r = self.parse_range(r, net)?;
            self.dhcp_ranges.push(r);
        }
        for h in d.children_named("host") {
            let h = self.parse_host(h, net)?;
            self.dhcp_hosts.push(h);
        }
        // libvirt 9.0 takes a BOOTP entry for IPv4 only, and only with a file.
        let bootp = d.child("bootp").filter(|_| self.address.is_ipv4());
        if let Some((b, f)) = bootp.and_then(|b| b.attr_s("file").map(|f| (b, f))) {
            self.bootp_file = Some(f);
            if let Some(s) = b.attr("server") {
                self.bootp_server = Some(addr::parse_or_system(s)?);
            }
        }
        Ok(())
    }

    pub fn parse_range(&self, r: &Element, net: &str) -> Result<DhcpRange, XmlError> {
        let get = |k: &str| {
            let v = r.attr(k).ok_or_else(|| {
                XmlError::xml(format!(
                    "Missing '{k}' attribute in dhcp range for network '{net}'"
                ))
            })?;
            addr::parse_or_system(v)
        };
        let start = get("start")?;
        let end = get("end")?;
        let n = Net {
            address: &self.address,
            prefix: self.effective_prefix(),
        };
        addr::check_range(&start, &end, Some(n))?;
        let lease = r.child("lease").map(parse_lease).transpose()?.flatten();
        Ok(DhcpRange { start, end, lease })
    }

    pub fn parse_host(&self, h: &Element, net: &str) -> Result<DhcpHost, XmlError> {
        let v6 = !self.address.is_ipv4();
        let mac = h.attr_s("mac");
        if let Some(m) = &mac {
            check_host_mac(m, v6, net)?;
        }
        let id = h.attr_s("id");
        if let Some(id) = &id {
            if let Some(c) = id.chars().find(|c| !(c.is_ascii_hexdigit() || *c == ':')) {
                return Err(XmlError::xml(format!(
                    "Invalid character '{c}' in id '{id}' of network '{net}'"
                )));
            }
        }
        let name = h.attr_s("name");
        if let Some(n) = &name {
            if !n.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                return Err(XmlError::xml(format!(
                    "Cannot use host name '{n}' in network '{net}'"
                )));
            }
        }
        let ip = match h.attr("ip") {
            Some(a) => Some(addr::parse(a).ok_or_else(|| {
                XmlError::xml(format!(
                    "Invalid IP address in static host definition for network '{net}'"
                ))
            })?),
            None => None,
        };
        if v6 && id.is_none() && name.is_none() {
            return Err(XmlError::xml(format!(
                "Static host definition in IPv6 network '{net}' must have id or name attribute"
            )));
        }
        if !v6 && mac.is_none() && name.is_none() {
            return Err(XmlError::xml(format!(
                "Static host definition in IPv4 network '{net}' must have mac or name attribute"
            )));
        }
        if ip.is_none() {
            return Err(XmlError::xml(format!(
                "Missing IP address in static host definition for network '{net}'"
            )));
        }
        let lease = h.child("lease").map(parse_lease).transpose()?.flatten();
        Ok(DhcpHost {
            mac,
            id,
            name,
            ip,
            lease,
        })
    }

    /// Writes `<ip>` as libvirt does.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .opt("family", self.family.as_ref())
            .add("address", self.address)
            .opt("netmask", self.netmask)
            .opt("prefix", (self.prefix > 0).then_some(self.prefix))
            .opt("localPtr", self.local_ptr.map(prop::yn));
        out.open("ip", &a);
        if let Some(t) = &self.tftp_root {
            out.empty("tftp", &Attrs::new().add("root", t));
        }
        if !self.dhcp_ranges.is_empty() || !self.dhcp_hosts.is_empty() {
            self.write_dhcp(out);
        }
        out.close("ip");
    }

    fn write_dhcp(&self, out: &mut Out) {
        out.open("dhcp", &Attrs::new());
        for r in &self.dhcp_ranges {
            let a = Attrs::new().add("start", r.start).add("end", r.end);
            with_lease(out, "range", &a, r.lease);
        }
        for h in &self.dhcp_hosts {
            let a = Attrs::new()
                .opt("mac", h.mac.as_ref())
                .opt("id", h.id.as_ref())
                .opt("name", h.name.as_ref())
                .opt("ip", h.ip);
            with_lease(out, "host", &a, h.lease);
        }
        if let Some(f) = &self.bootp_file {
            let a = Attrs::new().add("file", f).opt("server", self.bootp_server);
            out.empty("bootp", &a);
        }
        out.close("dhcp");
    }
}

fn check_host_mac(m: &str, v6: bool, net: &str) -> Result<(), XmlError> {
    if v6 {
        return Err(XmlError::xml(format!(
            "Invalid to specify MAC address '{m}' in network '{net}' IPv6 static host definition"
        )));
    }
    let n = normalize_mac(m)
        .map_err(|_| XmlError::xml(format!("Cannot parse MAC address '{m}' in network '{net}'")))?;
    if is_multicast(&n) {
        return Err(XmlError::xml(format!(
            "expected unicast mac address, found multicast '{m}' in network '{net}'"
        )));
    }
    Ok(())
}

/// Whether a normalised MAC has the group bit set.
pub fn is_multicast(mac: &str) -> bool {
    u8::from_str_radix(&mac[..2], 16).is_ok_and(|b| b & 1 == 1)
}

fn with_lease(out: &mut Out, name: &str, a: &Attrs, lease: Option<Lease>) {
    let Some(l) = lease else {
        out.empty(name, a);
        return;
    };
    out.open(name, a);
    let la = if l.expiry == 0 {
        Attrs::new().add("expiry", 0)
    } else {
        Attrs::new().add("expiry", l.expiry).add("unit", l.unit)
    };
    out.empty("lease", &la);
    out.close(name);
}

/// Parses `<lease>`; `None` without `expiry`.
fn parse_lease(l: &Element) -> Result<Option<Lease>, XmlError> {
    let Some(expiry) = prop::ulonglong(l, "expiry")? else {
        return Ok(None);
    };
    let unit = prop::word(l, "unit", &["seconds", "minutes", "hours"])?.unwrap_or("minutes");
    let short = match unit {
        "seconds" => expiry < 120,
        "minutes" => expiry < 2,
        _ => false,
    };
    if expiry > 0 && short {
        return Err(XmlError::unsupported(
            "The minimum lease time should be greater than 2 minutes",
        ));
    }
    Ok(Some(Lease { expiry, unit }))
}
