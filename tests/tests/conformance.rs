//! The conformance suite every hypervisor driver passes, and every transport: the same
//! lifecycle, lookups, errors, events and read-only rules through rvirt's client library,
//! on the test driver embedded, on rvirtd, and on a real libvirtd's test driver.

use std::time::Duration;

use rvirt_core::protocol::error::code;
use rvirt_core::protocol::{self as p, remote_proc, RemoteClient};
use rvirt_core::Connect;
use rvirt_tests::{Daemon, Libvirtd};

use rvirt_core::protocol::facts::domain_event as ev;
use rvirt_core::protocol::facts::domain_state::{PAUSED, RUNNING, SHUTOFF};

/// How a driver under test builds a minimal domain, and the lifecycle events its
/// define, start, suspend, resume, destroy, undefine send.
pub struct Target {
    pub uri: String,
    pub ro_uri: Option<String>,
    pub domain_xml: fn(&str) -> String,
    pub events: &'static [i32],
}

/// The test driver's events (libvirt's test driver sends the same).
const TEST_EVENTS: &[i32] = &[
    ev::DEFINED,
    ev::STARTED,
    ev::SUSPENDED,
    ev::RESUMED,
    ev::STOPPED,
    ev::UNDEFINED,
];

/// The qemu driver's: QEMU starts with its CPUs stopped, and reports SIGTERM as a
/// shutdown (tests/tests/qemu_events_vs_libvirtd.rs compares them with libvirtd's).
const QEMU_EVENTS: &[i32] = &[
    ev::DEFINED,
    ev::RESUMED,
    ev::STARTED,
    ev::SUSPENDED,
    ev::RESUMED,
    ev::SHUTDOWN,
    ev::STOPPED,
    ev::UNDEFINED,
];

fn test_domain_xml(name: &str) -> String {
    format!(
        "<domain type='test'><name>{name}</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
    )
}

/// A minimal QEMU domain: KVM when /dev/kvm is usable, else TCG; 128 MiB, 1 vCPU, no disks.
fn qemu_domain_xml(name: &str) -> String {
    let kvm = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    let ty = if kvm { "kvm" } else { "qemu" };
    format!(
        "<domain type='{ty}'><name>{name}</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\
         <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>\
         <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><memballoon model='none'/></devices></domain>"
    )
}

/// Kills any QEMU this test process started (names carry the pid) that a failure left behind.
struct QemuReaper;

impl Drop for QemuReaper {
    fn drop(&mut self) {
        let needle = "guest=conf-";
        let mine = format!("-{}-", std::process::id());
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return;
        };
        for pid in rd
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            if cmd.contains(needle) && cmd.contains(&mine) {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }
}

fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "conf-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn lifecycle_events(c: &Connect) -> Vec<(String, i32)> {
    let mut seen = Vec::new();
    while let Ok(Some(ev)) = c.next_event(Duration::from_millis(300)) {
        if let Ok(p::RemoteArgs::DomainEventCallbackLifecycle(m)) = ev.decode() {
            seen.push((m.msg.dom.name, m.msg.event));
        }
    }
    seen
}

fn lifecycle(t: &Target) {
    let c = Connect::open(&t.uri).expect("open");
    let reg = p::RemoteConnectDomainEventCallbackRegisterAnyArgs {
        event_id: 0,
        dom: None,
    };
    let cb = c
        .connect_domain_event_callback_register_any(&reg)
        .expect("register lifecycle callback");
    let name = unique("life");
    let d = c.define_domain(&(t.domain_xml)(&name)).expect("define");
    assert_eq!(d.name(), name);
    assert!(d.is_persistent().expect("persistent"));
    assert!(!d.is_active().expect("active"));
    assert_eq!(d.state().expect("state").0, SHUTOFF);
    assert!(d
        .xml_desc(0)
        .expect("xml")
        .contains(&format!("<name>{name}</name>")));
    d.create().expect("start");
    let running = c.domain_by_name(&name).expect("lookup");
    assert_eq!(running.state().expect("state").0, RUNNING);
    assert!(running.id() > 0, "a running domain has an id");
    assert_eq!(c.domain_by_id(running.id()).expect("by id").name(), name);
    assert_eq!(
        c.domain_by_uuid(running.uuid()).expect("by uuid").name(),
        name
    );
    let info = running.info().expect("info");
    assert_eq!(
        (info.state, info.max_mem_kib, info.nr_virt_cpu),
        (RUNNING as u8, 131072, 1)
    );
    running.suspend().expect("suspend");
    assert_eq!(running.state().expect("state").0, PAUSED);
    running.resume().expect("resume");
    assert_eq!(running.state().expect("state").0, RUNNING);
    let active: Vec<String> = c
        .list_all_domains(1)
        .expect("active list")
        .iter()
        .map(|d| d.name().to_string())
        .collect();
    assert!(active.contains(&name));
    running.destroy().expect("destroy");
    assert_eq!(running.state().expect("state").0, SHUTOFF);
    let inactive: Vec<String> = c
        .list_all_domains(2)
        .expect("inactive list")
        .iter()
        .map(|d| d.name().to_string())
        .collect();
    assert!(inactive.contains(&name));
    running.undefine().expect("undefine");
    let e = c.domain_by_name(&name).expect_err("gone");
    assert_eq!(e.code, code::NO_DOMAIN);
    let events: Vec<i32> = lifecycle_events(&c)
        .into_iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, e)| e)
        .collect();
    assert_eq!(events, t.events);
    c.connect_domain_event_callback_deregister_any(
        &p::RemoteConnectDomainEventCallbackDeregisterAnyArgs {
            callback_id: cb.callback_id,
        },
    )
    .expect("deregister");
}

fn errors(t: &Target) {
    let c = Connect::open(&t.uri).expect("open");
    let e = c
        .domain_by_name("no-such-domain-here")
        .expect_err("missing");
    assert_eq!(e.code, code::NO_DOMAIN);
    let name = unique("dup");
    let d = c.define_domain(&(t.domain_xml)(&name)).expect("define");
    let e = c
        .create_domain("<domain type='test'><name>x</name>", 0)
        .expect_err("malformed XML");
    assert!(
        matches!(
            e.code,
            code::XML_ERROR | code::XML_DETAIL | code::INTERNAL_ERROR
        ),
        "{e:?}"
    );
    d.undefine().expect("undefine");
    let e = RemoteClient::raw_call(
        &c,
        p::REMOTE_PROGRAM_NUMBER,
        remote_proc::DOMAIN_UNDEFINE,
        vec![1, 2, 3],
    )
    .expect_err("bad args");
    assert_ne!(e.code, 0);
    assert_eq!(
        c.connect_get_uri().map(|u| u.uri.is_empty()).ok(),
        Some(false)
    );
}

fn read_only(t: &Target) {
    let Some(ro) = &t.ro_uri else { return };
    let rw = Connect::open(&t.uri).expect("open");
    let name = unique("ro");
    let d = rw.define_domain(&(t.domain_xml)(&name)).expect("define");
    d.create().expect("start");
    let c = Connect::open(ro).expect("open read-only socket");
    let doms = c.list_all_domains(0).expect("reads work");
    let seen = doms
        .iter()
        .find(|d| d.name() == name)
        .expect("domain listed");
    let e = seen.destroy().expect_err("writes refused");
    assert_eq!(e.code, code::OPERATION_DENIED, "{e:?}");
    assert_eq!(seen.state().expect("state").0, RUNNING);
    d.destroy().expect("destroy");
    d.undefine().expect("undefine");
}

fn suite(t: &Target) {
    lifecycle(t);
    errors(t);
    read_only(t);
}

#[test]
fn test_driver_embedded() {
    suite(&Target {
        uri: "test:///default".into(),
        ro_uri: None,
        domain_xml: test_domain_xml,
        events: TEST_EVENTS,
    });
}

#[test]
fn test_driver_via_rvirtd() {
    let d = Daemon::start("");
    suite(&Target {
        uri: d.uri("test:///default"),
        ro_uri: Some(d.uri_ro("test:///default")),
        domain_xml: test_domain_xml,
        events: TEST_EVENTS,
    });
}

#[test]
fn qemu_driver_via_rvirtd() {
    if !rvirt_tests::require_peer(
        "qemu-system-x86_64 (qemu-system-x86)",
        rvirt_tests::have_program("/usr/bin/qemu-system-x86_64"),
    ) {
        return;
    }
    let _reaper = QemuReaper;
    let d = Daemon::start("");
    suite(&Target {
        uri: d.uri("qemu:///system"),
        ro_uri: Some(d.uri_ro("qemu:///system")),
        domain_xml: qemu_domain_xml,
        events: QEMU_EVENTS,
    });
}

#[test]
fn real_libvirtd_test_driver() {
    let Some(l) = Libvirtd::start() else { return };
    let ro = format!("test+unix:///default?socket={}-ro", l.socket().display());
    suite(&Target {
        uri: l.uri("test", "default"),
        ro_uri: Some(ro),
        domain_xml: test_domain_xml,
        events: TEST_EVENTS,
    });
}
