//! Data streams against a real libvirtd 9.0: volume upload and download through
//! rvirt's client (the call, its reply, the STREAM messages and the finish handshake),
//! with an event arriving in the middle of a transfer, then the same through the built
//! rvirsh (`vol-upload`, `vol-download`). The pool is a `dir` pool in a temporary
//! directory, served by libvirtd's storage driver behind a `qemu:///system` connection.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rvirt_core::client::{Connect, StoragePool, StreamStage};
use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;
use rvirt_tests::{require_peer, target_dir, Libvirtd, TempDir};

const MIB: usize = 1024 * 1024;

/// 1 MiB that no shifted copy of itself matches (so offset mistakes show).
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Destroys and undefines the pool (deleting its volumes first) even when a check fails.
struct PoolGuard(StoragePool);

impl Drop for PoolGuard {
    fn drop(&mut self) {
        if let Ok(vols) = self.0.list_all_volumes() {
            for v in vols {
                let _ = v.delete();
            }
        }
        let _ = self.0.destroy();
        let _ = self.0.undefine();
    }
}

fn rvirsh(uri: &str, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(target_dir().join("rvirsh"))
        .arg("-c")
        .arg(uri)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rvirsh");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn setup(lv: &Libvirtd, dir: &Path, tag: &str) -> (Connect, PoolGuard, String) {
    let uri = lv.uri("qemu", "system");
    let c = Connect::open(&uri).expect("open qemu:///system on libvirtd");
    let name = format!("rvirt-streams-{tag}-{}", std::process::id());
    let xml = format!(
        "<pool type='dir'><name>{name}</name><target><path>{}</path></target></pool>",
        dir.display()
    );
    let pool = c.define_storage_pool(&xml).expect("define dir pool");
    let guard = PoolGuard(pool.clone());
    pool.create().expect("start dir pool");
    (c, guard, uri)
}

const VOL_XML: &str = "<volume><name>data.img</name><capacity unit='bytes'>1048576</capacity>\
     <allocation unit='bytes'>0</allocation><target><format type='raw'/></target></volume>";

/// One libvirtd for both parts: a second one as root would fight the first over the
/// system state directories.
#[test]
fn volume_streams_against_libvirtd() {
    let Some(lv) = Libvirtd::start() else {
        return;
    };
    through_client(&lv);
    through_rvirsh(&lv);
}

fn through_client(lv: &Libvirtd) {
    let dir = TempDir::new("streams-pool");
    let (c, guard, _) = setup(lv, &dir.0, "client");
    let vol = guard.0.create_volume(VOL_XML).expect("create raw volume");

    // Whole volume up and back, with the progress reports in order.
    let data = pattern(MIB, 1);
    let mut seen = Vec::new();
    let n = vol
        .upload(0, 0, 0, &data[..], |b| seen.push(b))
        .expect("upload 1 MiB");
    assert_eq!(n, MIB as u64);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "progress not rising");
    assert_eq!(seen.last(), Some(&(MIB as u64)));
    assert!(seen.len() >= 4, "1 MiB should take several messages");
    let on_disk = std::fs::read(dir.0.join("data.img")).expect("read volume file");
    assert!(on_disk == data, "volume file differs from the upload");

    // Download, with an event sent to this connection in the middle of the stream: the
    // event is queued, the stream goes on.
    c.connect_storage_pool_event_register_any(&p::RemoteConnectStoragePoolEventRegisterAnyArgs {
        event_id: 0,
        pool: None,
    })
    .expect("register pool events");
    let other = Connect::open(&lv.uri("qemu", "system")).expect("second connection");
    let ev_name = format!("rvirt-streams-ev-{}", std::process::id());
    let ev_dir = TempDir::new("streams-ev");
    let mut fired = false;
    let mut back = Vec::new();
    let n = vol
        .download(0, 0, 0, &mut back, |_| {
            if !fired {
                fired = true;
                let xml = format!(
                    "<pool type='dir'><name>{ev_name}</name><target><path>{}</path></target></pool>",
                    ev_dir.0.display()
                );
                let p = other.define_storage_pool(&xml).expect("define second pool");
                p.undefine().expect("undefine second pool");
            }
        })
        .expect("download 1 MiB");
    assert_eq!(n, MIB as u64);
    assert!(
        back == data,
        "downloaded bytes differ from the uploaded ones"
    );
    let ev = c
        .next_event(Duration::from_secs(5))
        .expect("poll events")
        .expect("the pool event sent during the download");
    assert_eq!(ev.program, p::REMOTE_PROGRAM_NUMBER);

    // Offset and length: 4 KiB at 64 KiB.
    let patch = pattern(8192, 2);
    let n = vol
        .upload(65536, 4096, 0, &patch[..4096], |_| {})
        .expect("upload with offset and length");
    assert_eq!(n, 4096);
    let mut expected = data.clone();
    expected[65536..65536 + 4096].copy_from_slice(&patch[..4096]);
    let mut part = Vec::new();
    vol.download(65536 - 100, 4296, 0, &mut part, |_| {})
        .expect("download with offset and length");
    assert!(
        part == expected[65536 - 100..65536 + 4196],
        "ranged download"
    );
    let mut tail = Vec::new();
    let n = vol
        .download(MIB as u64 - 1000, 0, 0, &mut tail, |_| {})
        .expect("download the tail");
    assert_eq!(n, 1000);
    assert!(tail == expected[MIB - 1000..]);
    let mut all = Vec::new();
    vol.download(0, 0, 0, &mut all, |_| {})
        .expect("download all");
    assert!(all == expected, "whole volume after the ranged upload");

    // More data than `length`: the server fails the stream (during the data or at the
    // finish handshake, depending on timing), as libvirt's own client sees it.
    let e = vol
        .upload(0, 4096, 0, &data[..], |_| {})
        .expect_err("upload longer than --length");
    assert_ne!(e.stage, StreamStage::Open, "{e:?}");
    assert!(e.error.text().contains("No space left on device"), "{e:?}");
    let mut all = Vec::new();
    vol.download(0, 0, 0, &mut all, |_| {})
        .expect("download after a failed upload");
    assert!(
        all[4096..] == expected[4096..],
        "bytes past the length untouched"
    );
    assert!(all[..4096] == data[..4096]);

    // Errors from the opening call come back as the Open stage; the connection stays usable.
    let gone = guard
        .0
        .create_volume(&VOL_XML.replace("data.img", "gone.img"))
        .expect("create a second volume");
    gone.delete().expect("delete it");
    let e = gone
        .upload(0, 0, 0, &patch[..], |_| {})
        .expect_err("upload to a deleted volume");
    assert_eq!(e.stage, StreamStage::Open, "{e:?}");
    assert!(!e.error.text().is_empty());
    let e = gone
        .download(0, 0, 0, std::io::sink(), |_| {})
        .expect_err("download from a deleted volume");
    assert_eq!(e.stage, StreamStage::Open, "{e:?}");
    assert_eq!(
        vol.info().expect("info after failed streams").capacity,
        MIB as u64
    );
    drop(guard);
}

fn through_rvirsh(lv: &Libvirtd) {
    let bin = target_dir().join("rvirsh");
    if !require_peer("rvirsh (cargo build -p rvirsh)", bin.exists()) {
        return;
    }
    let dir = TempDir::new("streams-pool-cli");
    let files = TempDir::new("streams-files");
    let (_c, guard, uri) = setup(lv, &dir.0, "cli");
    guard.0.create_volume(VOL_XML).expect("create raw volume");
    let pool = guard.0.name().to_string();
    let path = |n: &str| -> PathBuf { files.0.join(n) };
    let s = |p: &PathBuf| p.display().to_string();

    let data = pattern(MIB, 3);
    std::fs::write(path("in.bin"), &data).unwrap();
    let (out, err, rc) = rvirsh(
        &uri,
        &[
            "vol-upload",
            "data.img",
            &s(&path("in.bin")),
            "--pool",
            &pool,
        ],
    );
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        ("\n", "", 0),
        "vol-upload"
    );
    let (out, err, rc) = rvirsh(
        &uri,
        &[
            "vol-download",
            "--pool",
            &pool,
            "data.img",
            &s(&path("out.bin")),
        ],
    );
    assert_eq!(
        (out.as_str(), err.as_str(), rc),
        ("\n", "", 0),
        "vol-download"
    );
    assert!(std::fs::read(path("out.bin")).unwrap() == data);

    // By path, with --offset/--length; an existing file is truncated.
    let vol_path = dir.0.join("data.img").display().to_string();
    let patch = pattern(10_000, 4);
    std::fs::write(path("patch.bin"), &patch[..5000]).unwrap();
    let (_, err, rc) = rvirsh(
        &uri,
        &[
            "vol-upload",
            &vol_path,
            &s(&path("patch.bin")),
            "--offset",
            "4096",
            "--length",
            "5000",
        ],
    );
    assert_eq!((err.as_str(), rc), ("", 0), "vol-upload --offset --length");
    let (_, err, rc) = rvirsh(
        &uri,
        &[
            "vol-download",
            &vol_path,
            &s(&path("out.bin")),
            "--offset",
            "4000",
            "--length",
            "5200",
        ],
    );
    assert_eq!(
        (err.as_str(), rc),
        ("", 0),
        "vol-download --offset --length"
    );
    let mut expected = data.clone();
    expected[4096..4096 + 5000].copy_from_slice(&patch[..5000]);
    assert!(std::fs::read(path("out.bin")).unwrap() == expected[4000..9200]);

    // virsh's errors and exit codes.
    let (_, err, rc) = rvirsh(
        &uri,
        &[
            "vol-upload",
            "data.img",
            &s(&path("missing")),
            "--pool",
            &pool,
        ],
    );
    assert_eq!(rc, 1);
    assert_eq!(err, format!("error: cannot read {}\n", s(&path("missing"))));
    let (_, err, rc) = rvirsh(
        &uri,
        &[
            "vol-upload",
            "data.img",
            &s(&path("in.bin")),
            "--pool",
            &pool,
            "--offset",
            "-1",
        ],
    );
    assert_eq!(rc, 1);
    assert!(
        err.starts_with(
            "error: Numeric value '-1' for <offset> option is malformed or out of range"
        ),
        "{err}"
    );
    std::fs::write(path("patch.bin"), &patch).unwrap();
    let (_, err, rc) = rvirsh(
        &uri,
        &[
            "vol-upload",
            &vol_path,
            &s(&path("patch.bin")),
            "--length",
            "5000",
        ],
    );
    assert_eq!(rc, 1);
    assert!(
        err.starts_with("error: cannot send data to volume ")
            || err.starts_with("error: cannot close volume "),
        "{err}"
    );
    let ro = [
        &["-r", "-c", uri.as_str()][..],
        &["vol-download", "data.img"],
    ]
    .concat();
    let out = Command::new(target_dir().join("rvirsh"))
        .args(&ro)
        .args([s(&path("ro.bin")), "--pool".into(), pool.clone()])
        .stdin(Stdio::null())
        .output()
        .expect("run rvirsh -r");
    let (err, rc) = (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    );
    assert_eq!(rc, 1);
    assert!(
        err.starts_with("error: cannot download from volume data.img\nerror: "),
        "{err}"
    );
    assert!(
        !path("ro.bin").exists(),
        "a file vol-download created stays after failure"
    );
    drop(guard);
}
