//! Domain snapshots: snapshot-create-as, snapshot-list, snapshot-revert, snapshot-delete,
//! snapshot-current, snapshot-dumpxml (the rest in `snapshot_more`).

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::ctl::{CmdError, Context, Ctl};
use crate::fmt::{obj, Json, Table};
use crate::opts::{Args, Cmd, Opt};

use super::flag_bits;
use rvirt_protocol::facts as sf;

/// The `virDomainSnapshotCreateFlags` options snapshot-create and snapshot-create-as share.
pub(super) const CREATE_FLAGS: &[(&str, u32)] = {
    use sf::snapshot_create as c;
    &[
        ("no-metadata", c::NO_METADATA),
        ("halt", c::HALT),
        ("disk-only", c::DISK_ONLY),
        ("reuse-external", c::REUSE_EXT),
        ("quiesce", c::QUIESCE),
        ("atomic", c::ATOMIC),
        ("live", c::LIVE),
        ("validate", c::VALIDATE),
    ]
};

pub const CMDS: &[Cmd] = &[
    cmd(
        "snapshot-create-as",
        "Create a snapshot from a set of args",
        "Create a snapshot (disk and RAM) from arguments",
        CREATE_AS,
        create_as,
    ),
    cmd(
        "snapshot-current",
        "Get or set the current snapshot",
        "Get or set the current snapshot",
        CURRENT,
        current,
    ),
    cmd(
        "snapshot-delete",
        "Delete a domain snapshot",
        "Snapshot Delete",
        DELETE,
        delete,
    ),
    cmd(
        "snapshot-dumpxml",
        "Dump XML for a domain snapshot",
        "Snapshot Dump XML",
        &[Opt::domain(), Opt::req("snapshotname", "snapshot name")],
        dumpxml,
    ),
    cmd(
        "snapshot-list",
        "List snapshots for a domain",
        "Snapshot List",
        LIST,
        list,
    ),
    cmd(
        "snapshot-revert",
        "Revert a domain to a snapshot",
        "Revert domain to snapshot",
        REVERT,
        revert,
    ),
];

const CREATE_AS: &[Opt] = &[
    Opt::domain(),
    Opt::string("name", "name of snapshot"),
    Opt::string("description", "description of snapshot"),
    Opt::flag("print-xml", "print XML document rather than create"),
    Opt::flag("no-metadata", "take snapshot but create no metadata"),
    Opt::flag("halt", "halt domain after snapshot is created"),
    Opt::flag("disk-only", "capture disk state but not vm state"),
    Opt::flag("reuse-external", "reuse any existing external files"),
    Opt::flag("quiesce", "quiesce guest's file systems"),
    Opt::flag("atomic", "require atomic operation"),
    Opt::flag("live", "take a live snapshot"),
    Opt::flag("validate", "validate the XML against the schema"),
];
const CURRENT: &[Opt] = &[
    Opt::domain(),
    Opt::flag("name", "list the name, rather than the full xml"),
];
const DELETE: &[Opt] = &[
    Opt::domain(),
    Opt::string("snapshotname", "snapshot name"),
    Opt::flag("current", "delete current snapshot"),
    Opt::flag("children", "delete snapshot and all children"),
    Opt::flag("children-only", "delete children but not snapshot"),
    Opt::flag(
        "metadata",
        "delete only libvirt metadata, leaving snapshot contents behind",
    ),
];
const LIST: &[Opt] = &[
    Opt::domain(),
    Opt::flag("parent", "add a column showing parent snapshot"),
    Opt::flag("roots", "list only snapshots without parents"),
    Opt::flag("leaves", "list only snapshots without children"),
    Opt::flag(
        "no-leaves",
        "list only snapshots that are not leaves (with children)",
    ),
    Opt::flag(
        "metadata",
        "list only snapshots that have metadata that would prevent undefine",
    ),
    Opt::flag(
        "no-metadata",
        "list only snapshots that have no metadata managed by libvirt",
    ),
    Opt::flag("inactive", "filter by snapshots taken while inactive"),
    Opt::flag(
        "active",
        "filter by snapshots taken while active (full system snapshots)",
    ),
    Opt::flag("disk-only", "filter by disk-only snapshots"),
    Opt::flag("internal", "filter by internal snapshots"),
    Opt::flag("external", "filter by external snapshots"),
    Opt::flag("topological", "sort list topologically rather than by name"),
    Opt::flag("name", "list snapshot names only"),
    Opt::json(),
];
const REVERT: &[Opt] = &[
    Opt::domain(),
    Opt::string("snapshotname", "snapshot name"),
    Opt::flag("current", "revert to current snapshot"),
    Opt::flag("running", "after reverting, change state to running"),
    Opt::flag("paused", "after reverting, change state to paused"),
    Opt::flag("force", "try harder on risky reverts"),
    Opt::flag(
        "reset-nvram",
        "re-initialize NVRAM from its pristine template",
    ),
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn create_as(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let mut xml = String::from("<domainsnapshot>\n");
    if let Some(n) = a.get("name") {
        xml.push_str(&format!("  <name>{}</name>\n", esc(n)));
    }
    if let Some(d) = a.get("description") {
        xml.push_str(&format!("  <description>{}</description>\n", esc(d)));
    }
    xml.push_str("</domainsnapshot>\n");
    if a.has("print-xml") {
        print!("{xml}");
        return Ok(());
    }
    let flags = flag_bits(a, CREATE_FLAGS);
    let dom = ctl.domain(a.req("domain")?)?;
    let r = ctl
        .conn()?
        .domain_snapshot_create_xml(&p::RemoteDomainSnapshotCreateXmlArgs {
            dom,
            xml_desc: xml,
            flags,
        })?;
    println!("Domain snapshot {} created", r.snap.name);
    Ok(())
}

/// The named snapshot, or the current one with `--current` (or when no name is given).
pub(super) fn snapshot(
    ctl: &mut Ctl,
    a: &Args,
) -> Result<p::RemoteNonnullDomainSnapshot, CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let c = ctl.conn()?;
    match (a.get("snapshotname"), a.has("current")) {
        (Some(_), true) => Err(CmdError::Msg(
            "--snapshotname and --current are mutually exclusive".into(),
        )),
        (Some(name), false) => Ok(c
            .domain_snapshot_lookup_by_name(&p::RemoteDomainSnapshotLookupByNameArgs {
                dom,
                name: name.into(),
                flags: 0,
            })?
            .snap),
        (None, _) => {
            let name = dom.name.clone();
            let r =
                c.domain_snapshot_current(&p::RemoteDomainSnapshotCurrentArgs { dom, flags: 0 });
            Ok(
                r.ctx(|| format!("domain '{name}' has no current snapshot"))?
                    .snap,
            )
        }
    }
}

fn revert(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let snap = snapshot(ctl, a)?;
    let flags = flag_bits(
        a,
        &[
            ("running", sf::snapshot_revert::RUNNING),
            ("paused", sf::snapshot_revert::PAUSED),
            ("force", sf::snapshot_revert::FORCE),
            ("reset-nvram", sf::snapshot_revert::RESET_NVRAM),
        ],
    );
    let name = snap.name.clone();
    ctl.conn()?
        .domain_revert_to_snapshot(&p::RemoteDomainRevertToSnapshotArgs { snap, flags })
        .ctx(|| format!("Failed to revert snapshot {name}"))?;
    println!("Domain snapshot {name} reverted");
    Ok(())
}

fn delete(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let snap = snapshot(ctl, a)?;
    use sf::snapshot_delete as d;
    let flags = flag_bits(
        a,
        &[
            ("children", d::CHILDREN),
            ("metadata", d::METADATA_ONLY),
            ("children-only", d::CHILDREN_ONLY),
        ],
    );
    let name = snap.name.clone();
    ctl.conn()?
        .domain_snapshot_delete(&p::RemoteDomainSnapshotDeleteArgs { snap, flags })
        .ctx(|| format!("Failed to delete snapshot {name}"))?;
    if a.has("children-only") {
        println!("Domain snapshot {name} children deleted");
    } else {
        println!("Domain snapshot {name} deleted");
    }
    Ok(())
}

fn dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let snap = snapshot(ctl, a)?;
    print!(
        "{}",
        ctl.conn()?
            .domain_snapshot_get_xml_desc(&p::RemoteDomainSnapshotGetXmlDescArgs {
                snap,
                flags: 0
            })?
            .xml
    );
    Ok(())
}

fn current(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let name = dom.name.clone();
    let c = ctl.conn()?;
    let snap = c
        .domain_snapshot_current(&p::RemoteDomainSnapshotCurrentArgs { dom, flags: 0 })
        .ctx(|| format!("domain '{name}' has no current snapshot"))?
        .snap;
    if a.has("name") {
        println!("{}", snap.name);
    } else {
        print!(
            "{}",
            c.domain_snapshot_get_xml_desc(&p::RemoteDomainSnapshotGetXmlDescArgs {
                snap,
                flags: 0
            })?
            .xml
        );
    }
    Ok(())
}

struct SnapRow {
    name: String,
    created: Option<i64>,
    state: String,
    parent: Option<String>,
}

fn snap_row(c: &rvirt_core::client::Connect, snap: p::RemoteNonnullDomainSnapshot) -> SnapRow {
    let xml = c
        .domain_snapshot_get_xml_desc(&p::RemoteDomainSnapshotGetXmlDescArgs {
            snap: snap.clone(),
            flags: 0,
        })
        .map(|r| r.xml)
        .unwrap_or_default();
    let root = rvirt_xml::tree::parse_document(&xml).ok();
    let text = |n: &str| root.as_ref().and_then(|r| r.child_text(n));
    SnapRow {
        name: snap.name,
        created: text("creationTime").and_then(|t| t.parse().ok()),
        state: text("state").unwrap_or_default(),
        parent: root
            .as_ref()
            .and_then(|r| r.child("parent"))
            .and_then(|p| p.child_text("name")),
    }
}

fn list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    use sf::snapshot_list as l;
    let dom = ctl.domain(a.req("domain")?)?;
    let flags = flag_bits(
        a,
        &[
            ("roots", l::ROOTS),
            ("metadata", l::METADATA),
            ("leaves", l::LEAVES),
            ("no-leaves", l::NO_LEAVES),
            ("no-metadata", l::NO_METADATA),
            ("inactive", l::INACTIVE),
            ("active", l::ACTIVE),
            ("disk-only", l::DISK_ONLY),
            ("internal", l::INTERNAL),
            ("external", l::EXTERNAL),
            ("topological", l::TOPOLOGICAL),
        ],
    );
    let c = ctl.conn()?;
    let args = p::RemoteDomainListAllSnapshotsArgs {
        dom,
        need_results: 1,
        flags,
    };
    let mut snaps = c
        .domain_list_all_snapshots(&args)
        .ctx(|| "failed to collect snapshot list".into())?
        .snapshots;
    if !a.has("topological") {
        snaps.sort_by(|x, y| x.name.cmp(&y.name));
    }
    if a.has("name") && !a.has("json") {
        for s in snaps {
            println!("{}", s.name);
        }
        return Ok(());
    }
    let rows: Vec<SnapRow> = snaps.into_iter().map(|s| snap_row(c, s)).collect();
    if a.has("json") {
        let items = rows
            .into_iter()
            .map(|r| {
                obj([
                    ("name", r.name.into()),
                    ("creation_time", r.created.into()),
                    ("state", r.state.into()),
                    ("parent", r.parent.into()),
                ])
            })
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let parent = a.has("parent");
    let mut t = if parent {
        Table::new(&["Name", "Creation Time", "State", "Parent"])
    } else {
        Table::new(&["Name", "Creation Time", "State"])
    };
    for r in rows {
        let when = r
            .created
            .map(|s| format!("{} +0000", super::event_time(s)))
            .unwrap_or_default();
        let mut row = vec![r.name, when, r.state];
        if parent {
            row.push(r.parent.unwrap_or_default());
        }
        t.row(row);
    }
    print!("{}", t.render());
    Ok(())
}
