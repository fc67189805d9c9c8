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
//!
//! Events below their entity's retention floor (`Store::truncate_before`,
//! `Store::tombstone`, retention policies) go too: the floors come with the
//! call, by entity name, and a batch that loses some of its events gets a
//! begin marker with the new count (none left: both markers go). The log's
//! last event is never below a floor: the retention record that set the
//! floor was written after it.

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
    /// Of `events_dropped`, the events below a retention floor.
    pub events_cut: u64,
}

/// The retention floors compaction applies, by entity name: events with an
/// entity sequence below the floor go.
pub(crate) type Floors = HashMap<String, u64>;

/// One segment's plan: the bytes to keep and where kept frames move.
struct Rewrite {
    bytes: Vec<u8>,
    moved: HashMap<u32, u32>,
    dropped: u64,
    cut: u64,
}

/// What compaction needs to know about a frame.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    FenceBegin(u64),
    FenceCancel(u64),
    Name,
    /// An event, its global sequence, and whether it is below its floor.
    Event(u64, bool),
    /// A batch's begin marker: its id and item count.
    BatchBegin(u64, u64),
    BatchCommit(u64),
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
    floors: &Floors,
) -> Result<Option<Rewrite>, StoreError> {
    let path = segment::segment_path(dir, id);
    let old = io
        .read(&path)
        .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
    let header = segment::check_header(id, &old)?;
    let frames = marks(id, &old, floors)?;
    let mut gone = dropped_regions(&frames, last_sequence);
    for (g, (_, _, mark)) in gone.iter_mut().zip(&frames) {
        *g |= matches!(mark, Mark::Event(_, true));
    }
    if !gone.contains(&true) {
        return Ok(None);
    }
    let counts = batch_counts(&frames, &gone);
    let mut bytes = vec![0; SEGMENT_HEADER_BYTES as usize];
    let mut moved = HashMap::new();
    let (mut dropped, mut cut) = (0, 0);
    for (i, ((offset, extent, mark), gone)) in frames.iter().zip(&gone).enumerate() {
        // Name frames stay: later frames of the segment may use the names.
        if *gone && *mark != Mark::Name {
            if let Mark::Event(_, below) = mark {
                dropped += 1;
                cut += u64::from(*below);
            }
            continue;
        }
        match (mark, counts.get(&i)) {
            // A batch that lost every event loses its markers too.
            (Mark::BatchBegin(..) | Mark::BatchCommit(_), Some(0)) => continue,
            (Mark::BatchBegin(batch, items), Some(&kept)) if kept != *items => {
                moved.insert(*offset as u32, bytes.len() as u32);
                frame::put_marker(&mut bytes, frame::TYPE_BATCH_BEGIN, *batch, Some(kept));
                continue;
            }
            _ => {}
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
        cut,
    }))
}

/// Every frame of segment `id` (its bytes `old`) as (offset, extent, mark),
/// with each event checked against `floors` by its entity's name (defined
/// by a name frame earlier in the segment).
fn marks(id: u64, old: &[u8], floors: &Floors) -> Result<Vec<(usize, usize, Mark)>, StoreError> {
    let mut frames = Vec::new();
    let mut names: HashMap<u32, u64> = HashMap::new();
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
            Frame::BatchBegin { batch_id, items } => Mark::BatchBegin(batch_id, items),
            Frame::BatchCommit { batch_id } => Mark::BatchCommit(batch_id),
            Frame::Name {
                coord_id, entity, ..
            } => {
                if let Some(&floor) = floors.get(entity) {
                    names.insert(coord_id, floor);
                }
                Mark::Name
            }
            Frame::Event(ev) => {
                let below = names
                    .get(&ev.coord_id)
                    .is_some_and(|&floor| ev.entity_sequence < floor);
                Mark::Event(ev.sequence, below)
            }
            _ => Mark::Other,
        };
        frames.push((at, extent, mark));
        at += extent;
    }
    Ok(frames)
}

/// Whether the active segment `id`, up to `len` (where its frames end),
/// holds an event below a floor in `floors`.
pub(crate) fn holds_cut(
    io: &dyn LogIo,
    dir: &Path,
    (id, len): (u64, u64),
    floors: &Floors,
) -> Result<bool, StoreError> {
    let path = segment::segment_path(dir, id);
    let mut bytes = io
        .read(&path)
        .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
    // Only its frames: the file may go on with reserved space.
    bytes.truncate(usize::try_from(len).unwrap_or(usize::MAX));
    segment::check_header(id, &bytes)?;
    let frames = marks(id, &bytes, floors)?;
    Ok(frames
        .iter()
        .any(|(_, _, mark)| matches!(mark, Mark::Event(_, true))))
}

/// For each batch begin and commit marker (by frame number), how many of the
/// batch's events stay.
fn batch_counts(frames: &[(usize, usize, Mark)], gone: &[bool]) -> HashMap<usize, u64> {
    let mut counts = HashMap::new();
    let mut open: Option<(usize, u64)> = None;
    for (i, ((_, _, mark), gone)) in frames.iter().zip(gone).enumerate() {
        match *mark {
            Mark::BatchBegin(..) => open = Some((i, 0)),
            Mark::Event(..) if !gone => {
                if let Some((_, kept)) = &mut open {
                    *kept += 1;
                }
            }
            Mark::BatchCommit(_) => {
                if let Some((begin, kept)) = open.take() {
                    counts.insert(begin, kept);
                    counts.insert(i, kept);
                }
            }
            _ => {}
        }
    }
    counts
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
            Mark::Event(sequence, _) => holds_last |= sequence >= last_sequence,
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
    floors: &Floors,
    live: &Live<'_>,
) -> Result<CompactReport, StoreError> {
    let mut report = CompactReport::default();
    let mut snapshot_removed = false;
    for id in segment::list_segments_with(io, dir)?
        .into_iter()
        .filter(|id| *id < active)
    {
        let Some(rewrite) = plan(io, dir, id, last_sequence, floors)? else {
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
        report.events_cut += rewrite.cut;
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
