//! libvirt's error codes, domains and message prefixes for the refusals of its storage
//! and node device parsers, as [`XmlError::Reported`] values.

use crate::XmlError;

/// `VIR_ERR_INTERNAL_ERROR`.
pub const INTERNAL_ERROR: i32 = 1;
/// `VIR_ERR_NO_SUPPORT`.
pub const NO_SUPPORT: i32 = 3;
/// `VIR_ERR_INVALID_ARG`.
pub const INVALID_ARG: i32 = 8;
/// `VIR_ERR_NO_NAME`.
pub const NO_NAME: i32 = 21;
/// `VIR_ERR_XML_ERROR`.
pub const XML_ERROR: i32 = crate::error::XML_ERROR;
/// `VIR_ERR_CONFIG_UNSUPPORTED`.
pub const CONFIG_UNSUPPORTED: i32 = 67;
/// `VIR_ERR_OVERFLOW`.
pub const OVERFLOW: i32 = 82;

/// `VIR_FROM_NONE`: libvirt's utility functions.
pub const FROM_NONE: i32 = 0;
/// `VIR_FROM_XML`: libvirt's XML helpers.
pub const FROM_XML: i32 = crate::error::FROM_XML;
/// `VIR_FROM_STORAGE`.
pub const FROM_STORAGE: i32 = 18;
/// `VIR_FROM_NODEDEV`.
pub const FROM_NODEDEV: i32 = 22;

/// The text libvirt puts before a message of each code.
fn prefix(code: i32) -> &'static str {
    match code {
        INTERNAL_ERROR => "internal error: ",
        NO_SUPPORT => "this function is not supported by the connection driver: ",
        INVALID_ARG => "invalid argument: ",
        XML_ERROR => "XML error: ",
        CONFIG_UNSUPPORTED => "unsupported configuration: ",
        OVERFLOW => "numerical overflow: ",
        _ => "",
    }
}

/// A refusal with libvirt's `code` from `domain`, worded `msg` after the code's prefix.
pub fn reported(code: i32, domain: i32, msg: impl AsRef<str>) -> XmlError {
    XmlError::reported(
        code,
        Some(domain),
        format!("{}{}", prefix(code), msg.as_ref()),
    )
}

/// `VIR_ERR_XML_ERROR` from the storage parser.
pub fn xml(msg: impl AsRef<str>) -> XmlError {
    reported(XML_ERROR, FROM_STORAGE, msg)
}

/// `VIR_ERR_CONFIG_UNSUPPORTED` from the storage parser.
pub fn unsupported(msg: impl AsRef<str>) -> XmlError {
    reported(CONFIG_UNSUPPORTED, FROM_STORAGE, msg)
}

/// `VIR_ERR_INTERNAL_ERROR` from the node device parser.
pub fn nodedev(msg: impl AsRef<str>) -> XmlError {
    reported(INTERNAL_ERROR, FROM_NODEDEV, msg)
}

/// libvirt's wording for an attribute value outside its enumeration.
pub fn bad_attr(attr: &str, element: &str, value: &str) -> XmlError {
    reported(
        XML_ERROR,
        FROM_XML,
        format!("Invalid value for attribute '{attr}' in element '{element}': '{value}'."),
    )
}

/// libvirt's wording for a missing required attribute.
pub fn missing_attr(attr: &str, element: &str) -> XmlError {
    reported(
        XML_ERROR,
        FROM_XML,
        format!("Missing required attribute '{attr}' in element '{element}'"),
    )
}

/// Checks a WWN as libvirt does: 16 hex digits, optionally after `0x`.
pub fn check_wwn(wwn: &str) -> Result<(), XmlError> {
    let digits = wwn.strip_prefix("0x").unwrap_or(wwn);
    if digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(());
    }
    Err(reported(
        INTERNAL_ERROR,
        FROM_NONE,
        format!("Malformed wwn: {wwn}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_prefixes() {
        let e = unsupported("unknown pool format type x");
        assert_eq!((e.code(), e.error_domain(20)), (67, 18));
        assert_eq!(
            e.to_string(),
            "unsupported configuration: unknown pool format type x"
        );
        assert!(check_wwn("0x2000000012341234").is_ok());
        assert_eq!(
            check_wwn("zz").unwrap_err().to_string(),
            "internal error: Malformed wwn: zz"
        );
        assert_eq!(check_wwn("200000001234123").unwrap_err().code(), 1);
    }
}
