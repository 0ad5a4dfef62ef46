//! Static routes (`<route>`) and port groups (`<portgroup>`) of a network.

use std::net::IpAddr;

use super::addr;
use super::netdev::{Bandwidth, VirtualPort, Vlan};
use super::prop;
use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::XmlError;

/// A static route through a gateway on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `family` as written.
    pub family: Option<String>,
    /// `address`: the destination network.
    pub address: IpAddr,
    /// `netmask`.
    pub netmask: Option<IpAddr>,
    /// `prefix`.
    pub prefix: Option<u32>,
    /// `gateway`.
    pub gateway: IpAddr,
    /// `metric` (never 0).
    pub metric: Option<u32>,
}

impl Route {
    /// Parses `<route>` of network `net`, with libvirt's checks (each message starts
    /// with the network's name).
    pub fn parse(e: &Element, net: &str) -> Result<Route, XmlError> {
        let err = |m: String| XmlError::xml(format!("{net}: {m}"));
        let family = e.attr_s("family");
        let prefix = prop::uint(e, "prefix")?;
        let metric = prop::uint_nonzero(e, "metric")?;
        let attr = |k: &str| e.attr(k);
        let a = attr("address")
            .ok_or_else(|| err("Missing required address attribute in route definition".into()))?;
        let g = attr("gateway")
            .ok_or_else(|| err("Missing required gateway attribute in route definition".into()))?;
        let address = addr::parse(a)
            .ok_or_else(|| err(format!("Bad network address '{a}' in route definition")))?;
        let gateway = addr::parse(g)
            .ok_or_else(|| err(format!("Bad gateway address '{g}' in route definition")))?;
        let mut r = Route {
            family,
            address,
            netmask: None,
            prefix,
            gateway,
            metric,
        };
        r.check_family(a, g, attr("netmask"), &err)?;
        let network = match r.netmask {
            Some(m) => addr::mask_with(&r.address, &m),
            None => addr::mask_by_prefix(&r.address, r.prefix.unwrap_or(0)),
        };
        if network != Some(r.address) {
            return Err(err(format!(
                "Address '{a}' in route definition is not a network address"
            )));
        }
        Ok(r)
    }

    fn check_family(
        &mut self,
        a: &str,
        g: &str,
        mask: Option<&str>,
        err: &dyn Fn(String) -> XmlError,
    ) -> Result<(), XmlError> {
        match self.family.as_deref() {
            None | Some("ipv4") => self.check_v4(a, mask, err),
            Some("ipv6") => self.check_v6(a, g, mask, err),
            Some(f) => Err(err(format!(
                "Unrecognized family '{f}' in route definition"
            ))),
        }
    }

    fn check_v4(
        &mut self,
        a: &str,
        mask: Option<&str>,
        err: &dyn Fn(String) -> XmlError,
    ) -> Result<(), XmlError> {
        let prefix = self.prefix.unwrap_or(0);
        let what = if self.family.is_none() { "No" } else { "IPv4" };
        if !self.address.is_ipv4() {
            return Err(err(format!(
                "{what} family specified for non-IPv4 address '{a}' in route definition"
            )));
        }
        if !self.gateway.is_ipv4() {
            // libvirt names the address here, not the gateway.
            return Err(err(format!(
                "{what} family specified for non-IPv4 gateway '{a}' in route definition"
            )));
        }
        if let Some(m) = mask {
            let nm = addr::parse(m)
                .ok_or_else(|| err(format!("Bad netmask address '{m}' in route definition")))?;
            if !nm.is_ipv4() {
                return Err(err(format!(
                    "Invalid netmask '{m}' for address '{a}' (both must be IPv4)"
                )));
            }
            if self.prefix.is_some() {
                return Err(err(
                    "Route definition cannot have both a prefix and a netmask".into(),
                ));
            }
            self.netmask = Some(nm);
        }
        if prefix > 32 {
            return Err(err(format!(
                "Invalid prefix {prefix} specified in route definition, must be 0 - 32"
            )));
        }
        Ok(())
    }

    fn check_v6(
        &self,
        a: &str,
        g: &str,
        mask: Option<&str>,
        err: &dyn Fn(String) -> XmlError,
    ) -> Result<(), XmlError> {
        let prefix = self.prefix.unwrap_or(0);
        if self.address.is_ipv4() {
            return Err(err(format!(
                "ipv6 family specified for non-IPv6 address '{a}' in route definition"
            )));
        }
        if mask.is_some() {
            return Err(err(format!(
                "Specifying netmask invalid for IPv6 address '{a}' in route definition"
            )));
        }
        if self.gateway.is_ipv4() {
            return Err(err(format!(
                "ipv6 specified for non-IPv6 gateway address '{g}' in route definition"
            )));
        }
        if prefix > 128 {
            return Err(err(format!(
                "Invalid prefix {prefix} specified in route definition, must be 0 - 128"
            )));
        }
        Ok(())
    }

    /// Writes `<route>` as libvirt does.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .opt("family", self.family.as_ref())
            .add("address", self.address)
            .opt("netmask", self.netmask)
            .opt("prefix", self.prefix)
            .add("gateway", self.gateway)
            .opt("metric", self.metric);
        out.empty("route", &a);
    }
}

/// A `<portgroup>`: settings a domain interface can pick by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortGroup {
    /// `name`.
    pub name: String,
    /// `default='yes'`.
    pub default: bool,
    /// `trustGuestRxFilters`.
    pub trust_guest_rx_filters: Option<bool>,
    /// `<vlan>`.
    pub vlan: Option<Vlan>,
    /// `<virtualport>`.
    pub virtualport: Option<VirtualPort>,
    /// `<bandwidth>`.
    pub bandwidth: Option<Bandwidth>,
}

impl PortGroup {
    /// Parses `<portgroup>`.
    pub fn parse(e: &Element) -> Result<PortGroup, XmlError> {
        let name = e
            .attr_s("name")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| XmlError::xml("Missing required name attribute in portgroup"))?;
        let default = e
            .attr("default")
            .is_some_and(|d| d.eq_ignore_ascii_case("yes"));
        let trust_guest_rx_filters = prop::yes_no(e, "trustGuestRxFilters")?;
        let virtualport = e
            .child("virtualport")
            .map(|v| VirtualPort::parse(v, false))
            .transpose()?
            .filter(|v| !v.is_empty());
        let bandwidth = match e.child("bandwidth") {
            Some(b) => Bandwidth::parse(b, false)?,
            None => None,
        };
        let vlan = e.child("vlan").map(Vlan::parse).transpose()?;
        Ok(PortGroup {
            name,
            default,
            trust_guest_rx_filters,
            vlan,
            virtualport,
            bandwidth,
        })
    }

    /// Writes `<portgroup>` as libvirt does.
    pub fn write(&self, out: &mut Out) {
        let a = Attrs::new()
            .add("name", &self.name)
            .opt("default", self.default.then_some("yes"))
            .opt(
                "trustGuestRxFilters",
                self.trust_guest_rx_filters.map(prop::yn),
            );
        out.open("portgroup", &a);
        if let Some(v) = &self.vlan {
            v.write(out);
        }
        if let Some(v) = &self.virtualport {
            v.write(out);
        }
        if let Some(b) = &self.bandwidth {
            b.write(out);
        }
        out.close("portgroup");
    }
}
