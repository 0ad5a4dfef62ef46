//! rvirt-xdrgen: reads rvirt's XDR protocol definitions (rpcgen dialect plus procedure
//! annotations, see `protocol/defs/README.md`) and emits Rust types with XDR encode/decode,
//! per-program call/reply enums, typed handler traits and the procedure tables.

mod ast;
mod emit;
mod lex;
mod parse;

pub use ast::{Annotations, Decl, Definitions, Field, FieldKind, Procedure, Program, Size, Type};
pub use emit::emit;
pub use parse::{parse, ParseError};

/// Parses every `*.x` file of `dir` in lexical order into one namespace.
pub fn parse_dir(dir: &std::path::Path) -> Result<Definitions, ParseError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| ParseError::Io(dir.display().to_string(), e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "x"))
        .collect();
    files.sort();
    let mut defs = Definitions::default();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| ParseError::Io(file.display().to_string(), e.to_string()))?;
        parse::parse_into(&mut defs, &text, &file.display().to_string())?;
    }
    defs.check()?;
    Ok(defs)
}
