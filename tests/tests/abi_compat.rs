//! ABI compatibility: modules built outside the workspace load into this host.
//!
//! - `hello`: examples/out-of-tree-driver, the typed SDK of the current plugin-api.
//! - `oldmod`: tests/abi-compat/old-module, written by hand against the frozen
//!   plugin-api 1.0.0 snapshot; its CONNECT_GET_SYSINFO panics on purpose.
//!
//! Both are built once per test binary by tests/abi-compat/build.sh (incremental), and
//! loaded once into one shared registry, so the tests may run in parallel.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use rvirt_core::dispatch::DriverConnection;
use rvirt_core::events::EventSink;
use rvirt_core::loader::LoadError;
use rvirt_core::registry::Registry;
use rvirt_protocol::error::code;
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{
    remote_proc, DriverKind, RemoteClient, RemoteConnectGetSysinfoArgs,
    RemoteConnectListAllDomainsArgs, RemoteDomainGetInfoArgs, RemoteDomainLookupByNameArgs,
    RemoteError, REMOTE_PROGRAM_NUMBER,
};
use rvirt_tests::{repo_root, TempDir};

/// The two module files built by build.sh.
struct Built {
    hello: PathBuf,
    oldmod: PathBuf,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = repo_root().join("tests/abi-compat/build.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run build.sh");
        assert!(
            out.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let paths: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(PathBuf::from)
            .collect();
        let find = |name: &str| {
            paths
                .iter()
                .find(|p| p.file_name().is_some_and(|f| f == name))
                .unwrap_or_else(|| panic!("build.sh did not print {name}: {paths:?}"))
                .clone()
        };
        Built {
            hello: find("librvirt_driver_hello.so"),
            oldmod: find("librvirt_driver_oldmod.so"),
        }
    })
}

/// One registry holding both external modules (libraries are never unloaded, so one
/// load per process is the realistic case).
fn registry() -> Arc<Registry> {
    static REG: OnceLock<Arc<Registry>> = OnceLock::new();
    REG.get_or_init(|| {
        let b = built();
        let mut reg = Registry::default();
        reg.add_file(&b.hello)
            .unwrap_or_else(|e| panic!("loading hello: {e}"));
        reg.add_file(&b.oldmod)
            .unwrap_or_else(|e| panic!("loading oldmod: {e}"));
        Arc::new(reg)
    })
    .clone()
}

struct IgnoreEvents;

impl EventSink for IgnoreEvents {
    fn deliver(&self, _program: u32, _procedure: i32, _payload: &[u8]) {}
}

/// A driver connection as a typed REMOTE client.
struct Client(DriverConnection);

impl RemoteClient for Client {
    fn raw_call(
        &self,
        program: u32,
        procedure: i32,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, RemoteError> {
        self.0.call(program, procedure, &args)
    }
}

fn open(uri: &str) -> Client {
    let conn = DriverConnection::open(registry(), uri, 0, false, Arc::new(IgnoreEvents))
        .unwrap_or_else(|e| panic!("opening {uri}: {e}"));
    Client(conn)
}

fn module(name: &str) -> Arc<rvirt_core::loader::LoadedModule> {
    registry()
        .modules()
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("module {name} not loaded"))
        .clone()
}

#[test]
fn descriptors_of_external_modules() {
    let hello = module("hello");
    assert_eq!((hello.abi_major, hello.has_state_driver), (1, false));
    assert_eq!(hello.drivers.len(), 1);
    let d = &hello.drivers[0];
    assert_eq!(
        (d.kind, d.name.as_str(), d.uri_schemes.clone()),
        (DriverKind::Hypervisor, "Hello", vec!["hello".to_string()])
    );
    assert_eq!(d.procedures.len(), 5);
    assert!(d
        .procedures
        .contains(&(REMOTE_PROGRAM_NUMBER, remote_proc::DOMAIN_GET_INFO)));

    let old = module("oldmod");
    assert_eq!(
        (
            old.version.as_str(),
            old.abi_major,
            old.abi_minor,
            old.has_state_driver
        ),
        ("1.0.0", 1, 0, true)
    );
    assert!(old.features.is_empty());
    assert_eq!(old.drivers.len(), 1);
    let d = &old.drivers[0];
    assert_eq!(
        (d.kind, d.name.as_str(), d.uri_schemes.clone()),
        (DriverKind::Hypervisor, "OldMod", vec!["oldmod".to_string()])
    );
    let expected = [
        remote_proc::CONNECT_GET_TYPE,
        remote_proc::CONNECT_GET_HOSTNAME,
        remote_proc::CONNECT_GET_SYSINFO,
    ];
    assert_eq!(
        d.procedures,
        expected.map(|p| (REMOTE_PROGRAM_NUMBER, p)).to_vec()
    );
}

#[test]
fn old_module_state_driver_initializes() {
    let old = module("oldmod");
    let args = rvirt_protocol::RvirtInitArgs {
        host_version: "1.1.0".into(),
        module_token: old.token,
        ..Default::default()
    };
    assert_eq!(
        old.initialize(&args),
        Ok(rvirt_core::loader::InitOutcome::Complete)
    );
    // Hook numbers are frozen: 1 is RELOAD in every 1.x.
    const RELOAD: u32 = 1;
    assert_eq!(old.state_hook(RELOAD), Ok(()));
}

#[test]
fn old_module_answers_and_survives_its_own_panic() {
    let c = open("oldmod:///");
    assert_eq!(c.connect_get_type().expect("get type").r#type, "OldMod");
    assert_eq!(
        c.connect_get_hostname().expect("get hostname").hostname,
        "oldmod.invalid"
    );

    let e = c
        .connect_get_sysinfo(&RemoteConnectGetSysinfoArgs { flags: 0 })
        .expect_err("sysinfo panics");
    assert_eq!(e.code, code::INTERNAL_ERROR);
    assert!(
        e.text().contains("panicked") && e.text().contains("old module exploded"),
        "{e}"
    );

    // The host and the module are still alive and the connection still works.
    assert_eq!(
        c.connect_get_type().expect("get type after panic").r#type,
        "OldMod"
    );
    let again = c
        .connect_get_sysinfo(&RemoteConnectGetSysinfoArgs { flags: 0 })
        .expect_err("panics again");
    assert!(again.text().contains("old module exploded"));
}

#[test]
fn old_module_unimplemented_procedures_are_not_supported() {
    // Routed through the core: the descriptor does not list it.
    let c = open("oldmod:///");
    let e = c.connect_get_version().expect_err("not implemented");
    assert_eq!(e.code, code::NO_SUPPORT, "{e}");
    assert!(e.text().contains("not supported"), "{e}");

    // Called on the module directly: the module's own answer is the same code.
    let old = module("oldmod");
    let e = old
        .call(
            0,
            u64::MAX,
            REMOTE_PROGRAM_NUMBER,
            remote_proc::CONNECT_GET_TYPE,
            &[],
        )
        .expect_err("bad handle");
    assert_eq!(e.code, code::INVALID_CONN, "{e}");
}

#[test]
fn hello_module_serves_its_domain() {
    let c = open("hello:///");
    assert_eq!(c.connect_get_type().expect("get type").r#type, "Hello");
    assert!(!c
        .connect_get_hostname()
        .expect("hostname")
        .hostname
        .is_empty());

    let list = c
        .connect_list_all_domains(&RemoteConnectListAllDomainsArgs {
            need_results: 1,
            flags: 0,
        })
        .expect("list domains");
    let names: Vec<&str> = list.domains.iter().map(|d| d.name.as_str()).collect();
    assert_eq!((names, list.ret), (vec!["hello-vm"], 1));

    let dom = c
        .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
            name: "hello-vm".into(),
        })
        .expect("lookup")
        .dom;
    assert_eq!(dom, list.domains[0]);
    let info = c
        .domain_get_info(&RemoteDomainGetInfoArgs { dom })
        .expect("info");
    assert_eq!(
        (info.state, info.nr_virt_cpu, info.memory, info.max_mem),
        (1, 1, 512 * 1024, 1024 * 1024)
    );

    let e = c
        .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
            name: "nope".into(),
        })
        .expect_err("no such domain");
    assert_eq!(e.code, code::NO_DOMAIN, "{e}");
    let e = c
        .connect_get_sysinfo(&RemoteConnectGetSysinfoArgs { flags: 0 })
        .expect_err("not implemented");
    assert_eq!(e.code, code::NO_SUPPORT, "{e}");
}

#[test]
fn hello_module_declines_other_paths_and_schemes() {
    let e = DriverConnection::open(
        registry(),
        "hello:///other",
        0,
        false,
        Arc::new(IgnoreEvents),
    )
    .err()
    .expect("bad path");
    assert_eq!(e.code, code::NO_CONNECT, "{e}");
    let e = DriverConnection::open(registry(), "nosuch:///", 0, false, Arc::new(IgnoreEvents))
        .err()
        .expect("no driver");
    assert_eq!(e.code, code::NO_CONNECT, "{e}");
}

#[test]
fn raw_payloads_round_trip_through_the_envelope() {
    // The old module encodes by hand; the host's decoder must read it byte for byte.
    let c = open("oldmod:///");
    let reply = c
        .raw_call(
            REMOTE_PROGRAM_NUMBER,
            remote_proc::CONNECT_GET_TYPE,
            Vec::new(),
        )
        .expect("raw call");
    assert_eq!(reply, to_bytes(&"OldMod".to_string()));
    assert_eq!(from_bytes::<String>(&reply).expect("decode"), "OldMod");
}

#[test]
fn envelope_is_frozen() {
    let root = repo_root();
    let current =
        std::fs::read(root.join("plugin-api/src/abi.rs")).expect("read plugin-api/src/abi.rs");
    let frozen = std::fs::read(root.join("tests/abi-compat/plugin-api-1.0.0/src/abi.rs"))
        .expect("read the 1.0.0 snapshot");
    assert!(
        current == frozen,
        "plugin-api/src/abi.rs differs from the 1.0.0 envelope; changing it is a 2.0 (see docs/abi.md)"
    );
}

fn assert_one_line_naming(e: &LoadError, path: &Path) {
    let text = e.to_string();
    assert!(!text.contains('\n'), "not one line: {text:?}");
    assert!(
        text.contains(&path.display().to_string()),
        "does not name {}: {text}",
        path.display()
    );
}

fn libc_path() -> PathBuf {
    [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("libc.so.6 not found")
}

#[test]
fn a_plain_shared_library_is_not_a_module() {
    let path = libc_path();
    let e = Registry::default()
        .add_file(&path)
        .expect_err("libc is not a module");
    assert!(matches!(e, LoadError::NotAModule { .. }), "{e:?}");
    assert_one_line_naming(&e, &path);
}

const CHILD_ENV: &str = "RVIRT_ABI_TRUNCATED_MODULE";

/// dlopen of a truncated ELF may fault inside the dynamic loader (SIGBUS on the pages past
/// the end of the file), so the load runs in a child process: a crash fails this test
/// without taking the other tests of the binary down with it.
#[test]
fn a_truncated_module_is_refused() {
    let dir = TempDir::new("abi-truncated");
    let path = dir.0.join("librvirt_driver_truncated.so");
    let bytes = std::fs::read(&built().hello).expect("read hello module");
    std::fs::write(&path, &bytes[..4096]).expect("write truncated copy");
    let exe = std::env::current_exe().expect("test executable");
    let out = Command::new(exe)
        .args([
            "--exact",
            "truncated_module_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .output()
        .expect("run child test");
    assert!(
        out.status.success(),
        "loading a truncated module failed the process ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "the child test did not run"
    );
}

#[test]
#[ignore = "run in a child process by a_truncated_module_is_refused"]
fn truncated_module_child() {
    let Some(path) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
    let e = Registry::default()
        .add_file(&path)
        .expect_err("a truncated module must not load");
    assert_one_line_naming(&e, &path);
}
