//! What a started network changes on the host: the Linux bridge with its addresses and
//! routes, IP forwarding, and the nftables tables of our own. Every change goes through
//! `ip`, `nft` or `/proc/sys`, so what is done is exactly what those tools show.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use rvirt_xml::network::NetworkDef;

use crate::error::NetError;

/// Runs `prog args`, failing with its standard error when it exits non-zero.
pub fn run(prog: &str, args: &[&str]) -> Result<(), NetError> {
    run_input(prog, args, None)
}

/// Like [`run`], feeding `input` on standard input.
pub fn run_input(prog: &str, args: &[&str], input: Option<&str>) -> Result<(), NetError> {
    match exec(prog, args, input)? {
        Ok(()) => Ok(()),
        Err(f) => Err(NetError::Internal(child_failed(
            &format!("{prog} {}", args.join(" ")),
            f.status,
            &f.stderr,
        ))),
    }
}

/// Runs `prog args` with `input` on standard input; the inner error says how it failed
/// when it exits non-zero.
fn exec(prog: &str, args: &[&str], input: Option<&str>) -> Result<Result<(), Failure>, NetError> {
    let mut child = Command::new(prog)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetError::sys(format!("cannot execute {prog}"), e))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| NetError::sys(format!("cannot write to {prog}"), e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetError::sys(format!("cannot wait for {prog}"), e))?;
    if out.status.success() {
        return Ok(Ok(()));
    }
    Ok(Err(Failure {
        status: out.status,
        stderr: out.stderr,
    }))
}

/// How a child process failed: its exit status and what it wrote on standard error.
struct Failure {
    status: std::process::ExitStatus,
    stderr: Vec<u8>,
}

/// Runs one `ip -batch` for all of `cmds` (one process for a whole change instead of
/// one per command); a failure names the command that failed, as [`run`] would.
fn run_ip_batch(cmds: &[Vec<String>]) -> Result<(), NetError> {
    let input: String = cmds.iter().map(|c| c.join(" ") + "\n").collect();
    let Err(f) = exec("ip", &["-batch", "-"], Some(&input))? else {
        return Ok(());
    };
    let err = String::from_utf8_lossy(&f.stderr);
    // ip stops at the first failure and names its line: "Command failed -:N".
    let failed = err
        .lines()
        .find_map(|l| l.strip_prefix("Command failed -:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .and_then(|n| cmds.get(n.wrapping_sub(1)));
    let what = failed.map_or_else(|| "-batch -".to_string(), |c| c.join(" "));
    let msg: String = err
        .lines()
        .filter(|l| !l.starts_with("Command failed"))
        .map(|l| format!("{l}\n"))
        .collect();
    Err(NetError::Internal(child_failed(
        &format!("ip {what}"),
        f.status,
        msg.as_bytes(),
    )))
}

/// libvirt's text for a child that failed: `Child process (CMD) unexpected exit status
/// N: STDERR` (or `fatal signal N`), its standard error as written.
fn child_failed(what: &str, status: std::process::ExitStatus, stderr: &[u8]) -> String {
    use std::os::unix::process::ExitStatusExt;
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(sig)) => format!("fatal signal {sig}"),
        (None, None) => "status".to_string(),
    };
    let err = String::from_utf8_lossy(stderr);
    let sep = if err.is_empty() { "" } else { ": " };
    format!("Child process ({what}) unexpected {how}{sep}{err}")
}

/// Whether a network interface of that name exists (in this namespace).
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// The prefix length of an `<ip>` (natural when neither prefix nor netmask is given).
fn prefix_of(ip: &rvirt_xml::network::ip::NetworkIp) -> u32 {
    ip.effective_prefix()
        .unwrap_or(if ip.address.is_ipv4() { 24 } else { 64 })
}

/// `ADDRESS/PREFIX` of the network (host bits cleared) of an `<ip>`.
pub fn subnet(ip: &rvirt_xml::network::ip::NetworkIp) -> String {
    let prefix = prefix_of(ip);
    let net = rvirt_xml::network::addr::mask_by_prefix(&ip.address, prefix).unwrap_or(ip.address);
    format!("{net}/{prefix}")
}

/// Creates bridge `br` with the definition's MAC, MTU, STP and delay, its addresses and
/// routes, and brings it up. Fails without creating anything if `br` already exists.
pub fn create_bridge(def: &NetworkDef, br: &str) -> Result<(), NetError> {
    if link_exists(br) {
        return Err(NetError::Internal(format!(
            "Network is already in use by interface {br}"
        )));
    }
    let stp = if def.bridge_def.stp { "1" } else { "0" };
    // The kernel counts the forward delay in hundredths of a second.
    let delay = (def.bridge_def.delay * 100).to_string();
    let mut add = words(&["link", "add", "name", br]);
    if let Some(mac) = &def.mac {
        add.extend(words(&["address", mac]));
    }
    if let Some(m) = def.mtu {
        add.extend(words(&["mtu", &m.to_string()]));
    }
    add.extend(words(&[
        "type",
        "bridge",
        "stp_state",
        stp,
        "forward_delay",
        &delay,
    ]));
    let mut cmds = vec![add];
    cmds.extend(bridge_config(def, br));
    if let Err(e) = run_ip_batch(&cmds) {
        let _ = delete_bridge(br);
        return Err(e);
    }
    Ok(())
}

fn words(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| s.to_string()).collect()
}

/// The `ip` commands giving bridge `br` its addresses and routes and bringing it up.
fn bridge_config(def: &NetworkDef, br: &str) -> Vec<Vec<String>> {
    let mut cmds = Vec::new();
    for ip in &def.ips {
        let cidr = format!("{}/{}", ip.address, prefix_of(ip));
        // A batch line takes no options (`-6`): ip knows the family by the address.
        let mut add = words(&["addr", "add", &cidr, "dev", br]);
        if ip.address.is_ipv6() {
            add.push("nodad".into());
        }
        cmds.push(add);
    }
    cmds.push(words(&["link", "set", br, "up"]));
    for r in &def.routes {
        let dest = format!("{}/{}", r.address, route_prefix(r));
        let gw = r.gateway.to_string();
        cmds.push(words(&["route", "add", &dest, "via", &gw, "dev", br]));
    }
    cmds
}

fn route_prefix(r: &rvirt_xml::network::route::Route) -> u32 {
    rvirt_xml::network::addr::effective_prefix(
        &r.address,
        r.netmask.as_ref(),
        r.prefix.unwrap_or(0),
    )
    .unwrap_or(if r.address.is_ipv4() { 32 } else { 128 })
}

/// Deletes bridge `br` (its addresses and routes go with it).
pub fn delete_bridge(br: &str) -> Result<(), NetError> {
    if !link_exists(br) {
        return Ok(());
    }
    run("ip", &["link", "del", br])
}

/// Turns on IP forwarding for the families the network routes.
pub fn enable_forwarding(def: &NetworkDef) -> Result<(), NetError> {
    let write = |path: &str| {
        std::fs::write(path, "1\n").map_err(|e| NetError::sys(format!("cannot enable {path}"), e))
    };
    if def.ips.iter().any(|i| i.address.is_ipv4()) {
        write("/proc/sys/net/ipv4/ip_forward")?;
    }
    if def.ips.iter().any(|i| i.address.is_ipv6()) {
        write("/proc/sys/net/ipv6/conf/all/forwarding")?;
    }
    Ok(())
}

/// The nftables family word of an address.
fn family(a: &IpAddr) -> &'static str {
    if a.is_ipv4() {
        "ip"
    } else {
        "ip6"
    }
}

/// The name of the table of ours holding the rules of the network on `br`.
pub fn table_name(br: &str) -> String {
    let safe: String = br
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("rvirt_{safe}")
}

/// The nftables script creating the network's table for `fam` (`ip` or `ip6`), or
/// `None` when the mode needs no rules for it.
pub fn ruleset(def: &NetworkDef, br: &str, fam: &str) -> Option<String> {
    let mode = def.forward_mode();
    if mode == Some("open") {
        return None;
    }
    let nets: Vec<String> = def
        .ips
        .iter()
        .filter(|i| family(&i.address) == fam)
        .map(subnet)
        .collect();
    if nets.is_empty() && mode.is_some() {
        return None;
    }
    let t = table_name(br);
    // The first forward dev restricts the rules to it, as libvirt's iptables rules.
    let (dev_in, dev_out) = match forward_dev(def) {
        Some(d) => (format!("iifname \"{d}\" "), format!(" oifname \"{d}\"")),
        None => (String::new(), String::new()),
    };
    let mut fwd = String::new();
    for n in &nets {
        let related = match mode {
            Some("nat") => " ct state related,established",
            Some("route") => "",
            _ => continue,
        };
        fwd += &format!(
            "    {dev_in}oifname \"{br}\" {fam} daddr {n}{related} accept\n    iifname \"{br}\"{dev_out} {fam} saddr {n} accept\n"
        );
    }
    fwd += &format!(
        "    iifname \"{br}\" oifname \"{br}\" accept\n    iifname \"{br}\" reject\n    oifname \"{br}\" reject\n"
    );
    let mut s = format!(
        "table {fam} {t} {{\n  chain forward {{\n    type filter hook forward priority filter; policy accept;\n{fwd}  }}\n"
    );
    if mode == Some("nat") && (fam == "ip" || nat_ipv6(def)) {
        s += &masquerade(def, &nets, fam);
    }
    s += "}\n";
    Some(s)
}

/// The first `<forward dev>` (or `<interface dev>`), which libvirt's rules name.
fn forward_dev(def: &NetworkDef) -> Option<&str> {
    def.forward
        .as_ref()
        .and_then(|f| f.interfaces.first())
        .map(String::as_str)
}

fn nat_ipv6(def: &NetworkDef) -> bool {
    def.forward.as_ref().and_then(|f| f.nat.ipv6) == Some(true)
}

/// The `postrouting` chain masquerading the network's traffic leaving it.
fn masquerade(def: &NetworkDef, nets: &[String], fam: &str) -> String {
    let nat = def.forward.as_ref().map(|f| &f.nat);
    let ports = nat.and_then(|n| n.ports).unwrap_or((1024, 65535));
    let to = match nat.and_then(|n| n.addresses) {
        Some((a, b)) if a == b => format!("snat to {a}"),
        Some((a, b)) => format!("snat to {a}-{b}"),
        None => "masquerade".to_string(),
    };
    let ports_to = if to == "masquerade" {
        format!("masquerade to :{}-{}", ports.0, ports.1)
    } else {
        format!("{to}:{}-{}", ports.0, ports.1)
    };
    let out = forward_dev(def).map_or(String::new(), |d| format!(" oifname \"{d}\""));
    let mut s = String::from(
        "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n",
    );
    for n in nets {
        if fam == "ip" {
            s += &format!("    ip saddr {n} ip daddr 224.0.0.0/24{out} return\n");
            s += &format!("    ip saddr {n} ip daddr 255.255.255.255{out} return\n");
        }
        s += &format!(
            "    {fam} saddr {n} {fam} daddr != {n}{out} meta l4proto {{ tcp, udp }} {ports_to}\n"
        );
        s += &format!("    {fam} saddr {n} {fam} daddr != {n}{out} {to}\n");
    }
    s + "  }\n"
}

/// Creates the network's tables; returns them as `FAMILY NAME`, in creation order.
pub fn add_rules(nft: &str, def: &NetworkDef, br: &str) -> Result<Vec<String>, NetError> {
    let mut made: Vec<String> = Vec::new();
    for fam in ["ip", "ip6"] {
        let Some(script) = ruleset(def, br, fam) else {
            continue;
        };
        let table = format!("{fam} {}", table_name(br));
        if let Err(e) = create_table(nft, &table, &script) {
            for t in &made {
                let _ = remove_table(nft, t);
            }
            return Err(e);
        }
        made.push(table);
    }
    Ok(made)
}

/// Runs `script` (which defines `table`) in one transaction that first creates the
/// table, so it fails rather than adding to a table already there. Such a table can only
/// be a leftover of ours: it is deleted and the script run again. Deleting in the same
/// transaction would always work, but a commit that deletes waits for an RCU grace period
/// (about 15 ms here, most of a start), so the delete happens only for a leftover.
fn create_table(nft: &str, table: &str, script: &str) -> Result<(), NetError> {
    let create = format!("create table {table}\n{script}");
    match run_input(nft, &["-f", "-"], Some(&create)) {
        Err(NetError::Internal(m)) if m.contains("File exists") => {
            remove_table(nft, table)?;
            run_input(nft, &["-f", "-"], Some(&create))
        }
        other => other,
    }
}

/// Whether table `FAMILY NAME` exists.
pub fn table_exists(nft: &str, table: &str) -> bool {
    let mut args = vec!["list", "table"];
    args.extend(table.split_whitespace());
    run(nft, &args).is_ok()
}

/// Deletes table `FAMILY NAME` (one of ours) if it exists, in one `nft` run.
pub fn remove_table(nft: &str, table: &str) -> Result<(), NetError> {
    run_input(nft, &["-f", "-"], Some(&drop_table_script(table)))
}

/// nft commands deleting `table` whether or not it exists (adding an existing table is
/// no change, so the delete always has a table to delete).
fn drop_table_script(table: &str) -> String {
    format!("add table {table}\ndelete table {table}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ip_batch_failure_names_its_command() {
        if !Path::new("/usr/sbin/ip").exists() && !Path::new("/sbin/ip").exists() {
            eprintln!("skipped: no ip (iproute2)");
            return;
        }
        // Reads only: the batch fails at its second line, on a device that is not there.
        let cmds = [
            words(&["link", "show", "lo"]),
            words(&["link", "set", "rvirt-nosuchdev", "up"]),
            words(&["link", "show", "lo"]),
        ];
        let e = run_ip_batch(&cmds).unwrap_err().to_string();
        assert_eq!(
            e,
            "internal error: Child process (ip link set rvirt-nosuchdev up) unexpected exit status 1: Cannot find device \"rvirt-nosuchdev\"\n"
        );
    }

    #[test]
    fn bridge_config_adds_addresses_then_brings_it_up_then_routes() {
        let d = def("<network><name>n</name><bridge name='b0'/><ip address='10.0.0.1' prefix='24'/><ip family='ipv6' address='fd00::1' prefix='64'/><route address='10.9.0.0' prefix='16' gateway='10.0.0.2'/></network>");
        let lines: Vec<String> = bridge_config(&d, "b0")
            .iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            lines,
            [
                "addr add 10.0.0.1/24 dev b0",
                "addr add fd00::1/64 dev b0 nodad",
                "link set b0 up",
                "route add 10.9.0.0/16 via 10.0.0.2 dev b0",
            ]
        );
    }

    fn def(xml: &str) -> NetworkDef {
        NetworkDef::parse(xml).unwrap()
    }

    const NAT: &str = "<network><name>default</name><forward mode='nat'/>\
        <bridge name='virbr0'/><ip address='192.168.122.1' netmask='255.255.255.0'/></network>";

    #[test]
    fn nat_rules_masquerade_the_subnet() {
        let s = ruleset(&def(NAT), "virbr0", "ip").unwrap();
        assert!(s.starts_with("table ip rvirt_virbr0 {"), "{s}");
        assert!(s.contains("iifname \"virbr0\" ip saddr 192.168.122.0/24 accept"));
        assert!(s.contains(
            "ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 meta l4proto { tcp, udp } masquerade to :1024-65535"
        ));
        assert_eq!(ruleset(&def(NAT), "virbr0", "ip6"), None);
    }

    #[test]
    fn a_forward_dev_restricts_the_rules_to_it() {
        let nat = NAT.replace("<forward mode='nat'/>", "<forward mode='nat' dev='eth1'/>");
        let s = ruleset(&def(&nat), "virbr0", "ip").unwrap();
        for rule in [
            "iifname \"eth1\" oifname \"virbr0\" ip daddr 192.168.122.0/24 ct state related,established accept",
            "iifname \"virbr0\" oifname \"eth1\" ip saddr 192.168.122.0/24 accept",
            "ip saddr 192.168.122.0/24 ip daddr 224.0.0.0/24 oifname \"eth1\" return",
            "ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 oifname \"eth1\" meta l4proto { tcp, udp } masquerade to :1024-65535",
            "ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 oifname \"eth1\" masquerade\n",
            "iifname \"virbr0\" oifname \"virbr0\" accept\n    iifname \"virbr0\" reject",
        ] {
            assert!(s.contains(rule), "{rule} not in {s}");
        }
        let route = nat.replace("nat", "route");
        let s = ruleset(&def(&route), "virbr0", "ip").unwrap();
        assert!(
            s.contains(
                "    iifname \"eth1\" oifname \"virbr0\" ip daddr 192.168.122.0/24 accept\n"
            ),
            "{s}"
        );
        assert!(
            s.contains(
                "    iifname \"virbr0\" oifname \"eth1\" ip saddr 192.168.122.0/24 accept\n"
            ),
            "{s}"
        );
    }

    #[test]
    fn route_open_and_isolated() {
        let route = NAT.replace("nat", "route");
        let s = ruleset(&def(&route), "virbr0", "ip").unwrap();
        assert!(!s.contains("masquerade") && s.contains("oifname \"virbr0\" ip daddr"));
        assert_eq!(
            ruleset(&def(&NAT.replace("nat", "open")), "virbr0", "ip"),
            None
        );
        let iso = "<network><name>i</name><bridge name='br-i'/></network>";
        let s = ruleset(&def(iso), "br-i", "ip").unwrap();
        assert!(s.starts_with("table ip rvirt_br_i {") && s.contains("iifname \"br-i\" reject"));
    }

    #[test]
    fn failed_children_are_reported_as_libvirt_does() {
        let e = run("sh", &["-c", "echo boom >&2; exit 3"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "internal error: Child process (sh -c echo boom >&2; exit 3) unexpected exit status 3: boom\n"
        );
    }

    #[test]
    fn subnets_clear_host_bits() {
        let d = def(NAT);
        assert_eq!(subnet(&d.ips[0]), "192.168.122.0/24");
    }
}
