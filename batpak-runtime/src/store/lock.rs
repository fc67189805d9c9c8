//! The data-directory lock: a `LOCK` file held with an exclusive OS lock by a
//! read-write store and a shared lock by read-only ones, so one owner writes and
//! a second open (in this process or another) gets `StoreLocked`.

use super::error::{IoOp, StoreError};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// Name of the lock file in the data directory.
pub const LOCK_FILE: &str = "LOCK";

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: Option<File>,
}

fn locked(dir: &Path, e: TryLockError) -> StoreError {
    match e {
        TryLockError::WouldBlock => StoreError::StoreLocked {
            data_dir: dir.to_path_buf(),
        },
        TryLockError::Error(e) => StoreError::io(IoOp::Lock, dir.join(LOCK_FILE), e),
    }
}

impl DirLock {
    /// Creates the lock file if needed and locks it exclusively.
    pub(crate) fn exclusive(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(IoOp::Open, &path, e))?;
        file.try_lock().map_err(|e| locked(dir, e))?;
        Ok(Self { _file: Some(file) })
    }

    /// Locks an existing lock file shared; a directory that was never opened for
    /// writing has none, and creating one would be a write, so then nothing is held.
    pub(crate) fn shared(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(LOCK_FILE);
        match File::open(&path) {
            Ok(file) => {
                file.try_lock_shared().map_err(|e| locked(dir, e))?;
                Ok(Self { _file: Some(file) })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self { _file: None }),
            Err(e) => Err(StoreError::io(IoOp::Open, &path, e)),
        }
    }
}
