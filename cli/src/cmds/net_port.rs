//! Network port commands: `net-port-create`, `net-port-list`, `net-port-dumpxml`,
//! `net-port-delete`.

use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::ctl::{parse_uuid, uuid_str, CmdError, Context, Ctl};
use crate::fmt::Table;
use crate::opts::{Args, Opt};

use super::{flag_bits, read_file};

/// `VIR_NETWORK_PORT_CREATE_VALIDATE`.
const CREATE_VALIDATE: u32 = rvirt_protocol::facts::network_port_create::VALIDATE;

pub const CREATE: &[Opt] = &[
    Opt::network(),
    Opt::file("file containing an XML network port description"),
    Opt::flag("validate", "validate the XML against the schema"),
];
pub const LIST: &[Opt] = &[
    Opt::network(),
    Opt::flag("uuid", "list uuid's only"),
    Opt::flag("table", "list table (default)"),
];
pub const PORT: &[Opt] = &[Opt::network(), Opt::req("port", "port UUID")];

/// The port `key` (a UUID) of `net`. Like virsh, a failed lookup is reported by the
/// port alone, without the driver's message.
fn port(
    ctl: &mut Ctl,
    net: p::RemoteNonnullNetwork,
    key: &str,
) -> Result<p::RemoteNonnullNetworkPort, CmdError> {
    let failed = || CmdError::Msg(format!("failed to get network port '{key}'"));
    let uuid = parse_uuid(key).ok_or_else(failed)?;
    ctl.conn()?
        .network_port_lookup_by_uuid(&p::RemoteNetworkPortLookupByUuidArgs { network: net, uuid })
        .map(|r| r.port)
        .map_err(|_| failed())
}

pub fn net_port_create(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let network = ctl.network(a.req("network")?)?;
    let file = a.req("file")?;
    let xml = read_file(file)?;
    let flags = flag_bits(a, &[("validate", CREATE_VALIDATE)]);
    let port = ctl
        .conn()?
        .network_port_create_xml(&p::RemoteNetworkPortCreateXmlArgs {
            network,
            xml,
            flags,
        })
        // virsh 9.0's words, "network" and all.
        .ctx(|| format!("Failed to create network from {file}"))?
        .port;
    println!("Network port {} created from {file}", uuid_str(&port.uuid));
    Ok(())
}

pub fn net_port_list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let network = ctl.network(a.req("network")?)?;
    let mut uuids: Vec<String> = ctl
        .conn()?
        .network_list_all_ports(&p::RemoteNetworkListAllPortsArgs {
            network,
            need_results: 1,
            flags: 0,
        })
        .ctx(|| "Failed to list network ports".into())?
        .ports
        .iter()
        .map(|port| uuid_str(&port.uuid))
        .collect();
    uuids.sort();
    if a.has("uuid") && !a.has("table") {
        for u in &uuids {
            println!("{u}");
        }
        return Ok(());
    }
    let mut t = Table::new(&["UUID"]);
    for u in uuids {
        t.row(vec![u]);
    }
    print!("{}", t.render());
    Ok(())
}

pub fn net_port_dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let net = ctl.network(a.req("network")?)?;
    let port = port(ctl, net, a.req("port")?)?;
    let xml = ctl
        .conn()?
        .network_port_get_xml_desc(&p::RemoteNetworkPortGetXmlDescArgs { port, flags: 0 })?
        .xml;
    print!("{xml}");
    Ok(())
}

pub fn net_port_delete(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let net = ctl.network(a.req("network")?)?;
    let key = a.req("port")?.to_string();
    let port = port(ctl, net, &key)?;
    ctl.conn()?
        .network_port_delete(&p::RemoteNetworkPortDeleteArgs { port, flags: 0 })
        .ctx(|| format!("Failed to delete network port {key}"))?;
    println!("Network port {key} deleted");
    Ok(())
}
