//! State shared by the store handle, its writer thread and background workers:
//! the index, read handles on segment files, the frontier and the subscriber list.

use super::config::StoreConfig;
use super::delivery::subscription::Subscribers;
use super::error::{CorruptionKind, LogPosition, StoreError};
use super::frame::{self, Frame, FrameRead, FRAME_HEADER_BYTES};
use super::frontier::FrontierCell;
use super::index::Index;
use super::recovery::RecoveryReport;
use super::segment;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

/// Read-only memory maps of segment files, made lazily and remade when a
/// read reaches past the end of a map (the active segment grows).
#[derive(Debug, Default)]
pub(crate) struct SegmentFiles {
    maps: RwLock<BTreeMap<u64, Arc<memmap2::Mmap>>>,
}

impl SegmentFiles {
    /// Forgets the map of a segment that was replaced on disk.
    pub(crate) fn forget(&self, segment: u64) {
        if let Ok(mut maps) = self.maps.write() {
            maps.remove(&segment);
        }
    }

    fn map(
        &self,
        config: &StoreConfig,
        segment: u64,
        need: u64,
    ) -> Result<Arc<memmap2::Mmap>, StoreError> {
        if let Some(m) = self
            .maps
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .get(&segment)
        {
            if m.len() as u64 >= need {
                return Ok(Arc::clone(m));
            }
        }
        let file = segment::open_segment(&config.data_dir, segment, false)?;
        // SAFETY: segment files are only ever appended to while a store has them
        // open (truncation happens in recovery, before any reader exists, under
        // the directory lock), so the mapped bytes never shrink under a reader;
        // every read from the map is bounds-checked against its length.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| {
            StoreError::io(
                super::error::IoOp::Map,
                segment::segment_path(&config.data_dir, segment),
                e,
            )
        })?;
        let map = Arc::new(map);
        self.maps
            .write()
            .map_err(|_| StoreError::Poisoned)?
            .insert(segment, Arc::clone(&map));
        Ok(map)
    }
}

/// A frame as stored, borrowed from a segment map.
#[derive(Debug)]
pub(crate) struct FrameBytes {
    pub at: LogPosition,
    map: Arc<memmap2::Mmap>,
    start: usize,
    end: usize,
}

impl FrameBytes {
    /// The frame's bytes, header included.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map[self.start..self.end]
    }

    /// Parses the frame; corruption is a typed error naming the position.
    /// Frames written under any configured limit stay readable: only the
    /// format's hard maximum applies to reads.
    pub(crate) fn parse(&self) -> Result<Frame<'_>, StoreError> {
        let bad = |kind| StoreError::Corrupt { at: self.at, kind };
        match frame::read_frame(self.bytes(), super::FRAME_BYTES_HARD_MAX) {
            FrameRead::Frame(f, _) => Ok(f),
            FrameRead::BadCrc(_) => Err(bad(CorruptionKind::BadCrc)),
            FrameRead::BadBody => Err(bad(CorruptionKind::BadBody)),
            FrameRead::Incomplete | FrameRead::BadLength => Err(bad(CorruptionKind::BadLength)),
        }
    }
}

/// Everything shared between a store's handle, writer and workers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: StoreConfig,
    pub index: RwLock<Index>,
    pub files: SegmentFiles,
    pub frontier: FrontierCell,
    pub subscribers: Subscribers,
    pub fence_active: AtomicBool,
    pub closed: AtomicBool,
    pub report: Mutex<RecoveryReport>,
    pub read_only: bool,
    pub schemas: super::ledger::SchemaRegistry,
    pub recycler: super::recycle::Recycler,
}

impl Shared {
    /// The whole frame stored at `at` (header included), CRC-checked.
    pub(crate) fn read_frame(&self, at: LogPosition) -> Result<FrameBytes, StoreError> {
        let bad_len = StoreError::Corrupt {
            at,
            kind: CorruptionKind::BadLength,
        };
        let header_end = at.offset + FRAME_HEADER_BYTES as u64;
        let map = self.files.map(&self.config, at.segment, header_end)?;
        let start = usize::try_from(at.offset).map_err(|_| StoreError::Corrupt {
            at,
            kind: CorruptionKind::BadLength,
        })?;
        let Some(header) = map.get(start..start + FRAME_HEADER_BYTES) else {
            return Err(bad_len);
        };
        let word = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let total = FRAME_HEADER_BYTES + (word & 0x00FF_FFFF) as usize;
        if total > super::FRAME_BYTES_HARD_MAX + FRAME_HEADER_BYTES {
            return Err(bad_len);
        }
        let map = if start + total > map.len() {
            self.files
                .map(&self.config, at.segment, (start + total) as u64)?
        } else {
            map
        };
        if start + total > map.len() {
            return Err(bad_len);
        }
        let out = FrameBytes {
            at,
            map,
            start,
            end: start + total,
        };
        out.parse()?;
        Ok(out)
    }
}
