//! Unit tests of the module: the procedure list and the state driver on real files.

use super::*;
use rvirt_plugin_api::protocol::RemoteNonnullNetwork;
use state::ev;

/// A driver on fresh directories, removed on drop.
struct Fixture {
    dir: std::path::PathBuf,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("rvirt-net-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Fixture { dir }
    }

    fn driver(&self) -> Arc<Driver> {
        let cfg = Config::parse("", self.dir.to_str().unwrap()).unwrap();
        start_driver(cfg, true, true)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `bridge`-mode network: starting it changes nothing on the host.
const HOSTBR: &str = "<network><name>hb</name><uuid>6b1a9c3e-4f0d-4e55-9a59-2d2d7a0b0001</uuid>\
    <forward mode='bridge'/><bridge name='br-host'/></network>";

/// The procedure list is exactly what the handler implements: every procedure is
/// called with default arguments, and whatever does not answer the trait's "not
/// supported" is implemented.
#[test]
fn declared_procedures_are_the_implemented_ones() {
    use rvirt_plugin_api::sdk::Connection;
    let fx = Fixture::new("procs");
    let conn = conn::NetworkConn::open(
        fx.driver(),
        Listener {
            driver: 0,
            handle: 1,
        },
    );
    let implemented =
        rvirt_plugin_api::sdk::implemented_procedures(REMOTE_PROGRAM_NUMBER, |prog, n, args| {
            conn.call(prog, n, args)
        });
    assert_eq!(rvirt_plugin_api::sdk::sorted(conn::PROCEDURES), implemented);
}

#[test]
fn info_declares_a_network_driver_for_any_scheme() {
    let info = NetworkModule::new().info();
    assert!(info.has_state_driver);
    let d = &info.drivers[0];
    assert_eq!((d.kind, d.uri_schemes.len()), (DriverKind::Network, 0));
}

#[test]
fn test_uris_and_unprivileged_clients_are_declined() {
    let m = NetworkModule::new();
    let ctx = ConnContext {
        driver: 0,
        handle: 3,
        read_only: false,
        privileged: true,
    };
    assert!(matches!(
        m.open(ctx, "test+unix:///default?socket=/x", 0).unwrap(),
        OpenOutcome::Declined
    ));
    let unprivileged = ConnContext {
        privileged: false,
        ..ctx
    };
    assert!(matches!(
        m.open(unprivileged, "qemu:///session", 0).unwrap(),
        OpenOutcome::Declined
    ));
}

fn define(d: &Driver, xml: &str) -> Result<RemoteNonnullNetwork, RemoteError> {
    d.write(|s, e| lifecycle::define(d, s, e, xml, 0))
}

#[test]
fn definitions_persist_and_get_a_bridge_and_mac() {
    let fx = Fixture::new("persist");
    let d = fx.driver();
    let r = define(&d, "<network><name>iso</name></network>").unwrap();
    let xml = std::fs::read_to_string(fx.dir.join("iso.xml")).unwrap();
    assert!(xml.contains("<bridge name='virbr"), "{xml}");
    assert!(xml.contains("<mac address='52:54:00:"), "{xml}");
    // A second network gets another bridge name.
    define(&d, "<network><name>iso2</name></network>").unwrap();
    let names: Vec<_> = d
        .lock()
        .nets
        .iter()
        .map(|n| n.def.bridge.clone().unwrap())
        .collect();
    assert_ne!(names[0], names[1]);
    // Autostart only on the bridge-mode network: starting it touches nothing on the host.
    let hb = define(&d, HOSTBR).unwrap();
    d.set_autostart_link("hb", true).unwrap();
    let d2 = fx.driver();
    let s = d2.lock();
    assert_eq!(s.nets.len(), 3);
    let i = s.find(&r).unwrap();
    assert!(s.nets[i].persistent && !s.nets[i].autostart && !s.nets[i].is_active());
    assert_eq!(s.nets[i].def.to_xml(), xml);
    let h = s.find(&hb).unwrap();
    assert!(s.nets[h].autostart && s.nets[h].is_active());
}

#[test]
fn clashes_are_refused_like_libvirt() {
    let fx = Fixture::new("clash");
    let d = fx.driver();
    define(&d, HOSTBR).unwrap();
    let e = define(&d, &HOSTBR.replace("0001", "0002")).unwrap_err();
    assert_eq!(e.code, rvirt_plugin_api::sdk::code::OPERATION_FAILED);
    assert!(e
        .text()
        .starts_with("operation failed: network 'hb' already exists with uuid"));
    let e = define(&d, &HOSTBR.replace(">hb<", ">other<")).unwrap_err();
    assert!(
        e.text()
            .contains("network 'hb' is already defined with uuid"),
        "{}",
        e.text()
    );
}

#[test]
fn running_network_survives_a_restart_and_stops_cleanly() {
    let fx = Fixture::new("restart");
    let d = fx.driver();
    let r = define(&d, HOSTBR).unwrap();
    let mut evs = Vec::new();
    {
        let mut s = d.lock();
        lifecycle::start(&d, &mut s, &mut evs, &r).unwrap();
        let e = lifecycle::start(&d, &mut s, &mut evs, &r).unwrap_err();
        assert_eq!(
            e.text(),
            "Requested operation is not valid: network is already active"
        );
    }
    assert!(fx.dir.join("run/hb.json").exists());
    // A new driver on the same directories (the daemon restarted) finds it running.
    let d2 = fx.driver();
    let mut s = d2.lock();
    let i = s.find(&r).unwrap();
    assert!(s.nets[i].is_active());
    lifecycle::undefine(&d2, &mut s, &mut evs, &r).unwrap();
    assert!(!fx.dir.join("hb.xml").exists());
    assert!(s.nets[0].is_active() && !s.nets[0].persistent);
    lifecycle::destroy(&d2, &mut s, &mut evs, &r).unwrap();
    assert!(s.nets.is_empty());
    assert!(!fx.dir.join("run/hb.json").exists());
    let kinds: Vec<i32> = evs
        .iter()
        .filter_map(|e| match e {
            crate::state::Event::Lifecycle(_, k) => Some(*k),
            crate::state::Event::Metadata(..) => None,
        })
        .collect();
    assert_eq!(kinds, [ev::STARTED, ev::UNDEFINED, ev::STOPPED]);
}

#[test]
fn transient_networks_and_inactive_xml() {
    let fx = Fixture::new("transient");
    let d = fx.driver();
    let mut evs = Vec::new();
    let mut s = d.lock();
    let r = lifecycle::create_xml(&d, &mut s, &mut evs, HOSTBR, 0).unwrap();
    let i = s.find(&r).unwrap();
    assert!(!s.nets[i].persistent && s.nets[i].is_active());
    assert!(!fx.dir.join("hb.xml").exists());
    let e = lifecycle::undefine(&d, &mut s, &mut evs, &r).unwrap_err();
    assert_eq!(
        e.text(),
        "Requested operation is not valid: can't undefine transient network"
    );
    lifecycle::destroy(&d, &mut s, &mut evs, &r).unwrap();
    let e = lifecycle::destroy(&d, &mut s, &mut evs, &r).unwrap_err();
    assert_eq!(e.code, rvirt_plugin_api::sdk::code::NO_NETWORK);
}

/// Title and element metadata, live and persistent, on a running persistent network;
/// what is saved comes back after a restart.
#[test]
fn metadata_live_and_config() {
    use rvirt_plugin_api::protocol::{RemoteNetworkGetMetadataArgs, RemoteNetworkSetMetadataArgs};
    use rvirt_xml::metadata::{ELEMENT, TITLE};
    let fx = Fixture::new("metadata");
    let d = fx.driver();
    let r = define(&d, HOSTBR).unwrap();
    let set = |kind: i32, value: Option<&str>, key: Option<&str>, uri: Option<&str>, flags| {
        let a = RemoteNetworkSetMetadataArgs {
            network: r.clone(),
            r#type: kind,
            metadata: value.map(str::to_string),
            key: key.map(str::to_string),
            uri: uri.map(str::to_string),
            flags,
        };
        d.write(|s, e| metadata::set(&d, s, e, &a))
    };
    let get = |d: &Driver, kind: i32, uri: Option<&str>, flags| {
        let a = RemoteNetworkGetMetadataArgs {
            network: r.clone(),
            r#type: kind,
            uri: uri.map(str::to_string),
            flags,
        };
        metadata::get(&d.lock(), &a)
    };
    let e = set(TITLE, Some("x"), None, None, 1).unwrap_err();
    assert_eq!(
        e.text(),
        "Requested operation is not valid: network is not running"
    );
    set(TITLE, Some("inactive"), None, None, 0).unwrap();
    d.write(|s, e| lifecycle::start(&d, s, e, &r)).unwrap();
    assert_eq!(get(&d, TITLE, None, 0).unwrap(), "inactive");
    set(TITLE, Some("live"), None, None, 1).unwrap();
    set(ELEMENT, Some("<app k='1'/>"), Some("a"), Some("urn:a"), 2).unwrap();
    assert_eq!(get(&d, TITLE, None, 0).unwrap(), "live");
    assert_eq!(get(&d, TITLE, None, 2).unwrap(), "inactive");
    let e = get(&d, ELEMENT, Some("urn:a"), 1).unwrap_err();
    assert_eq!((e.code, e.domain), (111, 19));
    assert_eq!(
        e.text(),
        "metadata not found: Requested metadata element is not present"
    );
    assert_eq!(
        get(&d, ELEMENT, Some("urn:a"), 2).unwrap(),
        "<app k=\"1\"/>"
    );
    let e = get(&d, TITLE, None, 3).unwrap_err();
    assert_eq!(e.code, 8);
    let config = std::fs::read_to_string(fx.dir.join("hb.xml")).unwrap();
    assert!(config.contains("<title>inactive</title>"), "{config}");
    assert!(
        config.contains("<a:app xmlns:a=\"urn:a\" k=\"1\"/>"),
        "{config}"
    );
    let status = std::fs::read_to_string(fx.dir.join("run/hb.json")).unwrap();
    assert!(status.contains("<title>live</title>"), "{status}");
    // A restarted driver finds both again.
    let d2 = fx.driver();
    assert_eq!(get(&d2, TITLE, None, 1).unwrap(), "live");
    assert_eq!(
        get(&d2, ELEMENT, Some("urn:a"), 2).unwrap(),
        "<app k=\"1\"/>"
    );
    let mut evs = Vec::new();
    lifecycle::destroy(&d2, &mut d2.lock(), &mut evs, &r).unwrap();
}
