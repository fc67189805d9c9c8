//! The log engine's file-system seam: every file operation that writes into a
//! data directory (and the plain reads that go with them) passes through one
//! small object-safe trait, [`LogIo`], so that tests can swap the real
//! implementation, [`StdIo`], for one that injects faults: a power loss that
//! drops unsynced writes, an fsync that returns `EIO`, a full disk, a short
//! write. Each method states what durability it promises, because that is
//! exactly what a fault-injecting implementation is allowed to take away.
//!
//! Two things stay outside the seam on purpose. Reads by frame position
//! (`reader`'s maps and positioned reads, the snapshot's map in
//! `snapshot::load`, a follower's reads in `recovery::follow`) and the
//! directory lock (`lock`) use the files directly: a fault-injecting
//! implementation runs over a real directory, so they and the `flock` see the
//! same files the seam wrote, and what it simulates (lost or failed writes)
//! happens on the write side. Read-only stores, which never write, always use [`StdIo`], and
//! so do the read paths that do not hold the store's seam (statistics and
//! `verify` list and scan the segments through it).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// The file operations of the log engine. Errors are plain `io::Error`s; the
/// caller names the operation and the path in a `StoreError`.
pub(crate) trait LogIo: Send + Sync + std::fmt::Debug {
    /// Creates `dir` and its missing parents. The new entries are durable
    /// only after their parent directories are synced.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;

    /// The names of the entries of `dir`, in no particular order. Sees every
    /// entry created, renamed or removed so far, synced or not.
    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>>;

    /// The whole content of the file at `path`, including bytes written but
    /// not yet synced.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// The first `bytes` bytes of the file at `path` (fewer if it is shorter),
    /// including bytes written but not yet synced. Recovery reads every
    /// segment's header this way before it scans any frame.
    fn read_head(&self, path: &Path, bytes: usize) -> io::Result<Vec<u8>> {
        let mut all = self.read(path)?;
        all.truncate(bytes);
        Ok(all)
    }

    /// The bytes of the file at `path` from `offset` to its end (none if it
    /// is shorter), including bytes written but not yet synced. An open from
    /// a snapshot scans the newest segment from the snapshot's offset this way.
    fn read_from(&self, path: &Path, offset: u64) -> io::Result<Vec<u8>> {
        let mut all = self.read(path)?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        Ok(all.split_off(start))
    }

    /// The length in bytes of the file at `path`, including bytes written but
    /// not yet synced.
    fn len(&self, path: &Path) -> io::Result<u64>;

    /// Opens the existing file at `path` for appending; writes go to its end.
    /// Opening changes nothing on disk.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn LogFile>>;

    /// Creates the file at `path`, failing with `AlreadyExists` if there is
    /// one; writes go to its end. Its content is durable only after a
    /// [`LogFile`] sync, and its name only after [`sync_dir`](Self::sync_dir)
    /// of its directory.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>>;

    /// Renames `from` to `to`, atomically replacing `to` if it exists: a crash
    /// leaves either name in place, never neither. The new name is durable only
    /// after [`sync_dir`](Self::sync_dir) of the directory.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes the file at `path`. The removal is durable only after
    /// [`sync_dir`](Self::sync_dir) of its directory.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Removes the directory at `path` with everything in it (a backup's
    /// staging directory after a failed copy). The removal is durable only
    /// after [`sync_dir`](Self::sync_dir) of its parent.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;

    /// Cuts the existing file at `path` to `len` bytes and syncs it: the new
    /// length is durable when this returns `Ok`.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;

    /// Syncs the directory `dir`, making durable every entry created, renamed
    /// or removed in it so far.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Writes `bytes` at `offset` of the file at `path`, creating the file if
    /// it is missing (its name is then durable only after
    /// [`sync_dir`](Self::sync_dir)). Without `sync` the bytes reach the
    /// operating system only, and a power loss may keep any part of them;
    /// with `sync` the file's content is durable when this returns `Ok`. The
    /// durable watermark is the one small file rewritten in place this way.
    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8], sync: bool) -> io::Result<()>;
}

/// A file opened for writing through a [`LogIo`].
pub(crate) trait LogFile: Send + std::fmt::Debug {
    /// Appends all of `bytes`. They reach the operating system, not the disk:
    /// a power loss may drop any of them until a sync returns `Ok`. On error,
    /// any prefix of `bytes` may have been written.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Makes the content written so far, and the length, durable (fdatasync).
    /// On error nothing is known about what reached the disk, and a later sync
    /// may succeed without writing the lost pages, so a caller must stop
    /// writing to the file rather than retry.
    fn sync_data(&mut self) -> io::Result<()>;

    /// Like [`sync_data`](Self::sync_data), and also the file's metadata
    /// (fsync).
    fn sync_all(&mut self) -> io::Result<()>;

    /// From now on, appends through a shared map of the next `window`
    /// bytes, with space reserved ahead of the written end (`io::mapped`);
    /// whether the file does. Only the real files on Linux do; the others
    /// go on writing as before.
    fn map_appends(&mut self, window: u64) -> io::Result<bool> {
        let _ = window;
        Ok(false)
    }

    /// Cuts space reserved past the written end, so the file is exactly as
    /// long as what was written; the new length is durable after the next
    /// sync. Whether it cut anything.
    fn trim(&mut self) -> io::Result<bool> {
        Ok(false)
    }
}

/// Creates the temporary file at `path` for a rewrite (compaction, the index
/// snapshot), first removing one that an interrupted rewrite left behind: its
/// content was never renamed into place, so it is garbage.
pub(crate) fn create_temporary(io: &dyn LogIo, path: &Path) -> io::Result<Box<dyn LogFile>> {
    match io.remove(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    io.create_new(path)
}

/// `O_NOATIME` where its value is the generic Linux one.
const O_NOATIME: Option<i32> = if cfg!(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "loongarch64",
        target_arch = "s390x"
    )
)) {
    Some(0o1_000_000)
} else {
    None
};

/// Opens the file at `path` for reading without updating its access time
/// where the system allows it (Linux, for the file's owner): a reader
/// polling files a writer keeps changing would otherwise dirty their inodes,
/// which costs the disk a metadata write now and then. Elsewhere, or for
/// another user's files, a plain open.
pub(crate) fn open_quietly(path: &Path) -> io::Result<File> {
    #[cfg(unix)]
    if let Some(flag) = O_NOATIME {
        use std::os::unix::fs::OpenOptionsExt;
        match OpenOptions::new().read(true).custom_flags(flag).open(path) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
            other => return other,
        }
    }
    let _ = O_NOATIME;
    File::open(path)
}

/// The real implementation, straight over `std::fs`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StdIo;

impl LogIo for StdIo {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        std::fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect()
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut all = Vec::new();
        open_quietly(path)?.read_to_end(&mut all)?;
        Ok(all)
    }

    fn read_head(&self, path: &Path, bytes: usize) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut head = Vec::with_capacity(bytes);
        open_quietly(path)?
            .take(bytes as u64)
            .read_to_end(&mut head)?;
        Ok(head)
    }

    fn read_from(&self, path: &Path, offset: u64) -> io::Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = open_quietly(path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut rest = Vec::new();
        file.read_to_end(&mut rest)?;
        Ok(rest)
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        std::fs::metadata(path).map(|m| m.len())
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        // Readable too: a shared writable map needs both.
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Box::new(StdFile::at_end(file)?))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(StdFile::at_end(file)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn write_at(&self, path: &Path, offset: u64, bytes: &[u8], sync: bool) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)?;
        if sync {
            file.sync_data()?;
        }
        Ok(())
    }
}

/// A `std::fs::File` behind [`LogFile`], appending with positioned writes
/// at the end it keeps track of. A positioned write does not take the file
/// position's lock, which a plain `write` takes on every call once other
/// threads share the descriptor table (every store has a writer thread).
#[derive(Debug)]
struct StdFile {
    file: File,
    /// Where the next write goes; `None` after a failed write, whose extent
    /// is unknown: the next write asks the file for its length first (and
    /// fails when space is reserved, as the length then says nothing).
    end: Option<u64>,
    /// The shared map appends go through, once asked for.
    #[cfg(target_os = "linux")]
    mapped: Option<mapped::MappedTail>,
}

impl StdFile {
    fn at_end(file: File) -> io::Result<Self> {
        let end = file.metadata()?.len();
        Ok(Self {
            file,
            end: Some(end),
            #[cfg(target_os = "linux")]
            mapped: None,
        })
    }

    /// Where the next write goes.
    fn end(&mut self) -> io::Result<u64> {
        if let Some(end) = self.end.take() {
            return Ok(end);
        }
        #[cfg(target_os = "linux")]
        if self.mapped.is_some() {
            return Err(unknown_end());
        }
        Ok(self.file.metadata()?.len())
    }
}

/// The error of a write or cut after a failed write of a mapped segment.
#[cfg(target_os = "linux")]
fn unknown_end() -> io::Error {
    io::Error::other("an earlier write to this segment failed; its end is unknown")
}

/// Writes all of `bytes` at `offset` of `file`.
fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Seek, SeekFrom};
        let mut file = file;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)
    }
}

impl LogFile for StdFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let end = self.end()?;
        let new_end = end + bytes.len() as u64;
        #[cfg(target_os = "linux")]
        if let Some(tail) = &mut self.mapped {
            if !tail.write(&self.file, bytes, end) {
                write_all_at(&self.file, bytes, end)?;
                tail.written(new_end);
            }
            self.end = Some(new_end);
            return Ok(());
        }
        write_all_at(&self.file, bytes, end)?;
        self.end = Some(new_end);
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.file.sync_all()
    }

    #[cfg(target_os = "linux")]
    fn map_appends(&mut self, window: u64) -> io::Result<bool> {
        if self.mapped.is_none() {
            let end = self.end()?;
            self.end = Some(end);
            self.mapped = Some(mapped::MappedTail::new(&self.file, end, window)?);
        }
        Ok(true)
    }

    #[cfg(target_os = "linux")]
    fn trim(&mut self) -> io::Result<bool> {
        let end = self.end.ok_or_else(unknown_end)?;
        match &mut self.mapped {
            Some(tail) => tail.trim(&self.file, end),
            None => Ok(false),
        }
    }
}

#[cfg(test)]
pub(crate) mod faults;
#[cfg(target_os = "linux")]
mod mapped;
#[cfg(test)]
pub(crate) mod sim;
#[cfg(test)]
mod tests;
