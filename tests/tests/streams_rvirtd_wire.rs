//! Data streams on rvirtd below the client library: raw frames for the holes of a sparse
//! download, client aborts, a slow reader under flow control, disconnects, a hole on a
//! dense upload, the per-client stream limit, and rvirt's module stream program being
//! out of clients' reach.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use rvirt_core::client::Connect;
use rvirt_core::protocol::message::{encode_frame, Header, MessageStatus, MessageType};
use rvirt_core::protocol::xdr::{from_bytes, to_bytes};
use rvirt_core::protocol::{self as p, remote_proc, RemoteError};
use rvirt_tests::streams::*;
use rvirt_tests::wire::{call, raw_open_at, read_frame};
use rvirt_tests::Daemon;

/// On the wire, a sparse download is data messages and STREAM_HOLE messages
/// (`virNetStreamHole`: hyper length, unsigned flags) for the stream's serial, ending
/// with an empty data message; a dense one has no holes. rvirt's client writes the
/// holes as zeros, so its download equals the dense one.
#[test]
fn sparse_download_sends_holes_on_the_wire() {
    let d = Daemon::start("");
    let uri = d.uri("test:///default");
    let c = Connect::open(&uri).expect("open");
    let v = create_vol(&c, "holes.img", 4 * MIB);
    v.upload(3 * MIB as u64, 0, 0, &pattern(1000, 5)[..], |_| {})
        .expect("upload tail");
    let mut s = raw_open_at(&d.socket(), "test:///default");
    open_download(&mut s, 5, "holes.img", 1);
    let (mut holes, mut data, mut hole_bytes) = (0, 0, 0u64);
    loop {
        let (h, payload) = read_frame(&mut s).expect("stream frame");
        assert_eq!(
            (h.serial, h.procedure),
            (5, remote_proc::STORAGE_VOL_DOWNLOAD)
        );
        assert_eq!(h.status, MessageStatus::Continue);
        match h.kind {
            MessageType::StreamHole => {
                assert_eq!(payload.len(), 12);
                let len = i64::from_be_bytes(payload[..8].try_into().unwrap());
                hole_bytes += len as u64;
                holes += 1;
            }
            MessageType::Stream if payload.is_empty() => break,
            MessageType::Stream => data += payload.len(),
            other => panic!("unexpected {other:?}"),
        }
    }
    // The data is stored as one 64 KiB block: a hole before it and one after.
    assert_eq!(holes, 2, "a hole before the data and one after");
    assert_eq!(hole_bytes, 4 * MIB as u64 - 65_536);
    assert_eq!(data, 65_536);
    let fin = stream_header(
        5,
        remote_proc::STORAGE_VOL_DOWNLOAD,
        MessageType::Stream,
        MessageStatus::Ok,
    );
    s.write_all(&encode_frame(&fin, &[])).expect("finish");
    let (h, _) = read_frame(&mut s).expect("finish confirmation");
    assert_eq!((h.kind, h.status), (MessageType::Stream, MessageStatus::Ok));
    let dense = download_all(&v, 0, 0, 0);
    let sparse = download_all(&v, 0, 0, 1);
    assert_eq!(dense, sparse);
    assert_eq!(dense.len(), 4 * MIB);
}

/// The client aborts an upload and a download mid-transfer (STREAM with status
/// ERROR): each is confirmed as libvirtd 9 does (an empty OK stream message), the
/// connection keeps working, and other clients are served.
#[test]
fn client_abort_mid_transfer() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    create_vol(&c, "abort.img", 32 * MIB);
    let mut s = raw_open_at(&d.socket(), "test:///default");
    let a = p::RemoteStorageVolUploadArgs {
        vol: vol_ref("abort.img"),
        offset: 0,
        length: 0,
        flags: 0,
    };
    s.write_all(&call(2, remote_proc::STORAGE_VOL_UPLOAD, &to_bytes(&a)))
        .expect("upload call");
    let (h, _) = read_frame(&mut s).expect("upload reply");
    assert_eq!((h.kind, h.status), (MessageType::Reply, MessageStatus::Ok));
    let up = |status| {
        stream_header(
            2,
            remote_proc::STORAGE_VOL_UPLOAD,
            MessageType::Stream,
            status,
        )
    };
    for _ in 0..4 {
        s.write_all(&encode_frame(
            &up(MessageStatus::Continue),
            &pattern(200_000, 9),
        ))
        .expect("data");
    }
    s.write_all(&encode_frame(&up(MessageStatus::Error), &[]))
        .expect("abort");
    // libvirtd 9 confirms an abort like a finish: an empty OK stream message.
    let (h, payload) = read_frame(&mut s).expect("abort answer");
    assert_eq!(
        (h.kind, h.status, h.serial),
        (MessageType::Stream, MessageStatus::Ok, 2)
    );
    assert!(payload.is_empty());

    open_download(&mut s, 3, "abort.img", 0);
    let (h, _) = read_frame(&mut s).expect("first data");
    assert_eq!(h.kind, MessageType::Stream);
    let down = stream_header(
        3,
        remote_proc::STORAGE_VOL_DOWNLOAD,
        MessageType::Stream,
        MessageStatus::Error,
    );
    s.write_all(&encode_frame(&down, &[]))
        .expect("abort download");
    let mut data_after = 0;
    loop {
        let (h, payload) = read_frame(&mut s).expect("until the abort answer");
        assert_eq!((h.kind, h.serial), (MessageType::Stream, 3));
        if h.status == MessageStatus::Ok {
            assert!(payload.is_empty());
            break;
        }
        assert_eq!(h.status, MessageStatus::Continue);
        data_after += payload.len();
    }
    assert!(
        data_after < 30 * MIB,
        "the download stopped: {data_after} bytes after abort"
    );
    // The same connection still answers calls.
    let lk = p::RemoteStoragePoolLookupByNameArgs { name: POOL.into() };
    s.write_all(&call(
        4,
        remote_proc::STORAGE_POOL_LOOKUP_BY_NAME,
        &to_bytes(&lk),
    ))
    .expect("lookup");
    let (h, _) = read_frame(&mut s).expect("lookup reply");
    assert_eq!((h.serial, h.status), (4, MessageStatus::Ok));
    let v = pool(&c).volume_by_name("abort.img").expect("lookup");
    assert_eq!(
        download_all(&v, 0, 1000, 0)[..],
        pattern(200_000, 9)[..1000]
    );
    wait_no_stream_threads(&d);
}

/// A client that reads a download slowly is served in full: the daemon stops pulling
/// while the client's queue is full instead of queueing the whole volume (128 MiB would
/// pass the 64 MiB at which a client that never reads is disconnected).
#[test]
fn a_slow_reader_gets_the_whole_download() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    create_vol(&c, "slow.img", 128 * MIB);
    let mut s = raw_open_at(&d.socket(), "test:///default");
    open_download(&mut s, 4, "slow.img", 0);
    std::thread::sleep(Duration::from_secs(1));
    let mut total = 0;
    loop {
        let (h, payload) = read_frame(&mut s).expect("stream frame");
        assert_eq!(
            (h.kind, h.status),
            (MessageType::Stream, MessageStatus::Continue)
        );
        if payload.is_empty() {
            break;
        }
        assert!(payload.iter().all(|&b| b == 0));
        total += payload.len();
    }
    assert_eq!(total, 128 * MIB);
    let fin = stream_header(
        4,
        remote_proc::STORAGE_VOL_DOWNLOAD,
        MessageType::Stream,
        MessageStatus::Ok,
    );
    s.write_all(&encode_frame(&fin, &[])).expect("finish");
    let (h, _) = read_frame(&mut s).expect("finish confirmation");
    assert_eq!((h.kind, h.status), (MessageType::Stream, MessageStatus::Ok));
    wait_no_stream_threads(&d);
}

/// A client that disconnects in the middle of a download (and one that stops reading)
/// leaves no stream behind; the daemon serves the next client.
#[test]
fn client_disconnect_mid_download() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    let v = create_vol(&c, "gone.img", 64 * MIB);
    v.upload(0, 0, 0, &pattern(MIB, 4)[..], |_| {})
        .expect("upload");
    {
        let mut s = raw_open_at(&d.socket(), "test:///default");
        open_download(&mut s, 9, "gone.img", 0);
        read_frame(&mut s).expect("some data");
        // The client stops reading: flow control holds the stream thread while the
        // client's queue is full, instead of buffering the whole volume.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(stream_threads(&d), 1, "the stream waits for the client");
    }
    wait_no_stream_threads(&d);
    assert_eq!(download_all(&v, 0, MIB as u64, 0), pattern(MIB, 4));
    assert!(!d.log().contains("panicked"));
}

/// rvirt's module-boundary stream program is not a libvirt program: a client that
/// calls it gets libvirt's RPC error and nothing reaches a module.
#[test]
fn the_module_stream_program_is_not_reachable_from_clients() {
    let d = Daemon::start("");
    let mut s = raw_open_at(&d.socket(), "test:///default");
    let h = Header {
        program: p::RVIRT_STREAM_PROGRAM as u32,
        version: 1,
        procedure: p::RVIRT_STREAM_PROC_ABORT as i32,
        kind: MessageType::Call,
        serial: 3,
        status: MessageStatus::Ok,
    };
    s.write_all(&encode_frame(
        &h,
        &to_bytes(&p::RvirtStreamId { stream: 1 }),
    ))
    .expect("send");
    let (h, payload) = read_frame(&mut s).expect("reply");
    assert_eq!(
        (h.kind, h.status),
        (MessageType::Reply, MessageStatus::Error)
    );
    let e: RemoteError = from_bytes(&payload).expect("error");
    assert!(e.text().starts_with("cannot find program"), "{}", e.text());
}

/// A hole on an upload that was not opened sparse is the module's error, sent as a
/// STREAM message with status ERROR; later data for the stream is dropped and the
/// connection goes on.
#[test]
fn a_hole_on_a_dense_upload_fails_the_stream() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    create_vol(&c, "dense-hole.img", MIB);
    let mut s = raw_open_at(&d.socket(), "test:///default");
    let a = p::RemoteStorageVolUploadArgs {
        vol: vol_ref("dense-hole.img"),
        offset: 0,
        length: 0,
        flags: 0,
    };
    s.write_all(&call(6, remote_proc::STORAGE_VOL_UPLOAD, &to_bytes(&a)))
        .expect("upload call");
    let (h, _) = read_frame(&mut s).expect("upload reply");
    assert_eq!(h.status, MessageStatus::Ok);
    let hole = stream_header(
        6,
        remote_proc::STORAGE_VOL_UPLOAD,
        MessageType::StreamHole,
        MessageStatus::Continue,
    );
    let mut payload = 4096i64.to_be_bytes().to_vec();
    payload.extend_from_slice(&0u32.to_be_bytes());
    s.write_all(&encode_frame(&hole, &payload)).expect("hole");
    let (h, payload) = read_frame(&mut s).expect("stream error");
    assert_eq!(
        (h.kind, h.status, h.serial),
        (MessageType::Stream, MessageStatus::Error, 6)
    );
    let e: RemoteError = from_bytes(&payload).expect("error");
    assert!(e.text().contains("not sparse"), "{}", e.text());
    let data = stream_header(
        6,
        remote_proc::STORAGE_VOL_UPLOAD,
        MessageType::Stream,
        MessageStatus::Continue,
    );
    s.write_all(&encode_frame(&data, &[1, 2, 3]))
        .expect("late data");
    let lk = p::RemoteStoragePoolLookupByNameArgs { name: POOL.into() };
    s.write_all(&call(
        7,
        remote_proc::STORAGE_POOL_LOOKUP_BY_NAME,
        &to_bytes(&lk),
    ))
    .expect("lookup");
    let (h, _) = read_frame(&mut s).expect("lookup reply");
    assert_eq!(
        (h.kind, h.serial, h.status),
        (MessageType::Reply, 7, MessageStatus::Ok)
    );
    wait_no_stream_threads(&d);
}

/// A client may have 16 streams open at once; the 17th stream-opening call is refused,
/// and once one stream finishes another may open.
#[test]
fn open_streams_per_client_are_limited() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    create_vol(&c, "many.img", MIB);
    let mut s = raw_open_at(&d.socket(), "test:///default");
    let a = to_bytes(&p::RemoteStorageVolUploadArgs {
        vol: vol_ref("many.img"),
        offset: 0,
        length: 0,
        flags: 0,
    });
    let open = |s: &mut UnixStream, serial: u32| {
        s.write_all(&call(serial, remote_proc::STORAGE_VOL_UPLOAD, &a))
            .expect("upload call");
        let (h, payload) = read_frame(s).expect("reply");
        assert_eq!((h.kind, h.serial), (MessageType::Reply, serial));
        (h.status, payload)
    };
    for serial in 100..116 {
        assert_eq!(open(&mut s, serial).0, MessageStatus::Ok);
    }
    let (status, payload) = open(&mut s, 116);
    assert_eq!(status, MessageStatus::Error);
    let e: RemoteError = from_bytes(&payload).expect("error");
    assert!(e.text().contains("too many open streams"), "{}", e.text());
    // Each thread starts just after its reply went out.
    wait_stream_threads(&d, 16);
    let fin = stream_header(
        100,
        remote_proc::STORAGE_VOL_UPLOAD,
        MessageType::Stream,
        MessageStatus::Ok,
    );
    s.write_all(&encode_frame(&fin, &[])).expect("finish");
    let (h, _) = read_frame(&mut s).expect("finish confirmation");
    assert_eq!(
        (h.kind, h.status, h.serial),
        (MessageType::Stream, MessageStatus::Ok, 100)
    );
    // The finished stream's thread is leaving; then there is room again.
    wait_stream_threads(&d, 15);
    assert_eq!(open(&mut s, 117).0, MessageStatus::Ok);
    drop(s);
    wait_no_stream_threads(&d);
}

/// Client data on a download goes to the module, as it would for a console; the test
/// driver's download takes none, and the stream fails with the SDK's error.
#[test]
fn data_sent_on_a_download_fails_the_stream() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    create_vol(&c, "down.img", 64 * MIB);
    let mut s = raw_open_at(&d.socket(), "test:///default");
    open_download(&mut s, 8, "down.img", 0);
    let data = stream_header(
        8,
        remote_proc::STORAGE_VOL_DOWNLOAD,
        MessageType::Stream,
        MessageStatus::Continue,
    );
    s.write_all(&encode_frame(&data, b"keys"))
        .expect("send data");
    let e = loop {
        let (h, payload) = read_frame(&mut s).expect("until the error");
        assert_eq!((h.kind, h.serial), (MessageType::Stream, 8));
        if h.status == MessageStatus::Error {
            break from_bytes::<RemoteError>(&payload).expect("error");
        }
    };
    assert_eq!(
        e.text(),
        "operation is not valid: cannot send to this stream"
    );
    wait_no_stream_threads(&d);
}
