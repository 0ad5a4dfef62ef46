//! Attribute readers with libvirt's number rules (`strtoul`-style: leading blanks, no
//! trailing text) and the wording of its XML property helpers, whose errors come from
//! libvirt's XML utilities.

use crate::tree::Element;
use crate::{XmlError, FROM_XML, XML_ERROR};

/// An error of libvirt's XML property helpers (`VIR_FROM_XML`).
fn prop_error(text: String) -> XmlError {
    XmlError::reported(XML_ERROR, Some(FROM_XML), format!("XML error: {text}"))
}

/// `Invalid value for attribute ...: 'v'.` with an optional explanation.
pub fn invalid(e: &Element, attr: &str, v: &str, why: &str) -> XmlError {
    let tail = if why.is_empty() {
        format!("'{v}'.")
    } else {
        format!("'{v}'. {why}")
    };
    prop_error(format!(
        "Invalid value for attribute '{attr}' in element '{}': {tail}",
        e.name
    ))
}

/// `Missing required attribute ...`.
pub fn missing(e: &Element, attr: &str) -> XmlError {
    prop_error(format!(
        "Missing required attribute '{attr}' in element '{}'",
        e.name
    ))
}

/// Digits of `s` in `radix` after `strtoul`'s leading blanks and optional sign; the sign
/// is returned as `true` for `-`. `radix` 0 picks 8, 10 or 16 from the prefix.
fn strtoul(s: &str, radix: u32) -> Option<(bool, u64)> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (t, radix) = match radix {
        0 => match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(h) => (h, 16),
            None if t.len() > 1 && t.starts_with('0') => (&t[1..], 8),
            None => (t, 10),
        },
        r => (t, r),
    };
    if t.is_empty() || !t.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(t, radix).ok().map(|v| (neg, v))
}

/// libvirt's `virStrToLong_ui`: a 32-bit unsigned number, a negative one wrapping.
pub fn to_u32(s: &str, radix: u32) -> Option<u32> {
    match strtoul(s, radix)? {
        (false, v) => u32::try_from(v).ok(),
        (true, v) => u32::try_from(v).ok().map(|v| 0u32.wrapping_sub(v)),
    }
}

/// libvirt's `virStrToLong_ullp`/`_ulp`: an unsigned number, negative ones refused.
pub fn to_u64_positive(s: &str) -> Option<u64> {
    match strtoul(s, 10)? {
        (false, v) => Some(v),
        (true, 0) => Some(0),
        (true, _) => None,
    }
}

/// A decimal unsigned 32-bit attribute (`virXMLPropUInt`).
pub fn uint(e: &Element, attr: &str) -> Result<Option<u32>, XmlError> {
    uint_radix(e, attr, 10)
}

/// An unsigned 32-bit attribute in `radix` (0: by its prefix), negative ones refused.
pub fn uint_radix(e: &Element, attr: &str, radix: u32) -> Result<Option<u32>, XmlError> {
    let Some(v) = e.attr(attr) else {
        return Ok(None);
    };
    match strtoul(v, radix) {
        Some((false, n)) => u32::try_from(n)
            .map(Some)
            .map_err(|_| invalid(e, attr, v, "Expected non-negative integer value")),
        _ => Err(invalid(e, attr, v, "Expected non-negative integer value")),
    }
}

/// Like [`uint`], zero refused too.
pub fn uint_nonzero(e: &Element, attr: &str) -> Result<Option<u32>, XmlError> {
    match uint(e, attr)? {
        Some(0) => Err(prop_error(format!(
            "Invalid value for attribute '{attr}' in element '{}': Zero is not permitted",
            e.name
        ))),
        v => Ok(v),
    }
}

/// A decimal unsigned 64-bit attribute (`virXMLPropULongLong`).
pub fn ulonglong(e: &Element, attr: &str) -> Result<Option<u64>, XmlError> {
    let Some(v) = e.attr(attr) else {
        return Ok(None);
    };
    match strtoul(v, 10) {
        Some((false, n)) => Ok(Some(n)),
        _ => Err(invalid(e, attr, v, "Expected non-negative integer value")),
    }
}

/// A `yes`/`no` attribute (`virXMLPropTristateBool`).
pub fn yes_no(e: &Element, attr: &str) -> Result<Option<bool>, XmlError> {
    match e.attr(attr) {
        None => Ok(None),
        Some("yes") => Ok(Some(true)),
        Some("no") => Ok(Some(false)),
        Some(v) => Err(invalid(e, attr, v, "")),
    }
}

/// One of `words`, the first of which (libvirt's "default") is refused (`virXMLPropEnum`
/// with a non-zero value required).
pub fn word<'a>(e: &Element, attr: &str, words: &[&'a str]) -> Result<Option<&'a str>, XmlError> {
    match e.attr(attr) {
        None => Ok(None),
        Some(v) => words
            .iter()
            .find(|w| **w == v)
            .map(|w| Some(*w))
            .ok_or_else(|| invalid(e, attr, v, "")),
    }
}

/// The formatted `yes`/`no`.
pub fn yn(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_rules() {
        assert_eq!(to_u32(" 9", 10), Some(9));
        assert_eq!(to_u32("-1", 10), Some(u32::MAX));
        assert_eq!(to_u32("9 ", 10), None);
        assert_eq!(to_u32("99999999999", 10), None);
        assert_eq!(to_u32("0x10", 0), Some(16));
        assert_eq!(to_u32("010", 0), Some(8));
        assert_eq!(to_u64_positive("-1"), None);
        assert_eq!(to_u64_positive(" 5000000000"), Some(5_000_000_000));
    }
}
