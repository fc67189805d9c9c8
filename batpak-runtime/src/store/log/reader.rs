//! Reading frames back by position: segment files mapped read-only (memmap2),
//! made lazily and remade when a read reaches past the end of a map (the
//! active segment grows). A read maps exactly the frame's extent, then asks
//! `frame` to check and parse it once.

use super::frame::{self, EventFrame, Frame, FrameRead, FRAME_HEADER_BYTES};
use super::segment;
use crate::store::config::FRAME_BYTES_HARD_MAX;
use crate::store::error::{CorruptionKind, IoOp, LogPosition, StoreError};
use crate::store::locking;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Read-only maps of a data directory's segment files.
#[derive(Debug)]
pub(crate) struct SegmentFiles {
    dir: PathBuf,
    maps: RwLock<BTreeMap<u64, Arc<memmap2::Mmap>>>,
}

impl SegmentFiles {
    /// Maps of the segments in `dir`, none made yet.
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            maps: RwLock::default(),
        }
    }

    /// Forgets the map of a segment that was replaced on disk.
    pub(crate) fn forget(&self, segment: u64) {
        locking::write(&self.maps).remove(&segment);
    }

    /// A map of `segment` at least `need` bytes long, if the file is.
    fn map(&self, segment: u64, need: usize) -> Result<Arc<memmap2::Mmap>, StoreError> {
        if let Some(m) = locking::read(&self.maps).get(&segment) {
            if m.len() >= need {
                return Ok(Arc::clone(m));
            }
        }
        let file = segment::open_read(&self.dir, segment)?;
        // SAFETY: segment files are only ever appended to while a store has them
        // open (truncation happens in recovery, before any reader exists, under
        // the directory lock; compaction replaces a file by rename and drops its
        // map under the index lock), so the mapped bytes never shrink under a
        // reader; every read from the map is bounds-checked against its length.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| StoreError::io(IoOp::Map, segment::segment_path(&self.dir, segment), e))?;
        let map = Arc::new(map);
        locking::write(&self.maps).insert(segment, Arc::clone(&map));
        Ok(map)
    }

    /// Reads the frame at `at`, checks its CRC and parses it, once, and hands
    /// it to `f`. Frames written under any configured limit stay readable:
    /// only the format's hard maximum applies to reads. Corruption is a typed
    /// error naming the position.
    pub(crate) fn with_frame<R>(
        &self,
        at: LogPosition,
        f: impl FnOnce(Frame<'_>) -> R,
    ) -> Result<R, StoreError> {
        let corrupt = |kind| StoreError::Corrupt { at, kind };
        let start = usize::try_from(at.offset).map_err(|_| corrupt(CorruptionKind::BadLength))?;
        let header_end = start
            .checked_add(FRAME_HEADER_BYTES)
            .ok_or(corrupt(CorruptionKind::BadLength))?;
        let map = self.map(at.segment, header_end)?;
        let extent = map
            .get(start..header_end)
            .and_then(|header| frame::frame_extent(header, FRAME_BYTES_HARD_MAX))
            .ok_or(corrupt(CorruptionKind::BadLength))?;
        let map = if start + extent > map.len() {
            self.map(at.segment, start + extent)?
        } else {
            map
        };
        let Some(bytes) = map.get(start..start + extent) else {
            return Err(corrupt(CorruptionKind::BadLength));
        };
        match frame::read_frame(bytes, FRAME_BYTES_HARD_MAX) {
            FrameRead::Frame(parsed, _) => Ok(f(parsed)),
            FrameRead::BadCrc(_) => Err(corrupt(CorruptionKind::BadCrc)),
            FrameRead::BadBody => Err(corrupt(CorruptionKind::BadBody)),
            FrameRead::Incomplete | FrameRead::BadLength => Err(corrupt(CorruptionKind::BadLength)),
        }
    }

    /// Like [`with_frame`](Self::with_frame) for the event frame of event
    /// `event_id`: `Ok(None)` when the frame at `at` holds another frame (the
    /// event moved, e.g. by compaction).
    pub(crate) fn with_event<R>(
        &self,
        at: LogPosition,
        event_id: u128,
        f: impl FnOnce(&EventFrame<'_>) -> R,
    ) -> Result<Option<R>, StoreError> {
        self.with_frame(at, |parsed| match parsed {
            Frame::Event(ev) if ev.event_id == event_id => Some(f(&ev)),
            _ => None,
        })
    }
}
