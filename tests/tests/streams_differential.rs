//! The same raw stream sequences against rvirtd (test driver) and a real libvirtd 9
//! (a `dir` pool): what comes back on the wire, frame kind and status, must agree:
//! finish and abort confirmations of uploads and downloads, the end of a download, and
//! the frame that reports an upload longer than requested.

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

/// What one step got back: (frame kind, status, payload is empty) per frame, data
/// frames of a download collapsed into one entry.
type Trace = Vec<(MessageType, MessageStatus, bool)>;

struct Raw {
    s: UnixStream,
    vol: p::RemoteNonnullStorageVol,
    serial: u32,
}

impl Raw {
    fn open(socket: &Path, uri: &str, pool: &str) -> Raw {
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
            name: "diff.img".into(),
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
                flags: 0,
            })
        } else {
            to_bytes(&p::RemoteStorageVolDownloadArgs {
                vol: self.vol.clone(),
                offset: 0,
                length,
                flags: 0,
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
        let h = Header {
            program: REMOTE_PROGRAM_NUMBER,
            version: 1,
            procedure,
            kind: MessageType::Stream,
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
    let mut t = vec![read_frame(&mut r.s)
        .map(|(h, _)| (h.kind, h.status, false))
        .unwrap()];
    r.send(sn, DOWN, Error, &[]);
    t.extend(r.until_answer(sn));
    out.push(("download abort", t));
    let (sn, _) = r.start(UP, 1000);
    r.send(sn, UP, Continue, &chunk);
    out.push(("upload too long", r.until_answer(sn)));
    out
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
    let mut r = Raw::open(&lv.socket(), "qemu:///system", &name);
    let theirs = scenario(&mut r);
    drop(pool);

    let d = Daemon::start("");
    let hold = Connect::open(&d.uri("test:///default")).expect("open rvirtd");
    hold.storage_pool_by_name("default-pool")
        .unwrap()
        .create_volume(VOL)
        .expect("create volume");
    let mut r = Raw::open(&d.socket(), "test:///default", "default-pool");
    let ours = scenario(&mut r);
    assert_eq!(ours, theirs);
}
