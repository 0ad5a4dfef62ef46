//! The network driver for real, each test inside network namespaces of its own: rvirtd
//! runs in one (`ip netns exec`), virsh reaches its socket from outside, and bridges,
//! addresses, dnsmasq and nftables tables appear only in that namespace. Further
//! namespaces play a guest (a DHCP client on a veth plugged into the bridge) and "the
//! internet" (reached from the guest through NAT only).

use std::path::Path;
use std::time::Duration;

use rvirt_tests::netns::{self, Netns, DEFAULT_NETWORK_XML as DEFAULT_XML};
use rvirt_tests::{have_program, require_peer, virsh, Daemon};

/// The udhcpc script: configures the lease it is given (address and default route).
const UDHCPC_SCRIPT: &str = "#!/bin/sh
case \"$1\" in
bound|renew)
  busybox ifconfig \"$interface\" \"$ip\" netmask \"$subnet\"
  [ -n \"$router\" ] && busybox route add default gw \"$router\" dev \"$interface\"
  ;;
esac
exit 0
";

fn peers() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH))
        && require_peer("ip, nft and dnsmasq", netns::tools_available())
        && require_peer("busybox (udhcpc)", have_program("/usr/bin/busybox"))
}

/// Defines (from a file, like a user would) and starts a network.
fn define_and_start(d: &Daemon, uri: &str, name: &str, xml: &str) {
    let file = d.dir.0.join(format!("{name}.xml"));
    std::fs::write(&file, xml).unwrap();
    virsh::ok(uri, &["net-define", file.to_str().unwrap()]);
    virsh::ok(uri, &["net-start", name]);
}

/// The pid of the dnsmasq of network `name` in namespace `ns`.
fn dnsmasq_pid(ns: &Netns, name: &str) -> Option<i32> {
    let conf = format!("/{name}.conf");
    ns.pids().into_iter().find(|p| {
        std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
            let c = String::from_utf8_lossy(&c);
            c.starts_with("dnsmasq") && c.contains(&conf)
        })
    })
}

/// Whether network `name`'s dnsmasq (and its helper process) exit within a few seconds.
fn gone(ns: &Netns, name: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while dnsmasq_pid(ns, name).is_some() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// `nft list tables` inside the namespace.
fn nft_tables(ns: &Netns) -> String {
    let out = ns.exec("nft", &["list", "tables"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs udhcpc in `guest` on `dev` until it has a lease; answers the address it got.
fn dhcp_client(guest: &Netns, dev: &str, script_dir: &Path) -> String {
    let script = script_dir.join("udhcpc.sh");
    std::fs::write(&script, UDHCPC_SCRIPT).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let s = script.to_str().unwrap();
    // The bridge port forwards only after STP's listening and learning (a few seconds).
    let out = guest.exec(
        "busybox",
        &[
            "udhcpc", "-i", dev, "-n", "-q", "-f", "-t", "10", "-T", "2", "-s", s,
        ],
    );
    assert!(
        out.status.success(),
        "udhcpc got no lease: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let addrs = guest.ip_in(&["-4", "-o", "addr", "show", dev]);
    addrs
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .expect("address on the guest side")
        .to_string()
}

/// `virsh net-dhcp-leases default` shows the lease of `guest`'s `dev` for `ip`.
fn assert_lease_shown(uri: &str, guest: &Netns, dev: &str, ip: &str) {
    let leases = virsh::ok(uri, &["net-dhcp-leases", "default"]);
    let link = guest.ip_in(&["-o", "link", "show", dev]);
    let mac = link
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap();
    let line = leases
        .lines()
        .find(|l| l.contains(mac))
        .unwrap_or_else(|| panic!("{mac} not in\n{leases}"));
    assert!(line.contains(&format!("ipv4       {ip}/24")), "{line}");
}

#[test]
fn default_network_nat_dhcp_lease_and_destroy() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let guest = Netns::new("guest");
    let inet = Netns::new("inet");
    let d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    define_and_start(&d, &uri, "default", DEFAULT_XML);

    // The bridge with its address, the table of ours, dnsmasq: all in `host`.
    let addr = host.ip_in(&["-4", "-o", "addr", "show", "virbr0"]);
    assert!(addr.contains("inet 192.168.122.1/24"), "{addr}");
    assert!(nft_tables(&host).contains("table ip rvirt_virbr0"));
    let rules = host.exec("nft", &["list", "table", "ip", "rvirt_virbr0"]);
    assert!(String::from_utf8_lossy(&rules.stdout).contains("masquerade"));
    assert!(
        dnsmasq_pid(&host, "default").is_some(),
        "no dnsmasq in {}",
        host.name()
    );
    assert_eq!(
        virsh::ok(&uri, &["net-info", "default"])
            .lines()
            .find(|l| l.starts_with("Bridge:")),
        Some("Bridge:         virbr0")
    );

    // A guest on the bridge gets a lease that net-dhcp-leases shows.
    host.veth_to("vh0", &guest, "vg0");
    host.ip_in(&["link", "set", "vh0", "master", "virbr0"]);
    let ip = dhcp_client(&guest, "vg0", &d.dir.0);
    assert!(ip.starts_with("192.168.122."), "{ip}");
    assert_lease_shown(&uri, &guest, "vg0", &ip);

    // "The internet" has no route back to 192.168.122.0/24: only NAT makes this work.
    host.veth_to("vi0", &inet, "vo0");
    host.ip_in(&["addr", "add", "203.0.113.1/24", "dev", "vi0"]);
    inet.ip_in(&["addr", "add", "203.0.113.2/24", "dev", "vo0"]);
    let ping = guest.exec("busybox", &["ping", "-c", "1", "-W", "3", "203.0.113.2"]);
    assert!(
        ping.status.success(),
        "no NAT: {}",
        String::from_utf8_lossy(&ping.stdout)
    );

    // net-destroy removes all it created and nothing else.
    let pid = dnsmasq_pid(&host, "default").unwrap();
    virsh::ok(&uri, &["net-destroy", "default"]);
    let links = host.links();
    assert!(!links.iter().any(|l| l == "virbr0"), "{links:?}");
    assert!(links.iter().any(|l| l == "vh0") && links.iter().any(|l| l == "vi0"));
    assert!(!nft_tables(&host).contains("rvirt"));
    assert!(gone(&host, "default"), "dnsmasq {pid} still runs");
    let info = virsh::ok(&uri, &["net-list", "--all"]);
    assert!(info.contains("default   inactive"), "{info}");
    virsh::ok(&uri, &["net-undefine", "default"]);
}

#[test]
fn kill9_restart_keeps_the_network_and_its_dnsmasq() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let mut d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    define_and_start(&d, &uri, "default", DEFAULT_XML);
    let pid = dnsmasq_pid(&host, "default").expect("dnsmasq runs");
    d.kill9_and_restart();
    assert_eq!(virsh::ok(&uri, &["net-list", "--name"]).trim(), "default");
    assert_eq!(
        dnsmasq_pid(&host, "default"),
        Some(pid),
        "dnsmasq was restarted"
    );
    assert!(host.links().iter().any(|l| l == "virbr0"));
    assert!(nft_tables(&host).contains("table ip rvirt_virbr0"));
    // The restarted daemon still removes exactly what the first one created.
    virsh::ok(&uri, &["net-destroy", "default"]);
    assert!(!host.links().iter().any(|l| l == "virbr0"));
    assert!(gone(&host, "default"));
    assert!(!nft_tables(&host).contains("rvirt"));
}

#[test]
fn forward_modes_create_what_they_need() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    let net = |name: &str, fwd: &str, third: u8| {
        format!(
            "<network><name>{name}</name>{fwd}<bridge name='br-{name}' stp='off'/><mtu size='1400'/>\
             <ip address='10.9.{third}.1' prefix='24'/></network>"
        )
    };
    define_and_start(&d, &uri, "iso", &net("iso", "", 1));
    // A leftover table of ours (a daemon that died mid-start) is replaced, not added to.
    for cmd in [
        "add table ip rvirt_br_rt",
        "add chain ip rvirt_br_rt stray",
        "add rule ip rvirt_br_rt stray counter comment leftover",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        assert!(host.exec("nft", &args).status.success(), "nft {cmd}");
    }
    define_and_start(&d, &uri, "rt", &net("rt", "<forward mode='route'/>", 2));
    define_and_start(&d, &uri, "op", &net("op", "<forward mode='open'/>", 3));
    let hostbr =
        "<network><name>hb</name><forward mode='bridge'/><bridge name='br-host'/></network>";
    define_and_start(&d, &uri, "hb", hostbr);
    let tables = nft_tables(&host);
    assert!(tables.contains("table ip rvirt_br_iso") && tables.contains("table ip rvirt_br_rt"));
    assert!(!tables.contains("rvirt_br_op"), "{tables}");
    let rt = host.exec("nft", &["list", "table", "ip", "rvirt_br_rt"]);
    let rt = String::from_utf8_lossy(&rt.stdout);
    assert!(!rt.contains("masquerade"), "{rt}");
    assert!(
        !rt.contains("leftover") && rt.contains("chain forward"),
        "{rt}"
    );
    let link = host.ip_in(&["-d", "link", "show", "br-rt"]);
    assert!(
        link.contains("mtu 1400") && link.contains("stp_state 0"),
        "{link}"
    );
    // A host bridge network creates nothing.
    assert!(!host.links().iter().any(|l| l == "br-host"));
    assert_eq!(
        virsh::ok(&uri, &["net-list", "--name"])
            .split_whitespace()
            .count(),
        4
    );
    for n in ["iso", "rt", "op", "hb"] {
        virsh::ok(&uri, &["net-destroy", n]);
    }
    let links = host.links();
    assert_eq!(links, ["lo"], "left behind: {links:?}");
    assert!(!nft_tables(&host).contains("rvirt"));
}

/// What `virsh net-event --loop` prints about network `iso` while it is defined, started,
/// marked autostart, destroyed and undefined.
fn lifecycle_events(d: &Daemon, uri: &str) -> Vec<String> {
    let events = std::process::Command::new(virsh::VIRSH)
        .args([
            "-c",
            uri,
            "net-event",
            "--event",
            "lifecycle",
            "--loop",
            "--timeout",
            "6",
        ])
        .env("LC_ALL", "C")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Give virsh time to connect and register before anything happens.
    std::thread::sleep(Duration::from_millis(1500));
    define_and_start(
        d,
        uri,
        "iso",
        "<network><name>iso</name><ip address='10.8.0.1' prefix='24'/></network>",
    );
    virsh::ok(uri, &["net-autostart", "iso"]);
    virsh::ok(uri, &["net-destroy", "iso"]);
    virsh::ok(uri, &["net-undefine", "iso"]);
    // virsh prints (and flushes its pipe) when its timeout ends it.
    let out = events.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    out.lines()
        .filter(|l| l.contains("network iso:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn lifecycle_events_autostart_and_test_driver_networks() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let mut d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    let got = lifecycle_events(&d, &uri);
    assert_eq!(
        got,
        [
            "event 'lifecycle' for network iso: Defined",
            "event 'lifecycle' for network iso: Started",
            "event 'lifecycle' for network iso: Stopped",
            "event 'lifecycle' for network iso: Undefined",
        ]
    );
    // Autostart: a network marked so is started by a (re)starting daemon.
    define_and_start(
        &d,
        &uri,
        "auto",
        "<network><name>auto</name><bridge name='br-auto'/></network>",
    );
    virsh::ok(&uri, &["net-autostart", "auto"]);
    virsh::ok(&uri, &["net-destroy", "auto"]);
    d.kill9_and_restart();
    assert_eq!(virsh::ok(&uri, &["net-list", "--name"]).trim(), "auto");
    virsh::ok(&uri, &["net-destroy", "auto"]);
    // test:/// keeps the test driver's own networks.
    let test = d.uri("test:///default");
    assert_eq!(
        virsh::ok(&test, &["net-list", "--all", "--name"]).trim(),
        "default"
    );
}

/// A NAT network with most of what the schema offers: IPv4 and IPv6, a static host,
/// lease time, DNS forwarders, TXT, SRV and hosts, a local-only domain, TFTP and BOOTP.
const FULL_XML: &str = "<network ipv6='yes'>
  <name>full</name>
  <forward mode='nat'><nat><port start='2000' end='3000'/></nat></forward>
  <bridge name='br-full' stp='on' delay='2'/>
  <mac address='52:54:00:12:34:56'/>
  <domain name='example.test' localOnly='yes'/>
  <dns>
    <forwarder addr='192.0.2.53'/>
    <forwarder domain='corp.test' addr='192.0.2.54'/>
    <txt name='example' value='some text'/>
    <srv service='ldap' protocol='tcp' domain='example.test' target='ldap.example.test' port='389' priority='1' weight='10'/>
    <host ip='10.20.0.9'><hostname>files</hostname></host>
  </dns>
  <ip address='10.20.0.1' netmask='255.255.255.0'>
    <tftp root='TFTP'/>
    <dhcp>
      <range start='10.20.0.100' end='10.20.0.199'><lease expiry='1' unit='hours'/></range>
      <host mac='52:54:00:aa:00:01' name='static1' ip='10.20.0.10'/>
      <bootp file='pxelinux.0'/>
    </dhcp>
  </ip>
  <ip family='ipv6' address='fd00:20::1' prefix='64'>
    <dhcp><range start='fd00:20::100' end='fd00:20::1ff'/></dhcp>
  </ip>
</network>
";

#[test]
fn full_featured_transient_network_runs_dnsmasq_with_its_config() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    let tftp = d.dir.0.join("tftp");
    std::fs::create_dir_all(&tftp).unwrap();
    let file = d.dir.0.join("full.xml");
    std::fs::write(&file, FULL_XML.replace("TFTP", tftp.to_str().unwrap())).unwrap();
    virsh::ok(&uri, &["net-create", file.to_str().unwrap()]);
    let pid = dnsmasq_pid(&host, "full").expect("dnsmasq runs");
    let conf = std::fs::read_to_string(d.dir.0.join("state/network/run/full.conf")).unwrap();
    for line in [
        "server=/corp.test/192.0.2.54",
        "local=/example.test/",
        "srv-host=_ldap._tcp.example.test,ldap.example.test,389,1,10",
        "txt-record=example,some text",
        "dhcp-range=10.20.0.100,10.20.0.199,255.255.255.0,1h",
        "dhcp-range=fd00:20::100,fd00:20::1ff,64",
        "dhcp-boot=pxelinux.0",
        "enable-ra",
    ] {
        assert!(conf.lines().any(|l| l == line), "{line} not in\n{conf}");
    }
    let link = host.ip_in(&["-d", "addr", "show", "br-full"]);
    for want in [
        "52:54:00:12:34:56",
        "forward_delay 200",
        "stp_state 1",
        "inet 10.20.0.1/24",
        "inet6 fd00:20::1/64",
    ] {
        assert!(link.contains(want), "{want} not in {link}");
    }
    let tables = nft_tables(&host);
    assert!(
        tables.contains("table ip rvirt_br_full") && tables.contains("table ip6 rvirt_br_full")
    );
    let v4 = host.exec("nft", &["list", "table", "ip", "rvirt_br_full"]);
    assert!(String::from_utf8_lossy(&v4.stdout).contains("masquerade to :2000-3000"));
    // Transient: gone from the list once destroyed, with everything it made.
    virsh::ok(&uri, &["net-destroy", "full"]);
    assert!(virsh::ok(&uri, &["net-list", "--all", "--name"])
        .trim()
        .is_empty());
    assert!(gone(&host, "full"), "dnsmasq {pid} still runs");
    assert_eq!(host.links(), ["lo"]);
    assert!(!nft_tables(&host).contains("rvirt"));
}

#[test]
fn restart_restores_a_vanished_dnsmasq_and_table() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let mut d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    define_and_start(&d, &uri, "default", DEFAULT_XML);
    let pid = dnsmasq_pid(&host, "default").expect("dnsmasq runs");
    // Someone kills our dnsmasq and flushes our table while the daemon is down.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    assert!(gone(&host, "default"));
    let del = host.exec("nft", &["delete", "table", "ip", "rvirt_virbr0"]);
    assert!(del.status.success());
    d.kill9_and_restart();
    assert_eq!(virsh::ok(&uri, &["net-list", "--name"]).trim(), "default");
    let again = dnsmasq_pid(&host, "default").expect("dnsmasq restarted");
    assert_ne!(again, pid);
    assert!(nft_tables(&host).contains("table ip rvirt_virbr0"));
    virsh::ok(&uri, &["net-destroy", "default"]);
    assert!(gone(&host, "default"));
    assert_eq!(host.links(), ["lo"]);
}

#[test]
fn a_network_whose_bridge_vanished_is_inactive_after_restart() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let mut d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    define_and_start(&d, &uri, "default", DEFAULT_XML);
    host.ip_in(&["link", "del", "virbr0"]);
    d.kill9_and_restart();
    let list = virsh::ok(&uri, &["net-list", "--all"]);
    assert!(list.contains("default   inactive"), "{list}");
    // What the start had made is gone too, and it starts again cleanly.
    assert!(gone(&host, "default"));
    assert!(!nft_tables(&host).contains("rvirt"));
    virsh::ok(&uri, &["net-start", "default"]);
    virsh::ok(&uri, &["net-destroy", "default"]);
    assert_eq!(host.links(), ["lo"]);
}

/// `virsh net-update` on the running default network: a DHCP host added live and in the
/// config reaches dnsmasq's hosts file without restarting it (SIGHUP), a duplicate and a
/// section libvirt cannot update are refused, and a delete takes the host out again.
#[test]
fn net_update_reloads_dnsmasq_without_restarting_it() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    define_and_start(&d, &uri, "default", DEFAULT_XML);
    let pid = dnsmasq_pid(&host, "default").expect("dnsmasq runs");
    let entry = "<host mac='52:54:00:00:00:51' name='g51' ip='192.168.122.51'/>";
    let update = |args: &[&str]| {
        let mut all = vec!["net-update", "default"];
        all.extend_from_slice(args);
        virsh::run(&uri, &all)
    };
    let (out, err, rc) = update(&["add", "ip-dhcp-host", entry, "--live", "--config"]);
    assert_eq!(rc, 0, "{out}{err}");
    let hosts = d.dir.0.join("state/network/run/default.hostsfile");
    let text = std::fs::read_to_string(&hosts).unwrap_or_default();
    assert!(
        text.contains("52:54:00:00:00:51,192.168.122.51,g51"),
        "{}: {text}",
        hosts.display()
    );
    assert_eq!(
        dnsmasq_pid(&host, "default"),
        Some(pid),
        "dnsmasq restarted"
    );
    for flag in [None, Some("--inactive")] {
        let mut args = vec!["net-dumpxml", "default"];
        args.extend(flag);
        let xml = virsh::ok(&uri, &args);
        assert!(xml.contains(entry), "{flag:?}: {xml}");
    }
    let (_, err, rc) = update(&["add", "ip-dhcp-host", entry, "--live"]);
    assert!(
        rc == 1
            && err.contains(&format!(
                "there is an existing dhcp host entry in network 'default' that matches \"{entry}\""
            )),
        "{err}"
    );
    let (_, err, _) = update(&["add", "bridge", "<bridge name='virbr9'/>", "--live"]);
    assert!(
        err.contains("can't update 'bridge' section of network 'default'"),
        "{err}"
    );
    let (out, err, rc) = update(&["delete", "ip-dhcp-host", entry, "--live", "--config"]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(!std::fs::read_to_string(&hosts)
        .unwrap_or_default()
        .contains("52:54:00:00:00:51"));
    assert!(!virsh::ok(&uri, &["net-dumpxml", "default", "--inactive"]).contains("g51"));
    assert_eq!(dnsmasq_pid(&host, "default"), Some(pid));
    virsh::ok(&uri, &["net-destroy", "default"]);
    assert!(gone(&host, "default"));
}

#[test]
fn iptables_backend_nat_and_destroy_leaves_other_rules() {
    if !peers()
        || !require_peer(
            "iptables and ip6tables",
            have_program("/usr/sbin/iptables") && have_program("/usr/sbin/ip6tables"),
        )
    {
        return;
    }
    let host = Netns::new("host");
    let guest = Netns::new("guest");
    let inet = Netns::new("inet");
    // Rules of someone else, in every table we use: they must stay as they are.
    for prog in ["iptables", "ip6tables"] {
        let net = if prog == "iptables" {
            "198.51.100.0/24"
        } else {
            "2001:db8::/32"
        };
        for (table, chain, target) in [
            ("filter", "FORWARD", "ACCEPT"),
            ("filter", "INPUT", "ACCEPT"),
            ("nat", "POSTROUTING", "RETURN"),
            ("mangle", "POSTROUTING", "ACCEPT"),
        ] {
            let out = host.exec(prog, &["-t", table, "-A", chain, "-s", net, "-j", target]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let before = host.iptables_save();
    let mut d = Daemon::start_in_netns(
        &host,
        "[drivers.network]\nfirewall_backend = \"iptables\"\n",
    );
    let uri = d.uri("qemu:///system");
    define_and_start(&d, &uri, "default", DEFAULT_XML);
    let running = host.iptables_save();
    for rule in [
        ":LIBVIRT_FWX -\n",
        "-A FORWARD -j LIBVIRT_FWX\n-A FORWARD -j LIBVIRT_FWI\n-A FORWARD -j LIBVIRT_FWO\n",
        "-A LIBVIRT_FWO -s 192.168.122.0/24 -i virbr0 -j ACCEPT\n",
        "-A LIBVIRT_INP -i virbr0 -p udp -m udp --dport 67 -j ACCEPT\n",
        "-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -p tcp -j MASQUERADE --to-ports 1024-65535\n",
        "-A LIBVIRT_PRT -o virbr0 -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill\n",
    ] {
        assert!(running.contains(rule), "{rule} not in\n{running}");
    }
    assert!(
        !nft_tables(&host).contains("rvirt"),
        "an nftables table too"
    );
    for l in before.lines().filter(|l| l.starts_with("-A")) {
        assert!(running.contains(l), "{l} went");
    }

    // The NAT'd ping of the nftables test, through these rules.
    host.veth_to("vh0", &guest, "vg0");
    host.ip_in(&["link", "set", "vh0", "master", "virbr0"]);
    let ip = dhcp_client(&guest, "vg0", &d.dir.0);
    assert!(ip.starts_with("192.168.122."), "{ip}");
    host.veth_to("vi0", &inet, "vo0");
    host.ip_in(&["addr", "add", "203.0.113.1/24", "dev", "vi0"]);
    inet.ip_in(&["addr", "add", "203.0.113.2/24", "dev", "vo0"]);
    let ping = guest.exec("busybox", &["ping", "-c", "1", "-W", "3", "203.0.113.2"]);
    assert!(
        ping.status.success(),
        "no NAT: {}",
        String::from_utf8_lossy(&ping.stdout)
    );

    virsh::ok(&uri, &["net-destroy", "default"]);
    assert_eq!(host.iptables_save(), before, "net-destroy left a change");
    // A restarted daemon that finds a rule gone puts it back.
    virsh::ok(&uri, &["net-start", "default"]);
    let fwo = [
        "-t",
        "filter",
        "-D",
        "LIBVIRT_FWO",
        "-s",
        "192.168.122.0/24",
        "-i",
        "virbr0",
        "-j",
        "ACCEPT",
    ];
    assert!(host.exec("iptables", &fwo).status.success());
    d.kill9_and_restart();
    assert_eq!(host.iptables_save(), running, "rules not restored");
    virsh::ok(&uri, &["net-destroy", "default"]);
    assert_eq!(host.iptables_save(), before);
    virsh::ok(&uri, &["net-undefine", "default"]);
}

#[test]
fn nftables_nat_through_a_forward_dev_uses_only_that_dev() {
    if !peers() {
        return;
    }
    let host = Netns::new("host");
    let guest = Netns::new("guest");
    let (up, other) = (Netns::new("inet"), Netns::new("inet2"));
    let d = Daemon::start_in_netns(&host, "");
    let uri = d.uri("qemu:///system");
    let xml = "<network><name>viadev</name><forward mode='nat' dev='vi0'/>\
               <bridge name='br-viadev' stp='off'/><ip address='10.71.0.1' prefix='24'/></network>";
    define_and_start(&d, &uri, "viadev", xml);
    let rules = host.exec("nft", &["list", "table", "ip", "rvirt_br_viadev"]);
    let rules = String::from_utf8_lossy(&rules.stdout).into_owned();
    assert!(rules.contains("oifname \"vi0\""), "{rules}");

    host.veth_to("vh0", &guest, "vg0");
    host.ip_in(&["link", "set", "vh0", "master", "br-viadev"]);
    guest.ip_in(&["addr", "add", "10.71.0.2/24", "dev", "vg0"]);
    guest.ip_in(&["route", "add", "default", "via", "10.71.0.1"]);
    for (dev, ns, net) in [("vi0", &up, "203.0.113"), ("vj0", &other, "198.51.100")] {
        host.veth_to(dev, ns, "vo0");
        host.ip_in(&["addr", "add", &format!("{net}.1/24"), "dev", dev]);
        ns.ip_in(&["addr", "add", &format!("{net}.2/24"), "dev", "vo0"]);
    }
    let ping = |ip: &str| guest.exec("busybox", &["ping", "-c", "1", "-W", "3", ip]);
    let through = ping("203.0.113.2");
    assert!(
        through.status.success(),
        "no NAT through the forward dev: {}\n{rules}",
        String::from_utf8_lossy(&through.stdout)
    );
    // Another uplink is not the network's: its forwarding is rejected.
    assert!(!ping("198.51.100.2").status.success(), "{rules}");
    virsh::ok(&uri, &["net-destroy", "viadev"]);
    assert!(!nft_tables(&host).contains("rvirt"));
    virsh::ok(&uri, &["net-undefine", "viadev"]);
}
