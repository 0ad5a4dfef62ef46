//! Data streams: the `@stream` procedures (volume upload and download) over the remote
//! transport. A stream call gets its normal reply, then data flows as STREAM messages
//! carrying the call's serial, and a finish handshake closes it; the connection is held
//! for the whole transfer, so a progress callback must not call into the same connection
//! (it would wait for itself); another connection is fine. Embedded connections have no stream-capable driver yet and
//! answer libvirt's "not supported" error.

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
        api: &str,
        src: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StreamError> {
        match &self.inner.backend {
            Backend::Remote(t) => t.stream_upload(program, procedure, args, src, progress),
            Backend::Embedded(_) => Err(unsupported(api)),
        }
    }

    /// Calls a read-stream procedure and writes the data it returns to `dst`, then
    /// finishes the stream. `progress` gets the bytes received so far.
    pub fn download_stream(
        &self,
        program: u32,
        procedure: i32,
        args: &[u8],
        api: &str,
        dst: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StreamError> {
        match &self.inner.backend {
            Backend::Remote(t) => t.stream_download(program, procedure, args, dst, progress),
            Backend::Embedded(_) => Err(unsupported(api)),
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
            "virStorageVolUpload",
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
            "virStorageVolDownload",
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

fn unsupported(api: &str) -> StreamError {
    StreamError {
        stage: StreamStage::Open,
        error: RemoteError::unsupported(api),
    }
}
