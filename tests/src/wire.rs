//! Raw frames for tests that talk to a daemon below the client library: build calls
//! with any header, read whole frames back.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use rvirt_core::protocol::message::{
    decode_frame, encode_frame, Header, MessageStatus, MessageType,
};
use rvirt_core::protocol::xdr::to_bytes;
use rvirt_core::protocol::{self as p, remote_proc, REMOTE_PROGRAM_NUMBER};

/// A call frame of the remote program.
pub fn call(serial: u32, procedure: i32, payload: &[u8]) -> Vec<u8> {
    call_with(serial, procedure, MessageStatus::Ok, payload)
}

/// A call frame with the given header status (well-behaved clients always send OK).
pub fn call_with(serial: u32, procedure: i32, status: MessageStatus, payload: &[u8]) -> Vec<u8> {
    let h = Header {
        program: REMOTE_PROGRAM_NUMBER,
        version: 1,
        procedure,
        kind: MessageType::Call,
        serial,
        status,
    };
    encode_frame(&h, payload)
}

/// Reads one whole frame.
pub fn read_frame(s: &mut UnixStream) -> std::io::Result<(Header, Vec<u8>)> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize - 4];
    s.read_exact(&mut rest)?;
    let mut frame = len.to_vec();
    frame.extend_from_slice(&rest);
    let (h, payload) = decode_frame(&frame).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((h, payload.to_vec()))
}

/// A raw connection to `socket` that has opened `uri`.
pub fn raw_open_at(socket: &Path, uri: &str) -> UnixStream {
    let mut s = UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let open = p::RemoteConnectOpenArgs {
        name: Some(uri.into()),
        flags: 0,
    };
    s.write_all(&call(0, remote_proc::CONNECT_OPEN, &to_bytes(&open)))
        .expect("send open");
    let (h, _) = read_frame(&mut s).expect("open reply");
    assert_eq!(h.status, MessageStatus::Ok);
    s
}
