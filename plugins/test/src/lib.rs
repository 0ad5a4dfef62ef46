//! rvirt's test driver: libvirt's `test:///` semantics, entirely in memory.
//!
//! `test:///default` opens the process-wide default state (domain `test`, network
//! `default`, host interface `eth1`, pool `default-pool`, four node devices);
//! `test:///PATH.xml` loads a node description file. Every connection to the same URI
//! shares one state, and lifecycle events reach every open connection of that state.

// `RemoteError` is the SDK's fixed error type; its size is not this crate's choice.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use rvirt_plugin_api::protocol::{DriverKind, RemoteError, REMOTE_PROGRAM_NUMBER};
use rvirt_plugin_api::sdk::{ConnContext, DriverSpec, Module, ModuleInfo, OpenOutcome};

mod caps;
mod checkpoint;
mod conn;
mod domain;
mod domain_info;
mod error;
mod events;
mod hypervisor;
mod interface;
mod metadata;
mod net_metadata;
mod network;
mod nodedev;
mod snapshot;
mod state;
mod stats;
mod storage;
mod storage_conn;
mod storage_data;
mod store;

use conn::Conn;
use error::{check_flags, TestError};
use state::Listener;

/// The kinds of driver this module provides, in `info().drivers` order.
const KINDS: [(DriverKind, &str); 5] = [
    (DriverKind::Hypervisor, "Test"),
    (DriverKind::Network, "test"),
    (DriverKind::Storage, "test"),
    (DriverKind::NodeDevice, "test"),
    (DriverKind::Interface, "test"),
];

fn procedures(kind: DriverKind) -> &'static [i32] {
    match kind {
        DriverKind::Hypervisor => hypervisor::PROCEDURES,
        DriverKind::Network => network::PROCEDURES,
        DriverKind::Storage => storage_conn::PROCEDURES,
        DriverKind::Interface => interface::PROCEDURES,
        _ => nodedev::PROCEDURES,
    }
}

/// What a driver declares: its REMOTE procedures and, for storage, the stream
/// procedures (volume upload and download) with rvirt's stream program.
fn procedure_sets(kind: DriverKind) -> Vec<(u32, Vec<i32>)> {
    let mut remote = procedures(kind).to_vec();
    if kind != DriverKind::Storage {
        return vec![(REMOTE_PROGRAM_NUMBER, remote)];
    }
    remote.extend_from_slice(rvirt_plugin_api::sdk::VOLUME_STREAM_OPENERS);
    vec![
        (REMOTE_PROGRAM_NUMBER, remote),
        (
            rvirt_plugin_api::sdk::STREAM_PROGRAM,
            rvirt_plugin_api::sdk::STREAM_PROCEDURES.to_vec(),
        ),
    ]
}

/// The module root.
#[derive(Debug, Default)]
pub struct TestModule;

impl TestModule {
    pub fn new() -> TestModule {
        TestModule
    }
}

/// The path part of a `test:` URI, or `None` when the scheme is not ours.
fn test_path(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    if scheme.split('+').next()? != "test" {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let path = match rest.strip_prefix("//") {
        Some(after) => after.find('/').map(|i| &after[i..]).unwrap_or(""),
        None => rest,
    };
    Some(path.to_string())
}

/// Opens the shared state for `uri`, with libvirt's errors.
fn open_state(
    ctx: &ConnContext,
    uri: &str,
    flags: u32,
) -> Result<Option<(Arc<state::Driver>, String)>, RemoteError> {
    let Some(path) = test_path(uri) else {
        return Ok(None);
    };
    check_flags(flags, 1, "testConnectOpen")?;
    if path.is_empty() || path == "/" {
        return Err(
            TestError::InvalidArg("testOpen: supply a path or use test:///default".into()).into(),
        );
    }
    // A node file is read with the daemon's rights, so only a client that could read any
    // file itself may name one; the answer is the same whether the file exists or not.
    if path != "/default" && (!ctx.privileged || ctx.read_only) {
        return Err(TestError::FileDenied.into());
    }
    Ok(Some((state::shared(&path)?, path)))
}

impl Module for TestModule {
    fn info(&self) -> ModuleInfo {
        let drivers = KINDS
            .iter()
            .map(|(kind, name)| DriverSpec {
                kind: *kind,
                name: name.to_string(),
                uri_schemes: vec!["test".into()],
                procedures: procedure_sets(*kind),
            })
            .collect();
        ModuleInfo {
            name: "test".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            has_state_driver: false,
            drivers,
            features: vec![rvirt_plugin_api::sdk::FEATURE_NONBLOCKING_CALLS.to_string()],
        }
    }

    fn open(&self, ctx: ConnContext, uri: &str, flags: u32) -> Result<OpenOutcome, RemoteError> {
        let Some((kind, _)) = KINDS.get(ctx.driver as usize) else {
            return Ok(OpenOutcome::Declined);
        };
        let Some((drv, path)) = open_state(&ctx, uri, flags)? else {
            return Ok(OpenOutcome::Declined);
        };
        let listener = Listener {
            kind: *kind,
            driver: ctx.driver,
            handle: ctx.handle,
        };
        let c = Conn::open_shared(drv, listener, path);
        Ok(OpenOutcome::Opened(connection(*kind, c)))
    }
}

/// The connection of driver `kind` on `c`.
fn connection(kind: DriverKind, c: Conn) -> Arc<dyn rvirt_plugin_api::sdk::Connection> {
    match kind {
        DriverKind::Hypervisor => Arc::new(hypervisor::HypervisorConn(c)),
        DriverKind::Network => Arc::new(network::NetworkConn(c)),
        DriverKind::Storage => Arc::new(storage_conn::StorageConn(c)),
        DriverKind::Interface => Arc::new(interface::InterfaceConn(c)),
        _ => Arc::new(nodedev::NodeDevConn(c)),
    }
}

rvirt_plugin_api::export_module!(TestModule::new);

#[cfg(test)]
mod testutil {
    /// The recorded virsh outputs of real libvirt 9.0.0, kept in the repository.
    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/compat/virsh-testdriver"
    );

    /// The body of a virsh fixture as the API returns it (virsh adds one newline).
    /// Panics, naming the file, when the fixture is missing.
    pub fn fixture(name: &str) -> String {
        let path = std::path::Path::new(FIXTURES).join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("fixture {} is missing: {e}", path.display()));
        let body: Vec<&str> = text
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("[exit="))
            .collect();
        body.join("\n").trim_end().to_string() + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvirt_plugin_api::protocol::xdr::{from_bytes, to_bytes};
    use rvirt_plugin_api::protocol::*;
    use rvirt_plugin_api::sdk::Connection;

    fn ctx(driver: u32, handle: u64) -> ConnContext {
        ConnContext {
            driver,
            handle,
            read_only: false,
            privileged: true,
        }
    }

    fn open(driver: u32, uri: &str) -> Arc<dyn Connection> {
        match TestModule::new().open(ctx(driver, 7), uri, 0).unwrap() {
            OpenOutcome::Opened(c) => c,
            OpenOutcome::Declined => panic!("declined {uri}"),
        }
    }

    #[test]
    fn info_lists_five_drivers() {
        let info = TestModule::new().info();
        let names: Vec<_> = info
            .drivers
            .iter()
            .map(|d| (d.kind, d.name.as_str()))
            .collect();
        assert_eq!(names, KINDS.to_vec());
        assert!(info.drivers[0].procedures[0]
            .1
            .contains(&remote_proc::DOMAIN_LOOKUP_BY_NAME));
        assert!(!info.has_state_driver);
        assert!(info.drivers[4].procedures[0]
            .1
            .contains(&remote_proc::CONNECT_LIST_ALL_INTERFACES));
        assert!(info.drivers[0].procedures[0]
            .1
            .contains(&remote_proc::CONNECT_GET_ALL_DOMAIN_STATS));
    }

    #[test]
    fn uri_routing() {
        assert_eq!(test_path("test:///default").as_deref(), Some("/default"));
        assert_eq!(
            test_path("test+unix:///default?socket=/x").as_deref(),
            Some("/default")
        );
        assert_eq!(test_path("qemu:///system"), None);
        assert!(matches!(
            TestModule::new().open(ctx(0, 1), "qemu:///system", 0),
            Ok(OpenOutcome::Declined)
        ));
        let err = TestModule::new()
            .open(ctx(0, 1), "test:///", 0)
            .err()
            .unwrap();
        assert_eq!(
            err.text(),
            "invalid argument: testOpen: supply a path or use test:///default"
        );
        assert_eq!(
            TestModule::new()
                .open(ctx(0, 1), "test:///nonexistent.xml", 0)
                .err()
                .unwrap()
                .code,
            38
        );
    }

    #[test]
    fn calls_go_through_the_wire_encoding() {
        let c = open(0, "test:///default");
        let args = to_bytes(&RemoteDomainLookupByNameArgs {
            name: "test".into(),
        });
        let reply = c
            .call(
                REMOTE_PROGRAM_NUMBER,
                remote_proc::DOMAIN_LOOKUP_BY_NAME,
                &args,
            )
            .unwrap();
        let ret: RemoteDomainLookupByNameRet = from_bytes(&reply).unwrap();
        assert_eq!((ret.dom.name.as_str(), ret.dom.id), ("test", 1));
        let reply = c
            .call(REMOTE_PROGRAM_NUMBER, remote_proc::CONNECT_GET_TYPE, &[])
            .unwrap();
        assert_eq!(
            from_bytes::<RemoteConnectGetTypeRet>(&reply)
                .unwrap()
                .r#type,
            "TEST"
        );
        let missing = to_bytes(&RemoteDomainLookupByNameArgs {
            name: "nope".into(),
        });
        let err = c
            .call(
                REMOTE_PROGRAM_NUMBER,
                remote_proc::DOMAIN_LOOKUP_BY_NAME,
                &missing,
            )
            .unwrap_err();
        assert_eq!(
            (err.code, err.domain, err.text()),
            (42, 12, "Domain not found")
        );
        c.close();
    }

    #[test]
    fn node_file_loading() {
        let dir = std::env::temp_dir().join(format!("rvirt-test-node-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.xml");
        let xml = "<node>\n<cpu><mhz>2000</mhz><model>i686</model><nodes>1</nodes><sockets>1</sockets>\
            <cores>2</cores><threads>1</threads><active>2</active></cpu>\n<memory>1048576</memory>\n\
            <domain type='test'><name>fv0</name><uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\
            <memory>262144</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n\
            <network><name>net0</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5de</uuid></network>\n</node>\n";
        std::fs::write(&path, xml).unwrap();
        let uri = format!("test://{}", path.display());
        let c = open(0, &uri);
        let reply = c
            .call(REMOTE_PROGRAM_NUMBER, remote_proc::NODE_GET_INFO, &[])
            .unwrap();
        let ni: RemoteNodeGetInfoRet = from_bytes(&reply).unwrap();
        assert_eq!((ni.mhz, ni.memory, ni.cpus), (2000, 1048576, 2));
        let args = to_bytes(&RemoteDomainLookupByNameArgs { name: "fv0".into() });
        assert!(c
            .call(
                REMOTE_PROGRAM_NUMBER,
                remote_proc::DOMAIN_LOOKUP_BY_NAME,
                &args
            )
            .is_ok());
        let n = open(1, &uri);
        let args = to_bytes(&RemoteNetworkLookupByNameArgs {
            name: "net0".into(),
        });
        assert!(n
            .call(
                REMOTE_PROGRAM_NUMBER,
                remote_proc::NETWORK_LOOKUP_BY_NAME,
                &args
            )
            .is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The procedure lists each driver declares are exactly the procedures its handler
    /// implements: every procedure of libvirt's program is called with default
    /// arguments, and whatever does not answer the trait's "not supported" is
    /// implemented.
    #[test]
    fn declared_procedures_are_the_implemented_ones() {
        use rvirt_plugin_api::sdk;
        for (i, (kind, _)) in KINDS.iter().enumerate() {
            let drv = Arc::new(state::Driver::new_default());
            let l = Listener {
                kind: *kind,
                driver: i as u32,
                handle: 1,
            };
            let conn = connection(*kind, Conn::open(drv, l));
            let implemented =
                sdk::implemented_procedures(REMOTE_PROGRAM_NUMBER, |prog, n, args| {
                    conn.call(prog, n, args)
                });
            let declared = sdk::sorted(super::procedures(*kind));
            assert_eq!(declared, implemented, "{kind:?}: declared vs implemented");
        }
    }

    #[test]
    fn connections_register_for_events() {
        let drv = Arc::new(state::Driver::new_default());
        let l = Listener {
            kind: DriverKind::Storage,
            driver: 2,
            handle: 9,
        };
        let c = storage_conn::StorageConn(Conn::open(drv.clone(), l));
        assert_eq!(drv.listener_count(), 1);
        c.close();
        assert_eq!(drv.listener_count(), 0);
    }
}
