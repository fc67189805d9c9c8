//! `Store::snapshot`: a consistent copy of the store in another directory. The
//! writer syncs and then copies every segment while it holds off other
//! commands, so the copy is exactly the log at one point of its history; a
//! fence still open at that point stays hidden in the copy, as after a crash.

use super::error::{IoOp, StoreError};
use super::segment;
use super::{ReadWrite, Store};
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

impl Store<ReadWrite> {
    /// Writes a consistent copy of the store into `dest` (which must not exist
    /// or be empty): everything visible or durable when the call is handled,
    /// openable with `Store::open` or `Store::open_read_only`. Writes wait
    /// while the files are copied.
    pub fn snapshot(&self, dest: impl AsRef<Path>) -> Result<(), StoreError> {
        let dest = dest.as_ref().to_path_buf();
        self.control(|reply| super::writer::Command::Backup { dest, reply })
    }
}
