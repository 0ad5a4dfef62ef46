//! One open `xen:///system` connection: the driver's identity and the xl.cfg
//! conversion; every other procedure it declares answers "not active".

use rvirt_plugin_api::protocol::{
    remote_proc, ObjectKind, RemoteConnectDomainXmlFromNativeArgs,
    RemoteConnectDomainXmlFromNativeRet, RemoteConnectDomainXmlToNativeArgs,
    RemoteConnectDomainXmlToNativeRet, RemoteConnectGetHostnameRet, RemoteConnectGetTypeRet,
    RemoteConnectGetVersionRet, RemoteError, REMOTE_PROGRAM_NUMBER,
};
use rvirt_plugin_api::sdk::{dispatch_remote, Connection, RemoteHandler};

use crate::error::XenError;

/// The procedures the connection answers itself.
pub const SERVED: &[i32] = &[
    remote_proc::CONNECT_GET_TYPE,
    remote_proc::CONNECT_GET_HOSTNAME,
    remote_proc::CONNECT_GET_VERSION,
    remote_proc::CONNECT_DOMAIN_XML_FROM_NATIVE,
    remote_proc::CONNECT_DOMAIN_XML_TO_NATIVE,
];

/// Whether a procedure acts on domains (and so needs the inactive libxenlight).
fn is_domain_call(p: &rvirt_plugin_api::protocol::ProcedureInfo) -> bool {
    // Stream procedures (console, screenshot, tunnelled migration) go through the
    // daemon's stream machinery; undeclared, they answer "not supported".
    !p.event
        && p.stream == rvirt_plugin_api::protocol::StreamKind::None
        && p.driver == rvirt_plugin_api::protocol::DriverKind::Hypervisor
        && (matches!(
            p.object,
            ObjectKind::Domain | ObjectKind::DomainSnapshot | ObjectKind::DomainCheckpoint
        ) || p.name.contains("DOMAIN"))
}

/// Every procedure the driver declares: the served ones and the domain calls.
pub fn procedures() -> Vec<i32> {
    let table = rvirt_plugin_api::protocol::procedures(REMOTE_PROGRAM_NUMBER).unwrap_or(&[]);
    let mut v: Vec<i32> = SERVED.to_vec();
    v.extend(
        table
            .iter()
            .filter(|p| is_domain_call(p) && !SERVED.contains(&p.number))
            .map(|p| p.number),
    );
    v.sort_unstable();
    v.dedup();
    v
}

/// libxl's version word for the (absent) hypervisor: 0, as libvirt reports an unknown one.
const HV_VERSION: u64 = 0;

/// A connection (stateless).
#[derive(Debug)]
pub struct XenConn;

impl Connection for XenConn {
    fn call(&self, program: u32, procedure: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError> {
        if program == REMOTE_PROGRAM_NUMBER && SERVED.contains(&procedure) {
            return dispatch_remote(self, program, procedure, args);
        }
        Err(XenError::NotActive.into())
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl RemoteHandler for XenConn {
    fn connect_get_type(&self) -> Result<RemoteConnectGetTypeRet, RemoteError> {
        Ok(RemoteConnectGetTypeRet {
            r#type: "Xen".into(),
        })
    }

    fn connect_get_hostname(&self) -> Result<RemoteConnectGetHostnameRet, RemoteError> {
        Ok(RemoteConnectGetHostnameRet {
            hostname: hostname(),
        })
    }

    fn connect_get_version(&self) -> Result<RemoteConnectGetVersionRet, RemoteError> {
        Ok(RemoteConnectGetVersionRet { hv_ver: HV_VERSION })
    }

    fn connect_domain_xml_from_native(
        &self,
        args: RemoteConnectDomainXmlFromNativeArgs,
    ) -> Result<RemoteConnectDomainXmlFromNativeRet, RemoteError> {
        if args.flags != 0 {
            return Err(XenError::Flags(args.flags, "libxlConnectDomainXMLFromNative").into());
        }
        let xml = crate::from_xl::convert(&args.native_format, &args.native_config)?;
        Ok(RemoteConnectDomainXmlFromNativeRet { domain_xml: xml })
    }

    fn connect_domain_xml_to_native(
        &self,
        args: RemoteConnectDomainXmlToNativeArgs,
    ) -> Result<RemoteConnectDomainXmlToNativeRet, RemoteError> {
        if args.flags != 0 {
            return Err(XenError::Flags(args.flags, "libxlConnectDomainXMLToNative").into());
        }
        let cfg = crate::to_xl::convert(&args.native_format, &args.domain_xml)?;
        Ok(RemoteConnectDomainXmlToNativeRet { native_config: cfg })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_calls_answer_not_active() {
        let p = procedures();
        assert!(p.contains(&remote_proc::DOMAIN_LOOKUP_BY_NAME));
        assert!(p.contains(&remote_proc::CONNECT_LIST_ALL_DOMAINS));
        assert!(!p.contains(&remote_proc::NETWORK_LOOKUP_BY_NAME));
        let e = XenConn
            .call(
                REMOTE_PROGRAM_NUMBER,
                remote_proc::DOMAIN_LOOKUP_BY_NAME,
                &[],
            )
            .unwrap_err();
        assert_eq!(
            e.text(),
            "internal error: libxenlight state driver is not active"
        );
    }
}
