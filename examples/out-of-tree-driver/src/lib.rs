//! `hello:///`: the smallest useful rvirt hypervisor driver, built out of tree.
//!
//! It serves one fixed domain, `hello-vm`, through the typed SDK: implement
//! [`Module`] (what the module is, how it opens connections) and [`Connection`]
//! (one open connection), and let [`RemoteHandler`] turn bytes into typed calls.

use std::sync::Arc;

use rvirt_plugin_api::protocol::{
    remote_proc, RemoteConnectGetHostnameRet, RemoteConnectGetTypeRet,
    RemoteConnectListAllDomainsArgs, RemoteConnectListAllDomainsRet, RemoteDomainGetInfoArgs,
    RemoteDomainGetInfoRet, RemoteDomainLookupByNameArgs, RemoteDomainLookupByNameRet,
    RemoteNonnullDomain, REMOTE_PROGRAM_NUMBER,
};
use rvirt_plugin_api::sdk::{
    code, dispatch_remote, domain, ConnContext, Connection, DriverKind, DriverSpec, Module,
    ModuleInfo, OpenOutcome, RemoteError, RemoteHandler,
};

const DOMAIN_NAME: &str = "hello-vm";
const DOMAIN_UUID: [u8; 16] = *b"hello-rvirt-vm01";
/// libvirt's `VIR_DOMAIN_RUNNING`.
const STATE_RUNNING: u8 = 1;

/// The module: one hypervisor driver for the `hello` scheme.
struct Hello;

impl Module for Hello {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            name: "hello".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            has_state_driver: false,
            drivers: vec![DriverSpec {
                kind: DriverKind::Hypervisor,
                name: "Hello".into(),
                uri_schemes: vec!["hello".into()],
                procedures: vec![(
                    REMOTE_PROGRAM_NUMBER,
                    vec![
                        remote_proc::CONNECT_GET_TYPE,
                        remote_proc::CONNECT_GET_HOSTNAME,
                        remote_proc::CONNECT_LIST_ALL_DOMAINS,
                        remote_proc::DOMAIN_LOOKUP_BY_NAME,
                        remote_proc::DOMAIN_GET_INFO,
                    ],
                )],
            }],
            features: Vec::new(),
        }
    }

    fn open(&self, _ctx: ConnContext, uri: &str, _flags: u32) -> Result<OpenOutcome, RemoteError> {
        match uri.strip_prefix("hello://") {
            Some("/") => Ok(OpenOutcome::Opened(Arc::new(HelloConnection))),
            Some(_) => Err(RemoteError::new(
                code::NO_CONNECT,
                domain::NONE,
                format!("no connection driver available for {uri}: only hello:/// exists"),
            )),
            None => Ok(OpenOutcome::Declined),
        }
    }
}

/// One open `hello:///` connection (stateless).
struct HelloConnection;

impl Connection for HelloConnection {
    fn call(&self, program: u32, procedure: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        dispatch_remote(self, program, procedure, args)
    }
}

fn the_domain() -> RemoteNonnullDomain {
    RemoteNonnullDomain {
        name: DOMAIN_NAME.into(),
        uuid: DOMAIN_UUID,
        id: 1,
    }
}

fn no_domain(name: &str) -> RemoteError {
    RemoteError::new(
        code::NO_DOMAIN,
        domain::DOMAIN,
        format!("Domain not found: no domain with matching name '{name}'"),
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl RemoteHandler for HelloConnection {
    fn connect_get_type(&self) -> Result<RemoteConnectGetTypeRet, RemoteError> {
        Ok(RemoteConnectGetTypeRet {
            r#type: "Hello".into(),
        })
    }

    fn connect_get_hostname(&self) -> Result<RemoteConnectGetHostnameRet, RemoteError> {
        Ok(RemoteConnectGetHostnameRet {
            hostname: hostname(),
        })
    }

    fn connect_list_all_domains(
        &self,
        args: RemoteConnectListAllDomainsArgs,
    ) -> Result<RemoteConnectListAllDomainsRet, RemoteError> {
        let domains = if args.need_results != 0 {
            vec![the_domain()]
        } else {
            Vec::new()
        };
        Ok(RemoteConnectListAllDomainsRet { domains, ret: 1 })
    }

    fn domain_lookup_by_name(
        &self,
        args: RemoteDomainLookupByNameArgs,
    ) -> Result<RemoteDomainLookupByNameRet, RemoteError> {
        if args.name != DOMAIN_NAME {
            return Err(no_domain(&args.name));
        }
        Ok(RemoteDomainLookupByNameRet { dom: the_domain() })
    }

    fn domain_get_info(
        &self,
        args: RemoteDomainGetInfoArgs,
    ) -> Result<RemoteDomainGetInfoRet, RemoteError> {
        if args.dom.name != DOMAIN_NAME {
            return Err(no_domain(&args.dom.name));
        }
        Ok(RemoteDomainGetInfoRet {
            state: STATE_RUNNING,
            max_mem: 1 << 20,
            memory: 1 << 19,
            nr_virt_cpu: 1,
            cpu_time: 0,
        })
    }
}

rvirt_plugin_api::export_module!(|| Hello);
