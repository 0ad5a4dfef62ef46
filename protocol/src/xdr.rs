//! The XDR runtime: primitive encoders and a bounded, panic-free reader.

/// Largest string libvirt accepts on the wire (REMOTE_STRING_MAX, 4 MiB).
pub const STRING_MAX: u32 = 4 * 1024 * 1024;

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XdrError {
    #[error("message ends {needed} bytes early")]
    Truncated { needed: usize },
    #[error("{0} unexpected bytes after the payload")]
    TrailingBytes(usize),
    #[error("length {len} exceeds the limit of {max}")]
    TooLong { len: u64, max: u64 },
    #[error("string is not valid UTF-8")]
    BadUtf8,
    #[error("padding bytes are not zero")]
    BadPadding,
    #[error("boolean value {0} is neither 0 nor 1")]
    BadBool(u32),
    #[error("value {0} is out of range for its small integer type")]
    BadChar(i32),
    #[error("union {0} has no arm for discriminant {1}")]
    BadDiscriminant(&'static str, i64),
    #[error("program {0:#x} has no procedure {1}")]
    UnknownProcedure(u32, i32),
    #[error("unknown program {0:#x}")]
    UnknownProgram(u32),
}

/// A type with an XDR encoding.
pub trait Xdr: Sized {
    /// Appends the encoding of `self` to `w`.
    fn encode(&self, w: &mut Vec<u8>);
    /// Reads one value from `r`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError>;
}

/// Reads XDR values from a byte slice without ever reading past its end.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        if n > self.remaining() {
            return Err(XdrError::Truncated {
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn word(&mut self) -> Result<[u8; 4], XdrError> {
        let b = self.take(4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), XdrError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(XdrError::TrailingBytes(n)),
        }
    }

    fn padding(&mut self, len: usize) -> Result<(), XdrError> {
        let pad = (4 - len % 4) % 4;
        if self.take(pad)?.iter().any(|b| *b != 0) {
            return Err(XdrError::BadPadding);
        }
        Ok(())
    }

    /// Reads a length prefix, checks it against `max` and against the bytes left
    /// (each element takes at least `min_elem` bytes), so no huge allocation happens.
    fn length(&mut self, max: u32, min_elem: usize) -> Result<usize, XdrError> {
        let len = u32::decode(self)?;
        if len > max {
            return Err(XdrError::TooLong {
                len: len.into(),
                max: max.into(),
            });
        }
        let len = len as usize;
        if len.saturating_mul(min_elem) > self.remaining() {
            return Err(XdrError::Truncated {
                needed: len * min_elem - self.remaining(),
            });
        }
        Ok(len)
    }
}

macro_rules! word_type {
    ($t:ty) => {
        impl Xdr for $t {
            fn encode(&self, w: &mut Vec<u8>) {
                w.extend_from_slice(&self.to_be_bytes());
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
                Ok(<$t>::from_be_bytes(r.word()?))
            }
        }
    };
}
word_type!(i32);
word_type!(u32);
word_type!(f32);

macro_rules! dword_type {
    ($t:ty) => {
        impl Xdr for $t {
            fn encode(&self, w: &mut Vec<u8>) {
                w.extend_from_slice(&self.to_be_bytes());
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
                let b = r.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Ok(<$t>::from_be_bytes(a))
            }
        }
    };
}
dword_type!(i64);
dword_type!(u64);
dword_type!(f64);

impl Xdr for bool {
    fn encode(&self, w: &mut Vec<u8>) {
        u32::from(*self).encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        match u32::decode(r)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(XdrError::BadBool(n)),
        }
    }
}

impl Xdr for String {
    fn encode(&self, w: &mut Vec<u8>) {
        enc_string(w, self);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        dec_string(r, STRING_MAX)
    }
}

/// rpcgen `char`: a signed byte carried in a 4-byte int.
pub fn enc_char(w: &mut Vec<u8>, c: i8) {
    i32::from(c).encode(w);
}

pub fn dec_char(r: &mut Reader<'_>) -> Result<i8, XdrError> {
    let v = i32::decode(r)?;
    i8::try_from(v).map_err(|_| XdrError::BadChar(v))
}

/// rpcgen `unsigned char`: a byte carried in a 4-byte unsigned int.
pub fn enc_uchar(w: &mut Vec<u8>, c: u8) {
    u32::from(c).encode(w);
}

pub fn dec_uchar(r: &mut Reader<'_>) -> Result<u8, XdrError> {
    let v = u32::decode(r)?;
    u8::try_from(v).map_err(|_| XdrError::BadChar(v as i32))
}

/// rpcgen `short`: carried in a 4-byte int.
pub fn enc_short(w: &mut Vec<u8>, v: i16) {
    i32::from(v).encode(w);
}

pub fn dec_short(r: &mut Reader<'_>) -> Result<i16, XdrError> {
    let v = i32::decode(r)?;
    i16::try_from(v).map_err(|_| XdrError::BadChar(v))
}

/// rpcgen `unsigned short`: carried in a 4-byte unsigned int.
pub fn enc_ushort(w: &mut Vec<u8>, v: u16) {
    u32::from(v).encode(w);
}

pub fn dec_ushort(r: &mut Reader<'_>) -> Result<u16, XdrError> {
    let v = u32::decode(r)?;
    u16::try_from(v).map_err(|_| XdrError::BadChar(v as i32))
}

/// Writes an array or string length prefix.
pub fn enc_len(w: &mut Vec<u8>, len: usize) {
    // Lengths beyond u32 cannot be represented; callers bound their data far below that.
    (len as u32).encode(w);
}

fn pad(w: &mut Vec<u8>, len: usize) {
    w.extend_from_slice(&[0u8; 3][..(4 - len % 4) % 4]);
}

pub fn enc_opaque(w: &mut Vec<u8>, data: &[u8]) {
    enc_len(w, data.len());
    w.extend_from_slice(data);
    pad(w, data.len());
}

pub fn dec_opaque(r: &mut Reader<'_>, max: u32) -> Result<Vec<u8>, XdrError> {
    dec_opaque_ref(r, max).map(<[u8]>::to_vec)
}

/// A variable-length opaque, borrowed from the buffer being read (no copy).
pub fn dec_opaque_ref<'a>(r: &mut Reader<'a>, max: u32) -> Result<&'a [u8], XdrError> {
    let len = r.length(max, 1)?;
    let data = r.take(len)?;
    r.padding(len)?;
    Ok(data)
}

pub fn enc_string(w: &mut Vec<u8>, s: &str) {
    enc_opaque(w, s.as_bytes());
}

pub fn dec_string(r: &mut Reader<'_>, max: u32) -> Result<String, XdrError> {
    let bytes = dec_opaque(r, max.min(STRING_MAX))?;
    String::from_utf8(bytes).map_err(|_| XdrError::BadUtf8)
}

pub fn enc_fixed_opaque(w: &mut Vec<u8>, data: &[u8]) {
    w.extend_from_slice(data);
    pad(w, data.len());
}

pub fn dec_fixed_opaque<const N: usize>(r: &mut Reader<'_>) -> Result<[u8; N], XdrError> {
    let mut a = [0u8; N];
    a.copy_from_slice(r.take(N)?);
    r.padding(N)?;
    Ok(a)
}

pub fn dec_array<T>(
    r: &mut Reader<'_>,
    max: u32,
    mut elem: impl FnMut(&mut Reader<'_>) -> Result<T, XdrError>,
) -> Result<Vec<T>, XdrError> {
    let len = r.length(max, 4)?;
    let mut v = Vec::with_capacity(len);
    for _ in 0..len {
        v.push(elem(r)?);
    }
    Ok(v)
}

pub fn dec_fixed_array<T, const N: usize>(
    r: &mut Reader<'_>,
    mut elem: impl FnMut(&mut Reader<'_>) -> Result<T, XdrError>,
) -> Result<[T; N], XdrError> {
    let mut v = Vec::with_capacity(N);
    for _ in 0..N {
        v.push(elem(r)?);
    }
    v.try_into().map_err(|_| XdrError::Truncated { needed: 0 })
}

pub fn dec_option<T>(
    r: &mut Reader<'_>,
    elem: impl FnOnce(&mut Reader<'_>) -> Result<T, XdrError>,
) -> Result<Option<T>, XdrError> {
    if bool::decode(r)? {
        Ok(Some(elem(r)?))
    } else {
        Ok(None)
    }
}

/// Encodes any [`Xdr`] value into a fresh buffer.
pub fn to_bytes<T: Xdr>(value: &T) -> Vec<u8> {
    let mut w = Vec::new();
    value.encode(&mut w);
    w
}

/// Decodes a whole buffer as one value.
pub fn from_bytes<T: Xdr>(buf: &[u8]) -> Result<T, XdrError> {
    let mut r = Reader::new(buf);
    let v = T::decode(&mut r)?;
    r.finish()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_pad_and_round_trip() {
        let mut w = Vec::new();
        enc_string(&mut w, "abcde");
        assert_eq!(w, [0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0]);
        assert_eq!(dec_string(&mut Reader::new(&w), 10).unwrap(), "abcde");
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        assert!(matches!(
            dec_string(&mut Reader::new(&[0, 0, 0, 9, b'a']), 100),
            Err(XdrError::Truncated { .. })
        ));
        assert!(matches!(
            dec_string(&mut Reader::new(&[0, 0, 0, 9]), 4),
            Err(XdrError::TooLong { .. })
        ));
        assert!(matches!(
            dec_string(&mut Reader::new(&[0, 0, 0, 1, b'a', 1, 0, 0]), 4),
            Err(XdrError::BadPadding)
        ));
        assert!(matches!(
            bool::decode(&mut Reader::new(&[0, 0, 0, 2])),
            Err(XdrError::BadBool(2))
        ));
        let huge = [0xff, 0xff, 0xff, 0xff];
        assert!(dec_array(&mut Reader::new(&huge), u32::MAX, i32::decode).is_err());
        assert!(matches!(
            from_bytes::<i32>(&[0, 0, 0, 1, 0]),
            Err(XdrError::TrailingBytes(1))
        ));
    }
}
