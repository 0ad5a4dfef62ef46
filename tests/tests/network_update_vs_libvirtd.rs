//! Differential: the same `virsh net-update` steps on a running network of rvirtd and
//! of a real libvirtd 9.0 (each in a network namespace of its own) give the same
//! answers, dumps, dnsmasq files and pids, and firewall rules after every step.

use rvirt_tests::netdiff::{conf_lines, normalized, read, Pair, Undefine};
use rvirt_tests::netns::Netns;
use rvirt_tests::virsh;

const UUID: &str = "7f3c0a52-1d6e-4b8a-9c1f-5e2d8a9b0c01";

/// The network `virsh net-update` changes, running and persistent.
const UPD: &str = "<network><name>upd</name><uuid>UUID</uuid>\
    <forward mode='nat' dev='vo9'/><bridge name='br-upd'/><mac address='52:54:00:12:34:58'/>\
    <dns><txt name='t0' value='zero'/><host ip='10.80.0.8'><hostname>d8</hostname></host></dns>\
    <portgroup name='pg0'><bandwidth><inbound average='50'/></bandwidth></portgroup>\
    <ip address='10.80.0.1' prefix='24'><dhcp><range start='10.80.0.100' end='10.80.0.150'/>\
    <host mac='52:54:00:aa:00:01' name='h1' ip='10.80.0.11'/></dhcp></ip></network>";

/// `net-update` steps: command, section, XML, flags.
const UPDATES: &[(&str, &str, &str, &[&str])] = &[
    (
        "add-last",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:05' name='h5' ip='10.80.0.5'/>",
        &["--live", "--config"],
    ),
    (
        "add-first",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:06' name='h6' ip='10.80.0.6'/>",
        &["--live"],
    ),
    (
        "add-last",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:05' name='h5' ip='10.80.0.5'/>",
        &["--live", "--config"],
    ),
    (
        "add-last",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:07' name='h7' ip='10.81.0.7'/>",
        &["--config"],
    ),
    (
        "modify",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:05' name='h5' ip='10.80.0.55'/>",
        &["--live", "--config"],
    ),
    (
        "modify",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:09' name='h9' ip='10.80.0.9'/>",
        &["--live"],
    ),
    (
        "delete",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:05'/>",
        &["--config"],
    ),
    ("delete", "ip-dhcp-host", "<host name='h6'/>", &[]),
    (
        "delete",
        "ip-dhcp-host",
        "<host name='nosuch'/>",
        &["--live"],
    ),
    (
        "add-last",
        "ip-dhcp-range",
        "<range start='10.80.0.200' end='10.80.0.210'/>",
        &["--live", "--config"],
    ),
    (
        "add-first",
        "ip-dhcp-range",
        "<range start='10.80.0.200' end='10.80.0.210'/>",
        &["--live"],
    ),
    (
        "modify",
        "ip-dhcp-range",
        "<range start='10.80.0.200' end='10.80.0.210'/>",
        &["--live"],
    ),
    (
        "delete",
        "ip-dhcp-range",
        "<range start='10.80.0.200' end='10.80.0.210'/>",
        &["--current"],
    ),
    (
        "delete",
        "ip-dhcp-range",
        "<range start='10.80.0.220' end='10.80.0.230'/>",
        &["--config"],
    ),
    (
        "add-last",
        "dns-host",
        "<host ip='10.80.0.7'><hostname>d7</hostname><hostname>d7b</hostname></host>",
        &["--live", "--config"],
    ),
    (
        "add-first",
        "dns-host",
        "<host ip='10.80.0.6'><hostname>d6</hostname></host>",
        &["--live"],
    ),
    (
        "add-last",
        "dns-host",
        "<host ip='10.80.0.7'><hostname>d7</hostname></host>",
        &["--live"],
    ),
    (
        "modify",
        "dns-host",
        "<host ip='10.80.0.7'><hostname>d7</hostname></host>",
        &["--live"],
    ),
    (
        "delete",
        "dns-host",
        "<host ip='10.80.0.7'/>",
        &["--live", "--config"],
    ),
    (
        "delete",
        "dns-host",
        "<host><hostname>nosuch</hostname></host>",
        &["--live"],
    ),
    (
        "add-last",
        "dns-txt",
        "<txt name='t1' value='one'/>",
        &["--live", "--config"],
    ),
    (
        "add-first",
        "dns-txt",
        "<txt name='t0' value='again'/>",
        &["--live"],
    ),
    (
        "modify",
        "dns-txt",
        "<txt name='t1' value='uno'/>",
        &["--live"],
    ),
    ("delete", "dns-txt", "<txt name='t0'/>", &["--live"]),
    (
        "add-first",
        "dns-srv",
        "<srv service='http' protocol='tcp' domain='example.test' target='www' port='80'/>",
        &["--live", "--config"],
    ),
    (
        "add-last",
        "dns-srv",
        "<srv service='http' protocol='tcp' domain='example.test' target='www' port='80'/>",
        &["--live"],
    ),
    (
        "delete",
        "dns-srv",
        "<srv service='http' protocol='tcp'/>",
        &["--live", "--config"],
    ),
    ("delete", "dns-srv", "<srv service='ldap'/>", &["--live"]),
    (
        "add-last",
        "forward-interface",
        "<interface dev='vo8'/>",
        &["--live", "--config"],
    ),
    (
        "add-first",
        "forward-interface",
        "<interface dev='vo8'/>",
        &["--live"],
    ),
    (
        "modify",
        "forward-interface",
        "<interface dev='vo8'/>",
        &["--live"],
    ),
    (
        "delete",
        "forward-interface",
        "<interface dev='vo8'/>",
        &["--live", "--config"],
    ),
    (
        "delete",
        "forward-interface",
        "<interface dev='vo7'/>",
        &["--live"],
    ),
    (
        "add-last",
        "portgroup",
        "<portgroup name='pg1' default='yes'><vlan><tag id='42'/></vlan></portgroup>",
        &["--live", "--config"],
    ),
    (
        "add-first",
        "portgroup",
        "<portgroup name='pg2' default='yes'/>",
        &["--live"],
    ),
    (
        "modify",
        "portgroup",
        "<portgroup name='pg0'><bandwidth><inbound average='70'/></bandwidth></portgroup>",
        &["--live"],
    ),
    (
        "modify",
        "portgroup",
        "<portgroup name='nosuch'/>",
        &["--config"],
    ),
    (
        "delete",
        "portgroup",
        "<portgroup name='pg1'/>",
        &["--live", "--config"],
    ),
    (
        "add-last",
        "bridge",
        "<bridge name='br-other'/>",
        &["--live"],
    ),
    (
        "add-last",
        "ip",
        "<ip address='10.90.0.1' prefix='24'/>",
        &["--config"],
    ),
    ("add-last", "domain", "<domain name='x.test'/>", &["--live"]),
    (
        "add-last",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:0a' name=",
        &["--live"],
    ),
    (
        "add-last",
        "ip-dhcp-host",
        "<txt name='x' value='y'/>",
        &["--live"],
    ),
    ("add-last", "dns-txt", "<txt value='y'/>", &["--live"]),
    (
        "add-last",
        "ip-dhcp-host",
        "<host mac='52:54:00:aa:00:0b' ip='10.80.0.12'/>",
        &["--live", "--config"],
    ),
];

/// An error text without the XML parser's own words (libxml2's in libvirt), which rvirt
/// does not copy: `DOC:LINE: MESSAGE` keeps `DOC:LINE:`.
fn without_parser_words(err: &str) -> String {
    err.trim()
        .lines()
        .map(|l| match l.strip_prefix("error: network_update_xml:") {
            Some(rest) => format!(
                "error: network_update_xml:{}:",
                rest.split(':').next().unwrap_or("")
            ),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The pid of the network's dnsmasq in `pidfile`.
fn dnsmasq_pid(pidfile: &std::path::Path) -> String {
    std::fs::read_to_string(pidfile)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// What a daemon shows of `upd`: both dumps, dnsmasq's files, its pid, the rules.
fn upd_state(uri: &str, ns: &Netns, files: &std::path::Path) -> Vec<String> {
    let mut all = vec![
        normalized(&virsh::ok(uri, &["net-dumpxml", "upd"])),
        normalized(&virsh::ok(uri, &["net-dumpxml", "--inactive", "upd"])),
        conf_lines(&read(files.join("upd.conf"))).join("\n"),
    ];
    for ext in ["hostsfile", "addnhosts"] {
        all.push(std::fs::read_to_string(files.join(format!("upd.{ext}"))).unwrap_or_default());
    }
    all.push(ns.iptables_save());
    all
}

/// Runs [`UPDATES`] on the running `upd`; per step: the answer, the state, and
/// whether dnsmasq kept its pid.
fn update_steps(
    uri: &str,
    ns: &Netns,
    dir: &std::path::Path,
    files: &std::path::Path,
    pidfile: &std::path::Path,
) -> Vec<Vec<String>> {
    let file = dir.join("upd.xml");
    std::fs::write(&file, UPD.replace("UUID", UUID)).unwrap();
    virsh::ok(uri, &["net-define", file.to_str().unwrap()]);
    virsh::ok(uri, &["net-start", "upd"]);
    let mut steps = vec![upd_state(uri, ns, files)];
    for (cmd, section, xml, flags) in UPDATES {
        let pid = dnsmasq_pid(pidfile);
        let mut args = vec!["net-update", "upd", cmd, section, xml];
        args.extend_from_slice(flags);
        let (out, err, code) = virsh::run(uri, &args);
        let mut step = vec![format!(
            "{code} {} {}",
            out.trim(),
            without_parser_words(&err)
        )];
        let now = dnsmasq_pid(pidfile);
        step.push(format!(
            "dnsmasq pid kept: {}",
            !now.is_empty() && now == pid
        ));
        step.extend(upd_state(uri, ns, files));
        steps.push(step);
    }
    virsh::ok(uri, &["net-destroy", "upd"]);
    steps.extend(inactive_and_transient_steps(uri, &file));
    steps
}

/// Updates of the defined, stopped `upd`, then of a transient one: the answers and dumps.
fn inactive_and_transient_steps(uri: &str, file: &std::path::Path) -> Vec<Vec<String>> {
    let txt = "<txt name='t9' value='nine'/>";
    let host = "<host mac='52:54:00:aa:00:0c' ip='10.80.0.13'/>";
    let cases: &[&[&str]] = &[
        &["add-last", "dns-txt", txt, "--live"],
        &["add-last", "dns-txt", txt],
        &["add-last", "ip-dhcp-host", host, "--parent-index", "1"],
        &[
            "add-last",
            "ip-dhcp-host",
            host,
            "--parent-index",
            "0",
            "--config",
        ],
        &["delete", "dns-txt", txt, "--live", "--config"],
    ];
    let mut steps = Vec::new();
    let mut run = |args: &[&str]| {
        let mut all = vec!["net-update", "upd"];
        all.extend_from_slice(args);
        let (out, err, code) = virsh::run(uri, &all);
        let dump = virsh::run(uri, &["net-dumpxml", "--inactive", "upd"]).0;
        steps.push(vec![
            format!("{code} {} {}", out.trim(), without_parser_words(&err)),
            normalized(&dump),
        ]);
    };
    for c in cases {
        run(c);
    }
    virsh::ok(uri, &["net-undefine", "upd"]);
    virsh::ok(uri, &["net-create", file.to_str().unwrap()]);
    run(&["add-last", "dns-txt", txt, "--config"]);
    run(&["add-last", "dns-txt", txt]);
    virsh::ok(uri, &["net-destroy", "upd"]);
    steps
}

#[test]
fn net_update_matches_libvirt() {
    let Some(Pair {
        lns, lv, rns, rv, ..
    }) = Pair::on_iptables("")
    else {
        return;
    };
    let luri = lv.uri("qemu", "system");
    let _guard = Undefine(luri.clone(), "upd");
    let ldir = std::path::Path::new("/var/lib/libvirt/dnsmasq");
    let rdir = rv.dir.0.join("state/network/run");
    let theirs = update_steps(
        &luri,
        &lns,
        &lv.dir.0,
        ldir,
        std::path::Path::new("/run/libvirt/network/upd.pid"),
    );
    let ours = update_steps(
        &rv.uri("qemu:///system"),
        &rns,
        &rv.dir.0,
        &rdir,
        &rdir.join("upd.pid"),
    );
    assert_eq!(ours.len(), theirs.len());
    let what = [
        "answer",
        "pid",
        "live",
        "inactive",
        "conf",
        "hostsfile",
        "addnhosts",
        "iptables",
    ];
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        let step = i
            .checked_sub(1)
            .map(|j| {
                UPDATES
                    .get(j)
                    .map_or(format!("extra {j}"), |u| format!("{u:?}"))
            })
            .unwrap_or_else(|| "start".into());
        let names: &[&str] = match i {
            0 => &what[2..],
            i if i > UPDATES.len() => &["answer", "inactive"],
            _ => &what,
        };
        for (k, (a, b)) in o.iter().zip(t).enumerate() {
            assert_eq!(
                a, b,
                "step {i} {step}: {} differs: rvirt's, then libvirt's",
                names[k]
            );
        }
    }
}
