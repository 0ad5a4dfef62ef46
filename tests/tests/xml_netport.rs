//! Differential test of rvirt's `<networkport>` XML against a real libvirtd 9.0's network
//! driver (libvirt's test driver has no ports).
//!
//! `oracle.py` in `tests/data/xml-netport/` defines and starts a network on a private
//! libvirtd that forwards to a host bridge (libvirtd sets nothing up on the host for it)
//! and creates a port of it from every document there (`virNetworkPortCreateXML`; with
//! `RECLAIM` for a port that names its plug), dumps it and deletes it; the network is
//! undefined afterwards. rvirt has no network driver yet, so the comparison is at the
//! XML library's level: rvirt-xml parses the document as a driver would, the values the
//! driver decides when it plugs a port are filled in as libvirtd filled them (the plug
//! onto the network's bridge, a generated Open vSwitch `interfaceid`), and the port is
//! formatted. Compared: accept-or-refuse, the dumped XML byte for byte, and the error's
//! code, domain and message; each document runs plainly and with `VALIDATE` (refusals
//! as outside the schema must agree in code and domain, not in libxml2's detail lines).
//! Where libvirtd's driver refuses at plug time what its parser accepted (a `floor` on a
//! bridged network, a macvtap or PCI plug it has no device for), rvirt-xml must accept
//! it. Every document rvirt writes must pass `virt-xml-validate ... networkport`.
//! Per-document outputs are left in `target/<profile>/xml-netport/`.

use std::path::{Path, PathBuf};

use rvirt_protocol::error::domain::NETWORK;
use rvirt_tests::xmldiff::{invalid_outputs, oracle_outcomes, python_libvirt, Outcome};
use rvirt_tests::{have_program, repo_root, require_peer, target_dir, Libvirtd};
use rvirt_xml::network::{NetworkPort, Plug};
use rvirt_xml::{ParseOptions, XML_DETAIL, XML_INVALID_SCHEMA};

/// The bridge `oracle.py`'s network forwards to: where libvirtd plugs new ports.
const BRIDGE: &str = "rvnp0";

/// Refusals of libvirtd's network driver when it plugs a port its parser accepted.
const PLUG_TIME_REFUSALS: &[&str] = &[
    "Operation not supported: Invalid use of 'floor'",
    "internal error: network 'rvirt-netport' doesn't have",
    "unsupported configuration: <virtualport type='802.1Qbg'> not supported for network 'rvirt-netport'",
];

/// How `oracle.py` reports a refusal whose message libvirt-python cannot decode (libvirtd
/// 9.0 names the port of some plug-time refusals by a UUID string it never filled in).
const UNDECODABLE: &str = "libvirtd's error message is not UTF-8";

fn data_dir() -> PathBuf {
    repo_root().join("tests/data/xml-netport")
}

fn corpus() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

/// Whether the document names its plug (created with `RECLAIM`).
fn plugged(xml: &str) -> bool {
    xml.contains("<plug type=") && !xml.contains("<plug type='none'")
}

/// The oracle's kind for a document in a mode.
fn kind(xml: &str, validate: bool) -> &'static str {
    match (plugged(xml), validate) {
        (false, false) => "port",
        (false, true) => "port-validate",
        (true, false) => "port-reclaim",
        (true, true) => "port-reclaim-validate",
    }
}

/// What a network driver decides when it plugs `port`, taken from what libvirtd decided
/// (`theirs`, its dump): the plug onto the network's bridge, a generated `interfaceid`.
fn plug_as_libvirtd(port: &mut NetworkPort, theirs: Option<&str>) {
    if port.plug.is_none() {
        port.plug = Some(Plug::Bridge {
            bridge: BRIDGE.into(),
            mac_table_manager: None,
        });
    }
    let generated = theirs
        .and_then(|x| NetworkPort::parse(x).ok())
        .and_then(|p| p.virtualport)
        .and_then(|v| v.interface_id);
    if let Some(v) = port.virtualport.as_mut() {
        if v.kind == Some("openvswitch") && v.interface_id.is_none() {
            v.interface_id = generated;
        }
    }
}

/// What rvirt-xml makes of one document, plugged as libvirtd plugged it.
fn rvirt_outcome(xml: &str, validate: bool, theirs: &Outcome) -> Outcome {
    match NetworkPort::parse_with(xml, ParseOptions::validate(validate)) {
        Ok(mut port) => {
            let dump = match theirs {
                Outcome::Ok(x) => Some(x.as_str()),
                Outcome::Err(..) => None,
            };
            plug_as_libvirtd(&mut port, dump);
            Outcome::Ok(port.to_xml())
        }
        Err(e) => Outcome::Err(e.code(), e.error_domain(NETWORK), e.to_string()),
    }
}

/// How one document's outcomes compare.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Same dump or same whole error.
    Identical,
    /// Both refused it as outside the schema (code and domain agree).
    SchemaRefusals,
    /// libvirtd's driver refused at plug time what both parsers accept.
    PlugTime,
    /// Anything else.
    Differ,
}

fn verdict(lv: &Outcome, ours: &Outcome) -> Verdict {
    if lv == ours {
        return Verdict::Identical;
    }
    match (lv, ours) {
        (Outcome::Err(ca, da, ma), Outcome::Err(cb, db, mb)) if ca == cb && da == db => {
            let located = |m: &str| m.starts_with('(');
            let prefix = |m: &str| m.splitn(3, ':').take(2).collect::<Vec<_>>().join(":");
            if *ca == XML_INVALID_SCHEMA {
                Verdict::SchemaRefusals
            } else if *ca == XML_DETAIL && located(ma) && prefix(ma) == prefix(mb) {
                Verdict::Identical
            } else {
                Verdict::Differ
            }
        }
        (Outcome::Err(_, d, m), Outcome::Ok(_))
            if (*d == NETWORK && PLUG_TIME_REFUSALS.iter().any(|p| m.starts_with(p)))
                || m.starts_with(UNDECODABLE) =>
        {
            Verdict::PlugTime
        }
        _ => Verdict::Differ,
    }
}

/// Writes `o` to `stem.xml` (accepted) or `stem.err` ("code domain message").
fn write_outcome(dir: &Path, stem: &str, o: &Outcome) -> Option<PathBuf> {
    let (p, text, xml) = match o {
        Outcome::Ok(x) => (dir.join(format!("{stem}.xml")), x.clone(), true),
        Outcome::Err(c, d, m) => (
            dir.join(format!("{stem}.err")),
            format!("{c} {d} {m}"),
            false,
        ),
    };
    std::fs::write(&p, text).expect("write outcome");
    xml.then_some(p)
}

#[test]
fn network_ports_agree_with_libvirtd() {
    if !require_peer("python3-libvirt (libvirt-python)", python_libvirt())
        || !require_peer(
            "virt-xml-validate (libvirt-clients)",
            have_program("/usr/bin/virt-xml-validate"),
        )
    {
        return;
    }
    let Some(daemon) = Libvirtd::start() else {
        return;
    };
    let paths = corpus();
    assert!(paths.len() >= 60, "the port corpus is too small");
    let inputs: Vec<String> = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read document"))
        .collect();
    let modes = [false, true];
    let docs: Vec<(&str, PathBuf)> = modes
        .iter()
        .flat_map(|v| {
            paths
                .iter()
                .zip(&inputs)
                .map(move |(p, x)| (kind(x, *v), p.clone()))
        })
        .collect();
    let script = data_dir().join("oracle.py");
    let theirs = oracle_outcomes(&script, &[&daemon.uri("qemu", "system")], &docs);
    drop(daemon);

    let out = target_dir().join("xml-netport");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("output directory");
    let mut failures = Vec::new();
    let mut written = Vec::new();
    let n = paths.len();
    for (m, validate) in modes.iter().enumerate() {
        let mut counts = [0usize; 4];
        let mut accepted = 0;
        for (i, (path, input)) in paths.iter().zip(&inputs).enumerate() {
            let lv = &theirs[m * n + i];
            let ours = rvirt_outcome(input, *validate, lv);
            let stem = format!(
                "{}{}",
                path.file_stem().unwrap().to_string_lossy(),
                if *validate { "-validate" } else { "" }
            );
            write_outcome(&out, &format!("{stem}.libvirt"), lv);
            if let Some(f) = write_outcome(&out, &format!("{stem}.rvirt"), &ours) {
                written.push((f, "networkport"));
            }
            let v = verdict(lv, &ours);
            accepted += usize::from(matches!((lv, &ours), (Outcome::Ok(_), Outcome::Ok(_))));
            counts[v as usize] += 1;
            if let Verdict::Differ = verdict(lv, &ours) {
                failures.push(format!("{stem}:\n    libvirt {lv:?}\n    rvirt   {ours:?}"));
            }
        }
        println!(
            "ports{}: {n} documents, {accepted} created by both, {} identical (dump or error), \
             {} refused by both as outside the schema, {} refused by libvirtd's driver at plug time",
            if *validate { " (validate)" } else { "" },
            counts[0],
            counts[1],
            counts[2]
        );
        assert!(counts[0] + counts[1] >= n / 2, "too few agreeing outcomes");
    }
    assert!(
        failures.is_empty(),
        "disagreements:\n{}",
        failures.join("\n")
    );
    assert_valid(&written);
}

/// Every port rvirt wrote must pass `virt-xml-validate`, except where libvirtd wrote the
/// very same bytes and they fail too: libvirtd keeps a multicast MAC or a bridge name
/// outside `deviceName` that its schema refuses, so byte identity and validity cannot
/// both hold there.
fn assert_valid(files: &[(PathBuf, &str)]) {
    let mut unexplained = Vec::new();
    let mut libvirt_too = 0;
    for (file, schema) in files {
        if invalid_outputs(&[(file.clone(), schema)]).is_empty() {
            continue;
        }
        let theirs = PathBuf::from(file.display().to_string().replace(".rvirt.", ".libvirt."));
        let same = std::fs::read(file).ok() == std::fs::read(&theirs).ok();
        if same && !invalid_outputs(&[(theirs, schema)]).is_empty() {
            println!("invalid as libvirtd writes it too: {}", file.display());
            libvirt_too += 1;
        } else {
            unexplained.push(file.display().to_string());
        }
    }
    println!("{libvirt_too} outputs invalid exactly as libvirtd's own");
    assert!(
        unexplained.is_empty(),
        "rvirt wrote invalid XML:\n{}",
        unexplained.join("\n")
    );
}
