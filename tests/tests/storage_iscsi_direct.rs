//! `iscsi-direct` pools (libiscsi in userspace) against a real libvirtd 9.0 with its
//! iscsi-direct backend: tgt's target runs in a network namespace of the test
//! (`rvirt_tests::tgt`), each daemon in turn runs in the same namespace, and the same
//! virsh sequence (definitions, start, the LUNs as volumes with their capacities, every
//! refused volume operation, a zero wipe, source discovery, failing logins) gives the
//! same output on both, UUIDs aside. The wipe is checked on the LUN's backing file too.

use std::path::Path;

use rvirt_tests::netns::Netns;
use rvirt_tests::virsh::VIRSH;
use rvirt_tests::{have_program, require_peer, tgt, Daemon, Libvirtd, TempDir};

const IQN: &str = "iqn.2026-12.org.rvirt:direct";
const INITIATOR: &str = "iqn.2026-12.org.rvirt:client";
const MIB: u64 = 1 << 20;
/// The sizes of LUN 1 and LUN 2.
const LUNS: [u64; 2] = [8 * MIB, 12 * MIB];
const BACKEND: &str =
    "/usr/lib/x86_64-linux-gnu/libvirt/storage-backend/libvirt_storage_backend_iscsi-direct.so";

/// One virsh command line's result as it is compared: the command, exit code, output.
fn virsh(uri: &str, args: &[&str]) -> String {
    let (out, err, code) = rvirt_tests::virsh::run(uri, args);
    format!("$ virsh {}\n[rc={code}]\n{out}{err}", args.join(" "))
}

/// An `iscsi-direct` pool document `NAME.xml` in `tmp` with `source` (its UUID made
/// from `n`).
fn pool(tmp: &Path, name: &str, n: u8, source: &str) {
    let xml = format!(
        "<pool type='iscsi-direct'><name>{name}</name>\
         <uuid>7b1d3f2e-4c5d-4e6f-8a9b-0c1d2e3f4a{n:02x}</uuid>\
         <source>{source}</source></pool>"
    );
    std::fs::write(tmp.join(format!("{name}.xml")), xml).unwrap();
}

fn source(host: &str, iqn: &str, initiator: bool) -> String {
    let init = if initiator {
        format!("<initiator><iqn name='{INITIATOR}'/></initiator>")
    } else {
        String::new()
    };
    format!("{host}<device path='{iqn}'/>{init}")
}

/// The documents, and the virsh command lines of the sequence.
fn sequence(tmp: &Path) -> Vec<String> {
    let t = tmp.display().to_string();
    let local = "<host name='127.0.0.1'/>";
    pool(tmp, "rvd1", 1, &source(local, IQN, true));
    // The same target and initiator again: libvirt 9.0 finds no conflict for this type.
    let with_port = "<host name='127.0.0.1' port='3260'/>";
    pool(tmp, "rvd2", 2, &source(with_port, IQN, true));
    pool(
        tmp,
        "rvd3",
        3,
        &source(local, "iqn.2026-12.org.rvirt:nosuch", true),
    );
    let closed = "<host name='127.0.0.1' port='3261'/>";
    pool(tmp, "rvd4", 4, &source(closed, IQN, true));
    pool(tmp, "rvd5", 5, &source(local, IQN, false));
    let spec = format!("<source>{local}<initiator><iqn name='{INITIATOR}'/></initiator></source>");
    std::fs::write(tmp.join("spec.xml"), spec).unwrap();
    std::fs::write(tmp.join("nospec.xml"), format!("<source>{local}</source>")).unwrap();
    std::fs::write(tmp.join("up.bin"), vec![7u8; 4096]).unwrap();
    let vol = "--pool rvd1 unit:0:0:1";
    let path = format!("ip-127.0.0.1:3260-iscsi-{IQN}-lun-1");
    let mut cmds: Vec<String> = ["rvd1", "rvd2", "rvd3", "rvd4", "rvd5"]
        .iter()
        .map(|n| format!("pool-define {t}/{n}.xml"))
        .collect();
    cmds.extend(
        [
            "pool-dumpxml rvd1",
            "pool-build rvd1",
            "pool-start rvd1",
            "pool-info rvd1",
            "pool-dumpxml rvd1",
            "vol-list rvd1 --details",
            "vol-dumpxml --pool rvd1 unit:0:0:0",
            &format!("vol-dumpxml {vol}"),
            &format!("vol-info {vol}"),
            "vol-info --pool rvd1 unit:0:0:2",
            &format!("vol-key {vol}"),
            &format!("vol-path {vol}"),
            &format!("vol-dumpxml {path}"),
            &format!("vol-name {path}"),
            "vol-create-as rvd1 new 1M",
            &format!("vol-clone {vol} copy"),
            &format!("vol-delete {vol}"),
            &format!("vol-resize {vol} 20M"),
            &format!("vol-upload {vol} {t}/up.bin"),
            &format!("vol-download {vol} {t}/down.bin"),
            "vol-wipe --pool rvd1 unit:0:0:2 --algorithm nnsa",
            "vol-wipe --pool rvd1 unit:0:0:2 --algorithm trim",
            "vol-wipe --pool rvd1 unit:0:0:2",
            "vol-wipe --pool rvd1 unit:0:0:0",
            "pool-refresh rvd1",
            "vol-list rvd1",
            "pool-delete rvd1",
            "pool-start rvd3",
            "pool-start rvd4",
            &format!("find-storage-pool-sources iscsi-direct {t}/spec.xml"),
            &format!("find-storage-pool-sources iscsi-direct {t}/nospec.xml"),
            "find-storage-pool-sources iscsi-direct",
            &format!("find-storage-pool-sources-as iscsi-direct 127.0.0.1 --initiator {INITIATOR}"),
            &format!(
                "find-storage-pool-sources-as iscsi-direct 127.0.0.1 3261 --initiator {INITIATOR}"
            ),
            "pool-list --all --type iscsi-direct --details",
            "pool-destroy rvd1",
            "pool-delete rvd1",
            "pool-info rvd1",
            "pool-start rvd1 --build",
            "pool-destroy rvd1",
        ]
        .map(str::to_string),
    );
    for n in ["rvd1", "rvd2", "rvd3", "rvd4"] {
        cmds.push(format!("pool-undefine {n}"));
    }
    cmds
}

/// LUN 2's file filled with a pattern (so that a wipe shows).
fn fill_lun2(dir: &Path) {
    std::fs::write(tgt::lun_image(dir, 2), vec![0xa5u8; LUNS[1] as usize]).unwrap();
}

fn lun2_is_zero(dir: &Path) -> bool {
    std::fs::read(tgt::lun_image(dir, 2))
        .unwrap()
        .iter()
        .all(|b| *b == 0)
}

/// Runs the sequence on `uri`; answers the outputs and the part of the pool
/// capabilities about `iscsi-direct`.
fn run(uri: &str, tmp: &Path, luns: &Path) -> (Vec<String>, String) {
    fill_lun2(luns);
    let out: Vec<String> = sequence(tmp)
        .iter()
        .map(|c| virsh(uri, &c.split(' ').collect::<Vec<_>>()))
        .collect();
    assert!(
        lun2_is_zero(luns),
        "the wipe zeroed LUN 2\n{}",
        out.join("\n")
    );
    let caps = rvirt_tests::virsh::ok(uri, &["pool-capabilities"]);
    let at = caps
        .find("<pool type='iscsi-direct'")
        .expect("iscsi-direct in caps");
    let end = at + caps[at..].find("</pool>").unwrap();
    (out, caps[at..end].to_string())
}

#[test]
fn iscsi_direct_pools_run_as_on_libvirtd() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer("tgt (tgtd)", tgt::available())
        || !require_peer(
            "libvirt-daemon-driver-storage-iscsi-direct",
            have_program(BACKEND),
        )
    {
        return;
    }
    let tmp = TempDir::new("iscsi-direct");
    let luns = TempDir::new("iscsi-direct-luns");
    let ns = Netns::new("isd");
    let _target = tgt::Target::start(&ns, &luns.0, IQN, &LUNS);
    let (theirs, their_caps) = {
        let Some(l) = Libvirtd::start_in_netns(&ns) else {
            return;
        };
        run(&l.uri("qemu", "system"), &tmp.0, &luns.0)
    };
    let joined = theirs.join("\n");
    eprintln!("libvirtd:\n{joined}\n{their_caps}");
    let d = Daemon::start_in_netns(&ns, "");
    let (ours, our_caps) = run(&d.uri("qemu:///system"), &tmp.0, &luns.0);
    // The sequence reaches what it is about on libvirtd.
    for want in [
        "<capacity unit='bytes'>8388096</capacity>",
        "Failed to login: Failed to log in to target",
        "missing initiator IQN",
        "Failed to connect",
        IQN,
    ] {
        assert!(joined.contains(want), "{want}\n{joined}");
    }
    let differ: Vec<String> = theirs
        .iter()
        .zip(&ours)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("libvirtd:\n{a}\nrvirtd:\n{b}"))
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n----\n"));
    assert_eq!(theirs.len(), ours.len());
    assert_eq!(their_caps, our_caps);
    restart_keeps_the_pool_running(d);
}

/// After a `kill -9` of rvirtd a running pool runs again, its LUNs listed afresh.
fn restart_keeps_the_pool_running(mut d: Daemon) {
    let uri = d.uri("qemu:///system");
    let tmp = TempDir::new("iscsi-direct-restart");
    pool(
        &tmp.0,
        "rvd9",
        9,
        &source("<host name='127.0.0.1'/>", IQN, true),
    );
    let doc = tmp.0.join("rvd9.xml").display().to_string();
    rvirt_tests::virsh::ok(&uri, &["pool-define", &doc]);
    rvirt_tests::virsh::ok(&uri, &["pool-start", "rvd9"]);
    d.kill9_and_restart();
    let info = rvirt_tests::virsh::ok(&uri, &["pool-info", "rvd9"]);
    assert!(info.contains("State:          running"), "{info}");
    let vols = rvirt_tests::virsh::ok(&uri, &["vol-list", "rvd9"]);
    assert_eq!(
        vols.matches("-iscsi-iqn.2026-12.org.rvirt:direct-lun-")
            .count(),
        3,
        "{vols}"
    );
    rvirt_tests::virsh::ok(&uri, &["pool-destroy", "rvd9"]);
    rvirt_tests::virsh::ok(&uri, &["pool-undefine", "rvd9"]);
}
