//! Defining, starting and stopping networks: the steps on the host in order, undone in
//! reverse when one fails, and the reconnection to running networks after a restart.

use std::sync::Arc;

use rvirt_plugin_api::protocol::RemoteNonnullNetwork;
use rvirt_xml::network::NetworkDef;
use rvirt_xml::ParseOptions;

use crate::bandwidth;
use crate::dnsmasq;
use crate::error::{NResult, NetError};
use crate::firewall;
use crate::host;
use crate::state::{ev, Driver, Event, Inner, Net, Run, Status};

/// `VIR_NETWORK_DEFINE_VALIDATE` / `VIR_NETWORK_CREATE_VALIDATE`.
pub const VALIDATE: u32 = rvirt_plugin_api::protocol::facts::DEFINE_VALIDATE;

/// Whether the mode is one where rvirt creates and owns the bridge.
pub fn managed_bridge(def: &NetworkDef) -> bool {
    matches!(def.forward_mode(), None | Some("nat" | "route" | "open"))
}

/// Whether `<bandwidth>` can be applied: on a bridge rvirt makes, or on the host bridge
/// of a `bridge`-mode network.
pub fn bandwidth_allowed(def: &NetworkDef) -> bool {
    managed_bridge(def) || (def.forward_mode() == Some("bridge") && def.bridge.is_some())
}

/// libvirt's driver-side checks of a definition: `<bandwidth>` (network-wide, then per
/// port group) only where it can be applied, a `hostdev` pool of VFs only.
fn validate(def: &NetworkDef) -> NResult<()> {
    crate::hostdev::validate(def)?;
    if bandwidth_allowed(def) {
        return Ok(());
    }
    let mode = def.forward_mode().unwrap_or("none");
    if def.bandwidth.is_some() {
        return Err(NetError::Unsupported(format!(
            "Unsupported network-wide <bandwidth> element in network {} with forward mode='{mode}'",
            def.name
        ))
        .into());
    }
    if let Some(pg) = def.portgroups.iter().find(|p| p.bandwidth.is_some()) {
        return Err(NetError::Unsupported(format!(
            "Unsupported <bandwidth> element in network '{}' in portgroup '{}' with forward mode='{mode}'",
            def.name, pg.name
        ))
        .into());
    }
    Ok(())
}

/// Parses a definition as libvirt's network driver does.
pub fn parse(xml: &str, flags: u32) -> NResult<NetworkDef> {
    let opts = ParseOptions::validate(flags & VALIDATE != 0);
    let def = NetworkDef::parse_with(xml, opts).map_err(NetError::Xml)?;
    validate(&def)?;
    Ok(def)
}

/// Fills in what libvirt's driver adds to a new definition: a free `virbrN` bridge
/// name and a random MAC address for the bridge.
fn complete(s: &Inner, def: &mut NetworkDef) -> NResult<()> {
    if !managed_bridge(def) {
        return Ok(());
    }
    let used = |b: &str| {
        s.nets
            .iter()
            .filter(|n| n.def.uuid != def.uuid)
            .any(|n| n.current().bridge.as_deref() == Some(b) || n.def.bridge.as_deref() == Some(b))
    };
    match &def.bridge {
        Some(b) if !b.contains('%') => {
            if used(b) {
                return Err(
                    NetError::Internal(format!("bridge name '{b}' already in use.")).into(),
                );
            }
        }
        tmpl => {
            let tmpl = tmpl.clone().unwrap_or_else(|| "virbr%d".into());
            let name = (0..256)
                .map(|i| tmpl.replacen("%d", &i.to_string(), 1))
                .find(|b| !used(b) && !host::link_exists(b))
                .ok_or_else(|| {
                    NetError::Internal("Bridge generation exceeded max id 256".into())
                })?;
            def.bridge = Some(name);
        }
    }
    if def.mac.is_none() {
        let r = rvirt_xml::Uuid::random().0;
        def.mac = Some(format!("52:54:00:{:02x}:{:02x}:{:02x}", r[0], r[1], r[2]));
    }
    Ok(())
}

/// Adds or replaces a definition, refusing name/UUID clashes like libvirt.
fn assign(s: &mut Inner, def: NetworkDef, live: bool) -> NResult<usize> {
    if let Ok(i) = s.by_uuid(&def.uuid.0) {
        let n = &mut s.nets[i];
        if n.def.name != def.name {
            return Err(NetError::Failed(format!(
                "network '{}' is already defined with uuid {}",
                n.def.name, n.def.uuid
            ))
            .into());
        }
        if live {
            if n.is_active() {
                return Err(NetError::Invalid(format!(
                    "network is already active as '{}'",
                    n.def.name
                ))
                .into());
            }
            n.next_def = Some(std::mem::replace(&mut n.def, def));
        } else if n.is_active() {
            n.next_def = Some(def);
        } else {
            n.def = def;
        }
        return Ok(i);
    }
    if let Ok(i) = s.by_name(&def.name) {
        return Err(NetError::Failed(format!(
            "network '{}' already exists with uuid {}",
            def.name, s.nets[i].def.uuid
        ))
        .into());
    }
    s.nets.push(Net {
        def,
        next_def: None,
        persistent: false,
        autostart: false,
        run: None,
    });
    Ok(s.nets.len() - 1)
}

/// `virNetworkDefineXMLFlags`.
pub fn define(
    drv: &Driver,
    s: &mut Inner,
    evs: &mut Vec<Event>,
    xml: &str,
    flags: u32,
) -> NResult<RemoteNonnullNetwork> {
    let mut def = parse(xml, flags)?;
    if let Ok(i) = s.by_uuid(&def.uuid.0) {
        // A redefinition keeps the bridge and MAC the driver chose, unless it sets them.
        let old = &s.nets[i].def;
        if def.bridge.is_none() && managed_bridge(&def) {
            def.bridge = old.bridge.clone();
        }
        if def.mac.is_none() {
            def.mac = old.mac.clone();
        }
    }
    complete(s, &mut def)?;
    drv.save_config(&def)?;
    let i = assign(s, def, false)?;
    let n = &mut s.nets[i];
    n.persistent = true;
    evs.push(Event::Lifecycle(n.reference(), ev::DEFINED));
    Ok(n.reference())
}

/// `virNetworkCreateXMLFlags`: a transient network, started at once.
pub fn create_xml(
    drv: &Driver,
    s: &mut Inner,
    evs: &mut Vec<Event>,
    xml: &str,
    flags: u32,
) -> NResult<RemoteNonnullNetwork> {
    let mut def = parse(xml, flags)?;
    complete(s, &mut def)?;
    let i = assign(s, def, true)?;
    if let Err(e) = start_at(drv, s, i) {
        if !s.nets[i].persistent {
            s.nets.remove(i);
        } else if let Some(d) = s.nets[i].next_def.take() {
            s.nets[i].def = d;
        }
        return Err(e);
    }
    evs.push(Event::Lifecycle(s.nets[i].reference(), ev::STARTED));
    Ok(s.nets[i].reference())
}

/// `virNetworkUndefine`: a running network stays up, as a transient one.
pub fn undefine(
    drv: &Driver,
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullNetwork,
) -> NResult<()> {
    let i = s.find(r)?;
    let n = &mut s.nets[i];
    if !n.persistent {
        return Err(NetError::Invalid("can't undefine transient network".into()).into());
    }
    drv.delete_config(&n.def.name)?;
    n.persistent = false;
    n.autostart = false;
    n.next_def = None;
    evs.push(Event::Lifecycle(n.reference(), ev::UNDEFINED));
    if !n.is_active() {
        s.nets.remove(i);
    }
    Ok(())
}

/// `virNetworkCreate`.
pub fn start(
    drv: &Driver,
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullNetwork,
) -> NResult<()> {
    let i = s.find(r)?;
    if s.nets[i].is_active() {
        return Err(NetError::Invalid("network is already active".into()).into());
    }
    start_at(drv, s, i)?;
    evs.push(Event::Lifecycle(s.nets[i].reference(), ev::STARTED));
    Ok(())
}

/// Brings network `i` up on the host and records what was created.
fn start_at(drv: &Driver, s: &mut Inner, i: usize) -> NResult<()> {
    let mut live = s.nets[i].def.clone();
    crate::hostdev::fill_pool(&mut live)?;
    if let Some(f) = live.forward.as_mut().filter(|f| f.mode == "nat") {
        // The live definition shows the source port range masquerading uses.
        f.nat.ports.get_or_insert((1024, 65535));
    }
    let mut st = Status {
        xml: live.to_xml(),
        ..Status::default()
    };
    if let Err(e) = setup(drv, &live, &mut st).and_then(|()| drv.save_status(&live.name, &st)) {
        teardown(drv, &live.name, &st);
        return Err(e);
    }
    s.nets[i].run = Some(Run { live, status: st });
    Ok(())
}

/// The host side of a start; `st` records every step as it succeeds.
fn setup(drv: &Driver, def: &NetworkDef, st: &mut Status) -> NResult<()> {
    if !managed_bridge(def) {
        // A host bridge is shaped, as libvirt does, and otherwise left alone.
        return match (&def.bridge, bandwidth_allowed(def)) {
            (Some(br), true) => shape(drv, def, br, st),
            _ => Ok(()),
        };
    }
    let br = def
        .bridge
        .clone()
        .ok_or_else(|| NetError::Internal(format!("network '{}' has no bridge name", def.name)))?;
    host::create_bridge(def, &br)?;
    st.bridge = Some(br.clone());
    if matches!(def.forward_mode(), Some("nat" | "route")) {
        host::enable_forwarding(def)?;
    }
    firewall::add(&drv.cfg, def, &br, st)?;
    if dnsmasq::needed(def) {
        st.dnsmasq_pid = Some(dnsmasq::start(&drv.cfg, def, &br)?);
    }
    shape(drv, def, &br, st)
}

/// Shapes bridge `br` as the network's `<bandwidth>` says (nothing without one).
fn shape(drv: &Driver, def: &NetworkDef, br: &str, st: &mut Status) -> NResult<()> {
    if let Some(bw) = &def.bandwidth {
        // As libvirt, whatever the bridge had is cleared first.
        st.tc_dev = Some(br.to_string());
        bandwidth::run_ignoring(&drv.cfg.tc, &bandwidth::clear(br));
        bandwidth::run_all(&drv.cfg.tc, &bandwidth::network_set(br, bw))?;
    }
    Ok(())
}

/// Removes what `st` says a start created, in reverse order, and the status file.
fn teardown(drv: &Driver, name: &str, st: &Status) {
    if let Some(pid) = st.dnsmasq_pid {
        dnsmasq::stop(&drv.cfg, name, pid);
    }
    firewall::remove_listed(&drv.cfg, name, st);
    if let Some(dev) = &st.tc_dev {
        bandwidth::run_ignoring(&drv.cfg.tc, &bandwidth::clear(dev));
    }
    if let Some(br) = &st.bridge {
        if let Err(e) = host::delete_bridge(br) {
            tracing::warn!("network '{name}': {e}");
        }
        let _ = std::fs::remove_file(drv.cfg.leases_file(br));
    }
    drv.delete_status(name);
}

/// `virNetworkDestroy`.
pub fn destroy(
    drv: &Driver,
    s: &mut Inner,
    evs: &mut Vec<Event>,
    r: &RemoteNonnullNetwork,
) -> NResult<()> {
    let i = s.find(r)?;
    let n = &mut s.nets[i];
    let Some(run) = n.run.take() else {
        return Err(NetError::Invalid("network is not active".into()).into());
    };
    teardown(drv, &n.def.name, &run.status);
    if let Some(d) = n.next_def.take() {
        n.def = d;
    }
    evs.push(Event::Lifecycle(n.reference(), ev::STOPPED));
    if !n.persistent {
        s.nets.remove(i);
    }
    Ok(())
}

/// Checks every network a status file says is running: one whose bridge is gone is
/// cleaned up and marked inactive; otherwise a missing dnsmasq or table is restored and
/// nothing that still runs is touched.
pub fn reconnect(drv: &Driver) {
    let mut s = drv.lock();
    let mut gone = Vec::new();
    for (i, n) in s.nets.iter_mut().enumerate() {
        let Some(run) = &mut n.run else { continue };
        let name = n.def.name.clone();
        if let Some(br) = run.status.bridge.clone() {
            if !host::link_exists(&br) {
                tracing::warn!("network '{name}': bridge {br} is gone, marking it inactive");
                teardown(drv, &name, &run.status);
                gone.push(i);
                continue;
            }
            restore(drv, &name, &br, run);
        }
    }
    for i in gone.into_iter().rev() {
        s.nets[i].run = None;
        if !s.nets[i].persistent {
            s.nets.remove(i);
        }
    }
}

/// Restarts a vanished dnsmasq and recreates vanished tables of a running network.
fn restore(drv: &Driver, name: &str, br: &str, run: &mut Run) {
    if !firewall::intact(&drv.cfg, &run.status) {
        firewall::remove(&drv.cfg, name, &mut run.status);
        if let Err(e) = firewall::add(&drv.cfg, &run.live, br, &mut run.status) {
            tracing::warn!("network '{name}': cannot restore its rules: {e}");
        }
    }
    let alive = run
        .status
        .dnsmasq_pid
        .is_some_and(|p| dnsmasq::is_ours(&drv.cfg, name, p));
    if dnsmasq::needed(&run.live) && !alive {
        match dnsmasq::start(&drv.cfg, &run.live, br) {
            Ok(pid) => run.status.dnsmasq_pid = Some(pid),
            Err(e) => tracing::warn!("network '{name}': cannot restart dnsmasq: {e}"),
        }
    }
    if let Err(e) = drv.save_status(name, &run.status) {
        tracing::warn!("network '{name}': {e}");
    }
}

/// Starts every inactive network marked autostart.
pub fn autostart(drv: &Arc<Driver>) {
    let mut s = drv.lock();
    for i in 0..s.nets.len() {
        if s.nets[i].autostart && !s.nets[i].is_active() {
            if let Err(e) = start_at(drv, &mut s, i) {
                tracing::warn!(
                    "failed to autostart network '{}': {}",
                    s.nets[i].def.name,
                    e.text()
                );
            }
        }
    }
}

/// The arguments of one `virNetworkUpdate`.
pub struct Update<'a> {
    pub command: u32,
    pub section: u32,
    pub parent: i32,
    pub xml: &'a str,
    pub flags: u32,
}

/// `virNetworkUpdate`: the change is made on copies of the live and persistent
/// definitions (as the flags say), each checked by a format/parse round; only when all
/// succeed are they put in place, saved, and the running dnsmasq brought in line.
pub fn update(drv: &Driver, n: &mut Net, u: &Update) -> NResult<()> {
    use crate::update::{apply, AFFECT_CONFIG, AFFECT_LIVE};
    let mut flags = u.flags;
    if flags & (AFFECT_LIVE | AFFECT_CONFIG) == 0 {
        flags |= if n.is_active() {
            AFFECT_LIVE
        } else {
            AFFECT_CONFIG
        };
    }
    if !n.is_active() && flags & AFFECT_LIVE != 0 {
        return Err(NetError::Invalid("network is not running".into()).into());
    }
    if flags & AFFECT_CONFIG != 0 && !n.persistent {
        return Err(NetError::Invalid(
            "cannot change persistent config of a transient network".into(),
        )
        .into());
    }
    let in_use = |dev: &str| ports_on(n, dev);
    let change = |d: &NetworkDef| -> NResult<NetworkDef> {
        let mut d = d.clone();
        apply(&mut d, u.command, u.section, u.parent, u.xml, &in_use)?;
        Ok(NetworkDef::parse(&d.to_xml()).map_err(NetError::Xml)?)
    };
    let live = match (&n.run, flags & AFFECT_LIVE != 0) {
        (Some(r), true) => Some(change(&r.live)?),
        _ => None,
    };
    let config = if flags & AFFECT_CONFIG != 0 {
        Some(change(n.next_def.as_ref().unwrap_or(&n.def))?)
    } else {
        None
    };
    if let Some(c) = config {
        drv.save_config(&c)?;
        if n.is_active() {
            n.next_def = Some(c);
        } else {
            n.def = c;
        }
    }
    if let (Some(live), Some(run)) = (live, n.run.as_mut()) {
        apply_live(drv, run, live)?;
    }
    Ok(())
}

/// Puts a changed live definition in force: dnsmasq, the firewall when forward
/// interfaces changed, the status file.
fn apply_live(drv: &Driver, run: &mut Run, live: NetworkDef) -> NResult<()> {
    let fwd = |d: &NetworkDef| d.forward.as_ref().map(|f| f.interfaces.clone());
    let rules_change = fwd(&live) != fwd(&run.live);
    run.live = live;
    run.status.xml = run.live.to_xml();
    if let Some(br) = run.status.bridge.clone() {
        if rules_change {
            firewall::remove(&drv.cfg, &run.live.name, &mut run.status);
            firewall::add(&drv.cfg, &run.live, &br, &mut run.status)?;
        }
        run.status.dnsmasq_pid =
            dnsmasq::refresh(&drv.cfg, &run.live, &br, run.status.dnsmasq_pid)?;
    }
    drv.save_status(&run.live.name, &run.status)
}

/// How many of a running network's ports are plugged into forward interface `dev`.
fn ports_on(n: &Net, dev: &str) -> usize {
    let Some(run) = &n.run else { return 0 };
    run.status
        .ports
        .iter()
        .filter_map(|x| rvirt_xml::network::NetworkPort::parse(x).ok())
        .filter(|p| matches!(&p.plug, Some(rvirt_xml::network::Plug::Direct { dev: d, .. }) if d == dev))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_only_where_it_can_be_applied() {
        let bw = "<bandwidth><inbound average='10'/></bandwidth>";
        let ok = format!(
            "<network><name>b</name><forward mode='bridge'/><bridge name='br0'/>{bw}</network>"
        );
        assert!(parse(&ok, 0).is_ok());
        let vepa = format!(
            "<network><name>v</name><forward mode='vepa'><interface dev='eth7'/></forward>{bw}</network>"
        );
        assert_eq!(
            parse(&vepa, 0).unwrap_err().text(),
            "unsupported configuration: Unsupported network-wide <bandwidth> element in \
             network v with forward mode='vepa'"
        );
        let pg = format!(
            "<network><name>v</name><forward mode='private'><interface dev='eth7'/></forward>\
             <portgroup name='pg'>{bw}</portgroup></network>"
        );
        assert_eq!(
            parse(&pg, 0).unwrap_err().text(),
            "unsupported configuration: Unsupported <bandwidth> element in network 'v' in \
             portgroup 'pg' with forward mode='private'"
        );
    }
}
