//! Volume upload and download (plugin-api 1.3 streams) over a volume's file.
//!
//! Like libvirt's local backends, a stream works on the file's bytes whatever the
//! volume's format (a qcow2 volume streams its image file, not the guest's view). An
//! upload writes from the offset on, without truncating the file first and without a
//! check against the capacity; with a length it accepts that many bytes and fails the
//! stream with libvirt's `cannot write to stream: No space left on device` on more. A
//! hole on a sparse upload moves the position on and truncates the file there (what
//! libvirt does: the bytes under the hole are left as they were, the file becomes sparse
//! where it grows). A sparse download reports the file's holes as `SEEK_DATA` /
//! `SEEK_HOLE` find them. When an upload ends (finished or aborted) the pool is refreshed
//! and a refresh event sent, as libvirt does on the stream's close.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::unistd::{lseek, Whence};
use rvirt_plugin_api::protocol::{RemoteError, RemoteNonnullStorageVol};
use rvirt_plugin_api::sdk::{Stream, StreamChunk, VolumeStreamArgs, VOLUME_STREAM_SPARSE};

use crate::error::{check_flags, SResult, StorageError};
use crate::events::Event;
use crate::state::Driver;

/// `STORAGE_VOL_UPLOAD` / `STORAGE_VOL_DOWNLOAD`: checks the flags and the volume, opens
/// its file, and gives the stream.
pub fn open(
    drv: &Arc<Driver>,
    procedure: i32,
    args: &[u8],
) -> Result<Box<dyn Stream>, RemoteError> {
    let a = VolumeStreamArgs::decode(procedure, args)?;
    let api = if a.upload {
        "storageVolUpload"
    } else {
        "storageVolDownload"
    };
    check_flags(a.flags, VOLUME_STREAM_SPARSE, api)?;
    let (upload, sparse) = (a.upload, a.sparse());
    let VolumeStreamArgs {
        vol,
        offset,
        length,
        ..
    } = a;
    let path = crate::vol::with_vol(drv, &vol, |p, v| {
        if !crate::backend::of(&p.def)?.streams() {
            let what = if upload { "upload" } else { "download" };
            return Err(StorageError::NoSupport(format!(
                "storage pool doesn't support volume {what}"
            )));
        }
        if p.jobs.contains(&v.name) {
            return Err(StorageError::Invalid(format!(
                "volume '{}' is still being allocated.",
                v.name
            )));
        }
        Ok(v.target_path.clone().unwrap_or_default())
    })?;
    let file = OpenOptions::new()
        .read(!upload)
        .write(upload)
        .open(&path)
        .map_err(|e| StorageError::io(format!("Unable to open stream for '{path}'"), &e))?;
    let limit = (length != 0).then(|| offset.saturating_add(length));
    Ok(if upload {
        Box::new(Upload {
            file,
            path,
            pos: offset,
            limit,
            sparse,
            done: Some((drv.clone(), vol)),
        })
    } else {
        Box::new(Download {
            file,
            path,
            pos: offset,
            limit,
            sparse,
        })
    })
}

/// An upload into the file from `pos` on.
struct Upload {
    file: File,
    path: String,
    pos: u64,
    /// `offset + length` when a length was given.
    limit: Option<u64>,
    sparse: bool,
    /// The volume to refresh when the stream ends (taken then).
    done: Option<(Arc<Driver>, RemoteNonnullStorageVol)>,
}

impl Upload {
    /// How much of `len` bytes may still go in: all of them without a length.
    fn room(&self, len: u64) -> u64 {
        self.limit
            .map_or(len, |l| len.min(l.saturating_sub(self.pos)))
    }

    /// Refreshes the volume's pool and tells every connection, once.
    fn ended(&mut self) {
        if let Some((drv, vol)) = self.done.take() {
            refresh_after_upload(&drv, &vol);
        }
    }
}

impl Stream for Upload {
    fn send(&mut self, data: &[u8]) -> Result<(), RemoteError> {
        let n = self.room(data.len() as u64) as usize;
        if n > 0 {
            self.file
                .write_all_at(&data[..n], self.pos)
                .map_err(|e| StorageError::io(format!("Unable to write {}", self.path), &e))?;
            self.pos += n as u64;
        }
        if n < data.len() {
            return Err(no_space().into());
        }
        Ok(())
    }

    fn hole(&mut self, length: u64) -> Result<(), RemoteError> {
        if !self.sparse {
            return Err(
                StorageError::Invalid("Skipping is not supported with this stream".into()).into(),
            );
        }
        self.pos += self.room(length);
        self.file
            .set_len(self.pos)
            .map_err(|e| StorageError::io(format!("unable to truncate {}", self.path), &e))?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), RemoteError> {
        self.ended();
        Ok(())
    }

    fn abort(&mut self) {
        self.ended();
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        self.ended();
    }
}

/// libvirt's error for data past the requested length.
fn no_space() -> StorageError {
    StorageError::StreamIo(format!("cannot write to stream: {}", Errno::ENOSPC.desc()))
}

/// The pool refresh libvirt runs when an upload stream closes, and its event.
fn refresh_after_upload(drv: &Driver, vol: &RemoteNonnullStorageVol) {
    let pool = {
        let mut pools = drv.lock();
        let Ok(p) = crate::pool::active_mut(&mut pools, &vol.pool) else {
            return;
        };
        let result = match crate::backend::of(&p.def) {
            Ok(b) if p.jobs.is_empty() => b.refresh(p),
            Ok(b) if b.file_volumes() => crate::dir::update_sizes(p),
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!("refreshing pool '{}' after an upload: {e}", vol.pool);
        }
        crate::pool::pool_ref(p)
    };
    drv.emit(Event::Refresh(pool));
}

/// A download of the file from `pos` to `limit` (or its end).
struct Download {
    file: File,
    path: String,
    pos: u64,
    limit: Option<u64>,
    sparse: bool,
}

impl Download {
    /// Where this read must stop: the end of the file (found by seeking, so a block
    /// device's size counts too) or of the requested range.
    fn end(&self) -> SResult<u64> {
        let size = lseek(self.file.as_raw_fd(), 0, Whence::SeekEnd)
            .map_err(|e| self.seek_error(e))? as u64;
        Ok(self.limit.map_or(size, |l| l.min(size)))
    }

    /// On a sparse stream, the hole at `pos` (its length up to `end`) or, in data, how
    /// far the data goes.
    fn section(&self, end: u64) -> SResult<Result<u64, u64>> {
        let fd = self.file.as_raw_fd();
        let seek = |whence| lseek(fd, self.pos as i64, whence);
        let data = match seek(Whence::SeekData) {
            Ok(d) => d as u64,
            Err(Errno::ENXIO) => return Ok(Err(end - self.pos)),
            Err(e) => return Err(self.seek_error(e)),
        };
        if data > self.pos {
            return Ok(Err(data.min(end) - self.pos));
        }
        let hole = seek(Whence::SeekHole).map_err(|e| self.seek_error(e))? as u64;
        Ok(Ok(hole.min(end) - self.pos))
    }

    fn seek_error(&self, e: Errno) -> StorageError {
        StorageError::errno(format!("unable to seek in {}", self.path), e)
    }
}

impl Stream for Download {
    fn recv(&mut self, max: usize, _wait: Duration) -> Result<StreamChunk, RemoteError> {
        let end = self.end()?;
        if self.pos >= end {
            return Ok(StreamChunk::End);
        }
        let mut want = end - self.pos;
        if self.sparse {
            match self.section(end)? {
                Err(hole) => {
                    self.pos += hole;
                    return Ok(StreamChunk::Hole(hole));
                }
                Ok(data) => want = data,
            }
        }
        let mut buf = vec![0u8; want.min(max as u64) as usize];
        let n = self
            .file
            .read_at(&mut buf, self.pos)
            .map_err(|e| StorageError::io(format!("Unable to read {}", self.path), &e))?;
        if n == 0 {
            return Ok(StreamChunk::End);
        }
        buf.truncate(n);
        self.pos += n as u64;
        Ok(StreamChunk::Data(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("rvirt-storage-stream-{tag}-{}", std::process::id()))
    }

    fn drain(d: &mut Download) -> Vec<StreamChunk> {
        let mut out = Vec::new();
        loop {
            match d.recv(1 << 20, Duration::ZERO).unwrap() {
                StreamChunk::End => return out,
                c => out.push(c),
            }
        }
    }

    #[test]
    fn sparse_download_reports_the_file_holes() {
        let path = temp("holes");
        let mut f = File::create(&path).unwrap();
        f.set_len(4 << 20).unwrap();
        f.write_all_at(&[7u8; 4096], 1 << 20).unwrap();
        f.flush().unwrap();
        let open = |sparse, limit| Download {
            file: File::open(&path).unwrap(),
            path: path.display().to_string(),
            pos: 0,
            limit,
            sparse,
        };
        let chunks = drain(&mut open(true, None));
        assert_eq!(chunks[0], StreamChunk::Hole(1 << 20));
        assert_eq!(chunks[1], StreamChunk::Data(vec![7u8; 4096]));
        assert_eq!(chunks[2], StreamChunk::Hole((3 << 20) - 4096));
        let dense = drain(&mut open(false, Some(2 << 20)));
        let bytes: usize = dense
            .iter()
            .map(|c| match c {
                StreamChunk::Data(d) => d.len(),
                other => panic!("dense streams send data only, got {other:?}"),
            })
            .sum();
        assert_eq!(bytes, 2 << 20);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn upload_honours_the_length_and_truncates_at_holes() {
        let path = temp("up");
        std::fs::write(&path, vec![1u8; 8192]).unwrap();
        let mut u = Upload {
            file: OpenOptions::new().write(true).open(&path).unwrap(),
            path: path.display().to_string(),
            pos: 1024,
            limit: Some(3072),
            sparse: true,
            done: None,
        };
        u.send(&[2u8; 1024]).unwrap();
        u.hole(512).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            2560,
            "a hole truncates"
        );
        let e = u.send(&[3u8; 1024]).unwrap_err();
        assert_eq!(e.text(), "cannot write to stream: No space left on device");
        let data = std::fs::read(&path).unwrap();
        assert_eq!(&data[1024..2048], &[2u8; 1024]);
        assert_eq!(&data[2560..3072], &[3u8; 512], "what fits is written");
        let _ = std::fs::remove_file(&path);
    }
}
