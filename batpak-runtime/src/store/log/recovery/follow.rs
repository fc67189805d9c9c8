//! Following a log that a writer in another process keeps appending to. A
//! read-only store remembers where its scan stopped: the segment and offset,
//! a fence still open there (with its events, pending), the names defined in
//! that segment, and the sequence and id to continue after. Each step reads
//! on from there with the scan's own frame rules, so batches and fences
//! become visible at their commit markers exactly as on open.
//!
//! A step reads only bytes the writer has made durable: in the newest segment
//! up to the durable watermark, in a sealed one (its successor has a whole
//! header) up to its sealed length. A writer records the watermark only after
//! the sync that covered it and never cuts below it (a restart cuts torn
//! tails and unfinished batches past it, a failed write or sync cuts back to
//! it), so nothing a step applied is ever taken back, and a step never sees
//! half a batch. A restart that seals a fence left open does so by appending
//! its cancel marker, which the next step applies like any other.
//!
//! The follower holds the segment it reads open: if compaction renames a
//! rewritten copy over it meanwhile, it goes on reading the file it started,
//! whose offsets its index already uses. Index records of a rewritten segment
//! are moved when a read finds its frame gone (`SegmentFiles::relocate`).

use super::{corrupt, OpenUnit, RecoveryReport, Scan, ScanOptions, Tips, WriterSeed};
use crate::store::config::{IndexTopology, FRAME_BYTES_HARD_MAX};
use crate::store::error::{CorruptionKind, IoOp, LogPosition, StoreError};
use crate::store::index::Index;
use crate::store::log::frame::{self, FrameRead};
use crate::store::log::io::{open_quietly, LogIo, StdIo};
use crate::store::log::reader::read_exact_at;
use crate::store::log::segment::{self, SegmentHeader, SEGMENT_HEADER_BYTES};
use crate::store::log::watermark;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Most bytes one step reads (more only to take in one longer frame), so the
/// index's write lock is never held for long.
const STEP_BYTES: u64 = 1 << 20;

const HEAD: usize = SEGMENT_HEADER_BYTES as usize;

/// What the segment the follower starts in must still be when it opens it.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// Exactly the header the scan read (a compaction that rewrote the
    /// segment since changed its recorded length).
    Head([u8; HEAD]),
    /// Not rewritten to another length than the one an index snapshot listed.
    Len(u64),
    /// No segment yet.
    Any,
}

/// How far the segment being read may be read now.
enum End {
    /// The newest segment, durable up to here.
    Durable(u64),
    /// A sealed segment, this long.
    Sealed(u64),
}

/// The segment being read: its file, held open, and its header.
struct Reading {
    file: File,
    head: [u8; HEAD],
    header: SegmentHeader,
}

/// Where a read-only store reads on from, and the scan state it needs there.
pub(crate) struct Follower {
    dir: PathBuf,
    at: LogPosition,
    reading: Option<Reading>,
    start: Start,
    /// The scan's frame rules and open units, carried on. Its index is a
    /// placeholder: a step swaps the store's index in and back out.
    scan: Scan<'static>,
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("dir", &self.dir)
            .field("at", &self.at)
            .finish()
    }
}

impl Follower {
    /// Follows on from where `scan` stopped, keeping the fence it left open.
    pub(super) fn after_scan(dir: &Path, scan: &mut Scan<'_>) -> Self {
        let start = scan.active_head.map_or(Start::Any, Start::Head);
        let fence = scan.kept_fence.take();
        Self::new(dir, &scan.seed, scan.opts, fence, start)
    }

    /// Follows on from an index snapshot, which lists every segment with its
    /// exact length: after the newest, with nothing open (the writer wrote
    /// the snapshot at close).
    pub(crate) fn after_snapshot(dir: &Path, seed: &WriterSeed, topology: IndexTopology) -> Self {
        let start = seed
            .active_segment
            .map_or(Start::Any, |(_, len)| Start::Len(len));
        let opts = ScanOptions {
            repair: false,
            check_chains: false,
            topology,
            salvage: false,
            follow: true,
        };
        Self::new(dir, seed, opts, None, start)
    }

    fn new(
        dir: &Path,
        seed: &WriterSeed,
        opts: ScanOptions,
        fence: Option<OpenUnit>,
        start: Start,
    ) -> Self {
        let (segment, offset) = seed.active_segment.unwrap_or((1, SEGMENT_HEADER_BYTES));
        let scan = Scan {
            io: &StdIo,
            opts,
            index: Index::new(opts.topology),
            seed: WriterSeed {
                next_sequence: seed.next_sequence,
                last_event_id: seed.last_event_id,
                next_batch_id: seed.next_batch_id,
                next_fence_id: seed.next_fence_id,
                ..WriterSeed::default()
            },
            report: RecoveryReport::default(),
            chain_break: None,
            tips: Tips::default(),
            batch: None,
            fence,
            defined: seed.defined_in_active.clone(),
            mark: None,
            tail: None,
            blank_tail: None,
            kept_fence: None,
            active_head: None,
        };
        Self {
            dir: dir.to_path_buf(),
            at: LogPosition { segment, offset },
            reading: None,
            start,
            scan,
        }
    }

    /// Where the next step reads.
    pub(crate) fn position(&self) -> LogPosition {
        self.at
    }

    /// Opens the segment to start in and checks it is still the one the
    /// open read: `false` when a compaction rewrote it in between (the open
    /// scans again).
    pub(crate) fn confirm_start(&mut self) -> Result<bool, StoreError> {
        self.open()?;
        Ok(match (self.start, &self.reading) {
            (Start::Any, _) => true,
            (Start::Head(head), Some(r)) => r.head == head,
            (Start::Len(len), Some(r)) => r.header.links.rewritten_len.is_none_or(|l| l == len),
            (_, None) => false,
        })
    }

    /// Reads on by at most about [`STEP_BYTES`], applying complete frames
    /// into `index` (events at their commit), and moves to the next segment
    /// once this one is sealed and read. `Ok(true)` when there may be more
    /// to read at once.
    pub(crate) fn step(&mut self, index: &mut Index) -> Result<bool, StoreError> {
        std::mem::swap(&mut self.scan.index, index);
        let result = self.step_here();
        std::mem::swap(&mut self.scan.index, index);
        // A reader answers no idempotent retries: it keeps no keys.
        self.scan.seed.keys.clear();
        result
    }

    fn step_here(&mut self) -> Result<bool, StoreError> {
        // The mark before the length: the file holds everything a mark
        // read first claims.
        let mark = watermark::load(&StdIo, &self.dir)?.map(|(_, m)| m);
        let Some(len) = self.open()? else {
            return Ok(false);
        };
        let segment = self.at.segment;
        if len < self.at.offset {
            // Cut below what this store already applied: only a salvage or
            // damage does that.
            let kind = CorruptionKind::SegmentLength {
                expected: self.at.offset,
                actual: len,
            };
            return Err(corrupt(segment, len, kind));
        }
        let durable = match mark {
            Some(m) if m.segment == segment => m.len.min(len),
            Some(m) if m.segment > segment => 0,
            _ => self.at.offset,
        };
        let end = if durable > self.at.offset {
            End::Durable(durable)
        } else {
            self.sealed_end(mark.is_some_and(|m| m.segment > segment))?
        };
        match end {
            End::Durable(end) | End::Sealed(end) if end > self.at.offset => {
                self.read(end)?;
                Ok(true)
            }
            End::Durable(_) => Ok(false),
            End::Sealed(_) => {
                self.next_segment()?;
                Ok(true)
            }
        }
    }

    /// The length of the segment being read, opening it first if needed;
    /// `None` while it does not exist or its header is not whole yet.
    fn open(&mut self) -> Result<Option<u64>, StoreError> {
        let path = segment::segment_path(&self.dir, self.at.segment);
        if self.reading.is_none() {
            let file = match open_quietly(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(StoreError::io(IoOp::Open, &path, e)),
            };
            let mut head = [0; HEAD];
            match read_exact_at(&file, &mut head, 0) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(StoreError::io(IoOp::Read, &path, e)),
            }
            let header = segment::check_header(self.at.segment, &head)?;
            self.reading = Some(Reading { file, head, header });
        }
        let Some(reading) = &self.reading else {
            return Ok(None);
        };
        let meta = reading.file.metadata();
        let len = meta
            .map_err(|e| StoreError::io(IoOp::Read, &path, e))?
            .len();
        if len > u64::from(u32::MAX) {
            // The index keeps offsets in 32 bits.
            return Err(corrupt(
                self.at.segment,
                0,
                CorruptionKind::BadSegmentHeader,
            ));
        }
        Ok(Some(len))
    }

    /// The end of the segment being read if it is sealed: its successor has
    /// a whole header. `must`: the watermark already names a later segment.
    fn sealed_end(&mut self, must: bool) -> Result<End, StoreError> {
        let segment = self.at.segment;
        let Some(next) = self.successor()? else {
            if must {
                return Err(corrupt(segment + 1, 0, CorruptionKind::MissingSegment));
            }
            return Ok(End::Durable(self.at.offset));
        };
        // Read again: the writer synced this segment whole before it created
        // the successor, so its length is final now.
        let len = self.open()?.unwrap_or(0);
        let own = self.reading.as_ref().map(|r| r.header);
        let sealed = own.and_then(|h| h.sealed_len(Some(&next))).unwrap_or(len);
        if sealed != len {
            let kind = CorruptionKind::SegmentLength {
                expected: sealed,
                actual: len,
            };
            return Err(corrupt(segment, sealed.min(len), kind));
        }
        Ok(End::Sealed(sealed))
    }

    /// The header of the next segment, once it is there and whole.
    fn successor(&self) -> Result<Option<SegmentHeader>, StoreError> {
        let id = self.at.segment + 1;
        let path = segment::segment_path(&self.dir, id);
        let head = match StdIo.read_head(&path, HEAD) {
            Ok(head) => head,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(IoOp::Read, &path, e)),
        };
        if head.len() < HEAD {
            return Ok(None);
        }
        segment::check_header(id, &head).map(Some)
    }

    /// Applies the frames from the position up to `end`, at most about
    /// [`STEP_BYTES`] of them. Every byte before `end` is durable or sealed,
    /// so a frame that does not decode there is damage.
    fn read(&mut self, end: u64) -> Result<(), StoreError> {
        let start = self.at.offset;
        let mut buf = self.read_at(start, (end - start).min(STEP_BYTES))?;
        // A frame longer than a step is read whole.
        if let Some(extent) = frame::frame_extent(&buf, FRAME_BYTES_HARD_MAX) {
            if extent > buf.len() && start + extent as u64 <= end {
                buf = self.read_at(start, extent as u64)?;
            }
        }
        let more_after = start + (buf.len() as u64) < end;
        let mut used = 0;
        while used < buf.len() {
            let at = LogPosition {
                segment: self.at.segment,
                offset: start + used as u64,
            };
            let kind = match frame::read_frame(&buf[used..], FRAME_BYTES_HARD_MAX) {
                FrameRead::Frame(frame, extent) => {
                    self.scan.report.frames += 1;
                    self.scan.frame(frame, at)?;
                    used += extent;
                    self.at.offset = start + used as u64;
                    continue;
                }
                // The rest of this frame comes with the next step.
                FrameRead::Incomplete if more_after && used > 0 => return Ok(()),
                FrameRead::Incomplete | FrameRead::BadLength => CorruptionKind::BadLength,
                FrameRead::BadCrc(_) => CorruptionKind::BadCrc,
                FrameRead::BadBody => CorruptionKind::BadBody,
            };
            return Err(corrupt(at.segment, at.offset, kind));
        }
        Ok(())
    }

    fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        let path = || segment::segment_path(&self.dir, self.at.segment);
        let Some(reading) = &self.reading else {
            let gone = std::io::Error::from(std::io::ErrorKind::NotFound);
            return Err(StoreError::io(IoOp::Read, path(), gone));
        };
        let mut buf = vec![0; len as usize];
        read_exact_at(&reading.file, &mut buf, offset)
            .map_err(|e| StoreError::io(IoOp::Read, path(), e))?;
        Ok(buf)
    }

    /// Moves on to the next segment (the current one is sealed and read).
    fn next_segment(&mut self) -> Result<(), StoreError> {
        if let Some(batch) = &self.scan.batch {
            // A batch never spans two segments.
            let at = batch.start.offset;
            return Err(corrupt(self.at.segment, at, CorruptionKind::BadProtocol));
        }
        let next = self.at.segment + 1;
        if next > u64::from(u32::MAX) {
            return Err(corrupt(next, 0, CorruptionKind::BadSegmentHeader));
        }
        self.at = LogPosition {
            segment: next,
            offset: SEGMENT_HEADER_BYTES,
        };
        self.reading = None;
        self.scan.defined.clear();
        self.scan.report.segments += 1;
        Ok(())
    }
}
