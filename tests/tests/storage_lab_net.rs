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

/// Asserts that exactly the steps `fails` failed (the transcript in the message).
fn assert_fails_only(out: &LabOutput, fails: &[&str]) {
    let t = out.transcript();
    assert_eq!(out.exit, Some(0), "{t}");
    for s in out.steps() {
        let want = fails.contains(&s.cmd.as_str());
        assert_eq!(s.rc != 0, want, "{}: {}\n{t}", s.cmd, s.out);
    }
}

/// The volume names and paths of a `vol-list`'s output.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(2)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .filter(|r: &Vec<String>| !r.is_empty())
        .collect()
}

/// The rows of the `vol-list` step `cmd`.
fn vol_rows(out: &LabOutput, cmd: &str) -> Vec<Vec<String>> {
    rows(&out.step(cmd).out)
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
/// option), a volume made in it lands on the server, the pool runs on after a `kill -9`
/// of rvirtd, is stopped (unmounted) and started again with its volume, and deleted.
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
rvirtd_kill9
rvirtd_start
step rvirsh vol-list nfs1
step sh -c 'grep -c "/mnt/nfs nfs " /proc/mounts'
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
    assert_fails_only(
        &out,
        &[
            "rvirsh find-storage-pool-sources netfs",
            "sh -c grep -c \" /mnt/nfs \" /proc/mounts",
            "rvirsh find-storage-pool-sources-as netfs nosuch.invalid",
        ],
    );
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
    // After a kill -9 of rvirtd the pool runs on, mounted once.
    assert_eq!(
        out.step("sh -c grep -c \"/mnt/nfs nfs \" /proc/mounts").out,
        "1\n",
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

const IQN: &str = "iqn.2026-12.org.rvirt:lab";

const ISCSI_XML: &str = "<pool type='iscsi'>
  <name>lab</name>
  <uuid>0b6f3c1e-7d2a-4e5f-8a9b-1c2d3e4f5a6b</uuid>
  <source>
    <host name='127.0.0.1'/>
    <device path='iqn.2026-12.org.rvirt:lab'/>
  </source>
  <target>
    <path>/dev/disk/by-path</path>
  </target>
</pool>
";

/// An `iscsi` pool against tgt's target in the guest: the target is discovered, the
/// pool started (a node record and a login), its two LUNs listed as volumes with their
/// `/dev/disk/by-path` links and serials, bytes uploaded to and downloaded from a
/// LUN, the pool refreshed, found running in its
/// session after a `kill -9` of rvirtd, stopped (logged out) and started again.
#[test]
fn lab_runs_an_iscsi_pool_against_tgt() {
    if !available(&[
        ("tgt", "/usr/sbin/tgtd"),
        ("open-iscsi", "/usr/sbin/iscsiadm"),
        ("udev", "/lib/udev/scsi_id"),
    ]) {
        return;
    }
    let script = r#"
step rvirsh find-storage-pool-sources-as iscsi 127.0.0.1
step rvirsh find-storage-pool-sources iscsi
step rvirsh pool-define /tmp/iscsi.xml
step rvirsh pool-build lab
step rvirsh pool-start lab
step iscsiadm --mode session
step rvirsh vol-list lab
step rvirsh vol-dumpxml unit:0:0:1 --pool lab
step rvirsh pool-dumpxml lab
echo 'hello lun' > /tmp/h
step rvirsh vol-upload unit:0:0:2 /tmp/h --pool lab
step sh -c 'head -c 10 /dev/sdb'
step rvirsh vol-download unit:0:0:2 /tmp/d --pool lab --length 10
step cat /tmp/d
step rvirsh pool-refresh lab
step rvirsh vol-list lab
rvirtd_kill9
rvirtd_start
step rvirsh vol-list lab
step sh -c 'iscsiadm --mode session | wc -l'
step rvirsh pool-destroy lab
step sh -c 'iscsiadm --mode session; echo $?'
step rvirsh pool-start lab
step rvirsh vol-list lab
step rvirsh pool-destroy lab
step rvirsh find-storage-pool-sources-as iscsi 127.0.0.1 --initiator iqn.2026-12.org.rvirt:other
step rvirsh pool-define /tmp/iscsi2.xml
step rvirsh pool-start lab
step sh -c 'iscsiadm --mode session -P 1 | grep Iface'
step rvirsh vol-list lab
step rvirsh find-storage-pool-sources-as iscsi --host 127.0.0.1 --initiator iqn.2026-12.org.rvirt:other
step rvirsh pool-destroy lab
step sh -c 'iscsiadm --mode session; echo $?'
step rvirsh pool-delete lab
step rvirsh pool-undefine lab
"#;
    let with_initiator = ISCSI_XML.replace(
        "  </source>",
        "    <initiator>\n      <iqn name='iqn.2026-12.org.rvirt:other'/>\n    </initiator>\n  </source>",
    );
    let out = Lab::new()
        .iscsi_target(IQN, &[16 << 20, 8 << 20])
        .file("/tmp/iscsi.xml", 0o644, ISCSI_XML.as_bytes())
        .file("/tmp/iscsi2.xml", 0o644, with_initiator.as_bytes())
        .rvirt(&["qemu", "storage"])
        .script(script)
        .run(Duration::from_secs(150));
    let t = out.transcript();
    assert!(!t.contains("LAB-ISCSI-FAILED"), "{t}");
    assert_fails_only(
        &out,
        &[
            "rvirsh find-storage-pool-sources iscsi",
            "rvirsh find-storage-pool-sources-as iscsi 127.0.0.1 --initiator iqn.2026-12.org.rvirt:other",
            "rvirsh pool-delete lab",
        ],
    );
    let steps = out.steps();
    // After each logout no session is left (iscsiadm exits with 21).
    let after_logout: Vec<&str> = steps
        .iter()
        .filter(|s| s.cmd == "sh -c iscsiadm --mode session; echo $?")
        .map(|s| s.out.as_str())
        .collect();
    assert_eq!(
        after_logout, ["iscsiadm: No active sessions.\n21\n"; 2],
        "{t}"
    );
    assert_eq!(
        out.step("rvirsh find-storage-pool-sources-as iscsi 127.0.0.1")
            .out,
        format!(
            "<sources>\n  <source>\n    <host name='127.0.0.1' port='3260'/>\n    \
             <device path='{IQN}'/>\n  </source>\n</sources>\n\n"
        )
    );
    assert!(
        out.step("rvirsh find-storage-pool-sources iscsi")
            .out
            .contains("hostname must be specified for iscsi sources"),
        "{t}"
    );
    assert_eq!(
        out.step("iscsiadm --mode session").out,
        format!("tcp: [1] 127.0.0.1:3260,1 {IQN} (non-flash)\n"),
        "{t}"
    );
    let by_path = format!("/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-{IQN}-lun-");
    let lists: Vec<Vec<Vec<String>>> = steps
        .iter()
        .filter(|s| s.cmd == "rvirsh vol-list lab")
        .map(|s| rows(&s.out))
        .collect();
    let want = vec![
        vec!["unit:0:0:1".to_string(), format!("{by_path}1")],
        vec!["unit:0:0:2".to_string(), format!("{by_path}2")],
    ];
    assert_eq!(lists, vec![want; 5], "{t}");
    // After a kill -9 of rvirtd the pool runs on in its session: no second login.
    assert_eq!(
        out.step("sh -c iscsiadm --mode session | wc -l").out.trim(),
        "1",
        "{t}"
    );
    let vol = out.step("rvirsh vol-dumpxml unit:0:0:1 --pool lab").out;
    let vol: Vec<&str> = vol
        .lines()
        .filter(|l| {
            !["<atime>", "<mtime>", "<ctime>", "<btime>"]
                .iter()
                .any(|x| l.trim_start().starts_with(x))
        })
        .collect();
    assert_eq!(
        vol.join("\n").trim_end(),
        format!(
            "<volume type='block'>
  <name>unit:0:0:1</name>
  <key>360000000000000000e00000000010001</key>
  <capacity unit='bytes'>16777216</capacity>
  <allocation unit='bytes'>16777216</allocation>
  <physical unit='bytes'>16777216</physical>
  <target>
    <path>{by_path}1</path>
    <permissions>
      <mode>0600</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
    <timestamps>
    </timestamps>
  </target>
</volume>"
        ),
        "{t}"
    );
    // The pool's figures are its LUNs' sums; the default port is written back.
    assert_eq!(
        out.step("rvirsh pool-dumpxml lab").out.trim_end(),
        format!(
            "<pool type='iscsi'>
  <name>lab</name>
  <uuid>0b6f3c1e-7d2a-4e5f-8a9b-1c2d3e4f5a6b</uuid>
  <capacity unit='bytes'>25165824</capacity>
  <allocation unit='bytes'>25165824</allocation>
  <available unit='bytes'>0</available>
  <source>
    <host name='127.0.0.1' port='3260'/>
    <device path='{IQN}'/>
  </source>
  <target>
    <path>/dev/disk/by-path</path>
  </target>
</pool>"
        ),
        "{t}"
    );
    // A LUN's bytes stream both ways.
    assert_eq!(
        out.step("sh -c head -c 10 /dev/sdb").out,
        "hello lun\n",
        "{t}"
    );
    assert_eq!(out.step("cat /tmp/d").out, "hello lun\n", "{t}");
    // With an initiator IQN: no interface yet for a discovery; the login makes one.
    assert!(
        out.step("rvirsh find-storage-pool-sources-as iscsi 127.0.0.1 --initiator iqn.2026-12.org.rvirt:other")
            .out
            .contains("no iSCSI interface defined for IQN iqn.2026-12.org.rvirt:other"),
        "{t}"
    );
    let iface = out
        .step("sh -c iscsiadm --mode session -P 1 | grep Iface")
        .out;
    assert!(
        iface.contains("Iface Name: libvirt-iface-")
            && iface.contains("Iface Initiatorname: iqn.2026-12.org.rvirt:other"),
        "{t}"
    );
    assert_eq!(
        out.step("rvirsh find-storage-pool-sources-as iscsi --host 127.0.0.1 --initiator iqn.2026-12.org.rvirt:other").out,
        format!(
            "<sources>\n  <source>\n    <host name='127.0.0.1' port='3260'/>\n    \
             <device path='{IQN}'/>\n    <initiator>\n      \
             <iqn name='iqn.2026-12.org.rvirt:other'/>\n    </initiator>\n  </source>\n\
             </sources>\n\n"
        ),
        "{t}"
    );
    assert!(
        out.step("rvirsh pool-delete lab")
            .out
            .contains("pool does not support pool deletion"),
        "{t}"
    );
}

const SCSI_XML: &str = "<pool type='scsi'>
  <name>scsi0</name>
  <uuid>5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6</uuid>
  <source>
    <adapter type='scsi_host' name='host0'/>
  </source>
  <target>
    <path>/dev</path>
  </target>
</pool>
";

/// A `scsi` pool on the guest's virtio-scsi host adapter: its disk is the one volume
/// (named by its unit, the device node its path, with target `/dev`), the pool is
/// refreshed and stopped; an adapter that does not exist fails the start as libvirt's.
#[test]
fn lab_runs_a_scsi_pool_on_a_host_adapter() {
    if !available(&[("udev", "/lib/udev/scsi_id")]) {
        return;
    }
    let script = r#"
sed 's/scsi0/bad/; s/host0/host7/; s/5d1e2f3a/6d1e2f3a/' /tmp/scsi.xml > /tmp/bad.xml
step rvirsh pool-define /tmp/scsi.xml
step rvirsh pool-build scsi0
step rvirsh pool-start scsi0
step rvirsh vol-list scsi0
step rvirsh vol-dumpxml unit:0:0:0 --pool scsi0
step rvirsh pool-dumpxml scsi0
step rvirsh pool-refresh scsi0
step rvirsh pool-destroy scsi0
step rvirsh pool-create /tmp/bad.xml
step rvirsh pool-capabilities
"#;
    let lab = Lab::new();
    let img = lab.dir().join("sd.img");
    std::fs::File::create(&img)
        .and_then(|f| f.set_len(8 << 20))
        .expect("disk image");
    let out = lab
        .disk_on(&img, rvirt_tests::lab::Bus::VirtioScsi)
        .binaries(&["/lib/udev/scsi_id"])
        .file("/tmp/scsi.xml", 0o644, SCSI_XML.as_bytes())
        .rvirt(&["qemu", "storage"])
        .script(script)
        .run(Duration::from_secs(120));
    let t = out.transcript();
    assert_fails_only(&out, &["rvirsh pool-create /tmp/bad.xml"]);
    assert_eq!(
        vol_rows(&out, "rvirsh vol-list scsi0"),
        [["unit:0:0:0", "/dev/sda"]],
        "{t}"
    );
    let vol = out.step("rvirsh vol-dumpxml unit:0:0:0 --pool scsi0").out;
    assert!(
        vol.starts_with(
            "<volume type='block'>
  <name>unit:0:0:0</name>
  <key>0QEMU_QEMU_HARDDISK_lab0</key>
  <capacity unit='bytes'>8388608</capacity>
  <allocation unit='bytes'>8388608</allocation>
  <physical unit='bytes'>8388608</physical>
  <target>
    <path>/dev/sda</path>
"
        ),
        "{t}"
    );
    assert_eq!(
        out.step("rvirsh pool-dumpxml scsi0").out.trim_end(),
        "<pool type='scsi'>
  <name>scsi0</name>
  <uuid>5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6</uuid>
  <capacity unit='bytes'>8388608</capacity>
  <allocation unit='bytes'>8388608</allocation>
  <available unit='bytes'>0</available>
  <source>
    <adapter type='scsi_host' name='host0'/>
  </source>
  <target>
    <path>/dev</path>
  </target>
</pool>",
        "{t}"
    );
    let caps = out.step("rvirsh pool-capabilities").out;
    for t in ["netfs", "iscsi", "scsi"] {
        assert!(
            caps.contains(&format!("<pool type='{t}' supported='yes'>")),
            "{caps}"
        );
    }
    assert!(
        out.step("rvirsh pool-create /tmp/bad.xml").out.contains(
            "Could not open '/sys/class/scsi_host/host7/scan' to trigger host scan: \
             No such file or directory"
        ),
        "{t}"
    );
}
