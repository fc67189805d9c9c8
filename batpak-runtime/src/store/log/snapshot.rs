//! Index snapshots (`index.snap`): with `enable_mmap_index`, the writer saves the
//! index and its own resume point when the store closes; the next open maps the
//! file with memmap2 and rebuilds the index from it instead of scanning every
//! segment. The names and records are saved as flat arrays, so a load copies
//! each array once and hashes each name once (to rebuild its lookup table);
//! chain tips are not saved (the writer reads them back from the log when it
//! needs them). A snapshot names every segment with its exact length; it is used
//! only when the directory holds exactly those segments at exactly those lengths (the
//! log is append-only, so equal lengths mean equal content), its CRC matches and
//! it parses completely. Anything else (missing, stale, truncated, corrupt) falls
//! back to the scan, and the reason is reported in diagnostics, except an intact
//! snapshot listing a segment that is missing or shorter than listed: the log
//! only grows between snapshots, so that is lost data, a typed error (the scan
//! would miss the same events without noticing). The snapshot is
//! written, and the directory compared with it, through the store's `LogIo`; the
//! map itself is made directly (see `io`).

use super::frame::{put_varint, BodyReader, COUNTER_MAX};
use super::io::{create_temporary, LogIo};
use super::recovery::{KeyUse, Recovered, RecoveryReport, WriterSeed};
use super::segment;
use crate::event::id::is_clock_id;
use crate::store::config::IndexTopology;
use crate::store::error::{CorruptionKind, IoOp, LogPosition, StoreError};
use crate::store::index::lists::IdSet;
use crate::store::index::names::NameTable;
use crate::store::index::{Index, Link, Record};
use crate::store::options::AppendReceipt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Name of the snapshot file in the data directory.
pub const SNAPSHOT_FILE: &str = "index.snap";
/// Version 2 saves names as arrays and no chain tips; a version 1 snapshot is
/// refused (its header does not match) and the open scans.
const MAGIC: &[u8; 8] = b"BPKSNAP2";
const HEADER_BYTES: usize = 24;

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(SNAPSHOT_FILE)
}

fn put_u128(buf: &mut Vec<u8>, v: u128) {
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Appends the little-endian bytes of each of `words`.
fn put_words<const N: usize>(buf: &mut Vec<u8>, words: impl Iterator<Item = [u8; N]>) {
    for w in words {
        buf.extend_from_slice(&w);
    }
}

/// The writer's state worth saving, borrowed at close.
pub(crate) struct SeedView<'a> {
    pub next_sequence: u64,
    pub last_event_id: u128,
    pub next_batch_id: u64,
    pub next_fence_id: u64,
    /// The coordinates the active segment has name frames for.
    pub defined: &'a IdSet,
    pub keys: &'a HashMap<u128, KeyUse>,
}

/// Writes the snapshot atomically (temporary file, fsync, rename, directory fsync).
pub(crate) fn write(
    io: &dyn LogIo,
    dir: &Path,
    index: &Index,
    seed: &SeedView<'_>,
) -> Result<(), StoreError> {
    let mut body = Vec::with_capacity(64 + index.len() * 48);
    put_segments(&mut body, io, dir)?;
    put_seed(&mut body, seed, index);
    put_index(&mut body, index);
    let header = encode_header(&body);
    let final_path = path(dir);
    let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    let err = |op, e| StoreError::io(op, &tmp, e);
    let mut f = create_temporary(io, &tmp).map_err(|e| err(IoOp::Open, e))?;
    f.write_all(&header).map_err(|e| err(IoOp::Write, e))?;
    f.write_all(&body).map_err(|e| err(IoOp::Write, e))?;
    f.sync_data().map_err(|e| err(IoOp::Sync, e))?;
    io.rename(&tmp, &final_path)
        .map_err(|e| err(IoOp::Rename, e))?;
    segment::sync_dir(io, dir)
}

/// The header of a snapshot whose body is `body`: magic, body length, CRC.
pub(crate) fn encode_header(body: &[u8]) -> [u8; HEADER_BYTES] {
    let mut header = [0; HEADER_BYTES];
    header[..8].copy_from_slice(MAGIC);
    header[8..16].copy_from_slice(&(body.len() as u64).to_le_bytes());
    header[16..20].copy_from_slice(&crc32fast::hash(body).to_le_bytes());
    header
}

/// Encodes the segment table: every segment of `dir` with its length now.
fn put_segments(body: &mut Vec<u8>, io: &dyn LogIo, dir: &Path) -> Result<(), StoreError> {
    let ids = segment::list_segments_with(io, dir)?;
    put_varint(body, ids.len() as u64);
    for id in ids {
        let p = segment::segment_path(dir, id);
        let len = io.len(&p).map_err(|e| StoreError::io(IoOp::Read, &p, e))?;
        put_varint(body, id);
        put_varint(body, len);
    }
    Ok(())
}

/// Encodes the writer's resume point and the index's names.
fn put_seed(body: &mut Vec<u8>, seed: &SeedView<'_>, index: &Index) {
    put_varint(body, seed.next_sequence);
    put_u128(body, seed.last_event_id);
    put_varint(body, seed.next_batch_id);
    put_varint(body, seed.next_fence_id);
    let (entities, scopes, coords) = index.name_parts();
    for names in [entities, scopes] {
        put_varint(body, names.ends().len() as u64);
        put_varint(body, names.bytes().len() as u64);
        body.extend_from_slice(names.bytes().as_bytes());
        put_words(body, names.ends().iter().map(|e| e.to_le_bytes()));
    }
    put_varint(body, u64::from(index.coord_count()));
    put_words(
        body,
        coords.flat_map(|(e, s)| [e.to_le_bytes(), s.to_le_bytes()]),
    );
    put_varint(body, seed.defined.words().len() as u64);
    put_words(body, seed.defined.words().iter().map(|w| w.to_le_bytes()));
    put_varint(body, seed.keys.len() as u64);
    for (key, used) in seed.keys {
        put_u128(body, *key);
        body.extend_from_slice(&used.digest);
        let r = &used.receipt;
        put_u128(body, r.event_id.get());
        put_varint(body, r.sequence);
        put_varint(body, r.entity_sequence);
        body.extend_from_slice(&r.content_hash);
    }
}

/// Encodes the index: its records, then its links.
fn put_index(body: &mut Vec<u8>, index: &Index) {
    put_varint(body, index.len() as u64);
    for r in index.records() {
        body.extend_from_slice(&r.to_bytes());
    }
    put_varint(body, index.links().len() as u64);
    for l in index.links() {
        put_varint(body, u64::from(l.position));
        put_u128(body, l.correlation_id);
        match l.causation_id {
            Some(c) => {
                body.push(1);
                put_u128(body, c);
            }
            None => body.push(0),
        }
    }
}

/// Why a snapshot was not used.
pub(crate) type Rejection = String;

/// Loads the snapshot if it exists and matches the directory exactly.
/// `Ok(Ok(None))`: there is no snapshot. `Ok(Err(reason))`: present but
/// unusable; the caller scans. `Err(_)`: the snapshot is intact and lists a
/// segment that is missing or shorter than it records. That is damage, not
/// staleness: the log only grows between snapshots (compaction removes the
/// snapshot before it shortens anything), and a scan would silently miss the
/// same events.
pub(crate) fn load(
    io: &dyn LogIo,
    dir: &Path,
    topology: IndexTopology,
) -> Result<Result<Option<Recovered>, Rejection>, StoreError> {
    let p = path(dir);
    let file = match std::fs::File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(None)),
        Err(e) => return Ok(Err(format!("cannot open: {e}"))),
    };
    // SAFETY: the snapshot is only ever replaced by rename, never modified in
    // place, and every byte read from the map is bounds-checked by BodyReader;
    // a concurrent external truncation could still fault, as with any mapped file.
    let map = match unsafe { memmap2::Mmap::map(&file) } {
        Ok(map) => map,
        Err(e) => return Ok(Err(format!("cannot map: {e}"))),
    };
    let body = match checked_body(&map) {
        Ok(body) => body,
        Err(reason) => return Ok(Err(reason)),
    };
    let mut r = BodyReader::new(body);
    let Some(segments) = segment_table(&mut r) else {
        return Ok(Err("does not parse".into()));
    };
    if let Err(stale) = compare(io, dir, &segments)? {
        return Ok(Err(stale));
    }
    Ok(parse(r, &segments, topology)
        .map(Some)
        .ok_or_else(|| "does not parse".into()))
}

/// The body of a mapped snapshot, once its header and CRC check.
fn checked_body(bytes: &[u8]) -> Result<&[u8], Rejection> {
    if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
        return Err("bad header".into());
    }
    let body_len = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
    let crc = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or_default());
    let body = &bytes[HEADER_BYTES..];
    if body.len() as u64 != body_len {
        return Err("truncated".into());
    }
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(body)
}

/// Parses the rest of a snapshot body whose CRC matched and whose segment
/// table matches the directory; `None` when it does not parse.
fn parse(
    mut r: BodyReader<'_>,
    segments: &[(u64, u64)],
    topology: IndexTopology,
) -> Option<Recovered> {
    let mut seed = WriterSeed {
        next_sequence: r.varint()?,
        last_event_id: r.u128()?,
        next_batch_id: r.varint()?,
        next_fence_id: r.varint()?,
        active_segment: segments.last().copied(),
        ..WriterSeed::default()
    };
    // A resume point no frame could have left (see `frame`): the writer could
    // not continue from it.
    let room = |next: u64| next <= COUNTER_MAX + 1;
    let clock_ok = seed.last_event_id == 0 || is_clock_id(seed.last_event_id);
    if ![seed.next_sequence, seed.next_batch_id, seed.next_fence_id]
        .into_iter()
        .all(room)
        || !clock_ok
    {
        return None;
    }
    let mut index = read_names(&mut r, topology)?;
    read_writer_state(&mut r, &mut seed)?;
    let records = usize::try_from(r.varint()?).ok()?;
    let raw = r.bytes(records.checked_mul(44)?)?;
    let links = read_links(&mut r, records)?;
    if !r.rest().is_empty() {
        return None;
    }
    index.reserve(records);
    push_records(&mut index, &seed, raw, links)?;
    Some(Recovered {
        index,
        seed,
        report: RecoveryReport {
            segments: segments.len(),
            from_snapshot: true,
            ..RecoveryReport::default()
        },
        chain_break: None,
        chain_starts: Vec::new(),
        follower: None,
    })
}

/// Reads the segment table: ids and lengths; `None` when it does not parse.
fn segment_table(r: &mut BodyReader<'_>) -> Option<Vec<(u64, u64)>> {
    let count = usize::try_from(r.varint()?).ok()?;
    let mut segments = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        segments.push((r.varint()?, r.varint()?));
    }
    Some(segments)
}

/// Compares the segment table with the directory. `Ok(Ok(()))`: the same
/// segments at the same lengths. `Ok(Err(reason))`: stale, the log grew since
/// (a segment is longer, or there are more of them), or the directory cannot
/// be read here (the scan reports that). `Err(_)`: a listed segment is missing
/// or shorter than listed.
fn compare(
    io: &dyn LogIo,
    dir: &Path,
    segments: &[(u64, u64)],
) -> Result<Result<(), Rejection>, StoreError> {
    let Ok(on_disk) = segment::list_segments_with(io, dir) else {
        return Ok(Err("cannot list the segments".into()));
    };
    let mut stale = None;
    for &(id, len) in segments {
        if on_disk.binary_search(&id).is_err() {
            return Err(StoreError::Corrupt {
                at: LogPosition {
                    segment: id,
                    offset: 0,
                },
                kind: CorruptionKind::MissingSegment,
            });
        }
        let actual = match io.len(&segment::segment_path(dir, id)) {
            Ok(actual) => actual,
            Err(e) => return Ok(Err(format!("segment {id}: {e}"))),
        };
        if actual < len {
            return Err(StoreError::Corrupt {
                at: LogPosition {
                    segment: id,
                    offset: actual,
                },
                kind: CorruptionKind::SegmentLength {
                    expected: len,
                    actual,
                },
            });
        }
        if actual > len && stale.is_none() {
            stale = Some(format!(
                "stale: segment {id} is {actual} bytes, snapshot says {len}"
            ));
        }
    }
    if on_disk.len() != segments.len() && stale.is_none() {
        stale = Some("stale: the segment files differ".into());
    }
    Ok(stale.map_or(Ok(()), Err))
}

/// Removes the snapshot, durably; a missing one is fine. Whoever shortens a
/// segment calls this first, so no snapshot outlives the lengths it records.
pub(crate) fn remove(io: &dyn LogIo, dir: &Path) -> Result<(), StoreError> {
    let p = path(dir);
    match io.remove(&p) {
        Ok(()) => segment::sync_dir(io, dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(IoOp::Remove, &p, e)),
    }
}

/// Reads `count` little-endian words of `N` bytes.
fn read_words<const N: usize, T>(
    r: &mut BodyReader<'_>,
    count: usize,
    word: impl Fn([u8; N]) -> T,
) -> Option<Vec<T>> {
    let bytes = r.bytes(count.checked_mul(N)?)?;
    let words = bytes
        .chunks_exact(N)
        .map(|c| word(c.try_into().unwrap_or([0; N])));
    Some(words.collect())
}

/// Reads a name table: its name count, its bytes and each name's end.
fn read_name_table(r: &mut BodyReader<'_>) -> Option<NameTable> {
    let count = usize::try_from(r.varint()?).ok()?;
    let len = usize::try_from(r.varint()?).ok()?;
    let bytes = std::str::from_utf8(r.bytes(len)?).ok()?.to_owned();
    let ends = read_words(r, count, u64::from_le_bytes)?;
    NameTable::from_parts(bytes, ends)
}

/// Reads the entity and scope names and the coordinates into an index
/// without events.
fn read_names(r: &mut BodyReader<'_>, topology: IndexTopology) -> Option<Index> {
    let entities = read_name_table(r)?;
    let scopes = read_name_table(r)?;
    let count = usize::try_from(r.varint()?).ok()?;
    let coords = read_words(r, count, |w: [u8; 8]| {
        let [e0, e1, e2, e3, s0, s1, s2, s3] = w;
        (
            u32::from_le_bytes([e0, e1, e2, e3]),
            u32::from_le_bytes([s0, s1, s2, s3]),
        )
    })?;
    Index::with_names(topology, entities, scopes, &coords)
}

/// Reads the rest of the writer's resume point: the coordinates the active
/// segment names and the idempotency keys.
fn read_writer_state(r: &mut BodyReader<'_>, seed: &mut WriterSeed) -> Option<()> {
    let words = usize::try_from(r.varint()?).ok()?;
    seed.defined_in_active = IdSet::from_words(read_words(r, words, u64::from_le_bytes)?);
    for _ in 0..r.varint()? {
        let key = r.u128()?;
        let digest: [u8; 16] = r.bytes(16)?.try_into().ok()?;
        let event_id = r.u128()?;
        let receipt = AppendReceipt {
            event_id: crate::event::EventId::new(event_id),
            sequence: r.varint()?,
            entity_sequence: r.varint()?,
            timestamp_us: crate::event::id::timestamp_us(event_id),
            content_hash: r.array32()?,
            signature: None,
        };
        seed.keys.insert(key, KeyUse { digest, receipt });
    }
    Some(())
}

/// Reads the link table of an index of `records` records.
fn read_links(r: &mut BodyReader<'_>, records: usize) -> Option<Vec<Link>> {
    let link_count = usize::try_from(r.varint()?).ok()?;
    let mut links = Vec::with_capacity(link_count.min(records));
    for _ in 0..link_count {
        let position = u32::try_from(r.varint()?).ok()?;
        let correlation_id = r.u128()?;
        let causation_id = match r.u8()? {
            1 => Some(r.u128()?),
            _ => None,
        };
        links.push(Link {
            position,
            correlation_id,
            causation_id,
        });
    }
    Some(links)
}

/// Checks the raw records (named coordinates, strictly rising sequences and
/// event ids, all behind the writer's resume point) and pushes them with their
/// links into `index`; `None` when a check fails or a link is left over.
fn push_records(index: &mut Index, seed: &WriterSeed, raw: &[u8], links: Vec<Link>) -> Option<()> {
    let mut links = links.into_iter().peekable();
    let mut last = (0u64, 0u128);
    for (pos, chunk) in raw.chunks_exact(44).enumerate() {
        let record = Record::from_bytes(chunk.try_into().ok()?);
        let coord_ok = record.coord() < index.coord_count();
        if !coord_ok || record.sequence() <= last.0 || record.event_id() <= last.1 {
            return None;
        }
        last = (record.sequence(), record.event_id());
        let link = links.next_if(|l| l.position as usize == pos);
        index.push(record, link);
    }
    // The writer continues from the resume point: a record at or past it
    // would be followed by an event that does not sort after it.
    if links.next().is_some() || seed.next_sequence <= last.0 || seed.last_event_id < last.1 {
        return None;
    }
    Some(())
}
