//! Storage pool (`<pool>`) and volume (`<volume>`) XML, with libvirt's checks and
//! wording. Sizes are bytes.

mod caps;
pub mod errs;
mod pool;
mod source;
mod volume;

pub use caps::pool_capabilities;
pub use pool::{
    list_flag, parse_source_spec, sources_to_xml, PoolType, StoragePoolDef, LIST_FLAG_ORDER,
};
pub use source::{Adapter, PciAddress, PoolDevice, PoolHost, PoolSource};
pub use volume::{BackingStore, StorageVolDef, Timestamp, Timestamps};

use crate::out::{Attrs, Out};
use crate::tree::Element;
use crate::units::unit_scale;
use crate::XmlError;

/// `<permissions>` of a pool or volume target (or a volume's backing store).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    /// `<mode>` (octal in XML).
    pub mode: Option<u32>,
    /// `<owner>` uid.
    pub owner: Option<u32>,
    /// `<group>` gid.
    pub group: Option<u32>,
    /// `<label>`.
    pub label: Option<String>,
}

/// An id as libvirt reads `<owner>`/`<group>`: an XPath number that fits a 32-bit id,
/// or -1 for "unset".
fn perm_id(e: &Element, name: &str) -> Result<Option<u32>, XmlError> {
    let Some(c) = e.child(name) else {
        return Ok(None);
    };
    let bad = || errs::xml(format!("malformed {name} element"));
    let v: f64 = xpath_number(&c.text).ok_or_else(bad)?;
    // An integral number that is an id, or -1 (also as the unsigned id 2^32 - 1).
    if v.fract() != 0.0 || !(-1.0..=u32::MAX as f64).contains(&v) {
        return Err(bad());
    }
    if v == -1.0 || v == u32::MAX as f64 {
        return Ok(None);
    }
    Ok(Some(v as u32))
}

/// XPath's `number()`: optional whitespace, an optional minus, digits with at most one
/// dot; anything else is NaN (`None`).
fn xpath_number(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let body = t.strip_prefix('-').unwrap_or(t);
    let ok = !body.is_empty()
        && body != "."
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|b| *b == b'.').count() <= 1;
    ok.then(|| t.parse().ok()).flatten()
}

impl Permissions {
    /// Reads `<permissions>` as libvirt does.
    pub fn parse(e: &Element) -> Result<Permissions, XmlError> {
        let mode = match e.child("mode").filter(|m| !m.text.is_empty()) {
            Some(m) => {
                let t = m.text.trim_start();
                let (neg, digits) = match t.strip_prefix('-') {
                    Some(d) => (true, d),
                    None => (false, t.strip_prefix('+').unwrap_or(t)),
                };
                match u32::from_str_radix(digits, 8) {
                    Ok(v) if !neg && v & !0o777 == 0 && !digits.starts_with('+') => Some(v),
                    _ => return Err(errs::xml("malformed octal mode")),
                }
            }
            None => None,
        };
        Ok(Permissions {
            mode,
            owner: perm_id(e, "owner")?,
            group: perm_id(e, "group")?,
            label: e.child_text_raw("label").filter(|l| !l.is_empty()),
        })
    }

    fn is_set(&self) -> bool {
        self.mode.is_some() || self.owner.is_some() || self.group.is_some() || self.label.is_some()
    }

    /// Writes `<permissions>` when anything is set.
    pub fn write(&self, out: &mut Out) {
        if !self.is_set() {
            return;
        }
        out.open("permissions", &Attrs::new());
        out.opt_text("mode", self.mode.map(|m| format!("0{m:o}")));
        // libvirt prints ids above 2^31 as negative numbers, which its parser then
        // refuses; they are written unsigned here so that a document reads back.
        out.opt_text("owner", self.owner);
        out.opt_text("group", self.group);
        out.opt_text("label", self.label.as_ref());
        out.close("permissions");
    }
}

/// C's `strtoull` on a whole string: optional leading whitespace and `+`, then decimal
/// digits to the end.
fn c_unsigned(text: &str) -> Option<u64> {
    let t = text.trim_start();
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Reads a size as libvirt's storage parser does: a decimal number (no sign other than
/// `+`, nothing after it) scaled by `unit` (bytes when absent or empty), at most
/// `i64::MAX` bytes.
pub fn storage_size(text: &str, unit: Option<&str>) -> Result<u64, XmlError> {
    let value = c_unsigned(text).ok_or_else(|| errs::xml("malformed capacity element"))?;
    scale(value, unit, i64::MAX as u64)
}

/// A size libvirt reads with its generic scaled-value helper (`<clusterSize>`): any
/// unsigned number, refused naming the element's `xpath` when it is not one.
pub fn scaled_value(text: &str, unit: Option<&str>, xpath: &str) -> Result<u64, XmlError> {
    let value = c_unsigned(text).ok_or_else(|| {
        errs::reported(
            errs::XML_ERROR,
            errs::FROM_XML,
            format!("Invalid value '{text}' for element or attribute '{xpath}'"),
        )
    })?;
    scale(value, unit, u64::MAX)
}

/// Scales `value` by `unit` (bytes when absent or empty) as libvirt does, refusing
/// more than `limit` bytes.
fn scale(value: u64, unit: Option<&str>, limit: u64) -> Result<u64, XmlError> {
    let unit = unit.unwrap_or("");
    let scale = if unit.is_empty() {
        1
    } else {
        unit_scale(unit).ok_or_else(|| {
            errs::reported(
                errs::INVALID_ARG,
                errs::FROM_NONE,
                format!("unknown suffix '{unit}'"),
            )
        })?
    };
    if value > limit / scale {
        return Err(errs::reported(
            errs::OVERFLOW,
            errs::FROM_NONE,
            format!("value too large: {value}{unit}"),
        ));
    }
    Ok(value * scale)
}

/// libvirt's path clean-up: runs of `/` squeezed (a leading `//` kept), no trailing `/`
/// except for the root.
pub fn sanitize_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    if path.starts_with("//") && !path.starts_with("///") {
        out.push_str("//");
        rest = &path[2..];
    }
    let mut prev_slash = false;
    for c in rest.chars() {
        if c == '/' && prev_slash {
            continue;
        }
        prev_slash = c == '/';
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// The text of `e`'s child `name` as libvirt's `string()` XPath reads it: `None` when
/// the child is missing or empty.
fn text_of(e: &Element, name: &str) -> Option<String> {
    e.child_text_raw(name).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::parse_document;

    #[test]
    fn sizes_like_libvirt() {
        assert_eq!(storage_size("+5", Some("")), Ok(5));
        assert_eq!(storage_size("2", Some("KiB")), Ok(2048));
        assert_eq!(storage_size("1", Some("kb")), Ok(1000));
        let msg = |r: Result<u64, XmlError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(storage_size("x", None)),
            "XML error: malformed capacity element"
        );
        assert_eq!(
            msg(storage_size(" 2 ", None)),
            "XML error: malformed capacity element"
        );
        assert_eq!(
            msg(storage_size("1", Some("parsec"))),
            "invalid argument: unknown suffix 'parsec'"
        );
        assert_eq!(
            msg(storage_size("9223372036854775808", None)),
            "numerical overflow: value too large: 9223372036854775808"
        );
        assert_eq!(
            msg(storage_size("100", Some("E"))),
            "numerical overflow: value too large: 100E"
        );
        assert_eq!(
            storage_size("9223372036854775807", None),
            Ok(i64::MAX as u64)
        );
    }

    #[test]
    fn paths_sanitized() {
        assert_eq!(sanitize_path("/d//"), "/d");
        assert_eq!(sanitize_path("/"), "/");
        assert_eq!(sanitize_path("//x//y/"), "//x/y");
        assert_eq!(sanitize_path("///x"), "/x");
        assert_eq!(sanitize_path("rel/"), "rel");
    }

    #[test]
    fn permissions_checked() {
        let p = |x: &str| Permissions::parse(&parse_document(x).unwrap());
        let ok =
            p("<permissions><mode>755</mode><owner>-1</owner><group> 7 </group></permissions>")
                .unwrap();
        assert_eq!((ok.mode, ok.owner, ok.group), (Some(0o755), None, Some(7)));
        let err = |x: &str| p(x).unwrap_err().to_string();
        assert_eq!(
            err("<permissions><mode>0999</mode></permissions>"),
            "XML error: malformed octal mode"
        );
        assert_eq!(
            err("<permissions><mode>-1</mode></permissions>"),
            "XML error: malformed octal mode"
        );
        assert_eq!(
            err("<permissions><owner>-5</owner></permissions>"),
            "XML error: malformed owner element"
        );
        assert_eq!(
            err("<permissions><group>x</group></permissions>"),
            "XML error: malformed group element"
        );
        let mut o = Out::new();
        Permissions::default().write(&mut o);
        assert_eq!(o.finish(), "");
    }
}

#[cfg(test)]
mod tests_xml;
