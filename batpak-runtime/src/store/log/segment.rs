//! Segment files: `<20-digit id>.bpk` in the data directory, each a 32-byte header
//! followed by frames. Only the writer thread creates, appends to or truncates them,
//! through the store's [`LogIo`]; readers map them read-only.

use super::io::{LogFile, LogIo, StdIo};
use crate::store::error::{CorruptionKind, IoOp, LogPosition, StoreError};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Bytes of the segment header.
pub const SEGMENT_HEADER_BYTES: u64 = 32;
const MAGIC: &[u8; 8] = b"BATPAKSG";
/// On-disk format version written into every segment header.
pub const FORMAT_VERSION: u32 = 1;
/// File extension of segment files.
pub const SEGMENT_EXTENSION: &str = "bpk";

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

/// The 32-byte header of segment `id`.
pub fn encode_header(id: u64) -> [u8; SEGMENT_HEADER_BYTES as usize] {
    let mut h = [0u8; SEGMENT_HEADER_BYTES as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&id.to_le_bytes());
    let crc = crc32fast::hash(&h[..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a segment header read from the file of segment `id`.
pub fn check_header(id: u64, bytes: &[u8]) -> Result<(), StoreError> {
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
    let crc = u32::from_le_bytes([h[28], h[29], h[30], h[31]]);
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    let stored_id = u64::from_le_bytes(h[16..24].try_into().unwrap_or([0; 8]));
    if &h[..8] != MAGIC
        || crc32fast::hash(&h[..28]) != crc
        || version != FORMAT_VERSION
        || stored_id != id
    {
        return Err(bad);
    }
    Ok(())
}

/// Creates segment `id` with its header, syncs it and the directory.
pub(crate) fn create_segment(
    io: &dyn LogIo,
    dir: &Path,
    id: u64,
) -> Result<Box<dyn LogFile>, StoreError> {
    let path = segment_path(dir, id);
    let mut file = io
        .create_new(&path)
        .map_err(|e| StoreError::io(IoOp::Open, &path, e))?;
    file.write_all(&encode_header(id))
        .map_err(|e| StoreError::io(IoOp::Write, &path, e))?;
    file.sync_all()
        .map_err(|e| StoreError::io(IoOp::Sync, &path, e))?;
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

/// Opens an existing segment for reading, directly rather than through a
/// [`LogIo`]: readers map the file, and a map must see the real file.
pub fn open_read(dir: &Path, id: u64) -> Result<File, StoreError> {
    let path = segment_path(dir, id);
    File::open(&path).map_err(|e| StoreError::io(IoOp::Open, &path, e))
}
