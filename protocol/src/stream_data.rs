//! The module program's stream SEND arguments without the copies the generated type
//! makes: upload data is encoded straight after its stream id and read back as a slice
//! of the caller's buffer. The layout is `rvirt_stream_send_args`'s (the tests below
//! hold the two equal), so the generated type stays the definition.

use crate::xdr::{dec_opaque_ref, enc_opaque, Reader, Xdr, XdrError};

/// `rvirt_stream_send_args { stream, data }`, encoded with one copy of `data`.
pub fn encode_send(stream: u64, data: &[u8]) -> Vec<u8> {
    let mut w = Vec::with_capacity(8 + 4 + data.len() + 3);
    stream.encode(&mut w);
    enc_opaque(&mut w, data);
    w
}

/// Reads `rvirt_stream_send_args`, borrowing the data from `args`.
pub fn decode_send(args: &[u8]) -> Result<(u64, &[u8]), XdrError> {
    let mut r = Reader::new(args);
    let stream = u64::decode(&mut r)?;
    let max = u32::try_from(crate::RVIRT_STREAM_DATA_MAX).unwrap_or(u32::MAX);
    let data = dec_opaque_ref(&mut r, max)?;
    r.finish()?;
    Ok((stream, data))
}

/// Checks that a buffer decodes as the generated type would decode it (tests only).
#[cfg(test)]
fn generated(args: &[u8]) -> Result<crate::RvirtStreamSendArgs, XdrError> {
    crate::xdr::from_bytes(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::to_bytes;
    use crate::RvirtStreamSendArgs;

    #[test]
    fn encodes_as_the_generated_type() {
        for len in [0usize, 1, 3, 4, 5, 65_536, 262_147] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let want = to_bytes(&RvirtStreamSendArgs {
                stream: 0x0102_0304_0506_0708,
                data: data.clone(),
            });
            let got = encode_send(0x0102_0304_0506_0708, &data);
            assert_eq!(got, want, "length {len}");
            let (id, back) = decode_send(&got).expect("decodes");
            assert_eq!((id, back), (0x0102_0304_0506_0708, &data[..]));
            assert_eq!(generated(&got).expect("generated decodes").data, data);
        }
    }

    #[test]
    fn refuses_what_the_generated_type_refuses() {
        let good = encode_send(7, b"abcde");
        let cases: Vec<Vec<u8>> = vec![
            good[..good.len() - 1].to_vec(),     // truncated padding
            [&good[..], &[0u8; 4][..]].concat(), // trailing bytes
            {
                let mut b = good.clone();
                *b.last_mut().unwrap() = 1; // padding not zero
                b
            },
            {
                let mut b = encode_send(7, b"");
                b[8..12].copy_from_slice(&u32::MAX.to_be_bytes()); // length past the limit
                b
            },
        ];
        for c in cases {
            assert_eq!(decode_send(&c).err(), generated(&c).err(), "{c:?}");
            assert!(decode_send(&c).is_err());
        }
    }
}
