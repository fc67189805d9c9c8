//! Index snapshots (`index.snap`): with `enable_mmap_index`, the writer saves the
//! index and its own resume point when the store closes; the next open maps the
//! file with memmap2 and uses the index IN PLACE: the snapshot ends with an
//! index image (`store::index::image`: every structure as fixed-width aligned
//! arrays, name tables with their lookup tables), which becomes the index's
//! mapped base, and everything published after the open goes to the index's
//! in-memory tail. Nothing per event is done at open, and the mapping's pages
//! are touched only when a query reads them, so the open store's resident
//! memory stays small. Chain tips are not saved (the writer reads them back
//! from the log when it needs them).
//!
//! Integrity, in two parts. The head (segment table, writer resume point, and
//! the CRC32 of every 4 KiB block of the image) is read with plain reads and
//! checked whole at open against the header's CRC: damage there makes the
//! open scan instead. The image's blocks are checked lazily, each the first
//! time a read touches it (`store::index::blocks`), so an open reads a few
//! KiB however large the log; a block that does not match is never served:
//! the index rebuilds the image from the log (the store gives it the means)
//! and keeps it only if it matches every stored CRC. The image's header
//! (section bounds, sizes) is checked at open too; a crafted file whose CRCs
//! match can still hold nonsense in its arrays, but every accessor is
//! bounds-checked, so it yields empty or wrong answers, never a panic.
//!
//! A snapshot names every segment with its exact length; it is used only when
//! the directory holds exactly those segments at exactly those lengths (the
//! log is append-only, so equal lengths mean equal content), its CRC matches
//! and it parses. Anything else (missing, stale, truncated, corrupt) falls
//! back to the scan, and the reason is reported in diagnostics, except an
//! intact snapshot listing a segment that is missing or shorter than listed:
//! the log only grows between snapshots, so that is lost data, a typed error
//! (the scan would miss the same events without noticing). The snapshot is
//! written, and the directory compared with it, through the store's `LogIo`;
//! the map itself is made directly (see `io`).

use super::frame::{put_varint, BodyReader, COUNTER_MAX};
use super::io::{create_temporary, LogIo};
use super::recovery::{KeyUse, Recovered, RecoveryReport, WriterSeed};
use super::segment;
use crate::event::id::is_clock_id;
use crate::store::config::IndexTopology;
use crate::store::error::{CorruptionKind, IoOp, LogPosition, StoreError};
use crate::store::index::lists::IdSet;
use crate::store::index::{block_crcs, Index};
use crate::store::options::AppendReceipt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Name of the snapshot file in the data directory.
pub const SNAPSHOT_FILE: &str = "index.snap";
/// Version 4 checks its index image block by block; a snapshot of an older
/// version is refused (its header does not match) and the open scans.
const MAGIC: &[u8; 8] = b"BPKSNAP4";
/// Magic, body length, head length (u64 LE each), the head's CRC32, zeros.
pub(crate) const HEADER_BYTES: usize = 32;

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
    /// The active segment and where its frames end: its file may be longer
    /// (space reserved for mapped appends), which the table must not claim.
    pub active: (u64, u64),
}

/// Writes the snapshot atomically (temporary file, fsync, rename, directory fsync).
pub(crate) fn write(
    io: &dyn LogIo,
    dir: &Path,
    index: &Index,
    seed: &SeedView<'_>,
) -> Result<(), StoreError> {
    let mut image = Vec::with_capacity(4096 + index.len() * 72);
    index.write_image(&mut image, hash_key());
    let mut head = Vec::with_capacity(4096 + image.len() / 1000);
    put_segments(&mut head, io, dir, seed.active)?;
    put_seed(&mut head, seed);
    put_blocks(&mut head, &image);
    let header = encode_header(&head, image.len());
    let final_path = path(dir);
    let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    let err = |op, e| StoreError::io(op, &tmp, e);
    let mut f = create_temporary(io, &tmp).map_err(|e| err(IoOp::Open, e))?;
    f.write_all(&header).map_err(|e| err(IoOp::Write, e))?;
    f.write_all(&head).map_err(|e| err(IoOp::Write, e))?;
    f.write_all(&image).map_err(|e| err(IoOp::Write, e))?;
    f.sync_data().map_err(|e| err(IoOp::Sync, e))?;
    io.rename(&tmp, &final_path)
        .map_err(|e| err(IoOp::Rename, e))?;
    segment::sync_dir(io, dir)
}

/// The header of a snapshot whose head is `head` (its length a multiple of
/// 8) and whose image has `image_len` bytes: magic, body length, head
/// length, the head's CRC.
pub(crate) fn encode_header(head: &[u8], image_len: usize) -> [u8; HEADER_BYTES] {
    let mut header = [0; HEADER_BYTES];
    header[..8].copy_from_slice(MAGIC);
    let body_len = (head.len() + image_len) as u64;
    header[8..16].copy_from_slice(&body_len.to_le_bytes());
    header[16..24].copy_from_slice(&(head.len() as u64).to_le_bytes());
    header[24..28].copy_from_slice(&crc32fast::hash(head).to_le_bytes());
    header
}

/// A snapshot file holding `body` with a valid header, its head being the
/// part up to the end of the block table (when it parses that far; else as
/// much of the body as keeps the image 8-aligned), padded as the writer pads
/// it. For tests and fuzzing.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn seal(body: &[u8]) -> Vec<u8> {
    let mut r = BodyReader::new(body);
    let head = segment_table(&mut r)
        .and_then(|segments| parse_seed(&mut r, &segments))
        .and_then(|_| read_blocks(&mut r))
        .map_or(body.len() - (HEADER_BYTES + body.len()) % 8, |_| {
            (HEADER_BYTES + r.pos()).next_multiple_of(8) - HEADER_BYTES
        })
        .min(body.len());
    let mut out = encode_header(&body[..head], body.len() - head).to_vec();
    out.extend_from_slice(body);
    out
}

/// Appends the image's block table (count, then each block's CRC32 LE) and
/// pads the head so the image starts 8-aligned in the file.
fn put_blocks(head: &mut Vec<u8>, image: &[u8]) {
    let crcs = block_crcs(image);
    put_varint(head, crcs.len() as u64);
    put_words(head, crcs.iter().map(|c| c.to_le_bytes()));
    while !(HEADER_BYTES + head.len()).is_multiple_of(8) {
        head.push(0);
    }
}

/// Reads the image's block table.
fn read_blocks(r: &mut BodyReader<'_>) -> Option<Vec<u32>> {
    let count = usize::try_from(r.varint()?).ok()?;
    read_words(r, count, u32::from_le_bytes)
}

/// Encodes the segment table: every segment of `dir` with its length now,
/// the active one's (`active`) up to where its frames end.
fn put_segments(
    body: &mut Vec<u8>,
    io: &dyn LogIo,
    dir: &Path,
    active: (u64, u64),
) -> Result<(), StoreError> {
    let ids = segment::list_segments_with(io, dir)?;
    put_varint(body, ids.len() as u64);
    for id in ids {
        let p = segment::segment_path(dir, id);
        let len = match id == active.0 {
            true => active.1,
            false => io.len(&p).map_err(|e| StoreError::io(IoOp::Read, &p, e))?,
        };
        put_varint(body, id);
        put_varint(body, len);
    }
    Ok(())
}

/// Encodes the writer's resume point.
fn put_seed(body: &mut Vec<u8>, seed: &SeedView<'_>) {
    put_varint(body, seed.next_sequence);
    put_u128(body, seed.last_event_id);
    put_varint(body, seed.next_batch_id);
    put_varint(body, seed.next_fence_id);
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

/// A random key for the image's name tables' hash.
fn hash_key() -> [u64; 2] {
    let mut bytes = [0u8; 16];
    // Without randomness the key is fixed: lookups stay correct, only
    // names chosen to collide could be prepared in advance.
    let _ = getrandom::fill(&mut bytes);
    let (a, b) = bytes.split_at(8);
    [
        u64::from_le_bytes(a.try_into().unwrap_or_default()),
        u64::from_le_bytes(b.try_into().unwrap_or_default()),
    ]
}

/// Why a snapshot was not used.
pub(crate) type Rejection = String;

/// Loads the snapshot if it exists and the directory holds what it covers
/// (`compare`), with how much of the log that is.
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
) -> Result<Result<Option<(Recovered, Coverage)>, Rejection>, StoreError> {
    let p = path(dir);
    let file = match std::fs::File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(None)),
        Err(e) => return Ok(Err(format!("cannot open: {e}"))),
    };
    let head = match read_head(&file) {
        Ok(head) => head,
        Err(reason) => return Ok(Err(reason)),
    };
    let mut r = BodyReader::new(&head);
    let Some(segments) = segment_table(&mut r) else {
        return Ok(Err("does not parse".into()));
    };
    let coverage = match compare(io, dir, &segments)? {
        Ok(coverage) => coverage,
        Err(stale) => return Ok(Err(stale)),
    };
    let Some((seed, crcs)) = parse_seed(&mut r, &segments).zip(read_blocks(&mut r)) else {
        return Ok(Err("does not parse".into()));
    };
    // SAFETY: the snapshot is only ever replaced by rename, never modified in
    // place, and every byte read from the map is bounds-checked (the index's
    // mapped base); a concurrent external truncation could still fault, as
    // with any mapped file.
    let map = match unsafe { memmap2::Mmap::map(&file) } {
        Ok(map) => Arc::new(map),
        Err(e) => return Ok(Err(format!("cannot map: {e}"))),
    };
    // The open reads a few scattered blocks (the image's header, kind table
    // and last record). A fault on a mapped file normally reads the pages
    // around it too, as much as the device's readahead (8 MiB on some
    // disks): for these few blocks that would be most of the open. So the
    // open faults in single pages, and later reads get the kernel's normal
    // read-around back. Advice changes only speed; a refusal is ignored.
    let _ = map.advise(memmap2::Advice::Random);
    let image_at = HEADER_BYTES + head.len();
    let bytes = Box::new(SharedMap(Arc::clone(&map)));
    let opened = Index::open_image(topology, bytes, image_at, Some(crcs));
    // The writer continues from the resume point: a record at or past it
    // would be followed by an event that does not sort after it.
    let fits = |index: &Index| {
        let last = index.len().checked_sub(1).map(|p| index.record(p as u32));
        last.is_none_or(|last| {
            seed.next_sequence > last.sequence() && seed.last_event_id >= last.event_id()
        })
    };
    let _ = map.advise(memmap2::Advice::Normal);
    let Some(index) = opened.filter(fits) else {
        return Ok(Err("does not parse".into()));
    };
    let recovered = Recovered {
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
        base_segments: segments,
    };
    Ok(Ok(Some((recovered, coverage))))
}

/// A map shared between the index's base and the open that advises on it.
struct SharedMap(Arc<memmap2::Mmap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Reads the snapshot's header and head with plain reads and checks the
/// head's CRC; the head's bytes. Only the head is read: the image is checked
/// block by block as reads touch it.
fn read_head(file: &std::fs::File) -> Result<Vec<u8>, Rejection> {
    use std::io::Read;
    let mut reader = file;
    let mut header = [0u8; HEADER_BYTES];
    if reader.read_exact(&mut header).is_err() || &header[..8] != MAGIC {
        return Err("bad header".into());
    }
    let word = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or_default());
    let (body_len, head_len) = (word(8), word(16));
    let crc = u32::from_le_bytes(header[24..28].try_into().unwrap_or_default());
    let file_len = file
        .metadata()
        .map_err(|e| format!("cannot read: {e}"))?
        .len();
    if file_len.checked_sub(HEADER_BYTES as u64) != Some(body_len) {
        return Err("truncated".into());
    }
    if head_len > body_len || !(HEADER_BYTES as u64 + head_len).is_multiple_of(8) {
        return Err("bad header".into());
    }
    let mut head = vec![0u8; usize::try_from(head_len).map_err(|_| "bad header")?];
    reader
        .read_exact(&mut head)
        .map_err(|e| format!("cannot read: {e}"))?;
    if crc32fast::hash(&head) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(head)
}

/// Parses the writer's resume point that follows the segment table; `None`
/// when it does not parse.
fn parse_seed(r: &mut BodyReader<'_>, segments: &[(u64, u64)]) -> Option<WriterSeed> {
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
    read_writer_state(r, &mut seed)?;
    Some(seed)
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

/// How much of the log a snapshot covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// Every segment, at exactly its length.
    All,
    /// Everything before this position: the log grew after the snapshot
    /// (its newest segment is longer, or newer segments follow), and the
    /// open scans on from here.
    Upto(LogPosition),
}

/// Compares the segments a snapshot lists with the directory. Every listed
/// segment but the newest must have exactly its listed length, and the
/// newest at least its own: the log only grows between snapshots (it is
/// append-only; compaction removes the snapshot before it shortens
/// anything), so equal lengths mean equal content and a longer newest
/// segment, or newer segments, are the part written since. A listed segment
/// missing or shorter than listed is lost data (a typed error); any other
/// difference makes the snapshot unusable (the open scans).
fn compare(
    io: &dyn LogIo,
    dir: &Path,
    segments: &[(u64, u64)],
) -> Result<Result<Coverage, Rejection>, StoreError> {
    let Ok(on_disk) = segment::list_segments_with(io, dir) else {
        return Ok(Err("cannot list the segments".into()));
    };
    let mut coverage = Coverage::All;
    for (i, &(id, len)) in segments.iter().enumerate() {
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
        let newest = i + 1 == segments.len();
        if actual > len && !newest {
            return Ok(Err(format!(
                "stale: segment {id} is {actual} bytes, snapshot says {len}"
            )));
        }
        if actual > len {
            coverage = Coverage::Upto(LogPosition {
                segment: id,
                offset: len,
            });
        }
    }
    // The directory holds the listed segments, then possibly newer ones.
    let listed = segments.iter().map(|&(id, _)| id);
    if !on_disk.iter().copied().take(segments.len()).eq(listed) {
        return Ok(Err("stale: the segment files differ".into()));
    }
    if on_disk.len() > segments.len() {
        if let Some(&(id, len)) = segments.last() {
            coverage = Coverage::Upto(LogPosition {
                segment: id,
                offset: len,
            });
        }
    }
    Ok(Ok(coverage))
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
            content_hash: *r.array32_ref()?,
            signature: None,
        };
        seed.keys.insert(key, KeyUse { digest, receipt });
    }
    Some(())
}
