//! Plugging guest interfaces into host networks: `<interface type='network'>`,
//! `<interface type='bridge'>` and `<interface type='direct'>`.
//!
//! At start, a `network` interface gets a port from the network driver (another module,
//! reached by host calls, never linked: `NETWORK_LOOKUP_BY_NAME`, then
//! `NETWORK_PORT_CREATE_XML` with the domain as owner, as libvirt's qemu driver does); the
//! port's plug names the bridge, or for a `direct` plug the host device and mode. A
//! `bridge` interface names its bridge itself. For a bridge this driver creates a tap
//! device (`TUNSETIFF` on `/dev/net/tun`, `vnetN` numbered on across the daemon's life as
//! libvirt numbers them, unless the definition names one), gives it the guest's MAC with
//! `fe` as first byte (as libvirt, so the bridge never takes the guest's address), the
//! interface's MTU (or the bridge's), attaches it to the bridge and brings it up. A
//! `direct` interface or plug gets a macvtap instead ([`crate::macvtap`]). QEMU inherits
//! the device's descriptor (`-netdev tap,id=hostnet0,fd=N`, as libvirt passes it); the
//! daemon closes its copy once QEMU runs, so a tap goes when QEMU goes. The live
//! definition records the device in `<target dev>`; at stop (or when QEMU dies) it is
//! removed and the domain's ports are deleted (found by owner and MAC, so a restarted
//! daemon finds them too).

use std::os::fd::AsRawFd;
use std::process::Command;

use rvirt_plugin_api::calls::call_driver;
use rvirt_plugin_api::protocol::{
    self as p, remote_proc, DriverKind, RemoteError, RemoteNonnullNetwork, RemoteNonnullNetworkPort,
};
use rvirt_xml::domain::{Device, DomainDef, Interface, LivePlug, LivePort};
use rvirt_xml::network::{NetworkPort, Plug};
use rvirt_xml::Uuid;

use crate::error::{QResult, QemuError};

/// `TUNSETIFF`: `_IOW('T', 202, int)`.
const TUNSETIFF: u64 = 0x4004_54ca;
const IFF_TAP: i16 = 0x0002;
const IFF_NO_PI: i16 = 0x1000;
const IFF_VNET_HDR: i16 = 0x4000;

/// `struct ifreq` as `TUNSETIFF` reads it: the name, then the flags of the union.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: i16,
    _pad: [u8; 22],
}

/// Creates a tap named `template` (with `%d`, the kernel numbers it) and answers
/// its name and descriptor; the device lives as long as a descriptor of it is open.
fn create_tap(template: &str) -> std::io::Result<(String, std::fs::File)> {
    let tun = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")?;
    let mut req = IfReq {
        name: [0; 16],
        flags: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
        _pad: [0; 22],
    };
    let n = template.len().min(15);
    req.name[..n].copy_from_slice(&template.as_bytes()[..n]);
    // SAFETY: `tun` is an open /dev/net/tun descriptor for the whole call; `req` is an
    // initialised, correctly sized `struct ifreq` that outlives it, and TUNSETIFF reads
    // and writes nothing but that struct.
    if unsafe { nix::libc::ioctl(tun.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReq) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let end = req.name.iter().position(|b| *b == 0).unwrap_or(16);
    Ok((String::from_utf8_lossy(&req.name[..end]).into_owned(), tun))
}

/// The taps a start created, open until QEMU has inherited them.
#[derive(Debug, Default)]
pub struct Taps(Vec<(String, std::fs::File)>);

impl Taps {
    /// The descriptors QEMU inherits.
    pub fn fds(&self) -> Vec<std::os::fd::RawFd> {
        self.0.iter().map(|(_, f)| f.as_raw_fd()).collect()
    }

    /// Turns the command line's `tap,...,ifname=TAP,script=no,downscript=no` (what the
    /// argv builder writes for a plugged interface) into `tap,...,fd=N` for each tap here.
    pub fn pass_by_fd(&self, args: &mut [String]) {
        for (tap, f) in &self.0 {
            let by_name = format!(",ifname={tap},script=no,downscript=no");
            let by_fd = format!(",fd={}", f.as_raw_fd());
            for a in args.iter_mut().filter(|a| a.starts_with("tap,")) {
                if a.ends_with(&by_name) {
                    *a = a.replace(&by_name, &by_fd);
                }
            }
        }
    }
}

/// Runs `ip ARGS`, the error naming what failed.
pub(crate) fn ip(args: &[&str]) -> QResult<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| QemuError::Failed(format!("cannot run ip: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(QemuError::Failed(format!(
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    ))
    .into())
}

/// The host side's MAC: the guest's with `fe` as first byte, as libvirt sets it.
fn host_mac(mac: &str) -> String {
    match mac.split_once(':') {
        Some((_, rest)) => format!("fe:{rest}"),
        None => mac.to_string(),
    }
}

/// The number of the next `vnetN` name this daemon hands out.
static NEXT_VNET: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A `vnetN` name no device has, numbered on from the last one handed out, as libvirt
/// names taps (a name freed by a stopped guest is not reused at once, so nothing that
/// still refers to the old device mistakes the new one for it).
fn next_vnet_name() -> String {
    use std::sync::atomic::Ordering;
    loop {
        let n = NEXT_VNET.fetch_add(1, Ordering::Relaxed);
        let name = format!("vnet{n}");
        if !std::path::Path::new("/sys/class/net").join(&name).exists() {
            return name;
        }
    }
}

/// The tap of `iface` on `bridge`, configured and up (it goes when `File` closes).
fn tap_on_bridge(iface: &Interface, bridge: &str) -> QResult<(String, std::fs::File)> {
    let template = match &iface.target_dev {
        Some(t) if !t.starts_with("vnet") && !t.contains('%') => t.clone(),
        _ => next_vnet_name(),
    };
    let (tap, fd) = create_tap(&template)
        .map_err(|e| QemuError::Failed(format!("Unable to create tap device {template}: {e}")))?;
    let configure = || -> QResult<()> {
        ip(&["link", "set", "dev", &tap, "address", &host_mac(&iface.mac)])?;
        let mtu = match iface.mtu {
            Some(m) => Some(m.to_string()),
            None => std::fs::read_to_string(format!("/sys/class/net/{bridge}/mtu"))
                .ok()
                .map(|m| m.trim().to_string()),
        };
        if let Some(mtu) = mtu {
            ip(&["link", "set", "dev", &tap, "mtu", &mtu])?;
        }
        ip(&["link", "set", "dev", &tap, "master", bridge])?;
        ip(&["link", "set", "dev", &tap, "up"])
    };
    configure()?;
    Ok((tap, fd))
}

/// Removes a tap this driver created while QEMU still holds it (QEMU's exit closes the
/// last descriptor, which removes it too), or a macvtap (which outlives QEMU).
fn remove_tap(tap: &str) {
    if std::path::Path::new("/sys/class/net").join(tap).exists() {
        if let Err(e) = ip(&["link", "del", "dev", tap]) {
            tracing::warn!("{}", e.text());
        }
    }
}

/// The empty reply of a procedure that returns nothing.
struct Void;

impl p::Xdr for Void {
    fn encode(&self, _: &mut Vec<u8>) {}
    fn decode(_: &mut p::Reader<'_>) -> Result<Void, p::XdrError> {
        Ok(Void)
    }
}

/// Calls the network driver serving `uri`; a missing module is named as such.
fn net_call<A: p::Xdr, R: p::Xdr>(
    uri: &str,
    procedure: i32,
    args: &A,
    network: &str,
) -> QResult<R> {
    call_driver(DriverKind::Network, uri, procedure, args).map_err(|e: RemoteError| {
        if e.code == p::error::code::NO_SUPPORT {
            QemuError::Unsupported(format!(
                "interface on network '{network}' needs the network driver, but no network \
                 driver module is loaded"
            ))
            .into()
        } else {
            e
        }
    })
}

fn lookup_network(uri: &str, name: &str) -> QResult<RemoteNonnullNetwork> {
    let args = p::RemoteNetworkLookupByNameArgs {
        name: name.to_string(),
    };
    let ret: p::RemoteNetworkLookupByNameRet =
        net_call(uri, remote_proc::NETWORK_LOOKUP_BY_NAME, &args, name)?;
    Ok(ret.net)
}

fn port_def(uri: &str, port: &RemoteNonnullNetworkPort, network: &str) -> QResult<NetworkPort> {
    let args = p::RemoteNetworkPortGetXmlDescArgs {
        port: port.clone(),
        flags: 0,
    };
    let ret: p::RemoteNetworkPortGetXmlDescRet =
        net_call(uri, remote_proc::NETWORK_PORT_GET_XML_DESC, &args, network)?;
    NetworkPort::parse(&ret.xml).map_err(|e| QemuError::Xml(e).into())
}

fn delete_port(uri: &str, port: RemoteNonnullNetworkPort, network: &str) -> QResult<()> {
    let args = p::RemoteNetworkPortDeleteArgs { port, flags: 0 };
    net_call::<_, Void>(uri, remote_proc::NETWORK_PORT_DELETE, &args, network).map(|_| ())
}

/// `s` as XML text.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What a port for `iface` of `def` asks its network for, as libvirt's qemu driver
/// asks: owner, port group, MAC and the interface's bandwidth (the network grants a
/// `floor`; the rates come back in the port and go on the tap).
fn port_request(def: &DomainDef, iface: &Interface) -> String {
    let group = iface
        .portgroup
        .as_deref()
        .map(|g| format!("<group>{}</group>", esc(g)))
        .unwrap_or_default();
    let mut bandwidth = rvirt_xml::out::Out::new();
    if let Some(b) = iface.extras.iter().find(|e| e.name == "bandwidth") {
        b.write(&mut bandwidth);
    }
    format!(
        "<networkport><uuid>{}</uuid><owner><name>{}</name><uuid>{}</uuid></owner>\
         {group}<mac address='{}'/>{}</networkport>",
        Uuid::random(),
        esc(&def.name),
        def.uuid,
        iface.mac,
        bandwidth.finish()
    )
}

/// The port `uuid` of `network` as the network driver describes it.
pub fn port_of(uri: &str, network: &str, uuid: &str) -> QResult<NetworkPort> {
    let port = RemoteNonnullNetworkPort {
        net: lookup_network(uri, network)?,
        uuid: Uuid::parse(uuid).map_err(QemuError::Xml)?.0,
    };
    port_def(uri, &port, network)
}

/// A port of `network` for `iface` of `def`; answers the port and where it is plugged.
fn create_port(
    uri: &str,
    def: &DomainDef,
    iface: &Interface,
    network: &str,
) -> QResult<(RemoteNonnullNetworkPort, LivePlug)> {
    let net = lookup_network(uri, network)?;
    let xml = port_request(def, iface);
    let args = p::RemoteNetworkPortCreateXmlArgs {
        network: net,
        xml,
        flags: 0,
    };
    let ret: p::RemoteNetworkPortCreateXmlRet =
        net_call(uri, remote_proc::NETWORK_PORT_CREATE_XML, &args, network)?;
    let port = ret.port;
    let plug = match port_def(uri, &port, network).map(|d| d.plug) {
        Ok(Some(Plug::Network { bridge, .. } | Plug::Bridge { bridge, .. })) => {
            Ok(LivePlug::Bridge(bridge))
        }
        Ok(Some(Plug::Direct { dev, mode })) => Ok(LivePlug::Direct {
            dev,
            mode: mode.to_string(),
        }),
        Ok(_) => Err(QemuError::Unsupported(format!(
            "network '{network}' plugs its ports into a host PCI device (hostdev), \
             which this driver does not do yet"
        ))
        .into()),
        Err(e) => Err(e),
    };
    match plug {
        Ok(b) => Ok((port, b)),
        Err(e) => {
            let _ = delete_port(uri, port, network);
            Err(e)
        }
    }
}

/// Plugs every `network` and `bridge` interface of the live definition `live` in,
/// recording each tap in `<target dev>`. On failure what was plugged is unplugged.
pub fn plug(uri: &str, live: &mut DomainDef) -> QResult<Taps> {
    let owner = live.clone();
    let mut taps = Taps::default();
    for n in 0..live.devices.len() {
        let Device::Interface(iface) = &live.devices[n] else {
            continue;
        };
        let r = plug_one(uri, &owner, iface);
        match r {
            Ok(Some((tap, fd, port))) => {
                if let Device::Interface(i) = &mut live.devices[n] {
                    i.target_dev = Some(tap.clone());
                    i.live_port = port;
                }
                taps.0.push((tap, fd));
            }
            Ok(None) => {}
            Err(e) => {
                unplug(uri, live);
                return Err(e);
            }
        }
    }
    Ok(taps)
}

/// One interface: its tap, or `None` for types this module does not plug.
/// A plugged interface: its tap, the tap's descriptor, and for a network interface the
/// port and where it is plugged in.
pub(crate) type Plugged = (String, std::fs::File, Option<LivePort>);

pub(crate) fn plug_one(
    uri: &str,
    owner: &DomainDef,
    iface: &Interface,
) -> QResult<Option<Plugged>> {
    let Some(source) = iface.source.clone() else {
        return Ok(None);
    };
    match iface.iface_type.as_str() {
        "bridge" => tap_on_bridge(iface, &source).map(|(tap, fd)| Some((tap, fd, None))),
        "direct" => {
            let mode = iface.source_mode.as_deref().unwrap_or("vepa");
            crate::macvtap::create(iface, &source, mode).map(|(tap, fd)| Some((tap, fd, None)))
        }
        "network" => {
            let (port, plug) = create_port(uri, owner, iface, &source)?;
            let made = match &plug {
                LivePlug::Bridge(bridge) => tap_on_bridge(iface, bridge),
                LivePlug::Direct { dev, mode } => crate::macvtap::create(iface, dev, mode),
            };
            let live = LivePort {
                portid: Uuid(port.uuid).to_string(),
                plug,
            };
            match made {
                Ok((tap, fd)) => Ok(Some((tap, fd, Some(live)))),
                Err(e) => {
                    let _ = delete_port(uri, port, &source);
                    Err(e)
                }
            }
        }
        _ => Ok(None),
    }
}

/// Removes the taps and macvtaps of the plugged interfaces of `live` and deletes the
/// domain's ports. Best effort: what fails is logged.
pub fn unplug(uri: &str, live: &DomainDef) {
    for dev in &live.devices {
        let Device::Interface(iface) = dev else {
            continue;
        };
        if !matches!(iface.iface_type.as_str(), "network" | "bridge" | "direct") {
            continue;
        }
        if let Some(tap) = &iface.target_dev {
            remove_tap(tap);
        }
        if iface.iface_type == "network" {
            if let Some(net) = &iface.source {
                if let Err(e) = delete_ports_of(uri, live, iface, net) {
                    tracing::warn!("domain '{}': {}", live.name, e.text());
                }
            }
        }
    }
}

/// Deletes the ports of `network` owned by `owner` with the MAC of `iface`.
fn delete_ports_of(uri: &str, owner: &DomainDef, iface: &Interface, network: &str) -> QResult<()> {
    let net = lookup_network(uri, network)?;
    let args = p::RemoteNetworkListAllPortsArgs {
        network: net,
        need_results: 1,
        flags: 0,
    };
    let ret: p::RemoteNetworkListAllPortsRet =
        net_call(uri, remote_proc::NETWORK_LIST_ALL_PORTS, &args, network)?;
    for port in ret.ports {
        let d = port_def(uri, &port, network)?;
        if d.owner_uuid == owner.uuid && d.mac == iface.mac {
            delete_port(uri, port, network)?;
        }
    }
    Ok(())
}

/// Sets the links of interfaces with `<link state='down'/>` down over the monitor, as
/// libvirt does before the CPUs start (the NIC is `netN`, N its place among the
/// interfaces).
pub fn set_link_states(
    qmp: &crate::qmp::Qmp,
    live: &DomainDef,
) -> Result<(), crate::qmp::QmpError> {
    let ifaces = live.devices.iter().filter_map(|d| match d {
        Device::Interface(i) => Some(i),
        _ => None,
    });
    for (n, iface) in ifaces.enumerate() {
        if iface.link_state.as_deref() == Some("down") {
            let args = serde_json::json!({ "name": format!("net{n}"), "up": false });
            qmp.execute("set_link", Some(args))?;
        }
    }
    Ok(())
}

/// `VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE`.
pub const ADDRESSES_SRC_LEASE: u32 =
    rvirt_plugin_api::protocol::facts::interface_addresses_source::LEASE;

/// `virDomainInterfaceAddresses` from the DHCP leases of the networks the running
/// domain's `network` interfaces are on (`domifaddr --source lease`): one entry per
/// interface that has a lease, named after its tap.
pub fn interface_addresses(
    uri: &str,
    live: &DomainDef,
    source: u32,
) -> QResult<Vec<p::RemoteDomainInterface>> {
    if source != ADDRESSES_SRC_LEASE {
        return Err(QemuError::Unsupported(format!(
            "IP address data source {source} is not supported by this driver"
        ))
        .into());
    }
    let mut out = Vec::new();
    for dev in &live.devices {
        let Device::Interface(iface) = dev else {
            continue;
        };
        let (Some(network), "network") = (&iface.source, iface.iface_type.as_str()) else {
            continue;
        };
        let args = p::RemoteNetworkGetDhcpLeasesArgs {
            net: lookup_network(uri, network)?,
            mac: Some(iface.mac.clone()),
            need_results: 1,
            flags: 0,
        };
        let ret: p::RemoteNetworkGetDhcpLeasesRet =
            net_call(uri, remote_proc::NETWORK_GET_DHCP_LEASES, &args, network)?;
        if ret.leases.is_empty() {
            continue;
        }
        out.push(p::RemoteDomainInterface {
            name: iface.target_dev.clone().unwrap_or_default(),
            hwaddr: Some(iface.mac.clone()),
            addrs: ret
                .leases
                .into_iter()
                .map(|l| p::RemoteDomainIpAddr {
                    r#type: l.r#type,
                    addr: l.ipaddr,
                    prefix: l.prefix,
                })
                .collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_side_mac_starts_with_fe() {
        assert_eq!(host_mac("52:54:00:12:34:56"), "fe:54:00:12:34:56");
    }

    #[test]
    fn plugged_taps_are_passed_by_descriptor() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let fd = f.as_raw_fd();
        let taps = Taps(vec![("vnet3".into(), f)]);
        let mut args = vec![
            "-netdev".to_string(),
            "tap,id=hostnet0,ifname=vnet3,script=no,downscript=no".to_string(),
            "tap,id=hostnet1,ifname=vnet30,script=no,downscript=no".to_string(),
        ];
        taps.pass_by_fd(&mut args);
        assert_eq!(args[1], format!("tap,id=hostnet0,fd={fd}"));
        assert_eq!(
            args[2],
            "tap,id=hostnet1,ifname=vnet30,script=no,downscript=no"
        );
        assert_eq!(taps.fds(), [fd]);
    }

    #[test]
    fn ifreq_is_the_kernels_size() {
        assert_eq!(std::mem::size_of::<IfReq>(), 40);
    }

    #[test]
    fn without_a_host_the_network_driver_is_not_reached() {
        let x = "<domain type='kvm'><name>v</name><memory>65536</memory><os><type>hvm</type>\
                 </os><devices><interface type='network'><source network='default'/>\
                 </interface></devices></domain>";
        let mut d = DomainDef::parse(x).unwrap();
        // No host in a unit test: the lookup fails before any tap is created.
        let e = plug("qemu:///system", &mut d).unwrap_err();
        assert!(e.text().contains("not attached to a host"), "{}", e.text());
    }
}
