//! DOMAIN_GET_GUEST_INFO: the agent's answers as libvirt's typed parameters, group by
//! group in libvirt's order (users, os, timezone, hostname, interfaces, filesystem,
//! disks; the last two only when the guest has some). A group the
//! caller did not name explicitly is left out when the agent lacks its command.

use rvirt_plugin_api::protocol::facts::agent_flags as f;
use rvirt_plugin_api::protocol::{RemoteNonnullDomain, RemoteTypedParam};
use rvirt_xml::domain::DomainDef;
use serde_json::Value;

use super::channel::agent_of;
use super::Agent;
use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};
use crate::stats::Params;

const ALL: u32 = f::GUEST_INFO_USERS
    | f::GUEST_INFO_OS
    | f::GUEST_INFO_TIMEZONE
    | f::GUEST_INFO_HOSTNAME
    | f::GUEST_INFO_FILESYSTEM
    | f::GUEST_INFO_DISKS
    | f::GUEST_INFO_INTERFACES;

fn text<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

fn users(p: &mut Params, r: &Value) {
    p.uint("user.count", items(r).count() as u32);
    for (i, u) in items(r).enumerate() {
        if let Some(n) = text(u, "user") {
            p.string(format!("user.{i}.name"), n);
        }
        if let Some(d) = text(u, "domain") {
            p.string(format!("user.{i}.domain"), d);
        }
        if let Some(t) = u.get("login-time").and_then(Value::as_f64) {
            p.ullong(format!("user.{i}.login-time"), (t * 1000.0) as u64);
        }
    }
}

fn os(p: &mut Params, r: &Value) {
    for k in [
        "id",
        "name",
        "pretty-name",
        "version",
        "version-id",
        "machine",
        "variant",
        "variant-id",
        "kernel-release",
        "kernel-version",
    ] {
        if let Some(v) = text(r, k) {
            p.string(format!("os.{k}"), v);
        }
    }
}

fn timezone(p: &mut Params, r: &Value) {
    if let Some(z) = text(r, "zone") {
        p.string("timezone.name", z);
    }
    let offset = r.get("offset").and_then(Value::as_i64).unwrap_or(0);
    p.int("timezone.offset", offset as i32);
}

fn hostname(p: &mut Params, r: &Value) {
    if let Some(n) = text(r, "host-name") {
        p.string("hostname", n);
    }
}

fn interfaces(p: &mut Params, r: &Value) {
    let list = super::calls::interfaces_of(r);
    p.uint("if.count", list.len() as u32);
    for (i, it) in list.iter().enumerate() {
        p.string(format!("if.{i}.name"), &it.name);
        if let Some(hw) = &it.hwaddr {
            p.string(format!("if.{i}.hwaddr"), hw);
        }
        p.uint(format!("if.{i}.addr.count"), it.addrs.len() as u32);
        for (j, a) in it.addrs.iter().enumerate() {
            let ty = if a.r#type == f::IP_ADDR_TYPE_IPV6 {
                "ipv6"
            } else {
                "ipv4"
            };
            p.string(format!("if.{i}.addr.{j}.type"), ty);
            p.string(format!("if.{i}.addr.{j}.addr"), &a.addr);
            p.uint(format!("if.{i}.addr.{j}.prefix"), a.prefix);
        }
    }
}

fn filesystems(p: &mut Params, r: &Value, live: &DomainDef) {
    // Newest mount first, as DOMAIN_GET_FSINFO.
    let list: Vec<&Value> = items(r).collect::<Vec<_>>().into_iter().rev().collect();
    // As libvirt: no filesystems, no group.
    if list.is_empty() {
        return;
    }
    p.uint("fs.count", list.len() as u32);
    for (i, fs) in list.iter().enumerate() {
        for (k, name) in [
            ("mountpoint", "mountpoint"),
            ("name", "name"),
            ("type", "fstype"),
        ] {
            if let Some(v) = text(fs, k) {
                p.string(format!("fs.{i}.{name}"), v);
            }
        }
        for (k, name) in [("total-bytes", "total-bytes"), ("used-bytes", "used-bytes")] {
            if let Some(v) = fs.get(k).and_then(Value::as_u64) {
                p.ullong(format!("fs.{i}.{name}"), v);
            }
        }
        let disks: Vec<&Value> = fs
            .get("disk")
            .map(|d| items(d).collect())
            .unwrap_or_default();
        p.uint(format!("fs.{i}.disk.count"), disks.len() as u32);
        for (j, d) in disks.iter().enumerate() {
            if let Some(t) = super::calls::disk_target(live, d) {
                p.string(format!("fs.{i}.disk.{j}.alias"), &t);
            }
            if let Some(s) = text(d, "serial") {
                p.string(format!("fs.{i}.disk.{j}.serial"), s);
            }
            if let Some(s) = text(d, "dev") {
                p.string(format!("fs.{i}.disk.{j}.device"), s);
            }
        }
    }
}

fn disks(p: &mut Params, r: &Value, live: &DomainDef) {
    if items(r).next().is_none() {
        return;
    }
    p.uint("disk.count", items(r).count() as u32);
    for (i, d) in items(r).enumerate() {
        if let Some(n) = text(d, "name") {
            p.string(format!("disk.{i}.name"), n);
        }
        let partition = d.get("partition").and_then(Value::as_bool).unwrap_or(false);
        p.boolean(format!("disk.{i}.partition"), partition);
        if let Some(deps) = d.get("dependencies") {
            p.uint(
                format!("disk.{i}.dependency.count"),
                items(deps).count() as u32,
            );
            for (j, dep) in items(deps).enumerate() {
                if let Some(n) = dep.as_str() {
                    p.string(format!("disk.{i}.dependency.{j}.name"), n);
                }
            }
        }
        if let Some(a) = d.get("address") {
            if let Some(s) = text(a, "serial") {
                p.string(format!("disk.{i}.serial"), s);
            }
            if let Some(t) = super::calls::disk_target(live, a) {
                p.string(format!("disk.{i}.alias"), &t);
            }
        }
        if let Some(a) = text(d, "alias") {
            p.string(format!("disk.{i}.guest_alias"), a);
        }
    }
}

/// Runs `cmd` for a group: `None` when the agent lacks it and the group was implied.
fn ask(agent: &Agent, cmd: &str, explicit: bool) -> QResult<Option<Value>> {
    match agent.execute(cmd, None) {
        Ok(v) => Ok(Some(v)),
        Err(e) if !explicit && e.is_unsupported() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The guest information of `types` (every group when 0).
pub fn get(
    drv: &Driver,
    dom: &RemoteNonnullDomain,
    types: u32,
    flags: u32,
) -> QResult<Vec<RemoteTypedParam>> {
    check_flags(flags, 0, "qemuDomainGetGuestInfo")?;
    if types & !ALL != 0 {
        return Err(QemuError::InvalidArg(format!(
            "unsupported guest info types {:#x}",
            types & !ALL
        ))
        .into());
    }
    let explicit = types != 0;
    let want = if explicit { types } else { ALL };
    let agent = agent_of(drv, dom)?;
    let live = drv.read(|s| {
        let d = s.find(dom)?;
        Ok(d.run.as_ref().ok_or(QemuError::NotRunning)?.live.clone())
    })?;
    let mut p = Params::default();
    type Group = fn(&mut Params, &Value);
    let simple: [(u32, &str, Group); 5] = [
        (f::GUEST_INFO_USERS, "guest-get-users", users),
        (f::GUEST_INFO_OS, "guest-get-osinfo", os),
        (f::GUEST_INFO_TIMEZONE, "guest-get-timezone", timezone),
        (f::GUEST_INFO_HOSTNAME, "guest-get-host-name", hostname),
        (
            f::GUEST_INFO_INTERFACES,
            "guest-network-get-interfaces",
            interfaces,
        ),
    ];
    for (bit, cmd, put) in simple {
        if want & bit != 0 {
            if let Some(r) = ask(&agent, cmd, explicit)? {
                put(&mut p, &r);
            }
        }
    }
    if want & f::GUEST_INFO_FILESYSTEM != 0 {
        if let Some(r) = ask(&agent, "guest-get-fsinfo", explicit)? {
            filesystems(&mut p, &r, &live);
        }
    }
    if want & f::GUEST_INFO_DISKS != 0 {
        if let Some(r) = ask(&agent, "guest-get-disks", explicit)? {
            disks(&mut p, &r, &live);
        }
    }
    Ok(p.0)
}
