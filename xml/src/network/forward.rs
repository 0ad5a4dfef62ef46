//! A network's `<forward>`: the mode, the devices it may use (interfaces, PCI functions
//! or one physical function) and NAT's address and port ranges.

use std::collections::HashSet;
use std::net::IpAddr;

use super::addr;
use super::prop;
use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::XmlError;

/// Forward modes, in libvirt's order (`none` is an isolated network).
pub const MODES: [&str; 9] = [
    "none",
    "nat",
    "route",
    "open",
    "bridge",
    "private",
    "vepa",
    "passthrough",
    "hostdev",
];

/// A PCI function of a hostdev pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PciAddress {
    /// `domain`.
    pub domain: u32,
    /// `bus`.
    pub bus: u32,
    /// `slot`.
    pub slot: u32,
    /// `function`.
    pub function: u32,
}

/// `<nat>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Nat {
    /// `ipv6`.
    pub ipv6: Option<bool>,
    /// `<address start end>` for SNAT.
    pub addresses: Option<(IpAddr, IpAddr)>,
    /// `<port start end>`.
    pub ports: Option<(u32, u32)>,
}

/// `<forward>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// `mode` (one of [`MODES`] but `none`).
    pub mode: &'static str,
    /// `managed` (hostdev).
    pub managed: bool,
    /// `<driver name>` (`kvm`, `vfio`).
    pub driver: Option<&'static str>,
    /// Network devices: `dev` and `<interface dev>`s, in order.
    pub interfaces: Vec<String>,
    /// Live only, never parsed: how many ports use each of `interfaces` (libvirt's
    /// `<interface connections>`, written where above 0).
    pub connections: Vec<u32>,
    /// `<address type='pci'>` functions.
    pub pci: Vec<PciAddress>,
    /// `<pf dev>`.
    pub pf: Option<String>,
    /// `<nat>`.
    pub nat: Nat,
}

fn pci_field(a: &Element, key: &str) -> Result<u32, XmlError> {
    Ok(prop::uint_radix(a, key, 0)?.unwrap_or(0))
}

/// Parses a PCI address with libvirt's limits (the domain is not limited).
pub(super) fn parse_pci(a: &Element) -> Result<PciAddress, XmlError> {
    let p = PciAddress {
        domain: pci_field(a, "domain")?,
        bus: pci_field(a, "bus")?,
        slot: pci_field(a, "slot")?,
        function: pci_field(a, "function")?,
    };
    let bad = |what: String| {
        XmlError::reported(
            crate::XML_ERROR,
            Some(0),
            format!("XML error: Invalid PCI address {what}"),
        )
    };
    if p.bus > 0xFF {
        return Err(bad(format!("bus='0x{:x}', must be <= 0xFF", p.bus)));
    }
    if p.slot > 0x1F {
        return Err(bad(format!("slot='0x{:x}', must be <= 0x1F", p.slot)));
    }
    if p.function > 7 {
        return Err(bad(format!("function=0x{:x}, must be <= 7", p.function)));
    }
    Ok(p)
}

impl Forward {
    /// Parses `<forward>` of network `net`; `None` for mode `none`.
    pub fn parse(f: &Element, net: &str) -> Result<Option<Forward>, XmlError> {
        let mode =
            match f.attr("mode").filter(|m| !m.is_empty()) {
                None => "nat",
                Some(m) => MODES.iter().find(|x| **x == m).copied().ok_or_else(|| {
                    XmlError::unsupported(format!("unknown forwarding type '{m}'"))
                })?,
            };
        let mut fw = Forward {
            mode,
            managed: f
                .attr("managed")
                .is_some_and(|m| m.eq_ignore_ascii_case("yes")),
            driver: None,
            interfaces: Vec::new(),
            connections: Vec::new(),
            pci: Vec::new(),
            pf: None,
            nat: Nat::default(),
        };
        if let Some(d) = f
            .child("driver")
            .and_then(|d| d.attr("name"))
            .filter(|d| !d.is_empty())
        {
            fw.driver = Some(
                ["kvm", "vfio"]
                    .into_iter()
                    .find(|k| *k == d)
                    .ok_or_else(|| {
                        XmlError::unsupported(format!(
                            "Unknown forward <driver name='{d}'/> in network {net}"
                        ))
                    })?,
            );
        }
        let mut nats = f.children_named("nat");
        if let Some(n) = nats.next() {
            if nats.next().is_some() {
                return Err(XmlError::xml(format!(
                    "Only one <nat> element is allowed in <forward> of network {net}"
                )));
            }
            fw.nat = parse_nat(n, mode, net)?;
        }
        fw.parse_devices(f, net)?;
        Ok((mode != "none").then_some(fw))
    }

    fn parse_devices(&mut self, f: &Element, net: &str) -> Result<(), XmlError> {
        let ifs: Vec<&Element> = f.children_named("interface").collect();
        let addrs: Vec<&Element> = f.children_named("address").collect();
        let pfs: Vec<&Element> = f.children_named("pf").collect();
        let dev = f.attr("dev").filter(|d| !d.is_empty());
        if dev.is_some() && (!addrs.is_empty() || !pfs.is_empty()) {
            // libvirt's own message leaves its format directive unfilled.
            return Err(XmlError::xml("the <forward> 'dev' attribute cannot be used when <address> or <pf> sub-elements are present in network %s"));
        }
        if !ifs.is_empty() || dev.is_some() {
            return self.parse_interfaces(dev, &ifs, net);
        }
        if !addrs.is_empty() {
            // A set, so that long device lists stay linear to check.
            let mut seen = HashSet::new();
            for a in addrs {
                let pci = parse_forward_address(a, net)?;
                if !seen.insert(pci) {
                    return Err(XmlError::xml(format!(
                        "PCI device '{:04x}:{:02x}:{:02x}.{:x}' can only be listed once in network {net}",
                        pci.domain, pci.bus, pci.slot, pci.function
                    )));
                }
                self.pci.push(pci);
            }
            return Ok(());
        }
        match pfs.as_slice() {
            [] => Ok(()),
            [p] => {
                self.pf = Some(p.attr_s("dev").ok_or_else(|| {
                    XmlError::xml(format!(
                        "Missing required dev attribute in <pf> element of network '{net}'"
                    ))
                })?);
                Ok(())
            }
            _ => Err(XmlError::xml(format!(
                "Only one <pf> element is allowed in <forward> of network {net}"
            ))),
        }
    }

    fn parse_interfaces(
        &mut self,
        dev: Option<&str>,
        ifs: &[&Element],
        net: &str,
    ) -> Result<(), XmlError> {
        let mut seen: HashSet<&str> = HashSet::new();
        if let Some(d) = dev {
            self.interfaces.push(d.to_string());
            seen.insert(d);
        }
        for (i, e) in ifs.iter().enumerate() {
            let d = e.attr("dev").ok_or_else(|| {
                XmlError::xml(format!(
                    "Missing required dev attribute in <forward> <interface> element of network {net}"
                ))
            })?;
            if i == 0 && dev.is_some() {
                if Some(d) != dev {
                    return Err(XmlError::xml(format!(
                        "<forward dev='{}'> must match first <interface dev='{d}'/> in network {net}",
                        dev.unwrap_or_default()
                    )));
                }
                continue;
            }
            if !seen.insert(d) {
                return Err(XmlError::xml(format!(
                    "interface '{d}' can only be listed once in network {net}"
                )));
            }
            self.interfaces.push(d.to_string());
        }
        Ok(())
    }

    /// Writes `<forward>` as libvirt does.
    pub fn write(&self, out: &mut Out) {
        let dev = self.interfaces.first().filter(|_| self.pf.is_none());
        let mut a = Attrs::new().opt("dev", dev).add("mode", self.mode);
        if self.mode == "hostdev" {
            a = a.add("managed", prop::yn(self.managed));
        }
        let n = &self.nat;
        let short = self.interfaces.is_empty()
            && self.pci.is_empty()
            && self.pf.is_none()
            && n.addresses.is_none()
            && n.ports.filter(|p| *p != (0, 0)).is_none()
            && self.driver.is_none()
            && n.ipv6.is_none();
        if short {
            out.empty("forward", &a);
            return;
        }
        out.open("forward", &a);
        if let Some(d) = self.driver {
            out.empty("driver", &Attrs::new().add("name", d));
        }
        if self.mode == "nat" {
            write_nat(out, n);
        }
        if let Some(p) = &self.pf {
            out.empty("pf", &Attrs::new().add("dev", p));
        }
        for (k, i) in self.interfaces.iter().enumerate() {
            let used = self.connections.get(k).filter(|n| **n > 0);
            out.empty(
                "interface",
                &Attrs::new().add("dev", i).opt("connections", used),
            );
        }
        for p in &self.pci {
            let a = Attrs::new()
                .add("type", "pci")
                .add("domain", format_args!("0x{:04x}", p.domain))
                .add("bus", format_args!("0x{:02x}", p.bus))
                .add("slot", format_args!("0x{:02x}", p.slot))
                .add("function", format_args!("0x{:x}", p.function));
            out.empty("address", &a);
        }
        out.close("forward");
    }
}

fn parse_forward_address(a: &Element, net: &str) -> Result<PciAddress, XmlError> {
    match a.attr("type") {
        None => Err(XmlError::xml(format!(
            "missing address type in network {net}"
        ))),
        Some("pci") => parse_pci(a),
        Some("none" | "netdev") => Err(XmlError::xml(format!(
            "unsupported address type '{}' in network {net}",
            a.attr("type").unwrap_or_default()
        ))),
        Some(t) => Err(XmlError::unsupported(format!(
            "unknown address type '{t}' in network {net}"
        ))),
    }
}

fn parse_nat(n: &Element, mode: &str, net: &str) -> Result<Nat, XmlError> {
    if mode != "nat" {
        return Err(XmlError::xml(format!(
            "The <nat> element can only be used when <forward> 'mode' is 'nat' in network {net}"
        )));
    }
    let mut nat = Nat {
        ipv6: prop::yes_no(n, "ipv6")?,
        ..Nat::default()
    };
    let addrs: Vec<&Element> = n.children_named("address").collect();
    match addrs.as_slice() {
        [] => {}
        [a] => nat.addresses = Some(parse_nat_address(a, net)?),
        _ => {
            return Err(XmlError::xml(format!(
                "Only one <address> element is allowed in <nat> in <forward> in network {net}"
            )))
        }
    }
    let ports: Vec<&Element> = n.children_named("port").collect();
    match ports.as_slice() {
        [] => {}
        [p] => nat.ports = Some(parse_nat_port(p, net)?),
        _ => {
            return Err(XmlError::xml(format!(
                "Only one <port> element is allowed in <nat> in <forward> in network {net}"
            )))
        }
    }
    Ok(nat)
}

fn parse_nat_address(a: &Element, net: &str) -> Result<(IpAddr, IpAddr), XmlError> {
    let get = |k: &str| {
        a.attr(k).ok_or_else(|| {
            XmlError::xml(format!(
                "missing '{k}' attribute in <address> element in <nat> in <forward> in network {net}"
            ))
        })
    };
    let (s, e) = (get("start")?, get("end")?);
    let v4 = |v: &str, which: &str| {
        addr::parse(v).filter(IpAddr::is_ipv4).ok_or_else(|| {
            XmlError::xml(format!(
                "Bad ipv4 {which} address '{v}' in <nat> in <forward> in network '{net}'"
            ))
        })
    };
    let (start, end) = (v4(s, "start")?, v4(e, "end")?);
    addr::check_range(&start, &end, None)?;
    Ok((start, end))
}

fn parse_nat_port(p: &Element, net: &str) -> Result<(u32, u32), XmlError> {
    let bad = |k: &str| {
        XmlError::detail(format!(
            "Missing or invalid '{k}' attribute in <port> in <nat> in <forward> in network {net}"
        ))
    };
    let num = |k: &str| p.attr(k).and_then(|v| prop::to_u32(v, 10));
    let start = num("start")
        .filter(|s| *s <= 65535)
        .ok_or_else(|| bad("start"))?;
    let end = num("end")
        .filter(|e| *e <= 65535 && *e >= start)
        .ok_or_else(|| bad("end"))?;
    Ok((start, end))
}

fn write_nat(out: &mut Out, n: &Nat) {
    let ports = n.ports.filter(|p| p.0 != 0 || p.1 != 0);
    if n.addresses.is_none() && ports.is_none() && n.ipv6.is_none() {
        return;
    }
    let a = Attrs::new().opt("ipv6", n.ipv6.map(prop::yn));
    if n.addresses.is_none() && ports.is_none() {
        out.empty("nat", &a);
        return;
    }
    out.open("nat", &a);
    if let Some((s, e)) = n.addresses {
        out.empty("address", &Attrs::new().add("start", s).add("end", e));
    }
    if let Some((s, e)) = ports {
        let a = Attrs::new()
            .add("start", s)
            .opt("end", (e != 0).then_some(e));
        out.empty("port", &a);
    }
    out.close("nat");
}
