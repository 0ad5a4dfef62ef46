//! Data streams served by rvirtd through the driver module ABI (docs/abi.md "Streams"):
//! volume upload and download on the test driver's `test:///default` through rvirt's
//! client (remote, and embedded driving the module in-process), the real `virsh` and
//! libvirt-python. Raw-frame checks are in `streams_rvirtd_wire.rs`.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use rvirt_core::client::{Connect, StreamStage};
use rvirt_tests::streams::*;
use rvirt_tests::virsh::{run_with, VIRSH};
use rvirt_tests::{have_program, require_peer, target_dir, Daemon, TempDir};

const PYTHON: &str = "/usr/bin/python3";

/// Upload then download through rvirt's client: identical bytes, ranges honoured, the
/// allocation follows the data. Then the same in-process on an embedded connection.
#[test]
fn rvirt_client_upload_and_download_round_trip() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    for (c, name) in [
        (c, "rt-remote.img"),
        (
            Connect::open("test:///default").expect("embedded"),
            "rt-embedded.img",
        ),
    ] {
        let v = create_vol(&c, name, 8 * MIB);
        let data = pattern(3 * MIB + 12_345, 7);
        let sent = v.upload(0, 0, 0, &data[..], |_| {}).expect("upload");
        assert_eq!(sent, data.len() as u64);
        let back = download_all(&v, 0, 0, 0);
        assert_eq!(back.len(), 8 * MIB, "a download runs to the capacity");
        assert!(back[..data.len()] == data[..], "{name}: bytes differ");
        assert!(back[data.len()..].iter().all(|&b| b == 0));
        let part = download_all(&v, 1000, 70_000, 0);
        assert!(part[..] == data[1000..71_000], "{name}: range differs");
        let info = v.info().expect("info");
        assert_eq!(info.allocation, (3 * MIB + 65_536) as u64, "{name}");
        // An upload at an offset overwrites only its range.
        v.upload(MIB as u64, 0, 0, &[0xAAu8; 10][..], |_| {})
            .expect("upload at offset");
        let back = download_all(&v, MIB as u64 - 1, 12, 0);
        assert_eq!(back[0], data[MIB - 1]);
        assert_eq!(&back[1..11], &[0xAA; 10]);
        assert_eq!(back[11], data[MIB + 10]);
        v.delete().expect("delete");
    }
}

/// The test driver's upload past the requested length and a volume deleted during a
/// download both fail the stream with the module's error, and the daemon serves on.
#[test]
fn module_errors_mid_stream_reach_the_client() {
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    let c = Connect::open(&uri).expect("open");
    let v = create_vol(&c, "err.img", 16 * MIB);
    let data = pattern(2 * MIB, 3);
    let e = v
        .upload(0, MIB as u64, 0, &data[..], |_| {})
        .expect_err("more than the length");
    assert_ne!(e.stage, StreamStage::Open);
    assert!(e.error.text().contains("longer than"), "{}", e.error.text());
    let other = Connect::open(&uri).expect("second client");
    let doomed = pool(&other).volume_by_name("err.img").expect("lookup");
    let mut deleted = false;
    let mut sink = Vec::new();
    let e = v
        .download(0, 0, 0, &mut sink, |n| {
            if n >= MIB as u64 && !deleted {
                doomed.delete().expect("delete during download");
                deleted = true;
            }
        })
        .expect_err("volume gone mid-download");
    assert_eq!(e.stage, StreamStage::Transfer);
    assert!(
        e.error.text().contains("Storage volume not found"),
        "{}",
        e.error.text()
    );
    assert!(sink.len() < 16 * MIB);
    // Upload to a volume smaller than the data fails on the capacity.
    let small = create_vol(&c, "small.img", MIB);
    let e = small
        .upload(0, 0, 0, &data[..], |_| {})
        .expect_err("too big");
    assert_eq!(
        e.error.text(),
        "operation failed: the upload does not fit in volume 'small.img' (1048576 bytes)"
    );
    small.delete().expect("delete");
    assert!(pool(&c).list_all_volumes().is_ok(), "daemon still serves");
    wait_no_stream_threads(&d);
}

/// A file of `len` bytes with `data` at each of `at`, holes elsewhere.
fn sparse_file(path: &Path, len: u64, parts: &[(u64, &[u8])]) {
    let mut f = std::fs::File::create(path).expect("create");
    f.set_len(len).expect("size");
    for (at, bytes) in parts {
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start(*at)).expect("seek");
        f.write_all(bytes).expect("write");
    }
}

/// The real virsh: dense upload/download with identical bytes, then `--sparse` both
/// ways keeping the holes (volume allocation and the downloaded file's blocks).
#[test]
fn virsh_vol_upload_and_download() {
    if !require_peer("virsh (libvirt-clients)", have_program(VIRSH)) {
        return;
    }
    upload_and_download_with(Path::new(VIRSH));
}

/// The same with rvirsh.
#[test]
fn rvirsh_vol_upload_and_download() {
    upload_and_download_with(&target_dir().join("rvirsh"));
}

fn upload_and_download_with(shell: &Path) {
    let virsh = |uri: &str, args: &[&str]| run_with(shell, uri, args);
    let virsh_ok = |uri: &str, args: &[&str]| {
        let (out, err, code) = virsh(uri, args);
        assert_eq!(code, 0, "{} {args:?} failed: {err}", shell.display());
        out
    };
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    // test:///default lives while a connection holds it (as in libvirt), and each
    // virsh run is a connection of its own.
    let _hold = Connect::open(&uri).expect("open");
    let tmp = TempDir::new("streams-virsh");
    let src = tmp.0.join("src.bin");
    let data = pattern(4 * MIB + 100, 11);
    std::fs::write(&src, &data).expect("write source");
    virsh_ok(
        &uri,
        &[
            "vol-create-as",
            POOL,
            "dense.img",
            "6M",
            "--allocation",
            "0",
        ],
    );
    let s = src.to_str().unwrap();
    virsh_ok(&uri, &["vol-upload", "--pool", POOL, "dense.img", s]);
    let out = tmp.0.join("out.bin");
    let o = out.to_str().unwrap();
    virsh_ok(&uri, &["vol-download", "--pool", POOL, "dense.img", o]);
    let back = std::fs::read(&out).expect("read download");
    assert_eq!(back.len(), 6 * MIB);
    assert!(back[..data.len()] == data[..], "downloaded bytes differ");
    assert!(back[data.len()..].iter().all(|&b| b == 0));

    // Sparse: 1 MiB of data, a 6 MiB hole, 1 MiB of data.
    let sp = tmp.0.join("sparse.bin");
    let (a, b) = (pattern(MIB, 1), pattern(MIB, 2));
    sparse_file(&sp, 8 * MIB as u64, &[(0, &a), (7 * MIB as u64, &b)]);
    virsh_ok(
        &uri,
        &[
            "vol-create-as",
            POOL,
            "sparse.img",
            "8M",
            "--allocation",
            "0",
        ],
    );
    let sps = sp.to_str().unwrap();
    virsh_ok(
        &uri,
        &["vol-upload", "--sparse", "--pool", POOL, "sparse.img", sps],
    );
    let info = virsh_ok(&uri, &["vol-info", "--bytes", "--pool", POOL, "sparse.img"]);
    assert!(
        info.contains(&format!("{} bytes", 2 * MIB)),
        "only the data is allocated:\n{info}"
    );
    let spo = tmp.0.join("sparse-out.bin");
    let spos = spo.to_str().unwrap();
    virsh_ok(
        &uri,
        &[
            "vol-download",
            "--sparse",
            "--pool",
            POOL,
            "sparse.img",
            spos,
        ],
    );
    let back = std::fs::read(&spo).expect("read sparse download");
    assert_eq!(back, std::fs::read(&sp).unwrap(), "sparse bytes differ");
    let allocated = std::fs::metadata(&spo).unwrap().blocks() * 512;
    assert!(
        allocated < 4 * MIB as u64,
        "the download kept the hole: {allocated} bytes allocated"
    );
    // Without --sparse the same volume downloads dense (zeros written).
    let dense = tmp.0.join("dense-out.bin");
    let dn = dense.to_str().unwrap();
    virsh_ok(&uri, &["vol-download", "--pool", POOL, "sparse.img", dn]);
    assert_eq!(std::fs::read(&dense).unwrap(), back);
    assert!(std::fs::metadata(&dense).unwrap().blocks() * 512 >= 8 * MIB as u64);
    // A module error reaches virsh, which fails without hanging.
    virsh_ok(&uri, &["vol-create-as", POOL, "tiny.img", "1M"]);
    let (_, err, code) = virsh(&uri, &["vol-upload", "--pool", POOL, "tiny.img", s]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the upload does not fit in volume 'tiny.img' (1048576 bytes)"),
        "{err}"
    );
    wait_no_stream_threads(&d);
}

/// rvirt's client, remote and embedded, both ways sparse: runs of zeros go up as holes
/// (only the data is allocated), and come back as holes that a `SparseFile` keeps.
#[test]
fn rvirt_client_sparse_round_trip() {
    let d = Daemon::start("");
    let tmp = TempDir::new("streams-sparse");
    let (a, b) = (pattern(MIB, 1), pattern(MIB, 2));
    let mut image = vec![0u8; 8 * MIB];
    image[..MIB].copy_from_slice(&a);
    image[7 * MIB..].copy_from_slice(&b);
    let remote = Connect::open(&d.uri("test:///default")).expect("open");
    let embedded = Connect::open("test:///default").expect("embedded");
    for (c, name) in [(remote, "sp-remote.img"), (embedded, "sp-embedded.img")] {
        let v = create_vol(&c, name, 8 * MIB);
        let sent = v
            .upload(0, 0, 1, &image[..], |_| {})
            .expect("sparse upload");
        assert_eq!(sent, 8 * MIB as u64);
        assert_eq!(
            v.info().unwrap().allocation,
            2 * MIB as u64,
            "{name}: holes kept"
        );
        let path = tmp.0.join(name);
        let mut f = std::fs::File::create(&path).expect("create");
        let mut sink = rvirt_core::client::SparseFile::new(&mut f);
        v.download_into(0, 0, 1, &mut sink, |_| {})
            .expect("sparse download");
        assert_eq!(sink.received, 8 * MIB as u64);
        assert_eq!(sink.hole_bytes, 6 * MIB as u64, "{name}: one 6 MiB hole");
        drop(f);
        assert!(
            std::fs::read(&path).unwrap() == image,
            "{name}: bytes differ"
        );
        let allocated = std::fs::metadata(&path).unwrap().blocks() * 512;
        assert!(
            allocated < 4 * MIB as u64,
            "{name}: {allocated} bytes allocated"
        );
        // Without the flag the same stream is dense on both sides.
        let mut dense = rvirt_core::client::Dense(Vec::new());
        v.download_into(0, 0, 0, &mut dense, |_| {}).expect("dense");
        assert!(dense.0 == image);
        v.delete().expect("delete");
    }
}

/// libvirt-python's `virStorageVol.upload`/`download` with `virStream.sendAll`/`recvAll`.
#[test]
fn python_vol_upload_and_download() {
    let have = Command::new(PYTHON)
        .args(["-c", "import libvirt"])
        .status()
        .is_ok_and(|s| s.success());
    if !require_peer("libvirt-python (python3-libvirt)", have) {
        return;
    }
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    let _hold = Connect::open(&uri).expect("open");
    let script = r#"
import hashlib, sys, libvirt
c = libvirt.open(sys.argv[1])
pool = c.storagePoolLookupByName("default-pool")
vol = pool.createXML("<volume><name>py.img</name><capacity>5242880</capacity>"
                     "<allocation>0</allocation></volume>", 0)
data = bytes((i * 7 + i // 4096) % 251 + 1 for i in range(3 * 1048576 + 5))
st = c.newStream(0)
vol.upload(st, 0, 0, 0)
chunks = [data[i:i + 200000] for i in range(0, len(data), 200000)]
st.sendAll(lambda s, n, q: q.pop(0) if q else b"", chunks)
st.finish()
st = c.newStream(0)
vol.download(st, 0, len(data), 0)
got = []
st.recvAll(lambda s, buf, acc: acc.append(buf) or len(buf), got)
st.finish()
back = b"".join(got)
print(len(back), back == data)
# Abort mid-upload, then the connection goes on.
st = c.newStream(0)
vol.upload(st, 0, 0, 0)
st.send(b"x" * 100000)
st.abort()
print(pool.numOfVolumes() >= 1)
# A module error mid-stream is the client's error.
st = c.newStream(0)
vol.upload(st, 0, 1000, 0)
try:
    st.send(b"y" * 5000)
    st.send(b"y" * 5000)
    st.finish()
    print("no error")
except libvirt.libvirtError as e:
    print(e.get_error_message())
"#;
    let out = Command::new(PYTHON)
        .args(["-c", script, &uri])
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{} True", 3 * MIB + 5).as_str(),
            "True",
            "operation failed: the upload is longer than the 1000 bytes requested",
        ]
    );
}

/// A read-only connection may neither upload nor download, as in libvirt; the call
/// is refused before the driver sees it.
#[test]
fn read_only_connections_cannot_stream() {
    let d = Daemon::start("");
    let rw = Connect::open(&d.uri("test:///default")).expect("open");
    create_vol(&rw, "ro.img", MIB);
    let ro = Connect::open_read_only(&d.uri_ro("test:///default")).expect("open ro");
    let v = pool(&ro).volume_by_name("ro.img").expect("lookup");
    let e = v
        .upload(0, 0, 0, &[1u8; 10][..], |_| {})
        .expect_err("read-only");
    assert_eq!(e.stage, StreamStage::Open);
    assert!(
        e.error
            .text()
            .contains("read only access prevents virStorageVolUpload"),
        "{}",
        e.error.text()
    );
    let e = v
        .download(0, 0, 0, Vec::new(), |_| {})
        .expect_err("read-only");
    assert_eq!(e.stage, StreamStage::Open);
    assert_eq!(stream_threads(&d), 0);
}
