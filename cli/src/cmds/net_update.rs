//! `net-update`: change one part of a network's configuration, live and/or persistent.

use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Opt};

use super::read_file;

pub const OPTS: &[Opt] = &[
    Opt::network(),
    Opt::req(
        "command",
        "type of update (add-first, add-last (add), delete, or modify)",
    ),
    Opt::req("section", "which section of network configuration to update"),
    Opt::req("xml", "name of file containing xml (or, if it starts with '<', the complete xml element itself) to add/modify, or to be matched for search"),
    Opt::int("parent-index", "which parent object to search through"),
    Opt::flag("config", "affect next network startup"),
    Opt::flag("live", "affect running network"),
    Opt::flag("current", "affect current state of network"),
];

/// `VIR_NETWORK_UPDATE_AFFECT_LIVE` and `_CONFIG` from the options, refusing --current
/// with either.
fn affect(a: &Args) -> Result<(bool, bool), CmdError> {
    let (live, config) = (a.has("live"), a.has("config"));
    for (other, name) in [(live, "live"), (config, "config")] {
        if other && a.has("current") {
            return Err(CmdError::Msg(format!(
                "Options --current and --{name} are mutually exclusive"
            )));
        }
    }
    Ok((live, config))
}

pub fn net_update(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let (live, config) = affect(a)?;
    let net = ctl.network(a.req("network")?)?;
    let name = a.req("command")?;
    let command = rvirt_xml::network::update::command_named(name)
        .ok_or_else(|| CmdError::Msg(format!("unrecognized command name '{name}'")))?;
    let name = a.req("section")?;
    let section = rvirt_xml::network::update::section_named(name)
        .filter(|&n| n != 0)
        .ok_or_else(|| CmdError::Msg(format!("unrecognized section name '{name}'")))?;
    let xml = a.req("xml")?;
    let xml = if xml.starts_with('<') {
        xml.to_string()
    } else {
        read_file(xml)?
    };
    use rvirt_xml::network::update::{AFFECT_CONFIG, AFFECT_LIVE};
    let flags = if live { AFFECT_LIVE } else { 0 } | if config { AFFECT_CONFIG } else { 0 };
    let parent_index = a.int::<i32>("parent-index")?.unwrap_or(-1);
    let c = ctl.conn()?;
    let args = p::RemoteNetworkUpdateArgs {
        net: net.clone(),
        command,
        section,
        parent_index,
        xml,
        flags,
    };
    c.network_update(&args)
        .ctx(|| format!("Failed to update network {}", net.name))?;
    let what = match (config, live) {
        (true, true) => "persistent config and live state",
        (true, false) => "persistent config",
        (false, true) => "live state",
        (false, false) => {
            let active = c
                .network_is_active(&p::RemoteNetworkIsActiveArgs { net: net.clone() })
                .map(|r| r.active == 1)
                .unwrap_or(false);
            if active {
                "live state"
            } else {
                "persistent config"
            }
        }
    };
    // virsh leaves the line to the blank line that ends every command.
    print!("Updated network {} {what}", net.name);
    Ok(())
}
