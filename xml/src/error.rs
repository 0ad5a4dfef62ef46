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
}

impl XmlError {
    /// Shorthand for [`XmlError::InvalidValue`].
    pub fn invalid(element: impl Into<String>, value: impl Into<String>) -> XmlError {
        XmlError::InvalidValue {
            element: element.into(),
            value: value.into(),
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
}
