//! The typed SDK: what a driver author implements.

use std::sync::Arc;

pub use rvirt_protocol::error::{code, domain};
pub use rvirt_protocol::{DriverKind, QemuHandler, RemoteError, RemoteHandler};

/// One connection driver a module provides.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverSpec {
    pub kind: DriverKind,
    /// Short name, e.g. `test`, `QEMU`.
    pub name: String,
    /// URI schemes it serves (`test`, `qemu`); empty for a secondary driver that serves
    /// every connection.
    pub uri_schemes: Vec<String>,
    /// Implemented procedures per program number.
    pub procedures: Vec<(u32, Vec<i32>)>,
}

/// Module feature: none of the module's calls ever block (no I/O, no waiting on a
/// hypervisor), so a host may answer them inline on the thread that read the request
/// instead of handing them to a worker thread.
pub const FEATURE_NONBLOCKING_CALLS: &str = "nonblocking-calls";

/// Module feature: the module tells privileged clients from the rest
/// ([`ConnContext::privileged`]). Modules built with this SDK declare it automatically;
/// a host sets [`OPEN_FLAG_UNPRIVILEGED_CLIENT`] in the open flags only for modules that
/// declare it, so older modules never see the bit.
pub const FEATURE_CLIENT_IDENTITY: &str = "client-identity";

/// Host feature (in [`InitContext::host_features`]): this start of the daemon resumes one
/// that exited because it was idle (socket activation, `--timeout`), so autostart has
/// already happened since the host booted; drivers skip it, as they would not start a
/// guest, network or pool again that a user stopped meanwhile.
pub const HOST_FEATURE_RESUMED: &str = "resumed-after-idle-exit";

/// Open flag a host sets (to modules declaring [`FEATURE_CLIENT_IDENTITY`]) when the
/// client is neither root nor the daemon's own user. The SDK removes it from the flags
/// the module sees and clears [`ConnContext::privileged`] instead. libvirt's own
/// `virConnectOpen` flags use the low bits only.
pub const OPEN_FLAG_UNPRIVILEGED_CLIENT: u32 = 1 << 31;

/// What a module says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleInfo {
    pub name: String,
    pub version: String,
    pub has_state_driver: bool,
    pub drivers: Vec<DriverSpec>,
    /// Optional capabilities this module offers (unknown ones are ignored by hosts).
    pub features: Vec<String>,
}

/// Outcome of a state driver's initialize hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitStatus {
    Complete,
    Skipped,
}

/// What the host tells a module at initialize.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InitContext {
    pub privileged: bool,
    /// The module's own `[drivers.NAME]` table, as TOML text.
    pub config_toml: String,
    pub host_version: String,
    pub host_features: Vec<String>,
    /// A directory the module may keep state in.
    pub state_dir: String,
}

/// Identity of a connection, for event emission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnContext {
    pub driver: u32,
    pub handle: u64,
    pub read_only: bool,
    /// The client is root or the daemon's own user (always true in embedded mode, where
    /// the client is the process itself). Drivers that touch host files on a client's
    /// behalf (such as the test driver's `test:///PATH`) refuse unprivileged clients.
    pub privileged: bool,
}

/// Result of [`Module::open`].
pub enum OpenOutcome {
    /// Not this driver's URI; the host tries the next driver.
    Declined,
    Opened(Arc<dyn Connection>),
}

/// A driver module. Runs inside the host process; every method is called under a panic guard.
pub trait Module: Send + Sync {
    fn info(&self) -> ModuleInfo;

    fn initialize(&self, _ctx: &InitContext) -> Result<InitStatus, RemoteError> {
        Ok(InitStatus::Complete)
    }

    fn reload(&self) -> Result<(), RemoteError> {
        Ok(())
    }

    fn shutdown_prepare(&self) -> Result<(), RemoteError> {
        Ok(())
    }

    fn shutdown_wait(&self) -> Result<(), RemoteError> {
        Ok(())
    }

    fn cleanup(&self) -> Result<(), RemoteError> {
        Ok(())
    }

    /// Open a connection on driver `ctx.driver` (index into `info().drivers`).
    fn open(&self, ctx: ConnContext, uri: &str, flags: u32) -> Result<OpenOutcome, RemoteError>;
}

/// One open connection.
pub trait Connection: Send + Sync {
    /// One procedure: XDR arguments in, XDR reply out.
    fn call(&self, program: u32, procedure: i32, args: &[u8]) -> Result<Vec<u8>, RemoteError>;

    /// A stream-opening procedure (one marked `@stream` in protocol/defs, such as
    /// `STORAGE_VOL_UPLOAD`): XDR arguments in, the call's normal XDR reply out, plus the
    /// open [`Stream`] the host then feeds or drains. Only called for procedures the
    /// driver declares both in their own program and, with [`STREAM_PROCEDURES`], in
    /// [`STREAM_PROGRAM`] (see docs/abi.md "Streams").
    fn open_stream(
        &self,
        program: u32,
        procedure: i32,
        _args: &[u8],
    ) -> Result<(Vec<u8>, Box<dyn Stream>), RemoteError> {
        Err(stream_unsupported(program, procedure))
    }

    fn close(&self) {}
}

/// The "not supported" error of a stream-opening procedure a driver does not serve.
pub fn stream_unsupported(program: u32, procedure: i32) -> RemoteError {
    let name = rvirt_protocol::procedure(program, procedure).map_or("stream", |p| p.api_name);
    RemoteError::unsupported(name)
}

/// rvirt's module-boundary program for data streams (`RVIRT_STREAM_PROGRAM`).
pub const STREAM_PROGRAM: u32 = rvirt_protocol::RVIRT_STREAM_PROGRAM as u32;

/// The procedures of [`STREAM_PROGRAM`]; a driver that implements
/// [`Connection::open_stream`] declares `(STREAM_PROGRAM, STREAM_PROCEDURES.to_vec())`.
pub const STREAM_PROCEDURES: &[i32] = &[
    rvirt_protocol::RVIRT_STREAM_PROC_OPEN as i32,
    rvirt_protocol::RVIRT_STREAM_PROC_SEND as i32,
    rvirt_protocol::RVIRT_STREAM_PROC_HOLE as i32,
    rvirt_protocol::RVIRT_STREAM_PROC_RECV as i32,
    rvirt_protocol::RVIRT_STREAM_PROC_FINISH as i32,
    rvirt_protocol::RVIRT_STREAM_PROC_ABORT as i32,
];

/// The stream-opening calls of a storage driver: volume upload and download.
pub const VOLUME_STREAM_OPENERS: &[i32] = &[
    rvirt_protocol::remote_proc::STORAGE_VOL_UPLOAD,
    rvirt_protocol::remote_proc::STORAGE_VOL_DOWNLOAD,
];

/// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM` / `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
pub const VOLUME_STREAM_SPARSE: u32 = rvirt_protocol::facts::vol_stream::SPARSE_STREAM;

/// The arguments of a volume upload or download, whichever call opened the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeStreamArgs {
    /// `STORAGE_VOL_UPLOAD` (else a download).
    pub upload: bool,
    pub vol: rvirt_protocol::RemoteNonnullStorageVol,
    pub offset: u64,
    pub length: u64,
    pub flags: u32,
}

impl VolumeStreamArgs {
    /// Decodes the arguments of `procedure`, one of [`VOLUME_STREAM_OPENERS`].
    pub fn decode(procedure: i32, args: &[u8]) -> Result<VolumeStreamArgs, RemoteError> {
        use rvirt_protocol::xdr::from_bytes;
        if procedure == rvirt_protocol::remote_proc::STORAGE_VOL_UPLOAD {
            let a: rvirt_protocol::RemoteStorageVolUploadArgs = from_bytes(args)?;
            Ok(VolumeStreamArgs {
                upload: true,
                vol: a.vol,
                offset: a.offset,
                length: a.length,
                flags: a.flags,
            })
        } else {
            let a: rvirt_protocol::RemoteStorageVolDownloadArgs = from_bytes(args)?;
            Ok(VolumeStreamArgs {
                upload: false,
                vol: a.vol,
                offset: a.offset,
                length: a.length,
                flags: a.flags,
            })
        }
    }

    /// Whether the stream carries holes.
    pub fn sparse(&self) -> bool {
        self.flags & VOLUME_STREAM_SPARSE != 0
    }
}

/// What [`Stream::recv`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamChunk {
    /// Bytes, at most the `max` asked for.
    Data(Vec<u8>),
    /// A run of zeros this long; only on streams opened sparse (a module answers
    /// zeros as [`StreamChunk::Data`] otherwise).
    Hole(u64),
    /// No more data: the host sends the end of the stream and waits for the client.
    End,
    /// Nothing arrived within the wait; the host asks again later.
    Idle,
}

/// One open data stream of a connection, driven by the host one call at a time (never
/// two calls at once on the same stream). A failed call (an error or a panic) ends the
/// stream: the host sends the error to the client and makes no more calls on it, and
/// the SDK calls [`Stream::abort`] and drops it.
/// Dropping a stream that was neither finished nor aborted must release it as
/// [`Stream::abort`] would.
pub trait Stream: Send {
    /// Upload data, in order.
    fn send(&mut self, _data: &[u8]) -> Result<(), RemoteError> {
        Err(stream_direction("send to"))
    }

    /// A run of `length` zero bytes on a sparse upload.
    fn hole(&mut self, _length: u64) -> Result<(), RemoteError> {
        Err(stream_direction("send a hole to"))
    }

    /// Download: up to `max` bytes, a hole, or the end. May wait up to `wait` for data
    /// (a console would); a module with data at hand answers at once.
    fn recv(
        &mut self,
        _max: usize,
        _wait: std::time::Duration,
    ) -> Result<StreamChunk, RemoteError> {
        Err(stream_direction("receive from"))
    }

    /// The client finished the stream: make the upload durable, release everything.
    fn finish(&mut self) -> Result<(), RemoteError> {
        Ok(())
    }

    /// The client aborted or went away: release everything, keep nothing half-done
    /// that the driver would not keep after a failed write anyway.
    fn abort(&mut self) {}
}

fn stream_direction(what: &str) -> RemoteError {
    RemoteError::new(
        code::OPERATION_INVALID,
        domain::STREAMS,
        format!("operation is not valid: cannot {what} this stream"),
    )
}

/// Routes a call to typed REMOTE program handlers.
pub fn dispatch_remote<H: RemoteHandler + ?Sized>(
    handler: &H,
    program: u32,
    procedure: i32,
    args: &[u8],
) -> Result<Vec<u8>, RemoteError> {
    match program {
        rvirt_protocol::REMOTE_PROGRAM_NUMBER => {
            rvirt_protocol::dispatch_remote(handler, procedure, args)
        }
        other => Err(unknown_program(other)),
    }
}

/// Routes a call to typed REMOTE and QEMU program handlers.
pub fn dispatch_remote_and_qemu<H: RemoteHandler + QemuHandler + ?Sized>(
    handler: &H,
    program: u32,
    procedure: i32,
    args: &[u8],
) -> Result<Vec<u8>, RemoteError> {
    match program {
        rvirt_protocol::QEMU_PROGRAM_NUMBER => {
            rvirt_protocol::dispatch_qemu(handler, procedure, args)
        }
        _ => dispatch_remote(handler, program, procedure, args),
    }
}

fn unknown_program(program: u32) -> RemoteError {
    RemoteError::new(
        code::RPC,
        domain::RPC,
        format!("unknown program {program:#x}"),
    )
}

/// The C library's text for an I/O error, as libvirt prints it after a colon: the
/// description alone, without Rust's " (os error N)" suffix.
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match (e.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_string(),
        _ => text,
    }
}

/// The procedures of `program` that a connection implements, sorted: each is called
/// through `call` with default arguments, and whatever does not answer libvirt's "not
/// supported" error is implemented. A driver's unit test compares this with the list its
/// descriptor declares, so the two cannot drift apart.
pub fn implemented_procedures(
    program: u32,
    call: impl Fn(u32, i32, &[u8]) -> Result<Vec<u8>, RemoteError>,
) -> Vec<i32> {
    let default_args = match program {
        rvirt_protocol::REMOTE_PROGRAM_NUMBER => rvirt_protocol::default_args_remote,
        rvirt_protocol::QEMU_PROGRAM_NUMBER => rvirt_protocol::default_args_qemu,
        _ => return Vec::new(),
    };
    let mut implemented = Vec::new();
    for p in rvirt_protocol::procedures(program).unwrap_or_default() {
        let Some(args) = default_args(p.number) else {
            continue;
        };
        let unsupported = RemoteError::unsupported(p.api_name);
        match call(program, p.number, &args) {
            Err(e) if e.code == unsupported.code && e.text() == unsupported.text() => {}
            _ => implemented.push(p.number),
        }
    }
    implemented.sort_unstable();
    implemented
}

/// `declared` sorted, for comparing with [`implemented_procedures`].
pub fn sorted(declared: &[i32]) -> Vec<i32> {
    let mut v = declared.to_vec();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod strerror_tests {
    #[test]
    fn os_errors_lose_the_suffix() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(super::strerror(&e), "No such file or directory");
        let e = std::io::Error::other("plain");
        assert_eq!(super::strerror(&e), "plain");
    }
}
