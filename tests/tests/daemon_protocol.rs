//! rvirtd's protocol server against raw and misbehaving clients: malformed, oversized and
//! garbage frames affect only the sender; unknown procedures get an error reply; many
//! outstanding calls are answered by serial; keepalive drops a silent client.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use rvirt_core::protocol::message::MessageStatus;
use rvirt_core::protocol::xdr::{from_bytes, to_bytes};
use rvirt_core::protocol::{self as p, remote_proc, RemoteClient, REMOTE_PROGRAM_NUMBER};
use rvirt_core::Connect;
use rvirt_tests::wire::{call, raw_open_at, read_frame};
use rvirt_tests::Daemon;

fn raw_open(d: &Daemon) -> UnixStream {
    raw_open_at(&d.socket(), "test:///default")
}

fn still_serving(d: &Daemon) {
    let c = Connect::open(&d.uri("test:///default")).expect("a fresh client connects");
    let names: Vec<String> = c
        .list_all_domains(0)
        .expect("list")
        .iter()
        .map(|d| d.name().to_string())
        .collect();
    assert!(names.contains(&"test".to_string()), "{names:?}");
}

#[test]
fn garbage_and_oversized_frames_only_hurt_their_sender() {
    let d = Daemon::start("");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..20 {
        let mut s = UnixStream::connect(d.socket()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut junk = vec![0u8; 64 + round * 37];
        for b in junk.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        let _ = s.write_all(&junk);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    let mut s = UnixStream::connect(d.socket()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(&(64u32 * 1024 * 1024).to_be_bytes())
        .expect("send length");
    let mut rest = Vec::new();
    assert_eq!(
        s.read_to_end(&mut rest).expect("closed"),
        0,
        "an oversized frame closes that connection"
    );
    still_serving(&d);
}

#[test]
fn bad_calls_get_error_replies_and_the_connection_continues() {
    let d = Daemon::start("");
    let mut s = raw_open(&d);
    s.write_all(&call(1, 9999, &[])).expect("send");
    let (h, payload) = read_frame(&mut s).expect("reply");
    assert_eq!((h.serial, h.status), (1, MessageStatus::Error));
    let e: p::RemoteError = from_bytes(&payload).expect("remote_error");
    assert!(e.text().contains("9999"), "{}", e.text());
    s.write_all(&call(
        2,
        remote_proc::DOMAIN_LOOKUP_BY_NAME,
        &[0, 0, 0, 200, 1],
    ))
    .expect("send");
    let (h, _) = read_frame(&mut s).expect("reply");
    assert_eq!((h.serial, h.status), (2, MessageStatus::Error));
    let args = p::RemoteDomainLookupByNameArgs {
        name: "test".into(),
    };
    s.write_all(&call(
        3,
        remote_proc::DOMAIN_LOOKUP_BY_NAME,
        &to_bytes(&args),
    ))
    .expect("send");
    let (h, payload) = read_frame(&mut s).expect("reply");
    assert_eq!((h.serial, h.status), (3, MessageStatus::Ok));
    let r: p::RemoteDomainLookupByNameRet = from_bytes(&payload).expect("ret");
    assert_eq!(r.dom.name, "test");
}

#[test]
fn many_outstanding_calls_are_answered_by_serial() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    let dom = c.domain_by_name("test").expect("lookup");
    let args = to_bytes(&p::RemoteDomainGetInfoArgs {
        dom: p::RemoteNonnullDomain {
            name: dom.name().into(),
            uuid: dom.uuid(),
            id: dom.id(),
        },
    });
    let calls: Vec<_> = (0..500)
        .map(|i| {
            if i % 2 == 0 {
                (
                    REMOTE_PROGRAM_NUMBER,
                    remote_proc::DOMAIN_GET_INFO,
                    args.clone(),
                )
            } else {
                (
                    REMOTE_PROGRAM_NUMBER,
                    remote_proc::CONNECT_GET_HOSTNAME,
                    Vec::new(),
                )
            }
        })
        .collect();
    let replies = c.pipeline(&calls).expect("pipeline");
    for (i, r) in replies.into_iter().enumerate() {
        let bytes = r.expect("call ok");
        if i % 2 == 0 {
            let info: p::RemoteDomainGetInfoRet = from_bytes(&bytes).expect("info");
            assert_eq!(info.max_mem, 8_388_608);
        } else {
            let h: p::RemoteConnectGetHostnameRet = from_bytes(&bytes).expect("hostname");
            assert!(!h.hostname.is_empty());
        }
    }
    assert_eq!(c.connect_get_type().expect("type").r#type, "TEST");
}

#[test]
fn silent_keepalive_client_is_dropped() {
    let d = Daemon::start("[limits]\nkeepalive_interval = 1\nkeepalive_count = 2\n");
    let mut s = raw_open(&d);
    let feature = p::RemoteConnectSupportsFeatureArgs { feature: 10 };
    s.write_all(&call(
        1,
        remote_proc::CONNECT_SUPPORTS_FEATURE,
        &to_bytes(&feature),
    ))
    .expect("send");
    let (h, _) = read_frame(&mut s).expect("reply");
    assert_eq!(h.status, MessageStatus::Ok);
    let mut pings = 0;
    loop {
        match read_frame(&mut s) {
            Ok((h, _)) if h.program == p::KEEPALIVE_PROGRAM_NUMBER => pings += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(pings >= 2, "expected pings before the drop, saw {pings}");
    still_serving(&d);
}

#[test]
fn feature_answers_match_libvirt_for_what_virsh_asks() {
    let d = Daemon::start("");
    let c = Connect::open(&d.uri("test:///default")).expect("open");
    // virsh asks keepalive (10) before opening and remote event callbacks (14) and close
    // callbacks (15) after; libvirt 9.0 answers 1 to all three (wire/list--all capture).
    for feature in [10, 14, 15] {
        let r = c
            .connect_supports_feature(&p::RemoteConnectSupportsFeatureArgs { feature })
            .expect("supports");
        assert_eq!(r.supported, 1, "feature {feature}");
    }
    let r = c
        .connect_supports_feature(&p::RemoteConnectSupportsFeatureArgs { feature: 4 })
        .expect("supports");
    assert_eq!(r.supported, 0, "peer-to-peer migration is not offered");
}
