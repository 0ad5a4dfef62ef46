//! Volume contents and the upload/download streams over them (plugin-api 1.3 streams).
//!
//! A volume's bytes live in memory as 64 KiB blocks; a block never written, or written
//! with zeros only, is not stored, so a sparse volume costs only its data. A volume
//! holds at most its capacity and at most [`MAX_VOL_DATA`] stored bytes. Sparse
//! downloads report the missing blocks as holes; sparse uploads drop holes' blocks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rvirt_plugin_api::protocol::{RemoteError, RemoteNonnullStorageVol};
use rvirt_plugin_api::sdk::{Stream, StreamChunk, VolumeStreamArgs, VOLUME_STREAM_SPARSE};

use crate::error::{check_flags, TestError, TestResult};
use crate::state::{Driver, Inner};

/// Bytes per stored block.
pub const BLOCK: u64 = 64 * 1024;

/// Stored bytes one volume may hold (the test driver keeps everything in memory).
pub const MAX_VOL_DATA: u64 = 256 * 1024 * 1024;

/// The stored blocks of one volume, by block index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolData {
    blocks: BTreeMap<u64, Box<[u8]>>,
}

impl VolData {
    /// Bytes held in memory.
    pub fn stored(&self) -> u64 {
        self.blocks.len() as u64 * BLOCK
    }

    /// How many blocks of `[start, end)` are not stored.
    fn missing(&self, start: u64, end: u64) -> u64 {
        if end <= start {
            return 0;
        }
        let (first, last) = (start / BLOCK, (end - 1) / BLOCK);
        let present = self.blocks.range(first..=last).count() as u64;
        last - first + 1 - present
    }

    /// Writes `data` at `offset`; blocks left all zero are dropped.
    fn write(&mut self, mut offset: u64, mut data: &[u8]) {
        while !data.is_empty() {
            let (idx, at) = (offset / BLOCK, (offset % BLOCK) as usize);
            let n = data.len().min(BLOCK as usize - at);
            let (part, rest) = data.split_at(n);
            let present = self.blocks.contains_key(&idx);
            if present || part.iter().any(|&b| b != 0) {
                let block = self
                    .blocks
                    .entry(idx)
                    .or_insert_with(|| vec![0u8; BLOCK as usize].into_boxed_slice());
                block[at..at + n].copy_from_slice(part);
                if block.iter().all(|&b| b == 0) {
                    self.blocks.remove(&idx);
                }
            }
            offset += n as u64;
            data = rest;
        }
    }

    /// Zeroes `len` bytes from `offset`, dropping the blocks that become empty.
    fn zero(&mut self, offset: u64, len: u64) {
        let end = offset.saturating_add(len);
        let mut at = offset;
        while at < end {
            let idx = at / BLOCK;
            let block_end = (idx + 1) * BLOCK;
            let upto = end.min(block_end);
            if at.is_multiple_of(BLOCK) && upto == block_end {
                // Whole blocks: drop the run without visiting missing ones.
                let last = end / BLOCK;
                let doomed: Vec<u64> = self.blocks.range(idx..last).map(|(k, _)| *k).collect();
                for k in doomed {
                    self.blocks.remove(&k);
                }
                at = last * BLOCK;
                continue;
            }
            if let Some(b) = self.blocks.get_mut(&idx) {
                b[(at % BLOCK) as usize..(upto - idx * BLOCK) as usize].fill(0);
                if b.iter().all(|&x| x == 0) {
                    self.blocks.remove(&idx);
                }
            }
            at = upto;
        }
    }

    /// Forgets everything at or beyond `size` (a shrink).
    pub fn truncate(&mut self, size: u64) {
        let doomed: Vec<u64> = self
            .blocks
            .range(size.div_ceil(BLOCK)..)
            .map(|(k, _)| *k)
            .collect();
        for k in doomed {
            self.blocks.remove(&k);
        }
        if !size.is_multiple_of(BLOCK) {
            self.zero(size, BLOCK - size % BLOCK);
        }
    }

    /// What a reader at `pos` gets, reading at most `max` bytes and not past `end`:
    /// with `sparse`, a hole over missing blocks, else bytes (zeros where nothing is
    /// stored), stopping before a missing block when `sparse`.
    fn read(&self, pos: u64, end: u64, max: usize, sparse: bool) -> StreamChunk {
        if pos >= end {
            return StreamChunk::End;
        }
        let present = |idx: u64| self.blocks.contains_key(&idx);
        if sparse && !present(pos / BLOCK) {
            let next = self
                .blocks
                .range(pos / BLOCK..)
                .next()
                .map_or(end, |(k, _)| k * BLOCK);
            return StreamChunk::Hole(next.min(end) - pos);
        }
        let want = (end - pos).min(max as u64);
        let mut out = Vec::with_capacity(want as usize);
        let mut at = pos;
        while at < pos + want {
            let idx = at / BLOCK;
            let upto = (pos + want).min((idx + 1) * BLOCK);
            let range = (at - idx * BLOCK) as usize..(upto - idx * BLOCK) as usize;
            match self.blocks.get(&idx) {
                Some(b) => out.extend_from_slice(&b[range]),
                None if sparse => break,
                None => out.resize(out.len() + range.len(), 0),
            }
            at = upto;
        }
        StreamChunk::Data(out)
    }
}

/// Which volume a stream works on; looked up again on every step, so a volume deleted
/// mid-stream fails the stream.
struct Target {
    drv: Arc<Driver>,
    vol: RemoteNonnullStorageVol,
}

impl Target {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> TestResult<R>) -> Result<R, RemoteError> {
        self.drv.write(|s, _| f(s))
    }
}

/// Applies `f` to the volume's data, then its allocation and its pool's accounting;
/// refuses writes past capacity or past [`MAX_VOL_DATA`].
fn update(
    s: &mut Inner,
    r: &RemoteNonnullStorageVol,
    (start, end, writes): (u64, u64, bool),
    f: impl FnOnce(&mut VolData),
) -> TestResult<()> {
    let p = crate::storage::active_pool_mut(s, &r.pool)?;
    let v = p
        .vols
        .iter_mut()
        .find(|v| v.name == r.name)
        .ok_or_else(|| {
            TestError::NoVol(format!("no storage vol with matching name '{}'", r.name))
        })?;
    if end > v.capacity {
        return Err(TestError::Failed(format!(
            "cannot write beyond the capacity of volume '{}' ({} bytes)",
            r.name, v.capacity
        ))
        .into());
    }
    let data = p.data.entry(r.name.clone()).or_default();
    // At most the blocks not stored yet grow; zeroing never does.
    let grow = if writes {
        data.missing(start, end) * BLOCK
    } else {
        0
    };
    let already = v.allocation.max(data.stored());
    if data.stored() + grow > MAX_VOL_DATA
        || (data.stored() + grow).saturating_sub(already) > p.def.available
    {
        return Err(TestError::Failed(format!(
            "not enough space to store the data of volume '{}'",
            r.name
        ))
        .into());
    }
    f(data);
    v.allocation = data.stored().min(v.capacity);
    crate::storage::recount(p);
    Ok(())
}

/// An upload: data and holes written from the start offset on.
struct Upload {
    target: Target,
    pos: u64,
    /// Where the upload must stop (`offset + length`, or the capacity).
    limit: u64,
    /// The length asked for (0: up to the capacity).
    length: u64,
    sparse: bool,
}

impl Upload {
    fn advance(&mut self, len: u64) -> Result<u64, RemoteError> {
        let end = self.pos.saturating_add(len);
        if end > self.limit {
            let e = match self.length {
                0 => format!(
                    "the upload does not fit in volume '{}' ({} bytes)",
                    self.target.vol.name, self.limit
                ),
                n => format!("the upload is longer than the {n} bytes requested"),
            };
            return Err(TestError::Failed(e).into());
        }
        Ok(end)
    }
}

impl Stream for Upload {
    fn send(&mut self, data: &[u8]) -> Result<(), RemoteError> {
        let end = self.advance(data.len() as u64)?;
        let pos = self.pos;
        self.target.with(|s| {
            update(s, &self.target.vol, (pos, end, true), |d| {
                d.write(pos, data)
            })
        })?;
        self.pos = end;
        Ok(())
    }

    fn hole(&mut self, length: u64) -> Result<(), RemoteError> {
        if !self.sparse {
            return Err(TestError::Invalid("the upload stream is not sparse".into()).into());
        }
        let end = self.advance(length)?;
        let pos = self.pos;
        self.target.with(|s| {
            update(s, &self.target.vol, (pos, end, false), |d| {
                d.zero(pos, length)
            })
        })?;
        self.pos = end;
        Ok(())
    }
}

/// A download of `[pos, end)`.
struct Download {
    target: Target,
    pos: u64,
    end: u64,
    sparse: bool,
}

impl Stream for Download {
    fn recv(&mut self, max: usize, _wait: Duration) -> Result<StreamChunk, RemoteError> {
        let (pos, end, sparse) = (self.pos, self.end, self.sparse);
        let vol = &self.target.vol;
        let chunk = self.target.with(|s| {
            let (p, _) = crate::storage::vol(s, vol)?;
            let empty = VolData::default();
            let data = p.data.get(&vol.name).unwrap_or(&empty);
            Ok(data.read(pos, end, max, sparse))
        })?;
        self.pos += match &chunk {
            StreamChunk::Data(d) => d.len() as u64,
            StreamChunk::Hole(n) => *n,
            _ => 0,
        };
        Ok(chunk)
    }
}

/// `STORAGE_VOL_UPLOAD` and `STORAGE_VOL_DOWNLOAD`: checks the volume and the range,
/// then the stream.
pub fn open(
    drv: &Arc<Driver>,
    procedure: i32,
    args: &[u8],
) -> Result<Box<dyn Stream>, RemoteError> {
    let a = VolumeStreamArgs::decode(procedure, args)?;
    let api = if a.upload {
        "testStorageVolUpload"
    } else {
        "testStorageVolDownload"
    };
    check_flags(a.flags, VOLUME_STREAM_SPARSE, api)?;
    let (upload, sparse) = (a.upload, a.sparse());
    let VolumeStreamArgs {
        vol,
        offset,
        length,
        ..
    } = a;
    let capacity = drv.read(|s| Ok(crate::storage::vol(s, &vol)?.1.capacity))?;
    if offset > capacity {
        return Err(TestError::InvalidArg(format!(
            "offset {offset} is beyond the capacity of volume '{}' ({capacity} bytes)",
            vol.name
        ))
        .into());
    }
    let end = match length {
        0 => capacity,
        n => offset.saturating_add(n).min(capacity),
    };
    let target = Target {
        drv: drv.clone(),
        vol,
    };
    Ok(if upload {
        let limit = if length == 0 {
            capacity
        } else {
            offset.saturating_add(length)
        };
        Box::new(Upload {
            target,
            pos: offset,
            limit,
            length,
            sparse,
        })
    } else {
        Box::new(Download {
            target,
            pos: offset,
            end,
            sparse,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_data_and_drop_zeros() {
        let mut d = VolData::default();
        d.write(BLOCK - 2, &[1, 2, 3, 4]);
        assert_eq!(d.stored(), 2 * BLOCK);
        d.write(0, &vec![0u8; 3 * BLOCK as usize]);
        assert_eq!(d.stored(), 0, "blocks written with zeros are not kept");
        d.write(5 * BLOCK, &[9]);
        assert_eq!(
            d.read(0, 6 * BLOCK, 1 << 20, true),
            StreamChunk::Hole(5 * BLOCK)
        );
        let StreamChunk::Data(b) = d.read(5 * BLOCK, 6 * BLOCK, 10, true) else {
            panic!("data expected");
        };
        assert_eq!(b, [9, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let StreamChunk::Data(b) = d.read(0, 6 * BLOCK, 8, false) else {
            panic!("dense reads give zeros");
        };
        assert_eq!(b, [0; 8]);
        assert_eq!(d.read(6 * BLOCK, 6 * BLOCK, 8, false), StreamChunk::End);
        d.zero(5 * BLOCK, 1);
        assert_eq!(d.stored(), 0);
    }

    #[test]
    fn truncate_forgets_the_tail() {
        let mut d = VolData::default();
        d.write(0, &vec![7u8; 2 * BLOCK as usize]);
        d.truncate(BLOCK + 1);
        assert_eq!(d.stored(), 2 * BLOCK);
        let StreamChunk::Data(b) = d.read(BLOCK, 2 * BLOCK, 4, false) else {
            panic!("data expected");
        };
        assert_eq!(b, [7, 0, 0, 0]);
        d.truncate(0);
        assert_eq!(d.stored(), 0);
    }
}
