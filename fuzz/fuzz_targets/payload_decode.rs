//! Fuzzes the argument and return decoders of every procedure, one procedure per input.
//!
//! Input: byte 0 picks the program (remote, qemu, keepalive; modulo 3), bytes 1-2 (big
//! endian) the procedure number, the rest is the XDR payload. A number the program does
//! not have selects `table[number % len]`, so every input reaches a real decoder. Nothing
//! may panic, and an accepted payload must re-encode to exactly the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvirt_protocol::{
    procedure, procedures, KeepaliveArgs, KeepaliveRet, QemuArgs, QemuRet, RemoteArgs, RemoteRet,
    KEEPALIVE_PROGRAM_NUMBER, QEMU_PROGRAM_NUMBER, REMOTE_PROGRAM_NUMBER,
};

const PROGRAMS: [u32; 3] = [
    REMOTE_PROGRAM_NUMBER,
    QEMU_PROGRAM_NUMBER,
    KEEPALIVE_PROGRAM_NUMBER,
];

macro_rules! roundtrip {
    ($ty:ty, $procedure:expr, $payload:expr) => {
        if let Ok(v) = <$ty>::decode($procedure, $payload) {
            let mut w = Vec::new();
            v.encode(&mut w);
            assert_eq!(
                w,
                $payload,
                "{} of procedure {} accepted a non-canonical payload",
                stringify!($ty),
                $procedure
            );
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let [sel, hi, lo, payload @ ..] = data else {
        return;
    };
    let program = PROGRAMS[usize::from(*sel) % PROGRAMS.len()];
    let n = u16::from_be_bytes([*hi, *lo]);
    let Some(table) = procedures(program) else {
        return;
    };
    let info =
        procedure(program, i32::from(n)).unwrap_or_else(|| &table[usize::from(n) % table.len()]);
    let number = info.number;
    match program {
        REMOTE_PROGRAM_NUMBER => {
            roundtrip!(RemoteArgs, number, payload);
            roundtrip!(RemoteRet, number, payload);
        }
        QEMU_PROGRAM_NUMBER => {
            roundtrip!(QemuArgs, number, payload);
            roundtrip!(QemuRet, number, payload);
        }
        _ => {
            roundtrip!(KeepaliveArgs, number, payload);
            roundtrip!(KeepaliveRet, number, payload);
        }
    }
});
