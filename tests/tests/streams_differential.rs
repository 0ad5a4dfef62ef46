//! The same raw stream sequences against rvirtd (test driver) and a real libvirtd 9
//! (a `dir` pool): what comes back on the wire, frame kind and status, must agree:
//! finish and abort confirmations of uploads and downloads, the end of a download, and
//! the frame that reports an upload longer than requested; and a sparse upload and
//! download, whose holes must come back where and as long as libvirtd sends them.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;

use rvirt_core::client::Connect;
use rvirt_core::protocol::message::{encode_frame, Header, MessageStatus, MessageType};
use rvirt_core::protocol::xdr::{from_bytes, to_bytes};
use rvirt_core::protocol::{self as p, remote_proc, REMOTE_PROGRAM_NUMBER};
use rvirt_tests::wire::{call, raw_open_at, read_frame};
use rvirt_tests::{Daemon, Libvirtd, TempDir};

const VOL: &str = "<volume><name>diff.img</name><capacity unit='bytes'>1048576</capacity>\
     <allocation unit='bytes'>0</allocation><target><format type='raw'/></target></volume>";
const SPARSE_VOL: &str = "<volume><name>sparse.img</name>\
     <capacity unit='bytes'>4194304</capacity><allocation unit='bytes'>0</allocation>\
     <target><format type='raw'/></target></volume>";
const MIB: usize = 1024 * 1024;

/// What one step got back: (frame kind, status, payload is empty) per frame, data
/// frames of a download collapsed into one entry.
type Trace = Vec<(MessageType, MessageStatus, bool)>;

struct Raw {
    s: UnixStream,
    vol: p::RemoteNonnullStorageVol,
    /// Flags of the stream-opening calls (1: sparse).
    flags: u32,
    serial: u32,
}

impl Raw {
    fn open(socket: &Path, uri: &str, pool: &str, vol: &str, flags: u32) -> Raw {
        let mut s = raw_open_at(socket, uri);
        let a = p::RemoteStoragePoolLookupByNameArgs { name: pool.into() };
        s.write_all(&call(
            1,
            remote_proc::STORAGE_POOL_LOOKUP_BY_NAME,
            &to_bytes(&a),
        ))
        .unwrap();
        let (_, payload) = read_frame(&mut s).unwrap();
        let pool: p::RemoteStoragePoolLookupByNameRet = from_bytes(&payload).unwrap();
        let a = p::RemoteStorageVolLookupByNameArgs {
            pool: pool.pool,
            name: vol.into(),
        };
        s.write_all(&call(
            2,
            remote_proc::STORAGE_VOL_LOOKUP_BY_NAME,
            &to_bytes(&a),
        ))
        .unwrap();
        let (h, payload) = read_frame(&mut s).unwrap();
        assert_eq!(h.status, MessageStatus::Ok);
        let vol: p::RemoteStorageVolLookupByNameRet = from_bytes(&payload).unwrap();
        Raw {
            s,
            vol: vol.vol,
            flags,
            serial: 10,
        }
    }

    /// Sends a stream-opening call; returns its serial and the reply's status.
    fn start(&mut self, procedure: i32, length: u64) -> (u32, MessageStatus) {
        self.serial += 1;
        let args = if procedure == remote_proc::STORAGE_VOL_UPLOAD {
            to_bytes(&p::RemoteStorageVolUploadArgs {
                vol: self.vol.clone(),
                offset: 0,
                length,
                flags: self.flags,
            })
        } else {
            to_bytes(&p::RemoteStorageVolDownloadArgs {
                vol: self.vol.clone(),
                offset: 0,
                length,
                flags: self.flags,
            })
        };
        self.s
            .write_all(&call(self.serial, procedure, &args))
            .unwrap();
        let (h, _) = read_frame(&mut self.s).unwrap();
        assert_eq!((h.kind, h.serial), (MessageType::Reply, self.serial));
        (self.serial, h.status)
    }

    fn send(&mut self, serial: u32, procedure: i32, status: MessageStatus, data: &[u8]) {
        self.send_kind(serial, procedure, MessageType::Stream, status, data);
    }

    fn send_kind(
        &mut self,
        serial: u32,
        procedure: i32,
        kind: MessageType,
        status: MessageStatus,
        data: &[u8],
    ) {
        let h = Header {
            program: REMOTE_PROGRAM_NUMBER,
            version: 1,
            procedure,
            kind,
            serial,
            status,
        };
        self.s.write_all(&encode_frame(&h, data)).unwrap();
    }

    /// Reads frames of `serial` until one that is not download data.
    fn until_answer(&mut self, serial: u32) -> Trace {
        let mut t = Trace::new();
        loop {
            let (h, payload) = read_frame(&mut self.s).unwrap();
            assert_eq!(h.serial, serial);
            let entry = (h.kind, h.status, payload.is_empty());
            let data = entry == (MessageType::Stream, MessageStatus::Continue, false);
            if !(data && t.last() == Some(&entry)) {
                t.push(entry);
            }
            if !data {
                return t;
            }
        }
    }
}

/// Every step's trace, in order.
fn scenario(r: &mut Raw) -> Vec<(&'static str, Trace)> {
    use remote_proc::{STORAGE_VOL_DOWNLOAD as DOWN, STORAGE_VOL_UPLOAD as UP};
    use MessageStatus::{Continue, Error, Ok as Fin};
    let chunk = vec![0x5Au8; 100_000];
    let mut out = Vec::new();
    let (sn, st) = r.start(UP, 0);
    assert_eq!(st, Fin);
    for _ in 0..3 {
        r.send(sn, UP, Continue, &chunk);
    }
    r.send(sn, UP, Fin, &[]);
    out.push(("upload finish", r.until_answer(sn)));
    let (sn, _) = r.start(UP, 0);
    r.send(sn, UP, Continue, &chunk);
    r.send(sn, UP, Error, &[]);
    out.push(("upload abort", r.until_answer(sn)));
    let (sn, _) = r.start(DOWN, 300_000);
    let mut t = r.until_answer(sn);
    r.send(sn, DOWN, Fin, &[]);
    t.extend(r.until_answer(sn));
    out.push(("download finish", t));
    let (sn, _) = r.start(DOWN, 0);
    let (h, _) = read_frame(&mut r.s).unwrap();
    assert_eq!((h.kind, h.status), (MessageType::Stream, Continue));
    r.send(sn, DOWN, Error, &[]);
    // How much of the volume, and whether its end, went out before the abort landed
    // depends on timing; the answer to the abort does not.
    let answer = loop {
        let (h, payload) = read_frame(&mut r.s).unwrap();
        assert_eq!(h.serial, sn);
        if h.status != Continue {
            break (h.kind, h.status, payload.is_empty());
        }
    };
    out.push(("download abort", vec![answer]));
    let (sn, _) = r.start(UP, 1000);
    r.send(sn, UP, Continue, &chunk);
    out.push(("upload too long", r.until_answer(sn)));
    out
}

/// A sparse upload (1 MiB data, a 2 MiB hole, 1 MiB data), then its sparse download:
/// the download's frames with neighbouring data collapsed, holes with their length.
fn sparse_round_trip(r: &mut Raw) -> Vec<(MessageType, MessageStatus, u64)> {
    use remote_proc::{STORAGE_VOL_DOWNLOAD as DOWN, STORAGE_VOL_UPLOAD as UP};
    use MessageStatus::{Continue, Ok as Fin};
    let (sn, st) = r.start(UP, 0);
    assert_eq!(st, Fin);
    let data = vec![0x33u8; 262_120];
    let mut hole = (2 * MIB as i64).to_be_bytes().to_vec();
    hole.extend_from_slice(&0u32.to_be_bytes());
    for part in 0..2 {
        let mut sent = 0;
        while sent < MIB {
            let n = data.len().min(MIB - sent);
            r.send(sn, UP, Continue, &data[..n]);
            sent += n;
        }
        if part == 0 {
            r.send_kind(sn, UP, MessageType::StreamHole, Continue, &hole);
        }
    }
    r.send(sn, UP, Fin, &[]);
    let (h, _) = read_frame(&mut r.s).unwrap();
    assert_eq!((h.kind, h.status), (MessageType::Stream, Fin));
    let (sn, _) = r.start(DOWN, 0);
    let mut t: Vec<(MessageType, MessageStatus, u64)> = Vec::new();
    loop {
        let (h, payload) = read_frame(&mut r.s).unwrap();
        assert_eq!(h.serial, sn);
        let n = if h.kind == MessageType::StreamHole {
            u64::from_be_bytes(payload[..8].try_into().unwrap())
        } else {
            payload.len() as u64
        };
        match t.last_mut() {
            Some((MessageType::Stream, Continue, m))
                if h.kind == MessageType::Stream && *m > 0 && n > 0 =>
            {
                *m += n
            }
            _ => t.push((h.kind, h.status, n)),
        }
        if n == 0 {
            break;
        }
    }
    r.send(sn, DOWN, Fin, &[]);
    let (h, _) = read_frame(&mut r.s).unwrap();
    t.push((h.kind, h.status, 0));
    t
}

/// Deletes the volumes and removes the pool from libvirtd (which uses the host's
/// /etc/libvirt) even when a check fails.
struct PoolGuard(rvirt_core::StoragePool);

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

#[test]
fn stream_frames_match_libvirtd() {
    let Some(lv) = Libvirtd::start() else {
        return;
    };
    let dir = TempDir::new("streams-diff");
    let uri = lv.uri("qemu", "system");
    let c = Connect::open(&uri).expect("open libvirtd");
    let name = format!("rvirt-streams-diff-{}", std::process::id());
    let xml = format!(
        "<pool type='dir'><name>{name}</name><target><path>{}</path></target></pool>",
        dir.0.display()
    );
    let pool = PoolGuard(c.define_storage_pool(&xml).expect("define pool"));
    pool.0.create().expect("start pool");
    pool.0.create_volume(VOL).expect("create volume");
    pool.0.create_volume(SPARSE_VOL).expect("create volume");
    let mut r = Raw::open(&lv.socket(), "qemu:///system", &name, "diff.img", 0);
    let theirs = scenario(&mut r);
    let mut r = Raw::open(&lv.socket(), "qemu:///system", &name, "sparse.img", 1);
    let their_sparse = sparse_round_trip(&mut r);
    drop(pool);

    let d = Daemon::start("");
    let hold = Connect::open(&d.uri("test:///default")).expect("open rvirtd");
    let default_pool = hold.storage_pool_by_name("default-pool").unwrap();
    default_pool.create_volume(VOL).expect("create volume");
    default_pool
        .create_volume(SPARSE_VOL)
        .expect("create volume");
    let (sock, uri) = (d.socket(), "test:///default");
    let mut r = Raw::open(&sock, uri, "default-pool", "diff.img", 0);
    let ours = scenario(&mut r);
    assert_eq!(ours, theirs);
    let mut r = Raw::open(&sock, uri, "default-pool", "sparse.img", 1);
    let our_sparse = sparse_round_trip(&mut r);
    assert_eq!(our_sparse, their_sparse);
}
