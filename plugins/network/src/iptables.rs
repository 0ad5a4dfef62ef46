//! The iptables backend, for hosts without nftables (or when configured): libvirt
//! 9.0's private chains (`LIBVIRT_INP`, `LIBVIRT_OUT`, `LIBVIRT_FWI`, `LIBVIRT_FWO`,
//! `LIBVIRT_FWX` in `filter`, `LIBVIRT_PRT` in `nat` and `mangle`) and its rules for
//! each network, so that `iptables-save` shows what it shows under libvirt. Each rule is
//! inserted at the top of its chain in libvirt's order (as libvirt does), and deleted by
//! its exact text at destroy; the chains and the jumps to them are made when missing and
//! removed once empty, so other rules are never touched.

use std::net::IpAddr;

use rvirt_xml::network::ip::NetworkIp;
use rvirt_xml::network::NetworkDef;

use crate::error::NetError;
use crate::host::{self, subnet};

/// One rule: `FAMILY TABLE CHAIN ARGS...` (`ip` or `ip6`), as the status file keeps it.
pub type Rule = String;

/// The private chains: (table, chain, built-in chain jumping to it), in the order of
/// insertion at the top of the built-in chain (so FORWARD reads FWX, FWI, FWO).
const CHAINS: [(&str, &str, &str); 7] = [
    ("filter", "LIBVIRT_INP", "INPUT"),
    ("filter", "LIBVIRT_OUT", "OUTPUT"),
    ("filter", "LIBVIRT_FWO", "FORWARD"),
    ("filter", "LIBVIRT_FWI", "FORWARD"),
    ("filter", "LIBVIRT_FWX", "FORWARD"),
    ("nat", "LIBVIRT_PRT", "POSTROUTING"),
    ("mangle", "LIBVIRT_PRT", "POSTROUTING"),
];

/// Collects rules in libvirt's insertion order.
struct Rules {
    list: Vec<Rule>,
}

impl Rules {
    fn add(&mut self, fam: &str, table: &str, chain: &str, args: &[&str]) {
        self.list
            .push(format!("{fam} {table} {chain} {}", args.join(" ")));
    }

    /// `--dport` accept rules of the INPUT (`-i`) or OUTPUT (`-o`) side.
    fn port(&mut self, fam: &str, chain: &str, br: &str, proto: &str, port: &str) {
        let dir = if chain == "LIBVIRT_INP" { "-i" } else { "-o" };
        self.add(
            fam,
            "filter",
            chain,
            &[
                dir, br, "-p", proto, "-m", proto, "--dport", port, "-j", "ACCEPT",
            ],
        );
    }

    /// The catch-all rejects and the traffic allowed within the bridge.
    fn rejects(&mut self, fam: &str, br: &str) {
        self.add(fam, "filter", "LIBVIRT_FWO", &["-i", br, "-j", "REJECT"]);
        self.add(fam, "filter", "LIBVIRT_FWI", &["-o", br, "-j", "REJECT"]);
        self.add(
            fam,
            "filter",
            "LIBVIRT_FWX",
            &["-i", br, "-o", br, "-j", "ACCEPT"],
        );
    }
}

fn fam_of(a: &IpAddr) -> &'static str {
    if a.is_ipv4() {
        "ip"
    } else {
        "ip6"
    }
}

/// libvirt's general IPv4 rules: DHCP, DNS and TFTP to and from dnsmasq, rejects.
fn general_v4(r: &mut Rules, def: &NetworkDef, br: &str) {
    let served =
        def.ips.iter().filter(|i| i.address.is_ipv4()).find(|i| {
            !i.dhcp_ranges.is_empty() || !i.dhcp_hosts.is_empty() || i.tftp_root.is_some()
        });
    for (p, chain, port) in [
        ("tcp", "LIBVIRT_INP", "67"),
        ("udp", "LIBVIRT_INP", "67"),
        ("tcp", "LIBVIRT_OUT", "68"),
        ("udp", "LIBVIRT_OUT", "68"),
        ("tcp", "LIBVIRT_INP", "53"),
        ("udp", "LIBVIRT_INP", "53"),
        ("tcp", "LIBVIRT_OUT", "53"),
        ("udp", "LIBVIRT_OUT", "53"),
    ] {
        r.port("ip", chain, br, p, port);
    }
    if served.is_some_and(|i| i.tftp_root.is_some()) {
        r.port("ip", "LIBVIRT_INP", br, "udp", "69");
        r.port("ip", "LIBVIRT_OUT", br, "udp", "69");
    }
    r.rejects("ip", br);
}

/// libvirt's general IPv6 rules: rejects, DNS and DHCPv6.
fn general_v6(r: &mut Rules, def: &NetworkDef, br: &str) {
    let has_v6 = def.ips.iter().any(|i| i.address.is_ipv6());
    if !has_v6 && !def.ipv6 {
        return;
    }
    r.rejects("ip6", br);
    if has_v6 {
        for (p, chain) in [
            ("tcp", "LIBVIRT_INP"),
            ("udp", "LIBVIRT_INP"),
            ("tcp", "LIBVIRT_OUT"),
            ("udp", "LIBVIRT_OUT"),
        ] {
            r.port("ip6", chain, br, p, "53");
        }
        r.port("ip6", "LIBVIRT_INP", br, "udp", "547");
        r.port("ip6", "LIBVIRT_OUT", br, "udp", "546");
    }
}

/// The forwarding of one subnet: out of the bridge always, into it (only related
/// traffic when `related`), both through the forward device when there is one.
fn allow(r: &mut Rules, fam: &str, net: &str, br: &str, dev: Option<&str>, related: bool) {
    let mut out = vec!["-s", net, "-i", br];
    let mut inn = vec!["-d", net];
    if let Some(d) = dev {
        out.extend(["-o", d]);
        inn.extend(["-i", d]);
    }
    inn.extend(["-o", br]);
    if related {
        inn.extend(["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"]);
    }
    out.extend(["-j", "ACCEPT"]);
    inn.extend(["-j", "ACCEPT"]);
    r.add(fam, "filter", "LIBVIRT_FWO", &out);
    r.add(fam, "filter", "LIBVIRT_FWI", &inn);
}

/// Masquerading (or SNAT to `<nat><address>`) of one subnet leaving it.
fn masquerade(r: &mut Rules, def: &NetworkDef, ip: &NetworkIp, br: &str, dev: Option<&str>) {
    let fam = fam_of(&ip.address);
    let net = subnet(ip);
    allow(r, fam, &net, br, dev, true);
    let nat = def.forward.as_ref().map(|f| &f.nat);
    let (p1, p2) = nat.and_then(|n| n.ports).unwrap_or((1024, 65535));
    let addrs = nat
        .and_then(|n| n.addresses)
        .map(|(a, b)| format!("{a}-{b}"));
    let mut base = vec![
        "-s".to_string(),
        net.clone(),
        "!".into(),
        "-d".into(),
        net.clone(),
    ];
    if let Some(d) = dev {
        base.extend(["-o".into(), d.to_string()]);
    }
    for proto in [None, Some("udp"), Some("tcp")] {
        let mut a = base.clone();
        if let Some(p) = proto {
            a.extend(["-p".into(), p.into()]);
        }
        match (&addrs, proto) {
            (Some(s), None) => {
                a.extend(["-j".into(), "SNAT".into(), "--to-source".into(), s.clone()])
            }
            (Some(s), Some(_)) => a.extend([
                "-j".into(),
                "SNAT".into(),
                "--to-source".into(),
                format!("{s}:{p1}-{p2}"),
            ]),
            (None, None) => a.extend(["-j".into(), "MASQUERADE".into()]),
            (None, Some(_)) => a.extend([
                "-j".into(),
                "MASQUERADE".into(),
                "--to-ports".into(),
                format!("{p1}-{p2}"),
            ]),
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        r.add(fam, "nat", "LIBVIRT_PRT", &a);
    }
    let keep: &[&str] = if fam == "ip" {
        &["255.255.255.255/32", "224.0.0.0/24"]
    } else {
        &["ff02::/16"]
    };
    for d in keep {
        let mut a = vec!["-s", net.as_str()];
        if let Some(dv) = dev {
            a.extend(["-o", dv]);
        }
        a.extend(["-d", d, "-j", "RETURN"]);
        r.add(fam, "nat", "LIBVIRT_PRT", &a);
    }
}

/// The rules of network `def` on bridge `br`, in libvirt's insertion order (empty for
/// `open`).
pub fn rules(def: &NetworkDef, br: &str) -> Vec<Rule> {
    let mode = def.forward_mode();
    let mut r = Rules { list: Vec::new() };
    if mode == Some("open") {
        return r.list;
    }
    general_v4(&mut r, def, br);
    general_v6(&mut r, def, br);
    let dhcp4 = def
        .ips
        .iter()
        .any(|i| i.address.is_ipv4() && (!i.dhcp_ranges.is_empty() || !i.dhcp_hosts.is_empty()));
    if dhcp4 {
        r.add(
            "ip",
            "mangle",
            "LIBVIRT_PRT",
            &[
                "-o",
                br,
                "-p",
                "udp",
                "-m",
                "udp",
                "--dport",
                "68",
                "-j",
                "CHECKSUM",
                "--checksum-fill",
            ],
        );
    }
    let dev = def
        .forward
        .as_ref()
        .and_then(|f| f.interfaces.first())
        .map(String::as_str);
    let nat6 = def.forward.as_ref().and_then(|f| f.nat.ipv6) == Some(true);
    for ip in &def.ips {
        let fam = fam_of(&ip.address);
        match mode {
            Some("nat") if fam == "ip" || nat6 => masquerade(&mut r, def, ip, br, dev),
            Some("nat" | "route") => allow(&mut r, fam, &subnet(ip), br, dev, false),
            _ => {}
        }
    }
    r.list
}

/// The configured binaries, per family.
pub struct Tools<'a> {
    pub v4: &'a str,
    pub v6: &'a str,
}

impl Tools<'_> {
    fn prog(&self, fam: &str) -> &str {
        if fam == "ip6" {
            self.v6
        } else {
            self.v4
        }
    }

    fn run(&self, fam: &str, table: &str, args: &[&str]) -> Result<(), NetError> {
        let mut all = vec!["-w", "-t", table];
        all.extend_from_slice(args);
        host::run(self.prog(fam), &all)
    }

    /// Runs `OP CHAIN ARGS` for a status-file rule (`-I`, `-D` or `-C`).
    fn rule(&self, op: &str, rule: &str) -> Result<(), NetError> {
        let mut w = rule.split_whitespace();
        let (Some(fam), Some(table), Some(chain)) = (w.next(), w.next(), w.next()) else {
            return Err(NetError::Internal(format!("malformed rule '{rule}'")));
        };
        let mut args = vec![op, chain];
        args.extend(w);
        self.run(fam, table, &args)
    }

    /// Makes the private chains of both families and the jumps to them, where missing.
    fn ensure_chains(&self) -> Result<(), NetError> {
        for fam in ["ip", "ip6"] {
            for (table, chain, builtin) in CHAINS {
                if self.run(fam, table, &["-S", chain]).is_err() {
                    self.run(fam, table, &["-N", chain])?;
                }
                if self.run(fam, table, &["-C", builtin, "-j", chain]).is_err() {
                    self.run(fam, table, &["-I", builtin, "1", "-j", chain])?;
                }
            }
        }
        Ok(())
    }

    /// Removes the private chains left empty, with their jumps.
    fn drop_empty_chains(&self) {
        for fam in ["ip", "ip6"] {
            for (table, chain, builtin) in CHAINS {
                let prog = self.prog(fam);
                let out = std::process::Command::new(prog)
                    .args(["-w", "-t", table, "-S", chain])
                    .output();
                let empty = out.is_ok_and(|o| {
                    o.status.success() && String::from_utf8_lossy(&o.stdout).lines().count() == 1
                });
                if empty {
                    let _ = self.run(fam, table, &["-D", builtin, "-j", chain]);
                    let _ = self.run(fam, table, &["-X", chain]);
                }
            }
        }
    }

    /// Inserts the network's rules; answers them as inserted. On failure what was
    /// inserted is removed again.
    pub fn add(&self, def: &NetworkDef, br: &str) -> Result<Vec<Rule>, NetError> {
        let list = rules(def, br);
        if list.is_empty() {
            return Ok(list);
        }
        self.ensure_chains()?;
        for (n, rule) in list.iter().enumerate() {
            if let Err(e) = self.rule("-I", rule) {
                self.remove(&list[..n]);
                return Err(e);
            }
        }
        Ok(list)
    }

    /// Deletes the rules (those gone already are skipped), then the chains left empty.
    pub fn remove(&self, list: &[Rule]) {
        for rule in list.iter().rev() {
            if self.rule("-C", rule).is_ok() {
                if let Err(e) = self.rule("-D", rule) {
                    tracing::warn!("{e}");
                }
            }
        }
        self.drop_empty_chains();
    }

    /// Whether every rule is in place.
    pub fn all_present(&self, list: &[Rule]) -> bool {
        list.iter().all(|r| self.rule("-C", r).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(xml: &str) -> NetworkDef {
        NetworkDef::parse(xml).unwrap()
    }

    const NAT: &str = "<network><name>default</name><forward mode='nat'/>\
        <bridge name='virbr0'/><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>\
        <range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>";

    #[test]
    fn nat_rules_are_libvirts_in_insertion_order() {
        let r = rules(&def(NAT), "virbr0");
        assert_eq!(
            r[0],
            "ip filter LIBVIRT_INP -i virbr0 -p tcp -m tcp --dport 67 -j ACCEPT"
        );
        assert!(r.contains(
            &"ip mangle LIBVIRT_PRT -o virbr0 -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill"
                .to_string()
        ));
        let tail: Vec<&str> = r[r.len() - 7..].iter().map(String::as_str).collect();
        assert_eq!(
            tail,
            [
                "ip filter LIBVIRT_FWO -s 192.168.122.0/24 -i virbr0 -j ACCEPT",
                "ip filter LIBVIRT_FWI -d 192.168.122.0/24 -o virbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                "ip nat LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE",
                "ip nat LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -p udp -j MASQUERADE --to-ports 1024-65535",
                "ip nat LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535",
                "ip nat LIBVIRT_PRT -s 192.168.122.0/24 -d 255.255.255.255/32 -j RETURN",
                "ip nat LIBVIRT_PRT -s 192.168.122.0/24 -d 224.0.0.0/24 -j RETURN",
            ]
        );
        assert!(!r.iter().any(|x| x.starts_with("ip6")));
    }

    #[test]
    fn route_isolated_open_and_ipv6() {
        let rt = NAT.replace("nat", "route");
        let r = rules(&def(&rt), "virbr0");
        assert!(r.contains(
            &"ip filter LIBVIRT_FWI -d 192.168.122.0/24 -o virbr0 -j ACCEPT".to_string()
        ));
        assert!(!r.iter().any(|x| x.contains("MASQUERADE")));
        assert!(rules(&def(&NAT.replace("nat", "open")), "virbr0").is_empty());
        let iso = "<network><name>i</name><bridge name='br-i'/>\
                   <ip family='ipv6' address='fd00::1' prefix='64'/></network>";
        let r = rules(&def(iso), "br-i");
        assert!(r.contains(
            &"ip6 filter LIBVIRT_INP -i br-i -p udp -m udp --dport 547 -j ACCEPT".to_string()
        ));
        assert!(!r.iter().any(|x| x.contains("fd00::/64")), "{r:?}");
    }
}
