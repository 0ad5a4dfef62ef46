//! IP addresses as libvirt's socket-address helpers read, print and compare them:
//! numeric host forms only (IPv4 in `inet_aton`'s shapes, so `10.1` and `010.0.0.1`
//! count), printed back canonically, with prefixes, masks and range checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::XmlError;

/// libvirt's `VIR_ERR_INTERNAL_ERROR`.
const INTERNAL_ERROR: i32 = 1;
/// libvirt's `VIR_ERR_SYSTEM_ERROR`.
const SYSTEM_ERROR: i32 = 38;
/// libvirt's `VIR_FROM_NONE`: the socket helpers report without a domain.
const FROM_NONE: i32 = 0;

/// One part of an `inet_aton` address: decimal, `0x` hexadecimal or `0` octal.
fn aton_part(p: &str) -> Option<u64> {
    if p.is_empty() {
        return None;
    }
    let (digits, radix) = match p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None if p.len() > 1 && p.starts_with('0') => (&p[1..], 8),
        None => (p, 10),
    };
    if digits.is_empty() && radix == 16 {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// An IPv4 address in any of `inet_aton`'s 1- to 4-part forms.
fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u64> = s.split('.').map(aton_part).collect::<Option<_>>()?;
    let (head, last) = parts.split_last().map(|(l, h)| (h, *l))?;
    if head.len() > 3 || head.iter().any(|&p| p > 255) {
        return None;
    }
    let rest_bits = 8 * (4 - head.len() as u32);
    if rest_bits < 64 && last >> rest_bits != 0 {
        return None;
    }
    let mut v: u32 = 0;
    for (i, p) in head.iter().enumerate() {
        v |= (*p as u32) << (24 - 8 * i);
    }
    Some(Ipv4Addr::from(v | last as u32))
}

/// Parses a numeric address; `None` when it is not one.
pub fn parse(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    parse_v4(s).map(IpAddr::V4)
}

/// Parses an address, failing with the socket helpers' own error when it is not one.
pub fn parse_or_system(s: &str) -> Result<IpAddr, XmlError> {
    parse(s).ok_or_else(|| {
        XmlError::reported(
            SYSTEM_ERROR,
            Some(FROM_NONE),
            format!("Cannot parse socket address '{s}': Name or service not known"),
        )
    })
}

/// An internal error from libvirt's socket-address helpers.
pub fn internal(msg: impl std::fmt::Display) -> XmlError {
    XmlError::reported(
        INTERNAL_ERROR,
        Some(FROM_NONE),
        format!("internal error: {msg}"),
    )
}

/// The number of leading one bits of a contiguous netmask, `None` otherwise.
pub fn mask_bits(mask: &IpAddr) -> Option<u32> {
    let (v, width) = match mask {
        IpAddr::V4(m) => (u128::from(u32::from(*m)) << 96, 32),
        IpAddr::V6(m) => (u128::from(*m), 128),
    };
    let ones = v.leading_ones();
    (v.checked_shl(ones).unwrap_or(0) == 0 && ones <= width).then_some(ones)
}

/// The prefix libvirt uses for `address`: the given one, else the netmask's, else the
/// address class's natural one (IPv4) or 64 (IPv6); `None` where libvirt has -1.
pub fn effective_prefix(address: &IpAddr, netmask: Option<&IpAddr>, prefix: u32) -> Option<u32> {
    if prefix > 0 {
        return Some(prefix);
    }
    if let Some(m) = netmask {
        return mask_bits(m);
    }
    match address {
        IpAddr::V4(a) => match a.octets()[0] {
            o if o & 0x80 == 0 => Some(8),
            o if o & 0xC0 == 0x80 => Some(16),
            o if o & 0xE0 == 0xC0 => Some(24),
            _ => None,
        },
        IpAddr::V6(_) => Some(64),
    }
}

/// `a` with all but its first `prefix` bits cleared; `None` past the address width.
pub fn mask_by_prefix(a: &IpAddr, prefix: u32) -> Option<IpAddr> {
    match a {
        IpAddr::V4(v) if prefix <= 32 => {
            let m = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            Some(IpAddr::V4(Ipv4Addr::from(u32::from(*v) & m)))
        }
        IpAddr::V6(v) if prefix <= 128 => {
            let m = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            Some(IpAddr::V6(Ipv6Addr::from(u128::from(*v) & m)))
        }
        _ => None,
    }
}

/// `a` masked with `mask` bit by bit; `None` when their families differ.
pub fn mask_with(a: &IpAddr, mask: &IpAddr) -> Option<IpAddr> {
    match (a, mask) {
        (IpAddr::V4(v), IpAddr::V4(m)) => {
            Some(IpAddr::V4(Ipv4Addr::from(u32::from(*v) & u32::from(*m))))
        }
        (IpAddr::V6(v), IpAddr::V6(m)) => {
            Some(IpAddr::V6(Ipv6Addr::from(u128::from(*v) & u128::from(*m))))
        }
        _ => None,
    }
}

fn bits(a: &IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(*v)),
        IpAddr::V6(v) => u128::from(*v),
    }
}

/// The network a range must lie in: its address and prefix (as libvirt has it, possibly
/// none).
pub struct Net<'a> {
    /// The network's own address, as written.
    pub address: &'a IpAddr,
    /// Its prefix; `None` is libvirt's "bad prefix -1".
    pub prefix: Option<u32>,
}

/// Checks `start`..`end` as libvirt's range helper does: one family, inside `net` when
/// given (and, for IPv4, off its network and broadcast addresses), in order, and at most
/// 65535 addresses that differ only in their last 16 bits.
pub fn check_range(start: &IpAddr, end: &IpAddr, net: Option<Net<'_>>) -> Result<(), XmlError> {
    let r = format!("{start} - {end}");
    if start.is_ipv4() != end.is_ipv4() {
        return Err(internal(format!("mismatch of address family in range {r}")));
    }
    if let Some(n) = net {
        check_in_network(start, end, &r, &n)?;
    }
    let (s, e) = (bits(start), bits(end));
    if s >> 16 != e >> 16 {
        return Err(internal(format!("range {r} is too large (> 65535)")));
    }
    if e < s {
        return Err(internal(format!("range {r} is reversed ")));
    }
    Ok(())
}

fn check_in_network(start: &IpAddr, end: &IpAddr, r: &str, n: &Net<'_>) -> Result<(), XmlError> {
    let Some(prefix) = n.prefix else {
        return Err(internal(format!(
            "bad prefix -1 for network {} when  checking range {r}",
            n.address
        )));
    };
    let net = format!("{}/{prefix}", n.address);
    let base = mask_by_prefix(n.address, prefix);
    let inside =
        |a: &IpAddr| a.is_ipv4() == n.address.is_ipv4() && mask_by_prefix(a, prefix) == base;
    if !inside(start) || !inside(end) {
        return Err(internal(format!(
            "range {r} is not entirely within network {net}"
        )));
    }
    if let (IpAddr::V4(_), Some(b)) = (n.address, base) {
        let broadcast = bits(&b) | ((1u128 << (32 - prefix)) - 1);
        if bits(start) == bits(&b) {
            return Err(internal(format!(
                "start of range {r} in network {net} is the network address"
            )));
        }
        if bits(end) == broadcast {
            return Err(internal(format!(
                "end of range {r} in network {net} is the broadcast address"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        parse(s).unwrap()
    }

    #[test]
    fn numeric_forms_like_getaddrinfo() {
        assert_eq!(ip("010.1.1.1").to_string(), "8.1.1.1");
        assert_eq!(ip("10.1").to_string(), "10.0.0.1");
        assert_eq!(ip("0x7f.1").to_string(), "127.0.0.1");
        assert_eq!(ip("FD00:0:0::01").to_string(), "fd00::1");
        for bad in [
            "",
            " 10.1.1.1",
            "1.2.3.256",
            "not-an-ip",
            "1..2",
            "1.2.3.4.5",
            "08.1.1.1",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(mask_bits(&ip("255.255.255.0")), Some(24));
        assert_eq!(mask_bits(&ip("255.0.255.0")), None);
        assert_eq!(effective_prefix(&ip("10.1.1.1"), None, 0), Some(8));
        assert_eq!(effective_prefix(&ip("172.16.1.1"), None, 0), Some(16));
        assert_eq!(effective_prefix(&ip("240.0.0.1"), None, 0), None);
        assert_eq!(effective_prefix(&ip("fd00::1"), None, 0), Some(64));
    }

    #[test]
    fn ranges_worded_like_libvirt() {
        let a = ip("192.168.1.1");
        let net = || {
            Some(Net {
                address: &a,
                prefix: Some(24),
            })
        };
        let err = |s: &str, e: &str| check_range(&ip(s), &ip(e), net()).unwrap_err().to_string();
        assert_eq!(
            err("192.168.1.10", "192.168.1.5"),
            "internal error: range 192.168.1.10 - 192.168.1.5 is reversed "
        );
        assert_eq!(
            err("192.168.1.0", "192.168.1.5"),
            "internal error: start of range 192.168.1.0 - 192.168.1.5 in network 192.168.1.1/24 is the network address"
        );
        assert_eq!(
            err("192.168.1.2", "192.168.1.255"),
            "internal error: end of range 192.168.1.2 - 192.168.1.255 in network 192.168.1.1/24 is the broadcast address"
        );
        assert!(check_range(&ip("192.168.1.1"), &ip("192.168.1.1"), net()).is_ok());
        assert_eq!(
            check_range(&ip("10.0.0.2"), &ip("10.1.0.0"), None)
                .unwrap_err()
                .to_string(),
            "internal error: range 10.0.0.2 - 10.1.0.0 is too large (> 65535)"
        );
    }
}
