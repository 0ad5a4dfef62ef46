//! A small writer producing libvirt-style XML text.

/// Escapes text for use in element content or single-quoted attributes,
/// the way libvirt's formatter does.
pub fn escape(s: &str) -> String {
    let mut r = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => r.push_str("&amp;"),
            '<' => r.push_str("&lt;"),
            '>' => r.push_str("&gt;"),
            '\'' => r.push_str("&apos;"),
            '"' => r.push_str("&quot;"),
            _ => r.push(c),
        }
    }
    r
}

/// An ordered attribute list.
#[derive(Debug, Default, Clone)]
pub struct Attrs(Vec<(String, String)>);

impl Attrs {
    /// An empty list.
    pub fn new() -> Attrs {
        Attrs(Vec::new())
    }

    /// Appends `name='value'`.
    pub fn add(mut self, name: &str, value: impl ToString) -> Attrs {
        self.0.push((name.to_string(), value.to_string()));
        self
    }

    /// Appends `name='value'` when `value` is `Some`.
    pub fn opt<T: ToString>(self, name: &str, value: Option<T>) -> Attrs {
        match value {
            Some(v) => self.add(name, v),
            None => self,
        }
    }

    /// True when no attribute was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn render(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.0 {
            s.push(' ');
            s.push_str(k);
            s.push_str("='");
            s.push_str(&escape(v));
            s.push('\'');
        }
        s
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
        Out::default()
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.buf
    }

    /// Writes one indented line (a newline is appended).
    pub fn line(&mut self, s: &str) {
        for _ in 0..self.depth {
            self.buf.push_str("  ");
        }
        self.buf.push_str(s);
        self.buf.push('\n');
    }

    /// `<name attrs>` and indents.
    pub fn open(&mut self, name: &str, attrs: &Attrs) {
        self.line(&format!("<{name}{}>", attrs.render()));
        self.depth += 1;
    }

    /// Dedents and writes `</name>`.
    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.line(&format!("</{name}>"));
    }

    /// `<name attrs/>`.
    pub fn empty(&mut self, name: &str, attrs: &Attrs) {
        self.line(&format!("<{name}{}/>", attrs.render()));
    }

    /// `<name attrs>text</name>` with the text escaped.
    pub fn text(&mut self, name: &str, attrs: &Attrs, text: &str) {
        self.line(&format!(
            "<{name}{}>{}</{name}>",
            attrs.render(),
            escape(text)
        ));
    }

    /// `<name>text</name>` when `text` is `Some`.
    pub fn opt_text<T: ToString>(&mut self, name: &str, text: Option<T>) {
        if let Some(t) = text {
            self.text(name, &Attrs::new(), &t.to_string());
        }
    }

    /// Writes `name` with `attrs` and whatever `children` writes. Nothing is
    /// written when both are empty; `<name attrs/>` when there are no children.
    pub fn element(&mut self, name: &str, attrs: &Attrs, children: impl FnOnce(&mut Out)) {
        let mut sub = Out {
            buf: String::new(),
            depth: self.depth + 1,
        };
        children(&mut sub);
        if sub.buf.is_empty() {
            if !attrs.is_empty() {
                self.empty(name, attrs);
            }
            return;
        }
        self.line(&format!("<{name}{}>", attrs.render()));
        self.buf.push_str(&sub.buf);
        self.line(&format!("</{name}>"));
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
