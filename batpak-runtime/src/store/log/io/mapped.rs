//! Appends through a shared memory map (`StoreConfig::with_mapped_appends`,
//! Linux only, on by default): the writer copies each group of frames (up
//! to [`MAPPED_WRITE_MAX`] bytes) into a writable shared map of the active
//! segment instead of making a `write` system call for it.
//! The bytes land in the same page cache a `write` fills, so they survive
//! the process as a `write`'s do, readers see them the same way, and
//! `fdatasync` makes them durable like any other dirty page of the file.
//!
//! A map can only be written where the file already has bytes, so the
//! space ahead of the written end is reserved with `fallocate` in chunks of
//! [`RESERVE_CHUNK`] bytes: blocks are allocated there, so a full disk is an
//! error of `fallocate`, never a fault on a mapped page. The reserved space
//! reads as zeros. The writer cuts it off ([`MappedTail::trim`]) before it
//! seals a segment and at close; after a crash, recovery takes zeros from a
//! frame boundary to the end of the newest segment, past the durable
//! watermark, for reserved space that was never written (docs/format.md).
//!
//! The map starts at the first page boundary at or after the file's end
//! when it is made, so no page that already held data is written through
//! it; the bytes before that boundary go through positioned writes, and so
//! do groups larger than [`MAPPED_WRITE_MAX`] (into the reserved space, or
//! past it).

use std::fs::File;
use std::io;

/// Bytes reserved ahead of the written end at a time.
pub(crate) const RESERVE_CHUNK: u64 = 4 << 20;

/// Largest group copied through the map. A larger one is written: one
/// system call for all of it costs less than a page fault per new page of
/// the map (batches of 256 events ran 10-17% slower mapped than written).
pub(crate) const MAPPED_WRITE_MAX: usize = 4096;

/// The mapped part of an active segment.
#[derive(Debug)]
pub(crate) struct MappedTail {
    map: memmap2::MmapRaw,
    /// File offset of the map's first byte (page aligned).
    start: u64,
    /// The file's length: the written end plus reserved zeros.
    reserved: u64,
    /// The file system cannot reserve space (no `fallocate`): every
    /// append is written.
    unsupported: bool,
}

/// The system's page size.
fn page_size() -> u64 {
    // SAFETY: `sysconf` has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

impl MappedTail {
    /// Maps `window` bytes of `file` from the first page boundary at or
    /// after `end`, the file's current length.
    pub(crate) fn new(file: &File, end: u64, window: u64) -> io::Result<Self> {
        let page = page_size();
        let start = end.div_ceil(page) * page;
        let len = usize::try_from(window.div_ceil(page) * page)
            .map_err(|_| io::Error::other("map window too large"))?;
        let map = memmap2::MmapOptions::new()
            .offset(start)
            .len(len)
            .map_raw(file)?;
        Ok(Self {
            map,
            start,
            reserved: end,
            unsupported: false,
        })
    }

    /// Copies `bytes` to file offset `at` through the map, reserving space
    /// first; `false` when the range lies outside the map, is larger than
    /// [`MAPPED_WRITE_MAX`], or no space could be reserved (the caller
    /// writes the bytes, and a full disk shows as that write's error).
    pub(crate) fn write(&mut self, file: &File, bytes: &[u8], at: u64) -> bool {
        let end = at + bytes.len() as u64;
        let map_end = self.start + self.map.len() as u64;
        if self.unsupported || bytes.len() > MAPPED_WRITE_MAX || at < self.start || end > map_end {
            return false;
        }
        if end > self.reserved {
            let want = (end - self.reserved).max(RESERVE_CHUNK);
            let want = want.min(map_end - self.reserved);
            match reserve(file, self.reserved, want) {
                Ok(()) => self.reserved += want,
                Err(e) => {
                    self.unsupported = matches!(
                        e.kind(),
                        io::ErrorKind::Unsupported | io::ErrorKind::InvalidInput
                    ) || e.raw_os_error() == Some(libc::EOPNOTSUPP);
                    return false;
                }
            }
        }
        let offset = (at - self.start) as usize;
        // SAFETY: `offset..offset + len` lies inside the map (checked above)
        // and inside the file (reserved above), so every page written is
        // backed by allocated blocks of the file. Only the writer writes to
        // the map, and readers read only bytes of published frames, which
        // lie before the written end: nothing reads these bytes while they
        // are copied.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_mut_ptr().add(offset),
                bytes.len(),
            );
        }
        true
    }

    /// Notes bytes written up to `end` another way: the file is at least
    /// that long now.
    pub(crate) fn written(&mut self, end: u64) {
        self.reserved = self.reserved.max(end);
    }

    /// Cuts the reserved space off, leaving the file `end` bytes long; the
    /// new length is durable after the next sync. Whether it cut anything.
    pub(crate) fn trim(&mut self, file: &File, end: u64) -> io::Result<bool> {
        if self.reserved <= end {
            return Ok(false);
        }
        file.set_len(end)?;
        self.reserved = end;
        Ok(true)
    }
}

/// Allocates `len` bytes of `file` from `offset`, growing the file: blocks
/// are taken now, so writing them through the map cannot run out of space.
fn reserve(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let (offset, len) = match (i64::try_from(offset), i64::try_from(len)) {
        (Ok(o), Ok(l)) => (o, l),
        _ => return Err(io::Error::other("reservation beyond the file size limit")),
    };
    loop {
        // SAFETY: a plain system call on an open descriptor.
        let r = unsafe { libc::fallocate(file.as_raw_fd(), 0, offset, len) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
