//! `virNetworkUpdate`: one change to one section of a network's definition, with the
//! matching rules and error texts of libvirt 9.0 (`virsh net-update`).

use std::net::IpAddr;

use rvirt_xml::network::dns::{self, DnsHost, Srv, Txt};
use rvirt_xml::network::{DhcpHost, NetworkDef, PortGroup};
use rvirt_xml::tree::{parse_named, Element};
use rvirt_xml::XmlError;

use crate::error::NetError;

use rvirt_xml::network::update::command::{ADD_FIRST, ADD_LAST, DELETE, MODIFY};
use rvirt_xml::network::update::section::*;
pub use rvirt_xml::network::update::{AFFECT_CONFIG, AFFECT_LIVE};

type R = Result<(), NetError>;

fn invalid(s: String) -> NetError {
    NetError::Invalid(s)
}

/// Applies `command` on `section` with the element `xml` to `def`; `in_use(dev)` counts
/// the ports plugged into forward interface `dev`.
pub fn apply(
    def: &mut NetworkDef,
    command: u32,
    section: u32,
    parent: i32,
    xml: &str,
    in_use: &dyn Fn(&str) -> usize,
) -> R {
    let e = parse_named(xml, "network_update_xml")?;
    let name = def.name.clone();
    let nosup = |s: &str| {
        Err(NetError::NoSupport(format!(
            "can't update '{s}' section of network '{name}'"
        )))
    };
    match section {
        BRIDGE => nosup("bridge"),
        DOMAIN => nosup("domain"),
        IP => nosup("ip"),
        FORWARD => nosup("forward"),
        FORWARD_PF => nosup("forward pf"),
        IP_DHCP_HOST => dhcp_host(def, command, parent, &e),
        IP_DHCP_RANGE => dhcp_range(def, command, parent, &e),
        FORWARD_INTERFACE => forward_interface(def, command, &e, in_use),
        PORTGROUP => portgroup(def, command, &e),
        DNS_HOST => dns_host(def, command, &e),
        DNS_TXT => dns_txt(def, command, &e),
        DNS_SRV => dns_srv(def, command, &e),
        _ => Err(NetError::NoSupport(
            "can't update unrecognized section of network".into(),
        )),
    }
}

fn unknown(command: u32) -> NetError {
    NetError::NoSupport(format!(
        "unrecognized network update command code {command}"
    ))
}

fn check_name(def: &NetworkDef, e: &Element, want: &str) -> R {
    if e.name != want {
        return Err(XmlError::xml(format!(
            "unexpected element <{}>, expecting <{want}>, while updating network '{}'",
            e.name, def.name
        ))
        .into());
    }
    Ok(())
}

/// Adds `x` to `v`, first for ADD_FIRST, else last.
fn add_to<T>(v: &mut Vec<T>, command: u32, x: T) {
    let at = if command == ADD_FIRST { 0 } else { v.len() };
    v.insert(at, x);
}

/// Removes the single entry of `v` at `hits`; `none` and `many` are the errors for no
/// match and for several.
fn remove_single<T>(v: &mut Vec<T>, hits: &[usize], none: String, many: String) -> R {
    match hits {
        [] => Err(invalid(none)),
        [i] => {
            v.remove(*i);
            Ok(())
        }
        _ => Err(invalid(many)),
    }
}

fn is_add(command: u32) -> bool {
    matches!(command, ADD_FIRST | ADD_LAST)
}

/// The `<ip>` whose DHCP part an update changes: by index, or the one with DHCP, or
/// the first IPv4, or the first IPv6.
fn ip_index(def: &NetworkDef, parent: i32) -> Result<usize, NetError> {
    let n = &def.name;
    if parent >= 0 {
        return if (parent as usize) < def.ips.len() {
            Ok(parent as usize)
        } else {
            Err(invalid(format!("couldn't update dhcp host entry - no <ip> element found at index {parent} in network '{n}'")))
        };
    }
    let ips = &def.ips;
    ips.iter()
        .position(|i| !i.dhcp_ranges.is_empty() || !i.dhcp_hosts.is_empty())
        .or_else(|| ips.iter().position(|i| i.address.is_ipv4()))
        .or_else(|| ips.iter().position(|i| i.address.is_ipv6()))
        .ok_or_else(|| {
            invalid(format!(
                "couldn't update dhcp host entry - no <ip> element found in network '{n}'"
            ))
        })
}

fn check_multi_dhcp(def: &NetworkDef, idx: usize) -> R {
    let v4 = def.ips[idx].address.is_ipv4();
    let other = def.ips.iter().enumerate().any(|(i, ip)| {
        i != idx
            && ip.address.is_ipv4() == v4
            && !(ip.dhcp_ranges.is_empty() && ip.dhcp_hosts.is_empty())
    });
    if other {
        let f = if v4 { "IPv4" } else { "IPv6" };
        return Err(invalid(format!(
            "dhcp is supported only for a single {f} address on each network"
        )));
    }
    Ok(())
}

fn mac_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A `<host>` to search with: any of mac, name and ip.
fn partial_host(e: &Element, net: &str) -> Result<DhcpHost, NetError> {
    let addr = match e.attr("ip") {
        Some(a) => Some(a.parse::<IpAddr>().map_err(|_| {
            XmlError::xml(format!(
                "Invalid IP address in static host definition for network '{net}'"
            ))
        })?),
        None => None,
    };
    let h = DhcpHost {
        mac: e.attr_s("mac"),
        id: e.attr_s("id"),
        name: e.attr_s("name"),
        ip: addr,
        lease: None,
    };
    if h.mac.is_none() && h.name.is_none() && h.ip.is_none() {
        return Err(XmlError::xml(format!("At least one of name, mac, or ip attribute must be specified for static host definition in network '{net}'")).into());
    }
    Ok(h)
}

fn dhcp_host(def: &mut NetworkDef, command: u32, parent: i32, e: &Element) -> R {
    check_name(def, e, "host")?;
    let idx = ip_index(def, parent)?;
    let net = def.name.clone();
    let delete = command == DELETE;
    let host = if delete {
        partial_host(e, &net)?
    } else {
        let h = def.ips[idx].parse_host(e, &net)?;
        if h.ip.map(|a| a.is_ipv4()) != Some(def.ips[idx].address.is_ipv4()) {
            return Err(invalid("the address family of a host entry IP must match the address family of the dhcp element's parent".into()));
        }
        h
    };
    let fmt_err = |h: &DhcpHost| {
        (
            h.mac.clone().unwrap_or_else(|| "unknown".into()),
            h.name.clone().unwrap_or_else(|| "(null)".into()),
            h.ip.map_or("unknown".into(), |a| a.to_string()),
        )
    };
    let any_match = |x: &DhcpHost| {
        matches!((&host.mac, &x.mac), (Some(a), Some(b)) if mac_eq(a, b))
            || (host.ip.is_some() && host.ip == x.ip)
            || (host.name.is_some() && host.name == x.name)
    };
    let hosts = &def.ips[idx].dhcp_hosts;
    match command {
        MODIFY => {
            let Some(i) = hosts.iter().position(any_match) else {
                let (m, n, a) = fmt_err(&host);
                return Err(invalid(format!("couldn't locate an existing dhcp host entry with \"mac='{m}'\" \"name='{n}'\" \"ip='{a}'\" in network '{net}'")));
            };
            def.ips[idx].dhcp_hosts[i] = host;
        }
        ADD_FIRST | ADD_LAST => {
            check_multi_dhcp(def, idx)?;
            if def.ips[idx].dhcp_hosts.iter().any(any_match) {
                let (m, n, a) = fmt_err(&host);
                return Err(invalid(format!("there is an existing dhcp host entry in network '{net}' that matches \"<host mac='{m}' name='{n}' ip='{a}'/>\"")));
            }
            add_to(&mut def.ips[idx].dhcp_hosts, command, host);
        }
        DELETE => {
            let all_match = |x: &DhcpHost| {
                (host.mac.is_none()
                    || x.mac.is_none()
                    || mac_eq(
                        host.mac.as_deref().unwrap_or(""),
                        x.mac.as_deref().unwrap_or(""),
                    ))
                    && (host.name.is_none() || host.name == x.name)
                    && (host.ip.is_none() || host.ip == x.ip)
            };
            let Some(i) = hosts.iter().position(all_match) else {
                return Err(invalid(format!(
                    "couldn't locate a matching dhcp host entry in network '{net}'"
                )));
            };
            def.ips[idx].dhcp_hosts.remove(i);
        }
        c => return Err(unknown(c)),
    }
    Ok(())
}

fn dhcp_range(def: &mut NetworkDef, command: u32, parent: i32, e: &Element) -> R {
    check_name(def, e, "range")?;
    let idx = ip_index(def, parent)?;
    let net = def.name.clone();
    if command == MODIFY {
        return Err(NetError::NoSupport(
            "dhcp ranges cannot be modified, only added or deleted".into(),
        ));
    }
    let r = def.ips[idx].parse_range(e, &net)?;
    if r.start.is_ipv4() != def.ips[idx].address.is_ipv4() {
        return Err(invalid("the address family of a dhcp range must match the address family of the dhcp element's parent".into()));
    }
    let found = def.ips[idx]
        .dhcp_ranges
        .iter()
        .position(|x| x.start == r.start && x.end == r.end);
    match (command, found) {
        (ADD_FIRST | ADD_LAST, f) => {
            check_multi_dhcp(def, idx)?;
            if f.is_some() {
                return Err(invalid(format!("there is an existing dhcp range entry in network '{net}' that matches \"<range start='{}' end='{}'/>\"", r.start, r.end)));
            }
            add_to(&mut def.ips[idx].dhcp_ranges, command, r);
        }
        (DELETE, None) => {
            return Err(invalid(format!(
                "couldn't locate a matching dhcp range entry in network '{net}'"
            )))
        }
        (DELETE, Some(i)) => {
            def.ips[idx].dhcp_ranges.remove(i);
        }
        (c, _) => return Err(unknown(c)),
    }
    Ok(())
}

fn forward_interface(
    def: &mut NetworkDef,
    command: u32,
    e: &Element,
    in_use: &dyn Fn(&str) -> usize,
) -> R {
    check_name(def, e, "interface")?;
    let net = def.name.clone();
    if command == MODIFY {
        return Err(NetError::NoSupport(
            "forward interface entries cannot be modified, only added or deleted".into(),
        ));
    }
    let dev = e
        .attr_s("dev")
        .ok_or_else(|| XmlError::xml("missing dev attribute in <interface> element"))?;
    let mut none = Vec::new();
    let ifs = match def.forward.as_mut() {
        Some(f) => &mut f.interfaces,
        None => &mut none,
    };
    let found = ifs.iter().position(|d| *d == dev);
    match (command, found) {
        (ADD_FIRST | ADD_LAST, Some(_)) => Err(invalid(format!("there is an existing interface entry in network '{net}' that matches \"<interface dev='{dev}'>\""))),
        (ADD_FIRST | ADD_LAST, None) => {
            add_to(ifs, command, dev);
            Ok(())
        }
        (DELETE, None) => Err(invalid(format!(
            "couldn't find an interface entry in network '{net}' matching <interface dev='{dev}'>"
        ))),
        (DELETE, Some(i)) => {
            let n = in_use(&dev);
            if n > 0 {
                return Err(invalid(format!("unable to delete interface '{dev}' in network '{net}'. It is currently being used  by {n} domains.")));
            }
            ifs.remove(i);
            Ok(())
        }
        (c, _) => Err(unknown(c)),
    }
}

fn portgroup(def: &mut NetworkDef, command: u32, e: &Element) -> R {
    check_name(def, e, "portgroup")?;
    let net = def.name.clone();
    let pg = PortGroup::parse(e)?;
    let found = def.portgroups.iter().position(|p| p.name == pg.name);
    let default = def.portgroups.iter().rposition(|p| p.default);
    let name = &pg.name;
    if found.is_none() && matches!(command, MODIFY | DELETE) {
        return Err(invalid(format!(
            "couldn't find a portgroup entry in network '{net}' matching <portgroup name='{name}'>"
        )));
    }
    if found.is_some() && is_add(command) {
        return Err(invalid(format!("there is an existing portgroup entry in network '{net}' that matches \"<portgroup name='{name}'>\"")));
    }
    if command != DELETE && pg.default && default.is_some() && default != found {
        return Err(invalid(format!("a different portgroup entry in network '{net}' is already set as the default. Only one default is allowed.")));
    }
    match (command, found) {
        (MODIFY, Some(i)) => def.portgroups[i] = pg,
        (DELETE, Some(i)) => {
            def.portgroups.remove(i);
        }
        (ADD_FIRST | ADD_LAST, _) => add_to(&mut def.portgroups, command, pg),
        (c, _) => return Err(unknown(c)),
    }
    Ok(())
}

fn dns_host(def: &mut NetworkDef, command: u32, e: &Element) -> R {
    if command == MODIFY {
        return Err(NetError::NoSupport(
            "DNS HOST records cannot be modified, only added or deleted".into(),
        ));
    }
    check_name(def, e, "host")?;
    let net = def.name.clone();
    let add = is_add(command);
    let (ip, names): (Option<IpAddr>, Vec<String>) = if add {
        let h: DnsHost = dns::parse_host(e, &net)?;
        (Some(h.ip), h.hostnames)
    } else {
        let names: Vec<String> = e
            .children_named("hostname")
            .map(|n| n.text.clone())
            .collect();
        let ip = match e.attr("ip") {
            Some(a) => Some(a.parse().map_err(|_| {
                XmlError::detail(format!(
                    "Invalid IP address in network '{net}' DNS HOST record"
                ))
            })?),
            None if names.is_empty() => {
                return Err(XmlError::detail(format!(
                    "Missing ip and hostname in network '{net}' DNS HOST record"
                ))
                .into())
            }
            None => None,
        };
        (ip, names)
    };
    let hits: Vec<usize> = def
        .dns
        .hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            Some(h.ip) == ip || (!add && names.iter().any(|n| h.hostnames.contains(n)))
        })
        .map(|(i, _)| i)
        .collect();
    match command {
        ADD_FIRST | ADD_LAST => {
            if !hits.is_empty() {
                return Err(invalid(format!("there is already at least one DNS HOST record with a matching field in network {net}")));
            }
            let h = DnsHost {
                ip: ip.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                hostnames: names,
            };
            add_to(&mut def.dns.hosts, command, h);
        }
        DELETE => remove_single(
            &mut def.dns.hosts,
            &hits,
            format!("couldn't locate a matching DNS HOST record in network {net}"),
            format!("multiple matching DNS HOST records were found in network {net}"),
        )?,
        c => return Err(unknown(c)),
    }
    Ok(())
}

fn dns_srv(def: &mut NetworkDef, command: u32, e: &Element) -> R {
    if command == MODIFY {
        return Err(NetError::NoSupport(
            "DNS SRV records cannot be modified, only added or deleted".into(),
        ));
    }
    check_name(def, e, "srv")?;
    let net = def.name.clone();
    let add = is_add(command);
    let srv: Srv = if add {
        dns::parse_srv(e, &net)?
    } else {
        Srv {
            service: e.attr_s("service").unwrap_or_default(),
            protocol: e.attr_s("protocol").unwrap_or_default(),
            domain: e.attr_s("domain"),
            target: e.attr_s("target"),
            ..Srv::default()
        }
    };
    let field = |want: &str, have: &str| want.is_empty() || want == have;
    let opt = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    let hits: Vec<usize> = def
        .dns
        .srvs
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            opt(&srv.domain, &s.domain)
                && field(&srv.service, &s.service)
                && field(&srv.protocol, &s.protocol)
                && opt(&srv.target, &s.target)
        })
        .map(|(i, _)| i)
        .collect();
    match command {
        ADD_FIRST | ADD_LAST => {
            if !hits.is_empty() {
                return Err(invalid(format!("there is already at least one DNS SRV record matching all specified fields in network {net}")));
            }
            add_to(&mut def.dns.srvs, command, srv);
        }
        DELETE => remove_single(
            &mut def.dns.srvs,
            &hits,
            format!("couldn't locate a matching DNS SRV record in network {net}"),
            format!("multiple DNS SRV records matching all specified fields were found in network {net}"),
        )?,
        c => return Err(unknown(c)),
    }
    Ok(())
}

fn dns_txt(def: &mut NetworkDef, command: u32, e: &Element) -> R {
    if command == MODIFY {
        return Err(NetError::NoSupport(
            "DNS TXT records cannot be modified, only added or deleted".into(),
        ));
    }
    check_name(def, e, "txt")?;
    let net = def.name.clone();
    let txt: Txt = if is_add(command) {
        dns::parse_txt(e, &net)?
    } else {
        let name = e.attr_s("name").ok_or_else(|| {
            XmlError::detail(format!(
                "missing required name attribute in DNS TXT record of network {net}"
            ))
        })?;
        Txt {
            name,
            value: String::new(),
        }
    };
    let found = def.dns.txts.iter().position(|t| t.name == txt.name);
    match (command, found) {
        (ADD_FIRST | ADD_LAST, Some(_)) => Err(invalid(format!(
            "there is already a DNS TXT record with name '{}' in network {net}",
            txt.name
        ))),
        (ADD_FIRST | ADD_LAST, None) => {
            add_to(&mut def.dns.txts, command, txt);
            Ok(())
        }
        (DELETE, None) => Err(invalid(format!(
            "couldn't locate a matching DNS TXT record in network {net}"
        ))),
        (DELETE, Some(i)) => {
            def.dns.txts.remove(i);
            Ok(())
        }
        (c, _) => Err(unknown(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET: &str = "<network><name>n</name><bridge name='br1'/>\
        <ip address='10.1.0.1' prefix='24'><dhcp><range start='10.1.0.10' end='10.1.0.20'/>\
        <host mac='52:54:00:00:00:01' name='a' ip='10.1.0.5'/></dhcp></ip></network>";

    fn up(d: &mut NetworkDef, c: u32, s: u32, xml: &str) -> Result<(), String> {
        apply(d, c, s, -1, xml, &|_| 0).map_err(|e| {
            rvirt_plugin_api::protocol::RemoteError::from(e)
                .text()
                .to_string()
        })
    }

    #[test]
    fn dhcp_hosts_and_errors() {
        let mut d = NetworkDef::parse(NET).unwrap();
        let h2 = "<host mac='52:54:00:00:00:02' name='b' ip='10.1.0.6'/>";
        up(&mut d, ADD_FIRST, IP_DHCP_HOST, h2).unwrap();
        assert_eq!(d.ips[0].dhcp_hosts[0].name.as_deref(), Some("b"));
        let e = up(&mut d, ADD_LAST, IP_DHCP_HOST, h2).unwrap_err();
        assert!(e.starts_with("Requested operation is not valid: there is an existing dhcp host entry in network 'n' that matches"), "{e}");
        up(&mut d, DELETE, IP_DHCP_HOST, "<host name='b'/>").unwrap();
        let e = up(&mut d, DELETE, IP_DHCP_HOST, "<host name='b'/>").unwrap_err();
        assert!(
            e.ends_with("couldn't locate a matching dhcp host entry in network 'n'"),
            "{e}"
        );
        let e = up(
            &mut d,
            MODIFY,
            IP_DHCP_RANGE,
            "<range start='10.1.0.10' end='10.1.0.20'/>",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "Operation not supported: dhcp ranges cannot be modified, only added or deleted"
        );
        let e = up(&mut d, ADD_LAST, IP_DHCP_HOST, "<txt name='x' value='y'/>").unwrap_err();
        assert_eq!(
            e,
            "XML error: unexpected element <txt>, expecting <host>, while updating network 'n'"
        );
    }

    #[test]
    fn dns_records_and_portgroups() {
        let mut d = NetworkDef::parse(NET).unwrap();
        up(&mut d, ADD_LAST, DNS_TXT, "<txt name='t' value='v'/>").unwrap();
        up(
            &mut d,
            ADD_LAST,
            DNS_HOST,
            "<host ip='10.1.0.7'><hostname>h</hostname></host>",
        )
        .unwrap();
        up(
            &mut d,
            ADD_LAST,
            DNS_SRV,
            "<srv service='ldap' protocol='tcp'/>",
        )
        .unwrap();
        up(
            &mut d,
            ADD_LAST,
            PORTGROUP,
            "<portgroup name='p' default='yes'/>",
        )
        .unwrap();
        let e = up(
            &mut d,
            ADD_LAST,
            PORTGROUP,
            "<portgroup name='q' default='yes'/>",
        )
        .unwrap_err();
        assert!(e.contains("is already set as the default"), "{e}");
        up(
            &mut d,
            DELETE,
            DNS_HOST,
            "<host><hostname>h</hostname></host>",
        )
        .unwrap();
        up(&mut d, DELETE, DNS_SRV, "<srv service='ldap'/>").unwrap();
        up(&mut d, DELETE, DNS_TXT, "<txt name='t'/>").unwrap();
        assert!(d.dns.hosts.is_empty() && d.dns.srvs.is_empty() && d.dns.txts.is_empty());
        let e = up(&mut d, ADD_LAST, 1, "<bridge/>").unwrap_err();
        assert_eq!(
            e,
            "Operation not supported: can't update 'bridge' section of network 'n'"
        );
    }
}
