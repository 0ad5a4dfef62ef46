//! Listings of host interfaces, secrets and network filters.

use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::ctl::{is_no_support, uuid_str, CmdError, Context, Ctl};
use crate::fmt::{obj, Json, Table};
use crate::opts::{Args, Cmd, Opt};

use super::sort_by_name;

pub const IFACE_CMDS: &[Cmd] = &[Cmd {
    name: "iface-list",
    help: "list physical host interfaces",
    desc: "Returns list of physical host interfaces.",
    opts: &[
        Opt::flag("inactive", "list inactive interfaces"),
        Opt::flag("all", "list inactive & active interfaces"),
        Opt::json(),
    ],
    run: iface_list,
    needs_conn: true,
}];

pub const SECRET_CMDS: &[Cmd] = &[Cmd {
    name: "secret-list",
    help: "list secrets",
    desc: "Returns a list of secrets",
    opts: &[Opt::json()],
    run: secret_list,
    needs_conn: true,
}];

pub const NWFILTER_CMDS: &[Cmd] = &[Cmd {
    name: "nwfilter-list",
    help: "list network filters",
    desc: "Returns list of network filters.",
    opts: &[Opt::json()],
    run: nwfilter_list,
    needs_conn: true,
}];

fn iface_list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    use rvirt_protocol::facts::interface_list as l;
    let flags = if a.has("all") {
        l::ACTIVE | l::INACTIVE
    } else if a.has("inactive") {
        l::INACTIVE
    } else {
        l::ACTIVE
    };
    let c = ctl.conn()?;
    let mut rows: Vec<(String, bool, String)> = Vec::new();
    match c.connect_list_all_interfaces(&p::RemoteConnectListAllInterfacesArgs {
        need_results: 1,
        flags,
    }) {
        Ok(r) => {
            for i in r.ifaces {
                let active = c
                    .interface_is_active(&p::RemoteInterfaceIsActiveArgs { iface: i.clone() })
                    .is_ok_and(|r| r.active != 0);
                rows.push((i.name, active, i.mac));
            }
        }
        Err(e) if is_no_support(&e) => {
            if flags & l::ACTIVE != 0 {
                c.connect_num_of_interfaces()
                    .ctx(|| "Failed to list active interfaces".into())?;
                let names = c
                    .connect_list_interfaces(&p::RemoteConnectListInterfacesArgs {
                        maxnames: 16384,
                    })
                    .ctx(|| "Failed to list active interfaces".into())?
                    .names;
                rows.extend(names.into_iter().map(|n| (n, true, String::new())));
            }
            if flags & l::INACTIVE != 0 {
                c.connect_num_of_defined_interfaces()
                    .ctx(|| "Failed to list inactive interfaces".into())?;
                let r =
                    c.connect_list_defined_interfaces(&p::RemoteConnectListDefinedInterfacesArgs {
                        maxnames: 16384,
                    });
                rows.extend(
                    r.ctx(|| "Failed to list inactive interfaces".into())?
                        .names
                        .into_iter()
                        .map(|n| (n, false, String::new())),
                );
            }
        }
        Err(e) => {
            return Err(CmdError::Ctx {
                msg: "Failed to list interfaces".into(),
                err: e,
            })
        }
    }
    sort_by_name(&mut rows, |r| &r.0);
    if a.has("json") {
        let items = rows
            .into_iter()
            .map(|(n, act, mac)| {
                obj([
                    ("name", n.into()),
                    ("active", act.into()),
                    ("mac", mac.into()),
                ])
            })
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let mut t = Table::new(&["Name", "State", "MAC Address"]);
    for (n, act, mac) in rows {
        t.row(vec![
            n,
            (if act { "active" } else { "inactive" }).into(),
            mac,
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

fn usage_type(t: i32) -> &'static str {
    match t {
        1 => "volume",
        2 => "ceph",
        3 => "iscsi",
        4 => "tls",
        5 => "vtpm",
        _ => "none",
    }
}

fn secret_list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let c = ctl.conn()?;
    let secrets = match c.connect_list_all_secrets(&p::RemoteConnectListAllSecretsArgs {
        need_results: 1,
        flags: 0,
    }) {
        Ok(r) => r.secrets,
        Err(e) if is_no_support(&e) => {
            let n = c
                .connect_num_of_secrets()
                .ctx(|| "Failed to count secrets".into())?
                .num;
            let uuids = c
                .connect_list_secrets(&p::RemoteConnectListSecretsArgs { maxuuids: n })
                .ctx(|| "Failed to list secrets".into())?
                .uuids;
            let mut v = Vec::new();
            for u in uuids {
                let Some(uuid) = crate::ctl::parse_uuid(&u) else {
                    continue;
                };
                v.push(
                    c.secret_lookup_by_uuid(&p::RemoteSecretLookupByUuidArgs { uuid })?
                        .secret,
                );
            }
            v
        }
        Err(e) => {
            return Err(CmdError::Ctx {
                msg: "Failed to list node secrets".into(),
                err: e,
            })
        }
    };
    let mut rows: Vec<(String, String)> = secrets
        .into_iter()
        .map(|s| {
            let usage = if s.usage_type != 0 {
                format!("{} {}", usage_type(s.usage_type), s.usage_id)
            } else {
                "Unused".into()
            };
            (uuid_str(&s.uuid), usage)
        })
        .collect();
    rows.sort();
    if a.has("json") {
        let items = rows
            .into_iter()
            .map(|(u, us)| obj([("uuid", u.into()), ("usage", us.into())]))
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let mut t = Table::new(&["UUID", "Usage"]);
    for (u, us) in rows {
        t.row(vec![u, us]);
    }
    print!("{}", t.render());
    Ok(())
}

fn nwfilter_list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let c = ctl.conn()?;
    let filters = match c.connect_list_all_nwfilters(&p::RemoteConnectListAllNwfiltersArgs {
        need_results: 1,
        flags: 0,
    }) {
        Ok(r) => r.filters,
        Err(e) if is_no_support(&e) => {
            let n = c
                .connect_num_of_nwfilters()
                .ctx(|| "Failed to count network filters".into())?
                .num;
            let names = c
                .connect_list_nwfilters(&p::RemoteConnectListNwfiltersArgs { maxnames: n })
                .ctx(|| "Failed to list network filters".into())?
                .names;
            let mut v = Vec::new();
            for name in names {
                v.push(
                    c.nwfilter_lookup_by_name(&p::RemoteNwfilterLookupByNameArgs { name })?
                        .nwfilter,
                );
            }
            v
        }
        Err(e) => {
            return Err(CmdError::Ctx {
                msg: "Failed to list network filters".into(),
                err: e,
            })
        }
    };
    let mut rows: Vec<(String, String)> = filters
        .into_iter()
        .map(|f| (uuid_str(&f.uuid), f.name))
        .collect();
    sort_by_name(&mut rows, |r| &r.1);
    if a.has("json") {
        let items = rows
            .into_iter()
            .map(|(u, n)| obj([("uuid", u.into()), ("name", n.into())]))
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let mut t = Table::new(&["UUID", "Name"]);
    for (u, n) in rows {
        t.row(vec![u, n]);
    }
    print!("{}", t.render());
    Ok(())
}
