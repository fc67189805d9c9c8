//! The durable watermark (`durable.mark`): how far the newest segment is known
//! to be on disk. Recovery may cut a torn tail only past it; damage before it
//! is damage of data an `fdatasync` made durable, which a repair would turn
//! into the loss of acknowledged events, so it is an error (or, with
//! `RecoveryMode::Salvage`, a cut the caller asked for).
//!
//! The file holds two 32-byte slots, each `generation u64, segment u64,
//! length u64, CRC32 of those 24 bytes, 4 zero bytes`, all little-endian. The
//! writer overwrites slot `generation % 2` in place, and only after the
//! `fdatasync` that made `length` bytes of `segment` durable returned, so
//! whatever of the file reaches the disk never claims more than the disk
//! holds. A torn slot fails its CRC and the other one (one generation older)
//! stands; the newest valid slot wins.

use super::io::LogIo;
use super::segment;
use crate::store::error::{IoOp, StoreError};
use std::path::{Path, PathBuf};

/// Name of the watermark file in the data directory.
pub const MARK_FILE: &str = "durable.mark";
const SLOT_BYTES: usize = 32;

/// Every this many recorded syncs the mark itself is fsynced, which bounds
/// how far it can lag behind the disk after a power loss (a process crash
/// loses nothing the kernel already has).
pub(crate) const SYNC_EVERY: u32 = 64;

/// A durable prefix of the log: `len` bytes of segment `segment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub segment: u64,
    pub len: u64,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(MARK_FILE)
}

fn decode_slot(slot: &[u8]) -> Option<(u64, Mark)> {
    let word = |i: usize| u64::from_le_bytes(slot[i..i + 8].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(slot[24..28].try_into().expect("4 bytes"));
    if crc32fast::hash(&slot[..24]) != crc || slot[28..32] != [0; 4] {
        return None;
    }
    let mark = Mark {
        segment: word(8),
        len: word(16),
    };
    (mark.segment >= 1 && mark.len >= segment::SEGMENT_HEADER_BYTES).then_some((word(0), mark))
}

fn encode_slot(generation: u64, mark: Mark) -> [u8; SLOT_BYTES] {
    let mut slot = [0; SLOT_BYTES];
    slot[..8].copy_from_slice(&generation.to_le_bytes());
    slot[8..16].copy_from_slice(&mark.segment.to_le_bytes());
    slot[16..24].copy_from_slice(&mark.len.to_le_bytes());
    let crc = crc32fast::hash(&slot[..24]);
    slot[24..28].copy_from_slice(&crc.to_le_bytes());
    slot
}

/// The newest valid mark and its generation; `None` for a store written
/// before marks existed, or whose mark file never reached the disk (recovery
/// then treats the whole newest segment as its window, as it always did).
pub(crate) fn load(io: &dyn LogIo, dir: &Path) -> Result<Option<(u64, Mark)>, StoreError> {
    let path = path(dir);
    let bytes = match io.read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(IoOp::Read, &path, e)),
    };
    Ok(bytes
        .chunks_exact(SLOT_BYTES)
        .take(2)
        .filter_map(decode_slot)
        .max_by_key(|(generation, _)| *generation))
}

/// The writer's side: records marks after its syncs.
#[derive(Debug)]
pub(crate) struct MarkWriter {
    generation: u64,
    last: Option<Mark>,
    /// Whether the file's name is durable (its directory was synced).
    named: bool,
    unsynced: u32,
}

impl MarkWriter {
    /// Continues after the generation found on disk, if any.
    pub(crate) fn resume(found: Option<(u64, Mark)>) -> Self {
        Self {
            generation: found.map_or(0, |(g, _)| g),
            last: found.map(|(_, m)| m),
            named: found.is_some(),
            unsynced: 0,
        }
    }

    /// Records that `mark` is durable; fsyncs the mark file when `sync` is
    /// set or every [`SYNC_EVERY`] records. A failure leaves the previous
    /// mark standing (a torn slot fails its CRC), which only widens
    /// recovery's window; the writer still stops on it, as on any I/O error.
    pub(crate) fn record(
        &mut self,
        io: &dyn LogIo,
        dir: &Path,
        mark: Mark,
        sync: bool,
    ) -> std::io::Result<()> {
        if self.last == Some(mark) && !(sync && self.unsynced > 0) {
            return Ok(());
        }
        self.unsynced += 1;
        let sync = sync || self.unsynced >= SYNC_EVERY || !self.named;
        let generation = self.generation + 1;
        let offset = (generation % 2) * SLOT_BYTES as u64;
        io.write_at(&path(dir), offset, &encode_slot(generation, mark), sync)?;
        self.generation = generation;
        self.last = Some(mark);
        if sync {
            self.unsynced = 0;
        }
        if !self.named {
            io.sync_dir(dir)?;
            self.named = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::log::io::StdIo;

    #[test]
    fn newest_valid_slot_wins_and_a_torn_one_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = MarkWriter::resume(None);
        let a = Mark {
            segment: 1,
            len: 100,
        };
        let b = Mark {
            segment: 1,
            len: 200,
        };
        w.record(&StdIo, dir.path(), a, false).unwrap();
        w.record(&StdIo, dir.path(), b, false).unwrap();
        assert_eq!(load(&StdIo, dir.path()).unwrap(), Some((2, b)));
        // Tear the newer slot (generation 2 lives in slot 0): the older stands.
        let mut bytes = std::fs::read(path(dir.path())).unwrap();
        bytes[20] ^= 1;
        std::fs::write(path(dir.path()), &bytes).unwrap();
        assert_eq!(load(&StdIo, dir.path()).unwrap(), Some((1, a)));
        let resumed = MarkWriter::resume(load(&StdIo, dir.path()).unwrap());
        assert_eq!(resumed.generation, 1);
    }

    #[test]
    fn a_missing_or_garbage_file_is_no_mark() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&StdIo, dir.path()).unwrap(), None);
        std::fs::write(path(dir.path()), [0xAB; 64]).unwrap();
        assert_eq!(load(&StdIo, dir.path()).unwrap(), None);
    }
}
