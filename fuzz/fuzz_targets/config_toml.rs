//! Fuzzes `rvirt_config::Config::parse`: TOML parsing, the schema and validation. Nothing
//! may panic, and every error is one line naming the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvirt_config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Config::parse(text, "fuzz.toml") {
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "error is not one line: {msg:?}");
        assert!(
            msg.contains("fuzz.toml"),
            "error does not name the file: {msg}"
        );
    }
});
