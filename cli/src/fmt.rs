//! Output helpers: virsh's tables, human sizes, and a small JSON writer for `--json`.

/// A table printed like virsh: a leading space per cell, columns padded to the widest
/// cell plus two spaces, and a dashed line of (width + 3) per column under the header.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|i| {
                std::iter::once(&self.header)
                    .chain(self.rows.iter())
                    .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = render_row(&self.header, &widths);
        for w in &widths {
            out.push_str(&"-".repeat(w + 3));
        }
        out.push('\n');
        for r in &self.rows {
            out.push_str(&render_row(r, &widths));
        }
        out
    }
}

fn render_row(cells: &[String], widths: &[usize]) -> String {
    let mut s = String::new();
    for (i, c) in cells.iter().enumerate() {
        s.push(' ');
        s.push_str(c);
        if i + 1 < cells.len() {
            s.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
        }
    }
    s.push('\n');
    s
}

/// A size in the largest binary unit below 1024, as virsh prints it (`100.00 GiB`).
pub fn pretty_capacity(v: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut limit = 1024f64;
    for (i, unit) in UNITS.iter().enumerate() {
        if (v as f64) < limit || i == UNITS.len() - 1 {
            return format!("{:.2} {unit}", v as f64 / (limit / 1024.0));
        }
        limit *= 1024.0;
    }
    unreachable!("the last unit always matches")
}

/// A JSON value for `--json` output.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}
impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}
impl From<u64> for Json {
    fn from(v: u64) -> Json {
        Json::UInt(v)
    }
}
impl From<i64> for Json {
    fn from(v: i64) -> Json {
        Json::Int(v)
    }
}
impl From<i32> for Json {
    fn from(v: i32) -> Json {
        Json::Int(v.into())
    }
}
impl From<u32> for Json {
    fn from(v: u32) -> Json {
        Json::UInt(v.into())
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}

/// Builds a JSON object from `(key, value)` pairs.
pub fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
    Json::Obj(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

impl Json {
    /// Pretty-printed with two-space indentation and a trailing newline.
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, 0);
        s.push('\n');
        s
    }

    fn write(&self, s: &mut String, ind: usize) {
        match self {
            Json::Null => s.push_str("null"),
            Json::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
            Json::Int(v) => s.push_str(&v.to_string()),
            Json::UInt(v) => s.push_str(&v.to_string()),
            Json::Str(v) => quote(s, v),
            Json::Arr(items) if items.is_empty() => s.push_str("[]"),
            Json::Obj(items) if items.is_empty() => s.push_str("{}"),
            Json::Arr(items) => {
                s.push_str("[\n");
                for (i, v) in items.iter().enumerate() {
                    s.push_str(&"  ".repeat(ind + 1));
                    v.write(s, ind + 1);
                    s.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                s.push_str(&"  ".repeat(ind));
                s.push(']');
            }
            Json::Obj(items) => {
                s.push_str("{\n");
                for (i, (k, v)) in items.iter().enumerate() {
                    s.push_str(&"  ".repeat(ind + 1));
                    quote(s, k);
                    s.push_str(": ");
                    v.write(s, ind + 1);
                    s.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                s.push_str(&"  ".repeat(ind));
                s.push('}');
            }
        }
    }
}

fn quote(s: &mut String, v: &str) {
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_like_virsh() {
        let mut t = Table::new(&["Id", "Name", "State"]);
        t.row(vec!["1".into(), "test".into(), "running".into()]);
        assert_eq!(
            t.render(),
            " Id   Name   State\n----------------------\n 1    test   running\n"
        );
        let t = Table::new(&["Name", "Path"]);
        assert_eq!(t.render(), " Name   Path\n--------------\n");
    }

    #[test]
    fn capacity() {
        assert_eq!(pretty_capacity(0), "0.00 B");
        assert_eq!(pretty_capacity(107374182400), "100.00 GiB");
        assert_eq!(pretty_capacity(1536), "1.50 KiB");
    }

    #[test]
    fn json() {
        let j = obj([
            ("a", 1i32.into()),
            ("b", Json::Arr(vec!["x\"".into()])),
            ("c", Json::Null),
        ]);
        assert_eq!(
            j.render(),
            "{\n  \"a\": 1,\n  \"b\": [\n    \"x\\\"\"\n  ],\n  \"c\": null\n}\n"
        );
    }
}
