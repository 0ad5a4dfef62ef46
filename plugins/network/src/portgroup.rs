//! What a new network port takes from its network, as libvirt 9.0's network driver
//! gives it when it allocates a port: the port group it names (or the network's default
//! port group) supplies the bandwidth, and with the network the vlan and (merged part
//! by part) the virtualport,
//! the port does not set itself; the network its `trustGuestRxFilters`. Then the
//! checks of what the plug can carry, and (once its bandwidth is plugged) of the
//! virtualport's completeness.

use rvirt_plugin_api::sdk::{code, domain};
use rvirt_xml::network::netdev::VirtualPort;
use rvirt_xml::network::{NetworkDef, NetworkPort, Plug, PortGroup};
use rvirt_xml::XmlError;

use crate::error::NetError;

/// The port group `name` of `def`, or with no name the default one. An unknown name is
/// no error: the port then gets nothing from a port group (as in libvirt).
pub fn find<'a>(def: &'a NetworkDef, name: Option<&str>) -> Option<&'a PortGroup> {
    match name.filter(|n| !n.is_empty()) {
        Some(n) => def.portgroups.iter().find(|p| p.name == n),
        None => def.portgroups.iter().find(|p| p.default),
    }
}

/// Fills in what `port` takes from `def` and its port group, then checks the result
/// against the plug `allocate` chose.
pub fn inherit(def: &NetworkDef, port: &mut NetworkPort) -> Result<(), NetError> {
    let pg = find(def, port.group.as_deref());
    if port.bandwidth.is_none() {
        port.bandwidth = pg.and_then(|p| p.bandwidth);
    }
    if port.vlan.as_ref().is_none_or(|v| v.tags.is_empty()) {
        let from_pg = pg
            .and_then(|p| p.vlan.as_ref())
            .filter(|v| !v.tags.is_empty());
        let from_net = def.vlan.as_ref().filter(|v| !v.tags.is_empty());
        if let Some(v) = from_pg.or(from_net) {
            port.vlan = Some(v.clone());
        }
    }
    if port.trust_guest_rx_filters.is_none() {
        port.trust_guest_rx_filters = def.trust_guest_rx_filters;
    }
    port.virtualport = merge3(
        port.virtualport.take(),
        def.virtualport.as_ref(),
        pg.and_then(|p| p.virtualport.as_ref()),
    )?;
    check(def, port)
}

fn xml_error(message: String) -> NetError {
    NetError::Xml(XmlError::reported(
        code::XML_ERROR,
        Some(domain::NET),
        format!("XML error: {message}"),
    ))
}

/// libvirt's completeness check of a plugged port's virtualport (after its bandwidth
/// is plugged), generating what it generates: an 802.1Qbg instance ID, an Open vSwitch
/// interface ID.
pub fn complete(port: &mut NetworkPort) -> Result<(), NetError> {
    let Some(v) = port.virtualport.as_mut() else {
        return Ok(());
    };
    let Some(kind) = v.kind else {
        return Ok(());
    };
    let missing = |what: &str| xml_error(format!("missing {what} in <virtualport type='{kind}'>"));
    match kind {
        "802.1Qbg" => {
            if v.manager_id.is_none() {
                return Err(missing("managerid"));
            }
            if v.type_id.is_none() {
                return Err(missing("typeid"));
            }
            if v.type_id_version.is_none() {
                return Err(missing("typeidversion"));
            }
            v.instance_id.get_or_insert_with(rvirt_xml::Uuid::random);
        }
        "802.1Qbh" if v.profile_id.as_deref().is_none_or(str::is_empty) => {
            return Err(missing("profileid"));
        }
        "openvswitch" => {
            v.interface_id.get_or_insert_with(rvirt_xml::Uuid::random);
        }
        "midonet" if v.interface_id.is_none() => return Err(missing("interfaceid")),
        _ => {}
    }
    Ok(())
}

/// The port's, the network's and the port group's virtualport merged, in that order
/// of precedence, as libvirt merges them: a part only one gives is taken, two that
/// differ are an error.
fn merge3(
    port: Option<VirtualPort>,
    net: Option<&VirtualPort>,
    pg: Option<&VirtualPort>,
) -> Result<Option<VirtualPort>, NetError> {
    if port.is_none() && net.is_none() && pg.is_none() {
        return Ok(None);
    }
    let mut v = port.unwrap_or_default();
    for m in [net, pg].into_iter().flatten() {
        merge(&mut v, m)?;
    }
    Ok(Some(v))
}

fn mismatch(what: &str, a: impl std::fmt::Display, b: impl std::fmt::Display) -> NetError {
    NetError::Xml(XmlError::reported(
        code::XML_ERROR,
        Some(domain::NET),
        format!("XML error: attempt to merge virtualports with mismatched {what} ({a} and {b})"),
    ))
}

/// One part: `mine` keeps its value, takes `theirs` when it has none.
/// Strings and UUIDs are named in quotes (`q`), numbers and types not.
fn part<T: Clone + PartialEq + std::fmt::Display>(
    what: &str,
    q: &str,
    mine: &mut Option<T>,
    theirs: &Option<T>,
) -> Result<(), NetError> {
    match (mine.as_ref(), theirs) {
        (Some(a), Some(b)) if a != b => {
            Err(mismatch(what, format!("{q}{a}{q}"), format!("{q}{b}{q}")))
        }
        (None, Some(b)) => {
            *mine = Some(b.clone());
            Ok(())
        }
        _ => Ok(()),
    }
}

fn merge(v: &mut VirtualPort, m: &VirtualPort) -> Result<(), NetError> {
    part("types", "", &mut v.kind, &m.kind)?;
    part("managerids", "", &mut v.manager_id, &m.manager_id)?;
    part("typeids", "", &mut v.type_id, &m.type_id)?;
    part(
        "typeidversions",
        "",
        &mut v.type_id_version,
        &m.type_id_version,
    )?;
    part("instanceids", "'", &mut v.instance_id, &m.instance_id)?;
    part("profileids", "'", &mut v.profile_id, &m.profile_id)?;
    part("interfaceids", "'", &mut v.interface_id, &m.interface_id)
}

/// libvirt's check of a port's virtualport against its plug. (A vlan tag is not
/// checked here: libvirt 9.0's network driver takes it on any plug.)
fn check(def: &NetworkDef, port: &NetworkPort) -> Result<(), NetError> {
    let net = &def.name;
    let vtype = port.virtualport.as_ref().map(|v| v.kind.unwrap_or("none"));
    let (uses, allowed): (&str, &[&str]) = match &port.plug {
        Some(Plug::Network { .. }) => ("uses IP forwarding", &[]),
        Some(Plug::Bridge { .. }) => ("uses a bridge device", &["openvswitch"]),
        Some(Plug::Direct { .. }) => ("uses a macvtap device", &["802.1Qbg", "802.1Qbh"]),
        _ => ("", &["802.1Qbh"]),
    };
    if let Some(t) = vtype.filter(|t| !uses.is_empty() && !allowed.contains(t)) {
        return Err(NetError::Unsupported(format!(
            "<virtualport type='{t}'> not supported for network '{net}' which {uses}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET: &str = "<network><name>pg</name><forward mode='bridge'/><bridge name='br0'/>\
        <portgroup name='a' default='yes'><bandwidth><inbound average='111'/></bandwidth></portgroup>\
        <portgroup name='v'><vlan><tag id='42'/></vlan></portgroup></network>";

    fn port(extra: &str) -> NetworkPort {
        NetworkPort::parse(&format!(
            "<networkport><uuid>5eed0000-0000-4000-8000-0000000000aa</uuid><owner><name>g</name>\
             <uuid>5eed0000-0000-4000-8000-000000000001</uuid></owner>\
             <mac address='52:54:00:aa:bb:cc'/>{extra}<plug type='bridge' bridge='br0'/></networkport>"
        ))
        .unwrap()
    }

    #[test]
    fn virtualports_merge_part_by_part() {
        let ovs = VirtualPort {
            kind: Some("openvswitch"),
            profile_id: Some("p1".into()),
            ..VirtualPort::default()
        };
        let id = rvirt_xml::Uuid::random();
        let pg = VirtualPort {
            interface_id: Some(id),
            ..VirtualPort::default()
        };
        let v = merge3(None, Some(&ovs), Some(&pg)).unwrap().unwrap();
        assert_eq!((v.kind, v.interface_id), (Some("openvswitch"), Some(id)));
        assert_eq!(merge3(None, None, None).unwrap(), None);
        let other = VirtualPort {
            profile_id: Some("p2".into()),
            ..VirtualPort::default()
        };
        let e = merge3(Some(other), Some(&ovs), None).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("mismatched profileids ('p2' and 'p1')"),
            "{e}"
        );
    }

    #[test]
    fn default_named_and_unknown_groups() {
        let def = NetworkDef::parse(NET).unwrap();
        let mut p = port("");
        inherit(&def, &mut p).unwrap();
        assert_eq!(p.bandwidth, def.portgroups[0].bandwidth);
        let mut own = port("<bandwidth><inbound average='5'/></bandwidth>");
        let mine = own.bandwidth;
        inherit(&def, &mut own).unwrap();
        assert_eq!(own.bandwidth, mine);
        let mut unknown = port("<group>nosuch</group>");
        inherit(&def, &mut unknown).unwrap();
        assert!(unknown.bandwidth.is_none());
        let mut v = port("<group>v</group>");
        inherit(&def, &mut v).unwrap();
        assert_eq!(v.vlan.unwrap().tags, [42]);
    }
}
