//! A small writer producing libvirt-style XML text.

use std::fmt::Write as _;

/// Escapes text for use in element content or single-quoted attributes,
/// the way libvirt's formatter does.
pub fn escape(s: &str) -> String {
    let mut r = String::with_capacity(s.len());
    push_escaped(&mut r, s);
    r
}

/// Appends `s` to `out`, escaped as [`escape`] does.
fn push_escaped(out: &mut String, s: &str) {
    let special = |c: char| matches!(c, '&' | '<' | '>' | '\'' | '"');
    if !s.contains(special) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// A `fmt::Write` that escapes what is written into a `String`.
struct Escaping<'a>(&'a mut String);

impl std::fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        push_escaped(self.0, s);
        Ok(())
    }
}

/// An ordered attribute list, kept rendered (` name='value'`...), so formatting an
/// element costs one copy of its attributes and no allocation per attribute.
#[derive(Debug, Default, Clone)]
pub struct Attrs(String);

impl Attrs {
    /// An empty list.
    pub fn new() -> Attrs {
        Attrs(String::new())
    }

    /// Appends `name='value'`.
    pub fn add(mut self, name: &str, value: impl std::fmt::Display) -> Attrs {
        self.0.push(' ');
        self.0.push_str(name);
        self.0.push_str("='");
        let _ = write!(Escaping(&mut self.0), "{value}");
        self.0.push('\'');
        self
    }

    /// Appends `name='value'` when `value` is `Some`.
    pub fn opt<T: std::fmt::Display>(self, name: &str, value: Option<T>) -> Attrs {
        match value {
            Some(v) => self.add(name, v),
            None => self,
        }
    }

    /// True when no attribute was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn render(&self) -> &str {
        &self.0
    }
}

/// Indented output buffer.
#[derive(Debug, Default)]
pub struct Out {
    buf: String,
    depth: usize,
}

impl Out {
    /// A writer starting at indent level 0.
    pub fn new() -> Out {
        Out {
            buf: String::with_capacity(2048),
            depth: 0,
        }
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.buf
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.buf.push_str("  ");
        }
    }

    /// Writes one indented line (a newline is appended).
    pub fn line(&mut self, s: &str) {
        self.indent();
        self.buf.push_str(s);
        self.buf.push('\n');
    }

    /// One indented `<name attrs>` (or `<name attrs/>` when `empty`) line.
    fn tag(&mut self, name: &str, attrs: &Attrs, empty: bool) {
        self.indent();
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(attrs.render());
        self.buf.push_str(if empty { "/>\n" } else { ">\n" });
    }

    /// Writes one line of foreign XML as libxml2 dumps it (the caller renders it):
    /// indented at the current depth, `nest` levels further in.
    pub(crate) fn raw_line(&mut self, nest: usize, s: &str) {
        self.indent();
        for _ in 0..nest {
            self.buf.push_str("  ");
        }
        self.buf.push_str(s);
        self.buf.push('\n');
    }

    /// `<name attrs>` and indents.
    pub fn open(&mut self, name: &str, attrs: &Attrs) {
        self.tag(name, attrs, false);
        self.depth += 1;
    }

    /// Dedents and writes `</name>`.
    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    /// `<name attrs/>`.
    pub fn empty(&mut self, name: &str, attrs: &Attrs) {
        self.tag(name, attrs, true);
    }

    /// `<name attrs>text</name>` with the text escaped.
    pub fn text(&mut self, name: &str, attrs: &Attrs, text: &str) {
        self.indent();
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(attrs.render());
        self.buf.push('>');
        push_escaped(&mut self.buf, text);
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    /// `<name>text</name>` when `text` is `Some`.
    pub fn opt_text<T: std::fmt::Display>(&mut self, name: &str, text: Option<T>) {
        if let Some(t) = text {
            self.indent();
            self.buf.push('<');
            self.buf.push_str(name);
            self.buf.push('>');
            let _ = write!(Escaping(&mut self.buf), "{t}");
            self.buf.push_str("</");
            self.buf.push_str(name);
            self.buf.push_str(">\n");
        }
    }

    /// Writes `name` with `attrs` and whatever `children` writes. Nothing is
    /// written when both are empty; `<name attrs/>` when there are no children.
    pub fn element(&mut self, name: &str, attrs: &Attrs, children: impl FnOnce(&mut Out)) {
        // Written in place and taken back when the children turn out to be empty.
        let start = self.buf.len();
        self.open(name, attrs);
        let after_open = self.buf.len();
        children(self);
        self.depth = self.depth.saturating_sub(1);
        if self.buf.len() == after_open {
            self.buf.truncate(start);
            if !attrs.is_empty() {
                self.empty(name, attrs);
            }
            return;
        }
        self.depth += 1;
        self.close(name);
    }

    /// Like [`Out::element`] but always writes the element, `<name/>` at least.
    pub fn element_always(&mut self, name: &str, attrs: &Attrs, children: impl FnOnce(&mut Out)) {
        let before = self.buf.len();
        self.element(name, attrs, children);
        if self.buf.len() == before {
            self.empty(name, attrs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_libvirt_layout() {
        let mut o = Out::new();
        o.open("a", &Attrs::new().add("x", "1"));
        o.empty("b", &Attrs::new().add("q", "it's"));
        o.opt_text("c", Some("<&>"));
        o.opt_text::<&str>("d", None);
        o.element("e", &Attrs::new(), |_| {});
        o.element("f", &Attrs::new().add("k", 2), |_| {});
        o.element("g", &Attrs::new(), |o| o.empty("h", &Attrs::new()));
        o.close("a");
        assert_eq!(
            o.finish(),
            "<a x='1'>\n  <b q='it&apos;s'/>\n  <c>&lt;&amp;&gt;</c>\n  <f k='2'/>\n  <g>\n    <h/>\n  </g>\n</a>\n"
        );
    }
}
