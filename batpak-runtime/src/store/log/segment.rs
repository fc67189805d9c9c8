//! Segment files: `<20-digit id>.bpk` in the data directory, each a 32-byte header
//! followed by frames. Only the writer thread creates, appends to or truncates them,
//! through the store's [`LogIo`]; readers map them read-only, or read them by
//! position (read-only stores). A version 2 header
//! links a segment to its predecessor's final length (and, after compaction, to
//! its own), so that recovery can tell a complete sealed segment from one cut
//! exactly at a frame boundary, whose frames all check.

use super::io::{LogFile, LogIo, StdIo};
use crate::store::error::{CorruptionKind, IoOp, LogPosition, StoreError};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Bytes of the segment header.
pub const SEGMENT_HEADER_BYTES: u64 = 32;
const MAGIC: &[u8; 8] = b"BATPAKSG";
/// On-disk format version written into every new segment header: lean
/// event frames may appear in such segments (docs/format.md).
pub const FORMAT_VERSION: u32 = 3;
/// The format version before lean event frames; still read, and continued
/// with type-1 event frames only, so that a version 2 reader can still read
/// a segment it wrote.
pub const FORMAT_VERSION_V2: u32 = 2;
/// The first format version, whose headers carry no lengths; still read.
pub const FORMAT_VERSION_V1: u32 = 1;
/// File extension of segment files.
pub const SEGMENT_EXTENSION: &str = "bpk";

/// The lengths a version 2 header records; `None` is stored as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentLinks {
    /// The predecessor's final length, written when this segment was created
    /// (the predecessor was sealed and synced then). `None` for segment 1, for
    /// a version 1 header, and for a version 1 segment that compaction rewrote.
    pub predecessor_len: Option<u64>,
    /// This segment's own exact length, written by compaction when it rewrote
    /// the segment (and so made it shorter than its successor's link says).
    pub rewritten_len: Option<u64>,
}

/// A checked segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The format version the header was written with.
    pub version: u32,
    /// The lengths it records (none in version 1).
    pub links: SegmentLinks,
}

impl SegmentHeader {
    /// The length this segment must have if it is sealed: compaction's own
    /// record if it rewrote the segment, else the successor's link, if any.
    pub fn sealed_len(&self, successor: Option<&SegmentHeader>) -> Option<u64> {
        self.links
            .rewritten_len
            .or_else(|| successor.and_then(|s| s.links.predecessor_len))
    }
}

/// The path of segment `id` in `dir`.
pub fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.{SEGMENT_EXTENSION}"))
}

/// The segment ids present in `dir`, ascending, for readers that hold no
/// [`LogIo`] of their own (statistics, `verify`).
pub fn list_segments(dir: &Path) -> Result<Vec<u64>, StoreError> {
    list_segments_with(&StdIo, dir)
}

/// The segment ids present in `dir`, ascending, listed through `io`. Files that
/// do not look like segments are ignored.
pub(crate) fn list_segments_with(io: &dyn LogIo, dir: &Path) -> Result<Vec<u64>, StoreError> {
    let entries = io
        .list(dir)
        .map_err(|e| StoreError::io(IoOp::List, dir, e))?;
    let mut ids = Vec::new();
    for name in entries {
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(&format!(".{SEGMENT_EXTENSION}")) else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(id) = stem.parse::<u64>() {
                ids.push(id);
            }
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// The 32-byte version 2 header of segment `id`. A length is stored in 32
/// bits: a segment is below 4 GiB (the index keeps offsets in 32 bits and
/// recovery refuses a longer file). A length outside the bounds is recorded
/// as unknown (0) rather than wrongly; recovery refuses such a segment anyway.
pub fn encode_header(id: u64, links: SegmentLinks) -> [u8; SEGMENT_HEADER_BYTES as usize] {
    let field = |len: Option<u64>| -> [u8; 4] {
        let len = len
            .filter(|l| *l >= SEGMENT_HEADER_BYTES)
            .and_then(|l| u32::try_from(l).ok());
        len.unwrap_or(0).to_le_bytes()
    };
    let mut h = [0u8; SEGMENT_HEADER_BYTES as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&field(links.predecessor_len));
    h[16..24].copy_from_slice(&id.to_le_bytes());
    h[24..28].copy_from_slice(&field(links.rewritten_len));
    let crc = crc32fast::hash(&h[..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a segment header read from the file of segment `id` and returns
/// what it records. Version 1 headers are read too: their reserved fields must
/// be zero, and they record no lengths.
pub fn check_header(id: u64, bytes: &[u8]) -> Result<SegmentHeader, StoreError> {
    let bad = StoreError::Corrupt {
        at: LogPosition {
            segment: id,
            offset: 0,
        },
        kind: CorruptionKind::BadSegmentHeader,
    };
    let Some(h) = bytes.get(..SEGMENT_HEADER_BYTES as usize) else {
        return Err(bad);
    };
    let u32_at = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    let crc = u32_at(28);
    let version = u32_at(8);
    let stored_id = u64::from_le_bytes(h[16..24].try_into().unwrap_or([0; 8]));
    if &h[..8] != MAGIC
        || crc32fast::hash(&h[..28]) != crc
        || !matches!(
            version,
            FORMAT_VERSION | FORMAT_VERSION_V2 | FORMAT_VERSION_V1
        )
        || stored_id != id
    {
        return Err(bad);
    }
    let len_field = |at: usize| match u64::from(u32_at(at)) {
        0 => Ok(None),
        len if len < SEGMENT_HEADER_BYTES => Err(()),
        len => Ok(Some(len)),
    };
    let (Ok(predecessor_len), Ok(rewritten_len)) = (len_field(12), len_field(24)) else {
        return Err(bad);
    };
    // Version 1 wrote zeros here; segment 1 has no predecessor.
    if (version == FORMAT_VERSION_V1 && (predecessor_len.is_some() || rewritten_len.is_some()))
        || (id == 1 && predecessor_len.is_some())
    {
        return Err(bad);
    }
    Ok(SegmentHeader {
        version,
        links: SegmentLinks {
            predecessor_len,
            rewritten_len,
        },
    })
}

/// Creates segment `id` with its header, syncs it and the directory.
/// `predecessor_len` is the final, synced length of segment `id - 1` (`None`
/// for segment 1): the link that lets recovery tell a complete sealed segment
/// from one cut at a frame boundary.
pub(crate) fn create_segment(
    io: &dyn LogIo,
    dir: &Path,
    id: u64,
    predecessor_len: Option<u64>,
) -> Result<Box<dyn LogFile>, StoreError> {
    let path = segment_path(dir, id);
    let mut file = io
        .create_new(&path)
        .map_err(|e| StoreError::io(IoOp::Open, &path, e))?;
    let links = SegmentLinks {
        predecessor_len,
        rewritten_len: None,
    };
    let written = file
        .write_all(&encode_header(id, links))
        .map_err(|e| StoreError::io(IoOp::Write, &path, e))
        .and_then(|()| {
            file.sync_all()
                .map_err(|e| StoreError::io(IoOp::Sync, &path, e))
        });
    if let Err(e) = written {
        // A header that did not reach the disk must not stay readable in
        // the kernel's cache: a reopen in the same boot would take it for
        // durable and write frames behind it (best effort; a file left
        // behind is a torn creation to recovery).
        let _ = io.remove(&path);
        return Err(e);
    }
    sync_dir(io, dir)?;
    Ok(file)
}

/// Syncs a directory so that a created, renamed or removed entry is durable.
pub(crate) fn sync_dir(io: &dyn LogIo, dir: &Path) -> Result<(), StoreError> {
    io.sync_dir(dir)
        .map_err(|e| StoreError::io(IoOp::Sync, dir, e))
}

/// Opens an existing segment for appending (the writer).
pub(crate) fn open_append(
    io: &dyn LogIo,
    dir: &Path,
    id: u64,
) -> Result<Box<dyn LogFile>, StoreError> {
    let path = segment_path(dir, id);
    io.open_append(&path)
        .map_err(|e| StoreError::io(IoOp::Open, &path, e))
}

/// Whether the writer may append lean event frames to existing segment
/// `id`: only when its header is of the current version.
pub(crate) fn holds_lean_frames(io: &dyn LogIo, dir: &Path, id: u64) -> Result<bool, StoreError> {
    let path = segment_path(dir, id);
    let head = io
        .read_head(&path, SEGMENT_HEADER_BYTES as usize)
        .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
    Ok(check_header(id, &head)?.version == FORMAT_VERSION)
}

/// Opens an existing segment for reading, directly rather than through a
/// [`LogIo`]: readers map the file, and a map must see the real file.
pub fn open_read(dir: &Path, id: u64) -> Result<File, StoreError> {
    let path = segment_path(dir, id);
    super::io::open_quietly(&path).map_err(|e| StoreError::io(IoOp::Open, &path, e))
}
