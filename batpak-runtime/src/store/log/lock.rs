//! The writer's lock on a data directory: an exclusive OS lock (`flock`) on
//! the directory itself, held by the one read-write store, so a second writer
//! (in this process or another) gets `StoreLocked`. Read-only stores take no
//! lock at all: they never write, so nothing they do can conflict with the
//! writer, and a lock they held would block the writer's open (docs/format.md,
//! "Readers in other processes"). Locking the directory rather than a file in
//! it means the writer's lock creates nothing either.
//!
//! A `flock` belongs to the open file description, which a forked child shares
//! until it execs: a store closed while another thread spawns a process may
//! stay locked for that instant. So the process keeps its own table of held
//! directories (a second open in this process fails at once), and when the OS
//! lock is busy but the table says this process holds nothing, the open retries
//! for a bounded time before it reports `StoreLocked`.

use crate::store::error::{IoOp, StoreError};
use crate::store::locking;
use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an open waits out a lock that no store of this process holds.
const FOREIGN_LOCK_WAIT: Duration = Duration::from_millis(250);

/// Directories a store of this process holds.
fn held() -> &'static Mutex<HashSet<PathBuf>> {
    static HELD: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
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
        let file = File::open(dir).map_err(|e| StoreError::io(IoOp::Open, dir, e))?;
        let key = std::fs::canonicalize(dir).map_err(|e| StoreError::io(IoOp::Open, dir, e))?;
        if !locking::lock(held()).insert(key.clone()) {
            return Err(locked(dir));
        }
        let lock = Self { _dir: file, key };
        let deadline = Instant::now() + FOREIGN_LOCK_WAIT;
        loop {
            match lock._dir.try_lock() {
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

/// Checks that `dir` is an existing directory, for opens that create nothing
/// (read-only stores): a missing directory or a file in its place is an error.
pub(crate) fn existing_dir(dir: &Path) -> Result<(), StoreError> {
    let meta = std::fs::metadata(dir).map_err(|e| StoreError::io(IoOp::Open, dir, e))?;
    if meta.is_dir() {
        return Ok(());
    }
    let not_dir = std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory");
    Err(StoreError::io(IoOp::Open, dir, not_dir))
}

impl Drop for DirLock {
    fn drop(&mut self) {
        locking::lock_for_cleanup(held()).remove(&self.key);
    }
}
