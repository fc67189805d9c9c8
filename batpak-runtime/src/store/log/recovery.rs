//! Rebuilding state from the segment log: the index of visible events and the
//! writer's resume point (sequence, id clock, idempotency keys).
//!
//! The same scan serves `Store::open` (which may repair: truncate a torn tail or an
//! unfinished batch at the end of the newest segment), read-only opens (which never
//! write) and `Store::verify` (which also recomputes every hash chain). A repairing
//! scan reads and writes through the store's `LogIo`. The commit protocol it
//! enforces is argued in docs/format.md.

use super::frame::{self, EventFrame, Frame, FrameRead};
use super::io::{LogIo, StdIo};
use super::segment::{self, SEGMENT_HEADER_BYTES};
use super::watermark::{self, Mark};
use crate::event::id::timestamp_us;
use crate::event::{Codec, EventKind};
use crate::store::config::{IndexTopology, FRAME_BYTES_HARD_MAX};
use crate::store::error::{CorruptionKind, LogPosition, StoreError};
use crate::store::index::lists::IdSet;
use crate::store::index::{Index, Link, NamesMark, Record, RecordFields};
use crate::store::options::AppendReceipt;
use chains::Tips;
use std::collections::HashMap;
use std::path::Path;

mod chains;
mod part;
mod report;
pub(crate) use chains::ChainStart;
pub use report::{ChainBreak, RecoveryReport, TruncatedTail, UnfinishedUnit};
pub(crate) mod follow;
mod sealed;
mod tail;
use sealed::check_sealed;

/// The last event of an entity: its entity sequence and chained hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tip {
    pub sequence: u64,
    pub hash: [u8; 32],
}

/// What an idempotency key was used for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyUse {
    pub digest: [u8; 16],
    pub receipt: AppendReceipt,
}

/// Identifies an append's content for idempotency checks.
pub(crate) fn content_digest(
    entity: &str,
    scope: &str,
    kind: EventKind,
    codec: Codec,
    schema_version: u16,
    payload: &[u8],
) -> [u8; 16] {
    let mut h = blake3::Hasher::new();
    h.update(&(entity.len() as u32).to_le_bytes());
    h.update(entity.as_bytes());
    h.update(&(scope.len() as u32).to_le_bytes());
    h.update(scope.as_bytes());
    h.update(&kind.raw().to_le_bytes());
    h.update(&[codec as u8]);
    h.update(&schema_version.to_le_bytes());
    h.update(payload);
    let mut out = [0; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

/// The writer's resume point. Names and chain tips are not in it: the writer
/// finds names in the index, and an entity's tip from its last event there.
#[derive(Debug, Default)]
pub(crate) struct WriterSeed {
    pub next_sequence: u64,
    pub last_event_id: u128,
    pub active_segment: Option<(u64, u64)>,
    /// The coordinates the active segment has name frames for.
    pub defined_in_active: IdSet,
    pub keys: HashMap<u128, KeyUse>,
    pub next_batch_id: u64,
    pub next_fence_id: u64,
    pub unterminated_fence: Option<u64>,
}

/// Everything a scan produces.
pub(crate) struct Recovered {
    pub index: Index,
    pub seed: WriterSeed,
    pub report: RecoveryReport,
    pub chain_break: Option<ChainBreak>,
    /// Entities whose first event in the log is above sequence 1 (checked
    /// against retention records after the scan).
    pub chain_starts: Vec<ChainStart>,
    /// Where a following scan (a read-only store's) stopped, to read on.
    pub follower: Option<follow::Follower>,
    /// The segments (id, length) the index's mapped base was written from,
    /// when it has one: the part of the log that rebuilds it.
    pub base_segments: Vec<(u64, u64)>,
}

/// How to scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanOptions {
    /// Truncate a torn tail / unfinished batch (read-write opens only).
    pub repair: bool,
    /// Recompute every chained hash (verify).
    pub check_chains: bool,
    pub topology: IndexTopology,
    /// Also cut damage before the durable watermark (`RecoveryMode::Salvage`).
    pub salvage: bool,
    /// Keep what a read-only store needs to follow on: a fence open at the
    /// end stays pending (its writer may commit it), the resume point stays.
    pub follow: bool,
}

struct Pending {
    record: Record,
    link: Option<Link>,
    key: Option<(u128, KeyUse)>,
}

struct OpenUnit {
    id: u64,
    start: LogPosition,
    items: u64,
    events: Vec<Pending>,
    /// Chain tips to restore if the unit is dropped (when checking chains).
    undo: Vec<(u32, Option<chains::ChainTip>)>,
    /// Coordinates whose name frames sit inside this unit (a dropped batch
    /// takes them with it).
    names: Vec<u32>,
    /// The coordinate ids and index names known before the unit began: the
    /// ids a dropped batch introduced are free again.
    index_names_before: NamesMark,
}

impl OpenUnit {
    fn new(id: u64, start: LogPosition, items: u64, scan: &Scan<'_>) -> Self {
        Self {
            id,
            start,
            items,
            events: Vec::new(),
            undo: Vec::new(),
            names: Vec::new(),
            index_names_before: scan.index.names_mark(),
        }
    }
}

struct Scan<'a> {
    io: &'a dyn LogIo,
    opts: ScanOptions,
    index: Index,
    seed: WriterSeed,
    report: RecoveryReport,
    chain_break: Option<ChainBreak>,
    /// Each entity's chain tip, kept when checking chains.
    tips: Tips,
    batch: Option<OpenUnit>,
    fence: Option<OpenUnit>,
    defined: IdSet,
    /// The durable watermark, if the directory has one.
    mark: Option<Mark>,
    /// Where the newest segment stops decoding: (segment, offset, whether
    /// the damage lies before the watermark).
    tail: Option<(u64, u64, bool)>,
    /// Where zeros that hold nothing start: from a frame boundary to the
    /// end of the newest segment, past the watermark (`is_blank_tail`).
    blank_tail: Option<LogPosition>,
    /// A fence open at the end, kept pending for a follower.
    kept_fence: Option<OpenUnit>,
    /// The header of the segment the scan ended in, as it read it.
    active_head: Option<[u8; SEGMENT_HEADER_BYTES as usize]>,
}

fn corrupt(segment: u64, offset: u64, kind: CorruptionKind) -> StoreError {
    StoreError::Corrupt {
        at: LogPosition { segment, offset },
        kind,
    }
}

/// Scans every segment of `dir` without repairing anything (read-only opens,
/// `verify`), reading the files directly.
pub(crate) fn scan(dir: &Path, opts: ScanOptions) -> Result<Recovered, StoreError> {
    assert!(
        !opts.repair,
        "a repairing scan writes, so it goes through the store's LogIo"
    );
    scan_with(&StdIo, dir, opts)
}

/// Scans every segment of `dir` through `io`, which also carries out the
/// repairs when `opts.repair` is set.
pub(crate) fn scan_with(
    io: &dyn LogIo,
    dir: &Path,
    opts: ScanOptions,
) -> Result<Recovered, StoreError> {
    let seed = WriterSeed {
        next_sequence: 1,
        next_batch_id: 1,
        next_fence_id: 1,
        ..WriterSeed::default()
    };
    scan_from(io, dir, opts, Index::new(opts.topology), seed, None)
}

/// Scans `dir` through `io` on top of `index` and `seed` (what an index
/// snapshot covered), from `from` on (the whole log when `None`): the
/// segment `from` names is read from its offset, with the coordinates its
/// earlier part defined (`seed.defined_in_active`), then every later one.
/// The directory as a whole (headers, links, lengths, watermark) is checked
/// first either way.
pub(crate) fn scan_from(
    io: &dyn LogIo,
    dir: &Path,
    opts: ScanOptions,
    index: Index,
    seed: WriterSeed,
    from: Option<LogPosition>,
) -> Result<Recovered, StoreError> {
    // The mark first, or a live writer's later mark may name an unlisted segment.
    let mark = watermark::load(io, dir)?.map(|(_, m)| m);
    let ids = segment::list_segments_with(io, dir)?;
    check_sealed(io, dir, &ids, mark)?;
    if !opts.salvage {
        tail::check_mark(io, dir, &ids, mark)?;
    }
    let mut scan = Scan {
        io,
        opts,
        index,
        seed,
        report: RecoveryReport::default(),
        chain_break: None,
        tips: Tips::default(),
        batch: None,
        fence: None,
        defined: IdSet::default(),
        mark,
        tail: None,
        blank_tail: None,
        kept_fence: None,
        active_head: None,
    };
    scan.report.durable_mark = mark.map(|m| LogPosition {
        segment: m.segment,
        offset: m.len,
    });
    for (i, &id) in ids.iter().enumerate() {
        let newest = i + 1 == ids.len();
        match from {
            Some(from) if id < from.segment => scan.report.segments += 1,
            Some(from) if id == from.segment && from.offset > SEGMENT_HEADER_BYTES => {
                let defined = std::mem::take(&mut scan.seed.defined_in_active);
                scan.segment_from(dir, id, newest, Some((from.offset, defined)))?;
            }
            _ => scan.segment(dir, id, newest)?,
        }
    }
    scan.finish(dir)?;
    let follower = opts
        .follow
        .then(|| follow::Follower::after_scan(dir, &mut scan));
    Ok(Recovered {
        index: scan.index,
        seed: scan.seed,
        report: scan.report,
        chain_break: scan.chain_break,
        chain_starts: std::mem::take(&mut scan.tips.starts),
        follower,
        base_segments: Vec::new(),
    })
}

impl Scan<'_> {
    fn segment(&mut self, dir: &Path, id: u64, newest: bool) -> Result<(), StoreError> {
        self.segment_from(dir, id, newest, None)
    }

    /// Scans segment `id`, from its first frame or, with `resume`, from an
    /// offset with the coordinates the part before it defined.
    fn segment_from(
        &mut self,
        dir: &Path,
        id: u64,
        newest: bool,
        resume: Option<(u64, IdSet)>,
    ) -> Result<(), StoreError> {
        let path = segment::segment_path(dir, id);
        let part = part::SegmentPart::read(self.io, &path, id, resume.as_ref().map(|r| r.0))?;
        if newest && tail::is_torn_creation(self.io, &path, id, part.head(), self.mark)? {
            // A crash while creating the segment: nothing was ever written to it.
            return self.torn_creation(dir, id, part.head());
        }
        self.report.bytes_read += part.bytes_read() as u64;
        segment::check_header(id, part.head())?;
        // The index stores segment ids and offsets in 32 bits, and ids start at 1.
        if id == 0 || id > u64::from(u32::MAX) || part.len() as u64 > u64::from(u32::MAX) {
            return Err(corrupt(id, 0, CorruptionKind::BadSegmentHeader));
        }
        if self.batch.is_some() {
            let start = self.batch.as_ref().map_or(0, |b| b.start.offset);
            return Err(corrupt(id, start, CorruptionKind::BadProtocol));
        }
        self.report.segments += 1;
        self.defined.clear();
        let mut offset = SEGMENT_HEADER_BYTES as usize;
        if let Some((start, defined)) = resume {
            let start = usize::try_from(start).unwrap_or(usize::MAX);
            if start > part.len() {
                // The snapshot's caller checked the length; the file shrank since.
                let kind = CorruptionKind::SegmentLength {
                    expected: start as u64,
                    actual: part.len() as u64,
                };
                return Err(corrupt(id, part.len() as u64, kind));
            }
            offset = start.max(part.base());
            self.defined = defined;
        }
        while offset < part.len() {
            let rest = part.from(offset);
            let at = LogPosition {
                segment: id,
                offset: offset as u64,
            };
            let kind = match frame::read_frame(rest, FRAME_BYTES_HARD_MAX) {
                FrameRead::Frame(frame, extent) => {
                    self.report.frames += 1;
                    self.frame(frame, at)?;
                    offset += extent;
                    continue;
                }
                FrameRead::Incomplete | FrameRead::BadLength => CorruptionKind::BadLength,
                FrameRead::BadCrc(_) => CorruptionKind::BadCrc,
                FrameRead::BadBody => CorruptionKind::BadBody,
            };
            if newest && self.is_blank_tail(id, offset as u64, rest) {
                // The end of the log; a read-write open cuts the zeros.
                self.blank_tail = Some(at);
                break;
            }
            self.undecodable(id, offset as u64, kind, newest)?;
            break;
        }
        let len = offset as u64;
        self.seed.active_segment = Some((id, len));
        self.active_head = part
            .head()
            .get(..SEGMENT_HEADER_BYTES as usize)
            .and_then(|h| h.try_into().ok());
        Ok(())
    }

    fn frame(&mut self, frame: Frame<'_>, at: LogPosition) -> Result<(), StoreError> {
        let bad = |kind| corrupt(at.segment, at.offset, kind);
        match frame {
            Frame::Name {
                coord_id,
                entity,
                scope,
            } => {
                // Ids are dense (assigned in order of first use): a name frame
                // names a known id (with its names) or the next one.
                if !self.index.define_name(coord_id, entity, scope) {
                    return Err(bad(CorruptionKind::UnknownName));
                }
                if self.defined.insert(coord_id) {
                    if let Some(batch) = self.batch.as_mut() {
                        batch.names.push(coord_id);
                    }
                }
            }
            Frame::Event(ev) => self.event(&ev, at)?,
            Frame::BatchBegin { batch_id, items } => {
                if self.batch.is_some() || items == 0 {
                    return Err(bad(CorruptionKind::BadProtocol));
                }
                self.seed.next_batch_id = self.seed.next_batch_id.max(batch_id + 1);
                self.batch = Some(OpenUnit::new(batch_id, at, items, self));
            }
            Frame::BatchCommit { batch_id } => {
                let batch = self
                    .batch
                    .take()
                    .ok_or_else(|| bad(CorruptionKind::BadProtocol))?;
                if batch.id != batch_id || batch.events.len() as u64 != batch.items {
                    return Err(bad(CorruptionKind::BadProtocol));
                }
                match &mut self.fence {
                    Some(fence) => {
                        fence.events.extend(batch.events);
                        fence.undo.extend(batch.undo);
                    }
                    None => self.publish(batch.events),
                }
            }
            Frame::FenceBegin { fence_id } => {
                if self.fence.is_some() || self.batch.is_some() {
                    return Err(bad(CorruptionKind::BadProtocol));
                }
                self.seed.next_fence_id = self.seed.next_fence_id.max(fence_id + 1);
                self.fence = Some(OpenUnit::new(fence_id, at, 0, self));
            }
            Frame::FenceCommit { fence_id } | Frame::FenceCancel { fence_id } => {
                let fence = self
                    .fence
                    .take()
                    .filter(|f| f.id == fence_id && self.batch.is_none())
                    .ok_or_else(|| bad(CorruptionKind::BadProtocol))?;
                if matches!(frame, Frame::FenceCommit { .. }) {
                    self.publish(fence.events);
                } else {
                    self.report.discarded_fence_events += fence.events.len() as u64;
                    self.rollback(fence.undo);
                }
            }
        }
        Ok(())
    }

    fn event(&mut self, ev: &EventFrame<'_>, at: LogPosition) -> Result<(), StoreError> {
        let bad = |kind| corrupt(at.segment, at.offset, kind);
        if !self.defined.contains(&ev.coord_id) {
            return Err(bad(CorruptionKind::UnknownName));
        }
        if ev.sequence < self.seed.next_sequence || ev.event_id <= self.seed.last_event_id {
            return Err(bad(CorruptionKind::BadProtocol));
        }
        self.seed.next_sequence = ev.sequence + 1;
        self.seed.last_event_id = ev.event_id;
        let (entity, scope) = self.index.names_of(ev.coord_id);
        let undo = self.opts.check_chains.then(|| {
            let id = self.index.entity_of(ev.coord_id);
            let (prev, broken) = self.tips.follow(id, (entity, scope), ev, at);
            if self.chain_break.is_none() {
                self.chain_break = broken.map(|sequence_gap| ChainBreak {
                    at,
                    event_id: ev.event_id,
                    sequence_gap,
                });
            }
            (id, prev)
        });
        // An event with an idempotency key is always a type-1 frame, which
        // stores its hash: the receipt a replay returns needs it.
        let key = ev.idempotency_key.zip(ev.hash()).map(|(k, content_hash)| {
            let receipt = AppendReceipt {
                event_id: crate::event::EventId::new(ev.event_id),
                sequence: ev.sequence,
                entity_sequence: ev.entity_sequence,
                timestamp_us: timestamp_us(ev.event_id),
                content_hash,
                signature: None,
            };
            let codec = ev.codec();
            let digest =
                content_digest(entity, scope, ev.kind, codec, ev.schema_version, ev.payload);
            (k, KeyUse { digest, receipt })
        });
        let link =
            (ev.correlation_id != ev.event_id || ev.causation_id.is_some()).then_some(Link {
                position: 0,
                correlation_id: ev.correlation_id,
                causation_id: ev.causation_id,
            });
        let pending = Pending {
            record: Record::new(&RecordFields {
                event_id: ev.event_id,
                sequence: ev.sequence,
                at,
                coord: ev.coord_id,
                entity_sequence: ev.entity_sequence,
                kind: ev.kind,
                bits: ev.bits,
            }),
            link,
            key,
        };
        match self.batch.as_mut().or(self.fence.as_mut()) {
            Some(unit) => {
                unit.undo.extend(undo);
                unit.events.push(pending);
            }
            None => self.publish(vec![pending]),
        }
        Ok(())
    }

    fn publish(&mut self, events: Vec<Pending>) {
        for p in events {
            self.index.push(p.record, p.link);
            if let Some((k, use_)) = p.key {
                self.seed.keys.insert(k, use_);
            }
        }
    }

    fn rollback(&mut self, undo: Vec<(u32, Option<chains::ChainTip>)>) {
        for (entity, prev) in undo.into_iter().rev() {
            self.tips.set(entity, prev);
        }
    }

    fn finish(&mut self, dir: &Path) -> Result<(), StoreError> {
        // A cut starts at an unfinished batch's begin marker, else where the
        // newest segment stops decoding.
        let tail = self
            .tail
            .map(|(segment, offset, _)| LogPosition { segment, offset });
        let cut = self.batch.as_ref().map(|b| b.start).or(tail);
        let unfinished = self.unfinished_units();
        if let Some(batch) = self.batch.take() {
            // The writer crashed inside a batch: none of it was acknowledged.
            self.report.discarded_batch_events += batch.events.len() as u64;
            self.rollback(batch.undo);
            for id in &batch.names {
                self.defined.remove(id);
            }
            // The coordinates it named first go with it, so the writer gives
            // the next new coordinate the id the log on disk expects next.
            self.index.forget_names_since(batch.index_names_before);
        }
        if let Some(fence) = self.fence.take() {
            // Crashed inside a fence: its writes never committed and stay
            // hidden (a follower keeps it pending: its writer may be alive).
            self.report.unterminated_fence = true;
            self.report.discarded_fence_events += fence.events.len() as u64;
            self.seed.unterminated_fence = Some(fence.id);
            if self.opts.follow {
                self.kept_fence = Some(fence);
            } else {
                self.rollback(fence.undo);
            }
        }
        match (cut, self.blank_tail) {
            (Some(at), _) => self.cut(dir, at, unfinished)?,
            (None, Some(at)) => self.cut_blank_tail(dir, at)?,
            (None, None) => {}
        }
        self.seed.defined_in_active = std::mem::take(&mut self.defined);
        self.report.events = self.index.len() as u64;
        Ok(())
    }
}
