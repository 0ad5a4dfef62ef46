//! Differential of network ports against a real libvirtd 9.0's network driver, through
//! the real `virsh`: each daemon runs in a network namespace of its own with the same
//! running networks (NAT with QoS and portgroups, a host bridge, Open vSwitch, macvtap,
//! macvtap passthrough; no PCI hostdev pool: this host has no SR-IOV virtual function,
//! which both daemons refuse to start one without), and every document of `tests/data/xml-corpus/netport/` (written
//! by `gen_netport.py` there) is created as a port of every network with `virsh
//! net-port-create`, without and with `--validate`, dumped and deleted. Accepted or
//! refused must agree; dumps must be byte-identical where both accept (a UUID the daemon
//! generated, the port's or an Open vSwitch interfaceid, is masked in both); refusals
//! must carry the same message (libvirt's message starts with its error code's text, so
//! the same message is the same code), but for refusals as outside the schema, where
//! libvirt adds libxml2's detail lines, only the first line is compared.
//! Per-document outputs are left in `target/<profile>/netport-vs-libvirtd/`.

use std::path::{Path, PathBuf};

use rvirt_tests::netdiff::{Pair, Undefine};
use rvirt_tests::netns::Netns;
use rvirt_tests::{repo_root, target_dir, virsh};

/// The networks both daemons run; every document is tried on each.
const NETWORKS: &[(&str, &str)] = &[
    (
        "np-nat",
        "<network><name>np-nat</name><forward mode='nat'/><bridge name='npbr0'/>\
         <bandwidth><inbound average='10000' peak='20000'/><outbound average='10000'/></bandwidth>\
         <portgroup name='pg-a' default='yes'><bandwidth><inbound average='500'/></bandwidth></portgroup>\
         <portgroup name='pg-b'/>\
         <ip address='10.91.0.1' prefix='24'/></network>",
    ),
    (
        "np-br",
        "<network><name>np-br</name><forward mode='bridge'/><bridge name='nphost0'/>\
         <portgroup name='pg-a'><bandwidth><outbound average='64'/></bandwidth></portgroup>\
         </network>",
    ),
    (
        "np-ovs",
        "<network><name>np-ovs</name><forward mode='bridge'/><bridge name='npovs0'/>\
         <virtualport type='openvswitch'/>\
         <vlan trunk='yes'><tag id='42'/><tag id='43'/></vlan>\
         <portgroup name='pg-a' default='yes'><vlan><tag id='9'/></vlan></portgroup>\
         <portgroup name='pg-b'><virtualport type='openvswitch'><parameters profileid='pgprof'/>\
         </virtualport></portgroup></network>",
    ),
    (
        "np-direct",
        "<network><name>np-direct</name><forward mode='vepa'>\
         <interface dev='npdum0'/><interface dev='npdum1'/></forward>\
         <portgroup name='pg-a'><virtualport type='802.1Qbg'><parameters managerid='11' \
         typeid='1193047' typeidversion='2'/></virtualport></portgroup></network>",
    ),
    (
        "np-pass",
        "<network><name>np-pass</name><forward mode='passthrough'>\
         <interface dev='npdum1'/></forward><vlan><tag id='5'/></vlan></network>",
    ),
];

/// What a daemon made of one `net-port-create`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The port's dump, generated UUIDs masked.
    Created(String),
    /// virsh's error message (after "error: Failed to create network port").
    Refused(String),
}

fn corpus() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/data/xml-corpus/netport");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory (tests/data/xml-corpus/gen_netport.py writes it)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

/// Every UUID-shaped word of `dump` that `input` does not contain replaced by GENERATED.
fn mask_generated(dump: &str, input: &str) -> String {
    let mut out = String::with_capacity(dump.len());
    let mut rest = dump;
    while let Some(i) = rest.find(|c: char| c.is_ascii_hexdigit()) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let word = rest.get(..36).filter(|w| rvirt_tests::is_uuid(w));
        match word {
            Some(w) if !input.contains(w) => {
                out.push_str("GENERATED");
                rest = &rest[36..];
            }
            _ => {
                let n = rest
                    .find(|c: char| !c.is_ascii_hexdigit())
                    .unwrap_or(rest.len());
                out.push_str(&rest[..n.max(1)]);
                rest = &rest[n.max(1)..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Creates a port of `net` from `file`, dumps it and deletes it.
fn create(uri: &str, net: &str, file: &Path, input: &str, validate: bool) -> Outcome {
    let f = file.to_str().unwrap();
    let mut args = vec!["net-port-create", net, f];
    if validate {
        args.push("--validate");
    }
    let (out, err, code) = virsh::run(uri, &args);
    if code != 0 {
        let msg = err
            .lines()
            .filter(|l| !l.is_empty() && *l != "error: Failed to create network port")
            .map(|l| l.strip_prefix("error: ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        return Outcome::Refused(msg);
    }
    let uuid = out
        .split_whitespace()
        .find(|w| rvirt_tests::is_uuid(w))
        .unwrap_or_else(|| panic!("no port UUID in {out:?}"))
        .to_string();
    let dump = virsh::ok(uri, &["net-port-dumpxml", net, &uuid]);
    virsh::ok(uri, &["net-port-delete", net, &uuid]);
    Outcome::Created(mask_generated(&dump, input))
}

/// How one document's outcomes on the two daemons compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Both created it, with byte-identical dumps.
    Created,
    /// Both refused it with the same message.
    Refused,
    /// Both refused it as outside the schema (`XML_INVALID_SCHEMA`, the same first
    /// line): libvirt adds libxml2's detail lines, which name the interleave around a
    /// wrong element where rvirt names the element.
    Schema,
    /// Both refused it as not well-formed (`XML_DETAIL` located in the document); the
    /// parsers word the detail differently.
    Malformed,
    Differ,
}

const SCHEMA: &str = "XML document failed to validate against schema";
const LOCATED: &str = "(networkport_definition):1: ";

fn verdict(lv: &Outcome, rv: &Outcome) -> Verdict {
    let (a, b) = match (lv, rv) {
        (Outcome::Created(a), Outcome::Created(b)) if a == b => return Verdict::Created,
        (Outcome::Refused(a), Outcome::Refused(b)) if a == b => return Verdict::Refused,
        (Outcome::Refused(a), Outcome::Refused(b)) => (a, b),
        _ => return Verdict::Differ,
    };
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = |l: &[&str], p: &str| l.iter().position(|x| x.starts_with(p));
    if let (Some(i), Some(j)) = (at(&la, SCHEMA), at(&lb, SCHEMA)) {
        if i == j && la[..=i] == lb[..=j] {
            return Verdict::Schema;
        }
    }
    if let (Some(i), Some(j)) = (at(&la, LOCATED), at(&lb, LOCATED)) {
        if i == j && la[..i] == lb[..j] {
            return Verdict::Malformed;
        }
    }
    Verdict::Differ
}

/// Defines and starts every network on `uri`; `ns` gets the host devices they name.
fn networks(uri: &str, ns: &Netns, dir: &Path) -> Vec<Undefine> {
    // (The kernel here has no dummy links: the macvtap parents are veth ends.)
    for link in ["nphost0", "npovs0"] {
        ns.ip_in(&["link", "add", link, "type", "bridge"]);
        ns.ip_in(&["link", "set", link, "up"]);
    }
    for link in ["npdum0", "npdum1"] {
        let peer = format!("{link}p");
        ns.ip_in(&["link", "add", link, "type", "veth", "peer", "name", &peer]);
        ns.ip_in(&["link", "set", link, "up"]);
    }
    NETWORKS
        .iter()
        .map(|(name, xml)| {
            let file = dir.join(format!("{name}.xml"));
            std::fs::write(&file, xml).unwrap();
            let guard = Undefine(uri.to_string(), name);
            virsh::ok(uri, &["net-define", file.to_str().unwrap()]);
            virsh::ok(uri, &["net-start", name]);
            guard
        })
        .collect()
}

fn write_outcome(dir: &Path, stem: &str, o: &Outcome) {
    let (ext, text) = match o {
        Outcome::Created(x) => ("xml", x),
        Outcome::Refused(m) => ("err", m),
    };
    std::fs::write(dir.join(format!("{stem}.{ext}")), text).expect("write outcome");
}

/// Floors of the counts over all networks and both modes: created with identical dumps,
/// refused with the same message, refused as outside the schema, refused as not
/// well-formed.
const FLOORS: (usize, usize, usize, usize) = (294, 486, 130, 10);

#[test]
fn network_ports_agree_with_libvirtd_through_virsh() {
    let Some(pair) = Pair::with_tc_recorders("np") else {
        return;
    };
    let luri = pair.lv.uri("qemu", "system");
    let ruri = pair.rv.uri("qemu:///system");
    let paths = corpus();
    assert!(paths.len() >= 40, "the port corpus is too small");
    let inputs: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read document"))
        .collect();
    let _lnets = networks(&luri, &pair.lns, &pair.rv.dir.0);
    let _rnets = networks(&ruri, &pair.rns, &pair.rv.dir.0);
    let out = target_dir().join("netport-vs-libvirtd");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("output directory");

    let mut totals = [0usize; 5];
    let mut failures = Vec::new();
    for (net, _) in NETWORKS {
        for validate in [false, true] {
            let mut counts = [0usize; 5];
            for (path, input) in paths.iter().zip(&inputs) {
                let lv = create(&luri, net, path, input, validate);
                let rv = create(&ruri, net, path, input, validate);
                let stem = format!(
                    "{net}-{}{}",
                    path.file_stem().unwrap().to_string_lossy(),
                    if validate { "-validate" } else { "" }
                );
                write_outcome(&out, &format!("{stem}.libvirt"), &lv);
                write_outcome(&out, &format!("{stem}.rvirt"), &rv);
                let v = verdict(&lv, &rv);
                counts[v as usize] += 1;
                if v == Verdict::Differ {
                    failures.push(format!("{stem}:\n    libvirt {lv:?}\n    rvirt   {rv:?}"));
                }
            }
            println!(
                "{net}{}: {} documents, {} created with identical dumps, {} refused with the \
                 same message, {} refused by both as outside the schema, {} by both as not \
                 well-formed, {} differ",
                if validate { " --validate" } else { "" },
                paths.len(),
                counts[0],
                counts[1],
                counts[2],
                counts[3],
                counts[4]
            );
            for (t, c) in totals.iter_mut().zip(counts) {
                *t += c;
            }
        }
    }
    println!(
        "all networks and modes: {} created alike, {} refused alike, {} schema refusals alike, \
         {} not well-formed alike, {} differ",
        totals[0], totals[1], totals[2], totals[3], totals[4]
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let floors = [FLOORS.0, FLOORS.1, FLOORS.2, FLOORS.3];
    assert!(
        totals.iter().zip(floors).all(|(t, f)| *t >= f),
        "below the floors {FLOORS:?}: {totals:?}"
    );
}
