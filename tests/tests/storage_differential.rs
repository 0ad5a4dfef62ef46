//! The storage module against a real libvirtd's storage driver: the same sequence of
//! pool and volume operations through the same `virsh`, on a directory pool at the
//! same path, gives the same output on both daemons: XML (file times masked), sizes,
//! listings, and the same errors for bad requests. The file system's own figures
//! (pool capacity, allocation, available) change under any running host, so only
//! their presence is compared.

use std::path::Path;
use std::process::{Command, Stdio};

use rvirt_tests::{have_program, require_peer, Daemon, Libvirtd, TempDir};

const VIRSH: &str = "/usr/bin/virsh";
const QEMU_IMG: &str = "/usr/bin/qemu-img";
const POOL: &str = "rvirtdiffpool";
const UUID: &str = "7b1e4c9a-2f3d-4e5a-9b6c-0d1e2f3a4b5c";

fn virsh(uri: &str, args: &[String]) -> String {
    let out = Command::new(VIRSH)
        .arg("-c")
        .arg(uri)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("run virsh");
    format!(
        "[rc={}]\n{}{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Replaces the text of every `<tag>` element with `*`.
fn mask_element(text: &str, tag: &str) -> String {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(&open) {
        let Some(gt) = rest[at..].find('>').map(|i| at + i + 1) else {
            break;
        };
        let Some(end) = rest[gt..].find(&close).map(|i| gt + i) else {
            break;
        };
        out.push_str(&rest[..gt]);
        out.push('*');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// What is compared: file times masked, and the file system's figures in pool output.
fn mask(text: &str) -> String {
    let mut t = text.to_string();
    for tag in ["atime", "mtime", "ctime", "btime"] {
        t = mask_element(&t, tag);
    }
    if t.contains("<pool type=") {
        for tag in ["capacity", "allocation", "available"] {
            t = mask_element(&t, tag);
        }
    }
    t.lines()
        .map(|l| match l.split_once(':') {
            Some((k @ ("Capacity" | "Allocation" | "Available"), _)) if t.contains("UUID:") => {
                format!("{k}: *")
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Files put into the pool directory behind the daemon's back.
fn put_files_by_hand(dir: &Path) {
    let status = Command::new(QEMU_IMG)
        .args([
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            "cluster_size=131072,lazy_refcounts=on",
        ])
        .arg(dir.join("hand.qcow2"))
        .arg("5M")
        .status()
        .expect("qemu-img create");
    assert!(status.success());
    std::fs::write(dir.join("hand.raw"), "hello\n").unwrap();
    std::fs::create_dir(dir.join("subdir")).unwrap();
    std::fs::write(dir.join("left.over"), "x").unwrap();
}

/// The sequence, one virsh command line per entry (`!hand` puts files in by hand,
/// `!clean` removes the last of them).
fn steps(tmp: &Path) -> Vec<Vec<String>> {
    let pool = tmp.join("pool");
    let p = pool.display().to_string();
    let docs = [
        (
            "pool.xml",
            format!("<pool type='dir'><name>{POOL}</name><uuid>{UUID}</uuid><target><path>{p}</path></target></pool>"),
        ),
        (
            "dup.xml",
            format!("<pool type='dir'><name>{POOL}</name><target><path>{p}2</path></target></pool>"),
        ),
        (
            "perm.xml",
            "<volume><name>perm.img</name><capacity unit='M'>1</capacity><allocation>0</allocation><target><format type='raw'/><permissions><mode>0640</mode><owner>1000</owner><group>1000</group></permissions></target></volume>".into(),
        ),
        (
            "c.xml",
            "<volume><name>c.qcow2</name><capacity unit='M'>8</capacity><target><format type='qcow2'/><compat>1.1</compat><clusterSize unit='KiB'>128</clusterSize><features><lazy_refcounts/></features></target></volume>".into(),
        ),
    ];
    for (name, text) in &docs {
        std::fs::write(tmp.join(name), text).unwrap();
    }
    let doc = |n: &str| tmp.join(n).display().to_string();
    let vol = |v: &str| format!("{p}/{v}");
    let script: Vec<Vec<String>> = vec![
        vec!["pool-define".into(), doc("pool.xml")],
        vec!["pool-define".into(), doc("dup.xml")],
        vec!["pool-start".into(), POOL.into()],
        vec![
            "pool-build".into(),
            POOL.into(),
            "--overwrite".into(),
            "--no-overwrite".into(),
        ],
        vec!["pool-build".into(), POOL.into(), "--no-overwrite".into()],
        vec!["pool-build".into(), POOL.into()],
        vec!["pool-dumpxml".into(), POOL.into()],
        vec!["pool-start".into(), POOL.into()],
        vec!["pool-start".into(), POOL.into()],
        vec!["pool-info".into(), POOL.into()],
        vec!["pool-dumpxml".into(), POOL.into()],
        vec!["pool-dumpxml".into(), "--inactive".into(), POOL.into()],
        vec!["pool-uuid".into(), POOL.into()],
        vec!["pool-name".into(), UUID.into()],
        vec!["pool-undefine".into(), POOL.into()],
        vec![
            "vol-create-as".into(),
            POOL.into(),
            "r1.img".into(),
            "10M".into(),
        ],
        vec![
            "vol-create-as".into(),
            POOL.into(),
            "sp.img".into(),
            "10M".into(),
            "--allocation".into(),
            "0".into(),
        ],
        vec![
            "vol-create-as".into(),
            POOL.into(),
            "q1.qcow2".into(),
            "20M".into(),
            "--format".into(),
            "qcow2".into(),
        ],
        vec![
            "vol-create-as".into(),
            POOL.into(),
            "q2.qcow2".into(),
            "20M".into(),
            "--format".into(),
            "qcow2".into(),
            "--backing-vol".into(),
            vol("q1.qcow2"),
            "--backing-vol-format".into(),
            "qcow2".into(),
        ],
        vec![
            "vol-create-as".into(),
            POOL.into(),
            "pm.qcow2".into(),
            "10M".into(),
            "--format".into(),
            "qcow2".into(),
            "--prealloc-metadata".into(),
        ],
        vec!["vol-create".into(), POOL.into(), doc("perm.xml")],
        vec!["vol-create".into(), POOL.into(), doc("c.xml")],
        vec![
            "vol-create-as".into(),
            POOL.into(),
            "r1.img".into(),
            "10M".into(),
        ],
        vec![
            "vol-create-as".into(),
            POOL.into(),
            "big.img".into(),
            "100000T".into(),
        ],
        vec![
            "vol-create-as".into(),
            POOL.into(),
            "bad.img".into(),
            "1M".into(),
            "--format".into(),
            "bogus".into(),
        ],
        vec![
            "vol-create-as".into(),
            "nosuchpool".into(),
            "x.img".into(),
            "1M".into(),
        ],
        vec!["vol-list".into(), POOL.into(), "--details".into()],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "r1.img".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "sp.img".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "q1.qcow2".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "q2.qcow2".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "pm.qcow2".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "perm.img".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "c.qcow2".into(),
        ],
        vec![
            "vol-info".into(),
            "--pool".into(),
            POOL.into(),
            "nosuch".into(),
        ],
        vec![
            "vol-key".into(),
            "--pool".into(),
            POOL.into(),
            "q1.qcow2".into(),
        ],
        vec![
            "vol-path".into(),
            "--pool".into(),
            POOL.into(),
            "q1.qcow2".into(),
        ],
        vec!["vol-pool".into(), vol("q1.qcow2")],
        vec![
            "vol-clone".into(),
            "--pool".into(),
            POOL.into(),
            "r1.img".into(),
            "r1c.img".into(),
        ],
        vec![
            "vol-clone".into(),
            "--pool".into(),
            POOL.into(),
            "c.qcow2".into(),
            "cc.qcow2".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "r1c.img".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "cc.qcow2".into(),
        ],
        vec![
            "vol-resize".into(),
            "--pool".into(),
            POOL.into(),
            "sp.img".into(),
            "20M".into(),
        ],
        vec![
            "vol-resize".into(),
            "--pool".into(),
            POOL.into(),
            "sp.img".into(),
            "5M".into(),
        ],
        vec![
            "vol-resize".into(),
            "--pool".into(),
            POOL.into(),
            "sp.img".into(),
            "5M".into(),
            "--shrink".into(),
        ],
        vec![
            "vol-resize".into(),
            "--pool".into(),
            POOL.into(),
            "r1.img".into(),
            "5M".into(),
            "--shrink".into(),
        ],
        vec![
            "vol-resize".into(),
            "--pool".into(),
            POOL.into(),
            "perm.img".into(),
            "4M".into(),
            "--allocate".into(),
        ],
        vec![
            "vol-resize".into(),
            "--pool".into(),
            POOL.into(),
            "perm.img".into(),
            "1M".into(),
            "--delta".into(),
        ],
        vec![
            "vol-resize".into(),
            "--pool".into(),
            POOL.into(),
            "q1.qcow2".into(),
            "40M".into(),
        ],
        vec![
            "vol-info".into(),
            "--pool".into(),
            POOL.into(),
            "sp.img".into(),
        ],
        vec![
            "vol-info".into(),
            "--pool".into(),
            POOL.into(),
            "perm.img".into(),
        ],
        vec![
            "vol-info".into(),
            "--pool".into(),
            POOL.into(),
            "q1.qcow2".into(),
        ],
        vec![
            "vol-wipe".into(),
            "--pool".into(),
            POOL.into(),
            "r1c.img".into(),
        ],
        vec![
            "vol-info".into(),
            "--pool".into(),
            POOL.into(),
            "r1c.img".into(),
        ],
        vec![
            "vol-wipe".into(),
            "--pool".into(),
            POOL.into(),
            "cc.qcow2".into(),
        ],
        vec![
            "vol-info".into(),
            "--pool".into(),
            POOL.into(),
            "cc.qcow2".into(),
        ],
        vec!["!hand".into()],
        vec!["pool-refresh".into(), POOL.into()],
        vec!["vol-list".into(), POOL.into(), "--details".into()],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "hand.qcow2".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "hand.raw".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "subdir".into(),
        ],
        vec![
            "vol-dumpxml".into(),
            "--pool".into(),
            POOL.into(),
            "q1.qcow2".into(),
        ],
        vec![
            "vol-delete".into(),
            "--pool".into(),
            POOL.into(),
            "nosuch".into(),
        ],
        vec!["pool-autostart".into(), POOL.into()],
        vec![
            "pool-list".into(),
            "--all".into(),
            "--type".into(),
            "dir".into(),
        ],
        vec!["pool-autostart".into(), "--disable".into(), POOL.into()],
        vec!["pool-destroy".into(), POOL.into()],
        vec!["pool-info".into(), POOL.into()],
        vec!["vol-list".into(), POOL.into()],
        vec!["pool-delete".into(), POOL.into()],
        vec!["!clean".into()],
        vec!["pool-delete".into(), POOL.into()],
        vec!["pool-undefine".into(), POOL.into()],
        vec!["pool-info".into(), POOL.into()],
    ];
    script
}

/// Runs the sequence on `uri`; the pool directory starts out missing.
fn run(uri: &str, tmp: &Path) -> Vec<(String, String)> {
    let pool = tmp.join("pool");
    cleanup(uri);
    let _ = std::fs::remove_dir_all(&pool);
    let mut out = Vec::new();
    for step in steps(tmp) {
        let line = step.join(" ");
        let text = match step[0].as_str() {
            "!hand" => {
                put_files_by_hand(&pool);
                String::new()
            }
            "!clean" => {
                for e in std::fs::read_dir(&pool).unwrap().flatten() {
                    let _ = std::fs::remove_dir_all(e.path());
                    let _ = std::fs::remove_file(e.path());
                }
                String::new()
            }
            _ => mask(&virsh(uri, &step)),
        };
        out.push((line, text));
    }
    cleanup(uri);
    let _ = std::fs::remove_dir_all(&pool);
    out
}

/// Leaves nothing of the pool defined (the oracle's definitions live in the host's
/// /etc/libvirt).
fn cleanup(uri: &str) {
    for cmd in ["pool-destroy", "pool-undefine"] {
        let _ = virsh(uri, &[cmd.to_string(), POOL.to_string()]);
    }
}

#[test]
fn dir_pool_sequence_matches_libvirtd() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer("qemu-img (qemu-utils)", have_program(QEMU_IMG))
    {
        return;
    }
    let tmp = TempDir::new("storage-diff");
    let theirs = {
        let Some(l) = Libvirtd::start() else {
            return;
        };
        run(&l.uri("qemu", "system"), &tmp.0)
    };
    let d = Daemon::start("");
    let ours = run(&d.uri("qemu:///system"), &tmp.0);
    let mut diffs = Vec::new();
    for ((line, t), (_, o)) in theirs.iter().zip(&ours) {
        if t != o {
            diffs.push(format!(
                "== virsh {line}\n-- libvirtd:\n{t}\n-- rvirtd:\n{o}"
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
