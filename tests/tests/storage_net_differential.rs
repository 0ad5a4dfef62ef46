//! `netfs`, `iscsi` and `scsi` pools against a real libvirtd's storage driver, as far as
//! this machine goes without NFS or iSCSI in its kernel: definitions and their XML,
//! builds, the `mount` command lines libvirt runs (a server name that does not resolve
//! makes `mount` fail at once, and the error shows the whole command), source conflicts,
//! a SCSI adapter that does not exist and discovery errors give the same output from
//! the same virsh on both daemons. The pools themselves run in the lab guest
//! (`storage_lab_net.rs`).

use std::path::Path;

use rvirt_tests::virsh::VIRSH;
use rvirt_tests::{have_program, require_peer, Daemon, Libvirtd, TempDir};

const NS: &str = "xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'";

/// One virsh command line's result as it is compared: the command, exit code, output.
fn virsh(uri: &str, args: &[&str]) -> String {
    let (out, err, code) = rvirt_tests::virsh::run(uri, args);
    format!("$ virsh {}\n[rc={code}]\n{out}{err}", args.join(" "))
}

/// A pool document `NAME.xml` in `tmp` of `kind` with `source`, target `target` and
/// `extra` elements; its uuid made from `n`.
fn pool(tmp: &Path, name: &str, n: u8, kind: &str, source: &str, target: &str, extra: &str) {
    let ns = if extra.is_empty() { "" } else { NS };
    let xml = format!(
        "<pool type='{kind}' {ns}><name>{name}</name>\
         <uuid>6a0c2f1e-3b4d-4e5f-9a8b-7c6d5e4f3a{n:02x}</uuid><source>{source}</source>\
         <target><path>{target}</path></target>{extra}</pool>"
    );
    std::fs::write(tmp.join(format!("{name}.xml")), xml).unwrap();
}

/// The documents, and the virsh command lines of the sequence.
fn sequence(tmp: &Path) -> Vec<Vec<String>> {
    let t = tmp.display().to_string();
    let nfs = "<host name='nosuch.invalid'/><dir path='/export'/>";
    let opts = "<fs:mount_opts><fs:option name='nolock'/><fs:option name='soft'/></fs:mount_opts>";
    pool(
        tmp,
        "rvnn1",
        1,
        "netfs",
        &format!("{nfs}<format type='nfs'/><protocol ver='3'/>"),
        &format!("{t}/n1"),
        opts,
    );
    let nfs2 = "<host name='nosuch.invalid'/><dir path='/export2'/>";
    pool(tmp, "rvnn2", 2, "netfs", nfs2, &format!("{t}/n2"), "");
    pool(
        tmp,
        "rvnn3",
        3,
        "netfs",
        "<host name='nosuch.invalid'/><dir path='share'/><format type='cifs'/>",
        &format!("{t}/n3"),
        "",
    );
    // The same export as rvnn2's, elsewhere: a conflict.
    pool(tmp, "rvnn4", 4, "netfs", nfs2, &format!("{t}/n4"), "");
    let iscsi = |iqn: &str| format!("<host name='127.0.0.1'/><device path='{iqn}'/>");
    let by_path = "/dev/disk/by-path";
    // The same IQN twice (a conflict), another one beside them.
    for (name, n, iqn) in [("rvni1", 5, "a"), ("rvni2", 6, "a"), ("rvni3", 7, "b")] {
        let source = iscsi(&format!("iqn.2026-12.org.rvirt:{iqn}"));
        pool(tmp, name, n, "iscsi", &source, by_path, "");
    }
    let adapter = "<adapter type='scsi_host' name='host99'/>";
    pool(tmp, "rvns1", 8, "scsi", adapter, "/dev", "");
    pool(tmp, "rvns2", 9, "scsi", adapter, "/dev", "");
    let mut cmds: Vec<String> = Vec::new();
    for n in [
        "rvnn1", "rvnn2", "rvnn3", "rvnn4", "rvni1", "rvni2", "rvni3", "rvns1", "rvns2",
    ] {
        cmds.push(format!("pool-define {t}/{n}.xml"));
    }
    for n in ["rvnn1", "rvnn2", "rvnn3"] {
        cmds.extend([
            format!("pool-dumpxml {n}"),
            format!("pool-build {n} --overwrite"),
            format!("pool-build {n}"),
            format!("pool-start {n}"),
            format!("pool-info {n}"),
        ]);
    }
    for n in ["rvni1", "rvni3", "rvns1"] {
        cmds.extend([
            format!("pool-dumpxml {n}"),
            format!("pool-build {n}"),
            format!("pool-delete {n}"),
        ]);
    }
    cmds.extend([
        "pool-start rvns1".to_string(),
        "find-storage-pool-sources netfs".to_string(),
        "find-storage-pool-sources-as netfs nosuch.invalid".to_string(),
        "find-storage-pool-sources iscsi".to_string(),
        "find-storage-pool-sources scsi".to_string(),
        "pool-list --all --type netfs,iscsi,scsi".to_string(),
    ]);
    for n in ["rvnn1", "rvnn2", "rvnn3", "rvni1", "rvni3", "rvns1"] {
        cmds.push(format!("pool-undefine {n}"));
    }
    cmds.into_iter()
        .map(|c| c.split(' ').map(str::to_string).collect())
        .collect()
}

fn run(uri: &str, tmp: &Path) -> Vec<String> {
    sequence(tmp)
        .iter()
        .map(|c| {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            virsh(uri, &args)
        })
        .collect()
}

#[test]
fn network_pools_are_defined_and_mounted_as_libvirtd_does() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer("nfs-common (mount.nfs)", have_program("/sbin/mount.nfs"))
    {
        return;
    }
    let tmp = TempDir::new("storage-netdiff");
    let theirs = {
        let Some(l) = Libvirtd::start() else {
            return;
        };
        run(&l.uri("qemu", "system"), &tmp.0)
    };
    let d = Daemon::start("");
    let ours = run(&d.uri("qemu:///system"), &tmp.0);
    let joined = theirs.join("\n");
    // The sequence reaches what it is about on libvirtd.
    for want in [
        "mount.nfs: Failed to resolve server nosuch.invalid",
        "Storage source conflict with pool: 'rvnn2'",
        "Storage source conflict with pool: 'rvni1'",
        "Storage source conflict with pool: 'rvns1'",
        "host99/scan' to trigger host scan",
    ] {
        assert!(joined.contains(want), "{want}\n{joined}");
    }
    for (a, b) in theirs.iter().zip(&ours) {
        assert_eq!(a, b, "libvirtd (left) and rvirtd (right) differ");
    }
}
