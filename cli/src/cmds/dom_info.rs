//! Domain monitoring: list, dominfo, domstate, domid/domname/domuuid, dumpxml, domstats.

use super::cmd;
use rvirt_core::client::Connect;
use rvirt_protocol as p;
use rvirt_protocol::facts;
use rvirt_protocol::RemoteClient;

use crate::ctl::{chars_to_string, uuid_str, CmdError, Context, Ctl};
use crate::fmt::{obj, Json, Table};
use crate::opts::{Args, Cmd, Opt};

use super::names::{domain_state, state_reason, typed_value};
use super::{flag_bits, sort_domains};

pub const CMDS: &[Cmd] = &[
    cmd(
        "domid",
        "convert a domain name or UUID to domain id",
        "",
        &[Opt::domain()],
        domid,
    ),
    cmd(
        "dominfo",
        "domain information",
        "Returns basic information about the domain.",
        &[Opt::domain(), Opt::json()],
        dominfo,
    ),
    cmd(
        "domname",
        "convert a domain id or UUID to domain name",
        "",
        &[Opt::domain()],
        domname,
    ),
    cmd(
        "domstate",
        "domain state",
        "Returns state about a domain.",
        DOMSTATE,
        domstate,
    ),
    cmd(
        "domstats",
        "get statistics about one or multiple domains",
        "Gets statistics about one or more (or all) domains.",
        DOMSTATS,
        domstats,
    ),
    cmd(
        "domuuid",
        "convert a domain name or id to domain UUID",
        "",
        &[Opt::domain()],
        domuuid,
    ),
    cmd(
        "domxml-from-native",
        "Convert native config to domain XML",
        "Convert native guest configuration format to domain XML format.",
        &[
            Opt::req("format", "source config data format"),
            Opt::req("config", "config data file to import from")
                .completes(crate::opts::Complete::File),
        ],
        domxml_from_native,
    ),
    cmd(
        "domxml-to-native",
        "Convert domain XML to native config",
        "Convert domain XML config to a native guest configuration format.",
        &[
            Opt::req("format", "target config data type format"),
            Opt::string("domain", "domain name, id or uuid"),
            Opt::string("xml", "xml data file to export from"),
        ],
        domxml_to_native,
    ),
    cmd(
        "dumpxml",
        "domain information in XML",
        "Output the domain information as an XML dump to stdout.",
        DUMPXML,
        dumpxml,
    ),
    cmd(
        "list",
        "list domains",
        "Returns list of domains.",
        LIST,
        list,
    ),
];

const DOMSTATE: &[Opt] = &[
    Opt::domain(),
    Opt::flag("reason", "also print reason for the state"),
    Opt::json(),
];
const DOMSTATS: &[Opt] = &[
    Opt::flag("state", "report domain state"),
    Opt::flag("cpu-total", "report domain physical cpu usage"),
    Opt::flag("balloon", "report domain balloon statistics"),
    Opt::flag("vcpu", "report domain virtual cpu information"),
    Opt::flag("interface", "report domain network interface information"),
    Opt::flag("block", "report domain block device statistics"),
    Opt::flag("perf", "report domain perf event statistics"),
    Opt::flag("iothread", "report domain IOThread information"),
    Opt::flag("memory", "report domain memory usage"),
    Opt::flag("list-active", "list only active domains"),
    Opt::flag("list-inactive", "list only inactive domains"),
    Opt::flag("list-persistent", "list only persistent domains"),
    Opt::flag("list-transient", "list only transient domains"),
    Opt::flag("list-running", "list only running domains"),
    Opt::flag("list-paused", "list only paused domains"),
    Opt::flag("list-shutoff", "list only shutoff domains"),
    Opt::flag("list-other", "list only domains in other states"),
    Opt::flag("raw", "do not pretty-print the fields"),
    Opt::flag("enforce", "enforce requested stats parameters"),
    Opt::flag("backing", "add backing chain information to block stats"),
    Opt::flag("nowait", "report only stats that are accessible instantly"),
    Opt::json(),
    Opt::argv("domain", "list of domains to get stats for")
        .completes(crate::opts::Complete::Domain),
];
const DUMPXML: &[Opt] = &[
    Opt::domain(),
    Opt::flag("inactive", "show inactive defined XML"),
    Opt::flag(
        "security-info",
        "include security sensitive information in XML dump",
    ),
    Opt::flag("update-cpu", "update guest CPU according to host CPU"),
    Opt::flag("migratable", "provide XML suitable for migrations"),
];
const LIST: &[Opt] = &[
    Opt::flag("inactive", "list inactive domains"),
    Opt::flag("all", "list inactive & active domains"),
    Opt::flag("transient", "list transient domains"),
    Opt::flag("persistent", "list persistent domains"),
    Opt::flag("with-snapshot", "list domains with existing snapshot"),
    Opt::flag("without-snapshot", "list domains without a snapshot"),
    Opt::flag("state-running", "list domains in running state"),
    Opt::flag("state-paused", "list domains in paused state"),
    Opt::flag("state-shutoff", "list domains in shutoff state"),
    Opt::flag("state-other", "list domains in other states"),
    Opt::flag("autostart", "list domains with autostart enabled"),
    Opt::flag("no-autostart", "list domains with autostart disabled"),
    Opt::flag("with-managed-save", "list domains with managed save state"),
    Opt::flag("without-managed-save", "list domains without managed save"),
    Opt::flag("uuid", "list uuid's only"),
    Opt::flag("name", "list domain names only"),
    Opt::flag("id", "list domain IDs only"),
    Opt::flag("table", "list table (default)"),
    Opt::flag(
        "managed-save",
        "mark inactive domains with managed save state",
    ),
    Opt::json(),
];

fn list_flags(a: &Args) -> u32 {
    use facts::domain_list as l;
    let mut f = if a.has("all") {
        l::ACTIVE | l::INACTIVE
    } else if a.has("inactive") || a.has("state-shutoff") {
        l::INACTIVE
    } else {
        l::ACTIVE
    };
    f |= flag_bits(
        a,
        &[
            ("persistent", l::PERSISTENT),
            ("transient", l::TRANSIENT),
            ("state-running", l::RUNNING),
            ("state-paused", l::PAUSED),
            ("state-shutoff", l::SHUTOFF),
            ("state-other", l::OTHER),
            ("with-managed-save", l::MANAGEDSAVE),
            ("without-managed-save", l::NO_MANAGEDSAVE),
            ("autostart", l::AUTOSTART),
            ("no-autostart", l::NO_AUTOSTART),
            ("with-snapshot", l::HAS_SNAPSHOT),
            ("without-snapshot", l::NO_SNAPSHOT),
        ],
    );
    f
}

/// A listed domain's state; as virsh, from `virDomainGetInfo` when the driver does not
/// implement `virDomainGetState`.
fn list_state(c: &Connect, d: &p::RemoteNonnullDomain) -> Option<i32> {
    let args = p::RemoteDomainGetStateArgs {
        dom: d.clone(),
        flags: 0,
    };
    match c.domain_get_state(&args) {
        Ok(st) => Some(st.state),
        Err(e) if crate::ctl::is_no_support(&e) => c
            .domain_get_info(&p::RemoteDomainGetInfoArgs { dom: d.clone() })
            .ok()
            .map(|i| i32::from(i.state)),
        Err(_) => None,
    }
}

fn list(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let only = a.has("uuid") || a.has("name") || a.has("id");
    if a.has("table") && only {
        return Err(CmdError::Msg(
            "Options --table and --name/--uuid/--id are mutually exclusive".into(),
        ));
    }
    let c = ctl.conn()?;
    let args = p::RemoteConnectListAllDomainsArgs {
        need_results: 1,
        flags: list_flags(a),
    };
    let mut doms = c
        .connect_list_all_domains(&args)
        .ctx(|| "Failed to list domains".into())?
        .domains;
    sort_domains(&mut doms);
    let id_str = |d: &p::RemoteNonnullDomain| {
        if d.id >= 0 {
            d.id.to_string()
        } else {
            "-".to_string()
        }
    };
    if a.has("json") || !only {
        let mut rows = Vec::new();
        for d in &doms {
            let Some(st) = list_state(c, d) else {
                continue;
            };
            let mut state = domain_state(st).to_string();
            if a.has("managed-save") && st == 5 {
                let ms = c.domain_has_managed_save_image(&p::RemoteDomainHasManagedSaveImageArgs {
                    dom: d.clone(),
                    flags: 0,
                });
                if ms.is_ok_and(|r| r.result > 0) {
                    state = "saved".into();
                }
            }
            rows.push((d, state));
        }
        if a.has("json") {
            let items = rows
                .iter()
                .map(|(d, s)| {
                    obj([
                        ("id", (d.id >= 0).then_some(d.id).into()),
                        ("name", d.name.as_str().into()),
                        ("uuid", uuid_str(&d.uuid).into()),
                        ("state", s.as_str().into()),
                    ])
                })
                .collect();
            print!("{}", Json::Arr(items).render());
            return Ok(());
        }
        let mut t = Table::new(&["Id", "Name", "State"]);
        for (d, s) in rows {
            t.row(vec![id_str(d), d.name.clone(), s]);
        }
        print!("{}", t.render());
        return Ok(());
    }
    for d in &doms {
        let mut parts = Vec::new();
        if a.has("uuid") {
            parts.push(uuid_str(&d.uuid));
        }
        if a.has("id") {
            if d.id < 0 && !a.has("uuid") && !a.has("name") {
                continue;
            }
            parts.push(id_str(d));
        }
        if a.has("name") {
            parts.push(d.name.clone());
        }
        println!("{}", parts.join(" "));
    }
    Ok(())
}

fn dominfo(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let c = ctl.conn()?;
    let d = || dom.clone();
    let os = c
        .domain_get_os_type(&p::RemoteDomainGetOsTypeArgs { dom: d() })
        .ok()
        .map(|r| r.r#type);
    let info = c.domain_get_info(&p::RemoteDomainGetInfoArgs { dom: d() });
    let persistent = c
        .domain_is_persistent(&p::RemoteDomainIsPersistentArgs { dom: d() })
        .ok()
        .map(|r| r.persistent != 0);
    let autostart = c
        .domain_get_autostart(&p::RemoteDomainGetAutostartArgs { dom: d() })
        .ok()
        .map(|r| r.autostart != 0);
    let managed = c
        .domain_has_managed_save_image(&p::RemoteDomainHasManagedSaveImageArgs {
            dom: d(),
            flags: 0,
        })
        .ok()
        .map(|r| r.result != 0);
    let secmodel = match c.node_get_security_model() {
        Ok(m) => Some((chars_to_string(&m.model), chars_to_string(&m.doi))),
        Err(e) if crate::ctl::is_no_support(&e) => None,
        Err(e) => return Err(e.into()),
    };
    let secmodel = secmodel.filter(|(m, _)| !m.is_empty());
    let label = match &secmodel {
        Some(_) => {
            let l =
                c.domain_get_security_label(&p::RemoteDomainGetSecurityLabelArgs { dom: d() })?;
            Some((chars_to_string(&l.label), l.enforcing != 0))
        }
        None => None,
    };
    let messages = c
        .domain_get_messages(&p::RemoteDomainGetMessagesArgs { dom: d(), flags: 0 })
        .map(|r| r.msgs)
        .unwrap_or_default();
    if a.has("json") {
        let info = info.as_ref().ok();
        let j = obj([
            ("id", (dom.id >= 0).then_some(dom.id).into()),
            ("name", dom.name.as_str().into()),
            ("uuid", uuid_str(&dom.uuid).into()),
            ("os_type", os.into()),
            (
                "state",
                info.map(|i| domain_state(i.state.into()).to_string())
                    .into(),
            ),
            ("vcpus", info.map(|i| u32::from(i.nr_virt_cpu)).into()),
            ("cpu_time_ns", info.map(|i| i.cpu_time).into()),
            ("max_memory_kib", info.map(|i| i.max_mem).into()),
            ("used_memory_kib", info.map(|i| i.memory).into()),
            ("persistent", persistent.into()),
            ("autostart", autostart.into()),
            ("managed_save", managed.into()),
            (
                "security_model",
                secmodel.as_ref().map(|m| m.0.clone()).into(),
            ),
            (
                "security_doi",
                secmodel.as_ref().map(|m| m.1.clone()).into(),
            ),
            (
                "security_label",
                label
                    .as_ref()
                    .filter(|l| !l.0.is_empty())
                    .map(|l| l.0.clone())
                    .into(),
            ),
            (
                "messages",
                Json::Arr(messages.iter().map(|m| m.as_str().into()).collect()),
            ),
        ]);
        print!("{}", j.render());
        return Ok(());
    }
    let line = |k: &str, v: &str| println!("{k:<15} {v}");
    line(
        "Id:",
        &if dom.id >= 0 {
            dom.id.to_string()
        } else {
            "-".into()
        },
    );
    line("Name:", &dom.name);
    line("UUID:", &uuid_str(&dom.uuid));
    if let Some(os) = &os {
        line("OS Type:", os);
    }
    if let Ok(i) = &info {
        line("State:", domain_state(i.state.into()));
        line("CPU(s):", &i.nr_virt_cpu.to_string());
        if i.cpu_time != 0 {
            line("CPU time:", &format!("{:.1}s", i.cpu_time as f64 / 1e9));
        }
        if i.max_mem != u64::from(u32::MAX) {
            line("Max memory:", &format!("{} KiB", i.max_mem));
        } else {
            line("Max memory:", "no limit");
        }
        line("Used memory:", &format!("{} KiB", i.memory));
    }
    line(
        "Persistent:",
        persistent.map_or("unknown", |p| if p { "yes" } else { "no" }),
    );
    if let Some(a) = autostart {
        line("Autostart:", if a { "enable" } else { "disable" });
    }
    line(
        "Managed save:",
        managed.map_or("unknown", |m| if m { "yes" } else { "no" }),
    );
    if let Some((model, doi)) = &secmodel {
        line("Security model:", model);
        line("Security DOI:", doi);
        if let Some((l, enf)) = label.filter(|l| !l.0.is_empty()) {
            line(
                "Security label:",
                &format!("{l} ({})", if enf { "enforcing" } else { "permissive" }),
            );
        }
    }
    for (i, m) in messages.iter().enumerate() {
        line(if i == 0 { "Messages:" } else { "" }, m);
    }
    info.map(|_| ()).map_err(CmdError::from)
}

fn domstate(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let s = ctl
        .conn()?
        .domain_get_state(&p::RemoteDomainGetStateArgs { dom, flags: 0 })?;
    if a.has("json") {
        let j = obj([
            ("state", domain_state(s.state).into()),
            ("reason", state_reason(s.state, s.reason).into()),
        ]);
        print!("{}", j.render());
    } else if a.has("reason") {
        println!(
            "{} ({})",
            domain_state(s.state),
            state_reason(s.state, s.reason)
        );
    } else {
        println!("{}", domain_state(s.state));
    }
    Ok(())
}

fn domid(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    if dom.id >= 0 {
        println!("{}", dom.id);
    } else {
        println!("-");
    }
    Ok(())
}

fn domname(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    println!("{}", ctl.domain(a.req("domain")?)?.name);
    Ok(())
}

fn domuuid(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    println!("{}", uuid_str(&ctl.domain(a.req("domain")?)?.uuid));
    Ok(())
}

fn dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = flag_bits(
        a,
        &[
            ("security-info", facts::domain_xml::SECURE),
            ("inactive", facts::domain_xml::INACTIVE),
            ("update-cpu", facts::domain_xml::UPDATE_CPU),
            ("migratable", facts::domain_xml::MIGRATABLE),
        ],
    );
    let dom = ctl.domain(a.req("domain")?)?;
    let r = ctl
        .conn()?
        .domain_get_xml_desc(&p::RemoteDomainGetXmlDescArgs { dom, flags })?;
    print!("{}", r.xml);
    Ok(())
}

fn domxml_from_native(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let config = super::read_file(a.req("config")?)?;
    let r =
        ctl.conn()?
            .connect_domain_xml_from_native(&p::RemoteConnectDomainXmlFromNativeArgs {
                native_format: a.req("format")?.into(),
                native_config: config,
                flags: 0,
            })?;
    print!("{}", r.domain_xml);
    Ok(())
}

fn domxml_to_native(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let xml = match (a.get("xml"), a.get("domain")) {
        (Some(f), _) => super::read_file(f)?,
        (None, Some(d)) => {
            let dom = ctl.domain(d)?;
            ctl.conn()?
                .domain_get_xml_desc(&p::RemoteDomainGetXmlDescArgs { dom, flags: 0 })?
                .xml
        }
        (None, None) => {
            return Err(CmdError::Msg("need either a domain or an XML file".into()));
        }
    };
    let r = ctl
        .conn()?
        .connect_domain_xml_to_native(&p::RemoteConnectDomainXmlToNativeArgs {
            native_format: a.req("format")?.into(),
            domain_xml: xml,
            flags: 0,
        })?;
    println!("{}", r.native_config);
    Ok(())
}

fn domstats(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let stats = flag_bits(
        a,
        &[
            ("state", facts::domain_stats::STATE),
            ("cpu-total", facts::domain_stats::CPU_TOTAL),
            ("balloon", facts::domain_stats::BALLOON),
            ("vcpu", facts::domain_stats::VCPU),
            ("interface", facts::domain_stats::INTERFACE),
            ("block", facts::domain_stats::BLOCK),
            ("perf", facts::domain_stats::PERF),
            ("iothread", facts::domain_stats::IOTHREAD),
            ("memory", facts::domain_stats::MEMORY),
        ],
    );
    let flags = flag_bits(
        a,
        &[
            ("list-active", facts::domain_list::ACTIVE),
            ("list-inactive", facts::domain_list::INACTIVE),
            ("list-persistent", facts::domain_list::PERSISTENT),
            ("list-transient", facts::domain_list::TRANSIENT),
            ("list-running", facts::domain_list::RUNNING),
            ("list-paused", facts::domain_list::PAUSED),
            ("list-shutoff", facts::domain_list::SHUTOFF),
            ("list-other", facts::domain_list::OTHER),
            ("nowait", 1 << 29),
            ("backing", 1 << 30),
            ("enforce", 1 << 31),
        ],
    );
    let mut doms = Vec::new();
    for name in a.all("domain") {
        doms.push(ctl.domain(name)?);
    }
    let c = ctl.conn()?;
    let recs = if doms.is_empty() {
        c.connect_get_all_domain_stats(&p::RemoteConnectGetAllDomainStatsArgs {
            doms: vec![],
            stats,
            flags,
        })?
        .ret_stats
    } else {
        c.connect_get_all_domain_stats(&p::RemoteConnectGetAllDomainStatsArgs {
            doms,
            stats,
            flags,
        })?
        .ret_stats
    };
    if a.has("json") {
        let items = recs
            .iter()
            .map(|r| {
                let params = r
                    .params
                    .iter()
                    .map(|p| (p.field.clone(), Json::Str(typed_value(&p.value))))
                    .collect();
                obj([
                    ("domain", r.dom.name.as_str().into()),
                    ("stats", Json::Obj(params)),
                ])
            })
            .collect();
        print!("{}", Json::Arr(items).render());
        return Ok(());
    }
    let blocks: Vec<String> = recs
        .iter()
        .map(|r| {
            let mut s = format!("Domain: '{}'\n", r.dom.name);
            for p in &r.params {
                s.push_str(&format!("  {}={}\n", p.field, typed_value(&p.value)));
            }
            s
        })
        .collect();
    print!("{}", blocks.join("\n"));
    Ok(())
}
