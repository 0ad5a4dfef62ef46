//! One dnsmasq per network: its configuration file in libvirt's format (the same
//! directives for the same definition), hosts files, start, stop and finding it again.

use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rvirt_xml::network::ip::{Lease, NetworkIp};
use rvirt_xml::network::NetworkDef;

use crate::config::{write_atomic, Config};
use crate::error::NetError;
use crate::leases::LEASES_FILE_ENV;

/// Whether the network needs a dnsmasq: it has addresses and serves DNS or DHCP.
pub fn needed(def: &NetworkDef) -> bool {
    let dhcp = def
        .ips
        .iter()
        .any(|i| !i.dhcp_ranges.is_empty() || !i.dhcp_hosts.is_empty());
    !def.ips.is_empty() && (def.dns.enable != Some(false) || dhcp)
}

/// dnsmasq's lease time word.
fn lease_time(l: &Lease) -> String {
    if l.expiry == 0 {
        return "infinite".into();
    }
    let unit = match l.unit {
        "minutes" => "m",
        "hours" => "h",
        _ => "",
    };
    format!("{}{unit}", l.expiry)
}

/// How many addresses the ranges of an `<ip>` hold.
fn range_size(ip: &NetworkIp) -> u128 {
    let num = |a: &IpAddr| match a {
        IpAddr::V4(v) => u128::from(u32::from(*v)),
        IpAddr::V6(v) => u128::from(*v),
    };
    ip.dhcp_ranges
        .iter()
        .map(|r| num(&r.end).saturating_sub(num(&r.start)) + 1)
        .sum()
}

/// The netmask word of an IPv4 `<ip>`.
fn netmask(ip: &NetworkIp) -> String {
    if let Some(m) = ip.netmask {
        return m.to_string();
    }
    let p = ip.effective_prefix().unwrap_or(24);
    let bits = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    std::net::Ipv4Addr::from(bits).to_string()
}

/// The DNS directives, in libvirt's order.
fn dns_lines(def: &NetworkDef, c: &mut Vec<String>) {
    let dns = &def.dns;
    if dns.forward_plain_names == Some(false) {
        c.push("domain-needed".into());
        c.push("local=//".into());
    }
    for f in &dns.forwarders {
        let addr = f.addr.map(|a| a.to_string()).unwrap_or_else(|| "#".into());
        match &f.domain {
            Some(d) => c.push(format!("server=/{d}/{addr}")),
            None => c.push(format!("server={addr}")),
        }
    }
    if dns
        .forwarders
        .iter()
        .any(|f| f.domain.is_none() && f.addr.is_some())
    {
        c.push("no-resolv".into());
    }
    if let Some(d) = &def.domain_name {
        if def.domain_local_only == Some(true) {
            c.push(format!("local=/{d}/"));
        }
        c.push(format!("domain={d}"));
        c.push("expand-hosts".into());
    }
}

/// The DHCP directives of one `<ip>`.
fn dhcp_lines(ip: &NetworkIp, c: &mut Vec<String>) {
    for r in &ip.dhcp_ranges {
        let mut line = format!("dhcp-range={},{}", r.start, r.end);
        if ip.address.is_ipv4() {
            line += &format!(",{}", netmask(ip));
        } else {
            line += &format!(",{}", ip.effective_prefix().unwrap_or(64));
        }
        if let Some(l) = &r.lease {
            line += &format!(",{}", lease_time(l));
        }
        c.push(line);
    }
}

/// The configuration file of the network's dnsmasq.
pub fn conf(cfg: &Config, def: &NetworkDef, br: &str) -> String {
    let mut c = vec![
        "## dnsmasq configuration of an rvirt network; rvirt rewrites it at every start".into(),
        format!("## (change the network with `virsh net-edit {}`)", def.name),
        "strict-order".to_string(),
    ];
    let dns_on = def.dns.enable != Some(false);
    if dns_on {
        dns_lines(def, &mut c);
    } else {
        c.push("port=0".into());
    }
    c.push(format!("pid-file={}", cfg.pid_file(&def.name).display()));
    c.push("except-interface=lo".into());
    c.push("bind-dynamic".into());
    c.push(format!("interface={br}"));
    if def.forward.is_none() {
        // Isolated: no default gateway by DHCP, no upstream DNS, no default route by RA.
        c.push("dhcp-option=3".into());
        if !c.iter().any(|l| l == "no-resolv") {
            c.push("no-resolv".into());
        }
        c.push("ra-param=*,0,0".into());
    }
    for t in &def.dns.txts {
        c.push(format!("txt-record={},{}", t.name, t.value));
    }
    for s in &def.dns.srvs {
        let mut name = format!("_{}._{}", s.service, s.protocol);
        if let Some(d) = &s.domain {
            name += &format!(".{d}");
        }
        c.push(format!("srv-host={name}{}", srv_tail(s)));
    }
    tail_lines(cfg, def, dns_on, &mut c);
    c.join("\n") + "\n"
}

/// `,TARGET[,PORT[,PRIORITY[,WEIGHT]]]` as libvirt writes it: the numbers are
/// positional, so one is given (port defaulting to 1) only when it or a later one is set.
fn srv_tail(s: &rvirt_xml::network::dns::Srv) -> String {
    let Some(target) = &s.target else {
        return String::new();
    };
    let mut t = format!(",{target}");
    if s.port != 0 || s.priority != 0 || s.weight != 0 {
        t += &format!(",{}", if s.port != 0 { s.port } else { 1 });
    }
    if s.priority != 0 || s.weight != 0 {
        t += &format!(",{}", s.priority);
    }
    if s.weight != 0 {
        t += &format!(",{}", s.weight);
    }
    t
}

/// The per-`<ip>` directives, then the files, the MTU option and IPv6 router adverts.
fn tail_lines(cfg: &Config, def: &NetworkDef, dns_on: bool, c: &mut Vec<String>) {
    let mut lease_max = 0u128;
    let mut authoritative = false;
    for ip in &def.ips {
        ip_lines(ip, &mut authoritative, c);
        lease_max += range_size(ip);
    }
    if lease_max > 0 {
        c.push(format!("dhcp-lease-max={lease_max}"));
    }
    if def
        .ips
        .iter()
        .any(|i| !i.dhcp_hosts.is_empty() || !i.dhcp_ranges.is_empty())
    {
        c.push(format!(
            "dhcp-hostsfile={}",
            cfg.dnsmasq_hostsfile(&def.name).display()
        ));
    }
    if dns_on {
        c.push(format!(
            "addn-hosts={}",
            cfg.dnsmasq_addnhosts(&def.name).display()
        ));
    }
    if let Some(mtu) = def.mtu {
        c.push(format!("dhcp-option=option:mtu,{mtu}"));
    }
    let v6 = || def.ips.iter().filter(|i| i.address.is_ipv6());
    for ip in v6().filter(|i| i.dhcp_ranges.is_empty()) {
        c.push(format!("dhcp-range={},ra-only", ip.address));
    }
    if v6().any(|i| !i.dhcp_ranges.is_empty()) {
        c.push("enable-ra".into());
    }
}

/// The directives of one `<ip>` in libvirt's order: TFTP, DHCP ranges, the IPv4 DHCP
/// server's authority (once, for the first IPv4 block with ranges), BOOTP.
fn ip_lines(ip: &NetworkIp, authoritative: &mut bool, c: &mut Vec<String>) {
    let v4 = ip.address.is_ipv4();
    if let (true, Some(root)) = (v4, &ip.tftp_root) {
        c.push("enable-tftp".into());
        c.push(format!("tftp-root={root}"));
    }
    dhcp_lines(ip, c);
    if v4 && !ip.dhcp_ranges.is_empty() && !*authoritative {
        *authoritative = true;
        c.push("dhcp-no-override".into());
        c.push("dhcp-authoritative".into());
    }
    if let (true, Some(file)) = (v4, &ip.bootp_file) {
        match &ip.bootp_server {
            Some(s) => c.push(format!("dhcp-boot={file},,{s}")),
            None => c.push(format!("dhcp-boot={file}")),
        }
    }
}

/// The `dhcp-hostsfile` lines: `MAC|id:ID[,IP][,NAME][,LEASE]`.
pub fn hostsfile(def: &NetworkDef) -> String {
    let mut out = String::new();
    for ip in &def.ips {
        for h in &ip.dhcp_hosts {
            let mut f: Vec<String> = Vec::new();
            if let Some(m) = &h.mac {
                f.push(m.clone());
            } else if let Some(id) = &h.id {
                f.push(format!("id:{id}"));
            }
            if let Some(a) = h.ip {
                f.push(if a.is_ipv6() {
                    format!("[{a}]")
                } else {
                    a.to_string()
                });
            }
            if let Some(n) = &h.name {
                f.push(n.clone());
            }
            if let Some(l) = &h.lease {
                f.push(lease_time(l));
            }
            out += &(f.join(",") + "\n");
        }
    }
    out
}

/// The `addn-hosts` lines of the `<dns><host>` entries.
pub fn addnhosts(def: &NetworkDef) -> String {
    def.dns
        .hosts
        .iter()
        .map(|h| {
            let names: String = h.hostnames.iter().map(|n| format!("{n}\t")).collect();
            format!("{}\t{names}\n", h.ip)
        })
        .collect()
}

fn write_file(p: &Path, text: String) -> Result<(), NetError> {
    write_atomic(p, text.as_bytes())
        .map_err(|e| NetError::sys(format!("cannot write {}", p.display()), e))
}

/// The files dnsmasq rereads on SIGHUP: DHCP hosts and DNS hosts.
fn write_hosts_files(cfg: &Config, def: &NetworkDef) -> Result<(), NetError> {
    write_file(&cfg.dnsmasq_hostsfile(&def.name), hostsfile(def))?;
    write_file(&cfg.dnsmasq_addnhosts(&def.name), addnhosts(def))
}

/// Writes the files and starts dnsmasq (which detaches and outlives the daemon); returns
/// its pid.
pub fn start(cfg: &Config, def: &NetworkDef, br: &str) -> Result<i32, NetError> {
    let name = &def.name;
    let conf_path = cfg.dnsmasq_conf(name);
    write_file(&conf_path, conf(cfg, def, br))?;
    write_hosts_files(cfg, def)?;
    let pid_path = cfg.pid_file(name);
    let _ = std::fs::remove_file(&pid_path);
    let out = Command::new(&cfg.dnsmasq)
        .arg(format!("--conf-file={}", conf_path.display()))
        .arg("--leasefile-ro")
        .arg(format!("--dhcp-script={}", cfg.leases_helper.display()))
        .env(LEASES_FILE_ENV, cfg.leases_file(br))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| NetError::sys(format!("cannot execute {}", cfg.dnsmasq), e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(NetError::Internal(format!(
            "dnsmasq for network '{name}' failed to start: {err}"
        )));
    }
    read_pid(&pid_path).ok_or_else(|| {
        NetError::Internal(format!("dnsmasq for network '{name}' wrote no pid file"))
    })
}

/// Brings a running network's dnsmasq in line with its changed live definition: when
/// only the hosts files change, they are rewritten and dnsmasq rereads them on SIGHUP
/// (same pid); when its configuration changes (dnsmasq rereads that only at start), it
/// is restarted. Returns the pid of the dnsmasq now serving the network.
pub fn refresh(
    cfg: &Config,
    def: &NetworkDef,
    br: &str,
    pid: Option<i32>,
) -> Result<Option<i32>, NetError> {
    use nix::sys::signal::{kill, Signal};
    let name = &def.name;
    let alive = pid.filter(|p| is_ours(cfg, name, *p));
    if !needed(def) {
        if let Some(p) = pid {
            stop(cfg, name, p);
        }
        return Ok(None);
    }
    let same_conf =
        std::fs::read_to_string(cfg.dnsmasq_conf(name)).is_ok_and(|c| c == conf(cfg, def, br));
    if let (Some(p), true) = (alive, same_conf) {
        write_hosts_files(cfg, def)?;
        kill(nix::unistd::Pid::from_raw(p), Signal::SIGHUP)
            .map_err(|e| NetError::sys(format!("cannot signal dnsmasq {p}"), e))?;
        return Ok(Some(p));
    }
    if let Some(p) = pid {
        stop(cfg, name, p);
    }
    start(cfg, def, br).map(Some)
}

/// The pid in `path`, waiting briefly for the file to appear.
fn read_pid(path: &Path) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return Some(pid);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` is the dnsmasq running with this network's configuration file.
pub fn is_ours(cfg: &Config, name: &str, pid: i32) -> bool {
    let want = format!("--conf-file={}", cfg.dnsmasq_conf(name).display());
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|b| *b == 0).any(|a| a == want.as_bytes()))
        .unwrap_or(false)
}

/// Whether `pid` has let go of its sockets: gone, or a zombie waiting for its reaper.
///
/// The command line empties when a dying process drops its memory, which is before it
/// closes its files; waiting on that alone lets a new dnsmasq find the old one still
/// holding the address ("Address already in use").
fn has_exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| matches!(state, 'Z' | 'X' | 'x')),
    }
}

/// Stops the network's dnsmasq (only if `pid` is still ours), waits until it has closed
/// its sockets, and removes its files.
pub fn stop(cfg: &Config, name: &str, pid: i32) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    if is_ours(cfg, name, pid) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !has_exited(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        // Still ours (not a reused pid) and still alive after the grace period.
        if !has_exited(pid) && is_ours(cfg, name, pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let deadline = Instant::now() + Duration::from_secs(5);
            while !has_exited(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    for p in [
        cfg.pid_file(name),
        cfg.dnsmasq_conf(name),
        cfg.dnsmasq_hostsfile(name),
        cfg.dnsmasq_addnhosts(name),
    ] {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::parse("", "/var/lib/rvirt/network").unwrap()
    }

    const DEFAULT: &str = "<network><name>default</name><forward mode='nat'/>\
        <bridge name='virbr0' stp='on' delay='0'/>\
        <ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>\
        <range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>";

    #[test]
    fn a_zombie_has_exited_but_a_sleeper_has_not() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        assert!(!has_exited(pid), "a running process counts as exited");
        child.kill().unwrap();
        // Not reaped yet: the kernel keeps it as a zombie, its files already closed.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !has_exited(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        assert!(state.contains(") Z"), "not a zombie: {state}");
        assert!(has_exited(pid));
        child.wait().unwrap();
        assert!(has_exited(pid));
    }

    #[test]
    fn srv_numbers_are_positional() {
        use rvirt_xml::network::dns::Srv;
        let s = |target: Option<&str>, port, priority, weight| Srv {
            target: target.map(String::from),
            port,
            priority,
            weight,
            ..Srv::default()
        };
        assert_eq!(srv_tail(&s(None, 80, 1, 1)), "");
        assert_eq!(srv_tail(&s(Some("www"), 0, 0, 0)), ",www");
        assert_eq!(srv_tail(&s(Some("www"), 80, 0, 0)), ",www,80");
        assert_eq!(srv_tail(&s(Some("www"), 0, 0, 5)), ",www,1,0,5");
        assert_eq!(srv_tail(&s(Some("www"), 389, 1, 10)), ",www,389,1,10");
    }

    #[test]
    fn default_network_conf() {
        let def = NetworkDef::parse(DEFAULT).unwrap();
        let c = conf(&cfg(), &def, "virbr0");
        let lines: Vec<&str> = c.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "strict-order",
                "pid-file=/var/lib/rvirt/network/run/default.pid",
                "except-interface=lo",
                "bind-dynamic",
                "interface=virbr0",
                "dhcp-range=192.168.122.2,192.168.122.254,255.255.255.0",
                "dhcp-no-override",
                "dhcp-authoritative",
                "dhcp-lease-max=253",
                "dhcp-hostsfile=/var/lib/rvirt/network/run/default.hostsfile",
                "addn-hosts=/var/lib/rvirt/network/run/default.addnhosts",
            ]
        );
        assert!(needed(&def));
    }

    #[test]
    fn dns_hosts_and_boot() {
        let xml = "<network><name>n</name><bridge name='br1'/><domain name='example.com' localOnly='yes'/>\
            <dns><txt name='t' value='v'/><forwarder addr='8.8.8.8'/>\
            <host ip='192.168.1.2'><hostname>a</hostname><hostname>b</hostname></host></dns>\
            <ip address='192.168.1.1' prefix='24'><dhcp><range start='192.168.1.10' end='192.168.1.19'>\
            <lease expiry='2' unit='hours'/></range><host mac='52:54:00:00:00:01' name='h' ip='192.168.1.5'/>\
            <bootp file='pxelinux.0' server='192.168.1.3'/></dhcp></ip></network>";
        let def = NetworkDef::parse(xml).unwrap();
        let c = conf(&cfg(), &def, "br1");
        for want in [
            "server=8.8.8.8\nno-resolv\nlocal=/example.com/\ndomain=example.com\nexpand-hosts\n",
            "interface=br1\ndhcp-option=3\nra-param=*,0,0\ntxt-record=t,v\n",
            "dhcp-no-override\ndhcp-authoritative\ndhcp-boot=pxelinux.0,,192.168.1.3\ndhcp-lease-max=10\n",
            "dhcp-range=192.168.1.10,192.168.1.19,255.255.255.0,2h\n",
            "dhcp-lease-max=10\n",
            "dhcp-boot=pxelinux.0,,192.168.1.3\n",
        ] {
            assert!(c.contains(want), "{want:?} not in\n{c}");
        }
        assert_eq!(hostsfile(&def), "52:54:00:00:00:01,192.168.1.5,h\n");
        assert_eq!(addnhosts(&def), "192.168.1.2\ta\tb\t\n");
        let off = xml.replace("<dns>", "<dns enable='no'>").replace(
            "<txt name='t' value='v'/><forwarder addr='8.8.8.8'/>\
            <host ip='192.168.1.2'><hostname>a</hostname><hostname>b</hostname></host>",
            "",
        );
        let c = conf(&cfg(), &NetworkDef::parse(&off).unwrap(), "br1");
        assert!(c.contains("strict-order\nport=0\npid-file="), "{c}");
        assert!(!c.contains("addn-hosts="), "{c}");
    }
}
