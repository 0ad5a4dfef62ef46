//! Parser: tokens → [`Definitions`].

use crate::ast::{
    Annotations, Decl, Definitions, Field, FieldKind, Procedure, Program, Size, Type, UnionArm,
};
use crate::lex::{tokenize, Spanned, Token};

#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// A file could not be read.
    Io(String, String),
    /// file:line and what was wrong there.
    Syntax(String, String),
    /// A name defined twice.
    Duplicate(String, String),
    /// A reference to something never defined.
    Unknown(String, String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Io(p, e) => write!(f, "cannot read {p}: {e}"),
            ParseError::Syntax(at, what) => write!(f, "{at}: {what}"),
            ParseError::Duplicate(at, name) => write!(f, "{at}: {name} is defined twice"),
            ParseError::Unknown(kind, name) => write!(f, "unknown {kind} {name}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses one text into a fresh definition set.
pub fn parse(text: &str) -> Result<Definitions, ParseError> {
    let mut defs = Definitions::default();
    parse_into(&mut defs, text, "<input>")?;
    defs.check()?;
    Ok(defs)
}

pub(crate) fn parse_into(defs: &mut Definitions, text: &str, file: &str) -> Result<(), ParseError> {
    let tokens =
        tokenize(text).map_err(|(line, m)| ParseError::Syntax(format!("{file}:{line}"), m))?;
    let mut p = Parser {
        toks: tokens,
        pos: 0,
        file,
    };
    while !p.at_end() {
        p.top_level(defs)?;
    }
    Ok(())
}

struct Parser<'a> {
    toks: Vec<Spanned>,
    pos: usize,
    file: &'a str,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn here(&self) -> String {
        let line = self
            .toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(0, |t| t.line);
        format!("{}:{line}", self.file)
    }

    fn err<T>(&self, what: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError::Syntax(self.here(), what.into()))
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos).map(|t| &t.token)
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        let t = self.peek().cloned();
        match t {
            Some(t) => {
                self.pos += 1;
                Ok(t)
            }
            None => self.err("unexpected end of file"),
        }
    }

    fn punct(&mut self, c: char) -> Result<(), ParseError> {
        match self.next()? {
            Token::Punct(p) if p == c => Ok(()),
            other => {
                self.pos -= 1;
                self.err(format!("expected '{c}', found {other:?}"))
            }
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Result<String, ParseError> {
        match self.next()? {
            Token::Ident(s) => Ok(s),
            other => {
                self.pos -= 1;
                self.err(format!("expected a name, found {other:?}"))
            }
        }
    }

    fn keyword(&mut self, kw: &str) -> Result<(), ParseError> {
        let word = self.ident()?;
        if word == kw {
            Ok(())
        } else {
            self.pos -= 1;
            self.err(format!("expected '{kw}', found '{word}'"))
        }
    }

    fn size(&mut self) -> Result<Size, ParseError> {
        match self.next()? {
            Token::Number(n) => Ok(Size::Num(n)),
            Token::Ident(s) => Ok(Size::Const(s)),
            other => {
                self.pos -= 1;
                self.err(format!("expected a number or constant, found {other:?}"))
            }
        }
    }

    fn value(&mut self, defs: &Definitions) -> Result<i64, ParseError> {
        let size = self.size()?;
        defs.resolve(&size).or_else(|e| self.err(e.to_string()))
    }

    fn top_level(&mut self, defs: &mut Definitions) -> Result<(), ParseError> {
        let at = self.here();
        match self.ident()?.as_str() {
            "const" => {
                let name = self.ident()?;
                self.punct('=')?;
                let value = self.value(defs)?;
                self.punct(';')?;
                defs.add_const(name, value, &at)
            }
            "typedef" => {
                let field = self.declaration()?;
                self.punct(';')?;
                let name = field.name.clone();
                defs.add_type(name, Decl::Typedef(field), &at)
            }
            "struct" => {
                let name = self.ident()?;
                let fields = self.struct_body()?;
                self.punct(';')?;
                defs.add_type(name, Decl::Struct(fields), &at)
            }
            "enum" => {
                let name = self.ident()?;
                let variants = self.enum_body(defs)?;
                self.punct(';')?;
                defs.add_type(name, Decl::Enum(variants), &at)
            }
            "union" => {
                let name = self.ident()?;
                let decl = self.union_body()?;
                self.punct(';')?;
                defs.add_type(name, decl, &at)
            }
            "program" => self.program(defs),
            other => {
                self.pos -= 1;
                self.err(format!("unexpected '{other}' at top level"))
            }
        }
    }

    fn struct_body(&mut self) -> Result<Vec<Field>, ParseError> {
        self.punct('{')?;
        let mut fields = Vec::new();
        while !self.eat_punct('}') {
            let f = self.declaration()?;
            if f.ty == Type::Void {
                return self.err("void field in a struct");
            }
            fields.push(f);
            self.punct(';')?;
        }
        Ok(fields)
    }

    fn enum_body(&mut self, defs: &Definitions) -> Result<Vec<(String, i64)>, ParseError> {
        self.punct('{')?;
        let mut variants = Vec::new();
        let mut next_value = 0;
        loop {
            if self.eat_punct('}') {
                break;
            }
            let name = self.ident()?;
            let mut value = next_value;
            if self.eat_punct('=') {
                value = match self.peek() {
                    Some(Token::Ident(s)) if variants.iter().any(|(v, _)| v == s) => {
                        let s = s.clone();
                        self.pos += 1;
                        variants
                            .iter()
                            .find(|(v, _)| *v == s)
                            .map_or(0, |(_, n)| *n)
                    }
                    _ => self.value(defs)?,
                };
            }
            next_value = value + 1;
            variants.push((name, value));
            if !self.eat_punct(',') {
                self.punct('}')?;
                break;
            }
        }
        Ok(variants)
    }

    fn union_body(&mut self) -> Result<Decl, ParseError> {
        self.keyword("switch")?;
        self.punct('(')?;
        let discriminant = self.declaration()?;
        self.punct(')')?;
        self.punct('{')?;
        let mut arms = Vec::new();
        let mut default = None;
        while !self.eat_punct('}') {
            match self.ident()?.as_str() {
                "case" => {
                    let mut labels = vec![self.size()?];
                    self.punct(':')?;
                    while self.peek() == Some(&Token::Ident("case".into())) {
                        self.pos += 1;
                        labels.push(self.size()?);
                        self.punct(':')?;
                    }
                    let f = self.declaration()?;
                    self.punct(';')?;
                    arms.push(UnionArm {
                        labels,
                        field: (f.ty != Type::Void).then_some(f),
                    });
                }
                "default" => {
                    self.punct(':')?;
                    let f = self.declaration()?;
                    self.punct(';')?;
                    default = Some((f.ty != Type::Void).then_some(f));
                }
                other => {
                    self.pos -= 1;
                    return self.err(format!("expected 'case' or 'default', found '{other}'"));
                }
            }
        }
        Ok(Decl::Union {
            discriminant,
            arms,
            default,
        })
    }

    fn base_type(&mut self) -> Result<Type, ParseError> {
        let word = self.ident()?;
        Ok(match word.as_str() {
            "unsigned" => match self.peek() {
                Some(Token::Ident(w)) if w == "int" || w == "long" => {
                    self.pos += 1;
                    Type::UInt
                }
                Some(Token::Ident(w)) if w == "hyper" => {
                    self.pos += 1;
                    Type::UHyper
                }
                Some(Token::Ident(w)) if w == "char" => {
                    self.pos += 1;
                    Type::UChar
                }
                Some(Token::Ident(w)) if w == "short" => {
                    self.pos += 1;
                    Type::UShort
                }
                _ => Type::UInt,
            },
            "int" | "long" => Type::Int,
            "hyper" => Type::Hyper,
            "bool" => Type::Bool,
            "float" => Type::Float,
            "double" => Type::Double,
            "char" => Type::Char,
            "short" => Type::Short,
            "string" => Type::String,
            "opaque" => Type::Opaque,
            "void" => Type::Void,
            "struct" | "union" | "enum" => Type::Named(self.ident()?),
            _ => Type::Named(word),
        })
    }

    fn declaration(&mut self) -> Result<Field, ParseError> {
        let ty = self.base_type()?;
        if ty == Type::Void {
            return Ok(Field {
                name: String::new(),
                ty,
                kind: FieldKind::Plain,
            });
        }
        let optional = self.eat_punct('*');
        let name = self.ident()?;
        let kind = if optional {
            FieldKind::Optional
        } else if self.eat_punct('[') {
            let s = self.size()?;
            self.punct(']')?;
            FieldKind::Fixed(s)
        } else if self.eat_punct('<') {
            if self.eat_punct('>') {
                FieldKind::Var(None)
            } else {
                let s = self.size()?;
                self.punct('>')?;
                FieldKind::Var(Some(s))
            }
        } else {
            FieldKind::Plain
        };
        if matches!(ty, Type::String) && !matches!(kind, FieldKind::Var(_)) {
            return self.err(format!("string {name} needs <> bounds"));
        }
        if matches!(ty, Type::Opaque) && !matches!(kind, FieldKind::Var(_) | FieldKind::Fixed(_)) {
            return self.err(format!("opaque {name} needs [] or <> bounds"));
        }
        Ok(Field { name, ty, kind })
    }

    fn annotations(&mut self) -> Result<Annotations, ParseError> {
        let mut a = Annotations::default();
        while let Some(Token::Annotation(name, arg)) = self.peek().cloned() {
            self.pos += 1;
            match (name.as_str(), arg) {
                ("object", Some(k)) => a.object = Some(k),
                ("driver", Some(k)) => a.driver = Some(k),
                ("stream", Some(k)) => a.stream = Some(k),
                ("ro", None) => a.read_only = true,
                ("high", None) => a.high_priority = true,
                ("event", None) => a.event = true,
                ("rodeny", Some(mask)) => match parse_mask(&mask) {
                    Some(m) => a.ro_deny_flags = m,
                    None => return self.err(format!("@rodeny({mask}) is not a number")),
                },
                (other, _) => return self.err(format!("unknown annotation @{other}")),
            }
        }
        Ok(a)
    }

    fn type_name(&mut self) -> Result<Option<String>, ParseError> {
        let name = self.ident()?;
        Ok((name != "void").then_some(name))
    }

    fn program(&mut self, defs: &mut Definitions) -> Result<(), ParseError> {
        let name = self.ident()?;
        self.punct('{')?;
        self.keyword("version")?;
        let _version_name = self.ident()?;
        self.punct('{')?;
        let mut procedures = Vec::new();
        while !self.eat_punct('}') {
            let annotations = self.annotations()?;
            let ret = self.type_name()?;
            let proc_name = self.ident()?;
            self.punct('(')?;
            let args = self.type_name()?;
            self.punct(')')?;
            self.punct('=')?;
            let number = self.value(defs)?;
            self.punct(';')?;
            if annotations.object.is_none() {
                return self.err(format!("{proc_name} has no @object annotation"));
            }
            procedures.push(Procedure {
                name: proc_name,
                number,
                args,
                ret,
                annotations,
            });
        }
        self.punct('=')?;
        let version = self.value(defs)?;
        self.punct(';')?;
        self.punct('}')?;
        self.punct('=')?;
        let number = self.value(defs)?;
        self.punct(';')?;
        match defs.programs.iter_mut().find(|p| p.name == name) {
            Some(p) if p.number != number || p.version != version => self.err(format!(
                "program {name} redeclared with another number or version"
            )),
            Some(p) => {
                p.procedures.extend(procedures);
                p.procedures.sort_by_key(|p| p.number);
                Ok(())
            }
            None => {
                procedures.sort_by_key(|p| p.number);
                defs.programs.push(Program {
                    name,
                    number,
                    version,
                    procedures,
                });
                Ok(())
            }
        }
    }
}

/// A decimal or `0x` hexadecimal flag mask.
fn parse_mask(text: &str) -> Option<u32> {
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
const MAX = 16;
const ALIAS = MAX;
typedef string nstr<MAX>;
typedef nstr *ostr;
typedef opaque uuid[16];
enum color { RED = 1, GREEN, BLUE = 7 };
struct thing { nstr name; uuid id; int ids<ALIAS>; char model[4]; unsigned hyper big; ostr opt; };
union val switch (int type) { case RED: int i; case GREEN: case BLUE: hyper h; default: void; };
program P { version V { @object(domain) @ro @high thing GET(val) = 2; @object(connect) void CLOSE(void) = 1; } = 1; } = 0x20008086;
"#;

    #[test]
    fn parses_every_construct() {
        let d = parse(SAMPLE).unwrap();
        assert_eq!(d.consts["ALIAS"], 16);
        assert_eq!(d.consts["GREEN"], 2);
        assert_eq!(d.consts["BLUE"], 7);
        let Decl::Struct(fields) = &d.types["thing"] else {
            panic!("not a struct")
        };
        assert_eq!(fields.len(), 6);
        assert_eq!(fields[3].kind, FieldKind::Fixed(Size::Num(4)));
        let Decl::Union { arms, default, .. } = &d.types["val"] else {
            panic!("not a union")
        };
        assert_eq!(arms[1].labels.len(), 2);
        assert_eq!(default, &Some(None));
        let p = &d.programs[0];
        assert_eq!(p.number, 0x20008086);
        assert_eq!(p.procedures[0].name, "CLOSE");
        assert!(p.procedures[1].annotations.read_only);
        assert_eq!(p.procedures[1].args.as_deref(), Some("val"));
    }

    #[test]
    fn rejects_unknown_types_and_duplicates() {
        assert!(matches!(
            parse("struct a { nope x; };"),
            Err(ParseError::Unknown(..))
        ));
        assert!(matches!(
            parse("const A = 1; const A = 2;"),
            Err(ParseError::Duplicate(..))
        ));
        assert!(matches!(
            parse("struct a { int x }"),
            Err(ParseError::Syntax(..))
        ));
    }
}
