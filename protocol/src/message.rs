//! Message framing: the 4-byte length, the 24-byte header and the payload.

use crate::xdr::{Reader, Xdr, XdrError};

/// Largest message libvirt sends or accepts, length word included (32 MiB).
pub const MESSAGE_MAX: usize = 32 * 1024 * 1024;
/// Size of the header that follows the length word.
pub const HEADER_LEN: usize = 24;

/// `virNetMessageType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Call,
    Reply,
    Message,
    Stream,
    CallWithFds,
    ReplyWithFds,
    StreamHole,
}

impl MessageType {
    pub fn code(self) -> i32 {
        match self {
            MessageType::Call => 0,
            MessageType::Reply => 1,
            MessageType::Message => 2,
            MessageType::Stream => 3,
            MessageType::CallWithFds => 4,
            MessageType::ReplyWithFds => 5,
            MessageType::StreamHole => 6,
        }
    }

    pub fn from_code(c: i32) -> Option<Self> {
        Some(match c {
            0 => MessageType::Call,
            1 => MessageType::Reply,
            2 => MessageType::Message,
            3 => MessageType::Stream,
            4 => MessageType::CallWithFds,
            5 => MessageType::ReplyWithFds,
            6 => MessageType::StreamHole,
            _ => return None,
        })
    }
}

/// `virNetMessageStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    Ok,
    Error,
    Continue,
}

impl MessageStatus {
    pub fn code(self) -> i32 {
        match self {
            MessageStatus::Ok => 0,
            MessageStatus::Error => 1,
            MessageStatus::Continue => 2,
        }
    }

    pub fn from_code(c: i32) -> Option<Self> {
        Some(match c {
            0 => MessageStatus::Ok,
            1 => MessageStatus::Error,
            2 => MessageStatus::Continue,
            _ => return None,
        })
    }
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {0} is outside 28..={MESSAGE_MAX}")]
    BadLength(u32),
    #[error("message type {0} is unknown")]
    BadType(i32),
    #[error("message status {0} is unknown")]
    BadStatus(i32),
    #[error("frame header is incomplete")]
    ShortHeader,
}

/// The 24-byte message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub program: u32,
    pub version: u32,
    pub procedure: i32,
    pub kind: MessageType,
    pub serial: u32,
    pub status: MessageStatus,
}

impl Header {
    pub fn encode(&self, w: &mut Vec<u8>) {
        self.program.encode(w);
        self.version.encode(w);
        self.procedure.encode(w);
        self.kind.code().encode(w);
        self.serial.encode(w);
        self.status.code().encode(w);
    }

    pub fn decode(buf: &[u8]) -> Result<Header, FrameError> {
        let r = &mut Reader::new(buf);
        let word =
            |r: &mut Reader<'_>| i32::decode(r).map_err(|_: XdrError| FrameError::ShortHeader);
        let program = word(r)? as u32;
        let version = word(r)? as u32;
        let procedure = word(r)?;
        let kind = word(r)?;
        let serial = word(r)? as u32;
        let status = word(r)?;
        Ok(Header {
            program,
            version,
            procedure,
            kind: MessageType::from_code(kind).ok_or(FrameError::BadType(kind))?,
            serial,
            status: MessageStatus::from_code(status).ok_or(FrameError::BadStatus(status))?,
        })
    }
}

/// Checks a frame's length word (which counts itself) against libvirt's limits.
pub fn check_length(len: u32, max: usize) -> Result<usize, FrameError> {
    let l = len as usize;
    if l < 4 + HEADER_LEN || l > max {
        return Err(FrameError::BadLength(len));
    }
    Ok(l)
}

/// What precedes a payload on the wire: the length word and the header.
pub type FrameHead = [u8; 4 + HEADER_LEN];

/// The length word and header of a frame whose payload is `payload_len` bytes, built
/// without allocating, so a reply can go out as this head and the payload's own buffer.
pub fn frame_head(header: &Header, payload_len: usize) -> FrameHead {
    let words = [
        (4 + HEADER_LEN + payload_len) as u32,
        header.program,
        header.version,
        header.procedure as u32,
        header.kind.code() as u32,
        header.serial,
        header.status.code() as u32,
    ];
    let mut head = [0u8; 4 + HEADER_LEN];
    for (chunk, word) in head.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    head
}

/// Builds a whole frame: length word, header, payload.
pub fn encode_frame(header: &Header, payload: &[u8]) -> Vec<u8> {
    let mut w = Vec::with_capacity(4 + HEADER_LEN + payload.len());
    w.extend_from_slice(&frame_head(header, payload.len()));
    w.extend_from_slice(payload);
    w
}

/// Splits one complete frame (length word included) into header and payload.
pub fn decode_frame(frame: &[u8]) -> Result<(Header, &[u8]), FrameError> {
    if frame.len() < 4 + HEADER_LEN {
        return Err(FrameError::ShortHeader);
    }
    let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
    let len = check_length(len, MESSAGE_MAX)?;
    if len != frame.len() {
        return Err(FrameError::BadLength(len as u32));
    }
    let header = Header::decode(&frame[4..4 + HEADER_LEN])?;
    Ok((header, &frame[4 + HEADER_LEN..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_head_is_the_length_word_and_the_xdr_header() {
        let h = Header {
            program: 0x2000_8086,
            version: 1,
            procedure: -7,
            kind: MessageType::Reply,
            serial: 0xdead_beef,
            status: MessageStatus::Error,
        };
        let mut want = Vec::new();
        (4 + HEADER_LEN as u32 + 5).encode(&mut want);
        h.encode(&mut want);
        assert_eq!(frame_head(&h, 5).as_slice(), want.as_slice());
        let frame = encode_frame(&h, b"abcde");
        let (back, payload) = decode_frame(&frame).unwrap();
        assert_eq!((back, payload), (h, &b"abcde"[..]));
    }
}
