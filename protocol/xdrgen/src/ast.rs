//! The parsed form of a definition set.

use std::collections::{BTreeMap, HashMap};

use crate::parse::ParseError;

/// An array or string bound: a number or a named constant.
#[derive(Debug, Clone, PartialEq)]
pub enum Size {
    Num(i64),
    Const(String),
}

/// A base type before arrays and pointers are applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Int,
    UInt,
    Hyper,
    UHyper,
    Bool,
    Float,
    Double,
    Char,
    UChar,
    Short,
    UShort,
    String,
    Opaque,
    Void,
    Named(String),
}

/// How a declaration applies its base type.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Plain,
    Fixed(Size),
    Var(Option<Size>),
    Optional,
}

/// One declaration: `type name`, `type name[N]`, `type name<N>`, `type *name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: Type,
    pub kind: FieldKind,
}

/// Procedure annotations (see the dialect description).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    pub object: Option<String>,
    pub driver: Option<String>,
    pub read_only: bool,
    pub high_priority: bool,
    pub event: bool,
    pub stream: Option<String>,
    /// Flag bits refused on a read-only connection (`@rodeny(MASK)`).
    pub ro_deny_flags: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    pub name: String,
    pub number: i64,
    pub args: Option<String>,
    pub ret: Option<String>,
    pub annotations: Annotations,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Program {
    pub name: String,
    pub number: i64,
    pub version: i64,
    pub procedures: Vec<Procedure>,
}

/// A union arm: its case labels and its field (`None` for `void`).
#[derive(Debug, Clone, PartialEq)]
pub struct UnionArm {
    pub labels: Vec<Size>,
    pub field: Option<Field>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decl {
    Typedef(Field),
    Struct(Vec<Field>),
    Enum(Vec<(String, i64)>),
    Union {
        discriminant: Field,
        arms: Vec<UnionArm>,
        /// `None`: no default arm; `Some(None)`: `default: void`.
        default: Option<Option<Field>>,
    },
}

/// Everything parsed from a set of files.
#[derive(Debug, Default)]
pub struct Definitions {
    pub consts: BTreeMap<String, i64>,
    pub const_order: Vec<String>,
    pub types: HashMap<String, Decl>,
    pub type_order: Vec<String>,
    pub programs: Vec<Program>,
}

impl Definitions {
    pub fn add_const(&mut self, name: String, value: i64, at: &str) -> Result<(), ParseError> {
        if self.consts.insert(name.clone(), value).is_some() {
            return Err(ParseError::Duplicate(at.to_string(), name));
        }
        self.const_order.push(name);
        Ok(())
    }

    pub fn add_type(&mut self, name: String, decl: Decl, at: &str) -> Result<(), ParseError> {
        if let Decl::Enum(variants) = &decl {
            for (v, n) in variants {
                self.add_const(v.clone(), *n, at)?;
            }
        }
        if self.types.insert(name.clone(), decl).is_some() {
            return Err(ParseError::Duplicate(at.to_string(), name));
        }
        self.type_order.push(name);
        Ok(())
    }

    pub fn resolve(&self, size: &Size) -> Result<i64, ParseError> {
        match size {
            Size::Num(n) => Ok(*n),
            Size::Const(c) => self
                .consts
                .get(c)
                .copied()
                .ok_or_else(|| ParseError::Unknown("constant".into(), c.clone())),
        }
    }

    fn check_field(&self, f: &Field) -> Result<(), ParseError> {
        match &f.kind {
            FieldKind::Fixed(s) | FieldKind::Var(Some(s)) => {
                self.resolve(s)?;
            }
            _ => {}
        }
        if let Type::Named(n) = &f.ty {
            if !self.types.contains_key(n) {
                return Err(ParseError::Unknown("type".into(), n.clone()));
            }
        }
        Ok(())
    }

    /// Checks that every referenced type and constant exists.
    pub fn check(&self) -> Result<(), ParseError> {
        for decl in self.types.values() {
            match decl {
                Decl::Typedef(f) => self.check_field(f)?,
                Decl::Struct(fields) => fields.iter().try_for_each(|f| self.check_field(f))?,
                Decl::Enum(_) => {}
                Decl::Union {
                    discriminant,
                    arms,
                    default,
                } => {
                    self.check_field(discriminant)?;
                    for arm in arms {
                        arm.labels
                            .iter()
                            .try_for_each(|l| self.resolve(l).map(|_| ()))?;
                        arm.field.iter().try_for_each(|f| self.check_field(f))?;
                    }
                    if let Some(Some(f)) = default {
                        self.check_field(f)?;
                    }
                }
            }
        }
        for prog in &self.programs {
            let mut seen = std::collections::HashSet::new();
            for p in &prog.procedures {
                if !seen.insert(p.number) {
                    return Err(ParseError::Duplicate(prog.name.clone(), p.name.clone()));
                }
                for t in p.args.iter().chain(p.ret.iter()) {
                    if !self.types.contains_key(t) {
                        return Err(ParseError::Unknown(
                            format!("type (in {})", p.name),
                            t.clone(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
