//! Decodes every message of the real libvirt 9.0.0 captures in `tests/data/compat/wire/` into
//! typed values, re-encodes them and checks the bytes are identical to what libvirt sent.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rvirt_protocol::message::{decode_frame, encode_frame};
use rvirt_protocol::xdr::{from_bytes, to_bytes};
use rvirt_protocol::{
    remote_proc, Header, KeepaliveArgs, KeepaliveRet, MessageStatus, MessageType, QemuArgs,
    QemuRet, RemoteArgs, RemoteError, RemoteRet, KEEPALIVE_PROGRAM_NUMBER, QEMU_PROGRAM_NUMBER,
    REMOTE_PROGRAM_NUMBER,
};

/// The recorded captures, kept in the repository (see tests/data/README.md).
const WIRE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/compat/wire");

/// How many capture sessions were recorded; each must be present and decoded.
const CAPTURES: usize = 25;

/// One message of a capture, as recorded by wireproxy.py.
struct Record {
    folder: String,
    index: usize,
    client_to_server: bool,
    frame: Vec<u8>,
}

/// A payload decoded to its typed value.
#[derive(Debug)]
enum Decoded {
    RemoteArgs(RemoteArgs),
    RemoteRet(RemoteRet),
    QemuArgs(QemuArgs),
    QemuRet(QemuRet),
    KeepaliveArgs(KeepaliveArgs),
    KeepaliveRet(KeepaliveRet),
    Error(RemoteError),
    Raw(Vec<u8>),
}

impl Decoded {
    fn encode(&self) -> Vec<u8> {
        let mut w = Vec::new();
        match self {
            Decoded::RemoteArgs(v) => v.encode(&mut w),
            Decoded::RemoteRet(v) => v.encode(&mut w),
            Decoded::QemuArgs(v) => v.encode(&mut w),
            Decoded::QemuRet(v) => v.encode(&mut w),
            Decoded::KeepaliveArgs(v) => v.encode(&mut w),
            Decoded::KeepaliveRet(v) => v.encode(&mut w),
            Decoded::Error(v) => w = to_bytes(v),
            Decoded::Raw(v) => w.extend_from_slice(v),
        }
        w
    }
}

fn wire_dir() -> PathBuf {
    let dir = Path::new(WIRE_DIR);
    assert!(
        dir.is_dir(),
        "capture directory {} is missing",
        dir.display()
    );
    dir.to_path_buf()
}

/// Every capture folder, sorted by name; each must hold a `frames.bin`.
fn capture_folders() -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = fs::read_dir(wire_dir())
        .expect("read capture directory")
        .map(|e| e.expect("read capture entry").path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for f in &folders {
        let frames = f.join("frames.bin");
        assert!(
            frames.is_file(),
            "capture file {} is missing",
            frames.display()
        );
    }
    assert_eq!(
        folders.len(),
        CAPTURES,
        "expected {CAPTURES} capture folders under {WIRE_DIR}"
    );
    folders
}

/// The bytes of a capture file; panics, naming it, when it is missing.
fn read_capture(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("read capture file {}: {e}", path.display()))
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Splits `frames.bin`: per record a direction byte ('C' or 'S'), a u32 connection id, an f64
/// timestamp, then the whole frame (its length word counts itself).
fn split_records(folder: &str, data: &[u8]) -> Vec<Record> {
    const PREFIX: usize = 1 + 4 + 8;
    let mut out = Vec::new();
    let mut off = 0;
    while off < data.len() {
        assert!(
            off + PREFIX + 4 <= data.len(),
            "{folder}: truncated record at byte {off}"
        );
        let direction = data[off];
        assert!(
            direction == b'C' || direction == b'S',
            "{folder}: bad direction {direction:#x} at {off}"
        );
        let start = off + PREFIX;
        let len = be_u32(&data[start..]) as usize;
        assert!(
            len >= 28 && start + len <= data.len(),
            "{folder}: bad frame length {len} at {start}"
        );
        let index = out.len() + 1;
        let frame = data[start..start + len].to_vec();
        out.push(Record {
            folder: folder.to_string(),
            index,
            client_to_server: direction == b'C',
            frame,
        });
        off = start + len;
    }
    out
}

fn all_records() -> Vec<Record> {
    capture_folders()
        .iter()
        .flat_map(|dir| {
            let name = dir
                .file_name()
                .and_then(|n| n.to_str())
                .expect("folder name")
                .to_string();
            let data = read_capture(&dir.join("frames.bin"));
            split_records(&name, &data)
        })
        .collect()
}

fn decode_args(program: u32, procedure: i32, payload: &[u8]) -> Result<Decoded, String> {
    let r = match program {
        REMOTE_PROGRAM_NUMBER => RemoteArgs::decode(procedure, payload).map(Decoded::RemoteArgs),
        QEMU_PROGRAM_NUMBER => QemuArgs::decode(procedure, payload).map(Decoded::QemuArgs),
        KEEPALIVE_PROGRAM_NUMBER => {
            KeepaliveArgs::decode(procedure, payload).map(Decoded::KeepaliveArgs)
        }
        other => return Err(format!("unknown program {other:#x}")),
    };
    r.map_err(|e| format!("args: {e}"))
}

fn decode_ret(program: u32, procedure: i32, payload: &[u8]) -> Result<Decoded, String> {
    let r = match program {
        REMOTE_PROGRAM_NUMBER => RemoteRet::decode(procedure, payload).map(Decoded::RemoteRet),
        QEMU_PROGRAM_NUMBER => QemuRet::decode(procedure, payload).map(Decoded::QemuRet),
        KEEPALIVE_PROGRAM_NUMBER => {
            KeepaliveRet::decode(procedure, payload).map(Decoded::KeepaliveRet)
        }
        other => return Err(format!("unknown program {other:#x}")),
    };
    r.map_err(|e| format!("ret: {e}"))
}

/// Decodes a payload by (program, type, status).
fn decode_payload(h: &Header, payload: &[u8]) -> Result<Decoded, String> {
    use MessageStatus as S;
    use MessageType as T;
    match (h.kind, h.status) {
        (_, S::Error) => from_bytes::<RemoteError>(payload)
            .map(Decoded::Error)
            .map_err(|e| format!("error: {e}")),
        (T::Stream | T::StreamHole, _) => Ok(Decoded::Raw(payload.to_vec())),
        (T::Call | T::CallWithFds | T::Message, _) => decode_args(h.program, h.procedure, payload),
        (T::Reply | T::ReplyWithFds, _) => decode_ret(h.program, h.procedure, payload),
    }
}

fn program_name(program: u32) -> &'static str {
    match program {
        REMOTE_PROGRAM_NUMBER => "remote",
        QEMU_PROGRAM_NUMBER => "qemu",
        KEEPALIVE_PROGRAM_NUMBER => "keepalive",
        _ => "unknown",
    }
}

/// Decodes one record and checks the re-encoding is byte-identical.
fn check_record(rec: &Record) -> Result<(Header, Decoded), String> {
    let (header, payload) = decode_frame(&rec.frame).map_err(|e| format!("frame: {e}"))?;
    let decoded = decode_payload(&header, payload)?;
    let reencoded = encode_frame(&header, &decoded.encode());
    if reencoded != rec.frame {
        return Err(format!(
            "re-encoding differs: original {} bytes, re-encoded {} bytes",
            rec.frame.len(),
            reencoded.len()
        ));
    }
    Ok((header, decoded))
}

#[test]
fn every_captured_message_decodes_and_reencodes_identically() {
    let records = all_records();
    let mut per_folder: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for dir in capture_folders() {
        per_folder
            .entry(dir.file_name().unwrap().to_string_lossy().into_owned())
            .or_default();
    }
    let mut per_program: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for rec in &records {
        match check_record(rec) {
            Ok((h, _)) => {
                let prog = program_name(h.program);
                *per_folder
                    .get_mut(&rec.folder)
                    .unwrap()
                    .entry(prog)
                    .or_default() += 1;
                *per_program.entry(prog).or_default() += 1;
            }
            Err(e) => failures.push(describe_failure(rec, &e)),
        }
    }
    println!(
        "decoded {} messages: {per_program:?}",
        records.len() - failures.len()
    );
    for (folder, counts) in &per_folder {
        println!("  {folder:<24} {counts:?}");
    }
    assert!(
        failures.is_empty(),
        "{} messages failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (folder, counts) in &per_folder {
        let n = counts.values().sum::<usize>();
        assert!(n > 0, "capture {folder} contributed no messages");
        assert_eq!(
            n,
            messages_listed_in_decoded_txt(folder),
            "{folder}: count differs from decoded.txt"
        );
    }
    for prog in ["remote", "qemu", "keepalive"] {
        assert!(
            per_program.get(prog).copied().unwrap_or(0) > 0,
            "no {prog} messages in the captures"
        );
    }
}

/// How many messages wiredecode.py listed for a capture (lines starting `#N `).
fn messages_listed_in_decoded_txt(folder: &str) -> usize {
    let path = wire_dir().join(folder).join("decoded.txt");
    let text = String::from_utf8(read_capture(&path)).expect("decoded.txt is UTF-8");
    text.lines()
        .filter(|l| {
            l.strip_prefix('#')
                .and_then(|r| r.split(' ').next())
                .is_some_and(|n| n.parse::<usize>().is_ok())
        })
        .count()
}

fn describe_failure(rec: &Record, err: &str) -> String {
    let what = match decode_frame(&rec.frame) {
        Ok((h, _)) => format!(
            "prog={:#x} proc={} type={:?} status={:?}",
            h.program, h.procedure, h.kind, h.status
        ),
        Err(_) => "undecodable header".to_string(),
    };
    let dir = if rec.client_to_server { "C->S" } else { "S->C" };
    format!("  {}#{} {dir} {what}: {err}", rec.folder, rec.index)
}

/// The decoded messages of one capture, in order.
fn decoded_folder(folder: &str) -> Vec<(Header, Decoded)> {
    let data = read_capture(&wire_dir().join(folder).join("frames.bin"));
    split_records(folder, &data)
        .iter()
        .map(|r| check_record(r).expect("message decodes"))
        .collect()
}

fn find(msgs: &[(Header, Decoded)], kind: MessageType, procedure: i32) -> &Decoded {
    msgs.iter()
        .find(|(h, _)| {
            h.kind == kind && h.procedure == procedure && h.program == REMOTE_PROGRAM_NUMBER
        })
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no {kind:?} of procedure {procedure}"))
}

#[test]
fn connect_open_carries_the_uri() {
    let msgs = decoded_folder("list--all");
    match find(&msgs, MessageType::Call, remote_proc::CONNECT_OPEN) {
        Decoded::RemoteArgs(RemoteArgs::ConnectOpen(a)) => {
            assert_eq!(a.name.as_deref(), Some("test:///default"));
            assert_eq!(a.flags, 0);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn missing_domain_reply_is_a_no_domain_error() {
    let msgs = decoded_folder("error-no-such-domain");
    let (h, d) = msgs
        .iter()
        .find(|(h, _)| h.status == MessageStatus::Error)
        .expect("an error reply");
    assert_eq!(
        (h.kind, h.procedure),
        (MessageType::Reply, remote_proc::DOMAIN_LOOKUP_BY_NAME)
    );
    match d {
        Decoded::Error(e) => {
            assert_eq!(e.code, rvirt_protocol::error::code::NO_DOMAIN);
            assert_eq!(e.code, 42);
            assert_eq!(e.domain, 12, "VIR_FROM_TEST");
            assert_eq!(e.message.as_deref(), Some("Domain not found"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn list_all_domains_reply_holds_test() {
    let msgs = decoded_folder("list--all");
    match find(
        &msgs,
        MessageType::Reply,
        remote_proc::CONNECT_LIST_ALL_DOMAINS,
    ) {
        Decoded::RemoteRet(RemoteRet::ConnectListAllDomains(r)) => {
            let names: Vec<&str> = r.domains.iter().map(|d| d.name.as_str()).collect();
            assert_eq!(names, ["test"]);
            assert_eq!(r.domains[0].id, 1);
            assert_eq!(r.ret, 1);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn keepalive_and_qemu_messages_decode_to_their_programs() {
    let events = decoded_folder("event--all--loop");
    assert!(events
        .iter()
        .any(|(_, d)| matches!(d, Decoded::KeepaliveArgs(KeepaliveArgs::Ping))));
    assert!(events
        .iter()
        .any(|(_, d)| matches!(d, Decoded::KeepaliveArgs(KeepaliveArgs::Pong))));
    let lifecycle: Vec<_> = events
        .iter()
        .filter_map(|(h, d)| match d {
            Decoded::RemoteArgs(RemoteArgs::DomainEventCallbackLifecycle(m)) => {
                assert_eq!(h.kind, MessageType::Message);
                assert_eq!(m.msg.dom.name, "anchor2");
                Some((m.msg.dom.id, m.msg.event, m.msg.detail))
            }
            _ => None,
        })
        .collect();
    // STARTED/BOOTED while running as id 3, then STOPPED/DESTROYED with id -1.
    assert_eq!(lifecycle, [(3, 2, 0), (-1, 5, 1)]);
    let qemu = decoded_folder("qemu-monitor-command");
    let reply = qemu
        .iter()
        .find_map(|(_, d)| match d {
            Decoded::QemuRet(QemuRet::DomainMonitorCommand(r)) => Some(r),
            _ => None,
        })
        .expect("a monitor command reply");
    assert!(
        reply.result.contains("return"),
        "QMP reply: {}",
        reply.result
    );
}
