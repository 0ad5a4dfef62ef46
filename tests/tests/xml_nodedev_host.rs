//! rvirt-xml's node devices against a real libvirtd's node-device driver.
//!
//! libvirt's test driver only creates vHBAs, so the XML differential reaches few of the
//! node device capabilities. Here a private libvirtd (`qemu:///system`) enumerates this
//! host's real devices (udev: PCI, net, block, ...); every device's XML (`dump.py` in
//! `tests/data/xml-nodedev-host/`) is parsed as a host's device
//! (`NodeDeviceDef::parse_host`) and formatted again, and must come out byte for byte as
//! libvirt wrote it, and its capability names (`cap_names`) must be the ones libvirt
//! lists (`virNodeDeviceListCaps`). The counts per capability type are printed.
//!
//! For capabilities this host lacks (mediated devices, CCW/CSS, AP, vDPA, USB, SCSI
//! targets, Fibre Channel hosts, SR-IOV functions, VPD, PCI Express links, ...) there is
//! no oracle: the documents we wrote in `synthetic/` must round-trip identically and
//! settle. Every document rvirt writes must pass `virt-xml-validate ... nodedev`, and
//! between them the outputs must use every element name of libvirt's `nodedev.rng`.
//! Outputs are left in `target/<profile>/xml-nodedev-host/`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rvirt_tests::xmldiff::{invalid_outputs, python_libvirt};
use rvirt_tests::{have_program, repo_root, require_peer, target_dir, Libvirtd};
use rvirt_xml::nodedev::NodeDeviceDef;

/// One device as the libvirtd reported it.
struct HostDevice {
    name: String,
    caps: Vec<String>,
    xml: String,
}

fn data_dir() -> PathBuf {
    repo_root().join("tests/data/xml-nodedev-host")
}

/// Every node device of the libvirtd at `uri`, through `dump.py`.
fn host_devices(uri: &str) -> Vec<HostDevice> {
    let mut child = Command::new("/usr/bin/python3")
        .arg(data_dir().join("dump.py"))
        .arg(uri)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run dump.py");
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let mut devices = Vec::new();
    loop {
        let mut head = String::new();
        if r.read_line(&mut head).expect("record header") == 0 {
            break;
        }
        let f: Vec<&str> = head.split_whitespace().collect();
        let [name, caps, len] = f[..] else {
            panic!("bad record header {head:?}");
        };
        let mut body = vec![0; len.parse::<usize>().expect("record length") + 1];
        r.read_exact(&mut body).expect("record body");
        body.pop();
        devices.push(HostDevice {
            name: name.to_string(),
            caps: caps.split(',').map(str::to_string).collect(),
            xml: String::from_utf8(body).expect("UTF-8 XML"),
        });
    }
    assert!(child.wait().unwrap().success(), "dump.py failed");
    devices
}

/// The element names libvirt's node device schema defines.
fn schema_elements() -> BTreeSet<String> {
    let rng = std::fs::read_to_string("/usr/share/libvirt/schemas/nodedev.rng")
        .expect("read nodedev.rng");
    rng.split("<element name=")
        .skip(1)
        .map(|s| s[1..].split(['"', '\'']).next().unwrap().to_string())
        .collect()
}

/// The element names used in `xml`.
fn elements_of(xml: &str, into: &mut BTreeSet<String>) {
    for part in xml.split('<').skip(1) {
        if part.starts_with(['/', '?', '!']) {
            continue;
        }
        let end = part.find([' ', '>', '/']).unwrap_or(part.len());
        into.insert(part[..end].to_string());
    }
}

/// Parses `xml` as a host's device and formats it, or says why not.
fn round_trip(xml: &str) -> Result<String, String> {
    NodeDeviceDef::parse_host(xml)
        .map(|d| d.to_xml())
        .map_err(|e| e.to_string())
}

/// The first line where `want` and `got` differ, for the failure report.
fn first_diff(want: &str, got: &str) -> String {
    want.lines()
        .zip(got.lines())
        .find(|(w, g)| w != g)
        .map_or("length differs".into(), |(w, g)| {
            format!("libvirt {w:?} / rvirt {g:?}")
        })
}

/// Checks the host's devices; returns the failures, the files written and the counts
/// per capability type.
fn check_host(
    devices: &[HostDevice],
    out: &Path,
) -> (Vec<String>, Vec<PathBuf>, BTreeMap<String, usize>) {
    let mut bad = Vec::new();
    let mut files = Vec::new();
    let mut counts = BTreeMap::new();
    for d in devices {
        for c in &d.caps {
            *counts.entry(c.clone()).or_insert(0) += 1;
        }
        let listed = NodeDeviceDef::parse_host(&d.xml).map(|p| {
            p.cap_names()
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
        });
        if listed.as_ref().is_ok_and(|l| *l != d.caps) {
            bad.push(format!(
                "{}: libvirt lists {:?}, rvirt {listed:?}",
                d.name, d.caps
            ));
        }
        match round_trip(&d.xml) {
            Ok(x) if x == d.xml => {
                let f = out.join(format!("host-{}.xml", d.name));
                std::fs::write(&f, &x).expect("write output");
                files.push(f);
            }
            Ok(x) => bad.push(format!("{}: {}", d.name, first_diff(&d.xml, &x))),
            Err(e) => bad.push(format!("{}: refused: {e}", d.name)),
        }
    }
    (bad, files, counts)
}

/// Checks our own documents: each must come back as written and settle.
fn check_synthetic(out: &Path) -> (Vec<String>, Vec<PathBuf>, BTreeMap<String, usize>) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(data_dir().join("synthetic"))
        .expect("synthetic documents")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    paths.sort();
    let mut bad = Vec::new();
    let mut files = Vec::new();
    let mut counts = BTreeMap::new();
    for p in &paths {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let doc = std::fs::read_to_string(p).expect("read document");
        let again = match round_trip(&doc) {
            Ok(x) if x == doc => round_trip(&x),
            Ok(x) => {
                bad.push(format!("{name}: {}", first_diff(&doc, &x)));
                continue;
            }
            Err(e) => {
                bad.push(format!("{name}: refused: {e}"));
                continue;
            }
        };
        if again.as_deref() != Ok(doc.as_str()) {
            bad.push(format!("{name}: does not settle: {again:?}"));
            continue;
        }
        for c in NodeDeviceDef::parse_host(&doc).unwrap().cap_names() {
            *counts.entry(c.to_string()).or_insert(0) += 1;
        }
        let f = out.join(format!("synthetic-{name}"));
        std::fs::write(&f, &doc).expect("write output");
        files.push(f);
    }
    assert!(paths.len() >= 20, "synthetic documents missing");
    (bad, files, counts)
}

#[test]
fn host_node_devices_round_trip_as_libvirt_writes_them() {
    let Some(daemon) = Libvirtd::start() else {
        return;
    };
    if !require_peer("libvirt-python (python3-libvirt)", python_libvirt())
        || !require_peer(
            "virt-xml-validate (libvirt-clients)",
            have_program("/usr/bin/virt-xml-validate"),
        )
    {
        return;
    }
    let out = target_dir().join("xml-nodedev-host");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("output directory");

    let devices = host_devices(&daemon.uri("qemu", "system"));
    drop(daemon);
    assert!(
        devices.iter().any(|d| d.name == "computer"),
        "the libvirtd reported no host devices"
    );
    let (mut bad, mut files, host_counts) = check_host(&devices, &out);
    println!(
        "host node devices: {} of {} identical; per capability: {host_counts:?}",
        files.len(),
        devices.len()
    );
    let (bad_synth, synth_files, synth_counts) = check_synthetic(&out);
    println!(
        "synthetic node devices: {} identical and settled; per capability: {synth_counts:?}",
        synth_files.len()
    );
    bad.extend(bad_synth);
    files.extend(synth_files);
    assert!(bad.is_empty(), "differences:\n{}", bad.join("\n"));

    let checks: Vec<(PathBuf, &str)> = files.iter().map(|f| (f.clone(), "nodedev")).collect();
    let invalid = invalid_outputs(&checks);
    assert!(
        invalid.is_empty(),
        "invalid output:\n{}",
        invalid.join("\n")
    );

    let mut used = BTreeSet::new();
    for f in &files {
        elements_of(&std::fs::read_to_string(f).unwrap(), &mut used);
    }
    let schema = schema_elements();
    let missing: Vec<_> = schema.difference(&used).collect();
    println!(
        "nodedev.rng element names used: {} of {}",
        schema.len() - missing.len(),
        schema.len()
    );
    assert!(missing.is_empty(), "never written: {missing:?}");
}
