//! `event`: wait for domain events and print them like virsh.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rvirt_protocol as p;
use rvirt_protocol::{RemoteArgs, RemoteClient, Xdr};

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Cmd, Complete, Opt};

use super::names::{lifecycle, DOMAIN_EVENTS};

pub const CMDS: &[Cmd] = &[Cmd {
    name: "event",
    help: "Domain Events",
    desc: "List event types, or wait for domain events to occur",
    opts: OPTS,
    run: event,
    needs_conn: true,
}];

const OPTS: &[Opt] = &[
    Opt::named("domain", "filter by domain name, id or uuid").completes(Complete::Domain),
    Opt::named("event", "which event type to wait for"),
    Opt::flag("all", "wait for all events instead of just one type"),
    Opt::flag(
        "loop",
        "loop until timeout or interrupt, rather than one-shot",
    ),
    Opt::int("timeout", "timeout seconds"),
    Opt::flag("list", "list valid event types"),
    Opt::flag("timestamp", "show timestamp for each printed event"),
];

fn event(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    if a.has("list") {
        for e in DOMAIN_EVENTS {
            println!("{e}");
        }
        return Ok(());
    }
    let ids: Vec<usize> = match (a.get("event"), a.has("all")) {
        (Some(_), true) => {
            return Err(CmdError::Msg(
                "Options --all and --event are mutually exclusive".into(),
            ))
        }
        (None, false) => {
            return Err(CmdError::Msg(
                "one of --list, --all, or --event <type> is required".into(),
            ))
        }
        (None, true) => (0..DOMAIN_EVENTS.len()).collect(),
        (Some(name), false) => {
            let i = DOMAIN_EVENTS
                .iter()
                .position(|e| *e == name)
                .ok_or_else(|| CmdError::Msg(format!("unknown event type {name}")))?;
            vec![i]
        }
    };
    let timeout: Option<u64> = a.int("timeout")?;
    let dom = match a.get("domain") {
        Some(d) => Some(ctl.domain(d)?),
        None => None,
    };
    let c = ctl.conn()?.clone();
    let mut callbacks = HashMap::new();
    for id in ids {
        let args = p::RemoteConnectDomainEventCallbackRegisterAnyArgs {
            event_id: id as i32,
            dom: dom.clone(),
        };
        let r = c
            .connect_domain_event_callback_register_any(&args)
            .ctx(|| "failed to register event callback".into())?;
        callbacks.insert(r.callback_id, id);
    }
    let describe = |ev: &rvirt_core::client::Event| describe(ev, &callbacks);
    let result = wait(&c, &describe, a.has("loop"), timeout, a.has("timestamp"));
    for cb in callbacks.keys() {
        let _ = c.connect_domain_event_callback_deregister_any(
            &p::RemoteConnectDomainEventCallbackDeregisterAnyArgs { callback_id: *cb },
        );
    }
    let count = result?;
    println!("events received: {count}");
    // virsh fails an event command that received nothing.
    if count == 0 {
        return Err(CmdError::Silent);
    }
    Ok(())
}

/// Waits for events and prints the line `describe` makes of each (skipping those it
/// does not know), as virsh's event commands do; answers how many were printed.
pub(super) fn wait(
    c: &rvirt_core::client::Connect,
    describe: &dyn Fn(&rvirt_core::client::Event) -> Option<String>,
    looping: bool,
    timeout: Option<u64>,
    stamp: bool,
) -> Result<u32, CmdError> {
    let deadline = timeout.map(|t| Instant::now() + Duration::from_secs(t));
    let mut count = 0;
    loop {
        let left = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        if left.is_zero() {
            println!("event loop timed out");
            return Ok(count);
        }
        let Some(ev) = c.next_event(left)? else {
            continue;
        };
        let Some(line) = describe(&ev) else {
            continue;
        };
        if stamp {
            println!("{}: {line}", timestamp());
        } else {
            println!("{line}");
        }
        count += 1;
        if !looping {
            return Ok(count);
        }
    }
}

/// The line virsh prints for an event, or `None` for events not ours.
fn describe(ev: &rvirt_core::client::Event, callbacks: &HashMap<i32, usize>) -> Option<String> {
    if ev.program != rvirt_protocol::REMOTE_PROGRAM_NUMBER {
        return None;
    }
    if let Ok(RemoteArgs::DomainEventCallbackLifecycle(m)) = ev.decode() {
        callbacks.get(&m.callback_id)?;
        let (t, d) = lifecycle(m.msg.event, m.msg.detail);
        return Some(format!(
            "event 'lifecycle' for domain '{}': {t} {d}",
            m.msg.dom.name
        ));
    }
    // Every domain callback message starts with the callback id and the domain.
    let mut r = rvirt_protocol::Reader::new(&ev.payload);
    let cb = i32::decode(&mut r).ok()?;
    let id = *callbacks.get(&cb)?;
    let dom = p::RemoteNonnullDomain::decode(&mut r).ok()?;
    Some(format!(
        "event '{}' for domain '{}'",
        DOMAIN_EVENTS[id], dom.name
    ))
}

/// Local time as `YYYY-MM-DD HH:MM:SS.mmm+0000` (UTC).
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn utc_time(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a calendar date.
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_723), (2024, 1, 1));
        assert_eq!(utc_time(86_400 + 3_661), "1970-01-02 01:01:01");
    }

    #[test]
    fn lifecycle_line() {
        let msg = p::RemoteDomainEventCallbackLifecycleMsg {
            callback_id: 7,
            msg: p::RemoteDomainEventLifecycleMsg {
                dom: p::RemoteNonnullDomain {
                    name: "anchor2".into(),
                    uuid: [0; 16],
                    id: 1,
                },
                event: 2,
                detail: 0,
            },
        };
        let ev = rvirt_core::client::Event {
            program: rvirt_protocol::REMOTE_PROGRAM_NUMBER,
            procedure: rvirt_protocol::remote_proc::DOMAIN_EVENT_CALLBACK_LIFECYCLE,
            payload: rvirt_protocol::xdr::to_bytes(&msg),
        };
        let cbs = HashMap::from([(7, 0usize)]);
        assert_eq!(
            describe(&ev, &cbs).unwrap(),
            "event 'lifecycle' for domain 'anchor2': Started Booted"
        );
        assert!(describe(&ev, &HashMap::new()).is_none());
    }
}
