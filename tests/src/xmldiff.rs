//! Defining documents on libvirt's own test driver (the oracle) and on rvirt's, and
//! checking what rvirt returns with `virt-xml-validate`: the pieces the XML differential
//! tests share.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rvirt_core::protocol::{self as p, RemoteClient, RemoteError};
use rvirt_core::Connect;

use crate::repo_root;

/// What one driver did with one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; the dumped XML.
    Ok(String),
    /// Refused: error code, domain and message.
    Err(i32, i32, String),
}

/// Whether libvirt-python imports (only under `/usr/bin/python3`).
/// [`python_libvirt`] as a peer: a failure under CI when missing, a skip message locally.
pub fn require_python_libvirt() -> bool {
    crate::require_peer("libvirt-python (python3-libvirt)", python_libvirt())
}

pub fn python_libvirt() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import libvirt"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs every document (kind, path) through libvirt's test driver behind `uri` (a real
/// libvirtd's `test:///default`), with `libvirt_oracle.py`.
pub fn libvirt_outcomes(uri: &str, docs: &[(&str, PathBuf)]) -> Vec<Outcome> {
    let script = repo_root().join("tests/data/xml-corpus/libvirt_oracle.py");
    oracle_outcomes(&script, &[uri], docs)
}

/// Runs every document (kind, path) through an oracle script speaking the record protocol
/// of `libvirt_oracle.py` (lines "KIND PATH" in; "OK LEN" or "ERR CODE DOMAIN LEN" and
/// the body out), started with `args`.
pub fn oracle_outcomes(script: &Path, args: &[&str], docs: &[(&str, PathBuf)]) -> Vec<Outcome> {
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    let list: String = docs
        .iter()
        .map(|(kind, path)| format!("{kind} {}\n", path.display()))
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    let mut r = BufReader::new(child.stdout.take().unwrap());
    let out: Vec<Outcome> = docs.iter().map(|_| read_record(&mut r)).collect();
    writer.join().unwrap().expect("feed the oracle");
    assert!(
        child.wait().unwrap().success(),
        "{} failed",
        script.display()
    );
    out
}

fn read_record(r: &mut impl BufRead) -> Outcome {
    let mut head = String::new();
    r.read_line(&mut head).expect("oracle record header");
    let f: Vec<&str> = head.split_whitespace().collect();
    let len: usize = f
        .last()
        .and_then(|n| n.parse().ok())
        .expect("record length");
    let mut body = vec![0; len + 1];
    r.read_exact(&mut body).expect("oracle record body");
    body.pop();
    let body = String::from_utf8(body).expect("UTF-8 record");
    match f[0] {
        "OK" => Outcome::Ok(body),
        _ => Outcome::Err(f[1].parse().unwrap(), f[2].parse().unwrap(), body),
    }
}

fn outcome(r: Result<String, RemoteError>) -> Outcome {
    match r {
        Ok(x) => Outcome::Ok(x),
        Err(e) => Outcome::Err(e.code, e.domain, e.text().to_string()),
    }
}

/// Defines, dumps and removes one document on rvirt's test driver.
pub fn rvirt_outcome(c: &Connect, kind: &str, xml: String) -> Outcome {
    outcome(match kind {
        "domain" => rvirt_domain(c, xml),
        "network" => rvirt_network(c, xml),
        "pool" => rvirt_pool(c, xml),
        "volume" => rvirt_volume(c, xml),
        "snapshot" => rvirt_snapshot(c, xml),
        _ => rvirt_nodedev(c, xml),
    })
}

fn rvirt_domain(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let dom = c
        .domain_define_xml_flags(&p::RemoteDomainDefineXmlFlagsArgs { xml, flags: 0 })?
        .dom;
    let args = p::RemoteDomainGetXmlDescArgs {
        dom: dom.clone(),
        flags: 0,
    };
    let x = c.domain_get_xml_desc(&args).map(|r| r.xml);
    c.domain_undefine(&p::RemoteDomainUndefineArgs { dom })?;
    x
}

fn rvirt_network(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let net = c
        .network_define_xml(&p::RemoteNetworkDefineXmlArgs { xml })?
        .net;
    let args = p::RemoteNetworkGetXmlDescArgs {
        net: net.clone(),
        flags: 0,
    };
    let x = c.network_get_xml_desc(&args).map(|r| r.xml);
    c.network_undefine(&p::RemoteNetworkUndefineArgs { net })?;
    x
}

fn rvirt_pool(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let pool = c
        .storage_pool_define_xml(&p::RemoteStoragePoolDefineXmlArgs { xml, flags: 0 })?
        .pool;
    let args = p::RemoteStoragePoolGetXmlDescArgs {
        pool: pool.clone(),
        flags: 0,
    };
    let x = c.storage_pool_get_xml_desc(&args).map(|r| r.xml);
    c.storage_pool_undefine(&p::RemoteStoragePoolUndefineArgs { pool })?;
    x
}

fn rvirt_volume(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let pool = c
        .storage_pool_lookup_by_name(&p::RemoteStoragePoolLookupByNameArgs {
            name: "default-pool".into(),
        })?
        .pool;
    let vol = c
        .storage_vol_create_xml(&p::RemoteStorageVolCreateXmlArgs {
            pool,
            xml,
            flags: 0,
        })?
        .vol;
    let args = p::RemoteStorageVolGetXmlDescArgs {
        vol: vol.clone(),
        flags: 0,
    };
    let x = c.storage_vol_get_xml_desc(&args).map(|r| r.xml);
    c.storage_vol_delete(&p::RemoteStorageVolDeleteArgs { vol, flags: 0 })?;
    x
}

fn rvirt_snapshot(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let dom = c
        .domain_lookup_by_name(&p::RemoteDomainLookupByNameArgs {
            name: "test".into(),
        })?
        .dom;
    let snap = c
        .domain_snapshot_create_xml(&p::RemoteDomainSnapshotCreateXmlArgs {
            dom,
            // A leading "<!-- redefine -->" asks for VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE.
            flags: u32::from(xml.starts_with("<!-- redefine -->")),
            xml_desc: xml,
        })?
        .snap;
    let x = c
        .domain_snapshot_get_xml_desc(&p::RemoteDomainSnapshotGetXmlDescArgs {
            snap: snap.clone(),
            flags: 0,
        })
        .map(|r| r.xml);
    c.domain_snapshot_delete(&p::RemoteDomainSnapshotDeleteArgs { snap, flags: 0 })?;
    x
}

/// A snapshot as both drivers wrote it, its creation time (and the name made of it,
/// when the request gave none) replaced by `T`: the one part that differs by clock.
pub fn without_creation_time(xml: &str) -> String {
    let Some(start) = xml.find("<creationTime>") else {
        return xml.to_string();
    };
    let from = start + "<creationTime>".len();
    let Some(len) = xml[from..].find("</creationTime>") else {
        return xml.to_string();
    };
    let time = &xml[from..from + len];
    xml.replace(
        &format!("<creationTime>{time}</creationTime>"),
        "<creationTime>T</creationTime>",
    )
    .replace(&format!("<name>{time}</name>"), "<name>T</name>")
}

fn rvirt_nodedev(c: &Connect, xml: String) -> Result<String, RemoteError> {
    let dev = c
        .node_device_create_xml(&p::RemoteNodeDeviceCreateXmlArgs {
            xml_desc: xml,
            flags: 0,
        })?
        .dev;
    let args = p::RemoteNodeDeviceGetXmlDescArgs {
        name: dev.name.clone(),
        flags: 0,
    };
    let x = c.node_device_get_xml_desc(&args).map(|r| r.xml);
    c.node_device_destroy(&p::RemoteNodeDeviceDestroyArgs { name: dev.name })?;
    x
}

/// Runs `virt-xml-validate` on every file; returns the ones it refuses.
pub fn invalid_outputs(files: &[(PathBuf, &str)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (f, schema) in files {
        let out = Command::new("virt-xml-validate")
            .arg(f)
            .arg(schema)
            .output()
            .expect("run virt-xml-validate");
        if !out.status.success() {
            bad.push(format!(
                "{}: {}",
                f.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    bad
}
