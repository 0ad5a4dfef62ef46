//! Errors of the test driver, each carrying libvirt's error code, domain and text.

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::sdk::{code, domain};

/// Everything a test-driver call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("Domain not found")]
    NoDomain,
    #[error("Domain not found: no domain with matching uuid '{uuid}' ({name})")]
    NoDomainUuid { uuid: String, name: String },
    #[error("Requested operation is not valid: {0}")]
    Invalid(String),
    #[error("Requested operation is not valid: domain is not running")]
    NotRunning,
    #[error("internal error: {0}")]
    Internal(String),
    #[error("invalid argument: {0}")]
    InvalidArg(String),
    /// `VIR_ERR_INVALID_ARG` in libvirt's own words, without the code's prefix.
    #[error("{0}")]
    InvalidArgText(String),
    #[error("{0}")]
    Metadata(rvirt_xml::domain::metadata::MetadataError),
    /// A network metadata call's refusal (`VIR_ERR_NO_NETWORK_METADATA` when absent).
    #[error("{0}")]
    NetMetadata(rvirt_xml::metadata::MetadataError),
    #[error("unsupported flags ({flags:#x}) in function {func}")]
    Flags { flags: u32, func: &'static str },
    #[error("operation failed: {0}")]
    Failed(String),
    #[error("operation failed: {0}")]
    ConfFailed(String),
    #[error("Requested operation is not valid: {0}")]
    ConfInvalid(String),
    /// The parser's text is libvirt's whole message, prefix included.
    #[error("{0}")]
    Xml(#[from] rvirt_xml::XmlError),
    #[error("Network not found: {0}")]
    NoNetwork(String),
    #[error("Storage pool not found: {0}")]
    NoPool(String),
    #[error("Storage volume not found: {0}")]
    NoVol(String),
    #[error("Node device not found: {0}")]
    NoDevice(String),
    #[error("Domain snapshot not found: {0}")]
    NoSnapshot(String),
    #[error("Domain checkpoint not found: {0}")]
    NoCheckpoint(String),
    /// A checkpoint request the test driver cannot carry out as asked.
    #[error("unsupported configuration: {0}")]
    CheckpointConfig(String),
    /// A snapshot request the test driver cannot carry out as asked.
    #[error("unsupported configuration: {0}")]
    SnapshotConfig(String),
    #[error("Operation not supported: {0}")]
    Unsupported(String),
    #[error("Failed to open file '{path}': {reason}")]
    File { path: String, reason: String },
    /// `test:///PATH` from a client that may not have the daemon read files for it.
    #[error("operation forbidden: only a privileged read-write connection may open a node description file")]
    FileDenied,
    #[error("Requested operation is not valid")]
    InvalidBare,
    #[error("argument unsupported: {0}")]
    ArgUnsupported(String),
    #[error("Interface not found: {0}")]
    NoInterface(String),
    #[error("multiple matching interfaces found")]
    MultipleInterfaces,
    /// An interface definition libvirt's interface parser refuses.
    #[error("XML error: {0}")]
    InterfaceXml(String),
}

impl TestError {
    fn code(&self) -> i32 {
        match self {
            TestError::NoDomain | TestError::NoDomainUuid { .. } => code::NO_DOMAIN,
            TestError::Invalid(_)
            | TestError::InvalidBare
            | TestError::NotRunning
            | TestError::ConfInvalid(_) => code::OPERATION_INVALID,
            TestError::Internal(_) => code::INTERNAL_ERROR,
            TestError::InvalidArg(_) | TestError::InvalidArgText(_) | TestError::Flags { .. } => {
                code::INVALID_ARG
            }
            TestError::Failed(_) | TestError::ConfFailed(_) => code::OPERATION_FAILED,
            TestError::Xml(e) => e.code(),
            TestError::NoNetwork(_) => code::NO_NETWORK,
            TestError::NoPool(_) => code::NO_STORAGE_POOL,
            TestError::NoVol(_) => code::NO_STORAGE_VOL,
            TestError::NoDevice(_) => code::NO_NODE_DEVICE,
            TestError::NoSnapshot(_) => code::NO_DOMAIN_SNAPSHOT,
            TestError::SnapshotConfig(_) | TestError::CheckpointConfig(_) => {
                code::CONFIG_UNSUPPORTED
            }
            TestError::NoCheckpoint(_) => code::NO_DOMAIN_CHECKPOINT,
            TestError::Unsupported(_) => code::OPERATION_UNSUPPORTED,
            TestError::File { .. } => code::SYSTEM_ERROR,
            TestError::FileDenied => code::OPERATION_DENIED,
            TestError::ArgUnsupported(_) => code::ARGUMENT_UNSUPPORTED,
            TestError::Metadata(rvirt_xml::domain::metadata::MetadataError::NotFound) => {
                code::NO_DOMAIN_METADATA
            }
            TestError::Metadata(rvirt_xml::domain::metadata::MetadataError::BadPrefix)
            | TestError::NetMetadata(rvirt_xml::metadata::MetadataError::BadPrefix) => {
                code::INTERNAL_ERROR
            }
            TestError::Metadata(_) => code::INVALID_ARG,
            TestError::NetMetadata(rvirt_xml::metadata::MetadataError::NotFound) => {
                code::NO_NETWORK_METADATA
            }
            TestError::NetMetadata(_) => code::INVALID_ARG,
            TestError::NoInterface(_) => code::NO_INTERFACE,
            TestError::MultipleInterfaces => code::MULTIPLE_INTERFACES,
            TestError::InterfaceXml(_) => code::XML_ERROR,
        }
    }

    fn domain(&self) -> i32 {
        match self {
            TestError::Xml(e) => e.error_domain(domain::DOMAIN),
            TestError::NotRunning
            | TestError::ConfFailed(_)
            | TestError::ConfInvalid(_)
            | TestError::Metadata(_) => domain::DOMAIN,
            TestError::InterfaceXml(_) => domain::INTERFACE,
            // libvirt checks a title's newlines and NULL arguments in its client library.
            TestError::NetMetadata(
                rvirt_xml::metadata::MetadataError::TitleNewline
                | rvirt_xml::metadata::MetadataError::Invalid(_),
            ) => domain::NONE,
            TestError::NetMetadata(_) | TestError::InvalidArgText(_) => domain::NETWORK,
            TestError::SnapshotConfig(_) => domain::DOMAIN_SNAPSHOT,
            TestError::CheckpointConfig(_) => domain::DOMAIN_CHECKPOINT,
            _ => domain::TEST,
        }
    }
}

impl From<TestError> for RemoteError {
    fn from(e: TestError) -> RemoteError {
        RemoteError::reported(e.code(), e.domain(), e.to_string())
    }
}

/// Turns a parser's error into libvirt's, placed in `object` (the error domain of the
/// kind of document parsed: `VIR_FROM_NETWORK` for networks...) unless libvirt reports
/// it from elsewhere (its XML utilities).
pub fn parse_error(object: i32) -> impl Fn(rvirt_xml::XmlError) -> RemoteError {
    move |e| {
        let d = e.error_domain(object);
        let mut r: RemoteError = TestError::from(e).into();
        r.domain = d;
        r
    }
}

/// Result of every driver operation.
pub type TestResult<T> = Result<T, RemoteError>;

/// Refuses any flag outside `allowed`, like libvirt's flag check.
pub fn check_flags(flags: u32, allowed: u32, func: &'static str) -> TestResult<()> {
    let extra = flags & !allowed;
    if extra != 0 {
        return Err(TestError::Flags { flags: extra, func }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_error_text_matches_libvirt() {
        let e = check_flags(0x8000_0001, 1, "testConnectListAllNodeDevices").unwrap_err();
        assert_eq!(e.code, code::INVALID_ARG);
        assert_eq!(
            e.text(),
            "unsupported flags (0x80000000) in function testConnectListAllNodeDevices"
        );
    }

    #[test]
    fn no_domain_matches_wire_capture() {
        let e: RemoteError = TestError::NoDomain.into();
        assert_eq!((e.code, e.domain), (42, 12));
        assert_eq!(e.str1.as_deref(), Some("Domain not found"));
    }
}
