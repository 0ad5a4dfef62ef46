//! Differential: the same network definitions on rvirtd and on a real libvirtd 9.0,
//! each daemon inside a network namespace of its own, give the same dumped XML (defined
//! and running) and the same dnsmasq configuration lines, static-hosts and DNS-hosts
//! files. libvirtd's definitions land in the host's /etc/libvirt, so every network is
//! destroyed and undefined again, also when an assertion fails.

use rvirt_tests::netdiff::{conf_lines, normalized, read, Pair, Undefine};
use rvirt_tests::netns::Netns;
use rvirt_tests::{have_program, virsh, Daemon, Libvirtd};

const UUID: &str = "7f3c0a52-1d6e-4b8a-9c1f-5e2d8a9b0c01";

/// Definitions compared; `TFTP` is replaced by a directory both dnsmasqs can read.
const NETWORKS: &[(&str, &str)] = &[
    (
        "default",
        "<network><name>default</name><bridge name='virbr0'/><forward/>\
         <ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>\
         <range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>",
    ),
    (
        "full",
        "<network ipv6='yes'><name>full</name>\
         <forward mode='nat'><nat><port start='2000' end='3000'/></nat></forward>\
         <bridge name='br-full' stp='on' delay='2'/><mac address='52:54:00:12:34:56'/>\
         <domain name='example.test' localOnly='yes'/>\
         <dns><forwarder addr='192.0.2.53'/><forwarder domain='corp.test' addr='192.0.2.54'/>\
         <txt name='example' value='some text'/>\
         <srv service='ldap' protocol='tcp' domain='example.test' target='ldap.example.test' port='389' priority='1' weight='10'/>\
         <host ip='10.20.0.9'><hostname>files</hostname><hostname>files.example.test</hostname></host></dns>\
         <ip address='10.20.0.1' netmask='255.255.255.0'><tftp root='TFTP'/><dhcp>\
         <range start='10.20.0.100' end='10.20.0.199'><lease expiry='1' unit='hours'/></range>\
         <host mac='52:54:00:aa:00:01' name='static1' ip='10.20.0.10'/>\
         <bootp file='pxelinux.0'/></dhcp></ip>\
         <ip family='ipv6' address='fd00:20::1' prefix='64'><dhcp>\
         <range start='fd00:20::100' end='fd00:20::1ff'/></dhcp></ip></network>",
    ),
    (
        "iso",
        "<network><name>iso</name><ip address='10.30.0.1' prefix='24'><dhcp>\
         <range start='10.30.0.10' end='10.30.0.20'/>\
         <host mac='52:54:00:aa:00:02' ip='10.30.0.5'/></dhcp></ip></network>",
    ),
    (
        "rt",
        "<network><name>rt</name><forward mode='route'/><bridge name='br-rt' stp='off'/>\
         <mtu size='1400'/><dns forwardPlainNames='no'><host ip='10.40.0.7'><hostname>h7</hostname></host></dns>\
         <ip address='10.40.0.1' prefix='24'/><ip family='ipv6' address='fd00:40::1' prefix='64'/>\
         </network>",
    ),
    (
        "natdev",
        "<network><name>natdev</name><forward mode='nat' dev='vo9'>\
         <nat><address start='192.0.2.5' end='192.0.2.9'/></nat></forward>\
         <bridge name='br-natdev'/><ip address='10.70.0.1' prefix='24'/></network>",
    ),
    (
        "quiet",
        "<network><name>quiet</name><forward mode='open'/><dns enable='no'/>\
         <ip address='10.50.0.1' prefix='24'><dhcp><range start='10.50.0.2' end='10.50.0.9'/></dhcp></ip>\
         </network>",
    ),
];

#[test]
fn network_xml_and_dnsmasq_config_match_libvirt() {
    // libvirt 9.0 uses iptables: so does rvirtd here, to compare the rules.
    let Some(Pair {
        lns, lv, rns, rv, ..
    }) = Pair::on_iptables("")
    else {
        return;
    };
    let luri = lv.uri("qemu", "system");
    let ruri = rv.uri("qemu:///system");
    let tftp = rv.dir.0.join("tftp");
    std::fs::create_dir_all(&tftp).unwrap();
    for (name, xml) in NETWORKS {
        let with_uuid = xml.replacen("</name>", &format!("</name><uuid>{UUID}</uuid>"), 1);
        let xml = with_uuid.replace("TFTP", tftp.to_str().unwrap());
        let file = rv.dir.0.join(format!("{name}.xml"));
        std::fs::write(&file, &xml).unwrap();
        let f = file.to_str().unwrap();
        let _lguard = Undefine(luri.clone(), name);
        let mut dumps = Vec::new();
        let mut rules = Vec::new();
        for (uri, ns) in [(&luri, &lns), (&ruri, &rns)] {
            virsh::ok(uri, &["net-define", f]);
            let inactive = normalized(&virsh::ok(uri, &["net-dumpxml", "--inactive", name]));
            virsh::ok(uri, &["net-start", name]);
            let live = normalized(&virsh::ok(uri, &["net-dumpxml", name]));
            dumps.push((inactive, live));
            rules.push(ns.iptables_save());
        }
        assert_eq!(
            dumps[1], dumps[0],
            "network {name}: rvirt's dumps, then libvirt's"
        );
        if xml.contains("mode='open'") {
            // No rules for an open network; libvirt keeps its (then empty) chains once
            // made, rvirt removes them with the last network needing them.
            let own = |r: &str| r.lines().filter(|l| l.starts_with("-A LIBVIRT_")).count();
            assert_eq!(
                (own(&rules[1]), own(&rules[0])),
                (0, 0),
                "{name}: {rules:?}"
            );
        } else {
            assert_eq!(
                rules[1], rules[0],
                "{name}: rvirt's iptables, then libvirt's"
            );
        }
        let ldir = std::path::Path::new("/var/lib/libvirt/dnsmasq");
        let rdir = rv.dir.0.join("state/network/run");
        assert_eq!(
            conf_lines(&read(rdir.join(format!("{name}.conf")))),
            conf_lines(&read(ldir.join(format!("{name}.conf")))),
            "dnsmasq config of {name}"
        );
        for ext in ["hostsfile", "addnhosts"] {
            let l = std::fs::read_to_string(ldir.join(format!("{name}.{ext}"))).unwrap_or_default();
            let r = std::fs::read_to_string(rdir.join(format!("{name}.{ext}"))).unwrap_or_default();
            assert_eq!(r, l, "{name}.{ext}");
        }
        virsh::ok(&ruri, &["net-destroy", name]);
        virsh::ok(&ruri, &["net-undefine", name]);
    }
    if have_program("/usr/sbin/tc") {
        bandwidth_start_matches(&lv, &lns, &rv, &rns);
    }
}

/// With the real `tc` (no recorder), starting a network with `<bandwidth>` ends alike:
/// both run, shaped the same, or (a kernel without sfq) both fail with the same error
/// and leave nothing behind.
fn bandwidth_start_matches(lv: &Libvirtd, lns: &Netns, rv: &Daemon, rns: &Netns) {
    let xml = "<network><name>bwplain</name><bridge name='br-bw'/>\
               <bandwidth><inbound average='500'/></bandwidth></network>";
    let file = rv.dir.0.join("bwplain.xml");
    std::fs::write(&file, xml).unwrap();
    let luri = lv.uri("qemu", "system");
    let _guard = Undefine(luri.clone(), "bwplain");
    let mut ends = Vec::new();
    for (uri, ns) in [
        (luri.as_str(), lns),
        (rv.uri("qemu:///system").as_str(), rns),
    ] {
        virsh::ok(uri, &["net-define", file.to_str().unwrap()]);
        let (_, err, code) = virsh::run(uri, &["net-start", "bwplain"]);
        let state = if code == 0 {
            tc_state(ns, "br-bw")
        } else {
            String::new()
        };
        ends.push((
            code,
            err.lines().last().unwrap_or_default().to_string(),
            state,
        ));
        let _ = virsh::run(uri, &["net-destroy", "bwplain"]);
        virsh::ok(uri, &["net-undefine", "bwplain"]);
        assert!(
            !ns.links().iter().any(|l| l == "br-bw"),
            "bridge left behind"
        );
    }
    assert_eq!(ends[1], ends[0], "rvirt's start, then libvirt's");
}

/// A NAT network with `<bandwidth>`, and the ports plugged into it: `(uuid, floor)`.
const SHAPED: &str = "<network><name>shaped</name><uuid>UUID</uuid><forward mode='nat'/>\
    <bridge name='br-shaped' stp='off'/><mac address='52:54:00:12:34:57'/>\
    <bandwidth><inbound average='1000' peak='5000' burst='1024'/>\
    <outbound average='128' peak='256' burst='256'/></bandwidth>\
    <ip address='10.60.0.1' prefix='24'/></network>";
const PORTS: &[(&str, u64)] = &[
    ("9a0c8d2e-5b1f-4e7a-8c3d-1f2e3d4c5b01", 300),
    ("9a0c8d2e-5b1f-4e7a-8c3d-1f2e3d4c5b02", 200),
    ("9a0c8d2e-5b1f-4e7a-8c3d-1f2e3d4c5b03", 100),
    // More than the network's peak leaves: refused.
    ("9a0c8d2e-5b1f-4e7a-8c3d-1f2e3d4c5b04", 6000),
];

fn port_xml(uuid: &str, floor: u64) -> String {
    format!(
        "<networkport><uuid>{uuid}</uuid><owner><name>g{}</name>\
         <uuid>3c1d2e4f-6a7b-4c8d-9e0f-1a2b3c4d5e6f</uuid></owner>\
         <mac address='52:54:00:aa:bb:{}'/>\
         <bandwidth><inbound average='10' floor='{floor}'/></bandwidth></networkport>",
        &uuid[34..],
        &uuid[34..]
    )
}

/// `tc qdisc|class|filter show dev BR` in `ns`, with htb's count of packets that bypassed
/// the classes masked: it counts whatever the host happened to send (IPv6 router and
/// listener reports), not what the daemon configured.
fn tc_state(ns: &Netns, br: &str) -> String {
    let mut all = String::new();
    for what in ["qdisc", "class", "filter"] {
        let out = ns.exec("tc", &[what, "show", "dev", br]);
        all += &format!("== {what} ({})\n", out.status);
        all += &String::from_utf8_lossy(&out.stdout);
        all += &String::from_utf8_lossy(&out.stderr);
    }
    mask_direct_packets(&all)
}

fn mask_direct_packets(text: &str) -> String {
    let mut words: Vec<&str> = text.split(' ').collect();
    for i in 1..words.len() {
        if words[i - 1] == "direct_packets_stat" {
            words[i] = "N";
        }
    }
    words.join(" ")
}

/// Starts `shaped`, plugs ports with floors in and out, and records the bridge's tc
/// state after each step, the answers and port dumps, and what is left after destroy.
fn shaped_steps(uri: &str, ns: &Netns, dir: &std::path::Path) -> Vec<String> {
    let file = dir.join("shaped.xml");
    std::fs::write(&file, SHAPED.replace("UUID", UUID)).unwrap();
    virsh::ok(uri, &["net-define", file.to_str().unwrap()]);
    virsh::ok(uri, &["net-start", "shaped"]);
    let mut steps = vec![tc_state(ns, "br-shaped")];
    for (uuid, floor) in PORTS {
        let f = dir.join(format!("port-{floor}.xml"));
        std::fs::write(&f, port_xml(uuid, *floor)).unwrap();
        let (_, err, code) = virsh::run(uri, &["net-port-create", "shaped", f.to_str().unwrap()]);
        // The last line: virsh's first one names the (daemon's own) file.
        let why = err.lines().last().unwrap_or_default();
        steps.push(format!("create {floor}: {code} {why}"));
        steps.push(tc_state(ns, "br-shaped"));
        if *floor == 300 {
            continue;
        }
        // The first port goes once the second is in: the third gets its class ID back.
        if *floor == 200 {
            virsh::ok(uri, &["net-port-delete", "shaped", PORTS[0].0]);
            steps.push(tc_state(ns, "br-shaped"));
        }
    }
    for (uuid, _) in &PORTS[1..3] {
        steps.push(virsh::ok(uri, &["net-port-dumpxml", "shaped", uuid]));
        virsh::ok(uri, &["net-port-delete", "shaped", uuid]);
    }
    steps.push(tc_state(ns, "br-shaped"));
    virsh::ok(uri, &["net-destroy", "shaped"]);
    steps.push(tc_state(ns, "br-shaped"));
    virsh::ok(uri, &["net-undefine", "shaped"]);
    steps
}

/// A `bridge`-mode network with `<bandwidth>` shapes the host's bridge; where it cannot
/// be applied (macvtap modes) the definition is refused.
fn host_bridge_steps(uri: &str, ns: &Netns, dir: &std::path::Path) -> Vec<String> {
    ns.ip_in(&["link", "add", "br-host", "type", "bridge"]);
    ns.ip_in(&["link", "set", "br-host", "up"]);
    let bw = "<bandwidth><inbound average='2000'/><outbound average='300'/></bandwidth>";
    let mut steps = Vec::new();
    for (name, fwd) in [
        ("hostbw", "<forward mode='bridge'/><bridge name='br-host'/>"),
        (
            "vepabw",
            "<forward mode='vepa'><interface dev='eth7'/></forward>",
        ),
    ] {
        let file = dir.join(format!("{name}.xml"));
        std::fs::write(
            &file,
            format!("<network><name>{name}</name>{fwd}{bw}</network>"),
        )
        .unwrap();
        let (_, err, code) = virsh::run(uri, &["net-define", file.to_str().unwrap()]);
        steps.push(format!(
            "define {name}: {code} {}",
            err.lines().last().unwrap_or_default()
        ));
    }
    virsh::ok(uri, &["net-start", "hostbw"]);
    steps.push(tc_state(ns, "br-host"));
    virsh::ok(uri, &["net-destroy", "hostbw"]);
    steps.push(tc_state(ns, "br-host"));
    virsh::ok(uri, &["net-undefine", "hostbw"]);
    steps
}

#[test]
fn bandwidth_and_port_floors_shape_the_bridge_like_libvirt() {
    let Some(Pair {
        lns,
        lv,
        rns,
        rv,
        tc_logs: Some((ltc, rtc)),
    }) = Pair::with_tc_recorders("")
    else {
        return;
    };
    let luri = lv.uri("qemu", "system");
    let ruri = rv.uri("qemu:///system");
    let _lguard = Undefine(luri.clone(), "shaped");
    let _hguard = Undefine(luri.clone(), "hostbw");
    let mut theirs = shaped_steps(&luri, &lns, &lv.dir.0);
    let mut ours = shaped_steps(&ruri, &rns, &rv.dir.0);
    theirs.extend(host_bridge_steps(&luri, &lns, &lv.dir.0));
    ours.extend(host_bridge_steps(&ruri, &rns, &rv.dir.0));
    assert!(theirs[0].contains("htb 1: root"), "{}", theirs[0]);
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(o, t, "step {i}: rvirt's, then libvirt's");
    }
    assert_eq!(ours.len(), theirs.len());
    // The very commands, in order, with their exit statuses.
    let (lcmds, rcmds) = (read(ltc.0.join("tc.log")), read(rtc.0.join("tc.log")));
    assert!(lcmds.contains("sfq perturb 10"), "{lcmds}");
    assert_eq!(rcmds, lcmds, "tc commands: rvirt's, then libvirt's");
}
