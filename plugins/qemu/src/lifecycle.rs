//! Starting and stopping QEMU, QMP events, process exit, reconnect after a daemon restart.
//!
//! Locking rule: the driver lock is never held while talking to QEMU; a QMP call clones the
//! client out of the state first. The QMP reader thread never issues commands itself.

use std::sync::{Arc, Weak};
use std::time::Duration;

use rvirt_plugin_api::protocol::{RemoteError, RemoteNonnullDomain};
use rvirt_xml::domain::{ChrKind, Device, DomainDef};
use serde_json::Value;

use crate::argv::{self, Runtime};
use crate::devices::chardev_id;
use crate::driver::{reason, st, Driver, Run};
use crate::error::{QResult, QemuError};
use crate::events::{ev, Event};
use crate::process::{pid_alive, Proc};
use crate::qmp::{Notice, Qmp, QmpError};
use crate::status::Status;

const QMP_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const DESTROY_GRACE: Duration = Duration::from_secs(3);

pub fn monitor_error(e: QmpError) -> RemoteError {
    match e {
        QmpError::Command { cmd, desc, .. } => QemuError::Monitor { cmd, desc }.into(),
        QmpError::Closed => QemuError::Invalid("domain is not running".into()).into(),
        other => QemuError::Failed(other.to_string()).into(),
    }
}

/// The QMP client of a running domain (cloned out of the lock).
pub fn qmp_of(drv: &Driver, r: &RemoteNonnullDomain) -> QResult<Arc<Qmp>> {
    drv.read(|s| {
        let d = s.find(r)?;
        let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
        Ok(run.qmp.clone())
    })
}

/// Fills in what a definition gets at start: canonical machine type, device aliases.
fn prepare_def(drv: &Driver, def: &DomainDef) -> DomainDef {
    let mut live = def.clone();
    let machine = live.machine.clone().unwrap_or_else(|| "pc".into());
    live.machine = Some(drv.host().canonical_machine(&machine));
    crate::postparse::assign_aliases(&mut live);
    live
}

/// The first port from 5900 up that is free and not in `taken`.
fn free_display_port(taken: &[u16]) -> u16 {
    (5900..6900)
        .filter(|p| !taken.contains(p))
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .unwrap_or(5900)
}

/// Ports for the `autoport` VNC and SPICE displays, in device order as libvirt takes them.
fn display_ports(def: &DomainDef) -> (Option<u16>, Option<u16>) {
    let (mut vnc, mut spice) = (None, None);
    let mut taken = Vec::new();
    for d in &def.devices {
        let Device::Graphics(g) = d else { continue };
        let slot = match g.graphics_type.as_str() {
            "vnc" => &mut vnc,
            "spice" => &mut spice,
            _ => continue,
        };
        if g.autoport && slot.is_none() {
            let p = free_display_port(&taken);
            taken.push(p);
            *slot = Some(p);
        }
    }
    (vnc, spice)
}

fn runtime_for(drv: &Driver, def: &DomainDef) -> Runtime {
    let (vnc_port, spice_port) = display_ports(def);
    Runtime {
        monitor: drv.cfg.monitor_path(&def.name),
        pidfile: drv.cfg.pid_file(&def.name),
        run_dir: drv.cfg.run_dir.clone(),
        vnc_port,
        spice_port,
    }
}

/// The live graphics: the ports picked for `autoport`, and the address a listener
/// without one binds to (libvirt's `vnc_listen`/`spice_listen` default).
fn set_display_ports(live: &mut DomainDef, rt: &Runtime) {
    for d in &mut live.devices {
        let Device::Graphics(g) = d else { continue };
        let port = match g.graphics_type.as_str() {
            "vnc" => rt.vnc_port,
            "spice" => rt.spice_port,
            _ => None,
        };
        if let (true, Some(p)) = (g.autoport, port) {
            g.port = p as i32;
        }
        if matches!(g.listen_type.as_str(), "address" | "") && g.listen_address.is_none() {
            g.listen_address = Some("127.0.0.1".into());
        }
    }
}

/// Fills pty paths from `query-chardev` into the live definition.
fn fill_ptys(qmp: &Qmp, live: &mut DomainDef) -> Result<(), QmpError> {
    let list = qmp.execute("query-chardev", None)?;
    let ptys: Vec<(String, String)> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    let label = c.get("label")?.as_str()?;
                    let path = c.get("filename")?.as_str()?.strip_prefix("pty:")?;
                    Some((label.to_string(), path.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut counters = [0usize; 4];
    let mut serial_paths: Vec<(u32, String)> = Vec::new();
    for d in &mut live.devices {
        let Device::Chr(c) = d else { continue };
        let n = counters[c.kind as usize];
        counters[c.kind as usize] += 1;
        if c.source_type != "pty" {
            continue;
        }
        let id = chardev_id(c, n);
        if let Some((_, p)) = ptys.iter().find(|(l, _)| *l == id) {
            c.source_path = Some(p.clone());
            if c.kind == ChrKind::Serial {
                serial_paths.push((c.target_port.unwrap_or(n as u32), p.clone()));
            }
        }
    }
    // A serial console shares its serial port's pty.
    for d in &mut live.devices {
        if let Device::Chr(c) = d {
            if c.kind == ChrKind::Console && c.source_path.is_none() {
                let port = c.target_port.unwrap_or(0);
                c.source_path = serial_paths
                    .iter()
                    .find(|(p, _)| *p == port)
                    .map(|(_, s)| s.clone());
            }
        }
    }
    Ok(())
}

/// Where a started guest's state comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// A fresh boot; `paused` leaves the CPUs stopped.
    Fresh { paused: bool },
    /// A saved image's migration stream, read from this descriptor (QEMU inherits it);
    /// the CPUs stay stopped and the start is reported as a restore.
    Incoming(std::os::fd::RawFd),
    /// A revert to a snapshot, reported as a start from a snapshot: with `load`, the
    /// internal snapshot of that name is loaded (`-loadvm`) and the CPUs stay stopped
    /// ([`crate::snapshot`] resumes them or not); without, a fresh boot (`paused` as
    /// for [`Boot::Fresh`]).
    Snapshot { load: Option<String>, paused: bool },
}

/// Starts the domain with `uuid`; `paused` leaves the CPUs stopped.
pub fn start(drv: &Arc<Driver>, uuid: [u8; 16], paused: bool) -> QResult<RemoteNonnullDomain> {
    start_from(drv, uuid, Boot::Fresh { paused }, None)
}

/// Starts the domain with `uuid` from `boot`, running `def` (a saved image's) instead
/// of its own definition when given.
pub fn start_from(
    drv: &Arc<Driver>,
    uuid: [u8; 16],
    boot: Boot,
    def: Option<DomainDef>,
) -> QResult<RemoteNonnullDomain> {
    let paused = !matches!(
        boot,
        Boot::Fresh { paused: false }
            | Boot::Snapshot {
                load: None,
                paused: false
            }
    );
    let (def, id, generation) = drv.write(|s, _| {
        let d = s
            .doms
            .iter_mut()
            .find(|d| d.def.uuid.0 == uuid)
            .ok_or(QemuError::Invalid("domain vanished".into()))?;
        if d.run.is_some() || d.starting {
            return Err(QemuError::Invalid("domain is already running".into()).into());
        }
        d.starting = true;
        let def = def.unwrap_or_else(|| d.def.clone());
        let id = s.next_id;
        s.next_id += 1;
        let generation = s.next_generation;
        s.next_generation += 1;
        Ok((def, id, generation))
    })?;
    let r = launch(drv, &def, id, generation, boot.clone());
    drv.write(|s, events| {
        let Some(i) = s.doms.iter().position(|d| d.def.uuid.0 == uuid) else {
            return Err(QemuError::Invalid("domain vanished".into()).into());
        };
        let d = &mut s.doms[i];
        d.starting = false;
        let r = r.and_then(|run| {
            if run.proc.has_exited() {
                run.qmp.close();
                return Err(QemuError::Failed("QEMU exited during startup".into()).into());
            }
            Ok(run)
        });
        match r {
            Ok(run) => {
                d.run = Some(run);
                d.shutoff_reason = 0;
                drv.save_status(d);
                agent_started_event(d, events);
                // As libvirt: QEMU starts with its CPUs stopped; `cont` resumes them
                // before the start is reported.
                if !paused {
                    events.push(Event::Lifecycle(
                        d.reference(),
                        ev::RESUMED,
                        ev::RESUMED_UNPAUSED,
                    ));
                }
                let detail = match boot {
                    Boot::Incoming(_) => ev::STARTED_RESTORED,
                    Boot::Fresh { .. } => ev::STARTED_BOOTED,
                    Boot::Snapshot { .. } => ev::STARTED_FROM_SNAPSHOT,
                };
                events.push(Event::Lifecycle(d.reference(), ev::STARTED, detail));
                if paused && matches!(boot, Boot::Fresh { .. }) {
                    events.push(Event::Lifecycle(
                        d.reference(),
                        ev::SUSPENDED,
                        ev::SUSPENDED_PAUSED,
                    ));
                }
                Ok(d.reference())
            }
            Err(e) => {
                drv.remove_runtime_files(&d.def.name);
                if !d.persistent {
                    forget_transient_tpm(drv, &d.def);
                    s.doms.remove(i);
                }
                Err(e)
            }
        }
    })
}

/// As libvirt, a started domain with an agent channel reports the agent's state
/// (the guest has not opened the port yet) before its start.
fn agent_started_event(d: &crate::driver::Dom, events: &mut Vec<Event>) {
    use rvirt_plugin_api::protocol::facts::agent_lifecycle as al;
    let Some(run) = &d.run else { return };
    let Some(c) = crate::agent::channel::agent_channel(&run.live) else {
        return;
    };
    if let Some(state) = &c.target_state {
        let state = crate::agent::channel::lifecycle_state(state == "connected");
        events.push(Event::AgentLifecycle(
            d.reference(),
            state,
            al::REASON_DOMAIN_STARTED,
        ));
    }
}

/// Spawns QEMU, connects the monitor, reads pty paths and (unless paused) starts the CPUs.
fn launch(
    drv: &Arc<Driver>,
    def: &DomainDef,
    id: i32,
    generation: u64,
    boot: Boot,
) -> QResult<Run> {
    let mut live = prepare_def(drv, def);
    crate::agent::channel::prepare(&drv.cfg, &mut live, id)
        .map_err(|e| QemuError::sys("cannot create the channel directory", e))?;
    let found = crate::firmware::descriptors(crate::firmware::DESCRIPTOR_DIRS);
    crate::firmware::fill(&mut live, &drv.cfg.nvram_dir(), &found).map_err(QemuError::from)?;
    crate::firmware::ensure_nvram(&live).map_err(QemuError::from)?;
    let rt = runtime_for(drv, &live);
    set_display_ports(&mut live, &rt);
    let swtpm = crate::tpm::start(&live, &drv.cfg.state_dir, &rt, &drv.cfg.log_dir)
        .map_err(QemuError::from)?;
    let stop_swtpm = || {
        if let Some(p) = &swtpm {
            crate::tpm::stop(p);
        }
    };
    let taps = crate::netplug::plug(drv.own_uri(), &mut live).inspect_err(|_| stop_swtpm())?;
    let plugged = live.clone();
    let unplug = || {
        crate::netplug::unplug(drv.own_uri(), &plugged);
        crate::hostdev::release(drv.own_uri(), &plugged);
        stop_swtpm();
    };
    if let Err(e) = crate::hostdev::prepare(drv.own_uri(), &live) {
        crate::netplug::unplug(drv.own_uri(), &plugged);
        stop_swtpm();
        return Err(e);
    }
    if let Err(e) = crate::tapbw::shape_taps(&drv.cfg.tc, drv.own_uri(), &live) {
        unplug();
        return Err(e);
    }
    // The taps' descriptors stay open here until QEMU has inherited them.
    launch_plugged(drv, live, rt, &taps, (id, generation), boot).inspect_err(|_| unplug())
}

/// `<vcpu cpuset>`, canonical since parsing: the host CPUs QEMU may run on (all: empty).
fn pinned_cpus(live: &DomainDef) -> Vec<usize> {
    live.extras()
        .cpuset
        .as_deref()
        .and_then(rvirt_xml::spec::bitmap_members)
        .map(|s| s.into_iter().map(|c| c as usize).collect())
        .unwrap_or_default()
}

/// The rest of [`launch`], once the interfaces are plugged in.
fn launch_plugged(
    drv: &Arc<Driver>,
    mut live: DomainDef,
    rt: Runtime,
    taps: &crate::netplug::Taps,
    (id, generation): (i32, u64),
    boot: Boot,
) -> QResult<Run> {
    let def = &live.clone();
    let opened = crate::volumes::resolve(drv.own_uri(), &live)?;
    let mut args = argv::build(&opened, &rt).map_err(|e| QemuError::Unsupported(e.to_string()))?;
    taps.pass_by_fd(&mut args);
    let mut keep_fds = taps.fds();
    if let Boot::Incoming(fd) = boot {
        args.extend(["-incoming".to_string(), "defer".to_string()]);
        keep_fds.push(fd);
    }
    if let Boot::Snapshot {
        load: Some(name), ..
    } = &boot
    {
        args.extend(["-loadvm".to_string(), name.clone()]);
    }
    crate::domain::check_emulator(drv, &live)?;
    crate::domain::check_disks(&opened)?;
    let emulator = argv::emulator(&live, &drv.cfg.emulator).to_string();
    drv.remove_runtime_files(&def.name);
    let log = drv.cfg.log_file(&def.name);
    // Only this run's part of the log goes into start errors.
    let log_start = std::fs::metadata(&log).map_or(0, |m| m.len());
    append_log(&log, &emulator, &args);
    let uuid = def.uuid.0;
    let weak = Arc::downgrade(drv);
    let scoped = drv.cfg.scope.active();
    let (program, argv) = if scoped {
        crate::scope::wrap(id, &def.name, &emulator, &args)
    } else {
        (emulator.clone(), args.clone())
    };
    let proc = Proc::spawn(
        &program,
        &argv,
        &log,
        &keep_fds,
        &pinned_cpus(&live),
        Box::new(move || on_exit(&weak, uuid, generation)),
    )
    .map_err(|e| QemuError::Failed(e.to_string()))?;
    let fail = |e: String| -> RemoteError {
        // A QEMU that refuses its configuration closes the monitor as it exits: give it a
        // moment to be gone, so the error names what QEMU said rather than the socket.
        let exited = proc.wait_exit(Duration::from_secs(1)) || !pid_alive(proc.pid);
        proc.terminate(Duration::from_secs(1), false);
        crate::cgroup::Group::of(id, &def.name).remove();
        let tail = log_tail(&log, log_start);
        if exited && !tail.is_empty() {
            // libvirt: qemuProcessReportLogError after the monitor could not be opened.
            return QemuError::Internal(format!(
                "process exited while connecting to monitor{tail}"
            ))
            .into();
        }
        QemuError::Failed(format!("QEMU failed to start: {e}{tail}")).into()
    };
    let weak = Arc::downgrade(drv);
    let handler = Box::new(move |n: Notice| on_notice(&weak, uuid, generation, n));
    let pid = proc.pid;
    let qmp = Qmp::connect(
        &rt.monitor,
        QMP_CONNECT_TIMEOUT,
        &|| pid_alive(pid),
        handler,
    )
    .map_err(|e| fail(e.to_string()))?;
    if let Err(e) = crate::cgroup::limit_memlock(pid, &live) {
        let _ = fail(String::new());
        return Err(e);
    }
    if scoped {
        // QEMU answers its monitor, so systemd-run has put it in its scope and executed it.
        crate::scope::register_machine(id, &def.name, &uuid, pid);
    } else {
        // Tuning the definition asks for and the cgroup refuses fails the start with the
        // cgroup's error, as libvirt's.
        match crate::cgroup::place(id, &live, pid, &qmp) {
            Ok(true) => {
                live.extras_mut().resource_partition = Some(crate::cgroup::PARTITION.into())
            }
            Ok(false) => {}
            Err(e) => {
                let _ = fail(String::new());
                return Err(e);
            }
        }
    }
    fill_ptys(&qmp, &mut live).map_err(|e| fail(e.to_string()))?;
    crate::agent::channel::refresh_states(&qmp, &mut live).map_err(|e| fail(e.to_string()))?;
    crate::netplug::set_link_states(&qmp, &live).map_err(|e| fail(e.to_string()))?;
    if live.current_memory_kib < live.memory_kib && crate::argv::has_balloon(&live) {
        let bytes = live.current_memory_kib * 1024;
        qmp.execute("balloon", Some(serde_json::json!({ "value": bytes })))
            .map_err(|e| fail(e.to_string()))?;
    }
    set_balloon_stats_period(&qmp, &live).map_err(|e| fail(e.to_string()))?;
    let (chains, next_index) = crate::blockjob::live::at_start(&qmp, &live);
    let (state, why) = match boot {
        Boot::Fresh { paused: false }
        | Boot::Snapshot {
            load: None,
            paused: false,
        } => {
            qmp.execute("cont", None).map_err(|e| fail(e.to_string()))?;
            (st::RUNNING, reason::RUNNING_BOOTED)
        }
        Boot::Fresh { paused: true }
        | Boot::Snapshot {
            load: None,
            paused: true,
        } => (st::PAUSED, reason::PAUSED_USER),
        Boot::Incoming(fd) => {
            crate::save::incoming(&qmp, fd).map_err(|e| fail(e.to_string()))?;
            (st::PAUSED, reason::PAUSED_MIGRATION)
        }
        Boot::Snapshot { load: Some(_), .. } => (st::PAUSED, reason::PAUSED_FROM_SNAPSHOT),
    };
    Ok(Run {
        id,
        generation,
        proc,
        qmp,
        live,
        state,
        reason: why,
        stopping: None,
        fake_reboot: false,
        shutdown_seen: false,
        saving: false,
        agent: None,
        agent_timeout: crate::agent::TIMEOUT_BLOCK,
        pending_events: Vec::new(),
        block_jobs: Vec::new(),
        chains,
        next_index,
    })
}

/// `<memballoon><stats period>`: QEMU polls the guest's memory statistics that often,
/// set over the monitor as libvirt does (the command line has no option for it).
fn set_balloon_stats_period(qmp: &Qmp, live: &DomainDef) -> Result<(), crate::qmp::QmpError> {
    let period = live.devices.iter().find_map(|d| match d {
        Device::MemBalloon(m) if m.model == "virtio" => m.stats_period.filter(|p| *p > 0),
        _ => None,
    });
    if let Some(p) = period {
        let args = serde_json::json!({
            "path": "/machine/peripheral/balloon0",
            "property": "guest-stats-polling-interval",
            "value": p,
        });
        qmp.execute("qom-set", Some(args))?;
    }
    Ok(())
}

fn append_log(log: &std::path::Path, emulator: &str, args: &[String]) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(f, "{}", argv::to_native(emulator, args));
    }
}

/// The last lines of the log, for start errors.
fn log_tail(log: &std::path::Path, from: u64) -> String {
    let bytes = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(bytes.get(from as usize..).unwrap_or_default());
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    let tail: Vec<&str> = lines
        .into_iter()
        .rev()
        .filter(|l| !l.contains(" -name "))
        .collect();
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", tail.join(" | "))
    }
}

/// Asks the process to go and waits until the driver has recorded the stop.
pub fn stop(drv: &Driver, r: &RemoteNonnullDomain, why: i32, graceful: bool) -> QResult<()> {
    let (proc, generation) = drv.write(|s, _| {
        let d = s.find_mut(r)?;
        let run = d.run.as_mut().ok_or(QemuError::NotRunning)?;
        if run.stopping.is_none() || why == reason::SHUTOFF_DESTROYED {
            run.stopping = Some(why);
        }
        Ok((run.proc.clone(), run.generation))
    })?;
    if !proc.terminate(DESTROY_GRACE, graceful) {
        return Err(QemuError::Failed(
            "failed to terminate process: still running after SIGTERM".into(),
        )
        .into());
    }
    wait_cleaned_up(drv, generation)
}

/// Waits until the exit of run `generation` has been recorded (crate::lifecycle::on_exit).
fn wait_cleaned_up(drv: &Driver, generation: u64) -> QResult<()> {
    let gone = |s: &crate::driver::Inner| {
        !s.doms
            .iter()
            .any(|d| d.run.as_ref().is_some_and(|x| x.generation == generation))
    };
    if !drv.wait_until(Duration::from_secs(10), gone) {
        return Err(QemuError::Internal(
            "the QEMU process exited but its state was not cleaned up".into(),
        )
        .into());
    }
    Ok(())
}

/// Ends the domain's QEMU as libvirt's qemuProcessStop does: the monitor closes first
/// (QEMU's SHUTDOWN event is not seen), then the process goes; shut off for `why`.
pub fn stop_closed(drv: &Driver, r: &RemoteNonnullDomain, why: i32) -> QResult<()> {
    let (proc, qmp, generation) = drv.write(|s, _| {
        let d = s.find_mut(r)?;
        let run = d.run.as_mut().ok_or(QemuError::NotRunning)?;
        run.stopping = Some(why);
        Ok((run.proc.clone(), run.qmp.clone(), run.generation))
    })?;
    qmp.close();
    if !proc.terminate(DESTROY_GRACE, false) {
        return Err(QemuError::Failed("failed to terminate the QEMU process".into()).into());
    }
    wait_cleaned_up(drv, generation)
}

/// The process of run `generation` is gone: record the stop, send events, clean up.
fn on_exit(weak: &Weak<Driver>, uuid: [u8; 16], generation: u64) {
    let Some(drv) = weak.upgrade() else { return };
    // Unplugged first, outside the driver lock (it calls the network driver), so that a
    // destroy that waits for the run to end answers with taps, macvtaps and ports gone.
    let plugged = drv.read(|s| {
        Ok(s.doms
            .iter()
            .find(|d| d.def.uuid.0 == uuid)
            .and_then(|d| d.run.as_ref())
            .filter(|r| r.generation == generation)
            .map(|r| r.live.clone()))
    });
    if let Ok(Some(live)) = plugged {
        crate::netplug::unplug(drv.own_uri(), &live);
        crate::hostdev::release(drv.own_uri(), &live);
    }
    // The monitor's last events (a SHUTDOWN on SIGTERM) come before the stop.
    let qmp = drv.read(|s| {
        Ok(s.doms
            .iter()
            .find(|d| d.def.uuid.0 == uuid)
            .and_then(|d| d.run.as_ref())
            .filter(|r| r.generation == generation)
            .map(|r| r.qmp.clone()))
    });
    if let Ok(Some(qmp)) = qmp {
        qmp.wait_closed(Duration::from_secs(2));
    }
    let _ = drv.write(|s, events| {
        let Some(i) = s.doms.iter().position(|d| d.def.uuid.0 == uuid) else {
            return Ok(());
        };
        let d = &mut s.doms[i];
        if d.run.as_ref().is_none_or(|r| r.generation != generation) {
            return Ok(());
        }
        let mut run = d.run.take().expect("checked above");
        run.qmp.close();
        events.append(&mut run.pending_events);
        if let Some(a) = &run.agent {
            a.close();
        }
        crate::agent::channel::cleanup(&drv.cfg, run.id, &d.def.name);
        crate::cgroup::Group::of(run.id, &d.def.name).remove();
        let why = run.stopping.unwrap_or(reason::SHUTOFF_CRASHED);
        // A QEMU that vanished unasked is a crashed domain reported as failed, as libvirt.
        let detail = match why {
            reason::SHUTOFF_SHUTDOWN => ev::STOPPED_SHUTDOWN,
            reason::SHUTOFF_DESTROYED => ev::STOPPED_DESTROYED,
            reason::SHUTOFF_SAVED => ev::STOPPED_SAVED,
            reason::SHUTOFF_FROM_SNAPSHOT => ev::STOPPED_FROM_SNAPSHOT,
            _ => ev::STOPPED_FAILED,
        };
        d.shutoff_reason = why;
        events.push(Event::Lifecycle(d.reference(), ev::STOPPED, detail));
        drv.remove_runtime_files(&d.def.name);
        if let Some(next) = d.next_def.take() {
            d.def = next;
        }
        if !d.persistent {
            forget_transient_tpm(&drv, &d.def);
            // As libvirt: a transient domain's snapshot metadata goes with it.
            crate::snapshot::store::remove_all(&drv.cfg, &d.def.name);
            s.doms.remove(i);
        }
        Ok(())
    });
}

/// A transient domain's TPM state goes with the domain, as libvirt removes it.
fn forget_transient_tpm(drv: &Driver, def: &DomainDef) {
    if let Err(e) = crate::tpm::undefine(def, &drv.cfg.state_dir, 0) {
        tracing::warn!(domain = %def.name, "{e}");
    }
}

/// The SHUTDOWN lifecycle detail of QEMU's SHUTDOWN event data.
fn shutdown_detail(data: &Value) -> i32 {
    if data.get("guest").and_then(Value::as_bool).unwrap_or(false) {
        ev::SHUTDOWN_GUEST
    } else {
        ev::SHUTDOWN_HOST
    }
}

/// A QMP event (or the monitor closing) for run `generation`.
fn on_notice(weak: &Weak<Driver>, uuid: [u8; 16], generation: u64, n: Notice) {
    let Some(drv) = weak.upgrade() else { return };
    let Notice::Event {
        name,
        data,
        timestamp,
    } = n
    else {
        return;
    };
    let mut follow_up: Option<(Arc<Qmp>, Proc, bool)> = None;
    let mut deleted: Option<String> = None;
    let mut cleanup = None;
    let mut port = crate::agent::channel::PortChange::None;
    let (mut port_event, mut had_pending) = (false, false);
    let _ = drv.write(|s, events| {
        let Some(d) = s.doms.iter_mut().find(|d| d.def.uuid.0 == uuid) else {
            return Ok(());
        };
        let dref = d.reference();
        let Some(run) = d.run.as_mut().filter(|r| r.generation == generation) else {
            return Ok(());
        };
        // Every QMP event goes to qemu-monitor-event subscribers, with QEMU's own data.
        events.push(Event::Monitor {
            dom: dref.clone(),
            event: name.clone(),
            seconds: timestamp.0,
            micros: timestamp.1,
            details: (!data.is_null()).then(|| data.to_string()),
        });
        had_pending = !run.pending_events.is_empty();
        if matches!(name.as_str(), "SHUTDOWN" | "RESET") {
            if let Some(a) = &run.agent {
                a.notify_event();
            }
        }
        match name.as_str() {
            "VSERPORT_CHANGE" => {
                let mut later = Vec::new();
                port = crate::agent::channel::on_port_change(run, &dref, &data, &mut later);
                run.pending_events.extend(later);
                port_event = true;
            }
            "SHUTDOWN" if run.shutdown_seen => return Ok(()),
            // A destroy in progress: QEMU reports SIGTERM as a host shutdown.
            "SHUTDOWN" if run.stopping.is_some() => {
                run.shutdown_seen = true;
                events.push(Event::Lifecycle(dref, ev::SHUTDOWN, shutdown_detail(&data)));
                return Ok(());
            }
            "SHUTDOWN" if run.fake_reboot => {
                run.fake_reboot = false;
                follow_up = Some((run.qmp.clone(), run.proc.clone(), true));
            }
            "SHUTDOWN" => {
                run.stopping.get_or_insert(reason::SHUTOFF_SHUTDOWN);
                run.shutdown_seen = true;
                events.push(Event::Lifecycle(dref, ev::SHUTDOWN, shutdown_detail(&data)));
                follow_up = Some((run.qmp.clone(), run.proc.clone(), false));
            }
            "STOP" if run.state == st::RUNNING && run.stopping.is_none() => {
                run.state = st::PAUSED;
                run.reason = reason::UNKNOWN;
                events.push(Event::Lifecycle(dref, ev::SUSPENDED, ev::SUSPENDED_PAUSED));
            }
            "RESUME" if run.state == st::PAUSED && run.stopping.is_none() => {
                run.state = st::RUNNING;
                run.reason = reason::RUNNING_UNPAUSED;
                events.push(Event::Lifecycle(dref, ev::RESUMED, ev::RESUMED_UNPAUSED));
            }
            "RESET" => events.push(Event::Reboot(dref)),
            "DEVICE_DELETED" => {
                // Devices without an id (QEMU's internal ones) have no libvirt alias.
                deleted = data
                    .get("device")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                return Ok(());
            }
            job if crate::blockjob::notice::is_job_event(job) => {
                let out = crate::blockjob::notice::on_event(d, job, &data, events);
                if let Some(def) = &out.stored {
                    let _ = drv.save_config(def);
                }
                cleanup = out.cleanup;
            }
            "BALLOON_CHANGE" => {
                let bytes = data.get("actual").and_then(Value::as_u64).unwrap_or(0);
                events.push(Event::BalloonChange(dref, bytes / 1024));
                return Ok(());
            }
            _ => return Ok(()),
        }
        drv.save_status(d);
        Ok(())
    });
    // Monitor commands and waiting must not run on the reader thread.
    if port_event {
        crate::agent::channel::after_port_change(weak, uuid, generation, port);
    } else if had_pending {
        crate::agent::channel::flush_pending(&drv, uuid, generation);
    }
    if let Some(c) = cleanup {
        crate::blockjob::notice::finish(weak, uuid, c);
    }
    if let Some(alias) = deleted {
        let weak = weak.clone();
        std::thread::spawn(move || crate::hotplug::removed(&weak, uuid, generation, &alias));
    }
    if let Some((qmp, proc, reboot)) = follow_up {
        std::thread::spawn(move || {
            if reboot {
                let _ = qmp.execute("system_reset", None);
                let _ = qmp.execute("cont", None);
            } else {
                proc.terminate(DESTROY_GRACE, false);
            }
        });
    }
}

/// After a daemon restart: adopts every running QEMU whose status file names a live pid
/// with an answering monitor; removes stale status files.
pub fn reconnect(drv: &Arc<Driver>) {
    let Ok(rd) = std::fs::read_dir(&drv.cfg.run_dir) else {
        return;
    };
    for entry in rd.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        match Status::load(&path) {
            Ok(status) => {
                let (live, pid) = (status.live.clone(), status.pid);
                if let Err(e) = adopt(drv, status) {
                    tracing::warn!("cannot reconnect to domain from {}: {e}", path.display());
                    let _ = std::fs::remove_file(&path);
                    // QEMU died while the daemon was away: what it was plugged into goes.
                    if !pid_alive(pid) {
                        crate::netplug::unplug(drv.own_uri(), &live);
                        crate::hostdev::release(drv.own_uri(), &live);
                    }
                }
            }
            Err(e) => {
                tracing::warn!("ignoring status file {}: {e}", path.display());
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

fn adopt(drv: &Arc<Driver>, status: Status) -> Result<(), String> {
    if !pid_alive(status.pid) {
        return Err(format!("process {} is gone", status.pid));
    }
    let uuid = status.live.uuid.0;
    let generation = drv.write(|s, _| {
        let g = s.next_generation;
        s.next_generation += 1;
        s.next_id = s.next_id.max(status.id + 1);
        Ok(g)
    });
    let generation = generation.map_err(|e| e.to_string())?;
    let weak = Arc::downgrade(drv);
    let handler = Box::new(move |n: Notice| on_notice(&weak, uuid, generation, n));
    let pid = status.pid;
    let qmp = Qmp::connect(
        &status.monitor,
        Duration::from_secs(5),
        &|| pid_alive(pid),
        handler,
    )
    .map_err(|e| e.to_string())?;
    let (chains, next_index) = crate::blockjob::live::at_start(&qmp, &status.live);
    // Trust QEMU over the file for paused/running.
    let running = qmp
        .execute("query-status", None)
        .map(|v| v.get("running").and_then(Value::as_bool).unwrap_or(true))
        .map_err(|e| e.to_string())?;
    let (state, why) = match (running, status.state) {
        (true, st::RUNNING) => (st::RUNNING, status.reason),
        (true, _) => (st::RUNNING, reason::RUNNING_UNPAUSED),
        (false, st::PAUSED) => (st::PAUSED, status.reason),
        (false, _) => (st::PAUSED, reason::UNKNOWN),
    };
    let weak = Arc::downgrade(drv);
    let proc = Proc::adopt(pid, Box::new(move || on_exit(&weak, uuid, generation)));
    let run = Run {
        id: status.id,
        generation,
        proc,
        qmp,
        live: status.live.clone(),
        state,
        reason: why,
        stopping: None,
        fake_reboot: false,
        shutdown_seen: false,
        saving: false,
        agent: None,
        agent_timeout: crate::agent::TIMEOUT_BLOCK,
        pending_events: Vec::new(),
        block_jobs: Vec::new(),
        chains,
        next_index,
    };
    drv.write(|s, _| {
        let i = match s.doms.iter().position(|d| d.def.uuid.0 == uuid) {
            Some(i) => i,
            None => {
                s.doms
                    .push(crate::driver::Dom::new(status.live.clone(), false));
                s.doms.len() - 1
            }
        };
        s.doms[i].run = Some(run);
        drv.save_status(&s.doms[i]);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    // The guest kept its agent port open while the daemon was away.
    let agent = crate::agent::channel::agent_channel(&status.live);
    if agent.is_some_and(|c| c.target_state.as_deref() == Some("connected")) {
        if let Some(path) = crate::agent::channel::agent_socket(&status.live) {
            crate::agent::channel::connect(&Arc::downgrade(drv), uuid, generation, path);
        }
    }
    Ok(())
}
