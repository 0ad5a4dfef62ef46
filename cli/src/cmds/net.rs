//! Virtual network commands.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::facts;
use rvirt_protocol::RemoteClient;

use crate::ctl::{uuid_str, CmdError, Context, Ctl};
use crate::fmt::{obj, Json, Table};
use crate::opts::{Args, Cmd, Opt};

use super::{flag_bits, read_file, sort_by_name};

const FROM_FILE: &[Opt] = &[
    Opt::file("file containing an XML network description"),
    Opt::flag("validate", "validate the XML against the schema"),
];

pub const CMDS: &[Cmd] = &[
    cmd("net-autostart", "autostart a network", "Configure a network to be automatically started at boot.", AUTOSTART, net_autostart),
    cmd("net-create", "create a network from an XML file", "Create a network.", FROM_FILE, net_create),
    cmd("net-define", "define an inactive persistent virtual network or modify an existing persistent one from an XML file", "Define or modify a persistent virtual network.", FROM_FILE, net_define),
    cmd("net-desc", "show or set network's description or title", "Allows setting or modifying the description or title of a network.", super::net_meta::DESC, super::net_meta::net_desc),
    cmd("net-destroy", "destroy (stop) a network", "Forcefully stop a given network.", &[Opt::network()], net_destroy),
    cmd("net-dhcp-leases", "print lease info for a given network", "Print lease info for a given network", LEASES, net_dhcp_leases),
    cmd("net-dumpxml", "network information in XML", "Output the network information as an XML dump to stdout.", DUMPXML, net_dumpxml),
    cmd("net-edit", "edit XML configuration for a network", "Edit the XML configuration for a network.", &[Opt::network()], net_edit),
    cmd("net-event", "Network Events", "List event types, or wait for network events to occur", super::object_event::NET_OPTS, super::object_event::net_event),
    cmd("net-info", "network information", "Returns basic information about the network", &[Opt::network(), Opt::json()], net_info),
    cmd("net-list", "list networks", "Returns list of networks.", LIST, net_list),
    cmd("net-metadata", "show or set network's custom XML metadata", "Shows or modifies the XML metadata of a network.", super::net_meta::METADATA, super::net_meta::net_metadata),
    cmd("net-name", "convert a network UUID to network name", "", &[Opt::req("network", "network uuid")], net_name),
    cmd("net-port-create", "create a network port from an XML file", "Create a network port.", super::net_port::CREATE, super::net_port::net_port_create),
    cmd("net-port-delete", "delete the specified network port", "Delete the specified network port.", super::net_port::PORT, super::net_port::net_port_delete),
    cmd("net-port-dumpxml", "network port information in XML", "Output the network port information as an XML dump to stdout.", super::net_port::PORT, super::net_port::net_port_dumpxml),
    cmd("net-port-list", "list network ports", "Returns list of network ports.", super::net_port::LIST, super::net_port::net_port_list),
    cmd("net-start", "start a (previously defined) inactive network", "Start a network.", &[Opt::network()], net_start),
    cmd("net-undefine", "undefine a persistent network", "Undefine the configuration for a persistent network.", &[Opt::network()], net_undefine),
    cmd("net-update", "update parts of an existing network's configuration", "", super::net_update::OPTS, super::net_update::net_update),
    cmd("net-uuid", "convert a network name to network UUID", "", &[Opt::req("network", "network name")], net_uuid),
];

const AUTOSTART: &[Opt] = &[Opt::network(), Opt::flag("disable", "disable autostarting")];
const DUMPXML: &[Opt] = &[
    Opt::network(),
    Opt::flag("inactive", "show inactive defined XML"),
];
const LEASES: &[Opt] = &[
    Opt::req("network", "network name").completes(crate::opts::Complete::Network),
    Opt::named("mac", "MAC address"),
    Opt::json(),
];
const LIST: &[Opt] = &[
    Opt::flag("inactive", "list inactive networks"),
    Opt::flag("all", "list inactive & active networks"),
    Opt::flag("persistent", "list persistent networks"),
    Opt::flag("transient", "list transient networks"),
    Opt::flag("autostart", "list networks with autostart enabled"),
    Opt::flag("no-autostart", "list networks with autostart disabled"),
    Opt::flag("uuid", "list uuid's only"),
    Opt::flag("name", "list network names only"),
    Opt::flag("table", "list table (default)"),
    Opt::json(),
];

struct NetRow {
    name: String,
    uuid: String,
    active: bool,
    persistent: Option<bool>,
    autostart: Option<bool>,
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn net_list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    if [a.has("table"), a.has("name"), a.has("uuid")]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        return Err(CmdError::Msg(
            "Only one argument from --table, --name and --uuid may be specified.".into(),
        ));
    }
    use facts::network_list as l;
    let mut flags = if a.has("all") {
        l::ACTIVE | l::INACTIVE
    } else if a.has("inactive") {
        l::INACTIVE
    } else {
        l::ACTIVE
    };
    flags |= flag_bits(
        a,
        &[
            ("persistent", l::PERSISTENT),
            ("transient", l::TRANSIENT),
            ("autostart", l::AUTOSTART),
            ("no-autostart", l::NO_AUTOSTART),
        ],
    );
    let c = ctl.conn()?;
    let mut nets = c
        .connect_list_all_networks(&p::RemoteConnectListAllNetworksArgs {
            need_results: 1,
            flags,
        })
        .ctx(|| "Failed to list networks".into())?
        .nets;
    sort_by_name(&mut nets, |n| &n.name);
    if a.has("name") || a.has("uuid") {
        for n in &nets {
            println!(
                "{}",
                if a.has("uuid") {
                    uuid_str(&n.uuid)
                } else {
                    n.name.clone()
                }
            );
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    for n in nets {
        let autostart = c
            .network_get_autostart(&p::RemoteNetworkGetAutostartArgs { net: n.clone() })
            .ok()
            .map(|r| r.autostart != 0);
        let persistent = c
            .network_is_persistent(&p::RemoteNetworkIsPersistentArgs { net: n.clone() })
            .ok()
            .map(|r| r.persistent != 0);
        let active = c
            .network_is_active(&p::RemoteNetworkIsActiveArgs { net: n.clone() })
            .is_ok_and(|r| r.active != 0);
        rows.push(NetRow {
            uuid: uuid_str(&n.uuid),
            name: n.name,
            active,
            persistent,
            autostart,
        });
    }
    if a.has("json") {
        let items = rows
            .into_iter()
            .map(|r| {
                obj([
                    ("name", r.name.into()),
                    ("uuid", r.uuid.into()),
                    ("active", r.active.into()),
                    ("autostart", r.autostart.into()),
                    ("persistent", r.persistent.into()),
                ])
            })
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let mut t = Table::new(&["Name", "State", "Autostart", "Persistent"]);
    for r in rows {
        t.row(vec![
            r.name,
            (if r.active { "active" } else { "inactive" }).into(),
            r.autostart.map_or("no autostart", yes_no).into(),
            yes_no(r.persistent.unwrap_or(false)).into(),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

fn net_info(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let net = ctl.network(a.req("network")?)?;
    let c = ctl.conn()?;
    let active = c
        .network_is_active(&p::RemoteNetworkIsActiveArgs { net: net.clone() })
        .ok()
        .map(|r| r.active != 0);
    let persistent = c
        .network_is_persistent(&p::RemoteNetworkIsPersistentArgs { net: net.clone() })
        .ok()
        .map(|r| r.persistent != 0);
    let autostart = c
        .network_get_autostart(&p::RemoteNetworkGetAutostartArgs { net: net.clone() })
        .ok()
        .map(|r| r.autostart != 0);
    let bridge = c
        .network_get_bridge_name(&p::RemoteNetworkGetBridgeNameArgs { net: net.clone() })
        .ok()
        .map(|r| r.name);
    if a.has("json") {
        let j = obj([
            ("name", net.name.as_str().into()),
            ("uuid", uuid_str(&net.uuid).into()),
            ("active", active.into()),
            ("persistent", persistent.into()),
            ("autostart", autostart.into()),
            ("bridge", bridge.into()),
        ]);
        print!("{}", j.render());
        return Ok(());
    }
    println!("{:<15} {}", "Name:", net.name);
    println!("{:<15} {}", "UUID:", uuid_str(&net.uuid));
    if let Some(a) = active {
        println!("{:<15} {}", "Active:", yes_no(a));
    }
    println!(
        "{:<15} {}",
        "Persistent:",
        persistent.map_or("unknown", yes_no)
    );
    println!(
        "{:<15} {}",
        "Autostart:",
        autostart.map_or("no autostart", yes_no)
    );
    if let Some(b) = bridge {
        println!("{:<15} {}", "Bridge:", b);
    }
    Ok(())
}

fn net_dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let net = ctl.network(a.req("network")?)?;
    let flags = flag_bits(a, &[("inactive", facts::network_xml::INACTIVE)]);
    print!(
        "{}",
        ctl.conn()?
            .network_get_xml_desc(&p::RemoteNetworkGetXmlDescArgs { net, flags })?
            .xml
    );
    Ok(())
}

fn net_define(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?;
    let xml = read_file(file)?;
    let flags = flag_bits(a, &[("validate", facts::DEFINE_VALIDATE)]);
    let c = ctl.conn()?;
    // Like virsh: the flags call only when there are flags, for older servers.
    let r = if flags == 0 {
        c.network_define_xml(&p::RemoteNetworkDefineXmlArgs { xml })
            .map(|r| r.net)
    } else {
        c.network_define_xml_flags(&p::RemoteNetworkDefineXmlFlagsArgs { xml, flags })
            .map(|r| r.net)
    };
    let net = r.ctx(|| format!("Failed to define network from {file}"))?;
    println!("Network {} defined from {file}", net.name);
    Ok(())
}

fn net_create(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?;
    let xml = read_file(file)?;
    let flags = flag_bits(a, &[("validate", facts::DEFINE_VALIDATE)]);
    let c = ctl.conn()?;
    let r = if flags == 0 {
        c.network_create_xml(&p::RemoteNetworkCreateXmlArgs { xml })
            .map(|r| r.net)
    } else {
        c.network_create_xml_flags(&p::RemoteNetworkCreateXmlFlagsArgs { xml, flags })
            .map(|r| r.net)
    };
    let net = r.ctx(|| format!("Failed to create network from {file}"))?;
    println!("Network {} created from {file}", net.name);
    Ok(())
}

/// Looks up the network, runs one call, prints virsh's texts.
fn simple(
    ctl: &mut Ctl,
    a: &Args,
    call: impl FnOnce(
        &rvirt_core::client::Connect,
        p::RemoteNonnullNetwork,
    ) -> Result<(), rvirt_protocol::RemoteError>,
    fail: &str,
    done: &str,
) -> Result<(), CmdError> {
    let net = ctl.network(a.req("network")?)?;
    let name = net.name.clone();
    super::act(ctl, super::NETWORK, net, &name, call, fail, done)
}

fn net_start(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, net| c.network_create(&p::RemoteNetworkCreateArgs { net }),
        "start",
        "started",
    )
}

fn net_destroy(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, net| c.network_destroy(&p::RemoteNetworkDestroyArgs { net }),
        "destroy",
        "destroyed",
    )
}

fn net_undefine(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, net| c.network_undefine(&p::RemoteNetworkUndefineArgs { net }),
        "undefine",
        "has been undefined",
    )
}

fn net_autostart(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let net = ctl.network(a.req("network")?)?;
    let name = net.name.clone();
    let on = !a.has("disable");
    let r = ctl
        .conn()?
        .network_set_autostart(&p::RemoteNetworkSetAutostartArgs {
            net,
            autostart: i32::from(on),
        });
    super::autostart_done(super::NETWORK, &name, on, r)
}

fn net_name(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    println!("{}", ctl.network(a.req("network")?)?.name);
    Ok(())
}

fn net_uuid(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    println!("{}", uuid_str(&ctl.network(a.req("network")?)?.uuid));
    Ok(())
}

fn net_edit(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let net = ctl.network(a.req("network")?)?;
    let name = net.name.clone();
    let conn = ctl.conn()?;
    let xml = super::virsh::inactive_xml(|flags| {
        let a = p::RemoteNetworkGetXmlDescArgs {
            net: net.clone(),
            flags,
        };
        Ok(conn.network_get_xml_desc(&a)?.xml)
    })?;
    super::virsh::edit_and_define(
        &xml,
        "network",
        &name,
        |n| format!("Network {n}"),
        |new| {
            let r = conn.network_define_xml(&p::RemoteNetworkDefineXmlArgs { xml: new });
            Ok(r.ctx(|| format!("Failed to define network {name}"))?
                .net
                .name)
        },
    )
}

fn net_dhcp_leases(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = a.req("network")?.to_string();
    let net = ctl.network(&name)?;
    let args = p::RemoteNetworkGetDhcpLeasesArgs {
        net,
        mac: a.get("mac").map(Into::into),
        need_results: 1,
        flags: 0,
    };
    let mut leases = ctl
        .conn()?
        .network_get_dhcp_leases(&args)
        .ctx(|| format!("Failed to get leases info for {name}"))?
        .leases;
    leases.sort_by(|x, y| x.mac.cmp(&y.mac));
    let rows: Vec<[String; 6]> = leases
        .iter()
        .map(|l| {
            [
                super::event_time(l.expirytime),
                l.mac.clone().unwrap_or_default(),
                (if l.r#type == 1 { "ipv6" } else { "ipv4" }).to_string(),
                format!("{}/{}", l.ipaddr, l.prefix),
                l.hostname.clone().unwrap_or_else(|| "-".into()),
                l.clientid.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    if a.has("json") {
        let keys = [
            "expiry_time",
            "mac",
            "protocol",
            "ip_address",
            "hostname",
            "client_id",
        ];
        let items = rows
            .into_iter()
            .map(|r| {
                Json::Obj(
                    keys.iter()
                        .map(|k| k.to_string())
                        .zip(r.into_iter().map(Json::Str))
                        .collect(),
                )
            })
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let mut t = Table::new(&[
        "Expiry Time",
        "MAC address",
        "Protocol",
        "IP address",
        "Hostname",
        "Client ID or DUID",
    ]);
    for r in rows {
        t.row(r.to_vec());
    }
    print!("{}", t.render());
    Ok(())
}
