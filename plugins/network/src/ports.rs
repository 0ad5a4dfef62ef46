//! Network ports (`virNetworkPort*`): the connection of one guest interface to a running
//! network. A port is created by the hypervisor driver when a guest starts
//! (`virNetworkPortCreateXML`), plugged here (the [`Plug`] says where the guest's device
//! goes: the network's bridge, a host bridge or a host interface for macvtap) and deleted
//! when the guest stops. Ports live in the running network's status file, so a restarted
//! daemon keeps them; a network's destroy drops them with the rest of its status.

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::protocol::{
    RemoteNonnullNetwork, RemoteNonnullNetworkPort, RemoteTypedParam, RemoteTypedParamValue,
};
use rvirt_xml::network::netdev::{Bandwidth, Rate};
use rvirt_xml::network::{NetworkDef, NetworkPort, Plug};
use rvirt_xml::{ParseOptions, Uuid};

use crate::error::{check_flags, NResult, NetError};
use crate::floor;
use crate::state::{Driver, Inner};

/// `VIR_NETWORK_PORT_CREATE_RECLAIM`: the port is already plugged (a restarted guest).
pub const CREATE_RECLAIM: u32 = rvirt_plugin_api::protocol::facts::network_port_create::RECLAIM;
/// `VIR_NETWORK_PORT_CREATE_VALIDATE`.
pub const CREATE_VALIDATE: u32 = rvirt_plugin_api::protocol::facts::network_port_create::VALIDATE;

/// The typed parameters of a port (`VIR_NETWORK_PORT_BANDWIDTH_*`), inbound first.
const IN_PARAMS: [&str; 4] = [
    "inbound.average",
    "inbound.peak",
    "inbound.floor",
    "inbound.burst",
];
const OUT_PARAMS: [&str; 3] = ["outbound.average", "outbound.peak", "outbound.burst"];

/// The index of the running network a port reference names, with its ports parsed.
fn running(s: &Inner, net: &RemoteNonnullNetwork) -> NResult<usize> {
    let i = s.find(net)?;
    if !s.nets[i].is_active() {
        return Err(
            NetError::Invalid(format!("network '{}' is not active", s.nets[i].def.name)).into(),
        );
    }
    Ok(i)
}

/// The ports of running network `i`, parsed from its status.
fn ports_of(s: &Inner, i: usize) -> Vec<NetworkPort> {
    let Some(run) = &s.nets[i].run else {
        return Vec::new();
    };
    run.status
        .ports
        .iter()
        .filter_map(|x| match NetworkPort::parse(x) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("network '{}': ignoring a port: {e}", s.nets[i].def.name);
                None
            }
        })
        .collect()
}

/// Replaces the ports of running network `i` and saves its status.
fn store(drv: &Driver, s: &mut Inner, i: usize, ports: &[NetworkPort]) -> NResult<()> {
    let name = s.nets[i].def.name.clone();
    let Some(run) = s.nets[i].run.as_mut() else {
        return Err(NetError::Invalid(format!("network '{name}' is not active")).into());
    };
    run.status.ports = ports.iter().map(NetworkPort::to_xml).collect();
    drv.save_status(&name, &run.status)
}

fn not_found(uuid: &Uuid) -> RemoteError {
    NetError::NoPort(format!("Network port with UUID {uuid} does not exist")).into()
}

/// How many of `ports` are plugged into each of the forward interfaces `ifs`.
pub fn interface_connections(ifs: &[String], ports: &[NetworkPort]) -> Vec<u32> {
    ifs.iter()
        .map(|i| {
            let on_it =
                |p: &&NetworkPort| matches!(&p.plug, Some(Plug::Direct { dev, .. }) if dev == i);
            ports.iter().filter(on_it).count() as u32
        })
        .collect()
}

/// Where a new port of `def` is plugged, as libvirt decides from the forward mode; a
/// direct port goes to the forward interface fewest of `ports` use (passthrough: one
/// none uses).
pub fn allocate(def: &NetworkDef, ports: &[NetworkPort]) -> NResult<Plug> {
    let mtm = def.bridge_def.mac_table_manager;
    let missing_bridge =
        || NetError::Internal(format!("network '{}' has no bridge name", def.name));
    match def.forward_mode() {
        None | Some("nat" | "route" | "open") => Ok(Plug::Network {
            bridge: def.bridge.clone().ok_or_else(missing_bridge)?,
            mac_table_manager: mtm,
        }),
        Some("bridge") if def.bridge.is_some() => Ok(Plug::Bridge {
            bridge: def.bridge.clone().unwrap_or_default(),
            mac_table_manager: mtm,
        }),
        Some(mode @ ("bridge" | "private" | "vepa" | "passthrough")) => {
            let ifs = def.forward.as_ref().map_or(&[][..], |f| &f.interfaces[..]);
            if ifs.is_empty() {
                return Err(NetError::Internal(format!(
                    "network '{}' uses a direct mode, but has no forward dev and no \
                     interface pool",
                    def.name
                ))
                .into());
            }
            let used = interface_connections(ifs, ports);
            let pick = if mode == "passthrough" {
                used.iter().position(|n| *n == 0).ok_or_else(|| {
                    NetError::Internal(format!(
                        "network '{}' requires exclusive access to interfaces, but none \
                         are available",
                        def.name
                    ))
                })?
            } else {
                // The least used; of equals, the first.
                (0..ifs.len()).min_by_key(|k| used[*k]).unwrap_or(0)
            };
            Ok(Plug::Direct {
                dev: ifs[pick].clone(),
                mode,
            })
        }
        Some("hostdev") => crate::hostdev::allocate(def, ports),
        Some(mode) => Err(NetError::Unsupported(format!(
            "network '{}' of forward mode '{mode}' cannot plug ports with this driver",
            def.name
        ))
        .into()),
    }
}

fn reference(net: RemoteNonnullNetwork, p: &NetworkPort) -> RemoteNonnullNetworkPort {
    RemoteNonnullNetworkPort {
        net,
        uuid: p.uuid.0,
    }
}

/// `virNetworkPortCreateXML`.
pub fn create(
    drv: &Driver,
    s: &mut Inner,
    net: &RemoteNonnullNetwork,
    xml: &str,
    flags: u32,
) -> NResult<RemoteNonnullNetworkPort> {
    check_flags(
        flags,
        CREATE_RECLAIM | CREATE_VALIDATE,
        "networkPortCreateXML",
    )?;
    let i = running(s, net)?;
    let opts = ParseOptions::validate(flags & CREATE_VALIDATE != 0);
    let mut port = NetworkPort::parse_with(xml, opts).map_err(NetError::Xml)?;
    if flags & CREATE_RECLAIM != 0 {
        if port.plug.is_none() {
            return Err(
                NetError::Arg("Port reclaim requested but plug type is none".into()).into(),
            );
        }
    } else {
        if port.plug.is_some() {
            return Err(NetError::Arg(
                "Port reclaim not requested but plug type is not none".into(),
            )
            .into());
        }
        port.plug = Some(allocate(s.nets[i].current(), &ports_of(s, i))?);
        crate::portgroup::inherit(s.nets[i].current(), &mut port)?;
    }
    let mut ports = ports_of(s, i);
    if ports.iter().any(|p| p.uuid == port.uuid) {
        return Err(NetError::PortExists(format!(
            "Network port with UUID {} already exists",
            port.uuid
        ))
        .into());
    }
    if flags & CREATE_RECLAIM == 0 {
        // A reclaimed port keeps the class it has on the bridge.
        floor::plug(&drv.cfg.tc, s.nets[i].current(), &ports, &mut port)?;
        if let Err(e) = crate::portgroup::complete(&mut port) {
            floor::unplug(&drv.cfg.tc, s.nets[i].current(), &ports, &mut port);
            return Err(e.into());
        }
    }
    let r = reference(s.nets[i].reference(), &port);
    ports.push(port);
    if let Err(e) = store(drv, s, i, &ports) {
        if let Some(mut p) = ports.pop() {
            floor::unplug(&drv.cfg.tc, s.nets[i].current(), &ports, &mut p);
        }
        return Err(e);
    }
    Ok(r)
}

/// The port `r` names and its network's index.
fn find(s: &Inner, r: &RemoteNonnullNetworkPort) -> NResult<(usize, NetworkPort)> {
    let i = running(s, &r.net)?;
    let uuid = Uuid(r.uuid);
    ports_of(s, i)
        .into_iter()
        .find(|p| p.uuid == uuid)
        .map(|p| (i, p))
        .ok_or_else(|| not_found(&uuid))
}

/// `virNetworkPortLookupByUUID`.
pub fn lookup(
    s: &Inner,
    net: &RemoteNonnullNetwork,
    uuid: &[u8; 16],
) -> NResult<RemoteNonnullNetworkPort> {
    let (i, p) = find(
        s,
        &RemoteNonnullNetworkPort {
            net: net.clone(),
            uuid: *uuid,
        },
    )?;
    Ok(reference(s.nets[i].reference(), &p))
}

/// `virNetworkPortGetXMLDesc`.
pub fn xml_desc(s: &Inner, r: &RemoteNonnullNetworkPort, flags: u32) -> NResult<String> {
    check_flags(flags, 0, "networkPortGetXMLDesc")?;
    Ok(find(s, r)?.1.to_xml())
}

/// `virNetworkPortDelete`.
pub fn delete(
    drv: &Driver,
    s: &mut Inner,
    r: &RemoteNonnullNetworkPort,
    flags: u32,
) -> NResult<()> {
    check_flags(flags, 0, "networkPortDelete")?;
    let (i, mut port) = find(s, r)?;
    let mut ports = ports_of(s, i);
    ports.retain(|p| p.uuid.0 != r.uuid);
    if matches!(port.plug, Some(Plug::Network { .. } | Plug::Bridge { .. })) {
        floor::unplug(&drv.cfg.tc, s.nets[i].current(), &ports, &mut port);
    }
    store(drv, s, i, &ports)
}

/// `virNetworkListAllPorts`: the ports of a running network, in creation order.
pub fn list(
    s: &Inner,
    net: &RemoteNonnullNetwork,
    flags: u32,
) -> NResult<Vec<RemoteNonnullNetworkPort>> {
    check_flags(flags, 0, "networkListAllPorts")?;
    let i = running(s, net)?;
    let n = s.nets[i].reference();
    Ok(ports_of(s, i)
        .iter()
        .map(|p| reference(n.clone(), p))
        .collect())
}

fn uint(field: &str, v: u64) -> RemoteTypedParam {
    RemoteTypedParam {
        field: field.to_string(),
        value: RemoteTypedParamValue::Uint(u32::try_from(v).unwrap_or(u32::MAX)),
    }
}

/// `virNetworkPortGetParameters`: the bandwidth of each direction the port shapes.
pub fn get_parameters(
    s: &Inner,
    r: &RemoteNonnullNetworkPort,
    flags: u32,
) -> NResult<Vec<RemoteTypedParam>> {
    check_flags(flags, 0, "networkPortGetParameters")?;
    let (_, p) = find(s, r)?;
    let bw = p.bandwidth.unwrap_or_default();
    let mut out = Vec::new();
    if let Some(r) = bw.inbound {
        for (k, v) in IN_PARAMS.iter().zip([r.average, r.peak, r.floor, r.burst]) {
            out.push(uint(k, v));
        }
    }
    if let Some(r) = bw.outbound {
        for (k, v) in OUT_PARAMS.iter().zip([r.average, r.peak, r.burst]) {
            out.push(uint(k, v));
        }
    }
    Ok(out)
}

/// Applies typed parameters to `bw`; a direction whose average ends at 0 is dropped.
fn apply_params(bw: &mut Bandwidth, params: &[RemoteTypedParam]) -> NResult<()> {
    for prm in params {
        let RemoteTypedParamValue::Uint(v) = prm.value else {
            return Err(NetError::Arg(format!(
                "invalid type for parameter '{}', expected 'uint'",
                prm.field
            ))
            .into());
        };
        let v = u64::from(v);
        let (dir, key) = match prm.field.split_once('.') {
            Some(("inbound", k)) if IN_PARAMS.contains(&prm.field.as_str()) => (&mut bw.inbound, k),
            Some(("outbound", k)) if OUT_PARAMS.contains(&prm.field.as_str()) => {
                (&mut bw.outbound, k)
            }
            _ => {
                return Err(NetError::ArgUnsupported(format!(
                    "parameter '{}' not supported",
                    prm.field
                ))
                .into())
            }
        };
        let rate: &mut Rate = dir.get_or_insert_with(Rate::default);
        match key {
            "average" => rate.average = v,
            "peak" => rate.peak = v,
            "floor" => rate.floor = v,
            _ => rate.burst = v,
        }
    }
    for dir in [&mut bw.inbound, &mut bw.outbound] {
        if dir.is_some_and(|r| r.average == 0 && r.floor == 0) {
            *dir = None;
        }
    }
    Ok(())
}

/// `virNetworkPortSetParameters`: changes the port's bandwidth; a changed `floor`
/// changes the port's class on the bridge (the rest is the tap's, the hypervisor's).
pub fn set_parameters(
    drv: &Driver,
    s: &mut Inner,
    r: &RemoteNonnullNetworkPort,
    params: &[RemoteTypedParam],
    flags: u32,
) -> NResult<()> {
    check_flags(flags, 0, "networkPortSetParameters")?;
    let (i, _) = find(s, r)?;
    let mut ports = ports_of(s, i);
    let Some(k) = ports.iter().position(|p| p.uuid.0 == r.uuid) else {
        return Err(not_found(&Uuid(r.uuid)));
    };
    // As libvirt: the parameters given make the whole new bandwidth.
    let mut bw = Bandwidth::default();
    apply_params(&mut bw, params)?;
    let bw = (bw.inbound.is_some() || bw.outbound.is_some()).then_some(bw);
    floor::update(&drv.cfg.tc, s.nets[i].current(), &mut ports, k, bw.as_ref())?;
    ports[k].bandwidth = bw;
    store(drv, s, i, &ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(x: &str) -> NetworkDef {
        NetworkDef::parse(x).unwrap()
    }

    #[test]
    fn plugs_follow_the_forward_mode() {
        let nat =
            net("<network><name>n</name><forward mode='nat'/><bridge name='virbr9'/><ip address='192.168.9.1' netmask='255.255.255.0'/></network>");
        assert!(
            matches!(allocate(&nat, &[]).unwrap(), Plug::Network { bridge, .. } if bridge == "virbr9")
        );
        let br =
            net("<network><name>b</name><forward mode='bridge'/><bridge name='br0'/></network>");
        assert!(
            matches!(allocate(&br, &[]).unwrap(), Plug::Bridge { bridge, .. } if bridge == "br0")
        );
        let vepa = net(
            "<network><name>v</name><forward mode='vepa'><interface dev='eth7'/></forward></network>",
        );
        assert_eq!(
            allocate(&vepa, &[]).unwrap(),
            Plug::Direct {
                dev: "eth7".into(),
                mode: "vepa"
            }
        );
    }

    #[test]
    fn parameters_set_and_clear_directions() {
        let mut bw = Bandwidth::default();
        apply_params(
            &mut bw,
            &[uint("inbound.average", 100), uint("outbound.peak", 5)],
        )
        .unwrap();
        assert_eq!(bw.inbound.unwrap().average, 100);
        // An outbound rate without an average shapes nothing and is dropped.
        assert!(bw.outbound.is_none());
        apply_params(&mut bw, &[uint("inbound.average", 0)]).unwrap();
        assert!(bw.inbound.is_none());
        let e = apply_params(&mut bw, &[uint("sideways", 1)]).unwrap_err();
        assert_eq!(
            e.text(),
            "argument unsupported: parameter 'sideways' not supported"
        );
    }
}
