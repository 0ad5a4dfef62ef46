//! `net-desc` and `net-metadata` (virsh 9.7): a network's title, description and
//! metadata elements, live or persistent, with virsh's options, messages and fallbacks.

use rvirt_core::client::Network;
use rvirt_protocol::error::code;
use rvirt_protocol::facts::metadata_type::{DESCRIPTION, ELEMENT, TITLE};
use rvirt_protocol::facts::network_affect::{CONFIG, LIVE};
use rvirt_protocol::RemoteError;

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Opt};

pub const DESC: &[Opt] = &[
    Opt::network(),
    Opt::flag("live", "modify/get running state"),
    Opt::flag("config", "modify/get persistent configuration"),
    Opt::flag("current", "modify/get current state configuration"),
    Opt::flag("title", "modify/get the title instead of description"),
    Opt::flag("edit", "open an editor to modify the description"),
    Opt::argv("new-desc", "message"),
];

pub const METADATA: &[Opt] = &[
    Opt::network(),
    Opt::req("uri", "URI of the namespace"),
    Opt::flag("live", "modify/get running state"),
    Opt::flag("config", "modify/get persistent configuration"),
    Opt::flag("current", "modify/get current state configuration"),
    Opt::flag("edit", "use an editor to change the metadata"),
    Opt::named("key", "key to be used as a namespace identifier"),
    Opt::named("set", "new metadata to set"),
    Opt::flag("remove", "remove the metadata corresponding to an uri"),
];

/// Refuses two options given together, in virsh's words.
fn exclusive(a: &Args, pairs: &[(&str, &str)]) -> Result<(), CmdError> {
    for (x, y) in pairs {
        if a.has(x) && a.has(y) {
            return Err(CmdError::Msg(format!(
                "Options --{x} and --{y} are mutually exclusive"
            )));
        }
    }
    Ok(())
}

/// The AFFECT flags of `--live` / `--config` (`--current` is 0).
fn affect(a: &Args) -> u32 {
    (if a.has("live") { LIVE } else { 0 }) | if a.has("config") { CONFIG } else { 0 }
}

fn network(ctl: &mut Ctl, a: &Args) -> Result<Network, CmdError> {
    let raw = ctl.network(a.req("network")?)?;
    Ok(Network::from_ref(ctl.conn()?, raw))
}

/// The title or description, "" when there is none; from the XML when the daemon does
/// not know the call, as virsh falls back.
fn description(net: &Network, kind: i32, flags: u32) -> Result<String, RemoteError> {
    match net.get_metadata(kind, None, flags) {
        Ok(d) => Ok(d),
        Err(e) if e.code == code::NO_NETWORK_METADATA => Ok(String::new()),
        Err(e) if e.code == code::NO_SUPPORT => {
            let inactive = if flags & CONFIG != 0 { 1 } else { 0 };
            let def = rvirt_xml::network::NetworkDef::parse(&net.xml_desc(inactive)?)
                .map_err(|x| RemoteError::new(x.code(), 0, x.to_string()))?;
            let d = if kind == TITLE {
                def.title
            } else {
                def.description
            };
            Ok(d.unwrap_or_default())
        }
        Err(e) => Err(e),
    }
}

pub fn net_desc(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    exclusive(a, &[("current", "live"), ("current", "config")])?;
    let flags = affect(a);
    let net = network(ctl, a)?;
    let title = a.has("title");
    let (kind, what) = if title {
        (TITLE, "title")
    } else {
        (DESCRIPTION, "description")
    };
    let words = a.all("new-desc");
    let arg = (!words.is_empty()).then(|| words.join(" "));
    if !a.has("edit") && arg.is_none() {
        let d = description(&net, kind, flags)?;
        if d.is_empty() {
            print!("No {what} for network: {}", net.name());
        } else {
            print!("{d}");
        }
        return Ok(());
    }
    let current = description(&net, kind, flags)?;
    let mut new = arg.unwrap_or_else(|| current.clone());
    if a.has("edit") {
        let mut edited = super::virsh::edit_plain(&new, "desc", net.name())?;
        // Editors add a final newline; a title has none.
        if title && edited.ends_with('\n') {
            edited.pop();
        }
        if edited == current {
            println!("Network {what} not changed");
            return Ok(());
        }
        new = edited;
    }
    net.set_metadata(kind, Some(&new), None, None, flags)
        .ctx(|| format!("Failed to set new network {what}"))?;
    print!("Network {what} updated successfully");
    Ok(())
}

pub fn net_metadata(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    exclusive(
        a,
        &[
            ("current", "live"),
            ("current", "config"),
            ("edit", "set"),
            ("remove", "set"),
            ("remove", "edit"),
        ],
    )?;
    let flags = affect(a);
    let net = network(ctl, a)?;
    let uri = a.req("uri")?;
    let (key, set) = (a.get("key"), a.get("set"));
    if (set.is_some() || a.has("edit")) && key.is_none() {
        return Err(CmdError::Msg(
            "namespace key is required when modifying metadata".into(),
        ));
    }
    if set.is_some() || a.has("remove") {
        net.set_metadata(ELEMENT, set, key, Some(uri), flags)?;
        println!(
            "{}",
            if set.is_some() {
                "Metadata modified"
            } else {
                "Metadata removed"
            }
        );
    } else if a.has("edit") {
        let old = net
            .get_metadata(ELEMENT, Some(uri), flags)
            .unwrap_or_else(|_| "\n".into());
        let Some(new) = super::virsh::edit_text(&old, "metadata", net.name())? else {
            print!("Metadata not changed");
            return Ok(());
        };
        net.set_metadata(ELEMENT, Some(&new), key, Some(uri), flags)?;
        println!("Metadata modified");
    } else {
        println!("{}", net.get_metadata(ELEMENT, Some(uri), flags)?);
    }
    Ok(())
}
