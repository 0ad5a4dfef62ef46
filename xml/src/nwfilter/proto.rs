//! The protocol elements of a `<rule>` (`<mac>`, `<tcp>`, `<icmpv6>`, ...) as data: each
//! is a name and its attributes, in the order libvirt writes them, with the kind of value
//! each takes. One generic check ([`parse`]) refuses a bad value with libvirt's wording,
//! normalises the value as libvirt stores it (lower-case MACs, masks as prefix lengths,
//! well-known numbers as names) and drops what the table does not name.
//!
//! These kinds are nwfilter's own (address masks, ethertypes, TCP flags, variables like
//! `$IP`) and its errors are worded apart from libvirt's generic XML ones, so the tables
//! live here rather than as new `spec::Value` kinds.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::tree::Element;
use crate::XmlError;

/// What one attribute of a protocol element holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (`comment`, `ipset`).
    Text,
    /// A MAC address (or mask), written in lower case.
    Mac,
    /// An IPv4 address.
    Ip4,
    /// An IPv4 mask: a prefix length or a dotted mask, written as a prefix length.
    Ip4Mask,
    /// An IPv6 address.
    Ip6,
    /// An IPv6 mask: a prefix length or an address-form mask, written as a prefix length.
    Ip6Mask,
    /// An unsigned number up to the given maximum, decimal or `0x` hex (kept as written).
    Num(u32),
    /// An ethertype: a name (`ipv4`, `arp`, ...) or a number of at least 0x600.
    EtherType,
    /// An IPv4 protocol: a name or its number (libvirt takes IPv6's names too).
    IpProto,
    /// An IPv6 protocol: a name or its number (libvirt takes IPv4's names too).
    Ip6Proto,
    /// An ARP opcode: a name or its number.
    Opcode,
    /// `true`/`false` (or 1/0, yes/no), written `true`/`false`.
    Bool,
    /// Connection states: a comma-separated list of NEW, ESTABLISHED, ... or NONE.
    State,
    /// TCP flags: `MASK/FLAGS`, each a comma-separated list of flag names.
    TcpFlags,
    /// ipset flags: up to six comma-separated `src`/`dst`.
    IpsetFlags,
}

use Kind::*;

type Attrs = &'static [(&'static str, Kind)];

const U8: Kind = Num(0xff);
const U16: Kind = Num(0xffff);
const U32: Kind = Num(u32::MAX);

const MAC4: [(&str, Kind); 4] = [
    ("srcmacaddr", Mac),
    ("srcmacmask", Mac),
    ("dstmacaddr", Mac),
    ("dstmacmask", Mac),
];

macro_rules! attrs {
    ($($group:expr),* $(,)?) => {{
        const LIST: &[(&str, Kind)] = &konst_concat!($($group),*);
        LIST
    }};
}

/// Concatenates const arrays of attributes (a const-friendly flatten).
macro_rules! konst_concat {
    ($($group:expr),*) => {{
        const N: usize = 0 $(+ $group.len())*;
        const OUT: [(&str, Kind); N] = {
            let mut out = [("", Text); N];
            let mut i = 0;
            $(
                let g = $group;
                let mut j = 0;
                while j < g.len() {
                    out[i] = g[j];
                    i += 1;
                    j += 1;
                }
            )*
            let _ = i;
            out
        };
        OUT
    }};
}

const PORTS: [(&str, Kind); 4] = [
    ("srcportstart", U16),
    ("srcportend", U16),
    ("dstportstart", U16),
    ("dstportend", U16),
];
const COMMENT: [(&str, Kind); 1] = [("comment", Text)];

/// The address part of the layer-4 elements over IPv4 or IPv6. libvirt 9.0 reads
/// `dstipto` of the IPv6 variants as an IPv4 address (so an IPv6 one is refused there).
const fn l4_addrs(addr: Kind, mask: Kind, last: Kind) -> [(&'static str, Kind); 9] {
    [
        ("srcmacaddr", Mac),
        ("srcipaddr", addr),
        ("srcipmask", mask),
        ("dstipaddr", addr),
        ("dstipmask", mask),
        ("srcipfrom", addr),
        ("srcipto", addr),
        ("dstipfrom", addr),
        ("dstipto", last),
    ]
}
const L4_V4: [(&str, Kind); 9] = l4_addrs(Ip4, Ip4Mask, Ip4);
const L4_V6: [(&str, Kind); 9] = l4_addrs(Ip6, Ip6Mask, Ip4);
const L4_COMMON: [(&str, Kind); 3] = [
    ("dscp", Num(63)),
    ("connlimit-above", U16),
    ("state", State),
];
const IPSET: [(&str, Kind); 2] = [("ipset", Text), ("ipsetflags", IpsetFlags)];
const ICMP: [(&str, Kind); 2] = [("type", U8), ("code", U8)];
const FLAGS: [(&str, Kind); 1] = [("flags", TcpFlags)];

const STP: [(&str, Kind); 21] = [
    ("type", U8),
    ("flags", U8),
    ("root-priority", U16),
    ("root-priority-hi", U16),
    ("root-address", Mac),
    ("root-address-mask", Mac),
    ("root-cost", U32),
    ("root-cost-hi", U32),
    ("sender-priority", U16),
    ("sender-priority-hi", U16),
    ("sender-address", Mac),
    ("sender-address-mask", Mac),
    ("port", U16),
    ("port-hi", U16),
    ("max-age", U16),
    ("max-age-hi", U16),
    ("hello-time", U16),
    ("hello-time-hi", U16),
    ("forward-delay", U16),
    ("forward-delay-hi", U16),
    ("comment", Text),
];

const ARP: [(&str, Kind); 11] = [
    ("hwtype", U16),
    ("protocoltype", U16),
    ("opcode", Opcode),
    ("arpsrcmacaddr", Mac),
    ("arpdstmacaddr", Mac),
    ("arpsrcipaddr", Ip4),
    ("arpsrcipmask", Ip4Mask),
    ("arpdstipaddr", Ip4),
    ("arpdstipmask", Ip4Mask),
    ("gratuitous", Bool),
    ("comment", Text),
];

/// Every protocol element a rule may hold, with its attributes in libvirt's order.
/// Left out because libvirt 9.0 does not write them: `<stp>`'s `msg-age`/`msg-age-hi`,
/// `ipset`/`ipsetflags` except on `<all>`, and `flags` of `<tcp-ipv6>`.
pub const PROTOCOLS: &[(&str, Attrs)] = &[
    ("mac", attrs!(MAC4, [("protocolid", EtherType)], COMMENT)),
    (
        "vlan",
        attrs!(
            MAC4,
            [("vlanid", Num(4095)), ("encap-protocol", EtherType)],
            COMMENT
        ),
    ),
    (
        "stp",
        attrs!([("srcmacaddr", Mac), ("srcmacmask", Mac)], STP),
    ),
    ("arp", attrs!(MAC4, ARP)),
    ("rarp", attrs!(MAC4, ARP)),
    (
        "ip",
        attrs!(
            MAC4,
            [
                ("srcipaddr", Ip4),
                ("srcipmask", Ip4Mask),
                ("dstipaddr", Ip4),
                ("dstipmask", Ip4Mask),
                ("protocol", IpProto)
            ],
            PORTS,
            [("dscp", Num(63))],
            COMMENT
        ),
    ),
    (
        "ipv6",
        attrs!(
            MAC4,
            [
                ("srcipaddr", Ip6),
                ("srcipmask", Ip6Mask),
                ("dstipaddr", Ip6),
                ("dstipmask", Ip6Mask),
                ("protocol", Ip6Proto)
            ],
            PORTS,
            [("type", U8), ("typeend", U8), ("code", U8), ("codeend", U8)],
            COMMENT
        ),
    ),
    ("tcp", attrs!(L4_V4, L4_COMMON, PORTS, FLAGS, COMMENT)),
    ("udp", attrs!(L4_V4, L4_COMMON, PORTS, COMMENT)),
    ("sctp", attrs!(L4_V4, L4_COMMON, PORTS, COMMENT)),
    ("udplite", attrs!(L4_V4, L4_COMMON, COMMENT)),
    ("esp", attrs!(L4_V4, L4_COMMON, COMMENT)),
    ("ah", attrs!(L4_V4, L4_COMMON, COMMENT)),
    ("all", attrs!(L4_V4, L4_COMMON, IPSET, COMMENT)),
    ("icmp", attrs!(L4_V4, L4_COMMON, ICMP, COMMENT)),
    ("igmp", attrs!(L4_V4, L4_COMMON, COMMENT)),
    ("tcp-ipv6", attrs!(L4_V6, L4_COMMON, PORTS, COMMENT)),
    ("udp-ipv6", attrs!(L4_V6, L4_COMMON, PORTS, COMMENT)),
    ("sctp-ipv6", attrs!(L4_V6, L4_COMMON, PORTS, COMMENT)),
    ("udplite-ipv6", attrs!(L4_V6, L4_COMMON, COMMENT)),
    ("esp-ipv6", attrs!(L4_V6, L4_COMMON, COMMENT)),
    ("ah-ipv6", attrs!(L4_V6, L4_COMMON, COMMENT)),
    ("all-ipv6", attrs!(L4_V6, L4_COMMON, IPSET, COMMENT)),
    ("icmpv6", attrs!(L4_V6, L4_COMMON, ICMP, COMMENT)),
];

const ETHERTYPES: &[(&str, u32)] = &[
    ("arp", 0x0806),
    ("rarp", 0x8035),
    ("ipv4", 0x0800),
    ("ipv6", 0x86dd),
];
const IP_PROTOS: &[(&str, u32)] = &[
    ("tcp", 6),
    ("icmp", 1),
    ("igmp", 2),
    ("udp", 17),
    ("udplite", 136),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", 58),
    ("sctp", 132),
];
const OPCODES: &[(&str, u32)] = &[
    ("Request", 1),
    ("Reply", 2),
    ("Request_Reverse", 3),
    ("Reply_Reverse", 4),
    ("DRARP_Request", 5),
    ("DRARP_Reply", 6),
    ("DRARP_Error", 7),
    ("InARP_Request", 8),
    ("ARP_NAK", 10),
];
const STATES: &[&str] = &["NEW", "ESTABLISHED", "RELATED", "INVALID", "NONE"];
const TCP_FLAGS: &[&str] = &["SYN", "ACK", "URG", "PSH", "FIN", "RST", "ALL", "NONE"];

/// A number as libvirt reads it: decimal, or hex with `0x`; `(value, was hex)`.
fn number(v: &str) -> Option<(u32, bool)> {
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) if !h.is_empty() => u32::from_str_radix(h, 16).ok().map(|n| (n, true)),
        Some(_) => None,
        None if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse().ok().map(|n| (n, false))
        }
        None => None,
    }
}

fn named(v: &str, names: &[(&str, u32)], min: u32, max: u32) -> Option<String> {
    if let Some((n, _)) = names.iter().find(|(n, _)| *n == v) {
        return Some(n.to_string());
    }
    let (n, hex) = number(v).filter(|(n, _)| (min..=max).contains(n))?;
    Some(match names.iter().find(|(_, x)| *x == n) {
        Some((name, _)) => name.to_string(),
        None if hex => format!("0x{n:x}"),
        None => n.to_string(),
    })
}

fn mac(v: &str) -> Option<String> {
    let parts: Vec<&str> = v.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then(|| {
        let bytes: Vec<String> = parts
            .iter()
            .map(|p| format!("{:02x}", u8::from_str_radix(p, 16).unwrap_or(0)))
            .collect();
        bytes.join(":")
    })
}

fn prefix_of(bits: u128, width: u32) -> Option<u32> {
    let ones = bits.leading_ones();
    (bits.count_ones() == ones).then_some(ones.min(width))
}

fn mask(v: &str, v6: bool) -> Option<String> {
    let width = if v6 { 128 } else { 32 };
    if let Ok(n) = v.parse::<u32>() {
        return (n <= width).then(|| n.to_string());
    }
    let bits = if v6 {
        u128::from(v.parse::<Ipv6Addr>().ok()?)
    } else {
        u128::from(u32::from(v.parse::<Ipv4Addr>().ok()?)) << 96
    };
    prefix_of(bits, width).map(|n| n.to_string())
}

fn word_list(v: &str, words: &[&str], max: usize) -> bool {
    let parts: Vec<&str> = v.split(',').collect();
    parts.len() <= max && parts.iter().all(|p| words.contains(p))
}

/// `v` as libvirt stores a value of kind `k`, or `None` when it is not one.
fn normalise(k: Kind, v: &str) -> Option<String> {
    match k {
        Text => Some(v.to_string()),
        Mac => mac(v),
        Ip4 => v.parse::<Ipv4Addr>().ok().map(|a| a.to_string()),
        Ip6 => v.parse::<Ipv6Addr>().ok().map(|a| a.to_string()),
        Ip4Mask => mask(v, false),
        Ip6Mask => mask(v, true),
        Num(max) => number(v).filter(|(n, _)| *n <= max).map(|_| v.to_string()),
        EtherType => named(v, ETHERTYPES, 0x600, 0xffff),
        IpProto => named(v, IP_PROTOS, 0, 255),
        Ip6Proto => named(v, IP_PROTOS, 0, 255),
        Opcode => named(v, OPCODES, 0, 0xffff),
        Bool => match v {
            "true" | "1" | "yes" => Some("true".into()),
            "false" | "0" | "no" => Some("false".into()),
            _ => None,
        },
        State => word_list(v, STATES, STATES.len()).then(|| v.to_string()),
        TcpFlags => {
            let (m, f) = v.split_once('/')?;
            (word_list(m, TCP_FLAGS, 8) && word_list(f, TCP_FLAGS, 8)).then(|| v.to_string())
        }
        IpsetFlags => word_list(v, &["src", "dst"], 6).then(|| v.to_string()),
    }
}

/// Whether `v` names a filter variable (`$IP`, `$MAC[@1]`, `$X[2]`) rather than a value.
fn is_variable(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('$') else {
        return false;
    };
    let (name, index) = match rest.split_once('[') {
        Some((n, i)) => (n, Some(i)),
        None => (rest, None),
    };
    let name_ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let index_ok = index.is_none_or(|i| {
        let i = i.strip_suffix(']').unwrap_or("x");
        let i = i.strip_prefix('@').unwrap_or(i);
        !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit())
    });
    name_ok && index_ok
}

/// The attributes `name` (a protocol element) takes, or `None` when it is not one.
pub fn attributes(name: &str) -> Option<Attrs> {
    PROTOCOLS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// Checks one protocol element against its table and returns it as libvirt keeps it:
/// known attributes only, in libvirt's order, values normalised; `match='no'` first.
pub fn parse(e: &Element, attrs: Attrs) -> Result<Element, XmlError> {
    let mut out = Element {
        name: e.name.clone(),
        ..Element::default()
    };
    for (name, kind) in attrs.iter().filter(|(n, _)| !n.is_empty()) {
        let Some(v) = e.attr(name) else { continue };
        let value = if *kind != Text && is_variable(v) {
            Some(v.to_string())
        } else {
            normalise(*kind, v)
        };
        let value =
            value.ok_or_else(|| XmlError::Internal(format!("{name} has illegal value {v}")))?;
        out.attrs.push((name.to_string(), value));
    }
    if e.attr("match") == Some("no") && !out.attrs.is_empty() {
        out.attrs.insert(0, ("match".into(), "no".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_normalised_like_libvirt() {
        assert_eq!(
            normalise(Mac, "AA:bb:0:1:2:3").as_deref(),
            Some("aa:bb:00:01:02:03")
        );
        assert_eq!(normalise(Ip4Mask, "255.255.255.0").as_deref(), Some("24"));
        assert_eq!(normalise(Ip6Mask, "ffff:ffff::").as_deref(), Some("32"));
        assert_eq!(normalise(EtherType, "0x0806").as_deref(), Some("arp"));
        assert_eq!(normalise(EtherType, "0x86dd").as_deref(), Some("ipv6"));
        assert_eq!(normalise(IpProto, "17").as_deref(), Some("udp"));
        assert_eq!(normalise(Opcode, "1").as_deref(), Some("Request"));
        assert_eq!(normalise(Num(0xffff), "0x35").as_deref(), Some("0x35"));
        assert_eq!(normalise(Num(0xffff), "70000"), None);
        assert_eq!(normalise(Num(63), "64"), None);
        assert_eq!(
            normalise(State, "NEW,ESTABLISHED").as_deref(),
            Some("NEW,ESTABLISHED")
        );
        assert_eq!(normalise(State, "BOGUS"), None);
        assert!(is_variable("$IP") && is_variable("$MAC[@1]") && !is_variable("$"));
    }

    #[test]
    fn tables_cover_every_protocol() {
        assert_eq!(PROTOCOLS.len(), 24);
        let tcp = attributes("tcp").unwrap();
        assert_eq!(tcp.first().map(|a| a.0), Some("srcmacaddr"));
        assert_eq!(tcp.last().map(|a| a.0), Some("comment"));
        assert!(attributes("bogus").is_none());
    }
}
