//! Helpers of the stream tests against rvirtd's test driver (`streams_rvirtd*.rs`).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rvirt_core::client::{Connect, StoragePool};
use rvirt_core::protocol::message::{Header, MessageStatus, MessageType};
use rvirt_core::protocol::xdr::{from_bytes, to_bytes};
use rvirt_core::protocol::{self as p, remote_proc, RemoteError, REMOTE_PROGRAM_NUMBER};

use crate::wire::{call, read_frame};
use crate::Daemon;

pub const MIB: usize = 1024 * 1024;
/// The test driver's pool on `test:///default`.
pub const POOL: &str = "default-pool";

/// Bytes that no shifted copy of themselves matches (so offset mistakes show).
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8 | 1
        })
        .collect()
}

pub fn pool(c: &Connect) -> StoragePool {
    c.storage_pool_by_name(POOL).expect("default pool")
}

pub fn create_vol(c: &Connect, name: &str, capacity: usize) -> rvirt_core::StorageVol {
    let xml = format!(
        "<volume><name>{name}</name><capacity>{capacity}</capacity>\
         <allocation>0</allocation></volume>"
    );
    pool(c).create_volume(&xml).expect("create volume")
}

/// Threads of the daemon named like the stream threads.
pub fn stream_threads(d: &Daemon) -> usize {
    let dir = format!("/proc/{}/task", d.child.id());
    std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "rvirtd-stream")
                })
                .count()
        })
        .unwrap_or(0)
}

/// Waits (up to 5 s) until the daemon runs `n` stream threads, then checks it does.
pub fn wait_stream_threads(d: &Daemon, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while stream_threads(d) != n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(stream_threads(d), n, "stream threads");
}

/// Waits (up to 10 s) until no stream thread runs: every stream has ended.
pub fn wait_no_stream_threads(d: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while stream_threads(d) > 0 {
        assert!(
            Instant::now() < deadline,
            "a stream thread is still running after its client left"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn download_all(v: &rvirt_core::StorageVol, offset: u64, length: u64, flags: u32) -> Vec<u8> {
    let mut out = Vec::new();
    v.download(offset, length, flags, &mut out, |_| {})
        .expect("download");
    out
}

pub fn stream_header(
    serial: u32,
    procedure: i32,
    kind: MessageType,
    status: MessageStatus,
) -> Header {
    Header {
        program: REMOTE_PROGRAM_NUMBER,
        version: 1,
        procedure,
        kind,
        serial,
        status,
    }
}

pub fn vol_ref(name: &str) -> p::RemoteNonnullStorageVol {
    p::RemoteNonnullStorageVol {
        pool: POOL.into(),
        name: name.into(),
        key: format!("/default-pool/{name}"),
    }
}

pub fn open_download(s: &mut UnixStream, serial: u32, name: &str, flags: u32) {
    let a = p::RemoteStorageVolDownloadArgs {
        vol: vol_ref(name),
        offset: 0,
        length: 0,
        flags,
    };
    s.write_all(&call(
        serial,
        remote_proc::STORAGE_VOL_DOWNLOAD,
        &to_bytes(&a),
    ))
    .expect("send download");
    let (h, payload) = read_frame(s).expect("download reply");
    assert_eq!((h.kind, h.serial), (MessageType::Reply, serial));
    assert_eq!(
        h.status,
        MessageStatus::Ok,
        "{:?}",
        from_bytes::<RemoteError>(&payload)
    );
}
