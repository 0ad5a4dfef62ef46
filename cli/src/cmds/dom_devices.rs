//! Domain devices and vCPUs: vcpucount, vcpuinfo, domblklist, domiflist.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::facts;
use rvirt_protocol::RemoteClient;

use crate::ctl::{CmdError, Ctl};
use crate::fmt::{obj, Json, Table};
use crate::opts::{Args, Cmd, Opt};

pub const CMDS: &[Cmd] = &[
    cmd(
        "domblklist",
        "list all domain blocks",
        "Lists the disks of a domain.",
        BLKLIST,
        domblklist,
    ),
    cmd(
        "domiflist",
        "list all domain virtual interfaces",
        "Lists the network interfaces of a domain.",
        IFLIST,
        domiflist,
    ),
    cmd(
        "vcpucount",
        "domain vcpu counts",
        "Returns the number of virtual CPUs used by the domain.",
        VCPUCOUNT,
        vcpucount,
    ),
    cmd(
        "vcpuinfo",
        "detailed domain vcpu information",
        "Returns basic information about the domain virtual CPUs.",
        VCPUINFO,
        vcpuinfo,
    ),
];

const BLKLIST: &[Opt] = &[
    Opt::domain(),
    Opt::flag("inactive", "get inactive rather than running configuration"),
    Opt::flag("details", "additionally display the type and device value"),
    Opt::json(),
];
const IFLIST: &[Opt] = &[
    Opt::domain(),
    Opt::flag("inactive", "get inactive rather than running configuration"),
    Opt::json(),
];
const VCPUCOUNT: &[Opt] = &[
    Opt::domain(),
    Opt::flag("maximum", "get maximum count of vcpus"),
    Opt::flag("active", "get number of currently active vcpus"),
    Opt::flag("live", "get value from running domain"),
    Opt::flag("config", "get value to be used on next boot"),
    Opt::flag("current", "get value according to current domain state"),
    Opt::flag(
        "guest",
        "retrieve vcpu count from the guest instead of the hypervisor",
    ),
];
const VCPUINFO: &[Opt] = &[
    Opt::domain(),
    Opt::flag("pretty", "return human readable output"),
    Opt::json(),
];
fn vcpu_count(
    c: &rvirt_core::client::Connect,
    dom: &p::RemoteNonnullDomain,
    flags: u32,
) -> Result<i32, rvirt_protocol::RemoteError> {
    Ok(c.domain_get_vcpus_flags(&p::RemoteDomainGetVcpusFlagsArgs {
        dom: dom.clone(),
        flags,
    })?
    .num)
}

fn vcpucount(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let (maximum, active, live, config, guest) = (
        a.has("maximum"),
        a.has("active"),
        a.has("live"),
        a.has("config"),
        a.has("guest"),
    );
    let current = a.has("current") && (maximum || active);
    let all = !(maximum || active || a.has("current") || live || config || guest);
    for (x, y, nx, ny) in [
        (live, config, "live", "config"),
        (current, live, "current", "live"),
        (current, config, "current", "config"),
        (active, maximum, "active", "maximum"),
        (guest, config, "guest", "config"),
    ] {
        if x && y {
            return Err(CmdError::Msg(format!(
                "Options --{nx} and --{ny} are mutually exclusive"
            )));
        }
    }
    let dom = ctl.domain(a.req("domain")?)?;
    let c = ctl.conn()?;
    if !all {
        let flags = u32::from(live)
            | (u32::from(config) << 1)
            | (u32::from(maximum) << 2)
            | (u32::from(guest) << 3);
        println!("{}", vcpu_count(c, &dom, flags)?);
        return Ok(());
    }
    let active_dom = c
        .domain_is_active(&p::RemoteDomainIsActiveArgs { dom: dom.clone() })?
        .active
        != 0;
    let get = |flags: u32| -> Result<i32, CmdError> {
        if flags & facts::domain_affect::LIVE != 0 && !active_dom {
            return Ok(-1);
        }
        Ok(vcpu_count(c, &dom, flags).unwrap_or(-1))
    };
    let rows = [
        ("maximum", "config", get(2 | 4)?),
        ("maximum", "live", get(1 | 4)?),
        ("current", "config", get(2)?),
        ("current", "live", get(1)?),
    ];
    for (w, s, n) in rows {
        if n > 0 {
            println!("{w:<12} {s:<12} {n:>3}");
        }
    }
    Ok(())
}

fn vcpuinfo(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let c = ctl.conn()?;
    let maxcpu = c.node_get_info()?.cpus.max(1) as usize;
    let info = c.domain_get_info(&p::RemoteDomainGetInfoArgs { dom: dom.clone() })?;
    let maplen = maxcpu.div_ceil(8);
    let args = p::RemoteDomainGetVcpusArgs {
        dom,
        maxinfo: info.nr_virt_cpu.into(),
        maplen: maplen as i32,
    };
    let r = c.domain_get_vcpus(&args)?;
    let affinity = |n: usize| -> String {
        let map = r.cpumaps.get(n * maplen..(n + 1) * maplen).unwrap_or(&[]);
        (0..maxcpu)
            .map(|i| {
                if map.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0) {
                    'y'
                } else {
                    '-'
                }
            })
            .collect()
    };
    if a.has("json") {
        let items = r
            .info
            .iter()
            .enumerate()
            .map(|(n, v)| {
                obj([
                    ("vcpu", v.number.into()),
                    ("cpu", v.cpu.into()),
                    ("state", vcpu_state(v.state).into()),
                    ("cpu_time_ns", v.cpu_time.into()),
                    ("affinity", affinity(n).into()),
                ])
            })
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let blocks: Vec<String> = r
        .info
        .iter()
        .enumerate()
        .map(|(n, v)| {
            let mut s = format!(
                "{:<15} {}\n{:<15} {}\n{:<15} {}\n",
                "VCPU:",
                v.number,
                "CPU:",
                v.cpu,
                "State:",
                vcpu_state(v.state)
            );
            if v.cpu_time != 0 {
                s.push_str(&format!(
                    "{:<15} {:.1}s\n",
                    "CPU time:",
                    v.cpu_time as f64 / 1e9
                ));
            }
            s.push_str(&format!("{:<15} {}\n", "CPU Affinity:", affinity(n)));
            s
        })
        .collect();
    print!("{}", blocks.join("\n"));
    Ok(())
}

fn vcpu_state(s: i32) -> &'static str {
    match s {
        0 => "offline",
        1 => "running",
        2 => "blocked",
        _ => "no state",
    }
}

fn domain_xml_tree(ctl: &mut Ctl, a: &Args) -> Result<rvirt_xml::tree::Element, CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let flags = if a.has("inactive") { 2 } else { 0 };
    let xml = ctl
        .conn()?
        .domain_get_xml_desc(&p::RemoteDomainGetXmlDescArgs { dom, flags })?
        .xml;
    rvirt_xml::tree::parse_document(&xml)
        .map_err(|e| CmdError::Msg(format!("failed to parse domain XML: {e}")))
}

fn first_attr(e: &rvirt_xml::tree::Element, child: &str, attrs: &[&str]) -> Option<String> {
    let c = e.child(child)?;
    attrs.iter().find_map(|a| c.attr(a).map(str::to_string))
}

fn domblklist(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let root = domain_xml_tree(ctl, a)?;
    let mut rows = Vec::new();
    for disk in root
        .child("devices")
        .into_iter()
        .flat_map(|d| d.children_named("disk"))
    {
        let source = first_attr(
            disk,
            "source",
            &["file", "dev", "dir", "name", "volume", "path"],
        );
        let target = first_attr(disk, "target", &["dev"]).unwrap_or_default();
        rows.push((
            disk.attr_s("type").unwrap_or_default(),
            disk.attr_s("device").unwrap_or_default(),
            target,
            source,
        ));
    }
    if a.has("json") {
        let items = rows
            .into_iter()
            .map(|(t, d, tg, s)| {
                obj([
                    ("type", t.into()),
                    ("device", d.into()),
                    ("target", tg.into()),
                    ("source", s.into()),
                ])
            })
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let details = a.has("details");
    let mut t = if details {
        Table::new(&["Type", "Device", "Target", "Source"])
    } else {
        Table::new(&["Target", "Source"])
    };
    for (ty, dev, target, source) in rows {
        let source = source.unwrap_or_else(|| "-".into());
        t.row(if details {
            vec![ty, dev, target, source]
        } else {
            vec![target, source]
        });
    }
    print!("{}", t.render());
    Ok(())
}

fn domiflist(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let root = domain_xml_tree(ctl, a)?;
    let mut rows = Vec::new();
    for nic in root
        .child("devices")
        .into_iter()
        .flat_map(|d| d.children_named("interface"))
    {
        let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        rows.push([
            dash(first_attr(nic, "target", &["dev"])),
            nic.attr_s("type").unwrap_or_default(),
            dash(first_attr(
                nic,
                "source",
                &["bridge", "dev", "network", "name", "path"],
            )),
            dash(first_attr(nic, "model", &["type"])),
            dash(first_attr(nic, "mac", &["address"])),
        ]);
    }
    if a.has("json") {
        let keys = ["interface", "type", "source", "model", "mac"];
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
    let mut t = Table::new(&["Interface", "Type", "Source", "Model", "MAC"]);
    for r in rows {
        t.row(r.to_vec());
    }
    print!("{}", t.render());
    Ok(())
}
