//! The `floor` of network ports: the inbound bandwidth a port is guaranteed out of its
//! network's, as libvirt 9.0's network driver keeps it. Each port with a floor gets a
//! class `1:ID` under the bridge's 1:1 (IDs from 3, the lowest free one), and class 1:2,
//! where all other traffic goes, is left with the network's peak (or average) less the
//! sum of the floors. A port's class ID is kept in its definition (`<bandwidth
//! classID>`), so the sum and the IDs in use follow from the network's ports.

use rvirt_xml::network::netdev::{Bandwidth, Rate};
use rvirt_xml::network::{NetworkDef, NetworkPort};

use crate::bandwidth;
use crate::error::{NResult, NetError};

fn floor_of(b: Option<&Bandwidth>) -> u64 {
    b.and_then(|b| b.inbound).map_or(0, |r| r.floor)
}

/// The floors of the ports holding a class.
fn floor_sum(ports: &[NetworkPort]) -> u64 {
    ports
        .iter()
        .filter(|p| p.class_id != 0)
        .map(|p| floor_of(p.bandwidth.as_ref()))
        .sum()
}

/// The lowest class ID no port holds (1 and 2 are the network's own).
fn next_class_id(ports: &[NetworkPort]) -> u32 {
    (3..)
        .find(|id| !ports.iter().any(|p| p.class_id == *id))
        .unwrap_or(3)
}

fn net_inbound(def: &NetworkDef) -> Option<Rate> {
    def.bandwidth.and_then(|b| b.inbound)
}

/// libvirt's `networkCheckBandwidth`: refuses a floor the network cannot give; answers
/// the rate 1:2 starts from (the network's peak, else its average) when classes are to
/// change, `None` when there is nothing to do. `ports` are those holding classes now
/// (the changed port included, with its `old` bandwidth).
fn check(
    def: &NetworkDef,
    ports: &[NetworkPort],
    new: Option<&Bandwidth>,
    old: Option<&Bandwidth>,
    mac: &str,
) -> NResult<Option<u64>> {
    let new_floor = floor_of(new);
    if new_floor != 0 && !crate::lifecycle::managed_bridge(def) {
        return Err(NetError::NoSupport(format!(
            "Invalid use of 'floor' on interface with MAC address {mac} - 'floor' is only \
             supported for interface type 'network' with forward type 'nat', 'route', \
             'open' or none"
        ))
        .into());
    }
    let Some(net_in) = net_inbound(def) else {
        if new_floor != 0 {
            return Err(NetError::NoSupport(format!(
                "Invalid use of 'floor' on interface with MAC address {mac} - network '{}' \
                 has no inbound QoS set",
                def.name
            ))
            .into());
        }
        return Ok(None);
    };
    if new_floor == 0 && floor_of(old) == 0 {
        return Ok(None);
    }
    let sum = (floor_sum(ports) + new_floor).saturating_sub(floor_of(old));
    let br = def.bridge.as_deref().unwrap_or_default();
    let (limit, what) = if net_in.peak != 0 {
        (net_in.peak, "peak")
    } else {
        (net_in.average, "average")
    };
    if sum > limit {
        return Err(NetError::Invalid(format!(
            "Cannot plug '{mac}' interface into '{br}' because new combined inbound \
             floor={sum} would overcommit {what}={limit} on network '{}'",
            def.name
        ))
        .into());
    }
    Ok(Some(limit))
}

/// Sets class 1:2 to what the floors of `ports` leave of `rate` (a failure is only
/// worth a warning, as in libvirt).
fn update_default(tc: &str, def: &NetworkDef, net_in: &Rate, rate: u64, ports: &[NetworkPort]) {
    let br = def.bridge.as_deref().unwrap_or_default();
    let cmd = bandwidth::update_rate(br, 2, net_in, rate.saturating_sub(floor_sum(ports)));
    if bandwidth::run_all(tc, &[cmd]).is_err() {
        tracing::warn!("Unable to update rate for 1:2 class on {br} bridge");
    }
}

/// Gives `port` (not among `others`) a class of its own for its floor.
fn plug_impl(
    tc: &str,
    def: &NetworkDef,
    others: &[NetworkPort],
    port: &mut NetworkPort,
    rate: u64,
) -> NResult<()> {
    let (Some(net_in), Some(port_in)) = (net_inbound(def), port.bandwidth.and_then(|b| b.inbound))
    else {
        return Ok(());
    };
    let br = def.bridge.as_deref().unwrap_or_default();
    let mac = bandwidth::mac_bytes(&port.mac)
        .ok_or_else(|| NetError::Internal(format!("invalid MAC address '{}'", port.mac)))?;
    let id = next_class_id(others);
    if let Err(e) = bandwidth::run_all(tc, &bandwidth::plug(br, &net_in, &mac, &port_in, id)) {
        bandwidth::run_ignoring(tc, &bandwidth::unplug(br, id));
        return Err(e.into());
    }
    port.class_id = id;
    let mut all = others.to_vec();
    all.push(port.clone());
    update_default(tc, def, &net_in, rate, &all);
    Ok(())
}

/// libvirt's `networkPlugBandwidth`, for a port being created.
pub fn plug(
    tc: &str,
    def: &NetworkDef,
    others: &[NetworkPort],
    port: &mut NetworkPort,
) -> NResult<()> {
    match check(def, others, port.bandwidth.as_ref(), None, &port.mac)? {
        Some(rate) => plug_impl(tc, def, others, port, rate),
        None => Ok(()),
    }
}

/// libvirt's `networkUnplugBandwidth`, for a port being deleted: its class goes, 1:2
/// gets its share back.
pub fn unplug(tc: &str, def: &NetworkDef, others: &[NetworkPort], port: &mut NetworkPort) {
    if port.class_id == 0 {
        return;
    }
    let Some(net_in) = net_inbound(def) else {
        tracing::warn!("Network {} has no bandwidth but unplug requested", def.name);
        return;
    };
    let br = def.bridge.as_deref().unwrap_or_default();
    bandwidth::run_ignoring(tc, &bandwidth::unplug(br, port.class_id));
    let rate = if net_in.peak != 0 {
        net_in.peak
    } else {
        net_in.average
    };
    update_default(tc, def, &net_in, rate, others);
    port.class_id = 0;
}

/// libvirt's `networkUpdatePortBandwidth`, for `virNetworkPortSetParameters`: port `i`
/// of `ports` is to get bandwidth `new`; its class is created, changed or removed.
pub fn update(
    tc: &str,
    def: &NetworkDef,
    ports: &mut [NetworkPort],
    i: usize,
    new: Option<&Bandwidth>,
) -> NResult<()> {
    let old = ports[i].bandwidth;
    let (old_floor, new_floor) = (floor_of(old.as_ref()), floor_of(new));
    if old_floor == new_floor {
        return Ok(());
    }
    let Some(rate) = check(def, ports, new, old.as_ref(), &ports[i].mac)? else {
        return Ok(());
    };
    let Some(net_in) = net_inbound(def) else {
        return Ok(());
    };
    let mut others = ports.to_vec();
    let mut port = others.remove(i);
    let br = def.bridge.as_deref().unwrap_or_default();
    if old_floor > 0 && new_floor > 0 {
        let id = port.class_id;
        bandwidth::run_all(tc, &[bandwidth::update_rate(br, id, &net_in, new_floor)])?;
        port.bandwidth = new.copied();
        others.push(port.clone());
        update_default(tc, def, &net_in, rate, &others);
    } else if new_floor > 0 {
        port.bandwidth = new.copied();
        plug_impl(tc, def, &others, &mut port, rate)?;
    } else {
        unplug(tc, def, &others, &mut port);
    }
    ports[i].class_id = port.class_id;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(mac: &str, floor: u64, class_id: u32) -> NetworkPort {
        let xml = format!(
            "<networkport><uuid>5d3a6c1e-0b7a-4c8e-9f6d-2a1b3c4d5e{:02x}</uuid>\
             <owner><name>g</name><uuid>5d3a6c1e-0b7a-4c8e-9f6d-2a1b3c4d5e00</uuid></owner>\
             <mac address='{mac}'/><bandwidth><inbound average='10' floor='{floor}'/></bandwidth>\
             </networkport>",
            class_id
        );
        let mut p = NetworkPort::parse(&xml).unwrap();
        p.class_id = class_id;
        p
    }

    fn net(bw: &str) -> NetworkDef {
        NetworkDef::parse(&format!(
            "<network><name>n</name><forward mode='nat'/><bridge name='virbr7'/>{bw}\
             <ip address='10.7.0.1' prefix='24'/></network>"
        ))
        .unwrap()
    }

    #[test]
    fn floors_are_checked_against_the_network() {
        let bw = "<bandwidth><inbound average='1000' peak='5000'/></bandwidth>";
        let d = net(bw);
        let ports = [port("52:54:00:00:00:01", 3000, 3)];
        let p = port("52:54:00:00:00:02", 1500, 0);
        assert_eq!(
            check(&d, &ports, p.bandwidth.as_ref(), None, &p.mac).unwrap(),
            Some(5000)
        );
        let p = port("52:54:00:00:00:02", 2500, 0);
        let e = check(&d, &ports, p.bandwidth.as_ref(), None, &p.mac).unwrap_err();
        assert_eq!(
            e.text(),
            "Requested operation is not valid: Cannot plug '52:54:00:00:00:02' interface \
             into 'virbr7' because new combined inbound floor=5500 would overcommit \
             peak=5000 on network 'n'"
        );
        let e = check(&net(""), &[], p.bandwidth.as_ref(), None, &p.mac).unwrap_err();
        assert!(
            e.text().contains("network 'n' has no inbound QoS set"),
            "{}",
            e.text()
        );
        // No floor, no classes.
        let p = port("52:54:00:00:00:02", 0, 0);
        assert_eq!(
            check(&d, &ports, p.bandwidth.as_ref(), None, &p.mac).unwrap(),
            None
        );
    }

    #[test]
    fn class_ids_fill_gaps_from_three() {
        assert_eq!(next_class_id(&[]), 3);
        let ports = [
            port("52:54:00:00:00:01", 1, 3),
            port("52:54:00:00:00:02", 1, 5),
        ];
        assert_eq!(next_class_id(&ports), 4);
        assert_eq!(floor_sum(&ports), 2);
    }
}
