//! Errors of the Xen driver, numbered as libvirt's libxl driver and its configuration
//! file parser report them.

use rvirt_plugin_api::protocol::RemoteError;
use rvirt_plugin_api::sdk::{code, domain};

/// Everything a Xen driver call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum XenError {
    /// The host runs no Xen (or rvirt cannot drive it): every domain call.
    #[error("internal error: libxenlight state driver is not active")]
    NotActive,
    /// A URI path the driver does not serve.
    #[error("internal error: unexpected Xen URI path '{0}', try xen:///system")]
    BadPath(String),
    /// A native format other than xen-xl / xen-xm.
    #[error("invalid argument: unsupported config type {0}")]
    Format(String),
    /// xl.cfg text that does not parse (`VIR_ERR_CONF_SYNTAX`).
    #[error("configuration file syntax error: memory conf:{line}: {msg}")]
    Syntax { line: usize, msg: String },
    /// A key whose value has the wrong type or form.
    #[error("config value {0} was malformed")]
    Value(String),
    /// A device specification (disk, vif, pci, ...) that does not parse.
    #[error("invalid argument: {0}")]
    Spec(String),
    /// A domain XML document the conversion cannot express in xl.cfg.
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    #[error("unsupported flags ({0:#x}) in function {1}")]
    Flags(u32, &'static str),
    #[error(transparent)]
    Xml(#[from] rvirt_xml::XmlError),
}

impl XenError {
    fn code_domain(&self) -> (i32, i32) {
        match self {
            XenError::NotActive | XenError::BadPath(_) => (code::INTERNAL_ERROR, domain::LIBXL),
            XenError::Format(_) | XenError::Spec(_) | XenError::Flags(..) => {
                (code::INVALID_ARG, domain::LIBXL)
            }
            XenError::Syntax { .. } => (code::CONF_SYNTAX, domain::CONF),
            XenError::Value(_) => (code::CONF_SYNTAX, domain::CONF),
            XenError::Unsupported(_) => (code::CONFIG_UNSUPPORTED, domain::LIBXL),
            XenError::Xml(e) => (e.code(), e.error_domain(domain::DOMAIN)),
        }
    }
}

impl From<XenError> for RemoteError {
    fn from(e: XenError) -> RemoteError {
        let (c, d) = e.code_domain();
        RemoteError::reported(c, d, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_active_is_libvirts_libxl_error() {
        let e: RemoteError = XenError::NotActive.into();
        assert_eq!((e.code, e.domain), (code::INTERNAL_ERROR, domain::LIBXL));
        assert_eq!(
            e.text(),
            "internal error: libxenlight state driver is not active"
        );
        let e: RemoteError = XenError::Syntax {
            line: 3,
            msg: "expecting a value".into(),
        }
        .into();
        assert_eq!((e.code, e.domain), (code::CONF_SYNTAX, domain::CONF));
    }
}
