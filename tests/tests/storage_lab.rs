//! The test lab itself (tests/src/lab.rs): a guest boots, loads the device-mapper
//! modules, runs host programs with their libraries and reports back.

use std::time::Duration;

use rvirt_tests::lab::Lab;

#[test]
fn lab_boots_loads_modules_and_runs_host_programs() {
    if !Lab::available() {
        return;
    }
    let out = Lab::new()
        .modules(&["dm-mod"])
        .binaries(&["/usr/bin/xz"])
        .disk_sized("a.img", 8 << 20)
        .script(
            "step cat /sys/block/vda/size\nstep ls /dev/mapper\nstep sh -c 'echo hi | /usr/bin/xz | /usr/bin/xz -d'\nstep false\n",
        )
        .run(Duration::from_secs(90));
    eprintln!("lab boot {:?}, run {:?}", out.boot, out.elapsed);
    assert!(!out.timed_out, "{}", out.transcript());
    assert_eq!(out.exit, Some(0), "{}", out.transcript());
    assert_eq!(out.step("cat /sys/block/vda/size").out, "16384\n");
    assert_eq!(
        out.step("ls /dev/mapper").out,
        "control\n",
        "{}",
        out.transcript()
    );
    assert_eq!(
        out.step("sh -c echo hi | /usr/bin/xz | /usr/bin/xz -d").out,
        "hi\n"
    );
    assert_eq!(out.step("false").rc, 1);
}

/// Device-mapper works in the lab: LVM (host lvm2 and thin-provisioning-tools) makes a
/// volume group over two virtio disks with a linear volume, a thin pool and a snapshot,
/// and deactivates and activates it. The ground for the `logical` pool tests.
#[test]
fn lab_runs_lvm_with_thin_pools_and_snapshots() {
    if !Lab::available()
        || !rvirt_tests::require_peer("lvm2", rvirt_tests::have_program("/sbin/lvm"))
        || !rvirt_tests::require_peer(
            "thin-provisioning-tools",
            rvirt_tests::have_program("/usr/sbin/thin_check"),
        )
    {
        return;
    }
    let script = r#"
for c in pvcreate vgcreate lvcreate lvs vgchange; do ln -s lvm /usr/sbin/$c; done
step pvcreate -q /dev/vda /dev/vdb
step vgcreate -q vg1 /dev/vda /dev/vdb
step lvcreate -q --name plain -L 8192K --yes vg1
step lvcreate -q --name tp -L 16M --type thin-pool --yes vg1
step lvcreate -q --name snap -L 4M -s vg1/plain
step lvs --separator : --noheadings --units b --nosuffix -o lv_name,origin,segtype,size vg1
step vgchange -aln vg1
step ls -1 /dev/vg1
step vgchange -aly vg1
step ls -1 /dev/vg1
"#;
    let out = Lab::new()
        .modules(&["dm-mod", "dm-snapshot", "dm-thin-pool", "dm-zero"])
        .binaries(&["/sbin/lvm", "/usr/sbin/thin_check", "/usr/sbin/pdata_tools"])
        .host_file("/etc/lvm/lvm.conf")
        .disk_sized("a.img", 64 << 20)
        .disk_sized("b.img", 64 << 20)
        .script(script)
        .run(Duration::from_secs(90));
    let t = out.transcript();
    assert_eq!(out.exit, Some(0), "{t}");
    for s in out.steps().iter().filter(|s| s.cmd != "ls -1 /dev/vg1") {
        assert_eq!(s.rc, 0, "{}: {}\n{t}", s.cmd, s.out);
    }
    let lvs: Vec<String> = out
        .step("lvs --separator : --noheadings --units b --nosuffix -o lv_name,origin,segtype,size vg1")
        .out
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(
        lvs,
        [
            "plain::linear:8388608",
            "snap:plain:linear:4194304",
            "tp::thin-pool:16777216"
        ],
        "{t}"
    );
    // Deactivated, the volume group has no device directory.
    assert_eq!(out.steps()[7].rc, 1, "{t}");
    assert_eq!(out.steps()[9].out, "plain\nsnap\ntp\n", "{t}");
}

/// rvirtd and rvirsh run in the lab with the qemu and storage modules: an `fs` pool on
/// a virtio disk is built (mkfs), started (mounted), given a volume, stopped and found
/// again with its volume on the next start.
#[test]
fn lab_runs_rvirtd_with_an_fs_pool_on_a_virtio_disk() {
    if !Lab::available() {
        return;
    }
    let script = r#"
step rvirsh pool-define-as p1 fs --source-dev /dev/vda --target /mnt --source-format ext4
step rvirsh pool-build p1 --overwrite
step rvirsh pool-start p1
step rvirsh vol-create-as p1 a.img 1M
step rvirsh pool-destroy p1
step rvirsh pool-start p1
step rvirsh vol-list p1
step rvirsh pool-destroy p1
step rvirsh pool-capabilities
"#;
    let out = Lab::new()
        .disk_sized("fs.img", 32 << 20)
        .binaries(&[
            "/sbin/mkfs",
            "/sbin/mke2fs",
            "/sbin/mkfs.ext4",
            "/sbin/blkid",
            "/usr/bin/qemu-img",
        ])
        .rvirt(&["qemu", "storage"])
        .script(script)
        .run(Duration::from_secs(90));
    out.assert_steps_ok();
    let t = out.transcript();
    assert_eq!(out.step("rvirsh pool-start p1").out, "Pool p1 started\n\n");
    // The volume is found again after the restart, beside mkfs's lost+found (a
    // directory, a volume as in libvirt).
    let rows: Vec<Vec<String>> = out
        .step("rvirsh vol-list p1")
        .out
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .filter(|r: &Vec<String>| !r.is_empty())
        .collect();
    assert_eq!(
        rows,
        [["a.img", "/mnt/a.img"], ["lost+found", "/mnt/lost+found"]],
        "{t}"
    );
    assert!(
        out.step("rvirsh pool-capabilities")
            .out
            .contains("<pool type='fs' supported='yes'>"),
        "{t}"
    );
}

/// A `logical` pool driven by rvirsh against rvirtd in the lab (device-mapper is a
/// module of the cloud kernel only): build over two virtio disks, start, volumes
/// (plain and sparse), the pool stopped and started again, volumes deleted, the pool
/// deleted.
#[test]
fn lab_runs_a_logical_pool_with_rvirtd() {
    if !Lab::available() {
        return;
    }
    let script = r#"
step rvirsh pool-define-as vg1 logical --source-dev /dev/vda
step rvirsh pool-build vg1
step rvirsh pool-start vg1
step rvirsh vol-create-as vg1 lv1 8M
step rvirsh vol-create-as vg1 lv2 16M --allocation 4M
step rvirsh vol-list vg1
step rvirsh vol-info lv1 --pool vg1 --bytes
step rvirsh vol-path lv1 --pool vg1
step rvirsh pool-destroy vg1
step rvirsh pool-start vg1
step rvirsh vol-list vg1
step rvirsh vol-delete lv1 --pool vg1
step rvirsh vol-delete lv2 --pool vg1
step rvirsh vol-list vg1
step rvirsh pool-destroy vg1
step rvirsh pool-delete vg1
step /sbin/lvm pvs
step rvirsh pool-capabilities
"#;
    let tools: Vec<String> = [
        "lvm", "pvcreate", "pvremove", "vgcreate", "vgremove", "vgchange", "vgs", "lvs", "pvs",
        "vgscan", "lvcreate", "lvremove", "lvchange",
    ]
    .iter()
    .map(|t| format!("/sbin/{t}"))
    .chain(["/sbin/blkid".to_string()])
    .collect();
    let tools: Vec<&str> = tools.iter().map(String::as_str).collect();
    let out = Lab::new()
        .modules(&["dm-mod", "dm-snapshot", "dm-thin-pool", "dm-zero"])
        .binaries(&tools)
        .binaries(&["/usr/sbin/thin_check", "/usr/sbin/pdata_tools"])
        .host_file("/etc/lvm/lvm.conf")
        .disk_sized("pv.img", 64 << 20)
        .rvirt(&["qemu", "storage"])
        .script(script)
        .run(Duration::from_secs(120));
    out.assert_steps_ok();
    let t = out.transcript();
    let steps = out.steps();
    let lists: Vec<&str> = steps
        .iter()
        .filter(|s| s.cmd == "rvirsh vol-list vg1")
        .map(|s| s.out.as_str())
        .collect();
    assert_eq!(lists.len(), 3, "{t}");
    assert!(
        lists[0].contains("/dev/vg1/lv1") && lists[0].contains("/dev/vg1/lv2"),
        "{t}"
    );
    assert_eq!(
        lists[0], lists[1],
        "volumes found again after a restart\n{t}"
    );
    assert_eq!(
        lists[2].lines().filter(|l| l.contains("/dev/")).count(),
        0,
        "{t}"
    );
    assert_eq!(
        lists[0].lines().filter(|l| l.contains("/dev/")).count(),
        2,
        "only the two volumes are listed (no thin pool)\n{t}"
    );
    let info = &out.step("rvirsh vol-info lv1 --pool vg1 --bytes").out;
    assert!(info.contains("Type:           block"), "{t}");
    assert!(info.contains("Capacity:       8388608 bytes"), "{t}");
    assert_eq!(
        out.step("rvirsh vol-path lv1 --pool vg1").out.trim(),
        "/dev/vg1/lv1"
    );
    assert!(!out.step("/sbin/lvm pvs").out.contains("/dev/vda"), "{t}");
    assert!(
        out.step("rvirsh pool-capabilities")
            .out
            .contains("<pool type='logical' supported='yes'>"),
        "{t}"
    );
}

/// A `logical` pool's snapshots, wipes and refusals in the lab: a volume with a backing
/// store is an LVM snapshot of it (`lvcreate -s`, its origin shown as the backing
/// store, its data the origin's), a sparse volume a snapshot of a virtual origin; both
/// refuse a wipe as libvirt does, a plain volume is zeroed; no volume resizes
/// (libvirt's logical backend has no resize); discovery finds the group.
#[test]
fn lab_runs_logical_snapshots_and_wipes_with_rvirtd() {
    if !Lab::available() {
        return;
    }
    let script = r#"
step rvirsh pool-define-as vg2 logical --source-dev /dev/vda
step rvirsh pool-build vg2
step rvirsh pool-start vg2
step rvirsh vol-create-as vg2 base 8M
step sh -c 'echo rvirt-origin-data > /dev/vg2/base'
step rvirsh vol-create-as vg2 snap 8M --backing-vol base
step rvirsh vol-dumpxml snap --pool vg2
step sh -c 'head -c 17 /dev/vg2/snap; echo'
step rvirsh vol-create-as vg2 sparse 16M --allocation 4M
step rvirsh vol-info sparse --pool vg2 --bytes
step rvirsh vol-list vg2
step rvirsh vol-wipe snap --pool vg2
step rvirsh vol-wipe sparse --pool vg2
step rvirsh vol-resize base 16M --pool vg2
step rvirsh vol-delete snap --pool vg2
step rvirsh vol-wipe base --pool vg2
step sh -c 'head -c 17 /dev/vg2/base | od -An -tx1'
step rvirsh find-storage-pool-sources logical
step rvirsh vol-delete sparse --pool vg2
step rvirsh vol-delete base --pool vg2
step rvirsh pool-destroy vg2
step rvirsh pool-delete vg2
"#;
    let tools: Vec<String> = [
        "lvm", "pvcreate", "pvremove", "vgcreate", "vgremove", "vgchange", "vgs", "lvs", "pvs",
        "vgscan", "lvcreate", "lvremove", "lvchange",
    ]
    .iter()
    .map(|t| format!("/sbin/{t}"))
    .chain(["/sbin/blkid".to_string()])
    .collect();
    let tools: Vec<&str> = tools.iter().map(String::as_str).collect();
    let out = Lab::new()
        .modules(&["dm-mod", "dm-snapshot", "dm-thin-pool", "dm-zero"])
        .binaries(&tools)
        .binaries(&["/usr/sbin/thin_check", "/usr/sbin/pdata_tools"])
        .host_file("/etc/lvm/lvm.conf")
        .disk_sized("pv.img", 64 << 20)
        .rvirt(&["qemu", "storage"])
        .script(script)
        .run(Duration::from_secs(150));
    let t = out.transcript();
    assert_eq!(out.exit, Some(0), "{t}");
    let refused = [
        (
            "rvirsh vol-wipe snap --pool vg2",
            "logical volume '/dev/vg2/snap' is sparse, volume wipe not supported",
        ),
        (
            "rvirsh vol-wipe sparse --pool vg2",
            "logical volume '/dev/vg2/sparse' is sparse, volume wipe not supported",
        ),
        (
            "rvirsh vol-resize base 16M --pool vg2",
            "storage pool does not support changing of volume capacity",
        ),
    ];
    for s in out.steps() {
        match refused.iter().find(|(cmd, _)| *cmd == s.cmd) {
            Some((_, want)) => {
                assert_ne!(s.rc, 0, "{}\n{t}", s.cmd);
                assert!(s.out.contains(want), "{}: {}\n{t}", s.cmd, s.out);
            }
            None => assert_eq!(s.rc, 0, "{}: {}\n{t}", s.cmd, s.out),
        }
    }
    let xml = out.step("rvirsh vol-dumpxml snap --pool vg2").out;
    assert!(
        xml.contains("<backingStore>\n    <path>/dev/vg2/base</path>\n"),
        "{t}"
    );
    assert!(
        xml.contains("<capacity unit='bytes'>8388608</capacity>"),
        "{t}"
    );
    let data = out.step("sh -c head -c 17 /dev/vg2/snap; echo").out;
    assert!(data.contains("rvirt-origin-data"), "{t}");
    let info = out.step("rvirsh vol-info sparse --pool vg2 --bytes").out;
    assert!(info.contains("Capacity:       16777216 bytes"), "{t}");
    assert!(info.contains("Allocation:     4194304 bytes"), "{t}");
    let list = out.step("rvirsh vol-list vg2").out;
    assert_eq!(list.matches("/dev/vg2/").count(), 3, "{t}");
    let zeros = out.step("sh -c head -c 17 /dev/vg2/base | od -An -tx1").out;
    assert!(
        !zeros.contains(|c: char| c.is_ascii_hexdigit() && c != '0'),
        "{t}"
    );
    let sources = out.step("rvirsh find-storage-pool-sources logical").out;
    assert!(
        sources.contains("<device path='/dev/vda'/>") && sources.contains("<name>vg2</name>"),
        "{t}"
    );
}
