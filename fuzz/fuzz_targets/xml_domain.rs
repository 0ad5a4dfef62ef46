//! Fuzzes `rvirt_xml::domain::DomainDef::parse` (a `<domain>` document).
//!
//! Nothing may panic, and a document that parses must format to XML that parses again and
//! formats to the same text (what rvirt writes, it can read back).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvirt_xml::domain::DomainDef;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(def) = DomainDef::parse(text) else {
        return;
    };
    let first = def.to_xml(None);
    let again = DomainDef::parse(&first)
        .unwrap_or_else(|e| panic!("formatted XML does not parse again: {e}\n{first}"));
    assert_eq!(again.to_xml(None), first, "formatting is not stable");
});
