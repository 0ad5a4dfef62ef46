//! Traffic shaping with `tc`, as libvirt 9.0 does it: a network's `<bandwidth>` on its
//! bridge (inbound: an htb root qdisc with the class hierarchy ports' `floor` needs;
//! outbound: policing on an ingress qdisc), and the bridge side of a port's `floor` (a
//! class of its own under 1:1, a filter on the guest's MAC). The port's own rates belong
//! on the guest's tap, which the hypervisor driver makes.
//!
//! The argument builders are pure; [`run_all`] runs their commands with the real tool.

use rvirt_xml::network::netdev::{Bandwidth, Rate};
use rvirt_xml::network::tc::{self, cmd, kbps, quantum};
pub use rvirt_xml::network::tc::{clear, Cmd};

use crate::error::NetError;
use crate::host;

/// The `ceil` of classes under a network's 1:1: its inbound peak, else its average.
fn net_ceil(net_in: &Rate) -> String {
    kbps(if net_in.peak != 0 {
        net_in.peak
    } else {
        net_in.average
    })
}

/// The commands shaping a network's bridge `br`: libvirt's hierarchical classes, so
/// that ports can get a `floor`.
pub fn network_set(br: &str, bw: &Bandwidth) -> Vec<Cmd> {
    tc::shape(br, bw, true)
}

/// The u32 filter handle of class `id`: in hash table 800 (u32's own), node 800 + ID.
fn filter_handle(id: u32) -> String {
    format!("800::{}", 800 + id)
}

/// The commands giving a port with MAC `mac` its guaranteed `floor` on bridge `br`
/// (libvirt's `virNetDevBandwidthPlug`): class `1:ID` under 1:1, an sfq under it, and a
/// filter sending IPv4 frames for that MAC there. `id` is above 2.
pub fn plug(br: &str, net_in: &Rate, mac: &[u8; 6], port_in: &Rate, id: u32) -> Vec<Cmd> {
    let class = format!("1:{id:x}");
    let m1 = format!("0x{:02x}{:02x}{:02x}{:02x}", mac[2], mac[3], mac[4], mac[5]);
    let m0 = format!("0x{:02x}{:02x}", mac[0], mac[1]);
    vec![
        cmd(&[
            "class",
            "add",
            "dev",
            br,
            "parent",
            "1:1",
            "classid",
            &class,
            "htb",
            "rate",
            &kbps(port_in.floor),
            "ceil",
            &net_ceil(net_in),
            "quantum",
            &quantum(port_in),
        ]),
        cmd(&[
            "qdisc",
            "add",
            "dev",
            br,
            "parent",
            &class,
            "handle",
            &format!("{id:x}:"),
            "sfq",
            "perturb",
            "10",
        ]),
        cmd(&[
            "filter",
            "add",
            "dev",
            br,
            "protocol",
            "ip",
            "prio",
            "2",
            "handle",
            &filter_handle(id),
            "u32",
            "match",
            "u16",
            "0x0800",
            "0xffff",
            "at",
            "-2",
            "match",
            "u32",
            &m1,
            "0xffffffff",
            "at",
            "-12",
            "match",
            "u16",
            &m0,
            "0xffff",
            "at",
            "-14",
            "flowid",
            &class,
        ]),
    ]
}

/// The commands removing a port's class `id` (libvirt's `virNetDevBandwidthUnplug`).
pub fn unplug(br: &str, id: u32) -> Vec<Cmd> {
    vec![
        cmd(&["qdisc", "del", "dev", br, "handle", &format!("{id:x}:")]),
        cmd(&[
            "filter",
            "del",
            "dev",
            br,
            "prio",
            "2",
            "handle",
            &filter_handle(id),
            "u32",
        ]),
        cmd(&["class", "del", "dev", br, "classid", &format!("1:{id:x}")]),
    ]
}

/// The command setting class `1:ID`'s rate (libvirt's `virNetDevBandwidthUpdateRate`):
/// 1:2 gets what the floors leave, a port's class its new floor.
pub fn update_rate(br: &str, id: u32, net_in: &Rate, rate: u64) -> Cmd {
    cmd(&[
        "class",
        "change",
        "dev",
        br,
        "classid",
        &format!("1:{id:x}"),
        "htb",
        "rate",
        &kbps(rate),
        "ceil",
        &net_ceil(net_in),
        "quantum",
        &quantum(net_in),
    ])
}

/// Runs each command with `tc`, stopping at the first failure.
pub fn run_all(tc: &str, cmds: &[Cmd]) -> Result<(), NetError> {
    for c in cmds {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        host::run(tc, &args)?;
    }
    Ok(())
}

/// Runs every command with `tc`, ignoring failures (removal of what may be gone).
pub fn run_ignoring(tc: &str, cmds: &[Cmd]) {
    for c in cmds {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let _ = host::run(tc, &args);
    }
}

/// Parses a normalised MAC (`52:54:00:aa:bb:cc`).
pub fn mac_bytes(mac: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = mac.split(':');
    for b in &mut out {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(c: &Cmd) -> String {
        c.join(" ")
    }

    fn rate(average: u64, peak: u64, burst: u64) -> Rate {
        Rate {
            average,
            peak,
            burst,
            floor: 0,
        }
    }

    #[test]
    fn port_floor_classes() {
        let net = rate(1000, 5000, 0);
        let port = Rate {
            floor: 200,
            ..Rate::default()
        };
        let mac = mac_bytes("52:54:00:ab:cd:ef").unwrap();
        let got: Vec<String> = plug("virbr0", &net, &mac, &port, 11)
            .iter()
            .map(line)
            .collect();
        assert_eq!(
            got,
            [
                "class add dev virbr0 parent 1:1 classid 1:b htb rate 200kbps ceil 5000kbps quantum 1",
                "qdisc add dev virbr0 parent 1:b handle b: sfq perturb 10",
                "filter add dev virbr0 protocol ip prio 2 handle 800::811 u32 match u16 0x0800 0xffff at -2 match u32 0x00abcdef 0xffffffff at -12 match u16 0x5254 0xffff at -14 flowid 1:b",
            ]
        );
        let got: Vec<String> = unplug("virbr0", 3).iter().map(line).collect();
        assert_eq!(
            got,
            [
                "qdisc del dev virbr0 handle 3:",
                "filter del dev virbr0 prio 2 handle 800::803 u32",
                "class del dev virbr0 classid 1:3",
            ]
        );
        assert_eq!(
            line(&update_rate("virbr0", 2, &net, 4800)),
            "class change dev virbr0 classid 1:2 htb rate 4800kbps ceil 5000kbps quantum 85"
        );
        assert_eq!(mac_bytes("52:54:00:ab:cd"), None);
    }
}
