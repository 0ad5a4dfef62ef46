//! Network storage pools driven by rvirsh against rvirtd in the lab guest (this
//! machine's kernel has no NFS or iSCSI client): `netfs` over the guest's own NFS
//! server, `iscsi` against tgt's target in the guest.

use std::time::Duration;

use rvirt_tests::lab::{Lab, LabOutput};

/// Whether the lab and the host programs a network storage test copies into it are
/// here (a missing one fails under `CI=true`).
fn available(programs: &[(&str, &str)]) -> bool {
    Lab::available()
        && programs
            .iter()
            .all(|(pkg, p)| rvirt_tests::require_peer(pkg, rvirt_tests::have_program(p)))
}

/// `text` with the figures of `<capacity>`, `<allocation>` and `<available>` as `N`
/// (they depend on the guest's memory).
fn sizes_blanked(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            match ["<capacity", "<allocation", "<available"]
                .iter()
                .find(|p| t.starts_with(*p))
            {
                Some(p) => {
                    let tag = &p[1..];
                    let indent = &l[..l.len() - t.len()];
                    format!("{indent}<{tag} unit='bytes'>N</{tag}>")
                }
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The volume names and paths of a `vol-list`.
fn vol_rows(out: &LabOutput, cmd: &str) -> Vec<Vec<String>> {
    out.step(cmd)
        .out
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .filter(|r: &Vec<String>| !r.is_empty())
        .collect()
}

const NETFS_XML: &str =
    "<pool type='netfs' xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'>
  <name>nfs1</name>
  <uuid>4a3f8a52-52b5-4a1c-9d7e-0c1c2b3a4d5e</uuid>
  <source>
    <host name='127.0.0.1'/>
    <dir path='/srv/nfs'/>
    <format type='nfs'/>
    <protocol ver='3'/>
  </source>
  <target>
    <path>/mnt/nfs</path>
  </target>
  <fs:mount_opts>
    <fs:option name='nolock'/>
  </fs:mount_opts>
</pool>
";

/// A `netfs` pool over NFS: the export is discovered, the pool built and started
/// (mounted with libvirt's options, the protocol version and the pool's own mount
/// option), a volume made in it lands on the server, the pool is stopped (unmounted)
/// and started again with its volume, and deleted.
#[test]
fn lab_runs_a_netfs_pool_over_nfs() {
    if !available(&[
        ("nfs-kernel-server", "/usr/sbin/rpc.nfsd"),
        ("nfs-common", "/usr/sbin/mount.nfs"),
        ("rpcbind", "/usr/sbin/rpcbind"),
    ]) {
        return;
    }
    let script = r#"
step rvirsh find-storage-pool-sources-as netfs 127.0.0.1
step rvirsh find-storage-pool-sources netfs
step rvirsh pool-define /tmp/netfs.xml
step rvirsh pool-build nfs1
step rvirsh pool-start nfs1
step sh -c 'grep " /mnt/nfs " /proc/mounts'
step rvirsh vol-create-as nfs1 a.img 1M
step ls /srv/nfs
step rvirsh pool-dumpxml nfs1
step rvirsh pool-destroy nfs1
step sh -c 'grep -c " /mnt/nfs " /proc/mounts'
step rvirsh pool-start nfs1
step rvirsh vol-list nfs1
step rvirsh vol-delete a.img --pool nfs1
step rvirsh pool-destroy nfs1
step rvirsh pool-delete nfs1
step rvirsh pool-undefine nfs1
step rvirsh find-storage-pool-sources-as netfs nosuch.invalid
"#;
    let out = Lab::new()
        .nfs_server("/srv/nfs")
        .file("/tmp/netfs.xml", 0o644, NETFS_XML.as_bytes())
        .binaries(&["/usr/bin/qemu-img"])
        .rvirt(&["qemu", "storage"])
        .script(script)
        .run(Duration::from_secs(150));
    let t = out.transcript();
    assert!(!t.contains("LAB-NFS-FAILED"), "{t}");
    let expect_fail = [
        "rvirsh find-storage-pool-sources netfs",
        "sh -c grep -c \" /mnt/nfs \" /proc/mounts",
        "rvirsh find-storage-pool-sources-as netfs nosuch.invalid",
    ];
    for s in out.steps() {
        assert_eq!(
            s.rc != 0,
            expect_fail.contains(&s.cmd.as_str()),
            "{}: {}\n{t}",
            s.cmd,
            s.out
        );
    }
    assert_eq!(
        out.step("rvirsh find-storage-pool-sources-as netfs 127.0.0.1")
            .out,
        "<sources>\n  <source>\n    <host name='127.0.0.1'/>\n    <dir path='/srv/nfs'/>\n    \
         <format type='nfs'/>\n  </source>\n</sources>\n\n"
    );
    assert!(
        out.step("rvirsh find-storage-pool-sources netfs")
            .out
            .contains("hostname must be specified for netfs sources"),
        "{t}"
    );
    assert!(
        out.step("rvirsh find-storage-pool-sources-as netfs nosuch.invalid")
            .out
            .contains("no storage pools were found on host 'nosuch.invalid'"),
        "{t}"
    );
    // libvirt's mount options, then the protocol's and the pool's.
    let mount = out.step("sh -c grep \" /mnt/nfs \" /proc/mounts").out;
    assert!(
        mount.starts_with("127.0.0.1:/srv/nfs /mnt/nfs nfs rw,nosuid,nodev,noexec,"),
        "{t}"
    );
    assert!(
        mount.contains(",vers=3,") && mount.contains(",nolock,"),
        "{t}"
    );
    assert_eq!(out.step("ls /srv/nfs").out, "a.img\n", "{t}");
    assert_eq!(
        sizes_blanked(&out.step("rvirsh pool-dumpxml nfs1").out).trim_end(),
        "<pool type='netfs' xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'>
  <name>nfs1</name>
  <uuid>4a3f8a52-52b5-4a1c-9d7e-0c1c2b3a4d5e</uuid>
  <capacity unit='bytes'>N</capacity>
  <allocation unit='bytes'>N</allocation>
  <available unit='bytes'>N</available>
  <source>
    <host name='127.0.0.1'/>
    <dir path='/srv/nfs'/>
    <format type='nfs'/>
    <protocol ver='3'/>
  </source>
  <target>
    <path>/mnt/nfs</path>
    <permissions>
      <mode>0755</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
  </target>
  <fs:mount_opts>
    <fs:option name='nolock'/>
  </fs:mount_opts>
</pool>",
        "{t}"
    );
    assert_eq!(
        out.step("sh -c grep -c \" /mnt/nfs \" /proc/mounts").out,
        "0\n",
        "unmounted by destroy\n{t}"
    );
    assert_eq!(
        vol_rows(&out, "rvirsh vol-list nfs1"),
        [["a.img", "/mnt/nfs/a.img"]],
        "{t}"
    );
}
