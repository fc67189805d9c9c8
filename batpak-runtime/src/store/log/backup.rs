//! Backup's copy: the segment files of a store copied into another directory,
//! each file and the directory fsynced. The writer calls it after a sync, between
//! two commands (see `Store::snapshot`).

use super::segment;
use crate::store::error::{IoOp, StoreError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

/// Copies segments `1..=active` (the active one up to `active_len` bytes) from
/// `src` to the new directory `dest`, fsyncing files and directory.
pub(crate) fn copy_segments(
    src: &Path,
    dest: &Path,
    active: u64,
    active_len: u64,
) -> Result<(), StoreError> {
    let exists = std::fs::read_dir(dest)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
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
    std::fs::create_dir_all(dest).map_err(|e| StoreError::io(IoOp::CreateDir, dest, e))?;
    for id in segment::list_segments(src)?
        .into_iter()
        .filter(|id| *id <= active)
    {
        let from = segment::segment_path(src, id);
        let to = segment::segment_path(dest, id);
        let limit = if id == active { active_len } else { u64::MAX };
        let copy = || -> std::io::Result<()> {
            let mut input = File::open(&from)?.take(limit);
            let mut output = OpenOptions::new().write(true).create_new(true).open(&to)?;
            std::io::copy(&mut input, &mut output)?;
            output.flush()?;
            output.sync_all()
        };
        copy().map_err(|e| StoreError::io(IoOp::Write, &to, e))?;
    }
    segment::sync_dir(dest)
}
