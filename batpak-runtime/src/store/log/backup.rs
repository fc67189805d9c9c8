//! Backup's copy: the segment files of a store copied into another directory,
//! each file and the directory synced, all through the store's `LogIo`. The
//! writer calls it after a sync, between two commands (see `Store::snapshot`).

use super::io::LogIo;
use super::segment;
use crate::store::error::{IoOp, StoreError};
use std::path::Path;

/// Copies segments `1..=active` (the active one up to `active_len` bytes) from
/// `src` to the new directory `dest`, syncing files and directory. A segment is
/// read whole, as recovery reads it, so the copy needs one segment of memory.
pub(crate) fn copy_segments(
    io: &dyn LogIo,
    src: &Path,
    dest: &Path,
    active: u64,
    active_len: u64,
) -> Result<(), StoreError> {
    let exists = io.list(dest).map(|d| !d.is_empty()).unwrap_or(false);
    if exists {
        return Err(StoreError::io(
            IoOp::CreateDir,
            dest,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "snapshot directory is not empty",
            ),
        ));
    }
    io.create_dir_all(dest)
        .map_err(|e| StoreError::io(IoOp::CreateDir, dest, e))?;
    for id in segment::list_segments_with(io, src)?
        .into_iter()
        .filter(|id| *id <= active)
    {
        let from = segment::segment_path(src, id);
        let to = segment::segment_path(dest, id);
        let mut bytes = io
            .read(&from)
            .map_err(|e| StoreError::io(IoOp::Read, &from, e))?;
        if id == active {
            bytes.truncate(usize::try_from(active_len).unwrap_or(usize::MAX));
        }
        let copy = || -> std::io::Result<()> {
            let mut output = io.create_new(&to)?;
            output.write_all(&bytes)?;
            output.sync_all()
        };
        copy().map_err(|e| StoreError::io(IoOp::Write, &to, e))?;
    }
    segment::sync_dir(io, dest)
}
