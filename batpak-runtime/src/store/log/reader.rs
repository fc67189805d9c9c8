//! Reading frames back by position. A read-write store maps its segment files
//! read-only (memmap2), lazily, and remaps when a read reaches past the end of
//! a map (the active segment grows). A read-only store reads with positioned
//! reads from files it keeps open instead: its writer lives in another process
//! and may cut a file it has mapped (a restart's repair, a failed sync), and a
//! read of a mapped page past the new end of a file kills the process, where a
//! positioned read just comes back short. Either way a read takes exactly the
//! frame's extent, then asks `frame` to check and parse it once.

use super::frame::{self, EventFrame, Frame, FrameRead, FRAME_HEADER_BYTES};
use super::segment::{self, SEGMENT_HEADER_BYTES};
use crate::store::config::FRAME_BYTES_HARD_MAX;
use crate::store::error::{CorruptionKind, IoOp, LogPosition, StoreError};
use crate::store::index::Index;
use crate::store::locking;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Most segment files a read-only store keeps open for reads.
const OPEN_FILES_MAX: usize = 32;

/// Reads exactly `buf.len()` bytes of `file` at `offset`, without moving a
/// shared file position (threads share the file). A file that ends first is
/// `UnexpectedEof`.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            match std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], at)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = (file, buf, offset);
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// Read access to a data directory's segment files.
#[derive(Debug)]
pub(crate) struct SegmentFiles {
    dir: PathBuf,
    maps: RwLock<BTreeMap<u64, Arc<memmap2::Mmap>>>,
    /// Open files for positioned reads, when the store reads without maps.
    files: Option<RwLock<BTreeMap<u64, Arc<File>>>>,
}

impl SegmentFiles {
    /// Maps of the segments in `dir`, none made yet (read-write stores).
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            maps: RwLock::default(),
            files: None,
        }
    }

    /// Positioned reads of the segments in `dir`, no file open yet
    /// (read-only stores).
    pub(crate) fn positioned(dir: &Path) -> Self {
        Self {
            files: Some(RwLock::default()),
            ..Self::new(dir)
        }
    }

    /// Forgets the map of a segment that was replaced on disk.
    pub(crate) fn forget(&self, segment: u64) {
        locking::write(&self.maps).remove(&segment);
        if let Some(files) = &self.files {
            locking::write(files).remove(&segment);
        }
    }

    /// A map of `segment` at least `need` bytes long, if the file is.
    fn map(&self, segment: u64, need: usize) -> Result<Arc<memmap2::Mmap>, StoreError> {
        if let Some(m) = locking::read(&self.maps).get(&segment) {
            if m.len() >= need {
                return Ok(Arc::clone(m));
            }
        }
        let file = segment::open_read(&self.dir, segment)?;
        // SAFETY: only read-write stores map segments, and their segment files
        // are only ever appended to while the store has them open (truncation
        // happens in recovery, before any read, under the directory lock;
        // compaction replaces a file by rename and drops its map under the
        // index lock), so the mapped bytes never shrink under a reader; every
        // read from the map is bounds-checked against its length.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| StoreError::io(IoOp::Map, segment::segment_path(&self.dir, segment), e))?;
        let map = Arc::new(map);
        locking::write(&self.maps).insert(segment, Arc::clone(&map));
        Ok(map)
    }

    /// Asks the CPU to start loading the first bytes of the frame at `at`
    /// into its cache, when its segment is mapped already: a replay calls it
    /// a few frames ahead of the one it reads, so that frame's cache misses
    /// overlap the work on the ones before.
    pub(crate) fn prefetch(&self, at: LogPosition) {
        if let Some(m) = locking::read(&self.maps).get(&at.segment) {
            if let Some(bytes) = m.get(at.offset as usize..) {
                crate::store::prefetch::prefetch(bytes.as_ptr());
            }
        }
    }

    /// The open file of `segment` (positioned reads).
    fn file(
        &self,
        files: &RwLock<BTreeMap<u64, Arc<File>>>,
        segment: u64,
    ) -> Result<Arc<File>, StoreError> {
        if let Some(f) = locking::read(files).get(&segment) {
            return Ok(Arc::clone(f));
        }
        let file = Arc::new(segment::open_read(&self.dir, segment)?);
        keep_open(files, segment, Arc::clone(&file));
        Ok(file)
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
        match &self.files {
            Some(files) => {
                let bytes = self.read_frame_bytes(files, at)?;
                parse(&bytes, at, f)
            }
            None => self.with_mapped_frame(at, f),
        }
    }

    fn with_mapped_frame<R>(
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
        parse(bytes, at, f)
    }

    /// The bytes of the frame at `at`, by two positioned reads: its header,
    /// then its whole extent. A file that ends first is a bad length.
    fn read_frame_bytes(
        &self,
        files: &RwLock<BTreeMap<u64, Arc<File>>>,
        at: LogPosition,
    ) -> Result<Vec<u8>, StoreError> {
        let file = self.file(files, at.segment)?;
        let read = |buf: &mut [u8]| match read_exact_at(&file, buf, at.offset) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(StoreError::Corrupt {
                at,
                kind: CorruptionKind::BadLength,
            }),
            Err(e) => Err(StoreError::io(
                IoOp::Read,
                segment::segment_path(&self.dir, at.segment),
                e,
            )),
        };
        let mut header = [0; FRAME_HEADER_BYTES];
        read(&mut header)?;
        let extent =
            frame::frame_extent(&header, FRAME_BYTES_HARD_MAX).ok_or(StoreError::Corrupt {
                at,
                kind: CorruptionKind::BadLength,
            })?;
        let mut bytes = vec![0; extent];
        read(&mut bytes)?;
        Ok(bytes)
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

    /// Finds the frames of `segment` again after a writer in another process
    /// rewrote it (compaction moves the frames after a dropped region, and
    /// only the writer's own index learns where): reads the file as it is
    /// now, moves each of the index's records of the segment to where its
    /// event's frame is, and reads that same file from then on.
    pub(crate) fn relocate(&self, segment: u64, index: &RwLock<Index>) -> Result<(), StoreError> {
        let path = segment::segment_path(&self.dir, segment);
        let file = segment::open_read(&self.dir, segment)?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io(IoOp::Read, &path, e))?
            .len();
        if len > u64::from(u32::MAX) {
            // The index keeps offsets in 32 bits: no store wrote this file.
            let at = LogPosition { segment, offset: 0 };
            let kind = CorruptionKind::BadSegmentHeader;
            return Err(StoreError::Corrupt { at, kind });
        }
        let mut bytes = vec![0; len as usize];
        read_exact_at(&file, &mut bytes, 0).map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
        let mut found = HashMap::new();
        let mut at = SEGMENT_HEADER_BYTES as usize;
        while let Some(FrameRead::Frame(parsed, extent)) = bytes
            .get(at..)
            .map(|rest| frame::read_frame(rest, FRAME_BYTES_HARD_MAX))
        {
            if let Frame::Event(ev) = parsed {
                found.insert(ev.event_id, at as u32);
            }
            at += extent;
        }
        locking::write(index).relocate(segment, |id| found.get(&id).copied());
        match &self.files {
            Some(files) => keep_open(files, segment, Arc::new(file)),
            None => self.forget(segment),
        }
        Ok(())
    }
}

/// Caches `file` as segment `segment`'s, closing the lowest other one when
/// too many are open.
fn keep_open(files: &RwLock<BTreeMap<u64, Arc<File>>>, segment: u64, file: Arc<File>) {
    let mut files = locking::write(files);
    if files.len() >= OPEN_FILES_MAX && !files.contains_key(&segment) {
        files.pop_first();
    }
    files.insert(segment, file);
}

/// Checks and parses the frame in `bytes` (read from `at`) and hands it to `f`.
fn parse<R>(
    bytes: &[u8],
    at: LogPosition,
    f: impl FnOnce(Frame<'_>) -> R,
) -> Result<R, StoreError> {
    let corrupt = |kind| StoreError::Corrupt { at, kind };
    match frame::read_frame(bytes, FRAME_BYTES_HARD_MAX) {
        FrameRead::Frame(parsed, _) => Ok(f(parsed)),
        FrameRead::BadCrc(_) => Err(corrupt(CorruptionKind::BadCrc)),
        FrameRead::BadBody => Err(corrupt(CorruptionKind::BadBody)),
        FrameRead::Incomplete | FrameRead::BadLength => Err(corrupt(CorruptionKind::BadLength)),
    }
}
