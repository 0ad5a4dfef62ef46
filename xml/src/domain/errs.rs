//! libvirt's refusals of domain documents, each with its code, error domain and
//! wording, built on [`XmlError::reported`].

use crate::XmlError;

/// libvirt's `VIR_ERR_INTERNAL_ERROR`.
const INTERNAL_ERROR: i32 = 1;
/// libvirt's `VIR_ERR_INVALID_ARG`.
const INVALID_ARG: i32 = 8;
/// libvirt's `VIR_FROM_NONE`: generic helpers report from no domain.
const FROM_NONE: i32 = 0;
/// libvirt's `VIR_FROM_CPU`.
pub const FROM_CPU: i32 = 31;

/// `VIR_ERR_CONFIG_UNSUPPORTED` from the domain parser.
pub fn unsupported(msg: String) -> XmlError {
    XmlError::unsupported(msg)
}

/// `VIR_ERR_CONFIG_UNSUPPORTED` from libvirt's CPU code.
pub fn cpu_unsupported(msg: String) -> XmlError {
    XmlError::reported(
        crate::error::CONFIG_UNSUPPORTED,
        Some(FROM_CPU),
        format!("unsupported configuration: {msg}"),
    )
}

/// `VIR_ERR_INTERNAL_ERROR` from the domain parser.
pub fn internal(msg: String) -> XmlError {
    XmlError::reported(INTERNAL_ERROR, None, format!("internal error: {msg}"))
}

/// `VIR_ERR_INVALID_ARG` from libvirt's generic helpers (unit suffixes, bitmaps).
pub fn invalid_arg(msg: String) -> XmlError {
    XmlError::reported(
        INVALID_ARG,
        Some(FROM_NONE),
        format!("invalid argument: {msg}"),
    )
}

/// `VIR_ERR_XML_ERROR` from the domain parser, in libvirt's words.
pub fn xml(msg: String) -> XmlError {
    XmlError::xml(msg)
}

/// `VIR_ERR_XML_ERROR` from libvirt's XML utilities (its generic attribute and
/// element readers, `VIR_FROM_XML`).
pub fn xml_util(msg: String) -> XmlError {
    XmlError::reported(
        crate::XML_ERROR,
        Some(crate::FROM_XML),
        format!("XML error: {msg}"),
    )
}

/// `VIR_ERR_XML_ERROR` from libvirt's CPU code.
pub fn cpu_xml(msg: String) -> XmlError {
    XmlError::reported(
        crate::XML_ERROR,
        Some(FROM_CPU),
        format!("XML error: {msg}"),
    )
}

/// `VIR_ERR_XML_DETAIL` from the domain parser (no prefix).
pub fn detail(msg: String) -> XmlError {
    XmlError::detail(msg)
}

/// An attribute the element needs is absent: libvirt's XML utilities' wording.
pub fn missing_attr(attr: String, element: String) -> XmlError {
    XmlError::reported(
        crate::XML_ERROR,
        Some(crate::FROM_XML),
        format!("XML error: Missing required attribute '{attr}' in element '{element}'"),
    )
}
