//! Command definitions and virsh-style argument parsing.
//!
//! Rules (the ones virsh users rely on): `--name value`, `--name=value`, bare words fill
//! the command's non-boolean options in declaration order (unless an option is marked
//! named-only), `--` ends option parsing.

use std::collections::HashMap;

use crate::ctl::{CmdError, Ctl};

/// How an option takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A flag without a value.
    Bool,
    /// A string value, may be given positionally.
    Str,
    /// A number, may be given positionally.
    Int,
    /// A string value that must be given as `--name value`.
    Named,
    /// Collects all remaining bare words.
    Argv,
}

/// What tab completion offers for an option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Complete {
    None,
    Domain,
    Network,
    Pool,
    File,
}

/// One option of a command.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub help: &'static str,
    pub complete: Complete,
}

impl Opt {
    pub const fn flag(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            kind: Kind::Bool,
            required: false,
            help,
            complete: Complete::None,
        }
    }
    pub const fn req(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            kind: Kind::Str,
            required: true,
            help,
            complete: Complete::None,
        }
    }
    pub const fn string(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            kind: Kind::Str,
            required: false,
            help,
            complete: Complete::None,
        }
    }
    pub const fn named(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            kind: Kind::Named,
            required: false,
            help,
            complete: Complete::None,
        }
    }
    pub const fn int(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            kind: Kind::Int,
            required: false,
            help,
            complete: Complete::None,
        }
    }
    pub const fn argv(name: &'static str, help: &'static str) -> Opt {
        Opt {
            name,
            kind: Kind::Argv,
            required: false,
            help,
            complete: Complete::None,
        }
    }
    pub const fn required(mut self) -> Opt {
        self.required = true;
        self
    }
    pub const fn completes(mut self, c: Complete) -> Opt {
        self.complete = c;
        self
    }
    /// The standard `<domain>` argument.
    pub const fn domain() -> Opt {
        Opt::req("domain", "domain name, id or uuid").completes(Complete::Domain)
    }
    /// The standard `<network>` argument.
    pub const fn network() -> Opt {
        Opt::req("network", "network name or uuid").completes(Complete::Network)
    }
    /// The standard `<pool>` argument.
    pub const fn pool() -> Opt {
        Opt::req("pool", "pool name or uuid").completes(Complete::Pool)
    }
    /// The standard `<file>` argument.
    pub const fn file(help: &'static str) -> Opt {
        Opt::req("file", help).completes(Complete::File)
    }
    /// `--json` for listings and info commands.
    pub const fn json() -> Opt {
        Opt::flag("json", "print the result as JSON (rvirsh extension)")
    }
}

/// A command handler.
pub type Handler = fn(&mut Ctl, &Args) -> Result<(), CmdError>;

/// One command of the table.
#[derive(Debug, Clone, Copy)]
pub struct Cmd {
    pub name: &'static str,
    pub help: &'static str,
    pub desc: &'static str,
    pub opts: &'static [Opt],
    pub run: Handler,
    /// Whether the command needs a connection before it runs.
    pub needs_conn: bool,
}

/// A group of commands as listed by `help`.
#[derive(Debug)]
pub struct Group {
    pub title: &'static str,
    pub keyword: &'static str,
    pub cmds: &'static [Cmd],
}

/// Parsed arguments of one command invocation.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Args {
    values: HashMap<&'static str, Vec<String>>,
}

impl Args {
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// A required value (the parser already checked presence).
    pub fn req(&self, name: &str) -> Result<&str, CmdError> {
        self.get(name)
            .ok_or_else(|| CmdError::Msg(format!("missing option --{name}")))
    }

    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// An integer option, or `None` when absent.
    pub fn int<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, CmdError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                CmdError::Msg(format!(
                    "Numeric value '{v}' for <{name}> option is malformed or out of range"
                ))
            }),
        }
    }

    fn push(&mut self, name: &'static str, v: String) {
        self.values.entry(name).or_default().push(v);
    }
}

/// Errors in a command line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("unknown command: '{0}'")]
    UnknownCommand(String),
    #[error("command '{0}' doesn't support option --{1}")]
    UnknownOption(&'static str, String),
    #[error("option --{0} already seen")]
    Duplicate(&'static str),
    #[error("expected syntax: --{0} <{1}>")]
    MissingValue(&'static str, &'static str),
    #[error("invalid '=' after option --{0}")]
    BoolWithValue(&'static str),
    #[error("unexpected data '{0}'")]
    Unexpected(String),
    #[error("command '{0}' requires <{1}> option")]
    Required(&'static str, &'static str),
}

fn positional(o: &Opt) -> bool {
    matches!(o.kind, Kind::Str | Kind::Int | Kind::Argv)
}

/// Parses the words after the command name.
pub fn parse(cmd: &Cmd, words: &[String]) -> Result<Args, ParseError> {
    let mut args = Args::default();
    let mut pending: Vec<usize> = (0..cmd.opts.len())
        .filter(|i| positional(&cmd.opts[*i]))
        .collect();
    let mut data_only = false;
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if !data_only && w == "--" {
            data_only = true;
            continue;
        }
        if !data_only
            && w.starts_with("--")
            && w[2..].starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            let (name, inline) = match w[2..].split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (&w[2..], None),
            };
            let Some(idx) = cmd.opts.iter().position(|o| o.name == name) else {
                if cmd.name == "help" {
                    continue;
                }
                return Err(ParseError::UnknownOption(cmd.name, name.to_string()));
            };
            let o = &cmd.opts[idx];
            if args.has(o.name) && o.kind != Kind::Argv {
                return Err(ParseError::Duplicate(o.name));
            }
            if o.kind == Kind::Bool {
                if inline.is_some() {
                    return Err(ParseError::BoolWithValue(o.name));
                }
                args.push(o.name, String::new());
                continue;
            }
            let value = match inline {
                Some(v) => v,
                None => it.next().cloned().ok_or(ParseError::MissingValue(
                    o.name,
                    if o.kind == Kind::Int {
                        "number"
                    } else {
                        "string"
                    },
                ))?,
            };
            if o.kind != Kind::Argv {
                pending.retain(|i| *i != idx);
            }
            args.push(o.name, value);
            continue;
        }
        let Some(&idx) = pending.first() else {
            if cmd.name == "help" {
                continue;
            }
            return Err(ParseError::Unexpected(w.clone()));
        };
        let o = &cmd.opts[idx];
        if o.kind != Kind::Argv {
            pending.remove(0);
        }
        args.push(o.name, w.clone());
    }
    if let Some(o) = cmd.opts.iter().find(|o| o.required && !args.has(o.name)) {
        return Err(ParseError::Required(cmd.name, o.name));
    }
    Ok(args)
}

/// Splits a shell line into words: whitespace separates, single and double quotes group,
/// backslash escapes the next character. An unquoted `;` becomes a word of its own, which
/// separates commands (see [`split_commands`]).
pub fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') | (None, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '#') if !in_word => break,
            (None, ';') => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                words.push(";".to_string());
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Splits a shell line into commands, each a list of words.
pub fn split_commands(line: &str) -> Vec<Vec<String>> {
    split_words(line)
        .split(|w| w == ";")
        .filter(|c| !c.is_empty())
        .map(<[String]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nop(_: &mut Ctl, _: &Args) -> Result<(), CmdError> {
        Ok(())
    }

    const OPTS: &[Opt] = &[
        Opt::domain(),
        Opt::flag("reason", "r"),
        Opt::string("pool", "p"),
        Opt::named("cap", "c"),
    ];
    const CMD: Cmd = Cmd {
        name: "t",
        help: "",
        desc: "",
        opts: OPTS,
        run: nop,
        needs_conn: true,
    };

    fn w(s: &str) -> Vec<String> {
        split_words(s)
    }

    #[test]
    fn positional_and_named() {
        let a = parse(&CMD, &w("dom --reason pl")).unwrap();
        assert_eq!(a.get("domain"), Some("dom"));
        assert!(a.has("reason"));
        assert_eq!(a.get("pool"), Some("pl"));
        let a = parse(&CMD, &w("--pool=x --domain d")).unwrap();
        assert_eq!(a.get("pool"), Some("x"));
        assert_eq!(a.get("domain"), Some("d"));
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&CMD, &w("")),
            Err(ParseError::Required("t", "domain"))
        );
        assert_eq!(
            parse(&CMD, &w("d --bogus")),
            Err(ParseError::UnknownOption("t", "bogus".into()))
        );
        assert_eq!(
            parse(&CMD, &w("d p extra")),
            Err(ParseError::Unexpected("extra".into()))
        );
        assert_eq!(
            parse(&CMD, &w("d --cap")),
            Err(ParseError::MissingValue("cap", "string"))
        );
        assert_eq!(parse(&CMD, &w("d c")).unwrap().get("cap"), None);
    }

    #[test]
    fn words() {
        assert_eq!(
            split_words(r#"a 'b c' "d\"e" f\ g"#),
            vec!["a", "b c", "d\"e", "f g"]
        );
        assert_eq!(split_words("x # comment"), vec!["x"]);
        assert_eq!(
            split_commands("a b; c 'd;e'"),
            vec![vec!["a", "b"], vec!["c", "d;e"]]
        );
    }
}
