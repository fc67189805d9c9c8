//! Backup's copy: the segment files of a store copied into another directory,
//! all through the store's `LogIo`. The writer calls it after a sync, between
//! two commands (see `Store::snapshot`).
//!
//! The copy is atomic: it is staged in a hidden directory beside the
//! destination, every file and the staging directory are synced, and only then
//! is the staging directory renamed to the destination and the parent synced.
//! An interrupted copy therefore never leaves a directory under the
//! destination's name that opens as a store with part of the log: the name
//! appears with the whole copy or not at all.

use super::io::LogIo;
use super::segment;
use super::watermark::{self, Mark, MarkWriter};
use crate::store::error::{IoOp, StoreError};
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Staging names tried before giving up. A name is taken only by a leftover
/// of an interrupted copy from a process that had our pid, so a few suffice.
const STAGING_ATTEMPTS_MAX: u64 = 64;

/// Makes the staging names of one process unique, also across stores.
static STAGINGS: AtomicU64 = AtomicU64::new(0);

/// Copies segments `1..=active` (the active one up to `active_len` bytes) from
/// `src` to `dest`, which must not exist or be an empty directory. The copy
/// is staged beside `dest` and renamed into place once durable; on an error
/// before the rename, the staging directory is removed (best effort) and `dest`
/// is left as it was. A segment is read whole, as recovery reads it, so the
/// copy needs one segment of memory.
pub(crate) fn copy_segments(
    io: &dyn LogIo,
    src: &Path,
    dest: &Path,
    active: u64,
    active_len: u64,
) -> Result<(), StoreError> {
    let (parent, name) = split(dest)?;
    let dest = parent.join(name);
    refuse_non_empty(io, &dest)?;
    let created = create_parent(io, &parent)?;
    let staging = create_staging(io, &parent, name)?;
    let staged = stage(io, src, &staging, active, active_len).and_then(|()| {
        // On Linux a rename replaces an empty directory and fails on a
        // non-empty one, so a destination filled meanwhile is not overwritten.
        io.rename(&staging, &dest)
            .map_err(|e| StoreError::io(IoOp::Rename, &dest, e))
    });
    if let Err(e) = staged {
        // The staging directory never got the destination's name: it is garbage.
        let _ = io.remove_dir_all(&staging);
        return Err(e);
    }
    // The copy is complete under its name; syncing the parent makes the name
    // durable, and syncing each directory above it makes the path durable.
    // Those this copy created must sync. The others are synced too, best
    // effort: one of them may have been created by an earlier copy that
    // failed before its own syncs, and nothing records which.
    for (n, dir) in parent.ancestors().enumerate() {
        let synced = segment::sync_dir(io, or_current(dir));
        if n <= created {
            synced?;
        }
    }
    Ok(())
}

/// `dir`, or the current directory for the empty path a relative path's
/// ancestors end with.
fn or_current(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// Creates `parent` and its missing ancestors; returns how many directories it
/// created.
fn create_parent(io: &dyn LogIo, parent: &Path) -> Result<usize, StoreError> {
    let missing = parent
        .ancestors()
        .map(or_current)
        .take_while(|dir| matches!(io.list(dir), Err(e) if e.kind() == io::ErrorKind::NotFound))
        .count();
    io.create_dir_all(parent)
        .map_err(|e| StoreError::io(IoOp::CreateDir, parent, e))?;
    Ok(missing)
}

/// The parent directory of `dest` and its last component. `dest` is taken
/// component by component, so `copy/.` names `copy`.
fn split(dest: &Path) -> Result<(PathBuf, &OsStr), StoreError> {
    let name = dest.file_name().ok_or_else(|| {
        StoreError::io(
            IoOp::CreateDir,
            dest,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "snapshot destination has no directory name",
            ),
        )
    })?;
    let parent = or_current(dest.parent().unwrap_or(Path::new("."))).to_path_buf();
    Ok((parent, name))
}

/// Fails unless `dest` is missing or an empty directory.
fn refuse_non_empty(io: &dyn LogIo, dest: &Path) -> Result<(), StoreError> {
    match io.list(dest) {
        Ok(entries) if entries.is_empty() => Ok(()),
        Ok(_) => Err(StoreError::io(
            IoOp::CreateDir,
            dest,
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "snapshot directory is not empty",
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(IoOp::List, dest, e)),
    }
}

/// Creates a fresh staging directory `.<name>.partial-<pid>-<n>` in `parent`.
/// An existing one is never reused or removed: it may be another copy's.
fn create_staging(io: &dyn LogIo, parent: &Path, name: &OsStr) -> Result<PathBuf, StoreError> {
    let pid = std::process::id();
    let mut last = parent.to_path_buf();
    for _ in 0..STAGING_ATTEMPTS_MAX {
        let n = STAGINGS.fetch_add(1, Ordering::Relaxed);
        let mut staging_name = std::ffi::OsString::from(".");
        staging_name.push(name);
        staging_name.push(format!(".partial-{pid}-{n}"));
        let staging = parent.join(staging_name);
        match io.list(&staging) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                io.create_dir_all(&staging)
                    .map_err(|e| StoreError::io(IoOp::CreateDir, &staging, e))?;
                return Ok(staging);
            }
            _ => last = staging,
        }
    }
    Err(StoreError::io(
        IoOp::CreateDir,
        last,
        io::Error::from(io::ErrorKind::AlreadyExists),
    ))
}

/// Writes the copy into `staging` and makes it durable: every file synced,
/// then the directory.
fn stage(
    io: &dyn LogIo,
    src: &Path,
    staging: &Path,
    active: u64,
    active_len: u64,
) -> Result<(), StoreError> {
    for id in segment::list_segments_with(io, src)?
        .into_iter()
        .filter(|id| *id <= active)
    {
        let from = segment::segment_path(src, id);
        let to = segment::segment_path(staging, id);
        let mut bytes = io
            .read(&from)
            .map_err(|e| StoreError::io(IoOp::Read, &from, e))?;
        if id == active {
            bytes.truncate(usize::try_from(active_len).unwrap_or(usize::MAX));
        }
        let copy = || -> io::Result<()> {
            let mut output = io.create_new(&to)?;
            output.write_all(&bytes)?;
            output.sync_all()
        };
        copy().map_err(|e| StoreError::io(IoOp::Write, &to, e))?;
    }
    // Every byte copied is synced: the copy's watermark covers all of it, so
    // damage to the copy later is an error, never a torn tail.
    let mark = Mark {
        segment: active,
        len: active_len,
    };
    MarkWriter::resume(None)
        .record(io, staging, mark, true)
        .map_err(|e| StoreError::io(IoOp::Write, watermark::path(staging), e))?;
    segment::sync_dir(io, staging)
}

#[cfg(test)]
mod tests;
