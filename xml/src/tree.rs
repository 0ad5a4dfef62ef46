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

/// Largest document accepted, in bytes. virsh refuses XML files above 10 MiB and the
/// wire carries at most 4 MiB per string, so nothing legitimate comes near it.
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// Deepest nesting below the root element. libxml2, and so libvirt, refuses a document
/// whose elements nest more than 256 levels below the root.
pub const MAX_DEPTH: usize = 256;

/// Most attributes on one element. libvirt's own parser takes minutes (quadratic in
/// libxml2) on tens of thousands of attributes on one element, and no schema element has
/// more than a couple of dozen, so an element with more is refused outright. Documents
/// with many attributes spread over many elements are parsed in linear time.
pub const MAX_ATTRIBUTES: usize = 1000;

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

/// Whether `c` may appear in an XML 1.0 document (the `Char` production; Rust strings
/// cannot hold surrogates).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Refuses characters XML does not allow (NUL and other controls), raw or as references.
fn check_chars(s: &str) -> Result<(), XmlError> {
    match s.chars().find(|c| !xml_char(*c)) {
        Some(c) => Err(malformed(format!(
            "character U+{:04X} is not allowed in XML",
            c as u32
        ))),
        None => Ok(()),
    }
}

/// Checks unescaped text: only text that contained references needs a second look, as the
/// raw document was checked as a whole.
fn checked(text: std::borrow::Cow<'_, str>) -> Result<String, XmlError> {
    if let std::borrow::Cow::Owned(s) = &text {
        check_chars(s)?;
    }
    Ok(text.into_owned())
}

fn start_element(s: &BytesStart<'_>) -> Result<Element, XmlError> {
    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    // quick-xml takes `<>` as an element with an empty name; XML has no such thing, and
    // formatting one back (`</>`) would give a document that no longer parses.
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') {
        return Err(XmlError::Malformed(format!(
            "'<{name}' does not start an element name"
        )));
    }
    let mut attrs = Vec::new();
    // quick-xml's own duplicate check compares every key with every earlier one; ours
    // sorts the keys once instead.
    let mut iter = s.attributes();
    iter.with_checks(false);
    for a in iter {
        if attrs.len() == MAX_ATTRIBUTES {
            return Err(XmlError::TooManyAttributes {
                element: name,
                max: MAX_ATTRIBUTES,
            });
        }
        let a = a.map_err(malformed)?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = checked(a.unescape_value().map_err(malformed)?)?;
        attrs.push((key, value));
    }
    check_duplicates(&name, &attrs)?;
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

fn check_duplicates(element: &str, attrs: &[(String, String)]) -> Result<(), XmlError> {
    if attrs.len() < 2 {
        return Ok(());
    }
    let mut keys: Vec<&str> = attrs.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0] == w[1]) {
        Some(w) => Err(malformed(format!(
            "attribute {} is repeated in element <{element}>",
            w[0]
        ))),
        None => Ok(()),
    }
}

/// A new element below the open ones in `stack`, refused past [`MAX_DEPTH`].
fn nested(stack: &[Element], s: &BytesStart<'_>) -> Result<Element, XmlError> {
    if stack.len() > MAX_DEPTH {
        return Err(XmlError::TooDeep { max: MAX_DEPTH });
    }
    start_element(s)
}

/// Parses a whole document and returns its root element, in time linear in its size.
pub fn parse_document(xml: &str) -> Result<Element, XmlError> {
    let mut at = 0;
    parse_tracking(xml, &mut at).map_err(|e| match e {
        XmlError::Malformed(m) => {
            XmlError::Malformed(format!("XML error: the document is not well formed: {m}"))
        }
        other => other,
    })
}

/// [`parse_document`], leaving in `at` how far the reader got (where an error is).
fn parse_tracking(xml: &str, at: &mut usize) -> Result<Element, XmlError> {
    if xml.len() > MAX_DOCUMENT_BYTES {
        return Err(XmlError::TooLarge {
            size: xml.len(),
            max: MAX_DOCUMENT_BYTES,
        });
    }
    if let Some((i, _)) = xml.char_indices().find(|(_, c)| !xml_char(*c)) {
        *at = i;
    }
    check_chars(xml)?;
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let ev = reader.read_event();
        *at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let ev = ev.map_err(malformed)?;
        match ev {
            Event::Start(s) => stack.push(nested(&stack, &s)?),
            Event::Empty(s) => {
                let e = nested(&stack, &s)?;
                attach(&mut stack, &mut root, e)?
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                attach(&mut stack, &mut root, done)?;
            }
            Event::Text(t) => {
                let text = checked(t.unescape().map_err(malformed)?)?;
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
    *at = xml.len();
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

/// The name libvirt gives a document of root `<root>` in its parse errors.
fn document_name(root: &str) -> &str {
    match root {
        "domain" => "domain_definition",
        "network" => "network_definition",
        "networkport" => "networkport_definition",
        "pool" => "storage_pool_definition",
        "volume" => "storage_volume_definition",
        "device" => "node_device_definition",
        "domainsnapshot" => "domain_snapshot",
        "domaincheckpoint" => "domain_checkpoint",
        "secret" => "definition_of_secret",
        "filterbinding" => "nwfilterbinding_definition",
        "filter" => "nwfilter_definition",
        "interface" => "interface_definition",
        other => other,
    }
}

/// Words a not-well-formed error the way libvirt does (libxml2's layout): document name
/// and line, the message, the line of the document the error is on and a caret under
/// where the parser stopped.
fn locate(xml: &str, at: usize, doc: &str, message: &str) -> String {
    let at = at.min(xml.len());
    let at = (0..=at)
        .rev()
        .find(|i| xml.is_char_boundary(*i))
        .unwrap_or(0);
    let line_start = xml[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = xml[at..].find('\n').map_or(xml.len(), |i| at + i);
    let line = xml[..at].matches('\n').count() + 1;
    let context: String = xml[line_start..line_end].chars().take(80).collect();
    let column = xml[line_start..at].chars().count().min(80);
    let context = if context.is_empty() {
        "(null)".to_string()
    } else {
        context
    };
    format!(
        "{doc}:{line}: {message}\n{context}\n{}^",
        "-".repeat(column)
    )
}

/// Parses a document of any root, named `name` in errors: one that is not well formed is
/// reported as libvirt reports it (see [`parse_root`]), e.g. `network_update_xml:1: ...`.
pub fn parse_named(xml: &str, name: &str) -> Result<Element, XmlError> {
    let mut at = 0;
    parse_tracking(xml, &mut at).map_err(|e| match e {
        XmlError::Malformed(m) => XmlError::Malformed(locate(xml, at, name, &m)),
        other => other,
    })
}

/// Parses a document whose root must be `<root>`. A document that is not well formed is
/// reported as libvirt reports it: `VIR_ERR_XML_DETAIL`, naming the document and line.
pub fn parse_root(xml: &str, root: &str) -> Result<Element, XmlError> {
    let mut at = 0;
    let e = parse_tracking(xml, &mut at).map_err(|e| match e {
        XmlError::Malformed(m) => {
            let doc = format!("({})", document_name(root));
            XmlError::Malformed(locate(xml, at, &doc, &m))
        }
        other => other,
    })?;
    if e.name != root {
        return Err(XmlError::WrongRoot {
            expected: root.to_string(),
            found: e.name,
        });
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

    /// Writes this element and its subtree the way libvirt copies foreign XML (the
    /// children of `<metadata>`): through libxml2's dump, so attributes are
    /// double-quoted and only `&`, `<`, `>` (and `"` in attributes) are escaped.
    pub fn write_foreign(&self, out: &mut Out) {
        self.write_foreign_at(out, 0);
    }

    /// This element and its subtree on one line, as libxml2 dumps a node whose content
    /// mixes text and elements: direct text first, then the children.
    pub fn foreign_inline(&self) -> String {
        let mut s = format!("<{}", self.name);
        for (k, v) in &self.attrs {
            s.push_str(&format!(" {k}=\"{}\"", libxml2_escape(v, true)));
        }
        let text = self.text.trim();
        if self.children.is_empty() && text.is_empty() {
            return s + "/>";
        }
        s.push('>');
        s.push_str(&libxml2_escape(text, false));
        for c in &self.children {
            s.push_str(&c.foreign_inline());
        }
        s + &format!("</{}>", self.name)
    }

    fn write_foreign_at(&self, out: &mut Out, nest: usize) {
        let mut head = format!("<{}", self.name);
        for (k, v) in &self.attrs {
            head.push_str(&format!(" {k}=\"{}\"", libxml2_escape(v, true)));
        }
        let text = self.text.trim();
        if self.children.is_empty() {
            if text.is_empty() {
                head.push_str("/>");
            } else {
                head.push_str(&format!(">{}</{}>", libxml2_escape(text, false), self.name));
            }
            out.raw_line(nest, &head);
            return;
        }
        head.push('>');
        out.raw_line(nest, &head);
        for c in &self.children {
            c.write_foreign_at(out, nest + 1);
        }
        out.raw_line(nest, &format!("</{}>", self.name));
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

/// libxml2's escaping of text (`&`, `<`, `>`, and `\r`) and attribute values (also `"`
/// and whitespace controls).
fn libxml2_escape(s: &str, attr: bool) -> String {
    let mut r = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => r.push_str("&amp;"),
            '<' => r.push_str("&lt;"),
            '>' => r.push_str("&gt;"),
            '\r' => r.push_str("&#13;"),
            '"' if attr => r.push_str("&quot;"),
            '\n' if attr => r.push_str("&#10;"),
            '\t' if attr => r.push_str("&#9;"),
            _ => r.push(c),
        }
    }
    r
}

#[cfg(test)]
mod located_tests {
    use super::*;

    #[test]
    fn not_well_formed_is_located_like_libvirt() {
        let e = parse_root("<x>\n<y></x>", "domain").unwrap_err();
        assert_eq!(e.code(), crate::XML_DETAIL);
        let text = e.to_string();
        assert!(text.starts_with("(domain_definition):2: "), "{text}");
        assert!(text.ends_with("\n<y></x>\n-------^"), "{text}");
        let e = parse_root("", "pool").unwrap_err().to_string();
        assert!(e.starts_with("(storage_pool_definition):1: "), "{e}");
        assert!(e.ends_with("\n(null)\n^"), "{e}");
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

    /// `<r>` holding `elements` children with `per` attributes each.
    fn wide(elements: usize, per: usize) -> String {
        let mut s = String::from("<r>");
        for e in 0..elements {
            s.push_str("<e");
            for a in 0..per {
                s.push_str(&format!(" a{a}='{e}'"));
            }
            s.push_str("/>");
        }
        s.push_str("</r>");
        s
    }

    #[test]
    fn attribute_limit_per_element() {
        let e = parse_document(&wide(2, MAX_ATTRIBUTES)).unwrap();
        assert_eq!(e.children[1].attrs.len(), MAX_ATTRIBUTES);
        assert_eq!(e.children[1].attr("a999"), Some("1"));
        assert_eq!(
            parse_document(&wide(1, MAX_ATTRIBUTES + 1)),
            Err(XmlError::TooManyAttributes {
                element: "e".into(),
                max: MAX_ATTRIBUTES
            })
        );
        let dup = "<r><e a='1' b='2' c='3' b='4'/></r>";
        let err = parse_document(dup).unwrap_err().to_string();
        assert!(
            err.contains("attribute b is repeated in element <e>"),
            "{err}"
        );
    }

    #[test]
    fn depth_limit_is_libxml2s() {
        // libxml2 takes the root plus 256 nested levels and refuses one more.
        let nest = |levels: usize| {
            format!(
                "<r>{}<x/>{}</r>",
                "<e>".repeat(levels - 1),
                "</e>".repeat(levels - 1)
            )
        };
        assert!(parse_document(&nest(MAX_DEPTH)).is_ok());
        assert_eq!(
            parse_document(&nest(MAX_DEPTH + 1)),
            Err(XmlError::TooDeep { max: MAX_DEPTH })
        );
    }

    #[test]
    fn size_limit() {
        let pad = " ".repeat(MAX_DOCUMENT_BYTES - 4);
        assert!(parse_document(&format!("<r/>{pad}")).is_ok());
        let e = parse_document(&format!("<r/>{pad} ")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "XML error: the document is {} bytes long, more than the limit of {MAX_DOCUMENT_BYTES} bytes",
                MAX_DOCUMENT_BYTES + 1
            )
        );
    }

    #[test]
    fn characters_outside_xml_are_refused() {
        for bad in [
            "<a>\0</a>",
            "<a>&#0;</a>",
            "<a x='&#1;'/>",
            "<a>\u{1b}</a>",
            "<a>&#xFFFE;</a>",
        ] {
            assert!(
                matches!(parse_document(bad), Err(XmlError::Malformed(_))),
                "{bad:?}"
            );
        }
        let ok = parse_document("<a x='&#9;'>\t&#10;&#x10000;</a>").unwrap();
        assert_eq!(ok.text, "\t\n\u{10000}");
    }

    /// Best of three parse times, in seconds.
    fn parse_time(doc: &str) -> f64 {
        (0..3)
            .map(|_| {
                let t = std::time::Instant::now();
                let e = parse_document(doc).unwrap();
                let d = t.elapsed().as_secs_f64();
                assert!(!e.children.is_empty());
                d
            })
            .fold(f64::MAX, f64::min)
    }

    #[test]
    fn parse_time_is_linear_in_attributes() {
        // Ten times the attributes: linear work takes about ten times as long.
        let small = parse_time(&wide(20, MAX_ATTRIBUTES));
        let large = parse_time(&wide(200, MAX_ATTRIBUTES));
        assert!(
            large < small * 30.0,
            "200k attributes took {large:.4}s, 20k took {small:.4}s"
        );
    }

    #[test]
    fn wide_elements_cost_no_more_per_attribute() {
        // The same 100k attributes on 100 elements or on 1000: quick-xml's own duplicate
        // check, which compares each key with every earlier one, made the wide layout
        // about ten times slower.
        let wide_time = parse_time(&wide(100, 1000));
        let narrow_time = parse_time(&wide(1000, 100));
        assert!(
            wide_time < narrow_time * 3.0,
            "1000 attributes per element took {wide_time:.4}s, 100 per element {narrow_time:.4}s"
        );
    }

    #[test]
    fn wrong_root() {
        assert!(matches!(
            parse_root("<b/>", "a"),
            Err(XmlError::WrongRoot { .. })
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

    #[test]
    fn elements_without_a_name_are_not_xml() {
        // Found by the xml_nodedev fuzz target: `<>` parsed and formatted back as `</>`.
        let bad = "<device><name>d</name><capability type=''><></></capability></device>";
        assert!(matches!(parse_document(bad), Err(XmlError::Malformed(_))));
        assert!(matches!(
            parse_document("<a><1b/></a>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(crate::nodedev::NodeDeviceDef::parse(bad).is_err());
    }
}
