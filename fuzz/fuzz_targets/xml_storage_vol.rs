//! Fuzzes `rvirt_xml::storage::StorageVolDef::parse` (a `<volume>` document).
//!
//! Nothing may panic, and a document that parses must format to XML that parses again and
//! formats to the same text (what rvirt writes, it can read back).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvirt_xml::storage::StorageVolDef;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(def) = StorageVolDef::parse(text) else {
        return;
    };
    let first = def.to_xml();
    let again = StorageVolDef::parse(&first)
        .unwrap_or_else(|e| panic!("formatted XML does not parse again: {e}\n{first}"));
    assert_eq!(again.to_xml(), first, "formatting is not stable");
});
