//! Errors of the network driver, each carrying libvirt's error code, domain and text.

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::sdk::{code, domain};
use rvirt_xml::metadata::MetadataError;

/// Everything a network-driver call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("Network not found: no network with matching name '{0}'")]
    NoNetworkName(String),
    #[error("Network not found: no network with matching uuid '{0}'")]
    NoNetworkUuid(String),
    #[error("Network not found: no network with matching uuid '{0}' ({1})")]
    NoNetworkRef(String, String),
    #[error("Requested operation is not valid: {0}")]
    Invalid(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("unsupported flags ({flags:#x}) in function {func}")]
    Flags { flags: u32, func: &'static str },
    #[error("operation failed: {0}")]
    Failed(String),
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    #[error("Operation not supported: {0}")]
    NoSupport(String),
    /// The parser's text already starts with "XML error: " (or its own prefix).
    #[error("{0}")]
    Xml(#[from] rvirt_xml::XmlError),
    #[error("network port not found: {0}")]
    NoPort(String),
    /// libvirt's text of this code repeats itself; it is kept as libvirt writes it.
    #[error("network port {0} exists already")]
    PortExists(String),
    #[error("invalid argument: {0}")]
    Arg(String),
    /// `VIR_ERR_INVALID_ARG` in libvirt's own words, without the code's prefix (what its
    /// `virReportInvalidArg` reports).
    #[error("{0}")]
    ArgText(String),
    #[error("argument unsupported: {0}")]
    ArgUnsupported(String),
    /// A host call failed; the text names what and why.
    #[error("{0}")]
    System(String),
    /// A metadata call's refusal (`VIR_ERR_NO_NETWORK_METADATA` when absent).
    #[error("{0}")]
    Metadata(rvirt_xml::metadata::MetadataError),
}

impl NetError {
    fn code(&self) -> i32 {
        match self {
            NetError::NoNetworkName(_)
            | NetError::NoNetworkUuid(_)
            | NetError::NoNetworkRef(..) => code::NO_NETWORK,
            NetError::Invalid(_) => code::OPERATION_INVALID,
            NetError::Internal(_) => code::INTERNAL_ERROR,
            NetError::Flags { .. } => code::INVALID_ARG,
            NetError::Failed(_) => code::OPERATION_FAILED,
            NetError::Unsupported(_) => code::CONFIG_UNSUPPORTED,
            NetError::NoSupport(_) => code::OPERATION_UNSUPPORTED,
            NetError::Xml(e) => e.code(),
            NetError::System(_) => code::SYSTEM_ERROR,
            NetError::NoPort(_) => code::NO_NETWORK_PORT,
            NetError::PortExists(_) => code::NETWORK_PORT_EXIST,
            NetError::Arg(_) | NetError::ArgText(_) => code::INVALID_ARG,
            NetError::ArgUnsupported(_) => code::ARGUMENT_UNSUPPORTED,
            NetError::Metadata(MetadataError::NotFound) => code::NO_NETWORK_METADATA,
            NetError::Metadata(MetadataError::BadPrefix) => code::INTERNAL_ERROR,
            NetError::Metadata(_) => code::INVALID_ARG,
        }
    }

    fn domain(&self) -> i32 {
        match self {
            NetError::Xml(e) => e.error_domain(domain::NETWORK),
            // libvirt checks a title's newlines and the NULL arguments in its client
            // library, outside any driver.
            NetError::Metadata(MetadataError::TitleNewline | MetadataError::Invalid(_)) => {
                domain::NONE
            }
            _ => domain::NETWORK,
        }
    }

    /// A system error: what failed, then why.
    pub fn sys(what: impl std::fmt::Display, why: impl std::fmt::Display) -> NetError {
        NetError::System(format!("{what}: {why}"))
    }
}

impl From<NetError> for RemoteError {
    fn from(e: NetError) -> RemoteError {
        RemoteError::reported(e.code(), e.domain(), e.to_string())
    }
}

/// Result of every driver operation.
pub type NResult<T> = Result<T, RemoteError>;

/// Refuses any flag outside `allowed`, like libvirt's flag check.
pub fn check_flags(flags: u32, allowed: u32, func: &'static str) -> NResult<()> {
    let extra = flags & !allowed;
    if extra != 0 {
        return Err(NetError::Flags { flags: extra, func }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_domains() {
        let r: RemoteError = NetError::NoNetworkName("x".into()).into();
        assert_eq!((r.code, r.domain), (code::NO_NETWORK, domain::NETWORK));
        assert_eq!(
            r.text(),
            "Network not found: no network with matching name 'x'"
        );
        let r = check_flags(3, 1, "networkFoo").unwrap_err();
        assert_eq!(r.text(), "unsupported flags (0x2) in function networkFoo");
    }
}
