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
pub const VOL_UPLOAD_SPARSE_STREAM: u32 = rvirt_protocol::facts::vol_stream::SPARSE_STREAM;
/// `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
pub const VOL_DOWNLOAD_SPARSE_STREAM: u32 = rvirt_protocol::facts::vol_stream::SPARSE_STREAM;

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
    /// the stream. With `sparse` (the call must open a sparse stream), runs of zeros in
    /// whole 64 KiB pieces are sent as holes. `progress` gets the bytes sent so far.
    /// Returns the byte count.
    pub fn upload_stream(
        &self,
        program: u32,
        procedure: i32,
        args: &[u8],
        src: &mut dyn Read,
        sparse: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StreamError> {
        match &self.inner.backend {
            Backend::Remote(t) => t.stream_upload(program, procedure, args, src, sparse, progress),
            Backend::Embedded(d) => {
                embedded_upload(d, (program, procedure, args), src, sparse, progress)
            }
        }
    }

    /// Calls a read-stream procedure and hands the data and holes it returns to `dst`,
    /// then finishes the stream. `progress` gets the bytes received so far.
    pub fn download_stream(
        &self,
        program: u32,
        procedure: i32,
        args: &[u8],
        dst: &mut dyn StreamSink,
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
            flags & VOL_UPLOAD_SPARSE_STREAM != 0,
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
        dst: impl Write,
        progress: impl FnMut(u64),
    ) -> Result<u64, StreamError> {
        let mut dense = Dense(dst);
        self.storage_vol_download_into(vol, offset, length, flags, &mut dense, progress)
    }

    /// Like [`Connect::storage_vol_download_to`], handing data and holes to `dst`; with
    /// [`VOL_DOWNLOAD_SPARSE_STREAM`] in `flags` the server sends holes (a
    /// [`SparseFile`] keeps them).
    pub fn storage_vol_download_into(
        &self,
        vol: &p::RemoteNonnullStorageVol,
        offset: u64,
        length: u64,
        flags: u32,
        dst: &mut dyn StreamSink,
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
            dst,
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

    /// Like [`StorageVol::download`], handing data and holes to `dst` (with
    /// [`VOL_DOWNLOAD_SPARSE_STREAM`], holes stay holes in a [`SparseFile`]).
    pub fn download_into(
        &self,
        offset: u64,
        length: u64,
        flags: u32,
        dst: &mut dyn StreamSink,
        progress: impl FnMut(u64),
    ) -> Result<u64, StreamError> {
        let (conn, raw) = self.parts();
        conn.storage_vol_download_into(raw, offset, length, flags, dst, progress)
    }
}

/// Where a download goes: data, and holes (runs of zeros) of a sparse stream.
pub trait StreamSink {
    fn data(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// `len` zero bytes.
    fn hole(&mut self, len: u64) -> std::io::Result<()>;
    /// The data is over.
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink that writes everything, holes as zeros.
pub struct Dense<W>(pub W);

impl<W: Write> StreamSink for Dense<W> {
    fn data(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes)
    }
    fn hole(&mut self, len: u64) -> std::io::Result<()> {
        crate::remote::write_zeros(&mut self.0, len)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// A file that keeps a sparse download's holes: data is written, holes are skipped
/// by seeking, and the file is sized at the end (so a trailing hole counts).
pub struct SparseFile<'a> {
    file: &'a mut std::fs::File,
    /// Bytes received, data and holes.
    pub received: u64,
    /// Hole bytes received.
    pub hole_bytes: u64,
}

impl<'a> SparseFile<'a> {
    pub fn new(file: &'a mut std::fs::File) -> SparseFile<'a> {
        SparseFile {
            file,
            received: 0,
            hole_bytes: 0,
        }
    }
}

impl StreamSink for SparseFile<'_> {
    fn data(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.received += bytes.len() as u64;
        self.file.write_all(bytes)
    }
    fn hole(&mut self, len: u64) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom};
        self.received += len;
        self.hole_bytes += len;
        let by = i64::try_from(len).map_err(std::io::Error::other)?;
        self.file.seek(SeekFrom::Current(by)).map(drop)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        use std::io::Seek;
        let end = self.file.stream_position()?;
        if self.file.metadata()?.len() < end {
            self.file.set_len(end)?;
        }
        self.file.flush()
    }
}

/// Hole detection granularity of sparse uploads.
const HOLE_PIECE: usize = 64 * 1024;

/// One part of a sparse upload's buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Data(&'a [u8]),
    Hole(u64),
}

/// Splits `buf` into data and holes: each whole 64 KiB piece (and a shorter last one)
/// of zeros is a hole, neighbouring pieces of a kind are merged.
pub(crate) fn split_holes(buf: &[u8]) -> Vec<Piece<'_>> {
    let mut out: Vec<Piece<'_>> = Vec::new();
    let mut start = 0;
    for chunk in buf.chunks(HOLE_PIECE) {
        let zero = chunk.iter().all(|&b| b == 0);
        let end = start + chunk.len();
        match (out.last_mut(), zero) {
            (Some(Piece::Hole(n)), true) => *n += chunk.len() as u64,
            (Some(Piece::Data(d)), false) => *d = &buf[end - chunk.len() - d.len()..end],
            (_, true) => out.push(Piece::Hole(chunk.len() as u64)),
            (_, false) => out.push(Piece::Data(chunk)),
        }
        start = end;
    }
    out
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

/// A write stream on an embedded connection: the module's SEND (and HOLE when
/// `sparse`), then FINISH. Dropping the stream on an error aborts it in the module.
fn embedded_upload(
    d: &crate::dispatch::DriverConnection,
    (program, procedure, args): (u32, i32, &[u8]),
    src: &mut dyn Read,
    sparse: bool,
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
        let pieces = if sparse {
            split_holes(&buf[..n])
        } else {
            vec![Piece::Data(&buf[..n])]
        };
        for piece in pieces {
            match piece {
                Piece::Data(b) => st.send(b),
                Piece::Hole(len) => st.hole(len),
            }
            .map_err(at(StreamStage::Transfer))?;
        }
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
    dst: &mut dyn StreamSink,
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
            Chunk::Data(b) => dst.data(&b).map(|()| b.len() as u64),
            Chunk::Hole(n) => dst.hole(n).map(|()| n),
            Chunk::End => break,
            Chunk::Idle => Ok(0),
        };
        let n = written.map_err(|e| local_error("cannot write the download sink", &e))?;
        total += n;
        progress(total);
    }
    dst.finish()
        .map_err(|e| local_error("cannot write the download sink", &e))?;
    st.finish().map_err(at(StreamStage::Finish))?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_pieces_become_holes() {
        let mut buf = vec![0u8; 5 * HOLE_PIECE + 10];
        buf[HOLE_PIECE + 3] = 1;
        buf[2 * HOLE_PIECE] = 2;
        buf[5 * HOLE_PIECE + 9] = 3;
        let pieces = split_holes(&buf);
        assert_eq!(
            pieces,
            [
                Piece::Hole(HOLE_PIECE as u64),
                Piece::Data(&buf[HOLE_PIECE..3 * HOLE_PIECE]),
                Piece::Hole(2 * HOLE_PIECE as u64),
                Piece::Data(&buf[5 * HOLE_PIECE..]),
            ]
        );
        assert_eq!(split_holes(&[0u8; 7]), [Piece::Hole(7)]);
        assert!(split_holes(&[]).is_empty());
    }
}
