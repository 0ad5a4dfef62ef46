//! Domain commands answered by the guest agent: domhostname, domfsfreeze, domfsthaw,
//! domtime.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Cmd, Opt};

pub const CMDS: &[Cmd] = &[
    cmd(
        "domfsfreeze",
        "Freeze domain's mounted filesystems.",
        "Freeze domain's mounted filesystems.",
        FREEZE,
        domfsfreeze,
    ),
    cmd(
        "domfsthaw",
        "Thaw domain's mounted filesystems.",
        "Thaw domain's mounted filesystems.",
        THAW,
        domfsthaw,
    ),
    cmd(
        "domhostname",
        "print the domain's hostname",
        "",
        HOSTNAME,
        domhostname,
    ),
    cmd(
        "domtime",
        "domain time",
        "Gets or sets the domain's system time",
        TIME,
        domtime,
    ),
];

const FREEZE: &[Opt] = &[
    Opt::domain(),
    Opt::argv("mountpoint", "mountpoint path to be frozen"),
];
const THAW: &[Opt] = &[
    Opt::domain(),
    Opt::argv("mountpoint", "mountpoint path to be thawed"),
];
const HOSTNAME: &[Opt] = &[
    Opt::domain(),
    Opt::named("source", "address source: 'lease' or 'agent'"),
];
const TIME: &[Opt] = &[
    Opt::domain(),
    Opt::flag("now", "set to the time of the host running virsh"),
    Opt::flag("pretty", "print domain's time in human readable form"),
    Opt::flag(
        "sync",
        "instead of setting given time, synchronize from domain's RTC",
    ),
    Opt::named("time", "time to set"),
];

fn fs_freeze(ctl: &mut Ctl, a: &Args, freeze: bool) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let mountpoints = a.all("mountpoint").to_vec();
    let c = ctl.conn()?;
    let n = if freeze {
        let args = p::RemoteDomainFsfreezeArgs {
            dom,
            mountpoints,
            flags: 0,
        };
        c.domain_fsfreeze(&args)
            .ctx(|| "Unable to freeze filesystems".into())?
            .filesystems
    } else {
        let args = p::RemoteDomainFsthawArgs {
            dom,
            mountpoints,
            flags: 0,
        };
        c.domain_fsthaw(&args)
            .ctx(|| "Unable to thaw filesystems".into())?
            .filesystems
    };
    let verb = if freeze { "Froze" } else { "Thawed" };
    println!("{verb} {n} filesystem(s)");
    Ok(())
}

fn domfsfreeze(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    fs_freeze(ctl, a, true)
}

fn domfsthaw(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    fs_freeze(ctl, a, false)
}

fn domhostname(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    use rvirt_protocol::facts::agent_flags as f;
    let flags = match a.get("source") {
        None => 0,
        Some("lease") => f::HOSTNAME_LEASE,
        Some("agent") => f::HOSTNAME_AGENT,
        Some(other) => return Err(CmdError::Msg(format!("Unknown data source '{other}'"))),
    };
    let dom = ctl.domain(a.req("domain")?)?;
    let r = ctl
        .conn()?
        .domain_get_hostname(&p::RemoteDomainGetHostnameArgs { dom, flags })
        .ctx(|| "failed to get hostname".into())?;
    println!("{}", r.hostname);
    Ok(())
}

fn exclusive(a: &Args, x: &str, y: &str) -> Result<(), CmdError> {
    if a.has(x) && a.has(y) {
        return Err(CmdError::Msg(format!(
            "Options --{x} and --{y} are mutually exclusive"
        )));
    }
    Ok(())
}

fn domtime(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    exclusive(a, "time", "now")?;
    exclusive(a, "time", "sync")?;
    exclusive(a, "now", "sync")?;
    let time: Option<i64> = a.int("time")?;
    let dom = ctl.domain(a.req("domain")?)?;
    let c = ctl.conn()?;
    let set = time.is_some() || a.has("now") || a.has("sync");
    if !set {
        let r = c.domain_get_time(&p::RemoteDomainGetTimeArgs { dom, flags: 0 })?;
        if a.has("pretty") {
            println!("Time: {}", super::event_time(r.seconds));
        } else {
            println!("Time: {}", r.seconds);
        }
        return Ok(());
    }
    if a.has("pretty") {
        return Err(CmdError::Msg(
            "Options --pretty and --now, --sync or --time are mutually exclusive".into(),
        ));
    }
    let seconds = match time {
        Some(t) => t,
        None if a.has("now") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        None => 0,
    };
    let flags = u32::from(a.has("sync"));
    c.domain_set_time(&p::RemoteDomainSetTimeArgs {
        dom,
        seconds,
        nseconds: 0,
        flags,
    })?;
    Ok(())
}
