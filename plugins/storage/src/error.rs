//! Errors of the storage driver, each carrying libvirt's error code and text; the
//! domain is always the storage one (or the parser's own for XML errors).

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::sdk::{code, domain};

/// Everything a storage-driver call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("Storage pool not found: no storage pool with matching name '{0}'")]
    NoPoolName(String),
    #[error("Storage pool not found: no storage pool with matching uuid '{0}'")]
    NoPoolUuid(String),
    #[error("Storage pool not found: no storage pool with matching target path '{0}'")]
    NoPoolTarget(String),
    #[error("Storage volume not found: no storage vol with matching {what} '{value}'")]
    NoVol { what: &'static str, value: String },
    #[error("Requested operation is not valid: {0}")]
    Invalid(String),
    #[error("invalid argument: {0}")]
    InvalidArg(String),
    #[error("unsupported flags ({flags:#x}) in function {func}")]
    Flags { flags: u32, func: &'static str },
    #[error("operation failed: {0}")]
    Failed(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    #[error("Operation not supported: {0}")]
    NotSupported(String),
    #[error("argument unsupported: {0}")]
    ArgUnsupported(String),
    #[error("this function is not supported by the connection driver: {0}")]
    NoSupport(String),
    #[error("Flags '{0}' and '{1}' are mutually exclusive")]
    ExclusiveFlags(&'static str, &'static str),
    #[error("Storage pool probe failed: {0}")]
    ProbeFailed(String),
    #[error("Storage pool already built: {0}")]
    Built(String),
    #[error("storage volume '{0}' exists already")]
    VolExists(String),
    /// The parser's text is libvirt's whole message, prefix included.
    #[error("{0}")]
    Xml(#[from] rvirt_xml::XmlError),
    /// A failed system call, worded `what: strerror`.
    #[error("{0}")]
    System(String),
    /// A system error of a data stream (libvirt's "I/O Stream Utils" domain).
    #[error("{0}")]
    StreamIo(String),
}

impl StorageError {
    fn code(&self) -> i32 {
        match self {
            StorageError::NoPoolName(_)
            | StorageError::NoPoolUuid(_)
            | StorageError::NoPoolTarget(_) => code::NO_STORAGE_POOL,
            StorageError::NoVol { .. } => code::NO_STORAGE_VOL,
            StorageError::Invalid(_) => code::OPERATION_INVALID,
            StorageError::InvalidArg(_)
            | StorageError::Flags { .. }
            | StorageError::ExclusiveFlags(..) => code::INVALID_ARG,
            StorageError::Failed(_) => code::OPERATION_FAILED,
            StorageError::Internal(_) => code::INTERNAL_ERROR,
            StorageError::Unsupported(_) => code::CONFIG_UNSUPPORTED,
            StorageError::NotSupported(_) => code::OPERATION_UNSUPPORTED,
            StorageError::ArgUnsupported(_) => code::ARGUMENT_UNSUPPORTED,
            StorageError::NoSupport(_) => code::NO_SUPPORT,
            StorageError::VolExists(_) => code::STORAGE_VOL_EXIST,
            StorageError::Built(_) => code::STORAGE_POOL_BUILT,
            StorageError::ProbeFailed(_) => code::STORAGE_PROBE_FAILED,
            StorageError::Xml(e) => e.code(),
            StorageError::System(_) | StorageError::StreamIo(_) => code::SYSTEM_ERROR,
        }
    }

    fn domain(&self) -> i32 {
        match self {
            StorageError::Xml(e) => e.error_domain(domain::STORAGE),
            StorageError::StreamIo(_) => domain::STREAMS,
            _ => domain::STORAGE,
        }
    }

    /// A system error with the C library's text for `e`, like `virReportSystemError`.
    pub fn io(what: impl std::fmt::Display, e: &std::io::Error) -> StorageError {
        StorageError::System(format!("{what}: {}", strerror(e)))
    }

    /// Like [`StorageError::io`] for an `errno`.
    pub fn errno(what: impl std::fmt::Display, e: nix::errno::Errno) -> StorageError {
        StorageError::System(format!("{what}: {}", e.desc()))
    }
}

impl From<StorageError> for RemoteError {
    fn from(e: StorageError) -> RemoteError {
        RemoteError::reported(e.code(), e.domain(), e.to_string())
    }
}

pub use rvirt_plugin_api::sdk::strerror;

/// Result of every driver operation.
pub type SResult<T> = Result<T, StorageError>;

/// Refuses any flag outside `allowed`, like libvirt's flag check.
pub fn check_flags(flags: u32, allowed: u32, func: &'static str) -> SResult<()> {
    let extra = flags & !allowed;
    if extra != 0 {
        return Err(StorageError::Flags { flags: extra, func });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_texts() {
        let e: RemoteError = StorageError::NoPoolName("x".into()).into();
        assert_eq!((e.code, e.domain), (code::NO_STORAGE_POOL, domain::STORAGE));
        assert_eq!(
            e.text(),
            "Storage pool not found: no storage pool with matching name 'x'"
        );
        let e: RemoteError = check_flags(3, 1, "storagePoolBuild").unwrap_err().into();
        assert_eq!(
            e.text(),
            "unsupported flags (0x2) in function storagePoolBuild"
        );
        let io = std::io::Error::from_raw_os_error(39);
        let e: RemoteError = StorageError::io("failed to remove pool '/p'", &io).into();
        assert_eq!(
            (e.code, e.text()),
            (
                code::SYSTEM_ERROR,
                "failed to remove pool '/p': Directory not empty"
            )
        );
    }
}
