//! QMP replies re-printed as virsh prints them for `qemu-monitor-command --pretty` and
//! `--return-value`: parsed keeping member order and number text, then written the way
//! libvirt's JSON writer (yajl) writes, compact or beautified with two-space indents.

/// A JSON value with members in document order and numbers as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Value>),
    Obj(Vec<(String, Value)>),
}

impl Value {
    /// Parses one JSON document (surrounding white space allowed).
    pub fn parse(text: &str) -> Option<Value> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        (p.i == p.s.len()).then_some(v)
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text libvirt writes: beautified (`pretty`) or compact; no trailing newline.
    pub fn write(&self, pretty: bool) -> String {
        let mut out = String::new();
        self.emit(&mut out, 0, pretty);
        out
    }

    fn emit(&self, out: &mut String, depth: usize, pretty: bool) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Num(n) => out.push_str(n),
            Value::Str(s) => quote(out, s),
            Value::Arr(items) => {
                let items: Vec<(Option<&str>, &Value)> = items.iter().map(|v| (None, v)).collect();
                container(out, ('[', ']'), &items, depth, pretty);
            }
            Value::Obj(members) => {
                let items: Vec<(Option<&str>, &Value)> =
                    members.iter().map(|(k, v)| (Some(k.as_str()), v)).collect();
                container(out, ('{', '}'), &items, depth, pretty);
            }
        }
    }
}

/// yajl's layout: the opening bracket and the closing one each end a line when
/// beautified, so an empty container is `[` newline newline indent `]`.
fn container(
    out: &mut String,
    (open, close): (char, char),
    items: &[(Option<&str>, &Value)],
    depth: usize,
    pretty: bool,
) {
    out.push(open);
    if pretty {
        out.push('\n');
    }
    for (n, (key, v)) in items.iter().enumerate() {
        if n > 0 {
            out.push_str(if pretty { ",\n" } else { "," });
        }
        if pretty {
            out.push_str(&"  ".repeat(depth + 1));
        }
        if let Some(k) = key {
            quote(out, k);
            out.push_str(if pretty { ": " } else { ":" });
        }
        v.emit(out, depth + 1, pretty);
    }
    if pretty {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    }
    out.push(close);
}

/// A string as yajl escapes it: quotes, backslashes, the named controls, other controls
/// as `\u00XX`; everything else (the solidus, non-ASCII) as it is.
fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        let hit = self.s[self.i..].starts_with(word.as_bytes());
        if hit {
            self.i += word.len();
        }
        hit
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(Value::Str),
            b't' => self.eat("true").then_some(Value::Bool(true)),
            b'f' => self.eat("false").then_some(Value::Bool(false)),
            b'n' => self.eat("null").then_some(Value::Null),
            _ => self.number(),
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        text.parse::<f64>().ok()?;
        Some(Value::Num(text.to_string()))
    }

    fn array(&mut self) -> Option<Value> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat("]") {
            return Some(Value::Arr(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            if self.eat("]") {
                return Some(Value::Arr(items));
            }
            self.eat(",").then_some(())?;
        }
    }

    fn object(&mut self) -> Option<Value> {
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.eat("}") {
            return Some(Value::Obj(members));
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.eat(":").then_some(())?;
            members.push((key, self.value()?));
            self.ws();
            if self.eat("}") {
                return Some(Value::Obj(members));
            }
            self.eat(",").then_some(())?;
        }
    }

    fn string(&mut self) -> Option<String> {
        self.eat("\"").then_some(())?;
        let mut out = String::new();
        loop {
            let rest = std::str::from_utf8(&self.s[self.i..]).ok()?;
            let c = rest.chars().next()?;
            self.i += c.len_utf8();
            match c {
                '"' => return Some(out),
                '\\' => out.push(self.escape()?),
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self) -> Option<char> {
        let b = *self.s.get(self.i)?;
        self.i += 1;
        Some(match b {
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'u' => return self.unicode(),
            b => b as char,
        })
    }

    /// `\uXXXX`, with a surrogate pair joined into one character.
    fn unicode(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.eat("\\u") {
            let lo = self.hex4()?;
            return char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?));
        }
        char::from_u32(hi)
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beautified_as_virsh_prints_it() {
        let reply = r#"{"return": {"status": "running", "singlestep": false, "running": true}, "id": "libvirt-12"}"#;
        let v = Value::parse(reply).unwrap();
        assert_eq!(
            v.write(true),
            "{\n  \"return\": {\n    \"status\": \"running\",\n    \"singlestep\": false,\n    \"running\": true\n  },\n  \"id\": \"libvirt-12\"\n}"
        );
        let empty = Value::parse(r#"{"return": [], "id": "libvirt-15"}"#).unwrap();
        assert_eq!(
            empty.write(true),
            "{\n  \"return\": [\n\n  ],\n  \"id\": \"libvirt-15\"\n}"
        );
    }

    #[test]
    fn compact_keeps_order_numbers_and_text() {
        let v =
            Value::parse(r#" {"b": 1.50, "a": [-2, 3e2], "s": "x\u00e9/\"\n\u0001"} "#).unwrap();
        assert_eq!(
            v.write(false),
            "{\"b\":1.50,\"a\":[-2,3e2],\"s\":\"xé/\\\"\\n\\u0001\"}"
        );
        assert_eq!(v.get("a").unwrap().write(false), "[-2,3e2]");
        assert!(Value::parse("{\"a\": }").is_none());
        assert!(Value::parse("[1] x").is_none());
    }
}
