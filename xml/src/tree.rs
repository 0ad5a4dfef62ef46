//! A minimal element tree built with quick-xml, plus lookup helpers used by
//! the typed parsers.

use std::str::FromStr;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::out::{Attrs, Out};
use crate::XmlError;

/// One XML element: name, attributes in document order, element children and
/// the concatenation of its direct text content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Qualified name as written (`test:runstate`).
    pub name: String,
    /// Attributes in document order, values unescaped.
    pub attrs: Vec<(String, String)>,
    /// Element children in order.
    pub children: Vec<Element>,
    /// Direct text content (text and CDATA), unescaped, untrimmed.
    pub text: String,
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn start_element(s: &BytesStart<'_>) -> Result<Element, XmlError> {
    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(malformed)?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a.unescape_value().map_err(malformed)?.into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

/// Parses a whole document and returns its root element.
pub fn parse_document(xml: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let ev = reader.read_event().map_err(malformed)?;
        match ev {
            Event::Start(s) => stack.push(start_element(&s)?),
            Event::Empty(s) => attach(&mut stack, &mut root, start_element(&s)?)?,
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                attach(&mut stack, &mut root, done)?;
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(malformed)?;
                add_text(&mut stack, &text)?;
            }
            Event::CData(c) => {
                let text = String::from_utf8_lossy(&c.into_inner()).into_owned();
                add_text(&mut stack, &text)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(malformed(format!("element <{}> is not closed", open.name)));
    }
    root.ok_or_else(|| malformed("no root element"))
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, e: Element) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(e),
        None if root.is_none() => *root = Some(e),
        None => return Err(malformed("extra content after the root element")),
    }
    Ok(())
}

fn add_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(e) => e.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(malformed("text outside the root element")),
    }
    Ok(())
}

/// Parses a document whose root must be `<root>`.
pub fn parse_root(xml: &str, root: &str) -> Result<Element, XmlError> {
    let e = parse_document(xml)?;
    if e.name != root {
        return Err(XmlError::Unexpected(format!(
            "{} (expected <{root}> as root)",
            e.name
        )));
    }
    Ok(e)
}

/// Parses a trimmed number, reporting `path` on failure.
pub fn num<T: FromStr>(path: &str, s: &str) -> Result<T, XmlError> {
    s.trim().parse().map_err(|_| XmlError::invalid(path, s))
}

/// Parses an unsigned number given in decimal or `0x` hexadecimal.
pub fn num_auto(path: &str, s: &str) -> Result<u64, XmlError> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse(),
    };
    r.map_err(|_| XmlError::invalid(path, s))
}

/// Parses `yes`/`no` (and `on`/`off`) flags.
pub fn yes_no(path: &str, s: &str) -> Result<bool, XmlError> {
    match s.trim() {
        "yes" | "on" => Ok(true),
        "no" | "off" => Ok(false),
        _ => Err(XmlError::invalid(path, s)),
    }
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The attribute as an owned string.
    pub fn attr_s(&self, name: &str) -> Option<String> {
        self.attr(name).map(str::to_string)
    }

    /// The attribute parsed as a number; `path` names the element.
    pub fn attr_num<T: FromStr>(&self, path: &str, name: &str) -> Result<Option<T>, XmlError> {
        self.attr(name)
            .map(|v| num(&format!("{path}/@{name}"), v))
            .transpose()
    }

    /// First child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children called `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child called `name` or `MissingElement(path/name)`.
    pub fn req_child(&self, path: &str, name: &str) -> Result<&Element, XmlError> {
        self.child(name)
            .ok_or_else(|| XmlError::MissingElement(format!("{path}/{name}")))
    }

    /// The text of child `name`, trimmed, if that child exists.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_string())
    }

    /// The text of child `name` as given, untrimmed.
    pub fn child_text_raw(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.clone())
    }

    /// Refuses any child element not listed in `allowed`.
    pub fn only_children(&self, path: &str, allowed: &[&str]) -> Result<(), XmlError> {
        match self
            .children
            .iter()
            .find(|c| !allowed.contains(&c.name.as_str()))
        {
            Some(c) => Err(XmlError::Unexpected(format!("{path}/{}", c.name))),
            None => Ok(()),
        }
    }

    /// Writes this element and its subtree generically (used for preserved
    /// content such as `<metadata>`).
    pub fn write(&self, out: &mut Out) {
        let mut attrs = Attrs::new();
        for (k, v) in &self.attrs {
            attrs = attrs.add(k, v);
        }
        let text = self.text.trim();
        if self.children.is_empty() {
            if text.is_empty() {
                out.empty(&self.name, &attrs);
            } else {
                out.text(&self.name, &attrs, text);
            }
            return;
        }
        out.open(&self.name, &attrs);
        for c in &self.children {
            c.write(out);
        }
        out.close(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tree() {
        let e = parse_document(
            "<?xml version='1.0'?><a x=\"1&amp;2\"><!-- c --><b>t<![CDATA[<x>]]></b><c/></a>",
        )
        .unwrap();
        assert_eq!(e.name, "a");
        assert_eq!(e.attr("x"), Some("1&2"));
        assert_eq!(e.child("b").unwrap().text, "t<x>");
        assert!(e.child("c").is_some());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "<a>",
            "<a></b>",
            "",
            "<a/><b/>",
            "junk<a/>",
            "<a x='1' x='2'/>",
        ] {
            assert!(
                matches!(parse_document(bad), Err(XmlError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn wrong_root() {
        assert!(matches!(
            parse_root("<b/>", "a"),
            Err(XmlError::Unexpected(_))
        ));
    }

    #[test]
    fn numbers() {
        assert_eq!(num_auto("x", "0x1f").unwrap(), 31);
        assert_eq!(num_auto("x", "12").unwrap(), 12);
        assert!(num::<u32>("x", "-1").is_err());
    }

    #[test]
    fn generic_write() {
        let e = parse_document("<m><app:x xmlns:app='u' a='1'>v</app:x><y/></m>").unwrap();
        let mut o = Out::new();
        e.write(&mut o);
        assert_eq!(
            o.finish(),
            "<m>\n  <app:x xmlns:app='u' a='1'>v</app:x>\n  <y/>\n</m>\n"
        );
    }
}
