//! The crate-wide XML error type.

use thiserror::Error;

/// Error returned by every parser in this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum XmlError {
    /// The document is not well-formed XML.
    #[error("XML error: the document is not well formed: {0}")]
    Malformed(String),
    /// A required element is missing; the payload names its path.
    #[error("XML error: missing required element <{0}>")]
    MissingElement(String),
    /// An element or attribute holds a value we cannot accept.
    #[error("XML error: invalid value '{value}' for {element}")]
    InvalidValue {
        /// Path of the element (and attribute, as `elem/@attr`).
        element: String,
        /// The offending value.
        value: String,
    },
    /// Wrong root element or an element we do not support; names it.
    #[error("XML error: unexpected or unsupported element <{0}>")]
    Unexpected(String),
    /// The document is longer than the parser accepts.
    #[error("XML error: the document is {size} bytes long, more than the limit of {max} bytes")]
    TooLarge {
        /// Length of the document in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Elements nest deeper than the parser accepts.
    #[error("XML error: elements nest more than {max} levels below the root element")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// One element carries more attributes than the parser accepts.
    #[error("XML error: element <{element}> has more than {max} attributes")]
    TooManyAttributes {
        /// Name of the element.
        element: String,
        /// The limit.
        max: usize,
    },
    /// An object name holds a '/' (libvirt's domain and pool parsers).
    #[error("XML error: name {0} cannot contain '/'")]
    NameSlash(String),
    /// A value holds a character libvirt refuses there (`VIR_ERR_XML_DETAIL`, no prefix).
    #[error("invalid char in {node}: {ch}")]
    IllegalChar {
        /// What holds the character (`name`).
        node: &'static str,
        /// The first refused character.
        ch: char,
    },
    /// The domain has no memory: `<memory>` is missing or zero.
    #[error(
        "XML error: Memory size must be specified via <memory> or in the <numa> configuration"
    )]
    NoMemory,
    /// `<vcpu>` is not an unsigned 32-bit number.
    #[error("XML error: maximum vcpus count must be an integer")]
    VcpuNotInteger,
    /// An attribute of a declaratively described element has a value outside its type
    /// (libvirt's wording for enumerated attributes).
    #[error("XML error: Invalid value for attribute '{attr}' in element '{element}': '{value}'.")]
    BadAttribute {
        /// The attribute.
        attr: String,
        /// The element holding it.
        element: String,
        /// The refused value.
        value: String,
    },
    /// The caller asked for validation and the document is outside libvirt's schema
    /// (`VIR_ERR_XML_INVALID_SCHEMA`, from libvirt's XML utilities).
    #[error("XML document failed to validate against schema: Unable to validate doc against {schema}\n{detail}\n")]
    InvalidSchema {
        /// The schema file, as libvirt names it.
        schema: String,
        /// What is outside it, naming the element.
        detail: String,
    },
    /// A refusal libvirt reports as `VIR_ERR_XML_DETAIL`, in its words (no prefix).
    #[error("{0}")]
    Detail(String),
    /// Any other refusal libvirt's parsers report as `VIR_ERR_XML_ERROR`, in its words.
    #[error("XML error: {0}")]
    Message(String),
    /// A value libvirt parses but refuses as a configuration
    /// (`VIR_ERR_CONFIG_UNSUPPORTED`, reported by the object's own parser).
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    /// Like [`XmlError::Unsupported`], reported by libvirt's CPU code (`VIR_FROM_CPU`).
    #[error("unsupported configuration: {0}")]
    CpuUnsupported(String),
    /// A check libvirt reports as an internal error (`VIR_ERR_INTERNAL_ERROR`).
    #[error("internal error: {0}")]
    Internal(String),
    /// A value libvirt's generic helpers refuse (`VIR_ERR_INVALID_ARG`, no error
    /// domain), such as an unknown unit suffix.
    #[error("invalid argument: {0}")]
    InvalidArg(String),
    /// An attribute the element needs is absent (libvirt's wording).
    #[error("XML error: Missing required attribute '{attr}' in element '{element}'")]
    MissingAttribute {
        /// The attribute.
        attr: String,
        /// The element that lacks it.
        element: String,
    },
    /// `<vcpu>` is above the most any hypervisor supports.
    #[error("XML error: maximum vcpus count must not be greater than {max}")]
    TooManyVcpus {
        /// The limit.
        max: u32,
    },
}

/// libvirt's `VIR_ERR_XML_ERROR`.
pub const XML_ERROR: i32 = 27;
/// libvirt's `VIR_ERR_XML_DETAIL`.
pub const XML_DETAIL: i32 = 35;
/// libvirt's `VIR_ERR_XML_INVALID_SCHEMA`.
pub const XML_INVALID_SCHEMA: i32 = 92;
/// libvirt's `VIR_ERR_INTERNAL_ERROR`.
pub const INTERNAL_ERROR: i32 = 1;
/// libvirt's `VIR_ERR_INVALID_ARG`.
pub const INVALID_ARG: i32 = 8;
/// libvirt's `VIR_ERR_CONFIG_UNSUPPORTED`.
pub const CONFIG_UNSUPPORTED: i32 = 67;
/// libvirt's `VIR_FROM_CPU` error domain.
pub const FROM_CPU: i32 = 31;
/// libvirt's `VIR_FROM_XML` error domain ("XML Util"), where schema errors come from.
pub const FROM_XML: i32 = 5;

impl XmlError {
    /// Shorthand for [`XmlError::InvalidValue`].
    pub fn invalid(element: impl Into<String>, value: impl Into<String>) -> XmlError {
        XmlError::InvalidValue {
            element: element.into(),
            value: value.into(),
        }
    }

    /// libvirt's error code for this error: `VIR_ERR_XML_DETAIL` for the checks libvirt
    /// reports that way, `VIR_ERR_XML_ERROR` otherwise.
    pub fn code(&self) -> i32 {
        match self {
            // libvirt reports libxml2's parse errors as details.
            XmlError::IllegalChar { .. } | XmlError::Malformed(_) | XmlError::Detail(_) => {
                XML_DETAIL
            }
            XmlError::InvalidSchema { .. } => XML_INVALID_SCHEMA,
            XmlError::Unsupported(_) | XmlError::CpuUnsupported(_) => CONFIG_UNSUPPORTED,
            XmlError::Internal(_) => INTERNAL_ERROR,
            XmlError::InvalidArg(_) => INVALID_ARG,
            _ => XML_ERROR,
        }
    }

    /// libvirt's error domain for this error: schema failures come from its XML
    /// utilities ([`FROM_XML`]), everything else from the object's own parser (`object`).
    pub fn error_domain(&self, object: i32) -> i32 {
        match self {
            // libvirt's generic attribute readers report from its XML utilities.
            XmlError::InvalidSchema { .. }
            | XmlError::BadAttribute { .. }
            | XmlError::MissingAttribute { .. } => FROM_XML,
            XmlError::CpuUnsupported(_) => FROM_CPU,
            XmlError::InvalidArg(_) => 0,
            _ => object,
        }
    }

    /// Refuses a name holding any of `illegal`, as libvirt's illegal-character check does.
    pub fn check_illegal_chars(
        node: &'static str,
        value: &str,
        illegal: &[char],
    ) -> Result<(), XmlError> {
        match value.chars().find(|c| illegal.contains(c)) {
            Some(ch) => Err(XmlError::IllegalChar { node, ch }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sentences() {
        let e = XmlError::MissingElement("domain/name".into());
        assert_eq!(
            e.to_string(),
            "XML error: missing required element <domain/name>"
        );
        let e = XmlError::invalid("memory/@unit", "parsecs");
        assert!(e.to_string().contains("'parsecs'"));
    }

    #[test]
    fn libvirt_texts_and_codes() {
        let e = XmlError::NameSlash("../../etc/evil".into());
        assert_eq!(
            e.to_string(),
            "XML error: name ../../etc/evil cannot contain '/'"
        );
        assert_eq!(e.code(), XML_ERROR);
        let e = XmlError::check_illegal_chars("name", "a\nb", &['\n']).unwrap_err();
        assert_eq!(e.to_string(), "invalid char in name: \n");
        assert_eq!(e.code(), XML_DETAIL);
        assert!(XmlError::check_illegal_chars("name", "a\tb", &['\n']).is_ok());
        assert_eq!(
            XmlError::NoMemory.to_string(),
            "XML error: Memory size must be specified via <memory> or in the <numa> configuration"
        );
    }
}
