//! Fuzzes frame splitting and every payload decoder.
//!
//! Any input `decode_frame` accepts is decoded with every program's Args and Ret decoders
//! (and as a `remote_error`) for the header's procedure number. Nothing may panic, and any
//! payload a decoder accepts must re-encode to exactly the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rvirt_protocol::message::{decode_frame, encode_frame};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{
    KeepaliveArgs, KeepaliveRet, QemuArgs, QemuRet, RemoteArgs, RemoteError, RemoteRet,
};

/// Asserts that an accepted payload is canonical.
fn check(decoded: Option<Vec<u8>>, payload: &[u8], what: &str) {
    if let Some(w) = decoded {
        assert_eq!(w, payload, "{what} accepted a non-canonical payload");
    }
}

macro_rules! reencode {
    ($ty:ty, $procedure:expr, $payload:expr) => {
        <$ty>::decode($procedure, $payload).ok().map(|v| {
            let mut w = Vec::new();
            v.encode(&mut w);
            w
        })
    };
}

fn decode_payload(procedure: i32, payload: &[u8]) {
    check(
        reencode!(RemoteArgs, procedure, payload),
        payload,
        "RemoteArgs",
    );
    check(
        reencode!(RemoteRet, procedure, payload),
        payload,
        "RemoteRet",
    );
    check(reencode!(QemuArgs, procedure, payload), payload, "QemuArgs");
    check(reencode!(QemuRet, procedure, payload), payload, "QemuRet");
    check(
        reencode!(KeepaliveArgs, procedure, payload),
        payload,
        "KeepaliveArgs",
    );
    check(
        reencode!(KeepaliveRet, procedure, payload),
        payload,
        "KeepaliveRet",
    );
    let error = from_bytes::<RemoteError>(payload)
        .ok()
        .map(|e| to_bytes(&e));
    check(error, payload, "RemoteError");
}

fuzz_target!(|data: &[u8]| {
    let Ok((header, payload)) = decode_frame(data) else {
        return;
    };
    assert_eq!(
        encode_frame(&header, payload),
        data,
        "frame does not re-encode"
    );
    decode_payload(header.procedure, payload);
});
