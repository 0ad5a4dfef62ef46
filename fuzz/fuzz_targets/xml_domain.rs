//! Fuzzes `rvirt_xml::domain::DomainDef::parse` (a `<domain>` document).
//!
//! Nothing may panic, and a document that parses must format to XML that parses again;
//! formatting must reach a fixed point after one more round (what rvirt writes, it can
//! read back). Not at once: like libvirt, rvirt appends the controllers it adds on parse
//! (a sata controller 0 for a sata disk) after those the document has, and reading that
//! back sorts the explicit ones by index, as libvirt does.

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
    let second = again.to_xml(None);
    let third = DomainDef::parse(&second)
        .unwrap_or_else(|e| panic!("formatted XML does not parse again: {e}\n{second}"))
        .to_xml(None);
    assert_eq!(third, second, "formatting does not settle");
});
