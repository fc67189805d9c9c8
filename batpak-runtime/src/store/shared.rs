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
use std::fs::File;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

/// Read handles on segment files, opened lazily.
#[derive(Debug, Default)]
pub(crate) struct SegmentFiles {
    files: RwLock<BTreeMap<u64, Arc<File>>>,
}

impl SegmentFiles {
    fn handle(&self, config: &StoreConfig, segment: u64) -> Result<Arc<File>, StoreError> {
        if let Some(f) = self
            .files
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .get(&segment)
        {
            return Ok(Arc::clone(f));
        }
        let file = Arc::new(segment::open_segment(&config.data_dir, segment, false)?);
        let mut files = self.files.write().map_err(|_| StoreError::Poisoned)?;
        Ok(Arc::clone(files.entry(segment).or_insert(file)))
    }
}

/// A frame body read back from disk.
#[derive(Debug)]
pub(crate) struct FrameBytes {
    pub at: LogPosition,
    pub bytes: Vec<u8>,
}

impl FrameBytes {
    /// Parses the frame; corruption is a typed error naming the position.
    pub(crate) fn parse(&self, frame_max_bytes: usize) -> Result<Frame<'_>, StoreError> {
        let bad = |kind| StoreError::Corrupt { at: self.at, kind };
        match frame::read_frame(&self.bytes, frame_max_bytes) {
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
}

impl Shared {
    /// Reads the whole frame stored at `at` (header included) and checks its CRC.
    pub(crate) fn read_frame(&self, at: LogPosition) -> Result<FrameBytes, StoreError> {
        let file = self.files.handle(&self.config, at.segment)?;
        let mut bytes = vec![0u8; 256];
        let got = read_up_to(&file, at, &mut bytes)?;
        bytes.truncate(got);
        let bad_len = StoreError::Corrupt {
            at,
            kind: CorruptionKind::BadLength,
        };
        if got < FRAME_HEADER_BYTES {
            return Err(bad_len);
        }
        let word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let total = FRAME_HEADER_BYTES + (word & 0x00FF_FFFF) as usize;
        if total > self.config.frame_max_bytes + FRAME_HEADER_BYTES {
            return Err(bad_len);
        }
        if total > bytes.len() {
            let have = bytes.len();
            bytes.resize(total, 0);
            let more = LogPosition {
                segment: at.segment,
                offset: at.offset + have as u64,
            };
            segment::read_at(&file, at.segment, more.offset, &mut bytes[have..])?;
        } else {
            bytes.truncate(total);
        }
        let out = FrameBytes { at, bytes };
        out.parse(self.config.frame_max_bytes)?;
        Ok(out)
    }
}

fn read_up_to(file: &File, at: LogPosition, buf: &mut [u8]) -> Result<usize, StoreError> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], at.offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(StoreError::io(
                    super::error::IoOp::Read,
                    format!("segment {}", at.segment),
                    e,
                ))
            }
        }
    }
    Ok(filled)
}
