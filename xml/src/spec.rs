//! Declarative descriptions of "simple" elements: a name, attributes with their value
//! types in libvirt's output order, child elements in libvirt's output order, and
//! whether text is kept. One generic parser checks a document element against its
//! description (libvirt's wording for bad values), drops what the description does not
//! name (libvirt's lenient parse) and returns the element in canonical form; the generic
//! writer ([`Element::write`]) then formats it exactly. Covering a new simple element is
//! a new table entry, not a parser and a formatter.

use crate::tree::Element;
use crate::XmlError;

/// What an attribute's value may be.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    /// Any text.
    Text,
    /// One of a fixed set of words (libvirt's enum attributes).
    Enum(&'static [&'static str]),
    /// `yes` or `no`.
    YesNo,
    /// `on` or `off`.
    OnOff,
    /// An unsigned decimal number.
    Unsigned,
    /// A signed decimal number.
    Int,
    /// An amount scaled by the element's `unit` attribute (KiB when absent), written
    /// normalised to KiB (rounded up), as libvirt writes memory sizes.
    Kib,
    /// The `unit` attribute of an element holding [`Value::Kib`] amounts: checked as a
    /// unit suffix and written as `KiB`, whether or not the document gave it.
    Unit,
    /// A CPU or node list (`0-3,^2`), written in libvirt's canonical form (`0-1,3`);
    /// one that does not read as a list is refused with libvirt's wording.
    Bitmap,
}

/// The members of `list` (`0-3,^2,7`: 0, 1, 3, 7), exclusions applied, in order. `None`
/// when it is not a list.
pub fn bitmap_members(list: &str) -> Option<std::collections::BTreeSet<u32>> {
    let mut set = std::collections::BTreeSet::new();
    let mut exclude = Vec::new();
    for part in list.split(',').map(str::trim) {
        let (neg, part) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (lo, hi): (u32, u32) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
        if lo > hi || hi - lo > 1 << 16 {
            return None;
        }
        if neg {
            exclude.push((lo, hi));
        } else {
            set.extend(lo..=hi);
        }
    }
    set.retain(|n| !exclude.iter().any(|(lo, hi)| (lo..=hi).contains(&n)));
    Some(set)
}

/// `list` (`0-3,^2,7`) in libvirt's canonical form (`0-1,3,7`): sorted ranges with
/// exclusions applied. `None` when it is not a list.
pub fn canonical_bitmap(list: &str) -> Option<String> {
    let set = bitmap_members(list)?;
    let mut out = String::new();
    let mut it = set.into_iter().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end = it.next().unwrap_or(end);
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&start.to_string());
        if end > start {
            out.push('-');
            out.push_str(&end.to_string());
        }
    }
    Some(out)
}

/// One attribute of a described element.
#[derive(Debug, Clone, Copy)]
pub struct AttrSpec {
    /// Its name.
    pub name: &'static str,
    /// Its value type.
    pub value: Value,
}

/// One described element.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Its name.
    pub name: &'static str,
    /// Attributes, in libvirt's output order.
    pub attrs: &'static [AttrSpec],
    /// Child elements, in libvirt's output order (any may repeat).
    pub children: &'static [Spec],
    /// The text content, when the element has any, and its type.
    pub text: Option<Value>,
}

/// Shorthand for an attribute description.
pub const fn attr(name: &'static str, value: Value) -> AttrSpec {
    AttrSpec { name, value }
}

/// Shorthand for an element with attributes only.
pub const fn leaf(name: &'static str, attrs: &'static [AttrSpec]) -> Spec {
    Spec {
        name,
        attrs,
        children: &[],
        text: None,
    }
}

/// Shorthand for an element with children only.
pub const fn node(name: &'static str, children: &'static [Spec]) -> Spec {
    Spec {
        name,
        attrs: &[],
        children,
        text: None,
    }
}

/// Shorthand for an element holding text of type `value`.
pub const fn text(name: &'static str, value: Value) -> Spec {
    Spec {
        name,
        attrs: &[],
        children: &[],
        text: Some(value),
    }
}

fn check(value: Value, v: &str) -> bool {
    match value {
        Value::Text => true,
        Value::Enum(words) => words.contains(&v),
        Value::YesNo => matches!(v, "yes" | "no"),
        Value::OnOff => matches!(v, "on" | "off"),
        Value::Unsigned => !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
        Value::Int => v.parse::<i64>().is_ok(),
        Value::Kib | Value::Unit | Value::Bitmap => true,
    }
}

/// `v` in the unit `e` names (KiB when it names none), in KiB: libvirt's wording for an
/// unknown unit, and its generic XML wording for a value that is not a number.
fn kib(e: &Element, v: &str, what: &str) -> Result<u64, XmlError> {
    let unit = e.attr("unit").unwrap_or("KiB");
    let scale = crate::units::unit_scale(unit)
        .ok_or_else(|| crate::domain::errs::invalid_arg(format!("unknown suffix '{unit}'")))?;
    let bad = || XmlError::invalid(what, v);
    let n: u64 = v.trim().parse().map_err(|_| bad())?;
    Ok(n.checked_mul(scale).ok_or_else(bad)?.div_ceil(1024))
}

impl Spec {
    /// Whether `e` holds an amount this description scales by its `unit`.
    fn scales(&self, e: &Element) -> bool {
        let attr = self
            .attrs
            .iter()
            .any(|a| matches!(a.value, Value::Kib) && e.attr(a.name).is_some());
        attr || (matches!(self.text, Some(Value::Kib)) && !e.text.trim().is_empty())
    }

    fn parse_attr(
        &self,
        a: &AttrSpec,
        e: &Element,
        path: &str,
    ) -> Result<Option<String>, XmlError> {
        if let Value::Unit = a.value {
            return Ok(self.scales(e).then(|| "KiB".to_string()));
        }
        let Some(v) = e.attr(a.name) else {
            return Ok(None);
        };
        if let Value::Kib = a.value {
            return kib(e, v, &format!("{path}/@{}", a.name)).map(|n| Some(n.to_string()));
        }
        if let Value::Bitmap = a.value {
            return canonical_bitmap(v).map(Some).ok_or_else(|| {
                crate::domain::errs::invalid_arg(format!("Failed to parse bitmap '{v}'"))
            });
        }
        if !check(a.value, v) {
            return Err(XmlError::BadAttribute {
                attr: a.name.to_string(),
                element: self.name.to_string(),
                value: v.to_string(),
            });
        }
        Ok(Some(v.to_string()))
    }
}

impl Spec {
    /// Checks `e` against this description and returns it in canonical form: known
    /// attributes and children only, each in libvirt's order. `path` names `e` in errors.
    pub fn parse(&self, e: &Element, path: &str) -> Result<Element, XmlError> {
        let mut out = Element {
            name: self.name.to_string(),
            ..Element::default()
        };
        for a in self.attrs {
            if let Some(v) = self.parse_attr(a, e, path)? {
                out.attrs.push((a.name.to_string(), v));
            }
        }
        for c in self.children {
            for x in e.children_named(c.name) {
                out.children
                    .push(c.parse(x, &format!("{path}/{}", c.name))?);
            }
        }
        if let Some(t) = self.text {
            let v = e.text.trim();
            out.text = match t {
                Value::Kib if !v.is_empty() => kib(e, v, path)?.to_string(),
                _ if !check(t, v) => return Err(XmlError::invalid(path, v)),
                _ => v.to_string(),
            };
        }
        Ok(out)
    }

    /// Parses the first child of `parent` this describes, if there is one.
    pub fn parse_child(&self, parent: &Element, path: &str) -> Result<Option<Element>, XmlError> {
        parent
            .child(self.name)
            .map(|c| self.parse(c, &format!("{path}/{}", self.name)))
            .transpose()
    }
}

/// An XML `NCName` (ASCII approximation): a letter or `_`, then letters, digits, `. - _`.
pub fn is_ncname(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_alphabetic() || f == '_')
        && c.all(|x| x.is_alphanumeric() || matches!(x, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::out::Out;
    use crate::tree::parse_document;

    const STATE: &[AttrSpec] = &[attr("enabled", Value::YesNo)];
    const PM: Spec = node(
        "pm",
        &[
            leaf("suspend-to-mem", STATE),
            leaf("suspend-to-disk", STATE),
        ],
    );

    #[test]
    fn canonical_order_and_unknowns_dropped() {
        let e = parse_document(
            "<pm x='1'><suspend-to-disk enabled='no' y='2'/><frob/><suspend-to-mem enabled='yes'/></pm>",
        )
        .unwrap();
        let mut o = Out::new();
        PM.parse(&e, "domain/pm").unwrap().write(&mut o);
        assert_eq!(
            o.finish(),
            "<pm>\n  <suspend-to-mem enabled='yes'/>\n  <suspend-to-disk enabled='no'/>\n</pm>\n"
        );
    }

    #[test]
    fn amounts_normalised_to_kib() {
        const LIMIT: Spec = Spec {
            name: "hard_limit",
            attrs: &[attr("unit", Value::Unit)],
            children: &[],
            text: Some(Value::Kib),
        };
        let e = parse_document("<hard_limit unit='MiB'>2</hard_limit>").unwrap();
        let mut o = Out::new();
        LIMIT.parse(&e, "memtune/hard_limit").unwrap().write(&mut o);
        assert_eq!(o.finish(), "<hard_limit unit='KiB'>2048</hard_limit>\n");
        let e = parse_document("<hard_limit unit='furlong'>2</hard_limit>").unwrap();
        let err = LIMIT.parse(&e, "memtune/hard_limit").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid argument: unknown suffix 'furlong'"
        );
    }

    #[test]
    fn bitmaps_canonical() {
        assert_eq!(canonical_bitmap("0-3,^2").as_deref(), Some("0-1,3"));
        assert_eq!(canonical_bitmap("5,1,2,3").as_deref(), Some("1-3,5"));
        assert_eq!(canonical_bitmap("x"), None);
    }

    #[test]
    fn bad_values_worded_like_libvirt() {
        let e = parse_document("<pm><suspend-to-mem enabled='maybe'/></pm>").unwrap();
        assert_eq!(
            PM.parse(&e, "domain/pm").unwrap_err().to_string(),
            "XML error: Invalid value for attribute 'enabled' in element 'suspend-to-mem': 'maybe'."
        );
    }
}
