//! Cursor-worker checkpoints: `checkpoints/<id>.ckpt` in the data directory,
//! 28 bytes (a 16-byte region tag, the position as a little-endian u64, a
//! CRC32 of those 24 bytes). Written to a temporary file, synced, renamed
//! into place and the directory synced, through the log's IO seam. A missing,
//! short or damaged checkpoint reads as none: the worker starts over, which
//! repeats deliveries but never skips one.

use super::io::{create_temporary, LogIo};
use crate::store::error::{IoOp, StoreError};
use std::path::Path;

/// Bytes of a checkpoint file.
const CHECKPOINT_BYTES: usize = 16 + 8 + 4;

/// The (region tag, position) stored at `path`, if a valid checkpoint is there.
pub(crate) fn load(io: &dyn LogIo, path: &Path) -> Option<([u8; 16], u64)> {
    let bytes = io.read(path).ok()?;
    if bytes.len() != CHECKPOINT_BYTES {
        return None;
    }
    let crc = u32::from_le_bytes(bytes[24..28].try_into().ok()?);
    if crc32fast::hash(&bytes[..24]) != crc {
        return None;
    }
    let tag: [u8; 16] = bytes[..16].try_into().ok()?;
    let position = u64::from_le_bytes(bytes[16..24].try_into().ok()?);
    Some((tag, position))
}

/// Replaces the checkpoint at `path` with (tag, position), durably.
pub(crate) fn save(
    io: &dyn LogIo,
    path: &Path,
    tag: [u8; 16],
    position: u64,
) -> Result<(), StoreError> {
    let mut bytes = Vec::with_capacity(CHECKPOINT_BYTES);
    bytes.extend_from_slice(&tag);
    bytes.extend_from_slice(&position.to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
    let dir = path.parent().unwrap_or(path);
    io.create_dir_all(dir)
        .map_err(|e| StoreError::io(IoOp::CreateDir, dir, e))?;
    let tmp = path.with_extension("tmp");
    let mut file = create_temporary(io, &tmp).map_err(|e| StoreError::io(IoOp::Open, &tmp, e))?;
    file.write_all(&bytes)
        .map_err(|e| StoreError::io(IoOp::Write, &tmp, e))?;
    file.sync_data()
        .map_err(|e| StoreError::io(IoOp::Sync, &tmp, e))?;
    drop(file);
    io.rename(&tmp, path)
        .map_err(|e| StoreError::io(IoOp::Rename, path, e))?;
    io.sync_dir(dir)
        .map_err(|e| StoreError::io(IoOp::Sync, dir, e))
}
