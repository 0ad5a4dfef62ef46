//! libvirt error codes and domains used by rvirt, and `remote_error` constructors.

use crate::RemoteError;

/// `virErrorNumber` values rvirt reports.
pub mod code {
    pub const OK: i32 = 0;
    pub const INTERNAL_ERROR: i32 = 1;
    pub const NO_MEMORY: i32 = 2;
    pub const NO_SUPPORT: i32 = 3;
    pub const UNKNOWN_HOST: i32 = 4;
    pub const NO_CONNECT: i32 = 5;
    pub const INVALID_CONN: i32 = 6;
    pub const INVALID_DOMAIN: i32 = 7;
    pub const INVALID_ARG: i32 = 8;
    pub const OPERATION_FAILED: i32 = 9;
    pub const GET_FAILED: i32 = 10;
    pub const POST_FAILED: i32 = 11;
    pub const HTTP_ERROR: i32 = 12;
    pub const SEXPR_SERIAL: i32 = 13;
    pub const NO_XEN: i32 = 14;
    pub const XEN_CALL: i32 = 15;
    pub const OS_TYPE: i32 = 16;
    pub const NO_KERNEL: i32 = 17;
    pub const NO_ROOT: i32 = 18;
    pub const NO_SOURCE: i32 = 19;
    pub const NO_TARGET: i32 = 20;
    pub const NO_NAME: i32 = 21;
    pub const NO_OS: i32 = 22;
    pub const NO_DEVICE: i32 = 23;
    pub const NO_XENSTORE: i32 = 24;
    pub const DRIVER_FULL: i32 = 25;
    pub const CALL_FAILED: i32 = 26;
    pub const XML_ERROR: i32 = 27;
    pub const DOM_EXIST: i32 = 28;
    pub const OPERATION_DENIED: i32 = 29;
    pub const OPEN_FAILED: i32 = 30;
    pub const READ_FAILED: i32 = 31;
    pub const PARSE_FAILED: i32 = 32;
    pub const CONF_SYNTAX: i32 = 33;
    pub const WRITE_FAILED: i32 = 34;
    pub const XML_DETAIL: i32 = 35;
    pub const INVALID_NETWORK: i32 = 36;
    pub const NETWORK_EXIST: i32 = 37;
    pub const SYSTEM_ERROR: i32 = 38;
    pub const RPC: i32 = 39;
    pub const GNUTLS_ERROR: i32 = 40;
    pub const NO_NETWORK_START: i32 = 41;
    pub const NO_DOMAIN: i32 = 42;
    pub const NO_NETWORK: i32 = 43;
    pub const INVALID_MAC: i32 = 44;
    pub const AUTH_FAILED: i32 = 45;
    pub const INVALID_STORAGE_POOL: i32 = 46;
    pub const INVALID_STORAGE_VOL: i32 = 47;
    pub const NO_STORAGE_POOL: i32 = 49;
    pub const NO_STORAGE_VOL: i32 = 50;
    pub const NO_NODE_DEVICE: i32 = 51;
    pub const NO_SECURITY_MODEL: i32 = 53;
    pub const OPERATION_INVALID: i32 = 55;
    pub const NO_INTERFACE: i32 = 57;
    pub const MULTIPLE_INTERFACES: i32 = 60;
    pub const CONFIG_UNSUPPORTED: i32 = 67;
    pub const NO_DOMAIN_SNAPSHOT: i32 = 72;
    pub const INVALID_STREAM: i32 = 73;
    pub const ARGUMENT_UNSUPPORTED: i32 = 74;
    pub const STORAGE_PROBE_FAILED: i32 = 75;
    pub const STORAGE_POOL_BUILT: i32 = 76;
    pub const SNAPSHOT_REVERT_RISKY: i32 = 77;
    pub const OPERATION_ABORTED: i32 = 78;
    pub const AUTH_CANCELLED: i32 = 79;
    pub const NO_DOMAIN_METADATA: i32 = 80;
    pub const MIGRATE_UNSAFE: i32 = 81;
    pub const OVERFLOW: i32 = 82;
    pub const BLOCK_COPY_ACTIVE: i32 = 83;
    pub const OPERATION_UNSUPPORTED: i32 = 84;
    pub const SSH: i32 = 85;
    pub const AGENT_UNRESPONSIVE: i32 = 86;
    pub const RESOURCE_BUSY: i32 = 87;
    pub const ACCESS_DENIED: i32 = 88;
    pub const DBUS_SERVICE: i32 = 89;
    pub const STORAGE_VOL_EXIST: i32 = 90;
    pub const CPU_INCOMPATIBLE: i32 = 91;
    pub const XML_INVALID_SCHEMA: i32 = 92;
    pub const MIGRATE_FINISH_OK: i32 = 93;
    pub const AUTH_UNAVAILABLE: i32 = 94;
    pub const NO_SERVER: i32 = 95;
    pub const NO_CLIENT: i32 = 96;
    pub const AGENT_UNSYNCED: i32 = 97;
    pub const LIBSSH: i32 = 98;
    pub const DEVICE_MISSING: i32 = 99;
    pub const INVALID_NWFILTER_BINDING: i32 = 100;
    pub const NO_NWFILTER_BINDING: i32 = 101;
    pub const INVALID_DOMAIN_CHECKPOINT: i32 = 102;
    pub const NO_DOMAIN_CHECKPOINT: i32 = 103;
    pub const NO_DOMAIN_BACKUP: i32 = 104;
    pub const INVALID_NETWORK_PORT: i32 = 105;
    pub const NETWORK_PORT_EXIST: i32 = 106;
    pub const NO_NETWORK_PORT: i32 = 107;
    pub const NO_HOSTNAME: i32 = 108;
    pub const CHECKPOINT_INCONSISTENT: i32 = 109;
    pub const MULTIPLE_DOMAINS: i32 = 110;
    /// Since libvirt 9.7.
    pub const NO_NETWORK_METADATA: i32 = 111;
}

/// `virErrorDomain` values rvirt reports.
pub mod domain {
    pub const NONE: i32 = 0;
    pub const XML: i32 = 5;
    pub const DOM: i32 = 6;
    pub const RPC: i32 = 7;
    pub const CONF: i32 = 9;
    pub const QEMU: i32 = 10;
    pub const NET: i32 = 11;
    pub const TEST: i32 = 12;
    pub const REMOTE: i32 = 13;
    pub const STORAGE: i32 = 18;
    pub const NETWORK: i32 = 19;
    pub const DOMAIN: i32 = 20;
    pub const NODEDEV: i32 = 22;
    pub const SECURITY: i32 = 24;
    pub const INTERFACE: i32 = 26;
    pub const SECRET: i32 = 30;
    pub const NWFILTER: i32 = 33;
    pub const DOMAIN_SNAPSHOT: i32 = 35;
    pub const STREAMS: i32 = 38;
    /// `VIR_FROM_LIBXL`: libvirt's libxenlight (Xen) driver.
    pub const LIBXL: i32 = 41;
    pub const ACCESS: i32 = 55;
    pub const XEN_XL: i32 = 64;
    pub const DOMAIN_CHECKPOINT: i32 = 69;
}

/// `virErrorLevel`: VIR_ERR_ERROR.
pub const LEVEL_ERROR: i32 = 2;

impl RemoteError {
    /// A driver's error as libvirt reports it: the message also in `str1`, where libvirt's
    /// error helpers put the formatted text.
    pub fn reported(code: i32, domain: i32, message: impl Into<String>) -> RemoteError {
        let text = message.into();
        let mut r = RemoteError::new(code, domain, text.clone());
        r.str1 = Some(text);
        r
    }

    /// A libvirt-style error with the given code, domain and message.
    pub fn new(code: i32, domain: i32, message: impl Into<String>) -> RemoteError {
        RemoteError {
            code,
            domain,
            message: Some(message.into()),
            level: LEVEL_ERROR,
            dom: None,
            str1: None,
            str2: None,
            str3: None,
            int1: -1,
            int2: -1,
            net: None,
        }
    }

    /// libvirt's answer for a call the driver does not implement.
    pub fn unsupported(api_name: &str) -> RemoteError {
        RemoteError::new(
            code::NO_SUPPORT,
            domain::NONE,
            format!("this function is not supported by the connection driver: {api_name}"),
        )
    }

    /// A procedure number the program does not have.
    pub fn unknown_procedure(program: u32, procedure: i32) -> RemoteError {
        RemoteError::new(
            code::RPC,
            domain::RPC,
            format!("cannot find procedure {procedure} in program {program:#x}"),
        )
    }

    /// The message text, or an empty string.
    pub fn text(&self) -> &str {
        self.message.as_deref().unwrap_or("")
    }
}

impl From<crate::XdrError> for RemoteError {
    fn from(e: crate::XdrError) -> Self {
        RemoteError::new(
            code::RPC,
            domain::RPC,
            format!("cannot decode the call arguments: {e}"),
        )
    }
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for RemoteError {}
