//! The one fault-injecting [`LogIo`] of the crate's tests: `StdIo`, except
//! that once armed, operations on paths outside an optional excluded
//! directory run into the faults set on a shared [`Faults`] (a sync budget
//! spent: `EIO`; a write budget spent: half the bytes, then `ENOSPC`; a
//! failing rename: `ENOSPC`). Budgets count affected operations only, so a
//! test can aim at the snapshot's files and spare the store's own.

use super::{LogFile, LogIo, StdIo};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The `errno` of an I/O error on Linux and the BSDs.
const EIO: i32 = 5;
/// The `errno` of a full disk on Linux.
const ENOSPC: i32 = 28;

/// What the armed faults are; shared by the `LogIo`, its files and the test.
#[derive(Debug)]
pub(crate) struct Faults {
    /// Whether faults apply at all.
    pub armed: AtomicBool,
    /// `sync_data` calls that still succeed.
    pub syncs_left: AtomicU64,
    /// `write_all` calls that still succeed.
    pub writes_left: AtomicU64,
    /// Whether a rename fails.
    pub rename_fails: AtomicBool,
}

impl Faults {
    /// Armed or not, with unlimited budgets and renames that work.
    pub(crate) fn new(armed: bool) -> Arc<Self> {
        Arc::new(Self {
            armed: AtomicBool::new(armed),
            syncs_left: AtomicU64::new(u64::MAX),
            writes_left: AtomicU64::new(u64::MAX),
            rename_fails: AtomicBool::new(false),
        })
    }

    /// Spends one unit of `budget`; `false` once it is spent.
    fn spend(budget: &AtomicU64) -> bool {
        budget
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct FaultyIo {
    faults: Arc<Faults>,
    /// Paths under this directory never run into a fault.
    spared: Option<PathBuf>,
}

impl FaultyIo {
    /// Faults on every path, or on every path outside `spared`.
    pub(crate) fn new(faults: Arc<Faults>, spared: Option<&Path>) -> Self {
        Self {
            faults,
            spared: spared.map(Path::to_path_buf),
        }
    }

    fn affects(&self, path: &Path) -> bool {
        self.faults.armed.load(Ordering::SeqCst)
            && !self.spared.as_ref().is_some_and(|s| path.starts_with(s))
    }

    fn wrap(&self, path: &Path, inner: Box<dyn LogFile>) -> Box<dyn LogFile> {
        let spared = self.spared.as_ref().is_some_and(|s| path.starts_with(s));
        Box::new(FaultyFile {
            inner,
            faults: Arc::clone(&self.faults),
            spared,
        })
    }
}

impl LogIo for FaultyIo {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        StdIo.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        StdIo.list(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        StdIo.read(path)
    }

    fn read_from(&self, path: &Path, offset: u64) -> io::Result<Vec<u8>> {
        StdIo.read_from(path, offset)
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        StdIo.len(path)
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        StdIo.open_append(path).map(|f| self.wrap(path, f))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        StdIo.create_new(path).map(|f| self.wrap(path, f))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if self.affects(to) && self.faults.rename_fails.load(Ordering::SeqCst) {
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        StdIo.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        StdIo.remove(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        StdIo.remove_dir_all(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        StdIo.truncate(path, len)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdIo.sync_dir(dir)
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8], sync: bool) -> io::Result<()> {
        if self.affects(path) && !Faults::spend(&self.faults.writes_left) {
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        if sync && self.affects(path) && !Faults::spend(&self.faults.syncs_left) {
            StdIo.write_at(path, offset, bytes, false)?;
            return Err(io::Error::from_raw_os_error(EIO));
        }
        StdIo.write_at(path, offset, bytes, sync)
    }
}

/// A file of [`FaultyIo`]: its writes and syncs spend the shared budgets
/// while the faults are armed (unless its path is spared).
#[derive(Debug)]
struct FaultyFile {
    inner: Box<dyn LogFile>,
    faults: Arc<Faults>,
    spared: bool,
}

impl FaultyFile {
    fn armed(&self) -> bool {
        !self.spared && self.faults.armed.load(Ordering::SeqCst)
    }
}

impl LogFile for FaultyFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.armed() || Faults::spend(&self.faults.writes_left) {
            return self.inner.write_all(bytes);
        }
        // A short write: what a full disk does to a write that straddles it.
        self.inner.write_all(&bytes[..bytes.len() / 2])?;
        Err(io::Error::from_raw_os_error(ENOSPC))
    }

    fn sync_data(&mut self) -> io::Result<()> {
        if !self.armed() || Faults::spend(&self.faults.syncs_left) {
            return self.inner.sync_data();
        }
        Err(io::Error::from_raw_os_error(EIO))
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.inner.sync_all()
    }
}
