//! Domain snapshots, the rest of virsh's commands: snapshot-create (from XML, with
//! `--redefine`), snapshot-edit, snapshot-info, snapshot-parent.

use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Cmd, Opt};

use super::cmd;
use super::snapshot::snapshot;
use super::{flag_bits, read_file};

pub const CMDS: &[Cmd] = &[
    cmd(
        "snapshot-create",
        "Create a snapshot from XML",
        "Create a snapshot (disk and RAM) from XML",
        CREATE,
        create,
    ),
    cmd(
        "snapshot-edit",
        "edit XML for a snapshot",
        "Edit the domain snapshot XML for a named snapshot",
        EDIT,
        edit,
    ),
    cmd(
        "snapshot-info",
        "snapshot information",
        "Returns basic information about a snapshot.",
        NAMED,
        info,
    ),
    cmd(
        "snapshot-parent",
        "Get the name of the parent of a snapshot",
        "Extract the snapshot's parent, if any",
        NAMED,
        parent,
    ),
];

const CREATE: &[Opt] = &[
    Opt::domain(),
    Opt::string("xmlfile", "domain snapshot XML"),
    Opt::flag("redefine", "redefine metadata for existing snapshot"),
    Opt::flag("current", "with redefine, set current snapshot"),
    Opt::flag("no-metadata", "take snapshot but create no metadata"),
    Opt::flag("halt", "halt domain after snapshot is created"),
    Opt::flag("disk-only", "capture disk state but not vm state"),
    Opt::flag("reuse-external", "reuse any existing external files"),
    Opt::flag("quiesce", "quiesce guest's file systems"),
    Opt::flag("atomic", "require atomic operation"),
    Opt::flag("live", "take a live snapshot"),
    Opt::flag("validate", "validate the XML against the schema"),
];
const EDIT: &[Opt] = &[
    Opt::domain(),
    Opt::string("snapshotname", "snapshot name"),
    Opt::flag("current", "also set edited snapshot as current"),
];
const NAMED: &[Opt] = &[
    Opt::domain(),
    Opt::string("snapshotname", "snapshot name"),
    Opt::flag("current", "info on current snapshot"),
];

use rvirt_protocol::facts::snapshot_create::{CURRENT, REDEFINE};

fn create(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let from = a.get("xmlfile");
    let xml = match from {
        Some(f) => read_file(f)?,
        None => "<domainsnapshot/>".to_string(),
    };
    let flags = flag_bits(a, &[("redefine", REDEFINE), ("current", CURRENT)])
        | flag_bits(a, super::snapshot::CREATE_FLAGS);
    let dom = ctl.domain(a.req("domain")?)?;
    let r = ctl
        .conn()?
        .domain_snapshot_create_xml(&p::RemoteDomainSnapshotCreateXmlArgs {
            dom,
            xml_desc: xml,
            flags,
        })?;
    match from {
        Some(f) => println!("Domain snapshot {} created from '{f}'", r.snap.name),
        None => println!("Domain snapshot {} created", r.snap.name),
    }
    Ok(())
}

fn xml_of(ctl: &mut Ctl, snap: &p::RemoteNonnullDomainSnapshot) -> Result<String, CmdError> {
    Ok(ctl
        .conn()?
        .domain_snapshot_get_xml_desc(&p::RemoteDomainSnapshotGetXmlDescArgs {
            snap: snap.clone(),
            flags: rvirt_protocol::facts::snapshot_xml::SECURE,
        })?
        .xml)
}

fn edit(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let snap = snapshot(ctl, a)?;
    let name = snap.name.clone();
    let old = xml_of(ctl, &snap)?;
    let Some(new) = super::virsh::edit_text(&old, "snapshot", &name)? else {
        println!("Snapshot {name} XML configuration not changed.");
        return Ok(());
    };
    let c = ctl.conn()?;
    let was_current = c
        .domain_snapshot_is_current(&p::RemoteDomainSnapshotIsCurrentArgs {
            snap: snap.clone(),
            flags: 0,
        })?
        .current
        != 0;
    let flags = REDEFINE
        | if was_current || a.has("current") {
            CURRENT
        } else {
            0
        };
    let made = c
        .domain_snapshot_create_xml(&p::RemoteDomainSnapshotCreateXmlArgs {
            dom: snap.dom.clone(),
            xml_desc: new,
            flags,
        })
        .ctx(|| format!("Failed to update {name}"))?;
    if made.snap.name != name {
        return Err(CmdError::Msg(format!(
            "cannot rename snapshot {name} to {}",
            made.snap.name
        )));
    }
    println!("Snapshot {name} edited.");
    Ok(())
}

fn parent_name(
    c: &rvirt_core::client::Connect,
    snap: &p::RemoteNonnullDomainSnapshot,
) -> Option<String> {
    c.domain_snapshot_get_parent(&p::RemoteDomainSnapshotGetParentArgs {
        snap: snap.clone(),
        flags: 0,
    })
    .ok()
    .map(|r| r.snap.name)
}

fn parent(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let snap = snapshot(ctl, a)?;
    match parent_name(ctl.conn()?, &snap) {
        Some(p) => println!("{p}"),
        None => {
            return Err(CmdError::Msg(format!(
                "snapshot '{}' has no parent",
                snap.name
            )))
        }
    }
    Ok(())
}

fn info(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let snap = snapshot(ctl, a)?;
    let xml = xml_of(ctl, &snap)?;
    let c = ctl.conn()?;
    let root = rvirt_xml::tree::parse_document(&xml).map_err(|e| CmdError::Msg(e.to_string()))?;
    let state = root.child_text("state").unwrap_or_default();
    let external = root
        .child("memory")
        .is_some_and(|m| m.attr("snapshot") == Some("external"))
        || root.child("disks").is_some_and(|d| {
            d.children_named("disk")
                .any(|x| x.attr("snapshot") == Some("external"))
        });
    let one = |flags| p::RemoteDomainSnapshotNumChildrenArgs {
        snap: snap.clone(),
        flags,
    };
    let current = c
        .domain_snapshot_is_current(&p::RemoteDomainSnapshotIsCurrentArgs {
            snap: snap.clone(),
            flags: 0,
        })?
        .current;
    let metadata = c
        .domain_snapshot_has_metadata(&p::RemoteDomainSnapshotHasMetadataArgs {
            snap: snap.clone(),
            flags: 0,
        })
        .map(|r| r.metadata);
    let yes = |b: bool| if b { "yes" } else { "no" };
    let row = |k: &str, v: &str| println!("{:<15} {v}", format!("{k}:"));
    row("Name", &snap.name);
    row("Domain", &snap.dom.name);
    row("Current", yes(current != 0));
    row("State", &state);
    row("Location", if external { "external" } else { "internal" });
    row(
        "Parent",
        &parent_name(c, &snap).unwrap_or_else(|| "-".into()),
    );
    row(
        "Children",
        &c.domain_snapshot_num_children(&one(0))?.num.to_string(),
    );
    row(
        "Descendants",
        &c.domain_snapshot_num_children(&one(1))?.num.to_string(),
    );
    if let Ok(m) = metadata {
        row("Metadata", yes(m != 0));
    }
    Ok(())
}
