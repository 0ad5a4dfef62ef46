//! Just enough XDR (RFC 4506) by hand: big-endian words, padded strings, optionals.

pub fn u32(w: &mut Vec<u8>, v: u32) {
    w.extend_from_slice(&v.to_be_bytes());
}

pub fn i32(w: &mut Vec<u8>, v: i32) {
    w.extend_from_slice(&v.to_be_bytes());
}

pub fn u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_be_bytes());
}

pub fn bool(w: &mut Vec<u8>, v: bool) {
    u32(w, u32::from(v));
}

/// Length, bytes, zero padding to a multiple of four.
pub fn string(w: &mut Vec<u8>, s: &str) {
    u32(w, s.len() as u32);
    w.extend_from_slice(s.as_bytes());
    w.resize(w.len().next_multiple_of(4), 0);
}

/// An absent optional (`T *x` in XDR).
pub fn none(w: &mut Vec<u8>) {
    u32(w, 0);
}

/// libvirt's `remote_error`: code, domain, message (optional string), level, dom
/// (optional domain), str1..str3 (optional strings), int1, int2, net (optional network).
pub fn remote_error(code: i32, domain: i32, message: &str) -> Vec<u8> {
    const VIR_ERR_ERROR: i32 = 2;
    let mut w = Vec::new();
    i32(&mut w, code);
    i32(&mut w, domain);
    u32(&mut w, 1);
    string(&mut w, message);
    i32(&mut w, VIR_ERR_ERROR);
    none(&mut w); // dom
    (0..3).for_each(|_| none(&mut w)); // str1, str2, str3
    i32(&mut w, -1); // int1
    i32(&mut w, -1); // int2
    none(&mut w); // net
    w
}

/// Reads XDR values from a byte slice; `None` on truncation or bad UTF-8.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    pub fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn string(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        let bytes = self.take(len)?;
        self.take(len.next_multiple_of(4) - len)?;
        String::from_utf8(bytes.to_vec()).ok()
    }
}
