//! Generates the protocol types and tables from `defs/*.x`.

use std::path::PathBuf;

fn main() {
    let defs_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
            .join("defs");
    println!("cargo:rerun-if-changed={}", defs_dir.display());
    for entry in std::fs::read_dir(&defs_dir)
        .expect("protocol/defs is readable")
        .flatten()
    {
        println!("cargo:rerun-if-changed={}", entry.path().display());
    }
    let defs = match rvirt_xdrgen::parse_dir(&defs_dir) {
        Ok(d) => d,
        Err(e) => panic!("protocol definitions: {e}"),
    };
    let code = rvirt_xdrgen::emit(&defs).unwrap_or_else(|e| panic!("protocol generation: {e}"));
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("generated.rs");
    std::fs::write(&out, code).expect("OUT_DIR is writable");
}
