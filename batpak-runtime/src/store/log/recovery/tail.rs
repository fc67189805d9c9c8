//! The end of the log: where the newest segment may be cut, and how.
//!
//! Only bytes no `fdatasync` ever covered can be a torn write, and the durable
//! watermark (`watermark`) says how far the disk holds synced bytes. So a
//! frame that does not decode past the watermark is a torn tail, cut by a
//! read-write open; one before it is damage of durable data, an error unless
//! the caller asked to salvage (`RecoveryMode::Salvage`). Every cut keeps the
//! bytes it removes in the quarantine, and reports the batches and fences it
//! left unfinished, so a repair is never silent and never destroys anything.

use super::{corrupt, Scan, TruncatedTail, UnfinishedUnit};
use crate::store::config::FRAME_BYTES_HARD_MAX;
use crate::store::error::{CorruptionKind, IoOp, LogPosition, StoreError};
use crate::store::log::frame::{self, Frame, FrameRead};
use crate::store::log::io::LogIo;
use crate::store::log::quarantine;
use crate::store::log::segment;
use crate::store::log::watermark::{self, Mark, MarkWriter};
use std::path::Path;

/// Refuses a directory that lost durable bytes of its newest segment: the
/// watermark names a segment that is gone, or a length its file no longer
/// reaches. Nothing cuts below the watermark except a salvage, which lowers
/// it first.
pub(super) fn check_mark(
    io: &dyn LogIo,
    dir: &Path,
    ids: &[u64],
    mark: Option<Mark>,
) -> Result<(), StoreError> {
    let Some(mark) = mark else {
        return Ok(());
    };
    let newest = ids.last().copied().unwrap_or(0);
    if mark.segment > newest {
        return Err(corrupt(mark.segment, 0, CorruptionKind::MissingSegment));
    }
    if mark.segment == newest {
        let path = segment::segment_path(dir, newest);
        let actual = io
            .len(&path)
            .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
        if actual < mark.len {
            let kind = CorruptionKind::SegmentLength {
                expected: mark.len,
                actual,
            };
            return Err(corrupt(newest, actual, kind));
        }
    }
    Ok(())
}

/// Whether the newest segment `id`, starting with `head`, is what a crash
/// while creating it leaves: the whole file is at most a header and that
/// header is short or wrong, and no watermark covers the segment. The writer
/// fsyncs a new header before it writes any frame, so a longer file, or one
/// the watermark names, had a durable header: a wrong one is damage.
pub(super) fn is_torn_creation(
    io: &dyn LogIo,
    path: &Path,
    id: u64,
    head: &[u8],
    mark: Option<Mark>,
) -> Result<bool, StoreError> {
    let header = segment::SEGMENT_HEADER_BYTES;
    if mark.is_some_and(|m| m.segment >= id) {
        return Ok(false);
    }
    if (head.len() as u64) < header {
        return Ok(true);
    }
    let len = io
        .len(path)
        .map_err(|e| StoreError::io(IoOp::Read, path, e))?;
    Ok(len <= header && segment::check_header(id, &head[..header as usize]).is_err())
}

impl Scan<'_> {
    /// Where the durable bytes of segment `id` end: the watermark's length
    /// in its own segment, everything in an older one, nothing known in a
    /// newer one (or without a watermark).
    fn durable_len(&self, id: u64) -> u64 {
        match self.mark {
            Some(m) if m.segment == id => m.len,
            Some(m) if m.segment > id => u64::MAX,
            _ => 0,
        }
    }

    /// A newest segment shorter than its header: a crash while creating it.
    /// A read-write open removes it (keeping any non-zero bytes).
    pub(super) fn torn_creation(
        &mut self,
        dir: &Path,
        id: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let at = LogPosition {
            segment: id,
            offset: 0,
        };
        let mut tail = TruncatedTail {
            at,
            bytes: bytes.len() as u64,
            quarantine: None,
            unfinished: Vec::new(),
            salvaged: false,
        };
        if !self.opts.repair {
            self.report.torn_tail_ignored = Some(at);
            self.report.pending_cut = Some(tail);
            return Ok(());
        }
        let note = describe(&tail);
        tail.quarantine = quarantine::keep(self.io, dir, at, bytes, &note)?;
        let path = segment::segment_path(dir, id);
        self.io
            .remove(&path)
            .map_err(|e| StoreError::io(IoOp::Remove, &path, e))?;
        segment::sync_dir(self.io, dir)?;
        self.report.truncated_tail = Some(tail);
        Ok(())
    }

    /// Segment `id` stops decoding at `offset`. In the newest segment past
    /// the watermark that is a torn tail, to cut when the scan finishes;
    /// before the watermark, in an older segment, or a CRC-valid body that
    /// does not parse (no torn write makes one), it is damage.
    pub(super) fn undecodable(
        &mut self,
        id: u64,
        offset: u64,
        kind: CorruptionKind,
        newest: bool,
    ) -> Result<(), StoreError> {
        let damage = offset < self.durable_len(id) || kind == CorruptionKind::BadBody;
        if !newest || (damage && !self.opts.salvage) {
            return Err(corrupt(id, offset, kind));
        }
        self.tail = Some((id, offset, damage));
        Ok(())
    }

    /// Whether the undecodable `rest` of the newest segment `id` from
    /// `offset` on holds nothing: zeros to the end of the file, past the
    /// durable watermark. That is space a writer with mapped appends
    /// reserved (docs/format.md, "Reserved space"), or a group none of
    /// which reached the disk before a power cut. No frame starts with a
    /// zero length word, so no part of a frame is lost with them.
    pub(super) fn is_blank_tail(&self, id: u64, offset: u64, rest: &[u8]) -> bool {
        offset >= self.durable_len(id) && rest.iter().all(|b| *b == 0)
    }

    /// Cuts zeros that hold nothing off the newest segment (read-write
    /// opens), durably, so it ends where its frames do, as the writer and
    /// the sealed segments' lengths expect. Nothing is kept or reported:
    /// there is nothing to keep, and a store with mapped appends leaves
    /// such zeros at every crash. Readers and `verify` read up to them.
    pub(super) fn cut_blank_tail(&mut self, dir: &Path, at: LogPosition) -> Result<(), StoreError> {
        if self.opts.repair {
            truncate(self.io, dir, at.segment, at.offset)?;
        }
        Ok(())
    }

    /// The batch and fence still open where the log ends.
    pub(super) fn unfinished_units(&self) -> Vec<UnfinishedUnit> {
        [(&self.batch, false), (&self.fence, true)]
            .into_iter()
            .filter_map(|(unit, fence)| {
                unit.as_ref().map(|u| UnfinishedUnit {
                    fence,
                    id: u.id,
                    began: u.start,
                    events: u.events.len() as u64,
                })
            })
            .collect()
    }

    /// Cuts the newest segment at `at`, keeping the cut bytes in the
    /// quarantine (read-write opens), or reports what a read-write open
    /// would cut. The writer resumes past every sequence and id in the cut
    /// bytes, so even events given up are never numbered twice.
    pub(super) fn cut(
        &mut self,
        dir: &Path,
        at: LogPosition,
        unfinished: Vec<UnfinishedUnit>,
    ) -> Result<(), StoreError> {
        let path = segment::segment_path(dir, at.segment);
        let cut = self
            .io
            .read_from(&path, at.offset)
            .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
        let cut = cut.as_slice();
        let salvaged = at.offset < self.durable_len(at.segment) || self.tail.is_some_and(|t| t.2);
        if salvaged && !self.opts.salvage {
            return Err(corrupt(at.segment, at.offset, CorruptionKind::BadProtocol));
        }
        if !self.opts.follow {
            // A follower reads these bytes later, when a live writer has
            // finished them: it must not count them as seen.
            self.resume_past(cut);
        }
        self.seed.active_segment = Some((at.segment, at.offset));
        let mut tail = TruncatedTail {
            at,
            bytes: cut.len() as u64,
            quarantine: None,
            unfinished,
            salvaged,
        };
        if !self.opts.repair {
            self.report.torn_tail_ignored = Some(at);
            self.report.pending_cut = Some(tail);
            return Ok(());
        }
        tail.quarantine = quarantine::keep(self.io, dir, at, cut, &describe(&tail))?;
        truncate(self.io, dir, at.segment, at.offset)?;
        if salvaged {
            // The watermark must never claim more than the file holds.
            let mark = Mark {
                segment: at.segment,
                len: at.offset,
            };
            MarkWriter::resume(watermark::load(self.io, dir)?)
                .record(self.io, dir, mark, true)
                .map_err(|e| StoreError::io(IoOp::Write, watermark::path(dir), e))?;
        }
        self.report.truncated_tail = Some(tail);
        Ok(())
    }

    /// Moves the writer's resume point past every frame that still decodes
    /// somewhere in `cut` (found by trying each offset).
    fn resume_past(&mut self, cut: &[u8]) {
        let mut offset = 0;
        while offset < cut.len() {
            let FrameRead::Frame(frame, extent) =
                frame::read_frame(&cut[offset..], FRAME_BYTES_HARD_MAX)
            else {
                offset += 1;
                continue;
            };
            let seed = &mut self.seed;
            match frame {
                Frame::Event(ev) => {
                    seed.next_sequence = seed.next_sequence.max(ev.sequence + 1);
                    seed.last_event_id = seed.last_event_id.max(ev.event_id);
                }
                Frame::BatchBegin { batch_id, .. } | Frame::BatchCommit { batch_id } => {
                    seed.next_batch_id = seed.next_batch_id.max(batch_id + 1);
                }
                Frame::FenceBegin { fence_id }
                | Frame::FenceCommit { fence_id }
                | Frame::FenceCancel { fence_id } => {
                    seed.next_fence_id = seed.next_fence_id.max(fence_id + 1);
                }
                Frame::Name { .. } => {}
            }
            offset += extent;
        }
    }
}

/// The quarantine note of a cut: what it was and what it left unfinished.
fn describe(tail: &TruncatedTail) -> String {
    let what = if tail.salvaged {
        "damage before the durable watermark, cut by RecoveryMode::Salvage"
    } else {
        "torn tail past the durable watermark"
    };
    let mut note = format!("cut {} bytes at {}: {what}", tail.bytes, tail.at);
    for unit in &tail.unfinished {
        note.push_str(&format!(
            "; left {} {} (begun at {}, {} events) without its end",
            if unit.fence { "fence" } else { "batch" },
            unit.id,
            unit.began,
            unit.events
        ));
    }
    note
}

/// Cuts segment `segment` to `len` bytes, durably.
fn truncate(io: &dyn LogIo, dir: &Path, segment: u64, len: u64) -> Result<(), StoreError> {
    let path = segment::segment_path(dir, segment);
    io.truncate(&path, len)
        .map_err(|e| StoreError::io(IoOp::Truncate, &path, e))
}
