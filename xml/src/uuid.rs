//! 128-bit UUIDs as libvirt writes them.

use std::fmt;
use std::io::Read;

use crate::XmlError;

/// A 16-byte UUID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// Parses the dashed form, or 32 hex digits with optional dashes or
    /// spaces between bytes (as libvirt accepts), case-insensitive.
    pub fn parse(s: &str) -> Result<Uuid, XmlError> {
        let bad = || XmlError::invalid("uuid", s);
        let mut out = [0u8; 16];
        let mut digits = s
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_digit(16).ok_or_else(bad));
        for byte in out.iter_mut() {
            let hi = digits.next().ok_or_else(bad)??;
            let lo = digits.next().ok_or_else(bad)??;
            *byte = (hi * 16 + lo) as u8;
        }
        if digits.next().is_some() {
            return Err(bad());
        }
        Ok(Uuid(out))
    }

    /// A random version-4 UUID from /dev/urandom.
    pub fn random() -> Uuid {
        let mut b = [0u8; 16];
        let filled = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut b))
            .is_ok();
        if !filled {
            fallback_fill(&mut b);
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Uuid(b)
    }
}

/// Used only when /dev/urandom is unavailable: mixes time and a counter.
fn fallback_fill(b: &mut [u8; 16]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    for chunk in b.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let u = Uuid::parse("6695eb01-f6a4-8304-79aa-97f2502e193f").unwrap();
        assert_eq!(u.to_string(), "6695eb01-f6a4-8304-79aa-97f2502e193f");
        let u = Uuid::parse("EF86180145B911CB88E3AFBFE5370493").unwrap();
        assert_eq!(u.to_string(), "ef861801-45b9-11cb-88e3-afbfe5370493");
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(Uuid::parse("xyz").is_err());
        assert!(Uuid::parse("6695eb01-f6a4-8304-79aa-97f2502e193f00").is_err());
        assert!(Uuid::parse("6695eb01-f6a4-8304-79aa-97f2502e193").is_err());
    }

    #[test]
    fn random_is_v4() {
        let a = Uuid::random();
        let b = Uuid::random();
        assert_ne!(a, b);
        assert_eq!(a.0[6] >> 4, 4);
        assert_eq!(a.0[8] >> 6, 2);
    }
}
