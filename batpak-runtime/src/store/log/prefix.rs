//! A read-only view of the part of a log an index snapshot covers: only the
//! segments it lists, each cut to the length it lists, and no other file (no
//! durable watermark: the prefix ends where the snapshot was taken, between
//! two groups). Scanning through it rebuilds the index the snapshot's image
//! was written from, while the store goes on appending after that part;
//! every operation that would change anything fails.

use super::io::{LogFile, LogIo};
use super::segment;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct PrefixIo {
    inner: Arc<dyn LogIo>,
    /// Each listed segment's path and length.
    segments: Vec<(PathBuf, u64)>,
}

impl PrefixIo {
    /// The view of `segments` (id, length) of `dir` through `inner`.
    pub(crate) fn new(inner: Arc<dyn LogIo>, dir: &Path, segments: &[(u64, u64)]) -> Self {
        let segments = segments
            .iter()
            .map(|&(id, len)| (segment::segment_path(dir, id), len))
            .collect();
        Self { inner, segments }
    }

    /// The listed length of the segment at `path`, or `NotFound`.
    fn listed(&self, path: &Path) -> io::Result<u64> {
        self.segments
            .iter()
            .find(|(p, _)| p == path)
            .map(|&(_, len)| len)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

/// The error of every operation that would change something.
fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "a view of a log prefix is read-only",
    )
}

impl LogIo for PrefixIo {
    fn create_dir_all(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn list(&self, _: &Path) -> io::Result<Vec<OsString>> {
        let names = self.segments.iter().filter_map(|(p, _)| p.file_name());
        Ok(names.map(OsString::from).collect())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let len = self.listed(path)?;
        let mut bytes = self
            .inner
            .read_head(path, usize::try_from(len).unwrap_or(usize::MAX))?;
        if (bytes.len() as u64) < len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        bytes.truncate(len as usize);
        Ok(bytes)
    }

    fn read_head(&self, path: &Path, bytes: usize) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.listed(path)?).unwrap_or(usize::MAX);
        self.inner.read_head(path, bytes.min(len))
    }

    fn read_from(&self, path: &Path, offset: u64) -> io::Result<Vec<u8>> {
        let len = self.listed(path)?;
        let mut rest = self.inner.read_from(path, offset)?;
        let want = len.saturating_sub(offset);
        if (rest.len() as u64) < want {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        rest.truncate(want as usize);
        Ok(rest)
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        self.listed(path)
    }

    fn open_append(&self, _: &Path) -> io::Result<Box<dyn LogFile>> {
        Err(read_only())
    }

    fn create_new(&self, _: &Path) -> io::Result<Box<dyn LogFile>> {
        Err(read_only())
    }

    fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn remove(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn remove_dir_all(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn truncate(&self, _: &Path, _: u64) -> io::Result<()> {
        Err(read_only())
    }

    fn sync_dir(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn write_at(&self, _: &Path, _: u64, _: &[u8], _: bool) -> io::Result<()> {
        Err(read_only())
    }
}
