//! The storage module end to end: rvirtd's `qemu:///system` with the real `virsh` and
//! the real `qemu-img`, directory pools in temporary directories. A pool and its
//! volumes survive `kill -9` of the daemon; files put in a pool by hand show up on
//! refresh with the format `qemu-img` finds.

use std::path::Path;
use std::process::Command;

use rvirt_tests::virsh::{ok, run as virsh, VIRSH};
use rvirt_tests::{have_program, require_peer, Daemon, LoopDevice, TempDir};

const QEMU_IMG: &str = "/usr/bin/qemu-img";

fn peers_ok() -> bool {
    require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        && require_peer("qemu-img (qemu-utils)", have_program(QEMU_IMG))
}

/// The error text of a failing virsh command.
fn fails(uri: &str, args: &[&str]) -> String {
    let (out, err, code) = virsh(uri, args);
    assert_ne!(code, 0, "virsh {args:?} should fail: {out}");
    err
}

/// `qemu-img info` of a file: (format, virtual size).
fn image(path: &Path) -> (String, u64) {
    let out = Command::new(QEMU_IMG)
        .args(["info", "-U", "--output=json"])
        .arg(path)
        .output()
        .expect("qemu-img info");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        let at = text.find(&format!("\"{k}\": ")).expect(k) + k.len() + 4;
        text[at..]
            .split([',', '\n'])
            .next()
            .unwrap()
            .trim_matches('"')
            .to_string()
    };
    (field("format"), field("virtual-size").parse().unwrap())
}

fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn dir_pool_and_volumes_with_virsh() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let tmp = TempDir::new("storage-virsh");
    let dir = tmp.0.join("pool");
    let target = dir.to_str().unwrap();
    ok(&uri, &["pool-define-as", "p1", "dir", "--target", target]);
    assert!(fails(&uri, &["pool-start", "p1"]).contains(&format!(
        "cannot open directory '{target}': No such file or directory"
    )));
    ok(&uri, &["pool-build", "p1"]);
    assert!(dir.is_dir());
    ok(&uri, &["pool-start", "p1"]);
    let list = ok(&uri, &["pool-list", "--all"]);
    assert!(list.contains(" p1     active   no"), "{list}");
    let info = ok(&uri, &["pool-info", "p1"]);
    assert!(
        info.contains("State:          running") && info.contains("Capacity:"),
        "{info}"
    );

    ok(&uri, &["vol-create-as", "p1", "r1.img", "10M"]);
    ok(
        &uri,
        &["vol-create-as", "p1", "sp.img", "10M", "--allocation", "0"],
    );
    ok(
        &uri,
        &[
            "vol-create-as",
            "p1",
            "q1.qcow2",
            "20M",
            "--format",
            "qcow2",
        ],
    );
    assert_eq!(allocated(&dir.join("r1.img")), 10 << 20);
    assert_eq!(allocated(&dir.join("sp.img")), 0);
    assert_eq!(image(&dir.join("q1.qcow2")), ("qcow2".into(), 20 << 20));
    let vols = ok(&uri, &["vol-list", "p1", "--details"]);
    assert!(vols.contains("20.00 MiB   196.00 KiB"), "{vols}");
    let xml = ok(&uri, &["vol-dumpxml", "--pool", "p1", "q1.qcow2"]);
    assert!(
        xml.contains("<format type='qcow2'/>") && xml.contains("<mode>0600</mode>"),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("<key>{target}/q1.qcow2</key>")),
        "{xml}"
    );
    assert!(fails(&uri, &["vol-create-as", "p1", "r1.img", "1M"])
        .contains("storage volume 'r1.img' exists already"));

    ok(&uri, &["vol-clone", "--pool", "p1", "q1.qcow2", "q2.qcow2"]);
    assert_eq!(image(&dir.join("q2.qcow2")).0, "qcow2");
    ok(&uri, &["vol-resize", "--pool", "p1", "q1.qcow2", "40M"]);
    assert_eq!(image(&dir.join("q1.qcow2")).1, 40 << 20);
    ok(&uri, &["vol-resize", "--pool", "p1", "sp.img", "20M"]);
    assert!(
        fails(&uri, &["vol-resize", "--pool", "p1", "sp.img", "5M"]).contains(
            "Can't shrink capacity below current capacity unless shrink flag explicitly specified"
        )
    );
    ok(
        &uri,
        &["vol-resize", "--pool", "p1", "sp.img", "5M", "--shrink"],
    );
    assert_eq!(
        std::fs::metadata(dir.join("sp.img")).unwrap().len(),
        5 << 20
    );
    let vi = ok(&uri, &["vol-info", "--pool", "p1", "sp.img"]);
    assert!(
        vi.contains("Capacity:       5.00 MiB") && vi.contains("Allocation:     0.00 B"),
        "{vi}"
    );

    std::fs::write(dir.join("r1.img"), vec![7u8; 4096]).unwrap();
    ok(&uri, &["vol-wipe", "--pool", "p1", "r1.img"]);
    assert!(std::fs::read(dir.join("r1.img"))
        .unwrap()
        .iter()
        .all(|b| *b == 0));
    for v in ["r1.img", "sp.img", "q1.qcow2", "q2.qcow2"] {
        ok(&uri, &["vol-delete", "--pool", "p1", v]);
        assert!(!dir.join(v).exists(), "{v} still there");
    }
    ok(&uri, &["pool-destroy", "p1"]);
    assert!(fails(&uri, &["vol-list", "p1"]).contains("storage pool 'p1' is not active"));
    ok(&uri, &["pool-delete", "p1"]);
    assert!(!dir.exists());
    ok(&uri, &["pool-undefine", "p1"]);
    assert!(fails(&uri, &["pool-info", "p1"])
        .contains("Storage pool not found: no storage pool with matching name 'p1'"));
}

/// The test driver keeps its own storage on the same daemon.
#[test]
fn test_driver_keeps_its_own_storage() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let list = ok(&d.uri("test:///default"), &["pool-list", "--all"]);
    assert!(list.contains("default-pool"), "{list}");
    let list = ok(&d.uri("qemu:///system"), &["pool-list", "--all"]);
    assert!(!list.contains("default-pool"), "{list}");
}

/// No `*.new` leftovers anywhere under `dir`.
fn no_temporaries(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        assert!(!p.to_string_lossy().ends_with(".new"), "{}", p.display());
        if p.is_dir() && !p.is_symlink() {
            no_temporaries(&p);
        }
    }
}

#[test]
fn pools_and_volumes_survive_kill_9() {
    if !peers_ok() {
        return;
    }
    let mut d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let tmp = TempDir::new("storage-kill");
    let (a, b) = (tmp.0.join("a"), tmp.0.join("b"));
    ok(
        &uri,
        &[
            "pool-define-as",
            "ka",
            "dir",
            "--target",
            a.to_str().unwrap(),
        ],
    );
    ok(&uri, &["pool-build", "ka"]);
    ok(&uri, &["pool-start", "ka"]);
    ok(
        &uri,
        &["vol-create-as", "ka", "v.qcow2", "1M", "--format", "qcow2"],
    );
    d.restart(true);
    let vols = ok(&uri, &["vol-list", "ka"]);
    assert!(vols.contains("v.qcow2"), "{vols}");
    // An inactive autostart pool starts with the daemon; a plain inactive one stays down.
    ok(
        &uri,
        &[
            "pool-define-as",
            "kb",
            "dir",
            "--target",
            b.to_str().unwrap(),
        ],
    );
    ok(&uri, &["pool-build", "kb"]);
    ok(&uri, &["pool-autostart", "kb"]);
    ok(&uri, &["pool-destroy", "ka"]);
    std::fs::write(b.join("w.img"), "x").unwrap();
    d.restart(true);
    let list = ok(&uri, &["pool-list", "--all"]);
    assert!(list.contains(" ka     inactive   no"), "{list}");
    assert!(list.contains(" kb     active     yes"), "{list}");
    assert!(ok(&uri, &["vol-list", "kb"]).contains("w.img"));
    ok(&uri, &["vol-create-as", "kb", "x.img", "1M"]);
    d.restart(false);
    assert!(ok(&uri, &["pool-list", "--all"]).contains(" kb     active     yes"));
    assert!(ok(&uri, &["vol-list", "kb"]).contains("x.img"));
    no_temporaries(&d.dir.0.join("state/storage"));
}

#[test]
fn refresh_finds_files_put_in_by_hand() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let tmp = TempDir::new("storage-hand");
    let dir = tmp.0.join("h");
    std::fs::create_dir(&dir).unwrap();
    let target = dir.to_str().unwrap();
    ok(&uri, &["pool-create-as", "hand", "dir", "--target", target]);
    let base = dir.join("base.qcow2");
    let status = Command::new(QEMU_IMG)
        .args([
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            "cluster_size=131072,lazy_refcounts=on",
        ])
        .arg(&base)
        .arg("8M")
        .status()
        .unwrap();
    assert!(status.success());
    let top = dir.join("top.qcow2");
    let status = Command::new(QEMU_IMG)
        .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(&base)
        .arg(&top)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(dir.join("notes.raw"), "hello\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    assert!(!ok(&uri, &["vol-list", "hand"]).contains("base.qcow2"));
    ok(&uri, &["pool-refresh", "hand"]);
    let vols = ok(&uri, &["vol-list", "hand", "--details"]);
    assert!(
        vols.contains(" notes.raw    ") && vols.contains("6.00 B"),
        "{vols}"
    );
    assert!(vols.contains(" sub ") && vols.contains(" dir "), "{vols}");
    let xml = ok(&uri, &["vol-dumpxml", "--pool", "hand", "base.qcow2"]);
    for part in [
        "<capacity unit='bytes'>8388608</capacity>",
        "<compat>1.1</compat>",
        "<clusterSize unit='B'>131072</clusterSize>",
        "<features>\n      <lazy_refcounts/>\n    </features>",
    ] {
        assert!(xml.contains(part), "{part} missing in {xml}");
    }
    let xml = ok(&uri, &["vol-dumpxml", "--pool", "hand", "top.qcow2"]);
    assert!(
        xml.contains(&format!(
            "<backingStore>\n    <path>{}</path>\n    <format type='qcow2'/>",
            base.display()
        )),
        "{xml}"
    );
    // A transient pool is gone once destroyed.
    ok(&uri, &["pool-destroy", "hand"]);
    assert!(fails(&uri, &["pool-info", "hand"]).contains("no storage pool with matching name"));
    assert!(dir.join("base.qcow2").exists());
}

/// An `fs` pool stays mounted and running across `kill -9` of the daemon, and destroy
/// unmounts it.
#[test]
fn fs_pool_survives_kill_9() {
    if !peers_ok() || !require_peer("mkfs.ext4 (e2fsprogs)", have_program("/sbin/mkfs.ext4")) {
        return;
    }
    let tmp = TempDir::new("storage-fskill");
    let Some(lo) = LoopDevice::new(&tmp.0.join("disk.img"), 32 << 20) else {
        require_peer("a free loop device (losetup, root)", false);
        return;
    };
    let mut d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let target = tmp.0.join("mnt");
    let t = target.to_str().unwrap();
    ok(
        &uri,
        &[
            "pool-define-as",
            "fk",
            "fs",
            "--source-dev",
            &lo.dev,
            "--source-format",
            "ext4",
            "--target",
            t,
        ],
    );
    ok(&uri, &["pool-build", "fk", "--overwrite"]);
    ok(&uri, &["pool-start", "fk"]);
    ok(&uri, &["vol-create-as", "fk", "v.img", "1M"]);
    let mounted = || {
        std::fs::read_to_string("/proc/mounts")
            .unwrap()
            .lines()
            .any(|l| l.split(' ').nth(1) == Some(t))
    };
    assert!(mounted());
    d.restart(true);
    assert!(ok(&uri, &["pool-list", "--all"]).contains(" fk     active   no"));
    assert!(ok(&uri, &["vol-list", "fk"]).contains("v.img"));
    ok(&uri, &["pool-destroy", "fk"]);
    assert!(!mounted());
    ok(&uri, &["pool-undefine", "fk"]);
}

/// A `disk` pool on a partitioned loop device: its partitions stay volumes across a
/// `kill -9` of rvirtd, and the kernel's nodes match what parted wrote.
#[test]
fn disk_pool_survives_kill_9() {
    if !peers_ok() || !require_peer("parted", have_program("/usr/sbin/parted")) {
        return;
    }
    let tmp = TempDir::new("storage-diskkill");
    let Some(lo) = LoopDevice::with_partitions(&tmp.0.join("disk.img"), 32 << 20) else {
        require_peer("a free loop device (losetup, root)", false);
        return;
    };
    let base = Path::new(&lo.dev)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let (p1, p2) = (format!("{base}p1"), format!("{base}p2"));
    let mut d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let dev = lo.dev.as_str();
    ok(
        &uri,
        &[
            "pool-define-as",
            "dk",
            "disk",
            "--source-dev",
            dev,
            "--target",
            "/dev",
        ],
    );
    ok(&uri, &["pool-build", "dk"]);
    ok(&uri, &["pool-start", "dk"]);
    ok(&uri, &["vol-create-as", "dk", &p1, "4M"]);
    ok(&uri, &["vol-create-as", "dk", &p2, "2M"]);
    assert!(
        Path::new(&format!("/dev/{p2}")).exists(),
        "the kernel has the partition"
    );
    d.restart(true);
    assert!(ok(&uri, &["pool-list", "--all"]).contains(" dk     active   no"));
    let vols = ok(&uri, &["vol-list", "dk", "--details"]);
    assert!(
        vols.contains(&format!("/dev/{p1}")) && vols.contains(&format!("/dev/{p2}")),
        "{vols}"
    );
    let xml = ok(&uri, &["pool-dumpxml", "dk"]);
    assert!(xml.contains("<freeExtent start="), "{xml}");
    ok(&uri, &["pool-destroy", "dk"]);
    ok(&uri, &["pool-undefine", "dk"]);
}

/// libvirt-python's pool lifecycle and refresh callbacks see every step of a pool, on a
/// connection that only listens (it makes no storage call; another connection does).
#[test]
fn pool_events_reach_python_callbacks() {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import libvirt"])
        .status()
        .is_ok_and(|s| s.success());
    if !require_peer("libvirt-python (python3-libvirt)", ok) {
        return;
    }
    const SCRIPT: &str = r#"
import sys, threading, time, libvirt
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
c = libvirt.open(sys.argv[1])
got = []
c.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
    lambda conn, pool, event, detail, opaque: got.append("%s:%d" % (pool.name(), event)), None)
c.storagePoolEventRegisterAny(None, libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH,
    lambda conn, pool, opaque: got.append("%s:refresh" % pool.name()), None)
c2 = libvirt.open(sys.argv[1])
p = c2.storagePoolDefineXML("<pool type='dir'><name>ev</name><target><path>%s</path></target></pool>" % sys.argv[2], 0)
p.build(0); p.create(0); p.refresh(0); p.destroy(); p.delete(0); p.undefine()
deadline = time.time() + 10
while len(got) < 7 and time.time() < deadline:
    time.sleep(0.05)
print(" ".join(got))
"#;
    let tmp = TempDir::new("storage-events");
    let run = |uri: &str| {
        let out = Command::new("/usr/bin/python3")
            .args(["-c", SCRIPT])
            .arg(uri)
            .arg(tmp.0.join("ev"))
            .output()
            .expect("run python");
        let _ = virsh(uri, &["pool-destroy", "ev"]);
        let _ = virsh(uri, &["pool-undefine", "ev"]);
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let d = Daemon::start("");
    let ours = run(&d.uri("qemu:///system"));
    // defined, created (built), started, refreshed, stopped, deleted, undefined
    assert_eq!(ours, "ev:0 ev:4 ev:2 ev:refresh ev:3 ev:5 ev:1");
    if let Some(l) = rvirt_tests::Libvirtd::start() {
        assert_eq!(
            run(&l.uri("qemu", "system")),
            ours,
            "libvirtd's events differ"
        );
    }
}

/// SIGHUP reads the pool definitions again: one put into the state directory by hand
/// (with its autostart link) is defined and started.
#[test]
fn sighup_loads_new_pool_definitions() {
    if !peers_ok() {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let tmp = TempDir::new("storage-hup");
    let target = tmp.0.join("hup");
    std::fs::create_dir(&target).unwrap();
    // The storage driver is opened (and its state loaded) before the file appears.
    assert!(!ok(&uri, &["pool-list", "--all"]).contains("hup"));
    let pools = d.dir.0.join("state/storage/pools");
    let cfg = pools.join("hup.xml");
    std::fs::write(
        &cfg,
        format!(
            "<pool type='dir'><name>hup</name><target><path>{}</path></target></pool>",
            target.display()
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink(&cfg, pools.join("autostart/hup.xml")).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &d.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut list = String::new();
    while std::time::Instant::now() < deadline {
        list = ok(&uri, &["pool-list", "--all"]);
        if list.contains(" hup    active   yes") {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("pool not loaded on SIGHUP: {list}");
}
