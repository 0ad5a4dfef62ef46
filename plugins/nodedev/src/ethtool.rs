//! A network interface's offload features through the `SIOCETHTOOL` ioctl, named as
//! libvirt's node device XML names them (`<feature name='tso'/>`).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const GRXCSUM: u32 = 0x14;
const GTXCSUM: u32 = 0x16;
const GSG: u32 = 0x18;
const GTSO: u32 = 0x1e;
const GGSO: u32 = 0x23;
const GFLAGS: u32 = 0x25;
const GGRO: u32 = 0x2b;
const GSTRINGS: u32 = 0x1b;
const GSSET_INFO: u32 = 0x37;
const GFEATURES: u32 = 0x3a;
const SS_FEATURES: u32 = 4;
const STRING_LEN: usize = 32;

/// `struct ifreq` with its data pointer (the kernel's union is 24 bytes).
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// An `AF_INET` datagram socket to issue the ioctl on.
fn socket() -> Option<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; a non-negative result is a new descriptor
    // that nothing else owns.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Runs one ethtool command whose structure is `buf` (first word: the command).
fn ethtool(sock: &OwnedFd, ifname: &str, buf: &mut [u32]) -> bool {
    let mut req = IfReq {
        name: [0; 16],
        data: buf.as_mut_ptr().cast(),
        _pad: [0; 16],
    };
    let n = ifname.len().min(15);
    req.name[..n].copy_from_slice(&ifname.as_bytes()[..n]);
    // SAFETY: `req` is a valid ifreq whose data points at `buf`, which is as large as
    // the structure the command in its first word reads and writes (the callers size
    // it from the kernel's own counts); both outlive the call.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL as _, &mut req) };
    r == 0
}

fn value(sock: &OwnedFd, ifname: &str, cmd: u32) -> Option<u32> {
    let mut buf = [cmd, 0];
    ethtool(sock, ifname, &mut buf).then_some(buf[1])
}

/// Whether the "tx-udp_tnl-segmentation" feature is active.
fn udp_tunnel_active(sock: &OwnedFd, ifname: &str) -> bool {
    let mut info = [GSSET_INFO, 0, 1 << SS_FEATURES, 0, 0];
    if !ethtool(sock, ifname, &mut info) || info[2] & (1 << SS_FEATURES) == 0 {
        return false;
    }
    let count = info[4] as usize;
    let mut strings = vec![0u32; 3 + count * STRING_LEN / 4];
    strings[0] = GSTRINGS;
    strings[1] = SS_FEATURES;
    strings[2] = count as u32;
    if !ethtool(sock, ifname, &mut strings) {
        return false;
    }
    let bytes: Vec<u8> = strings[3..].iter().flat_map(|w| w.to_ne_bytes()).collect();
    let Some(idx) = bytes.chunks(STRING_LEN).position(|s| {
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        &s[..end] == b"tx-udp_tnl-segmentation"
    }) else {
        return false;
    };
    let blocks = count.div_ceil(32);
    let mut feats = vec![0u32; 2 + blocks * 4];
    feats[0] = GFEATURES;
    feats[1] = blocks as u32;
    if !ethtool(sock, ifname, &mut feats) {
        return false;
    }
    let active = feats[2 + (idx / 32) * 4 + 2];
    active & (1 << (idx % 32)) != 0
}

/// The features of `ifname` in libvirt's order; empty when the interface cannot be asked.
pub fn features(ifname: &str) -> Vec<&'static str> {
    let Some(sock) = socket() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let simple = [
        (GRXCSUM, "rx"),
        (GTXCSUM, "tx"),
        (GSG, "sg"),
        (GTSO, "tso"),
        (GGSO, "gso"),
        (GGRO, "gro"),
    ];
    for (cmd, name) in simple {
        if value(&sock, ifname, cmd).is_some_and(|v| v != 0) {
            out.push(name);
        }
    }
    if let Some(flags) = value(&sock, ifname, GFLAGS) {
        let named = [
            (1 << 15, "lro"),
            (1 << 8, "rxvlan"),
            (1 << 7, "txvlan"),
            (1 << 27, "ntuple"),
            (1 << 28, "rxhash"),
        ];
        out.extend(
            named
                .iter()
                .filter(|(b, _)| flags & b != 0)
                .map(|(_, n)| *n),
        );
    }
    if udp_tunnel_active(&sock, ifname) {
        out.push("txudptnl");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_has_features_and_a_missing_link_none() {
        let lo = super::features("lo");
        assert!(lo.contains(&"sg"), "{lo:?}");
        assert!(super::features("rvirt-none0").is_empty());
    }
}
