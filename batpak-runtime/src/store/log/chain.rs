//! Chain hashes computed from the log. An event's hash is chained on its
//! entity's previous visible event (docs/format.md), but most lean frames
//! do not store it: the writer stores it at checkpoints, every
//! [`CHECKPOINT`]-th event of an entity and its chain's first event in each
//! segment. A hash is found by walking back through the entity's events in
//! the index to the nearest frame that stores one (or to the chain's start:
//! zeros for sequence 1, else the retention floor's hash), then chaining
//! forward. The second rule keeps a walk inside one segment, so it reads at
//! most `CHECKPOINT` frames.

use super::frame::EventFrame;
use super::reader::SegmentFiles;
use crate::store::error::{CorruptionKind, LogPosition, StoreError};
use crate::store::index::Index;

/// Every this many events of an entity, the writer stores the hash.
pub(crate) const CHECKPOINT: u64 = 64;

/// One of an entity's events as a walk reads it.
struct Step {
    at: LogPosition,
    event_id: u128,
    sequence: u64,
    coord: u32,
}

fn step(index: &Index, pos: u32) -> Step {
    let r = index.record(pos);
    Step {
        at: r.location(),
        event_id: r.event_id(),
        sequence: r.entity_sequence(),
        coord: r.coord(),
    }
}

/// The position named when a walk is asked for an event the entity does
/// not list (a caller's mistake, reported rather than panicking).
const NOWHERE: LogPosition = LogPosition {
    segment: 0,
    offset: 0,
};

fn corrupt(at: LogPosition) -> StoreError {
    StoreError::Corrupt {
        at,
        kind: CorruptionKind::BadBody,
    }
}

/// Reads `s`'s frame once and hands it to `f`; the frame must be the event
/// the index says.
fn read<R>(
    files: &SegmentFiles,
    s: &Step,
    f: impl FnOnce(&EventFrame<'_>) -> R,
) -> Result<R, StoreError> {
    files
        .with_event(s.at, s.event_id, |ev| {
            (ev.entity_sequence == s.sequence).then(|| f(ev))
        })?
        .flatten()
        .ok_or_else(|| corrupt(s.at))
}

/// The stored hash of `s`'s frame, if it stores one.
fn stored(files: &SegmentFiles, s: &Step) -> Result<Option<[u8; 32]>, StoreError> {
    read(files, s, |ev| ev.hash())
}

/// `s`'s hash, chained on `prev`.
fn chained(
    index: &Index,
    files: &SegmentFiles,
    s: &Step,
    prev: &[u8; 32],
) -> Result<[u8; 32], StoreError> {
    let (entity, scope) = index.names_of(s.coord);
    read(files, s, |ev| ev.chain_hash(prev, entity, scope))
}

/// Where entity `entity`'s event with entity sequence `sequence` is (or
/// would be) in `index.entity_events(entity)`.
pub(crate) fn list_index(index: &Index, entity: u32, sequence: u64) -> usize {
    let list = index.entity_events(entity);
    list.partition_point(|p| index.record(p).entity_sequence() < sequence)
}

/// The hash before entity `entity`'s first listed event, whose sequence
/// is `first`: zeros for a whole chain, the floor's hash for one a
/// retention cut started.
fn chain_start(index: &Index, entity: u32, first: &Step) -> Result<[u8; 32], StoreError> {
    match (first.sequence, index.floor(entity)) {
        (1, _) => Ok([0; 32]),
        (s, Some(floor)) if floor.before == s => Ok(floor.hash),
        _ => Err(corrupt(first.at)),
    }
}

/// The hash of entity `entity`'s `i`-th listed event (0-based, in
/// `index.entity_events(entity)`).
pub(crate) fn hash_at(
    index: &Index,
    files: &SegmentFiles,
    entity: u32,
    i: usize,
) -> Result<[u8; 32], StoreError> {
    let list = index.entity_events(entity);
    let at = |j: usize| list.get(j).map(|p| step(index, p));
    let mut j = i;
    let mut hash = loop {
        let s = at(j).ok_or_else(|| corrupt(NOWHERE))?;
        if let Some(h) = stored(files, &s)? {
            if j == i {
                return Ok(h);
            }
            j += 1;
            break h;
        }
        if j == 0 {
            break chain_start(index, entity, &s)?;
        }
        j -= 1;
    };
    while j <= i {
        let s = at(j).ok_or_else(|| corrupt(NOWHERE))?;
        hash = chained(index, files, &s, &hash)?;
        j += 1;
    }
    Ok(hash)
}

/// The hash of entity `entity`'s event with entity sequence `sequence`;
/// `None` when the entity does not list it.
pub(crate) fn hash_of_sequence(
    index: &Index,
    files: &SegmentFiles,
    entity: u32,
    sequence: u64,
) -> Result<Option<[u8; 32]>, StoreError> {
    let i = list_index(index, entity, sequence);
    match index.entity_events(entity).get(i) {
        Some(p) if index.record(p).entity_sequence() == sequence => {
            hash_at(index, files, entity, i).map(Some)
        }
        _ => Ok(None),
    }
}

/// The hash entity `entity`'s event with entity sequence `sequence` is
/// chained on: its predecessor's, or where its chain starts.
#[cfg_attr(not(feature = "signing"), allow(dead_code))]
pub(crate) fn hash_before(
    index: &Index,
    files: &SegmentFiles,
    entity: u32,
    sequence: u64,
) -> Result<[u8; 32], StoreError> {
    let i = list_index(index, entity, sequence);
    match (i, index.entity_events(entity).get(i)) {
        (0, Some(p)) => chain_start(index, entity, &step(index, p)),
        (_, Some(_)) => hash_at(index, files, entity, i - 1),
        (_, None) => Err(corrupt(NOWHERE)),
    }
}

/// Chains entity `entity`'s events from its `i`-th listed one onward,
/// starting from `prev`, to the first frame that stores its hash: whether
/// that hash is the one computed, `None` when no frame after it stores one.
pub(crate) fn walk_to_stored(
    index: &Index,
    files: &SegmentFiles,
    entity: u32,
    i: usize,
    prev: [u8; 32],
) -> Result<Option<bool>, StoreError> {
    let list = index.entity_events(entity);
    let mut hash = prev;
    for j in i..list.len() {
        let Some(s) = list.get(j).map(|p| step(index, p)) else {
            break;
        };
        // One read gives both the hash chained here and the one stored.
        let (name, scope) = index.names_of(s.coord);
        let (computed, kept) = read(files, &s, |ev| {
            (ev.chain_hash(&hash, name, scope), ev.hash())
        })?;
        if let Some(kept) = kept {
            return Ok(Some(kept == computed));
        }
        hash = computed;
    }
    Ok(None)
}
