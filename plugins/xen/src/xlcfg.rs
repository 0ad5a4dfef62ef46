//! xl.cfg syntax: `key = value` settings, one per line (or separated by `;`), values
//! being quoted strings, numbers or `[ ... ]` lists, `#` comments. Nesting depth, the
//! size of numbers and of the whole text are bounded; errors are libvirt's
//! `VIR_ERR_CONF_SYNTAX` naming the line.

use crate::error::XenError;

/// The largest configuration text accepted.
pub const MAX_TEXT: usize = 1 << 20;
/// The deepest list nesting accepted (xl itself uses one level).
pub const MAX_DEPTH: usize = 4;
/// The most entries a list may have.
pub const MAX_LIST: usize = 1024;

/// One value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Num(i64),
    List(Vec<Value>),
}

/// A parsed configuration: settings in file order, a later one replacing an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub entries: Vec<(String, Value)>,
}

impl Config {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, replacing an earlier value in place.
    pub fn set(&mut self, key: &str, v: Value) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = v,
            None => self.entries.push((key.to_string(), v)),
        }
    }

    /// A string setting (a number is accepted and printed).
    pub fn str(&self, key: &str) -> Result<Option<String>, XenError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(Value::Num(n)) => Ok(Some(n.to_string())),
            Some(Value::List(_)) => Err(XenError::Value(key.into())),
        }
    }

    /// A number setting (a string holding a number is accepted, as xl does).
    pub fn num(&self, key: &str) -> Result<Option<i64>, XenError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Num(n)) => Ok(Some(*n)),
            Some(Value::Str(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| XenError::Value(key.into())),
            Some(Value::List(_)) => Err(XenError::Value(key.into())),
        }
    }

    /// A non-negative number that fits `u64` after multiplying by `scale`.
    pub fn unsigned(&self, key: &str, scale: u64) -> Result<Option<u64>, XenError> {
        match self.num(key)? {
            None => Ok(None),
            Some(n) => u64::try_from(n)
                .ok()
                .and_then(|n| n.checked_mul(scale))
                .map(Some)
                .ok_or_else(|| XenError::Value(key.into())),
        }
    }

    /// A boolean setting: a number, 0 meaning false.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, XenError> {
        Ok(self.num(key)?.map(|n| n != 0))
    }

    /// A list of strings; a single string counts as a list of one.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, XenError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Str(s)) => Ok(vec![s.clone()]),
            Some(Value::List(l)) => l
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    _ => Err(XenError::Value(key.into())),
                })
                .collect(),
            Some(Value::Num(_)) => Err(XenError::Value(key.into())),
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
}

fn syntax(line: usize, msg: &str) -> XenError {
    XenError::Syntax {
        line,
        msg: msg.into(),
    }
}

impl Lexer<'_> {
    fn err(&self, msg: &str) -> XenError {
        syntax(self.line, msg)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// Skips blanks and comments; with `newlines`, line ends too.
    fn skip(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\n' if newlines => {
                    self.pos += 1;
                    self.line += 1;
                }
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn name(&mut self) -> Result<String, XenError> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
        {
            self.pos += 1;
        }
        if start == self.pos || !self.s[start].is_ascii_alphabetic() {
            return Err(self.err("expecting a name"));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }

    fn string(&mut self, quote: u8) -> Result<Value, XenError> {
        self.pos += 1;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == quote {
                let text = std::str::from_utf8(&self.s[start..self.pos])
                    .map_err(|_| self.err("string is not UTF-8"))?
                    .to_string();
                self.pos += 1;
                return Ok(Value::Str(text));
            }
            if c == b'\n' {
                break;
            }
            self.pos += 1;
        }
        Err(self.err("unterminated string"))
    }

    fn number(&mut self) -> Result<Value, XenError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        let (neg, digits) = match text.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, text),
        };
        let parsed = match digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
            Some(hex) => i64::from_str_radix(hex, 16),
            None => digits.parse::<i64>(),
        };
        let n = parsed.map_err(|_| self.err("invalid or out of range number"))?;
        Ok(Value::Num(if neg { -n } else { n }))
    }

    fn list(&mut self, depth: usize) -> Result<Value, XenError> {
        if depth >= MAX_DEPTH {
            return Err(self.err("lists nested too deeply"));
        }
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip(true);
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Value::List(items));
            }
            if items.len() >= MAX_LIST {
                return Err(self.err("list too long"));
            }
            items.push(self.value(depth + 1)?);
            self.skip(true);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                _ => return Err(self.err("expecting a separator in list")),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, XenError> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.string(q),
            Some(b'[') => self.list(depth),
            Some(c) if c.is_ascii_digit() || c == b'-' => self.number(),
            _ => Err(self.err("expecting a value")),
        }
    }

    /// One `name = value` setting and what ends it.
    fn setting(&mut self) -> Result<(String, Value), XenError> {
        let name = self.name()?;
        self.skip(false);
        if self.peek() != Some(b'=') {
            return Err(self.err("expecting an assignment"));
        }
        self.pos += 1;
        self.skip(false);
        let v = self.value(0)?;
        self.skip(false);
        match self.peek() {
            None | Some(b'\n') | Some(b';') => Ok((name, v)),
            _ => Err(self.err("expecting a separator")),
        }
    }
}

/// Parses xl.cfg text.
pub fn parse(text: &str) -> Result<Config, XenError> {
    if text.len() > MAX_TEXT {
        return Err(syntax(0, "configuration too large"));
    }
    let mut lx = Lexer {
        s: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut cfg = Config::default();
    loop {
        lx.skip(true);
        match lx.peek() {
            None => return Ok(cfg),
            Some(b';') => lx.pos += 1,
            Some(_) => {
                let (k, v) = lx.setting()?;
                cfg.set(&k, v);
            }
        }
    }
}

fn write_value(out: &mut String, v: &Value) -> Result<(), XenError> {
    match v {
        Value::Num(n) => out.push_str(&n.to_string()),
        Value::Str(s) => {
            let q = if !s.contains('"') {
                '"'
            } else if !s.contains('\'') {
                '\''
            } else {
                return Err(XenError::Unsupported(format!(
                    "value '{s}' has both kinds of quotes"
                )));
            };
            if s.contains('\n') {
                return Err(XenError::Unsupported(format!("value '{s}' spans lines")));
            }
            out.push(q);
            out.push_str(s);
            out.push(q);
        }
        Value::List(items) => {
            out.push_str("[ ");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item)?;
            }
            out.push_str(" ]");
        }
    }
    Ok(())
}

/// Formats a configuration, one setting a line.
pub fn format(cfg: &Config) -> Result<String, XenError> {
    let mut out = String::new();
    for (k, v) in &cfg.entries {
        out.push_str(k);
        out.push_str(" = ");
        write_value(&mut out, v)?;
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_strings_numbers_lists_comments() {
        let c = parse(
            "# a guest\nname = \"g1\"\nmemory=512 # MiB\nvcpus = 0x2; on_crash='destroy'\n\
             disk = [ 'a,raw,xvda,rw',\n  \"b\", ]\n",
        )
        .unwrap();
        assert_eq!(c.str("name").unwrap().as_deref(), Some("g1"));
        assert_eq!(c.num("memory").unwrap(), Some(512));
        assert_eq!(c.num("vcpus").unwrap(), Some(2));
        assert_eq!(c.str("on_crash").unwrap().as_deref(), Some("destroy"));
        assert_eq!(c.strings("disk").unwrap(), vec!["a,raw,xvda,rw", "b"]);
    }

    #[test]
    fn later_settings_replace_earlier_ones() {
        let c = parse("memory = 1\nmemory = 2\n").unwrap();
        assert_eq!(c.entries.len(), 1);
        assert_eq!(c.num("memory").unwrap(), Some(2));
    }

    fn err_line(text: &str) -> (usize, String) {
        match parse(text) {
            Err(XenError::Syntax { line, msg }) => (line, msg),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert_eq!(err_line("name = \"a\"\nmemory =\n").0, 2);
        assert_eq!(err_line("x = \"open\n").1, "unterminated string");
        assert_eq!(err_line("= 3").1, "expecting a name");
        assert_eq!(err_line("a 3").1, "expecting an assignment");
        assert_eq!(err_line("a = 3 4").1, "expecting a separator");
        assert_eq!(err_line("a = [1 2]").1, "expecting a separator in list");
        assert_eq!(
            err_line("a = 99999999999999999999").1,
            "invalid or out of range number"
        );
        assert_eq!(err_line("a = [[[[[1]]]]]").1, "lists nested too deeply");
        assert_eq!(err_line("a = [1,\n2,\n").0, 3);
    }

    #[test]
    fn wrong_types_are_malformed_values() {
        let c = parse("memory = \"lots\"\ndisk = 3\n").unwrap();
        assert!(matches!(c.num("memory"), Err(XenError::Value(_))));
        assert!(matches!(c.strings("disk"), Err(XenError::Value(_))));
        let c = parse("memory = -1\n").unwrap();
        assert!(c.unsigned("memory", 1024).is_err());
    }

    #[test]
    fn format_parses_back() {
        let mut c = Config::default();
        c.set("name", Value::Str("it's".into()));
        c.set("memory", Value::Num(256));
        c.set("vif", Value::List(vec![Value::Str("bridge=br0".into())]));
        let text = format(&c).unwrap();
        assert_eq!(parse(&text).unwrap(), c);
    }
}
