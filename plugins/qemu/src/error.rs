//! Errors of the qemu driver, each carrying libvirt's error code, domain and text.

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::sdk::{code, domain};

/// Everything a qemu-driver call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    #[error("Domain not found: no domain with matching name '{0}'")]
    NoDomainName(String),
    #[error("Domain not found: no domain with matching uuid '{0}'")]
    NoDomainUuid(String),
    #[error("Domain not found: no domain with matching id {0}")]
    NoDomainId(i32),
    #[error("Requested operation is not valid: {0}")]
    Invalid(String),
    #[error("Requested operation is not valid: domain is not running")]
    NotRunning,
    #[error("internal error: {0}")]
    Internal(String),
    #[error("invalid argument: {0}")]
    InvalidArg(String),
    #[error("unsupported flags ({flags:#x}) in function {func}")]
    Flags { flags: u32, func: &'static str },
    #[error("operation failed: {0}")]
    Failed(String),
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    /// The parser's text already starts with "XML error: ".
    #[error("{0}")]
    Xml(#[from] rvirt_xml::XmlError),
    #[error("{0}")]
    System(String),
    #[error("internal error: unable to execute QEMU command '{cmd}': {desc}")]
    Monitor { cmd: String, desc: String },
    #[error("operation failed: domain '{0}' already exists with uuid {1}")]
    Exists(String, String),
    #[error("invalid argument: unsupported configuration: {0}")]
    Config(String),
    #[error("Operation not supported: {0}")]
    NotSupported(String),
    #[error("argument unsupported: {0}")]
    ArgUnsupported(String),
    #[error("{0}")]
    Metadata(rvirt_xml::domain::metadata::MetadataError),
    #[error("Domain snapshot not found: {0}")]
    NoSnapshot(String),
}

impl QemuError {
    fn code(&self) -> i32 {
        match self {
            QemuError::NoDomainName(_) | QemuError::NoDomainUuid(_) | QemuError::NoDomainId(_) => {
                code::NO_DOMAIN
            }
            QemuError::Invalid(_) | QemuError::NotRunning => code::OPERATION_INVALID,
            QemuError::Internal(_) | QemuError::Monitor { .. } => code::INTERNAL_ERROR,
            QemuError::InvalidArg(_) | QemuError::Flags { .. } | QemuError::Config(_) => {
                code::INVALID_ARG
            }
            QemuError::Failed(_) | QemuError::Exists(..) => code::OPERATION_FAILED,
            QemuError::Unsupported(_) => code::CONFIG_UNSUPPORTED,
            QemuError::NotSupported(_) => code::OPERATION_UNSUPPORTED,
            QemuError::ArgUnsupported(_) => code::ARGUMENT_UNSUPPORTED,
            QemuError::Metadata(rvirt_xml::domain::metadata::MetadataError::NotFound) => {
                code::NO_DOMAIN_METADATA
            }
            QemuError::Metadata(rvirt_xml::domain::metadata::MetadataError::BadPrefix) => {
                code::INTERNAL_ERROR
            }
            QemuError::Metadata(_) => code::INVALID_ARG,
            QemuError::Xml(e) => e.code(),
            QemuError::System(_) => code::SYSTEM_ERROR,
            QemuError::NoSnapshot(_) => code::NO_DOMAIN_SNAPSHOT,
        }
    }

    fn domain(&self) -> i32 {
        match self {
            QemuError::Xml(e) => e.error_domain(domain::DOMAIN),
            // libvirt's virDomainObjCheckActive reports from the domain layer.
            QemuError::Exists(..) | QemuError::NotRunning | QemuError::Metadata(_) => {
                domain::DOMAIN
            }
            _ => domain::QEMU,
        }
    }

    /// A system error with the OS reason appended, like libvirt's `virReportSystemError`.
    pub fn sys(what: impl std::fmt::Display, e: impl std::fmt::Display) -> QemuError {
        QemuError::System(format!("{what}: {e}"))
    }

    /// Like [`QemuError::sys`] with the bare `strerror` text of an I/O error (no
    /// "(os error N)" suffix), as libvirt prints it.
    pub fn io(what: impl std::fmt::Display, e: &std::io::Error) -> QemuError {
        QemuError::System(format!("{what}: {}", strerror(e)))
    }
}

impl From<crate::firmware::FirmwareError> for QemuError {
    fn from(e: crate::firmware::FirmwareError) -> QemuError {
        QemuError::Failed(e.to_string())
    }
}

impl From<crate::tpm::TpmError> for QemuError {
    fn from(e: crate::tpm::TpmError) -> QemuError {
        QemuError::Failed(e.to_string())
    }
}

impl From<QemuError> for RemoteError {
    fn from(e: QemuError) -> RemoteError {
        RemoteError::reported(e.code(), e.domain(), e.to_string())
    }
}

pub use rvirt_plugin_api::sdk::strerror;

/// Result of every driver operation.
pub type QResult<T> = Result<T, RemoteError>;

/// Refuses any flag outside `allowed`, like libvirt's flag check.
pub fn check_flags(flags: u32, allowed: u32, func: &'static str) -> QResult<()> {
    let extra = flags & !allowed;
    if extra != 0 {
        return Err(QemuError::Flags { flags: extra, func }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_texts() {
        let e: RemoteError = QemuError::NotRunning.into();
        assert_eq!(
            (e.code, e.domain),
            (code::OPERATION_INVALID, domain::DOMAIN)
        );
        assert_eq!(
            e.text(),
            "Requested operation is not valid: domain is not running"
        );
        let e = check_flags(3, 1, "qemuDomainDestroyFlags").unwrap_err();
        assert_eq!(
            e.text(),
            "unsupported flags (0x2) in function qemuDomainDestroyFlags"
        );
        let e: RemoteError = QemuError::from(rvirt_xml::XmlError::Unexpected("d/x".into())).into();
        assert_eq!(
            e.text(),
            "XML error: unexpected or unsupported element <d/x>"
        );
        let io = std::io::Error::from_raw_os_error(2);
        let e: RemoteError = QemuError::io("Cannot check QEMU binary /x", &io).into();
        assert_eq!(
            (e.code, e.text()),
            (
                code::SYSTEM_ERROR,
                "Cannot check QEMU binary /x: No such file or directory"
            )
        );
    }
}
