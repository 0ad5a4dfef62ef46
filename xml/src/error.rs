//! The crate-wide XML error type.

use thiserror::Error;

/// Error returned by every parser in this crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum XmlError {
    /// The document is not well-formed XML (`VIR_ERR_XML_DETAIL`). From
    /// [`crate::tree::parse_root`] it is located the way libvirt words it:
    /// `(domain_definition):LINE: message`, that line of the document, a caret.
    #[error("{0}")]
    Malformed(String),
    /// The document's root element is not the one its kind has (reported from libvirt's
    /// XML utilities, [`FROM_XML`]).
    #[error("XML error: expecting root element of '{expected}', not '{found}'")]
    WrongRoot {
        /// The root this kind of document has.
        expected: String,
        /// The root the document has.
        found: String,
    },
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
    /// An error worded, coded and placed exactly as libvirt reports it: `text` is the
    /// whole message (prefix included), `code` libvirt's error code and `domain` its error
    /// domain, or `None` for the object's own parser (see [`XmlError::error_domain`]).
    #[error("{text}")]
    Reported {
        /// libvirt's error code (`VIR_ERR_*`).
        code: i32,
        /// libvirt's error domain (`VIR_FROM_*`), `None` for the object's parser.
        domain: Option<i32>,
        /// The whole message.
        text: String,
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
/// libvirt's `VIR_ERR_CONFIG_UNSUPPORTED`.
pub const CONFIG_UNSUPPORTED: i32 = 67;
/// libvirt's `VIR_ERR_XML_INVALID_SCHEMA`.
pub const XML_INVALID_SCHEMA: i32 = 92;
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
            XmlError::IllegalChar { .. } | XmlError::Malformed(_) => XML_DETAIL,
            XmlError::InvalidSchema { .. } => XML_INVALID_SCHEMA,
            XmlError::Reported { code, .. } => *code,
            _ => XML_ERROR,
        }
    }

    /// libvirt's error domain for this error: schema failures, wrong roots and bad
    /// enumerated attribute values come from its XML utilities ([`FROM_XML`]),
    /// everything else from the object's own parser (`object`).
    pub fn error_domain(&self, object: i32) -> i32 {
        match self {
            XmlError::InvalidSchema { .. }
            | XmlError::WrongRoot { .. }
            | XmlError::BadAttribute { .. } => FROM_XML,
            XmlError::Reported {
                domain: Some(d), ..
            } => *d,
            _ => object,
        }
    }

    /// A `VIR_ERR_XML_ERROR` from the object's parser: `XML error: {msg}`.
    pub fn xml(msg: impl std::fmt::Display) -> XmlError {
        XmlError::reported(XML_ERROR, None, format!("XML error: {msg}"))
    }

    /// A `VIR_ERR_XML_DETAIL` from the object's parser (libvirt adds no prefix).
    pub fn detail(msg: impl std::fmt::Display) -> XmlError {
        XmlError::reported(XML_DETAIL, None, msg.to_string())
    }

    /// A `VIR_ERR_CONFIG_UNSUPPORTED` from the object's parser.
    pub fn unsupported(msg: impl std::fmt::Display) -> XmlError {
        XmlError::reported(
            CONFIG_UNSUPPORTED,
            None,
            format!("unsupported configuration: {msg}"),
        )
    }

    /// An error with libvirt's `code`, `domain` (`None`: the object's parser) and whole
    /// message `text`.
    pub fn reported(code: i32, domain: Option<i32>, text: impl Into<String>) -> XmlError {
        XmlError::Reported {
            code,
            domain,
            text: text.into(),
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
