//! Data streams: the `@stream` procedures (volume upload and download) over the remote
//! transport. A stream call gets its normal reply, then data flows as STREAM messages
//! carrying the call's serial, and a finish handshake closes it; the connection is held
//! for the whole transfer, so a progress callback must not call into the same connection
//! (it would wait for itself); another connection is fine. Embedded connections drive
//! the driver module's stream procedures in-process (`crate::stream`), with the same
//! result: a driver without streams answers libvirt's "not supported" error.

use std::io::{Read, Write};

use rvirt_protocol as p;
use rvirt_protocol::RemoteError;

use super::{Backend, Connect, StorageVol};

/// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`.
pub const VOL_UPLOAD_SPARSE_STREAM: u32 = 1;
/// `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
pub const VOL_DOWNLOAD_SPARSE_STREAM: u32 = 1;

/// Where a stream transfer failed, matching the three steps of libvirt's API (the call
/// that opens the stream, the data, `virStreamFinish`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStage {
    Open,
    Transfer,
    Finish,
}

/// A failed stream transfer: the step and the error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", error.text())]
pub struct StreamError {
    pub stage: StreamStage,
    pub error: RemoteError,
}

impl From<StreamError> for RemoteError {
    fn from(e: StreamError) -> RemoteError {
        e.error
    }
}

impl Connect {
    /// Calls a write-stream procedure and sends everything `src` yields, then finishes
    /// the stream. `progress` gets the bytes sent so far. Returns the byte count.
    pub fn upload_stream(
        &self,
        program: u32,
        procedure: i32,
        args: &[u8],
        src: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StreamError> {
        match &self.inner.backend {
            Backend::Remote(t) => t.stream_upload(program, procedure, args, src, progress),
            Backend::Embedded(d) => embedded_upload(d, program, procedure, args, src, progress),
        }
    }

    /// Calls a read-stream procedure and writes the data it returns to `dst`, then
    /// finishes the stream. `progress` gets the bytes received so far.
    pub fn download_stream(
        &self,
        program: u32,
        procedure: i32,
        args: &[u8],
        dst: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StreamError> {
        match &self.inner.backend {
            Backend::Remote(t) => t.stream_download(program, procedure, args, dst, progress),
            Backend::Embedded(d) => embedded_download(d, program, procedure, args, dst, progress),
        }
    }

    /// `virStorageVolUpload` plus the stream: writes all of `src` into the volume at
    /// `offset`. As in libvirt, a non-zero `length` is enforced by the server, which
    /// fails the stream when `src` holds more.
    pub fn storage_vol_upload_from(
        &self,
        vol: &p::RemoteNonnullStorageVol,
        offset: u64,
        length: u64,
        flags: u32,
        mut src: impl Read,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StreamError> {
        let args = p::RemoteStorageVolUploadArgs {
            vol: vol.clone(),
            offset,
            length,
            flags,
        };
        self.upload_stream(
            p::REMOTE_PROGRAM_NUMBER,
            p::remote_proc::STORAGE_VOL_UPLOAD,
            &p::xdr::to_bytes(&args),
            &mut src,
            &mut progress,
        )
    }

    /// `virStorageVolDownload` plus the stream: writes the volume's bytes from `offset`
    /// (at most `length`; 0 means to the end) into `dst`.
    pub fn storage_vol_download_to(
        &self,
        vol: &p::RemoteNonnullStorageVol,
        offset: u64,
        length: u64,
        flags: u32,
        mut dst: impl Write,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, StreamError> {
        let args = p::RemoteStorageVolDownloadArgs {
            vol: vol.clone(),
            offset,
            length,
            flags,
        };
        self.download_stream(
            p::REMOTE_PROGRAM_NUMBER,
            p::remote_proc::STORAGE_VOL_DOWNLOAD,
            &p::xdr::to_bytes(&args),
            &mut dst,
            &mut progress,
        )
    }
}

impl StorageVol {
    /// Uploads all of `src` into the volume at `offset`; a non-zero `length` caps the
    /// transfer on the server side (more data fails the stream, as in libvirt).
    /// `progress` gets the bytes sent so far. Returns the byte count.
    pub fn upload(
        &self,
        offset: u64,
        length: u64,
        flags: u32,
        src: impl Read,
        progress: impl FnMut(u64),
    ) -> Result<u64, StreamError> {
        let (conn, raw) = self.parts();
        conn.storage_vol_upload_from(raw, offset, length, flags, src, progress)
    }

    /// Downloads the volume from `offset`, at most `length` bytes (0: to the end), into
    /// `dst`. `progress` gets the bytes received so far. Returns the byte count.
    pub fn download(
        &self,
        offset: u64,
        length: u64,
        flags: u32,
        dst: impl Write,
        progress: impl FnMut(u64),
    ) -> Result<u64, StreamError> {
        let (conn, raw) = self.parts();
        conn.storage_vol_download_to(raw, offset, length, flags, dst, progress)
    }
}

fn at(stage: StreamStage) -> impl Fn(RemoteError) -> StreamError + Copy {
    move |error| StreamError { stage, error }
}

/// A local I/O failure of the stream's source or sink, in libvirt's streams domain.
fn local_error(what: &str, e: &std::io::Error) -> StreamError {
    use rvirt_protocol::error::{code, domain};
    at(StreamStage::Transfer)(RemoteError::new(
        code::SYSTEM_ERROR,
        domain::STREAMS,
        format!("{what}: {e}"),
    ))
}

/// A write stream on an embedded connection: the module's SEND, then FINISH. Dropping
/// the stream on an error aborts it in the module.
fn embedded_upload(
    d: &crate::dispatch::DriverConnection,
    program: u32,
    procedure: i32,
    args: &[u8],
    src: &mut dyn Read,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, StreamError> {
    let (_, mut st) = d
        .open_stream(program, procedure, args)
        .map_err(at(StreamStage::Open))?;
    let mut buf = vec![0u8; crate::remote::STREAM_CHUNK];
    let mut total = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(local_error("cannot read the upload source", &e)),
        };
        st.send(&buf[..n]).map_err(at(StreamStage::Transfer))?;
        total += n as u64;
        progress(total);
    }
    st.finish().map_err(at(StreamStage::Finish))?;
    Ok(total)
}

/// A read stream on an embedded connection: the module's RECV until its end, holes
/// written as zeros, then FINISH.
fn embedded_download(
    d: &crate::dispatch::DriverConnection,
    program: u32,
    procedure: i32,
    args: &[u8],
    dst: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, StreamError> {
    use crate::stream::Chunk;
    let (_, mut st) = d
        .open_stream(program, procedure, args)
        .map_err(at(StreamStage::Open))?;
    let wait = std::time::Duration::from_millis(500);
    let mut total = 0u64;
    loop {
        let written = match st
            .recv(crate::remote::STREAM_CHUNK, wait)
            .map_err(at(StreamStage::Transfer))?
        {
            Chunk::Data(b) => dst.write_all(&b).map(|()| b.len() as u64),
            Chunk::Hole(n) => crate::remote::write_zeros(dst, n).map(|()| n),
            Chunk::End => break,
            Chunk::Idle => Ok(0),
        };
        let n = written.map_err(|e| local_error("cannot write the download sink", &e))?;
        total += n;
        progress(total);
    }
    dst.flush()
        .map_err(|e| local_error("cannot write the download sink", &e))?;
    st.finish().map_err(at(StreamStage::Finish))?;
    Ok(total)
}
