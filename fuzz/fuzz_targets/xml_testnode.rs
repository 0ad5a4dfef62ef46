//! Fuzzes `rvirt_xml::testnode::TestNode::parse`, the test driver's `<node>` document
//! (with the domain, network, pool, volume and device parsers inside it). `file=`
//! references resolve under a directory that does not exist. Nothing may panic.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rvirt_xml::testnode::TestNode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = TestNode::parse(text, Path::new("/nonexistent/rvirt-fuzz"));
});
