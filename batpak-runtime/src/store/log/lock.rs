//! The data-directory lock: an OS lock (`flock`) on the directory itself,
//! exclusive for a read-write store and shared for read-only ones, so one owner
//! writes and a second open (in this process or another) gets `StoreLocked`.
//! Locking the directory rather than a file in it means a read-only open locks
//! without creating anything.
//!
//! A `flock` belongs to the open file description, which a forked child shares
//! until it execs: a store closed while another thread spawns a process may
//! stay locked for that instant. So the process keeps its own table of held
//! directories (a second open in this process fails at once), and when the OS
//! lock is busy but the table says this process holds nothing, the open retries
//! for a bounded time before it reports `StoreLocked`.

use crate::store::error::{IoOp, StoreError};
use crate::store::locking;
use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an open waits out a lock that no store of this process holds.
const FOREIGN_LOCK_WAIT: Duration = Duration::from_millis(250);

/// Directories this process holds: `None` exclusively, `Some(n)` by n readers.
fn held() -> &'static Mutex<HashMap<PathBuf, Option<usize>>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, Option<usize>>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    _dir: File,
    key: PathBuf,
}

fn locked(dir: &Path) -> StoreError {
    StoreError::StoreLocked {
        data_dir: dir.to_path_buf(),
    }
}

impl DirLock {
    /// Locks the directory exclusively.
    pub(crate) fn exclusive(dir: &Path) -> Result<Self, StoreError> {
        Self::acquire(dir, true)
    }

    /// Locks an existing directory shared (a read-only open creates nothing,
    /// so a missing directory or a file in its place is an error).
    pub(crate) fn shared(dir: &Path) -> Result<Self, StoreError> {
        let meta = std::fs::metadata(dir).map_err(|e| StoreError::io(IoOp::Open, dir, e))?;
        if !meta.is_dir() {
            let not_dir = std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory");
            return Err(StoreError::io(IoOp::Open, dir, not_dir));
        }
        Self::acquire(dir, false)
    }

    fn acquire(dir: &Path, exclusive: bool) -> Result<Self, StoreError> {
        let file = File::open(dir).map_err(|e| StoreError::io(IoOp::Open, dir, e))?;
        let key = std::fs::canonicalize(dir).map_err(|e| StoreError::io(IoOp::Open, dir, e))?;
        {
            let mut table = locking::lock(held());
            match (table.get_mut(&key), exclusive) {
                (None, true) => {
                    table.insert(key.clone(), None);
                }
                (None, false) => {
                    table.insert(key.clone(), Some(1));
                }
                (Some(Some(readers)), false) => *readers += 1,
                (Some(_), _) => return Err(locked(dir)),
            }
        }
        let lock = Self { _dir: file, key };
        let deadline = Instant::now() + FOREIGN_LOCK_WAIT;
        loop {
            let attempt = if exclusive {
                lock._dir.try_lock()
            } else {
                lock._dir.try_lock_shared()
            };
            match attempt {
                Ok(()) => return Ok(lock),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(TryLockError::WouldBlock) => return Err(locked(dir)),
                Err(TryLockError::Error(e)) => return Err(StoreError::io(IoOp::Lock, dir, e)),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let mut table = locking::lock_for_cleanup(held());
        match table.get_mut(&self.key) {
            Some(Some(readers)) if *readers > 1 => *readers -= 1,
            _ => {
                table.remove(&self.key);
            }
        }
    }
}
