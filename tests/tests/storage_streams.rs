//! Volume upload and download on the storage module (`qemu:///system` through rvirtd):
//! libvirt-python's `virStorageVolUpload`/`Download` of 64 MiB dense and sparse, the real
//! virsh and rvirsh `vol-upload`/`vol-download` with and without `--sparse`, and the
//! same sequence of stream operations against a real libvirtd (bytes, sizes, allocations
//! and errors identical). The python side is `storage_streams.py`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rvirt_tests::xmldiff::require_python_libvirt;
use rvirt_tests::{have_program, require_peer, target_dir, virsh, Daemon, Libvirtd, TempDir};

const SCRIPT: &str = include_str!("storage_streams.py");
const MIB: u64 = 1 << 20;

/// Runs the python side in `mode` against `uri`; its lines.
fn python(uri: &str, dir: &Path, mode: &str) -> Vec<String> {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .arg(uri)
        .arg(dir)
        .arg(mode)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python {mode} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

/// The value printed after `key` on its line.
fn value<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(key).map(str::trim))
        .unwrap_or_else(|| panic!("no line '{key}' in {lines:#?}"))
}

fn number(lines: &[String], key: &str) -> u64 {
    value(lines, key).parse().expect("a number")
}

#[test]
fn python_uploads_and_downloads_64_mib_dense_and_sparse() {
    if !require_python_libvirt() {
        return;
    }
    let tmp = TempDir::new("storage-streams-big");
    let d = Daemon::start("");
    let lines = python(&d.uri("qemu:///system"), &tmp.0, "big");
    assert_eq!(value(&lines, "dense upload"), "done");
    assert_eq!(value(&lines, "dense bytes"), "True");
    assert_eq!(value(&lines, "dense download"), "True 67108864");
    assert_eq!(value(&lines, "sparse upload"), "done");
    assert_eq!(value(&lines, "sparse bytes"), "True 67108864");
    // 8 MiB of data; holes stay holes in the volume and in the downloaded file.
    let vol_blocks = number(&lines, "sparse volume blocks");
    assert!(
        (8 * MIB..10 * MIB).contains(&vol_blocks),
        "volume allocation {vol_blocks}"
    );
    assert_eq!(value(&lines, "sparse download"), "True 67108864");
    let out_blocks = number(&lines, "sparse download blocks");
    assert!(
        (8 * MIB..10 * MIB).contains(&out_blocks),
        "download allocation {out_blocks}"
    );
    let holes = value(&lines, "sparse download holes");
    assert_eq!(holes, format!("[{}]", ["7340032"; 8].join(", ")));
    assert_eq!(
        value(&lines, "sparse volume dense download"),
        "True [] True"
    );
}

/// The same sequence of uploads and downloads (dense, sparse, ranges, errors, an
/// abort, qcow2) through libvirt-python against libvirtd and rvirtd: same lines.
#[test]
fn stream_sequence_matches_libvirtd() {
    if !require_python_libvirt() {
        return;
    }
    let tmp = TempDir::new("storage-streams-diff");
    let theirs = {
        let Some(l) = Libvirtd::start() else {
            return;
        };
        python(&l.uri("qemu", "system"), &tmp.0, "diff")
    };
    let d = Daemon::start("");
    let ours = python(&d.uri("qemu:///system"), &tmp.0, "diff");
    let diffs: Vec<String> = theirs
        .iter()
        .zip(&ours)
        .filter(|(t, o)| t != o)
        .map(|(t, o)| format!("-- libvirtd: {t}\n-- rvirtd:   {o}"))
        .collect();
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
    assert_eq!(theirs.len(), ours.len(), "{theirs:#?}\n{ours:#?}");
    let events = value(&ours, "refresh events after uploads");
    assert_eq!(
        events, "True {'rvirtstreams'}",
        "uploads send refresh events"
    );
    assert!(theirs.len() >= 26, "the whole sequence ran: {theirs:#?}");
}

/// A 16 MiB file with 1 MiB of data at 2 MiB and at 9 MiB, holes elsewhere.
fn sparse_source(path: &Path) -> Vec<u8> {
    let mut data = vec![0u8; 16 << 20];
    for (i, b) in data[2 << 20..3 << 20].iter_mut().enumerate() {
        *b = (i % 253) as u8 + 1;
    }
    data.copy_within(2 << 20..3 << 20, 9 << 20);
    let f = std::fs::File::create(path).unwrap();
    f.set_len(16 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    f.write_all_at(&data[2 << 20..3 << 20], 2 << 20).unwrap();
    f.write_all_at(&data[9 << 20..10 << 20], 9 << 20).unwrap();
    data
}

fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// `vol-upload` / `vol-download` with `shell`, with and without `--sparse`.
fn upload_and_download_with(shell: &Path) {
    let tmp = TempDir::new("storage-streams-virsh");
    let d = Daemon::start("");
    let uri = d.uri("qemu:///system");
    let pool = tmp.0.join("pool");
    let run = |args: &[&str]| {
        let (out, err, code) = virsh::run_with(shell, &uri, args);
        assert_eq!(code, 0, "{} {args:?}: {out}{err}", shell.display());
    };
    let p = pool.display().to_string();
    std::fs::create_dir(&pool).unwrap();
    run(&["pool-create-as", "vs", "dir", "--target", &p]);
    run(&["vol-create-as", "vs", "v.img", "16M", "--allocation", "0"]);
    let src = tmp.0.join("src");
    let want = sparse_source(&src);
    let (src_s, vol) = (src.display().to_string(), pool.join("v.img"));
    let out: PathBuf = tmp.0.join("out");
    let out_s = out.display().to_string();

    run(&["vol-upload", "--pool", "vs", "v.img", &src_s, "--sparse"]);
    assert_eq!(std::fs::read(&vol).unwrap(), want);
    // virsh sends exactly the file's data; rvirsh sends zeros as holes per 64 KiB run
    // of its messages, so a little of them may still arrive as data.
    let got = allocated(&vol);
    assert!(
        (2 * MIB..3 * MIB).contains(&got),
        "a sparse upload keeps the holes: {got}"
    );
    run(&["vol-download", "--pool", "vs", "v.img", &out_s, "--sparse"]);
    assert_eq!(std::fs::read(&out).unwrap(), want);
    assert_eq!(
        allocated(&out),
        got,
        "a sparse download keeps the volume's holes"
    );

    std::fs::remove_file(&out).unwrap();
    run(&["vol-download", "--pool", "vs", "v.img", &out_s]);
    assert_eq!(std::fs::read(&out).unwrap(), want);
    assert_eq!(allocated(&out), 16 * MIB, "a dense download writes zeros");
    run(&["vol-upload", "--pool", "vs", "v.img", &src_s]);
    assert_eq!(std::fs::read(&vol).unwrap(), want);
    assert_eq!(allocated(&vol), 16 * MIB, "a dense upload writes zeros");
    let (_, err, code) = virsh::run_with(
        shell,
        &uri,
        &["vol-upload", "--pool", "vs", "nosuch", &src_s],
    );
    assert_ne!(code, 0);
    assert!(err.contains("failed to get vol 'nosuch'"), "{err}");
    run(&["pool-destroy", "vs"]);
}

#[test]
fn virsh_vol_upload_and_download() {
    if require_peer("virsh (libvirt-clients)", have_program(virsh::VIRSH)) {
        upload_and_download_with(Path::new(virsh::VIRSH));
    }
}

#[test]
fn rvirsh_vol_upload_and_download() {
    upload_and_download_with(&target_dir().join("rvirsh"));
}
