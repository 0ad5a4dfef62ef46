//! Storage pool commands.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::facts;
use rvirt_protocol::RemoteClient;

use crate::ctl::{uuid_str, CmdError, Context, Ctl};
use crate::fmt::{obj, pretty_capacity, Json, Table};
use crate::opts::{Args, Cmd, Opt};

use super::names::pool_state;
use super::{flag_bits, read_file, sort_by_name};

const DEFINE: &[Opt] = &[
    Opt::file("file containing an XML pool description"),
    Opt::flag("validate", "validate the XML against the schema"),
];

pub const CMDS: &[Cmd] = &[
    cmd("find-storage-pool-sources-as", "find potential storage pool sources", "Returns XML <sources> document.", super::storage_extra::FIND_AS, super::storage_extra::find_storage_pool_sources_as),
    cmd("find-storage-pool-sources", "discover potential storage pool sources", "Returns XML <sources> document.", super::storage_extra::FIND, super::storage_extra::find_storage_pool_sources),
    cmd("pool-autostart", "autostart a pool", "Configure a pool to be automatically started at boot.", AUTOSTART, pool_autostart),
    cmd("pool-build", "build a pool", "Build a given pool.", BUILD, pool_build),
    cmd("pool-create", "create a pool from an XML file", "Create a pool.", &[Opt::file("file containing an XML pool description")], pool_create),
    cmd("pool-create-as", "create a pool from a set of args", "Create a pool.", AS, pool_create_as),
    cmd("pool-define", "define an inactive persistent storage pool or modify an existing persistent one from an XML file", "Define or modify a persistent storage pool.", DEFINE, pool_define),
    cmd("pool-define-as", "define a pool from a set of args", "Define a pool.", AS, pool_define_as),
    cmd("pool-delete", "delete a pool", "Delete a given pool.", &[Opt::pool()], pool_delete),
    cmd("pool-destroy", "destroy (stop) a pool", "Forcefully stop a given pool. Raw data in the pool is untouched", &[Opt::pool()], pool_destroy),
    cmd("pool-dumpxml", "pool information in XML", "Output the pool information as an XML dump to stdout.", DUMPXML, pool_dumpxml),
    cmd("pool-edit", "edit XML configuration for a storage pool", "Edit the XML configuration for a storage pool.", &[Opt::pool()], pool_edit),
    cmd("pool-event", "Storage Pool Events", "List event types, or wait for storage pool events to occur", super::object_event::POOL_OPTS, super::object_event::pool_event),
    cmd("pool-capabilities", "storage pool capabilities", "Returns capabilities of storage pool support.", &[], super::storage_extra::pool_capabilities),
    cmd("pool-info", "storage pool information", "Returns basic information about the storage pool.", INFO, pool_info),
    cmd("pool-list", "list pools", "Returns list of pools.", LIST, pool_list),
    cmd("pool-name", "convert a pool UUID to pool name", "", &[Opt::req("pool", "pool UUID")], pool_name),
    cmd("pool-refresh", "refresh a pool", "Refresh a given pool.", &[Opt::pool()], pool_refresh),
    cmd("pool-start", "start a (previously defined) inactive pool", "Start a pool.", START, pool_start),
    cmd("pool-undefine", "undefine an inactive pool", "Undefine the configuration for an inactive pool.", &[Opt::pool()], pool_undefine),
    cmd("pool-uuid", "convert a pool name to pool UUID", "", &[Opt::pool()], pool_uuid),
];

const AUTOSTART: &[Opt] = &[Opt::pool(), Opt::flag("disable", "disable autostarting")];
const BUILD: &[Opt] = &[
    Opt::pool(),
    Opt::flag("no-overwrite", "do not overwrite any existing data"),
    Opt::flag("overwrite", "overwrite any existing data"),
];
const AS: &[Opt] = &[
    Opt::req("name", "name of the pool"),
    Opt::req("type", "type of the pool"),
    Opt::flag("print-xml", "print XML document, but don't define/create"),
    Opt::string("source-host", "source-host for underlying storage"),
    Opt::string("source-path", "source path for underlying storage"),
    Opt::string("source-dev", "source device for underlying storage"),
    Opt::string("source-name", "source name for underlying storage"),
    Opt::string("target", "target for underlying storage"),
    Opt::string("source-format", "format for underlying storage"),
];
const DUMPXML: &[Opt] = &[
    Opt::pool(),
    Opt::flag("inactive", "show inactive defined XML"),
];
const INFO: &[Opt] = &[
    Opt::pool(),
    Opt::flag("bytes", "Reture pool info in bytes"),
    Opt::json(),
];
const LIST: &[Opt] = &[
    Opt::flag("inactive", "list inactive pools"),
    Opt::flag("all", "list inactive & active pools"),
    Opt::flag("transient", "list transient pools"),
    Opt::flag("persistent", "list persistent pools"),
    Opt::flag("autostart", "list pools with autostart enabled"),
    Opt::flag("no-autostart", "list pools with autostart disabled"),
    Opt::named("type", "only list pool of specified type(s) (if supported)"),
    Opt::flag("details", "display extended details for pools"),
    Opt::flag("uuid", "list UUID of active pools only"),
    Opt::flag("name", "list name of active pools only"),
    Opt::json(),
];
const START: &[Opt] = &[
    Opt::pool(),
    Opt::flag("build", "build the pool as normal"),
    Opt::flag(
        "no-overwrite",
        "build the pool without overwriting the existing pool data",
    ),
    Opt::flag("overwrite", "overwrite any existing data"),
];

fn type_flags(types: Option<&str>) -> Result<u32, CmdError> {
    let mut f = 0;
    for t in types
        .into_iter()
        .flat_map(|t| t.split(','))
        .filter(|t| !t.is_empty())
    {
        f |= rvirt_xml::storage::list_flag(t)
            .ok_or_else(|| CmdError::Msg(format!("Invalid pool type '{t}'")))?;
    }
    Ok(f)
}

struct PoolRow {
    name: String,
    uuid: String,
    info: Option<p::RemoteStoragePoolGetInfoRet>,
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

fn pool_list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    use facts::pool_list as l;
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
    flags |= type_flags(a.get("type"))?;
    let details = a.has("details");
    let c = ctl.conn()?;
    let args = p::RemoteConnectListAllStoragePoolsArgs {
        need_results: 1,
        flags,
    };
    let mut pools = c
        .connect_list_all_storage_pools(&args)
        .ctx(|| "Failed to list pools".into())?
        .pools;
    sort_by_name(&mut pools, |x| &x.name);
    if !details && !a.has("json") && (a.has("uuid") || a.has("name")) {
        for x in &pools {
            match (a.has("uuid"), a.has("name")) {
                (true, true) => println!("{:<36} {:<20}", uuid_str(&x.uuid), x.name),
                (true, false) => println!("{:<36}", uuid_str(&x.uuid)),
                _ => println!("{:<20}", x.name),
            }
        }
        return Ok(());
    }
    let mut rows = Vec::new();
    for x in pools {
        let pool = || x.clone();
        let autostart = c
            .storage_pool_get_autostart(&p::RemoteStoragePoolGetAutostartArgs { pool: pool() })
            .ok()
            .map(|r| r.autostart != 0);
        let persistent = if details || a.has("json") {
            c.storage_pool_is_persistent(&p::RemoteStoragePoolIsPersistentArgs { pool: pool() })
                .ok()
                .map(|r| r.persistent != 0)
        } else {
            None
        };
        let info = c
            .storage_pool_get_info(&p::RemoteStoragePoolGetInfoArgs { pool: pool() })
            .ok();
        let active = if details {
            info.as_ref().is_some_and(|i| i.state == 2 || i.state == 3)
        } else {
            c.storage_pool_is_active(&p::RemoteStoragePoolIsActiveArgs { pool: pool() })
                .is_ok_and(|r| r.active != 0)
        };
        rows.push(PoolRow {
            uuid: uuid_str(&x.uuid),
            name: x.name,
            info,
            active,
            persistent,
            autostart,
        });
    }
    if a.has("json") {
        print!(
            "{}",
            Json::Arr(rows.iter().map(pool_json).collect()).render()
        );
        return Ok(());
    }
    print!("{}", pool_table(&rows, details).render());
    Ok(())
}

fn pool_json(r: &PoolRow) -> Json {
    let i = r.info.as_ref();
    obj([
        ("name", r.name.as_str().into()),
        ("uuid", r.uuid.as_str().into()),
        ("state", i.map(|i| pool_state(i.state.into())).into()),
        ("active", r.active.into()),
        ("persistent", r.persistent.into()),
        ("autostart", r.autostart.into()),
        ("capacity", i.map(|i| i.capacity).into()),
        ("allocation", i.map(|i| i.allocation).into()),
        ("available", i.map(|i| i.available).into()),
    ])
}

fn pool_table(rows: &[PoolRow], details: bool) -> Table {
    let autostart = |r: &PoolRow| r.autostart.map_or("no autostart", yes_no).to_string();
    if !details {
        let mut t = Table::new(&["Name", "State", "Autostart"]);
        for r in rows {
            t.row(vec![
                r.name.clone(),
                (if r.active { "active" } else { "inactive" }).into(),
                autostart(r),
            ]);
        }
        return t;
    }
    let mut t = Table::new(&[
        "Name",
        "State",
        "Autostart",
        "Persistent",
        "Capacity",
        "Allocation",
        "Available",
    ]);
    for r in rows {
        let persistent = r.persistent.map_or("unknown", yes_no).to_string();
        let mut cells = vec![r.name.clone()];
        match &r.info {
            None => cells.extend([
                "unknown".into(),
                autostart(r),
                persistent,
                "unknown".into(),
                "unknown".into(),
                "unknown".into(),
            ]),
            Some(i) if i.state == 2 || i.state == 3 => cells.extend([
                pool_state(i.state.into()).into(),
                autostart(r),
                persistent,
                pretty_capacity(i.capacity),
                pretty_capacity(i.allocation),
                pretty_capacity(i.available),
            ]),
            Some(i) => cells.extend([
                pool_state(i.state.into()).into(),
                autostart(r),
                persistent,
                "-".into(),
                "-".into(),
                "-".into(),
            ]),
        }
        t.row(cells);
    }
    t
}

fn pool_info(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let c = ctl.conn()?;
    let info = c.storage_pool_get_info(&p::RemoteStoragePoolGetInfoArgs { pool: pool.clone() });
    let persistent = c
        .storage_pool_is_persistent(&p::RemoteStoragePoolIsPersistentArgs { pool: pool.clone() })
        .ok()
        .map(|r| r.persistent != 0);
    let autostart = c
        .storage_pool_get_autostart(&p::RemoteStoragePoolGetAutostartArgs { pool: pool.clone() })
        .ok()
        .map(|r| r.autostart != 0);
    if a.has("json") {
        let i = info.as_ref().ok().cloned();
        let row = PoolRow {
            name: pool.name.clone(),
            uuid: uuid_str(&pool.uuid),
            active: i.as_ref().is_some_and(|i| i.state == 2 || i.state == 3),
            info: i,
            persistent,
            autostart,
        };
        print!("{}", pool_json(&row).render());
        return info.map(|_| ()).map_err(Into::into);
    }
    println!("{:<15} {}", "Name:", pool.name);
    println!("{:<15} {}", "UUID:", uuid_str(&pool.uuid));
    let i = info?;
    println!("{:<15} {}", "State:", pool_state(i.state.into()));
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
    if i.state == 2 || i.state == 3 {
        let f = |v: u64| {
            if a.has("bytes") {
                v.to_string()
            } else {
                pretty_capacity(v)
            }
        };
        println!("{:<15} {}", "Capacity:", f(i.capacity));
        println!("{:<15} {}", "Allocation:", f(i.allocation));
        println!("{:<15} {}", "Available:", f(i.available));
    }
    Ok(())
}

fn pool_dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let flags = flag_bits(a, &[("inactive", facts::storage_xml::INACTIVE)]);
    print!(
        "{}",
        ctl.conn()?
            .storage_pool_get_xml_desc(&p::RemoteStoragePoolGetXmlDescArgs { pool, flags })?
            .xml
    );
    Ok(())
}

fn define_or_create(
    ctl: &mut Ctl,
    xml: String,
    create: bool,
    flags: u32,
) -> Result<p::RemoteNonnullStoragePool, rvirt_protocol::RemoteError> {
    let c = ctl
        .conn()
        .map_err(|e| rvirt_protocol::RemoteError::new(1, 0, e.to_string()))?;
    if create {
        c.storage_pool_create_xml(&p::RemoteStoragePoolCreateXmlArgs { xml, flags: 0 })
            .map(|r| r.pool)
    } else {
        c.storage_pool_define_xml(&p::RemoteStoragePoolDefineXmlArgs { xml, flags })
            .map(|r| r.pool)
    }
}

fn pool_define(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?;
    let flags = flag_bits(a, &[("validate", facts::DEFINE_VALIDATE)]);
    let pool = define_or_create(ctl, read_file(file)?, false, flags)
        .ctx(|| format!("Failed to define pool from {file}"))?;
    println!("Pool {} defined from {file}", pool.name);
    Ok(())
}

fn pool_create(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?;
    let pool = define_or_create(ctl, read_file(file)?, true, 0)
        .ctx(|| format!("Failed to create pool from {file}"))?;
    println!("Pool {} created from {file}", pool.name);
    Ok(())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

/// The pool XML that `pool-define-as`/`pool-create-as` build from their arguments.
fn build_pool_xml(a: &Args) -> Result<String, CmdError> {
    let mut x = format!(
        "<pool type='{}'>\n  <name>{}</name>\n",
        esc(a.req("type")?),
        esc(a.req("name")?)
    );
    let src = [
        "source-host",
        "source-path",
        "source-dev",
        "source-name",
        "source-format",
    ];
    if src.iter().any(|s| a.has(s)) {
        x.push_str("  <source>\n");
        if let Some(h) = a.get("source-host") {
            x.push_str(&format!("    <host name='{}'/>\n", esc(h)));
        }
        if let Some(p) = a.get("source-path") {
            x.push_str(&format!("    <dir path='{}'/>\n", esc(p)));
        }
        if let Some(d) = a.get("source-dev") {
            x.push_str(&format!("    <device path='{}'/>\n", esc(d)));
        }
        if let Some(f) = a.get("source-format") {
            x.push_str(&format!("    <format type='{}'/>\n", esc(f)));
        }
        if let Some(n) = a.get("source-name") {
            x.push_str(&format!("    <name>{}</name>\n", esc(n)));
        }
        x.push_str("  </source>\n");
    }
    if let Some(t) = a.get("target") {
        x.push_str(&format!(
            "  <target>\n    <path>{}</path>\n  </target>\n",
            esc(t)
        ));
    }
    x.push_str("</pool>\n");
    Ok(x)
}

fn pool_x_as(ctl: &mut Ctl, a: &Args, create: bool) -> Result<(), CmdError> {
    let xml = build_pool_xml(a)?;
    if a.has("print-xml") {
        print!("{xml}");
        return Ok(());
    }
    let name = a.req("name")?.to_string();
    let (verb, done) = if create {
        ("create", "created")
    } else {
        ("define", "defined")
    };
    define_or_create(ctl, xml, create, 0).ctx(|| format!("Failed to {verb} pool {name}"))?;
    println!("Pool {name} {done}");
    Ok(())
}

fn pool_define_as(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    pool_x_as(ctl, a, false)
}

fn pool_create_as(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    pool_x_as(ctl, a, true)
}

/// Looks up the pool, runs one call, prints virsh's texts.
fn simple(
    ctl: &mut Ctl,
    a: &Args,
    call: impl FnOnce(
        &rvirt_core::client::Connect,
        p::RemoteNonnullStoragePool,
    ) -> Result<(), rvirt_protocol::RemoteError>,
    fail: &str,
    done: &str,
) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let name = pool.name.clone();
    super::act(ctl, super::POOL, pool, &name, call, fail, done)
}

fn build_flags(a: &Args) -> Result<u32, CmdError> {
    if a.has("overwrite") && a.has("no-overwrite") {
        return Err(CmdError::Msg(
            "Options --overwrite and --no-overwrite are mutually exclusive".into(),
        ));
    }
    Ok(flag_bits(
        a,
        &[
            ("no-overwrite", facts::pool_build::NO_OVERWRITE),
            ("overwrite", facts::pool_build::OVERWRITE),
        ],
    ))
}

fn pool_build(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = build_flags(a)?;
    simple(
        ctl,
        a,
        |c, pool| c.storage_pool_build(&p::RemoteStoragePoolBuildArgs { pool, flags }),
        "build",
        "built",
    )
}

fn pool_start(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let mut flags = build_flags(a)?;
    if a.has("build") {
        flags |= facts::pool_create::WITH_BUILD;
    }
    let flags = match flags {
        0 => 0,
        f if f & 8 != 0 => 2, // build, overwriting
        f if f & 4 != 0 => 4, // build, never overwriting
        _ => 1,
    };
    simple(
        ctl,
        a,
        |c, pool| c.storage_pool_create(&p::RemoteStoragePoolCreateArgs { pool, flags }),
        "start",
        "started",
    )
}

fn pool_destroy(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, pool| c.storage_pool_destroy(&p::RemoteStoragePoolDestroyArgs { pool }),
        "destroy",
        "destroyed",
    )
}

fn pool_delete(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, pool| c.storage_pool_delete(&p::RemoteStoragePoolDeleteArgs { pool, flags: 0 }),
        "delete",
        "deleted",
    )
}

fn pool_refresh(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, pool| c.storage_pool_refresh(&p::RemoteStoragePoolRefreshArgs { pool, flags: 0 }),
        "refresh",
        "refreshed",
    )
}

fn pool_undefine(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, pool| c.storage_pool_undefine(&p::RemoteStoragePoolUndefineArgs { pool }),
        "undefine",
        "has been undefined",
    )
}

fn pool_autostart(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let name = pool.name.clone();
    let on = !a.has("disable");
    let r = ctl
        .conn()?
        .storage_pool_set_autostart(&p::RemoteStoragePoolSetAutostartArgs {
            pool,
            autostart: i32::from(on),
        });
    super::autostart_done(super::POOL, &name, on, r)
}

fn pool_name(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    println!("{}", ctl.pool(a.req("pool")?)?.name);
    Ok(())
}

fn pool_uuid(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    println!("{}", uuid_str(&ctl.pool(a.req("pool")?)?.uuid));
    Ok(())
}

fn pool_edit(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let pool = ctl.pool(a.req("pool")?)?;
    let name = pool.name.clone();
    let conn = ctl.conn()?;
    let xml = super::virsh::inactive_xml(|flags| {
        let a = p::RemoteStoragePoolGetXmlDescArgs {
            pool: pool.clone(),
            flags,
        };
        Ok(conn.storage_pool_get_xml_desc(&a)?.xml)
    })?;
    super::virsh::edit_and_define(
        &xml,
        "pool",
        &name,
        |n| format!("Pool {n}"),
        |new| {
            let pool = define_or_create(ctl, new, false, 0)
                .ctx(|| format!("Failed to define pool {name}"))?;
            Ok(pool.name)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opts::{parse, split_words};

    #[test]
    fn define_as_xml() {
        let c = CMDS.iter().find(|c| c.name == "pool-define-as").unwrap();
        let a = parse(c, &split_words("p1 dir --target /srv/p1")).unwrap();
        assert_eq!(build_pool_xml(&a).unwrap(), "<pool type='dir'>\n  <name>p1</name>\n  <target>\n    <path>/srv/p1</path>\n  </target>\n</pool>\n");
        let a = parse(c, &split_words("p2 netfs h /exp")).unwrap();
        assert!(build_pool_xml(&a)
            .unwrap()
            .contains("<source>\n    <host name='h'/>\n    <dir path='/exp'/>\n  </source>\n"));
    }

    #[test]
    fn types() {
        assert_eq!(type_flags(Some("dir,fs")).unwrap(), 64 | 128);
        assert!(type_flags(Some("bogus")).is_err());
    }
}
