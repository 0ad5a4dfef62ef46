//! Host device commands: nodedev-list, nodedev-dumpxml, nodedev-info; the commands that
//! change devices are in `nodedev_ops`.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;
use rvirt_xml::nodedev::CAP_TYPES;

use crate::ctl::{is_no_support, CmdError, Context, Ctl};
use crate::fmt::{obj, Json};
use crate::opts::{Args, Cmd, Opt};

use super::nodedev_ops as ops;
use super::sort_by_name;

pub const CMDS: &[Cmd] = &[
    cmd(
        "nodedev-autostart",
        "autostart a defined node device",
        "Configure a node device to be automatically started at boot.",
        &[DEVICE, Opt::flag("disable", "disable autostarting")],
        ops::nodedev_autostart,
    ),
    cmd(
        "nodedev-create",
        "create a device defined by an XML file on the node",
        "Create a device on the node.  Note that this command creates devices on the physical host that can then be assigned to a virtual machine.",
        &[FILE, VALIDATE],
        ops::nodedev_create,
    ),
    cmd(
        "nodedev-define",
        "Define a device by an xml file on a node",
        "Defines a persistent device on the node that can be assigned to a domain. The device must be started before it can be assigned to a domain.",
        &[FILE, VALIDATE],
        ops::nodedev_define,
    ),
    cmd(
        "nodedev-destroy",
        "destroy (stop) a device on the node",
        "Destroy a device on the node.  Note that this command destroys devices on the physical host",
        &[DEVICE],
        ops::nodedev_destroy,
    ),
    cmd(
        "nodedev-detach",
        "detach node device from its device driver",
        "Detach node device from its device driver before assigning to a domain.",
        &[DEVICE, Opt::string("driver", "pci device assignment backend driver (e.g. 'vfio' or 'xen')")],
        ops::nodedev_detach,
    ),
    cmd(
        "nodedev-dumpxml",
        "node device details in XML",
        "Output the node device details as an XML dump to stdout.",
        &[DEVICE],
        nodedev_dumpxml,
    ),
    cmd(
        "nodedev-event",
        "Node Device Events",
        "List event types, or wait for node device events to occur",
        super::object_event::NODEDEV_OPTS,
        super::object_event::nodedev_event,
    ),
    cmd(
        "nodedev-info",
        "node device information",
        "Returns basic information about the node device",
        &[DEVICE, Opt::json()],
        nodedev_info,
    ),
    cmd(
        "nodedev-list",
        "enumerate devices on this host",
        "",
        LIST,
        nodedev_list,
    ),
    cmd(
        "nodedev-reattach",
        "reattach node device to its device driver",
        "Reattach node device to its device driver once released by the domain.",
        &[DEVICE],
        ops::nodedev_reattach,
    ),
    cmd(
        "nodedev-reset",
        "reset node device",
        "Reset node device before or after assigning to a domain.",
        &[DEVICE],
        ops::nodedev_reset,
    ),
    cmd(
        "nodedev-start",
        "start an inactive node device",
        "Starts an inactive node device that was previously defined",
        &[DEVICE],
        ops::nodedev_start,
    ),
    cmd(
        "nodedev-undefine",
        "Undefine an inactive node device",
        "Undefines the configuration for an inactive node device",
        &[DEVICE],
        ops::nodedev_undefine,
    ),
];

const FILE: Opt = Opt::file("file containing an XML description of the device");
const VALIDATE: Opt = Opt::flag("validate", "validate the XML against the schema");
const DEVICE: Opt = Opt::req("device", "device name or wwn pair in 'wwnn,wwpn' format");
const LIST: &[Opt] = &[
    Opt::flag("tree", "list devices in a tree"),
    Opt::string("cap", "capability names, separated by comma"),
    Opt::flag("inactive", "list inactive devices"),
    Opt::flag("all", "list inactive & active devices"),
    Opt::json(),
];

fn cap_flags(caps: &[&str]) -> Result<u32, CmdError> {
    let mut f = 0;
    for c in caps {
        let i = CAP_TYPES
            .iter()
            .position(|x| x == c)
            .ok_or_else(|| CmdError::Msg("Invalid capability type".into()))?;
        f |= 1 << i;
    }
    Ok(f)
}

fn collect(
    c: &rvirt_core::client::Connect,
    caps: &[&str],
    flags: u32,
) -> Result<Vec<String>, CmdError> {
    let args = p::RemoteConnectListAllNodeDevicesArgs {
        need_results: 1,
        flags,
    };
    match c.connect_list_all_node_devices(&args) {
        Ok(r) => return Ok(r.devices.into_iter().map(|d| d.name).collect()),
        Err(e) if !is_no_support(&e) => {
            return Err(CmdError::Ctx {
                msg: "Failed to list node devices".into(),
                err: e,
            })
        }
        Err(_) => {}
    }
    let n = c
        .node_num_of_devices(&p::RemoteNodeNumOfDevicesArgs {
            cap: None,
            flags: 0,
        })
        .ctx(|| "Failed to count node devices".into())?
        .num;
    let names = c
        .node_list_devices(&p::RemoteNodeListDevicesArgs {
            cap: None,
            maxnames: n,
            flags: 0,
        })
        .ctx(|| "Failed to list node devices".into())?
        .names;
    if caps.is_empty() {
        return Ok(names);
    }
    let mut out = Vec::new();
    for name in names {
        let dev_caps = c
            .node_device_list_caps(&p::RemoteNodeDeviceListCapsArgs {
                name: name.clone(),
                maxnames: 65536,
            })?
            .names;
        if dev_caps.iter().any(|dc| caps.contains(&dc.as_str())) {
            out.push(name);
        }
    }
    Ok(out)
}

fn nodedev_list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let (tree, inactive, all) = (a.has("tree"), a.has("inactive"), a.has("all"));
    let caps: Vec<&str> = a
        .get("cap")
        .map(|c| c.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if all && inactive {
        return Err(CmdError::Msg(
            "Option --all is incompatible with --inactive".into(),
        ));
    }
    if tree && (!caps.is_empty() || inactive) {
        return Err(CmdError::Msg(
            "Option --tree is incompatible with --cap and --inactive".into(),
        ));
    }
    let mut flags = cap_flags(&caps)?;
    if inactive || all {
        flags |= 1 << 30;
    }
    if !inactive {
        flags |= 1 << 31;
    }
    let c = ctl.conn()?;
    let mut names = collect(c, &caps, flags)?;
    sort_by_name(&mut names, |n| n);
    if !tree {
        if a.has("json") {
            print!(
                "{}",
                Json::Arr(names.into_iter().map(Json::Str).collect()).render()
            );
        } else {
            for n in names {
                println!("{n}");
            }
        }
        return Ok(());
    }
    let parents: Vec<Option<String>> = names
        .iter()
        .map(|n| {
            if n == "computer" {
                None
            } else {
                c.node_device_get_parent(&p::RemoteNodeDeviceGetParentArgs { name: n.clone() })
                    .ok()
                    .and_then(|r| r.parent_name)
            }
        })
        .collect();
    let mut out = String::new();
    for i in 0..names.len() {
        if parents[i].is_none() {
            tree_print(&names, &parents, i, i, true, &mut String::new(), &mut out);
        }
    }
    print!("{out}");
    Ok(())
}

/// virsh's device tree: `+- child` lines, `|` connectors, a blank line after each subtree.
fn tree_print(
    names: &[String],
    parents: &[Option<String>],
    dev: usize,
    last: usize,
    root: bool,
    indent: &mut String,
    out: &mut String,
) {
    out.push_str(&format!(
        "{indent}{}{}\n",
        if root { "" } else { "+- " },
        names[dev]
    ));
    if !root {
        indent.push_str(if dev == last { "  " } else { "| " });
    }
    let children: Vec<usize> = (0..names.len())
        .filter(|i| parents[*i].as_deref() == Some(names[dev].as_str()))
        .collect();
    let next_last = children.last().copied();
    if next_last.is_some() {
        out.push_str(&format!("{indent}  |\n"));
    }
    indent.push_str("  ");
    for ch in &children {
        tree_print(
            names,
            parents,
            *ch,
            next_last.unwrap_or(usize::MAX),
            false,
            indent,
            out,
        );
    }
    indent.truncate(indent.len() - 2);
    if next_last.is_none() && dev == last {
        out.push_str(&format!("{indent}\n"));
    }
    if !root {
        indent.truncate(indent.len() - 2);
    }
}

fn nodedev_dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dev = ctl.nodedev(a.req("device")?)?;
    let xml = ctl
        .conn()?
        .node_device_get_xml_desc(&p::RemoteNodeDeviceGetXmlDescArgs {
            name: dev.name,
            flags: 0,
        })?
        .xml;
    print!("{xml}");
    Ok(())
}

fn nodedev_info(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dev = ctl.nodedev(a.req("device")?)?;
    let c = ctl.conn()?;
    let name = dev.name.clone();
    let parent = c
        .node_device_get_parent(&p::RemoteNodeDeviceGetParentArgs { name: name.clone() })
        .ok()
        .and_then(|r| r.parent_name);
    let active = c
        .node_device_is_active(&p::RemoteNodeDeviceIsActiveArgs { name: name.clone() })
        .is_ok_and(|r| r.active != 0);
    let persistent = c
        .node_device_is_persistent(&p::RemoteNodeDeviceIsPersistentArgs { name: name.clone() })
        .is_ok_and(|r| r.persistent != 0);
    let autostart = c
        .node_device_get_autostart(&p::RemoteNodeDeviceGetAutostartArgs { name: name.clone() })
        .ok()
        .map(|r| r.autostart != 0);
    let yn = |b: bool| if b { "yes" } else { "no" };
    if a.has("json") {
        let j = obj([
            ("name", name.into()),
            ("parent", parent.into()),
            ("active", active.into()),
            ("persistent", persistent.into()),
            ("autostart", autostart.into()),
        ]);
        print!("{}", j.render());
        return Ok(());
    }
    println!("{:<15} {}", "Name:", name);
    println!("{:<15} {}", "Parent:", parent.unwrap_or_default());
    println!("{:<15} {}", "Active:", yn(active));
    println!("{:<15} {}", "Persistent:", yn(persistent));
    println!(
        "{:<15} {}",
        "Autostart:",
        autostart.map_or("no autostart", yn)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_like_virsh() {
        let names: Vec<String> = ["computer", "scsi_host1", "scsi_host2", "child"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let parents = vec![
            None,
            Some("computer".to_string()),
            Some("computer".to_string()),
            Some("scsi_host1".to_string()),
        ];
        let mut out = String::new();
        tree_print(&names, &parents, 0, 0, true, &mut String::new(), &mut out);
        assert_eq!(out, "computer\n  |\n  +- scsi_host1\n  |   |\n  |   +- child\n  |     \n  +- scsi_host2\n    \n");
    }

    #[test]
    fn flags() {
        assert_eq!(cap_flags(&["pci"]).unwrap(), 2);
        assert!(cap_flags(&["nope"]).is_err());
    }
}
