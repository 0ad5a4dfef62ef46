//! libvirt's mapping of a `<bandwidth>` onto `tc` command lines (its
//! `virNetDevBandwidthSet`), shared by the drivers that shape a device: the network
//! driver on a network's bridge, the hypervisor drivers on a guest's tap. Both shape
//! "swapped", as libvirt does for devices that do not share the host's view: the
//! `<inbound>` rates (towards the guests) are the device's transmit side, shaped by an
//! htb root qdisc; the `<outbound>` ones are policed on an ingress qdisc. A macvtap
//! shares the host's view and is shaped the other way round ([`shape_unswapped`]).
//!
//! Pure argument builders: running them is the driver's business.

use super::netdev::{Bandwidth, Rate};

/// One `tc` command line (without the program).
pub type Cmd = Vec<String>;

/// A command line of `words`.
pub fn cmd(words: &[&str]) -> Cmd {
    words.iter().map(|w| w.to_string()).collect()
}

/// A rate as tc reads libvirt's KiB/s.
pub fn kbps(v: u64) -> String {
    format!("{v}kbps")
}

/// htb's quantum for a class of `rate`: its bytes a second over an MTU of 1500, at least
/// 1 (libvirt passes it so slow classes still get a sane quantum).
pub fn quantum(rate: &Rate) -> String {
    (rate.average * 1024 / 8 / 1500).max(1).to_string()
}

/// The commands shaping `dev`. `hierarchical` (a network's bridge, whose ports may get
/// a `floor`) puts a root class 1:1 with the whole rate above the default class 1:2;
/// otherwise (a guest's tap) the one class is 1:1.
pub fn shape(dev: &str, bw: &Bandwidth, hierarchical: bool) -> Vec<Cmd> {
    let mut out = Vec::new();
    if let Some(tx) = bw.inbound.filter(|r| r.average != 0) {
        out.extend(shape_transmit(dev, &tx, hierarchical));
    }
    if let Some(rx) = bw.outbound {
        out.extend(police_receive(dev, &rx));
    }
    out
}

/// The commands shaping a device that shares the host's view of the guest's traffic (a
/// macvtap: what the guest sends is what the device transmits), libvirt's unswapped
/// case: `<outbound>` shaped, `<inbound>` policed.
pub fn shape_unswapped(dev: &str, bw: &Bandwidth) -> Vec<Cmd> {
    let swapped = Bandwidth {
        inbound: bw.outbound,
        outbound: bw.inbound,
    };
    shape(dev, &swapped, false)
}

/// The htb shaping of what `dev` transmits.
fn shape_transmit(dev: &str, tx: &Rate, hierarchical: bool) -> Vec<Cmd> {
    let avg = kbps(tx.average);
    let q = quantum(tx);
    let (default, parent, class) = if hierarchical {
        ("2", "1:1", "1:2")
    } else {
        ("1", "1:", "1:1")
    };
    let mut out = vec![cmd(&[
        "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", default,
    ])];
    if hierarchical {
        let ceil = kbps(if tx.peak != 0 { tx.peak } else { tx.average });
        out.push(cmd(&[
            "class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", &avg,
            "ceil", &ceil, "quantum", &q,
        ]));
    }
    let mut c = cmd(&[
        "class", "add", "dev", dev, "parent", parent, "classid", class, "htb", "rate", &avg,
    ]);
    if tx.peak != 0 {
        c.extend(["ceil".into(), kbps(tx.peak)]);
    }
    if tx.burst != 0 {
        c.extend(["burst".into(), format!("{}kb", tx.burst)]);
    }
    c.extend(["quantum".into(), q]);
    out.push(c);
    out.push(cmd(&[
        "qdisc", "add", "dev", dev, "parent", class, "handle", "2:", "sfq", "perturb", "10",
    ]));
    out.push(cmd(&[
        "filter", "add", "dev", dev, "parent", "1:0", "protocol", "all", "prio", "1", "handle",
        "1", "fw", "flowid", "1",
    ]));
    out
}

/// The policing of what `dev` receives.
fn police_receive(dev: &str, rx: &Rate) -> Vec<Cmd> {
    // tc keeps the burst in bytes in 32 bits; without one, the average stands in.
    let burst = if rx.burst != 0 {
        rx.burst
    } else {
        rx.average.min(u64::from(u32::MAX) / 1024)
    };
    let (rate, burst) = (kbps(rx.average), format!("{burst}kb"));
    vec![
        cmd(&["qdisc", "add", "dev", dev, "ingress"]),
        cmd(&[
            "filter", "add", "dev", dev, "parent", "ffff:", "protocol", "all", "u32", "match",
            "u32", "0", "0", "police", "rate", &rate, "burst", &burst, "mtu", "64kb", "drop",
            "flowid", ":1",
        ]),
    ]
}

/// The commands removing what [`shape`] made (their failures are of no matter).
pub fn clear(dev: &str) -> Vec<Cmd> {
    vec![
        cmd(&["qdisc", "del", "dev", dev, "root"]),
        cmd(&["qdisc", "del", "dev", dev, "ingress"]),
    ]
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
    fn network_shaping_is_libvirts() {
        let bw = Bandwidth {
            inbound: Some(rate(1000, 5000, 1024)),
            outbound: Some(rate(128, 256, 256)),
        };
        let got: Vec<String> = shape("br0", &bw, true).iter().map(line).collect();
        assert_eq!(
            got,
            [
                "qdisc add dev br0 root handle 1: htb default 2",
                "class add dev br0 parent 1: classid 1:1 htb rate 1000kbps ceil 5000kbps quantum 85",
                "class add dev br0 parent 1:1 classid 1:2 htb rate 1000kbps ceil 5000kbps burst 1024kb quantum 85",
                "qdisc add dev br0 parent 1:2 handle 2: sfq perturb 10",
                "filter add dev br0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
                "qdisc add dev br0 ingress",
                "filter add dev br0 parent ffff: protocol all u32 match u32 0 0 police rate 128kbps burst 256kb mtu 64kb drop flowid :1",
            ]
        );
        // Outbound only, without burst: the average is the burst; no root qdisc.
        let out = Bandwidth {
            inbound: None,
            outbound: Some(rate(100, 0, 0)),
        };
        let got: Vec<String> = shape("br0", &out, true).iter().map(line).collect();
        assert_eq!(got.len(), 2);
        assert!(
            got[1].contains("police rate 100kbps burst 100kb"),
            "{got:?}"
        );
        // Inbound without peak: 1:1's ceil is the average, 1:2 has none.
        let inb = Bandwidth {
            inbound: Some(rate(10, 0, 0)),
            outbound: None,
        };
        let got: Vec<String> = shape("b", &inb, true).iter().map(line).collect();
        assert_eq!(
            got[1],
            "class add dev b parent 1: classid 1:1 htb rate 10kbps ceil 10kbps quantum 1"
        );
        assert_eq!(
            got[2],
            "class add dev b parent 1:1 classid 1:2 htb rate 10kbps quantum 1"
        );
    }

    #[test]
    fn a_tap_gets_one_class() {
        let bw = Bandwidth {
            inbound: Some(rate(1000, 5000, 1024)),
            outbound: Some(rate(128, 0, 0)),
        };
        let got: Vec<String> = shape("vnet0", &bw, false).iter().map(line).collect();
        assert_eq!(
            got,
            [
                "qdisc add dev vnet0 root handle 1: htb default 1",
                "class add dev vnet0 parent 1: classid 1:1 htb rate 1000kbps ceil 5000kbps burst 1024kb quantum 85",
                "qdisc add dev vnet0 parent 1:1 handle 2: sfq perturb 10",
                "filter add dev vnet0 parent 1:0 protocol all prio 1 handle 1 fw flowid 1",
                "qdisc add dev vnet0 ingress",
                "filter add dev vnet0 parent ffff: protocol all u32 match u32 0 0 police rate 128kbps burst 128kb mtu 64kb drop flowid :1",
            ]
        );
    }

    #[test]
    fn a_macvtap_shapes_what_the_guest_sends() {
        let bw = Bandwidth {
            inbound: Some(rate(1000, 0, 0)),
            outbound: Some(rate(200, 400, 0)),
        };
        let got: Vec<String> = shape_unswapped("macvtap0", &bw).iter().map(line).collect();
        assert_eq!(
            got[1],
            "class add dev macvtap0 parent 1: classid 1:1 htb rate 200kbps ceil 400kbps quantum 17"
        );
        assert!(
            got[5].contains("police rate 1000kbps burst 1000kb"),
            "{got:?}"
        );
    }
}
