//! The storage module against a real libvirtd's storage driver: the same sequence of
//! pool and volume operations through the same `virsh`, on a directory pool at the
//! same path, gives the same output on both daemons: XML (file times masked), sizes,
//! listings, and the same errors for bad requests. The file system's own figures
//! (pool capacity, allocation, available) change under any running host, so only
//! their presence is compared.

use std::path::Path;
use std::process::{Command, Stdio};

use rvirt_tests::{have_program, require_peer, Daemon, Libvirtd, LoopDevice, TempDir};

const VIRSH: &str = "/usr/bin/virsh";
const QEMU_IMG: &str = "/usr/bin/qemu-img";
const POOL: &str = "rvirtdiffpool";
/// A second pool on the same target, which libvirt refuses.
const OTHER: &str = "rvirtdiffpool2";
/// A transient pool.
const TRANSIENT: &str = "rvirtdifftrans";
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

/// What is compared: file times masked, and the file system's figures in pool output
/// unless `fs_figures` (a pool on its own small file system keeps them steady).
fn mask(text: &str, fs_figures: bool) -> String {
    let mut t = text.to_string();
    for tag in ["atime", "mtime", "ctime", "btime"] {
        t = mask_element(&t, tag);
    }
    if t.contains("<storagepoolCapabilities>") {
        // Which types each daemon runs differs; the layout and formats must not.
        t = t.replace("supported='no'", "supported='*'");
        t = t.replace("supported='yes'", "supported='*'");
    } else if t.contains("<pool type=") && !fs_figures {
        for tag in ["capacity", "allocation", "available"] {
            t = mask_element(&t, tag);
        }
    }
    t.lines()
        .map(|l| match l.split_once(':') {
            Some((k @ ("Capacity" | "Allocation" | "Available"), _))
                if t.contains("UUID:") && !fs_figures =>
            {
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
    let mut iso = vec![0u8; 64 << 10];
    iso[32769..32774].copy_from_slice(b"CD001");
    std::fs::write(dir.join("hand.iso"), iso).unwrap();
    std::fs::create_dir(dir.join("subdir")).unwrap();
    std::fs::write(dir.join("left.over"), "x").unwrap();
}

/// The sequence, one virsh command line per entry (`!hand` puts files in by hand,
/// `!clean` empties the pool directory). Temporary paths hold no spaces.
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
            "trans.xml",
            format!("<pool type='dir'><name>{TRANSIENT}</name><uuid>7b1e4c9a-2f3d-4e5a-9b6c-0d1e2f3a4b5d</uuid><target><path>{p}-t</path><permissions><mode>0750</mode><owner>1000</owner><group>1000</group></permissions></target></pool>"),
        ),
        (
            "conv.xml",
            "<volume><name>conv.qcow2</name><capacity unit='M'>10</capacity><target><format type='qcow2'/></target></volume>".into(),
        ),
        ("up.bin", "uploaded through a stream\n".into()),
        (
            "c.xml",
            "<volume><name>c.qcow2</name><capacity unit='M'>8</capacity><target><format type='qcow2'/><compat>1.1</compat><clusterSize unit='KiB'>128</clusterSize><features><lazy_refcounts/></features></target></volume>".into(),
        ),
    ];
    for (name, text) in &docs {
        std::fs::write(tmp.join(name), text).unwrap();
    }
    let doc = |n: &str| tmp.join(n).display().to_string();
    let (pool_xml, dup_xml, perm_xml, c_xml) = (
        doc("pool.xml"),
        doc("dup.xml"),
        doc("perm.xml"),
        doc("c.xml"),
    );
    let conv_xml = doc("conv.xml");
    let (up, down) = (doc("up.bin"), doc("down.bin"));
    let vd = format!("vol-dumpxml --pool {POOL}");
    let vi = format!("vol-info --pool {POOL}");
    let vr = format!("vol-resize --pool {POOL}");
    let script = [
        "pool-capabilities".to_string(),
        "find-storage-pool-sources dir".to_string(),
        "find-storage-pool-sources fs".to_string(),
        "find-storage-pool-sources bogus".to_string(),
        format!("pool-define {pool_xml}"),
        format!("pool-define {dup_xml}"),
        format!("pool-define-as {OTHER} dir --target {p}"),
        format!("pool-start {POOL}"),
        format!("pool-build {POOL} --overwrite --no-overwrite"),
        format!("pool-build {POOL} --no-overwrite"),
        format!("pool-build {POOL}"),
        format!("pool-dumpxml {POOL}"),
        format!("pool-start {POOL}"),
        format!("pool-start {POOL}"),
        format!("pool-info {POOL}"),
        format!("pool-dumpxml {POOL}"),
        format!("pool-dumpxml --inactive {POOL}"),
        format!("pool-define {pool_xml}"),
        format!("pool-dumpxml --inactive {POOL}"),
        format!("pool-uuid {POOL}"),
        format!("pool-name {UUID}"),
        format!("pool-undefine {POOL}"),
        format!("vol-create-as {POOL} r1.img 10M"),
        format!("vol-create-as {POOL} sp.img 10M --allocation 0"),
        format!("vol-create-as {POOL} q1.qcow2 20M --format qcow2"),
        format!("vol-create-as {POOL} q2.qcow2 20M --format qcow2 --backing-vol {p}/q1.qcow2 --backing-vol-format qcow2"),
        format!("vol-create-as {POOL} pm.qcow2 10M --format qcow2 --prealloc-metadata"),
        format!("vol-create {POOL} {perm_xml}"),
        format!("vol-create {POOL} {c_xml}"),
        format!("vol-create-as {POOL} pa.img 10M --allocation 3M"),
        format!("{vi} pa.img"),
        format!("vol-upload --pool {POOL} pa.img {up}"),
        format!("vol-upload --pool {POOL} pa.img {up} --offset 4096 --length 4"),
        format!("vol-upload --pool {POOL} pa.img {up} --sparse"),
        format!("vol-upload --pool {POOL} nosuch {up}"),
        format!("vol-upload --pool {POOL} pa.img /nonexistent/file"),
        format!("{vi} pa.img"),
        format!("vol-upload --pool {POOL} sp.img {up} --offset 8192 --sparse"),
        format!("vol-download --pool {POOL} sp.img {down} --offset 8190 --length 10"),
        "!down".to_string(),
        format!("vol-download --pool {POOL} sp.img {down} --sparse"),
        "!down".to_string(),
        format!("vol-download --pool {POOL} nosuch {down}"),
        format!("vol-create-from {POOL} {conv_xml} --inputpool {POOL} r1.img"),
        format!("{vi} conv.qcow2"),
        format!("{vd} conv.qcow2"),
        format!("vol-create-as {POOL} r1.img 10M"),
        format!("vol-create-as {POOL} big.img 100000T"),
        format!("vol-create-as {POOL} bad.img 1M --format bogus"),
        "vol-create-as nosuchpool x.img 1M".to_string(),
        format!("vol-list {POOL} --details"),
        format!("{vd} r1.img"),
        format!("{vd} sp.img"),
        format!("{vd} q1.qcow2"),
        format!("{vd} q2.qcow2"),
        format!("{vd} pm.qcow2"),
        format!("{vd} perm.img"),
        format!("{vd} c.qcow2"),
        format!("{vi} nosuch"),
        format!("{vi} q1.qcow2 --physical"),
        format!("vol-info {p}/q1.qcow2"),
        "vol-info /nonexistent/x.img".to_string(),
        format!("vol-key --pool {POOL} q1.qcow2"),
        format!("vol-path --pool {POOL} q1.qcow2"),
        format!("vol-pool {p}/q1.qcow2"),
        format!("vol-clone --pool {POOL} r1.img r1c.img"),
        format!("vol-clone --pool {POOL} c.qcow2 cc.qcow2"),
        format!("vol-clone --pool {POOL} r1.img rl.img --reflink"),
        format!("vol-list {POOL}"),
        format!("{vd} r1c.img"),
        format!("{vd} cc.qcow2"),
        format!("{vr} sp.img 20M"),
        format!("{vr} sp.img 5M"),
        format!("{vr} sp.img 5M --shrink"),
        format!("{vr} r1.img 5M --shrink"),
        format!("{vr} perm.img 4M --allocate"),
        format!("{vr} perm.img 1M --delta"),
        format!("{vr} q1.qcow2 40M"),
        format!("{vr} sp.img 1M --delta --shrink"),
        format!("{vi} sp.img"),
        format!("{vi} perm.img"),
        format!("{vi} q1.qcow2"),
        format!("vol-wipe --pool {POOL} r1c.img"),
        format!("{vi} r1c.img"),
        format!("vol-wipe --pool {POOL} cc.qcow2"),
        format!("vol-wipe --pool {POOL} r1c.img --algorithm dod"),
        format!("vol-wipe --pool {POOL} r1c.img --algorithm trim"),
        format!("vol-wipe --pool {POOL} subdir"),
        format!("{vi} cc.qcow2"),
        "!hand".to_string(),
        format!("pool-refresh {POOL}"),
        format!("vol-list {POOL} --details"),
        format!("{vd} hand.qcow2"),
        format!("{vd} hand.raw"),
        format!("{vd} hand.iso"),
        format!("{vd} subdir"),
        format!("{vd} q1.qcow2"),
        format!("vol-delete --pool {POOL} nosuch"),
        format!("pool-create {} --build", doc("trans.xml")),
        format!("pool-dumpxml {TRANSIENT}"),
        "pool-list --transient".to_string(),
        format!("pool-autostart {TRANSIENT}"),
        format!("pool-undefine {TRANSIENT}"),
        format!("pool-destroy {TRANSIENT}"),
        format!("pool-info {TRANSIENT}"),
        format!("pool-autostart {POOL}"),
        "pool-list --all --type dir".to_string(),
        format!("pool-autostart --disable {POOL}"),
        format!("pool-destroy {POOL}"),
        format!("pool-info {POOL}"),
        format!("vol-list {POOL}"),
        format!("pool-delete {POOL}"),
        "!clean".to_string(),
        format!("pool-delete {POOL}"),
        format!("pool-undefine {POOL}"),
        format!("pool-info {POOL}"),
    ];
    script
        .iter()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Runs `steps` on `uri`; the pool directory starts out missing.
fn run(uri: &str, tmp: &Path, steps: &[Vec<String>], fs_figures: bool) -> Vec<(String, String)> {
    let pool = tmp.join("pool");
    cleanup(uri, &pool);
    let _ = std::fs::remove_dir_all(&pool);
    let mut out = Vec::new();
    for step in steps {
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
            "!mounted" => mounted(&pool).to_string(),
            "!down" => file_summary(&tmp.join("down.bin")),
            _ => mask(&virsh(uri, step), fs_figures),
        };
        out.push((line, text));
    }
    cleanup(uri, &pool);
    let _ = std::fs::remove_dir_all(&pool);
    let _ = std::fs::remove_dir_all(tmp.join("pool-t"));
    out
}

/// A downloaded file: its size, its allocation and a hash of its bytes.
fn file_summary(path: &Path) -> String {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::MetadataExt;
    let data = std::fs::read(path).unwrap_or_default();
    let blocks = std::fs::metadata(path).map_or(0, |m| m.blocks() * 512);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    let shown = match data.len() {
        0..=64 => format!(" {:?}", String::from_utf8_lossy(&data)),
        _ => String::new(),
    };
    format!(
        "{} bytes, {blocks} allocated, hash {:x}{shown}",
        data.len(),
        h.finish()
    )
}

/// Whether something is mounted on `path`.
fn mounted(path: &Path) -> bool {
    let p = path.display().to_string();
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(p.as_str()))
}

/// Leaves nothing of the pools defined (the oracle's definitions live in the host's
/// /etc/libvirt) and nothing mounted on the pool directory.
fn cleanup(uri: &str, pool: &Path) {
    for name in [POOL, OTHER, TRANSIENT] {
        for cmd in ["pool-destroy", "pool-undefine"] {
            let _ = virsh(uri, &[cmd.to_string(), name.to_string()]);
        }
    }
    if mounted(pool) {
        let _ = Command::new("umount").arg(pool).status();
    }
}

/// Both daemons' outputs, step by step; panics listing every difference.
/// (`RVIRT_DIFF_SHOW=1` prints every step's output, to read what was compared.)
fn assert_same(theirs: &[(String, String)], ours: &[(String, String)]) {
    if std::env::var_os("RVIRT_DIFF_SHOW").is_some() {
        for (line, o) in ours {
            eprintln!("== virsh {line}\n{o}");
        }
    }
    let mut diffs = Vec::new();
    for ((line, t), (_, o)) in theirs.iter().zip(ours) {
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

#[test]
fn dir_pool_sequence_matches_libvirtd() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer("qemu-img (qemu-utils)", have_program(QEMU_IMG))
    {
        return;
    }
    let tmp = TempDir::new("storage-diff");
    let script = steps(&tmp.0);
    let theirs = {
        let Some(l) = Libvirtd::start() else {
            return;
        };
        run(&l.uri("qemu", "system"), &tmp.0, &script, false)
    };
    let d = Daemon::start("");
    let ours = run(&d.uri("qemu:///system"), &tmp.0, &script, false);
    assert_same(&theirs, &ours);
}

/// An `fs` pool on a loop device: mkfs at build (refused over an existing file system
/// without `--overwrite`), mount at start, umount at destroy; sizes of the small file
/// system compared as they are.
fn fs_steps(dev: &str, tmp: &Path) -> Vec<Vec<String>> {
    let p = tmp.join("pool").display().to_string();
    let xml = tmp.join("fs.xml");
    std::fs::write(
        &xml,
        format!("<pool type='fs'><name>{POOL}</name><uuid>{UUID}</uuid><source><device path='{dev}'/><format type='ext4'/></source><target><path>{p}</path></target></pool>"),
    )
    .unwrap();
    let vd = format!("vol-dumpxml --pool {POOL}");
    let script = [
        format!("pool-define {}", xml.display()),
        format!("pool-dumpxml {POOL}"),
        format!("pool-build {POOL} --no-overwrite"),
        "!mounted".to_string(),
        format!("pool-build {POOL} --no-overwrite"),
        format!("pool-start {POOL}"),
        "!mounted".to_string(),
        format!("pool-start {POOL}"),
        format!("pool-info {POOL}"),
        format!("pool-dumpxml {POOL}"),
        format!("vol-create-as {POOL} r.img 4M"),
        format!("vol-create-as {POOL} q.qcow2 8M --format qcow2"),
        format!("pool-dumpxml {POOL}"),
        format!("vol-list {POOL} --details"),
        format!("{vd} r.img"),
        format!("{vd} lost+found"),
        format!("pool-refresh {POOL}"),
        format!("pool-info {POOL}"),
        format!("vol-delete --pool {POOL} r.img"),
        format!("vol-delete --pool {POOL} q.qcow2"),
        format!("pool-destroy {POOL}"),
        "!mounted".to_string(),
        format!("pool-info {POOL}"),
        format!("pool-build {POOL} --overwrite"),
        format!("pool-start {POOL}"),
        format!("vol-list {POOL}"),
        format!("pool-destroy {POOL}"),
        format!("pool-delete {POOL}"),
        format!("pool-undefine {POOL}"),
    ];
    script
        .iter()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn fs_pool_on_a_loop_device_matches_libvirtd() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer("mkfs.ext4 (e2fsprogs)", have_program("/sbin/mkfs.ext4"))
    {
        return;
    }
    let tmp = TempDir::new("storage-fs");
    let Some(lo) = LoopDevice::new(&tmp.0.join("disk.img"), 64 << 20) else {
        require_peer("a free loop device (losetup, root)", false);
        return;
    };
    let script = fs_steps(&lo.dev, &tmp.0);
    lo.blank();
    let theirs = {
        let Some(l) = Libvirtd::start() else {
            return;
        };
        run(&l.uri("qemu", "system"), &tmp.0, &script, true)
    };
    lo.blank();
    let d = Daemon::start("");
    let ours = run(&d.uri("qemu:///system"), &tmp.0, &script, true);
    assert_same(&theirs, &ours);
}

/// A `disk` pool on a loop device with partition scanning: build (the default `dos`
/// label, then `gpt`), refresh, partitions made and deleted, free extents, errors.
fn disk_steps(dev: &str, tmp: &Path) -> Vec<Vec<String>> {
    let base = Path::new(dev).file_name().unwrap().to_str().unwrap();
    let part = |n: u32| format!("{base}p{n}");
    let (dos, gpt, sep) = (
        tmp.join("dos.xml"),
        tmp.join("gpt.xml"),
        tmp.join("sep.xml"),
    );
    std::fs::write(
        &sep,
        format!("<pool type='disk'><name>{TRANSIENT}</name><uuid>7b1e4c9a-2f3d-4e5a-9b6c-0d1e2f3a4b5f</uuid><source><device path='{dev}' part_separator='yes'/><format type='dos'/></source><target><path>/dev</path></target></pool>"),
    )
    .unwrap();
    let up = tmp.join("up.bin");
    std::fs::write(&up, "uploaded to a partition\n").unwrap();
    let (up, down) = (up.display(), tmp.join("down.bin").display().to_string());
    std::fs::write(
        &dos,
        format!("<pool type='disk'><name>{POOL}</name><uuid>{UUID}</uuid><source><device path='{dev}'/></source><target><path>/dev</path></target></pool>"),
    )
    .unwrap();
    std::fs::write(
        &gpt,
        format!("<pool type='disk'><name>{OTHER}</name><uuid>7b1e4c9a-2f3d-4e5a-9b6c-0d1e2f3a4b5e</uuid><source><device path='{dev}'/><format type='gpt'/></source><target><path>/dev</path></target></pool>"),
    )
    .unwrap();
    let vd = format!("vol-dumpxml --pool {POOL}");
    let script = [
        format!("pool-define {}", dos.display()),
        format!("pool-start {POOL}"),
        format!("pool-build {POOL} --overwrite --no-overwrite"),
        format!("pool-build {POOL}"),
        format!("pool-build {POOL}"),
        format!("pool-start {POOL}"),
        format!("pool-info {POOL}"),
        format!("pool-dumpxml {POOL}"),
        format!("vol-create-as {POOL} {} 10M", part(1)),
        format!("vol-create-as {POOL} {} 7M", part(2)),
        format!("vol-create-as {POOL} {} 3M", part(3)),
        format!("vol-create-as {POOL} {} 3M", part(4)),
        format!("vol-create-as {POOL} {} 3M", part(5)),
        format!("vol-list {POOL} --details"),
        format!("pool-dumpxml {POOL}"),
        format!("{vd} {}", part(2)),
        format!("vol-info --pool {POOL} {}", part(1)),
        format!("vol-upload --pool {POOL} {} {up}", part(1)),
        format!("vol-download --pool {POOL} {} {down} --length 24", part(1)),
        "!down".to_string(),
        format!("pool-info {POOL}"),
        format!("vol-resize --pool {POOL} {} 20M", part(3)),
        format!("vol-wipe --pool {POOL} {}", part(3)),
        format!("vol-clone --pool {POOL} {} {}", part(3), part(5)),
        format!("vol-info --pool {POOL} {}", part(3)),
        format!("vol-delete --pool {POOL} {}", part(4)),
        format!("vol-list {POOL} --details"),
        format!("pool-dumpxml {POOL}"),
        format!("vol-create-as {POOL} {} 200M", part(4)),
        format!("pool-refresh {POOL}"),
        format!("pool-info {POOL}"),
        format!("pool-destroy {POOL}"),
        format!("pool-dumpxml {POOL}"),
        format!("pool-undefine {POOL}"),
        format!("pool-define {}", gpt.display()),
        format!("pool-build {OTHER} --overwrite"),
        format!("pool-start {OTHER}"),
        format!("pool-info {OTHER}"),
        format!("vol-list {OTHER}"),
        format!("vol-create-as {OTHER} {} 10M", part(1)),
        format!("vol-create-as {OTHER} {} 7M --format linux", part(2)),
        format!("vol-create-as {OTHER} {} 5M --format extended", part(3)),
        format!("vol-list {OTHER} --details"),
        format!("pool-dumpxml {OTHER}"),
        format!("vol-delete --pool {OTHER} {}", part(1)),
        format!("vol-create-as {OTHER} {} 3M", part(3)),
        format!("vol-list {OTHER} --details"),
        format!("pool-destroy {OTHER}"),
        format!("pool-undefine {OTHER}"),
        format!("pool-create {} --build --overwrite", sep.display()),
        format!("pool-dumpxml {TRANSIENT}"),
        format!("vol-create-as {TRANSIENT} {} 5M", part(1)),
        format!("vol-create-as {TRANSIENT} {} 5M --format linux", part(2)),
        format!("vol-create-as {TRANSIENT} {} 5M --format extended", part(2)),
        format!("vol-upload --pool {TRANSIENT} {} {up}", part(1)),
        format!("vol-clone --pool {TRANSIENT} {} {}", part(1), part(3)),
        format!(
            "vol-download --pool {TRANSIENT} {} {down} --length 24",
            part(3)
        ),
        "!down".to_string(),
        format!("vol-list {TRANSIENT} --details"),
        format!("vol-delete --pool {TRANSIENT} {}", part(1)),
        format!("vol-list {TRANSIENT} --details"),
        format!("pool-destroy {TRANSIENT}"),
    ];
    script
        .iter()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Zeroes the whole device, so that neither a partition table nor a backup GPT is left.
fn zero_device(dev: &str, size: usize) {
    std::fs::write(dev, vec![0u8; size]).expect("zero the loop device");
    let _ = Command::new("partx").args(["-d", dev]).status();
}

#[test]
fn disk_pool_on_a_loop_device_matches_libvirtd() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer("parted", have_program("/usr/sbin/parted"))
    {
        return;
    }
    let tmp = TempDir::new("storage-disk");
    let size = 100 << 20;
    let Some(lo) = LoopDevice::with_partitions(&tmp.0.join("disk.img"), size as u64) else {
        require_peer("a free loop device (losetup, root)", false);
        return;
    };
    let script = disk_steps(&lo.dev, &tmp.0);
    zero_device(&lo.dev, size);
    let theirs = {
        let Some(l) = Libvirtd::start() else {
            return;
        };
        run(&l.uri("qemu", "system"), &tmp.0, &script, true)
    };
    zero_device(&lo.dev, size);
    let d = Daemon::start("");
    let ours = run(&d.uri("qemu:///system"), &tmp.0, &script, true);
    assert_same(&theirs, &ours);
}

/// Volume groups made for a test on its loop devices; removed (with their physical
/// volumes) on drop, before the loop devices go.
struct Groups {
    vgs: Vec<String>,
    pvs: Vec<String>,
}

impl Drop for Groups {
    fn drop(&mut self) {
        for vg in &self.vgs {
            let _ = Command::new("vgremove").args(["-q", "-f", vg]).status();
        }
        for pv in &self.pvs {
            let _ = Command::new("pvremove").args(["-q", pv]).status();
        }
    }
}

fn lvm(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .expect("run lvm");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `find-storage-pool-sources logical` (libvirt runs vgscan and pvs; nothing needs
/// device-mapper) on two groups made on loop devices, one over two devices, and a
/// physical volume in no group: the same `<sources>` from both daemons.
#[test]
fn logical_sources_are_found_as_libvirtd_finds_them() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH))
        || !require_peer("lvm2 (pvcreate)", have_program("/sbin/pvcreate"))
    {
        return;
    }
    let tmp = TempDir::new("storage-lvsrc");
    let loops: Vec<LoopDevice> = (0..4)
        .filter_map(|i| LoopDevice::new(&tmp.0.join(format!("pv{i}.img")), 16 << 20))
        .collect();
    if loops.len() < 4 {
        require_peer("four free loop devices (losetup, root)", false);
        return;
    }
    for l in &loops {
        l.blank();
    }
    let devs: Vec<&str> = loops.iter().map(|l| l.dev.as_str()).collect();
    let (a, b) = (
        format!("rvsrc{}a", std::process::id()),
        format!("rvsrc{}b", std::process::id()),
    );
    let mut groups = Groups {
        vgs: Vec::new(),
        pvs: Vec::new(),
    };
    for d in &devs {
        lvm(&["pvcreate", "-q", "-ff", "-y", d]);
        groups.pvs.push(d.to_string());
    }
    lvm(&["vgcreate", "-q", &a, devs[0], devs[2]]);
    groups.vgs.push(a.clone());
    lvm(&["vgcreate", "-q", &b, devs[3]]);
    groups.vgs.push(b.clone());
    // devs[1] stays a physical volume in no group: not a source.
    // A start checks the group and the devices first (then `vgchange` would need
    // device-mapper, which this machine lacks).
    let starts = [
        ("rvlv1", a.as_str(), devs[1]),
        ("rvlv2", "rvnosuchvg", devs[0]),
    ];
    let ask = |uri: &str| {
        let mut out = virsh(uri, &["find-storage-pool-sources".into(), "logical".into()]);
        for (name, vg, dev) in starts {
            for cmd in [
                vec![
                    "pool-define-as",
                    name,
                    "logical",
                    "--source-name",
                    vg,
                    "--source-dev",
                    dev,
                ],
                vec!["pool-start", name],
                vec!["pool-undefine", name],
            ] {
                out += &virsh(uri, &cmd.iter().map(|c| c.to_string()).collect::<Vec<_>>());
            }
        }
        out
    };
    let theirs = {
        let Some(l) = Libvirtd::start() else {
            return;
        };
        ask(&l.uri("qemu", "system"))
    };
    let d = Daemon::start("");
    let ours = ask(&d.uri("qemu:///system"));
    let want = format!(
        "<source>\n    <device path='{}'/>\n    <device path='{}'/>\n    <name>{a}</name>\n    \
         <format type='lvm2'/>\n  </source>",
        devs[0], devs[2]
    );
    assert!(theirs.contains(&want), "libvirtd:\n{theirs}");
    assert!(theirs.contains(&format!("<name>{b}</name>")), "{theirs}");
    assert!(!theirs.contains(&format!("path='{}'", devs[1])), "{theirs}");
    for want in [
        format!("cannot find any matching source devices for logical volume group '{a}'"),
        "cannot find logical volume group name 'rvnosuchvg'".to_string(),
    ] {
        assert!(theirs.contains(&want), "{want}\n{theirs}");
    }
    assert_eq!(theirs, ours, "libvirtd (left) and rvirtd (right) differ");
}
