//! Compaction's rewrite: reclaims the space of writes that can never become
//! visible. A cancelled visibility fence leaves its frames in the log (they were
//! durable at once); compaction rewrites each sealed segment that holds such a
//! fence region, dropping the region's markers and events while keeping every
//! name frame (later frames of the segment may rely on them). The rewritten
//! segment replaces the old one by rename (every file operation goes through
//! the store's `LogIo`); the index learns the new offsets under its lock, so
//! readers never see a half-moved segment. The active segment and fence
//! regions that span two segments are left alone.
//!
//! Recovery resumes after the highest sequence and event id it finds in any
//! frame, so the log's last event must survive, or a reopened store would give
//! its sequence and id out again. A region holding it is left whole until a
//! later event is written; any other region can go, because the last event
//! stays and outranks all of its events (sequences and ids grow along the log).

use super::frame::{self, Frame, FrameRead};
use super::io::{create_temporary, LogIo};
use super::reader::SegmentFiles;
use super::segment::{self, SegmentLinks, SEGMENT_HEADER_BYTES};
use super::snapshot;
use crate::store::config::FRAME_BYTES_HARD_MAX;
use crate::store::error::{IoOp, LogPosition, StoreError};
use crate::store::index::Index;
use crate::store::locking;
use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

/// What a compaction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Sealed segments rewritten.
    pub segments_rewritten: u64,
    /// Bytes the rewritten segments gave back.
    pub bytes_reclaimed: u64,
    /// Discarded events removed from the log. The events of a cancelled fence
    /// that holds the log's last event are not among them: they stay until a
    /// later event is written, because recovery resumes after the last event.
    pub events_dropped: u64,
}

/// One segment's plan: the bytes to keep and where kept frames move.
struct Rewrite {
    bytes: Vec<u8>,
    moved: HashMap<u32, u32>,
    dropped: u64,
}

/// What compaction needs to know about a frame.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    FenceBegin(u64),
    FenceCancel(u64),
    Name,
    /// An event and its global sequence.
    Event(u64),
    Other,
}

/// Plans the rewrite of one sealed segment; `None` when it has nothing to drop.
/// A region holding an event with sequence `last_sequence` (the log's last
/// event) stays whole.
fn plan(
    io: &dyn LogIo,
    dir: &Path,
    id: u64,
    last_sequence: u64,
) -> Result<Option<Rewrite>, StoreError> {
    let path = segment::segment_path(dir, id);
    let old = io
        .read(&path)
        .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
    let header = segment::check_header(id, &old)?;
    let frames = marks(id, &old)?;
    let gone = dropped_regions(&frames, last_sequence);
    if !gone.contains(&true) {
        return Ok(None);
    }
    let mut bytes = vec![0; SEGMENT_HEADER_BYTES as usize];
    let mut moved = HashMap::new();
    let mut dropped = 0;
    for ((offset, extent, mark), gone) in frames.iter().zip(&gone) {
        // Name frames stay: later frames of the segment may use the names.
        if *gone && *mark != Mark::Name {
            dropped += u64::from(matches!(mark, Mark::Event(_)));
            continue;
        }
        moved.insert(*offset as u32, bytes.len() as u32);
        bytes.extend_from_slice(&old[*offset..offset + extent]);
    }
    // The successor's link still records the length before the rewrite; the
    // rewritten segment records its own, and recovery checks that one. Both
    // files stay self-consistent whichever name the rename leaves in place.
    let links = SegmentLinks {
        predecessor_len: header.links.predecessor_len,
        rewritten_len: Some(bytes.len() as u64),
    };
    bytes[..SEGMENT_HEADER_BYTES as usize].copy_from_slice(&segment::encode_header(id, links));
    Ok(Some(Rewrite {
        bytes,
        moved,
        dropped,
    }))
}

/// Every frame of segment `id` (its bytes `old`) as (offset, extent, mark).
fn marks(id: u64, old: &[u8]) -> Result<Vec<(usize, usize, Mark)>, StoreError> {
    let mut frames = Vec::new();
    let mut at = SEGMENT_HEADER_BYTES as usize;
    while at < old.len() {
        let FrameRead::Frame(f, extent) = frame::read_frame(&old[at..], FRAME_BYTES_HARD_MAX)
        else {
            return Err(StoreError::Corrupt {
                at: LogPosition {
                    segment: id,
                    offset: at as u64,
                },
                kind: crate::store::error::CorruptionKind::BadCrc,
            });
        };
        let mark = match f {
            Frame::FenceBegin { fence_id } => Mark::FenceBegin(fence_id),
            Frame::FenceCancel { fence_id } => Mark::FenceCancel(fence_id),
            Frame::Name { .. } => Mark::Name,
            Frame::Event(ev) => Mark::Event(ev.sequence),
            _ => Mark::Other,
        };
        frames.push((at, extent, mark));
        at += extent;
    }
    Ok(frames)
}

/// Which frames go: a fence region from its begin to its cancel, wholly in
/// this segment, unless it holds the log's last event (recovery's resume point).
fn dropped_regions(frames: &[(usize, usize, Mark)], last_sequence: u64) -> Vec<bool> {
    let mut gone = vec![false; frames.len()];
    let mut open: Option<(usize, u64)> = None;
    let mut holds_last = false;
    for (i, (_, _, mark)) in frames.iter().enumerate() {
        match *mark {
            Mark::FenceBegin(fence) => {
                open = Some((i, fence));
                holds_last = false;
            }
            Mark::Event(sequence) => holds_last |= sequence >= last_sequence,
            Mark::FenceCancel(fence) => {
                if let Some((start, _)) = open.take().filter(|(_, f)| *f == fence) {
                    if !holds_last {
                        gone[start..=i].iter_mut().for_each(|g| *g = true);
                    }
                }
            }
            _ => {}
        }
    }
    gone
}

/// What the rewrite touches besides the files: the index learns the new
/// offsets, and the read maps of rewritten segments are dropped.
pub(crate) struct Live<'a> {
    pub index: &'a RwLock<Index>,
    pub files: &'a SegmentFiles,
}

/// Rewrites segment `id` as planned: temporary file, fsync, rename; then
/// moves the index's offsets, drops the stale read map, and fsyncs the
/// directory.
fn apply(
    io: &dyn LogIo,
    dir: &Path,
    live: &Live<'_>,
    id: u64,
    rewrite: &Rewrite,
) -> Result<(), StoreError> {
    let path = segment::segment_path(dir, id);
    let tmp = path.with_extension("compact");
    let err = |op, e| StoreError::io(op, &tmp, e);
    let mut f = create_temporary(io, &tmp).map_err(|e| err(IoOp::Open, e))?;
    f.write_all(&rewrite.bytes)
        .map_err(|e| err(IoOp::Write, e))?;
    f.sync_all().map_err(|e| err(IoOp::Sync, e))?;
    let mut index = locking::write(live.index);
    io.rename(&tmp, &path).map_err(|e| err(IoOp::Rename, e))?;
    // From the rename on, the new file is the one under the name, durable or
    // not: the index follows it even if the directory sync fails, or reads
    // (and the index snapshot saved at close) would use the old offsets.
    index.move_offsets(id, &rewrite.moved);
    live.files.forget(id);
    drop(index);
    segment::sync_dir(io, dir)
}

/// Compacts every sealed segment below `active` (runs on the writer thread,
/// after a sync). `last_sequence` is the highest sequence the writer has given
/// out (0 before the first event): the event holding it is never dropped.
pub(crate) fn compact_sealed(
    io: &dyn LogIo,
    dir: &Path,
    active: u64,
    last_sequence: u64,
    live: &Live<'_>,
) -> Result<CompactReport, StoreError> {
    let mut report = CompactReport::default();
    let mut snapshot_removed = false;
    for id in segment::list_segments_with(io, dir)?
        .into_iter()
        .filter(|id| *id < active)
    {
        let Some(rewrite) = plan(io, dir, id, last_sequence)? else {
            continue;
        };
        if !snapshot_removed {
            // An index snapshot records the segments' lengths, and one longer
            // than its file is damage on open. A crash after the rewrite must
            // not leave a snapshot that predates it, so it goes first, durably.
            snapshot::remove(io, dir)?;
            snapshot_removed = true;
        }
        let path = segment::segment_path(dir, id);
        let before = io
            .len(&path)
            .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
        apply(io, dir, live, id, &rewrite)?;
        report.segments_rewritten += 1;
        report.bytes_reclaimed += before - rewrite.bytes.len() as u64;
        report.events_dropped += rewrite.dropped;
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
