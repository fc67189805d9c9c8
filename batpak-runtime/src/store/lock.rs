//! The data-directory lock: an OS lock (`flock`) on the directory itself,
//! exclusive for a read-write store and shared for read-only ones, so one owner
//! writes and a second open (in this process or another) gets `StoreLocked`.
//! Locking the directory rather than a file in it means a read-only open locks
//! without creating anything.

use super::error::{IoOp, StoreError};
use std::fs::{File, TryLockError};
use std::path::Path;

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    _dir: File,
}

fn locked(dir: &Path, e: TryLockError) -> StoreError {
    match e {
        TryLockError::WouldBlock => StoreError::StoreLocked {
            data_dir: dir.to_path_buf(),
        },
        TryLockError::Error(e) => StoreError::io(IoOp::Lock, dir, e),
    }
}

fn open(dir: &Path) -> Result<File, StoreError> {
    File::open(dir).map_err(|e| StoreError::io(IoOp::Open, dir, e))
}

impl DirLock {
    /// Locks the directory exclusively.
    pub(crate) fn exclusive(dir: &Path) -> Result<Self, StoreError> {
        let file = open(dir)?;
        file.try_lock().map_err(|e| locked(dir, e))?;
        Ok(Self { _dir: file })
    }

    /// Locks the directory shared.
    pub(crate) fn shared(dir: &Path) -> Result<Self, StoreError> {
        let file = open(dir)?;
        file.try_lock_shared().map_err(|e| locked(dir, e))?;
        Ok(Self { _dir: file })
    }
}
