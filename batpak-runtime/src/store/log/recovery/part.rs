//! The part of a segment a scan reads. A whole scan reads the whole file; an
//! open from a snapshot resumes in the newest segment at the snapshot's
//! offset and reads only its header and the bytes from that offset on,
//! which after a crash is often a small tail of a segment of up to 64 MiB.

use super::corrupt;
use crate::store::error::{CorruptionKind, IoOp, StoreError};
use crate::store::log::io::LogIo;
use crate::store::log::segment::SEGMENT_HEADER_BYTES;
use std::path::Path;

/// Bytes of one segment file: `bytes` starts at file offset `base`.
pub(super) struct SegmentPart {
    /// The segment's header when `bytes` does not start with it.
    head: Option<Vec<u8>>,
    bytes: Vec<u8>,
    base: usize,
}

impl SegmentPart {
    /// Reads segment `id` at `path`: whole, or from `from` on when that is
    /// past its header. A file shorter than `from` is corruption (the
    /// snapshot's caller checked the length; the file shrank since).
    pub(super) fn read(
        io: &dyn LogIo,
        path: &Path,
        id: u64,
        from: Option<u64>,
    ) -> Result<Self, StoreError> {
        let read_err = |e| StoreError::io(IoOp::Read, path, e);
        let Some(from) = from.filter(|&f| f > SEGMENT_HEADER_BYTES) else {
            let bytes = io.read(path).map_err(read_err)?;
            return Ok(Self {
                head: None,
                bytes,
                base: 0,
            });
        };
        let head = io
            .read_head(path, SEGMENT_HEADER_BYTES as usize)
            .map_err(read_err)?;
        let bytes = io.read_from(path, from).map_err(read_err)?;
        let base = usize::try_from(from).unwrap_or(usize::MAX);
        if bytes.is_empty() {
            let actual = io.len(path).map_err(read_err)?;
            if actual < from {
                let kind = CorruptionKind::SegmentLength {
                    expected: from,
                    actual,
                };
                return Err(corrupt(id, actual, kind));
            }
        }
        Ok(Self {
            head: Some(head),
            bytes,
            base,
        })
    }

    /// The file's first bytes: its header, if it is long enough to hold one.
    pub(super) fn head(&self) -> &[u8] {
        self.head.as_deref().unwrap_or(&self.bytes)
    }

    /// The file's length as read.
    pub(super) fn len(&self) -> usize {
        self.base + self.bytes.len()
    }

    /// How many bytes were read.
    pub(super) fn bytes_read(&self) -> usize {
        self.head.as_ref().map_or(0, Vec::len) + self.bytes.len()
    }

    /// Where the bytes read start in the file.
    pub(super) fn base(&self) -> usize {
        self.base
    }

    /// The bytes from file offset `offset` (at least `base`) to the end.
    pub(super) fn from(&self, offset: usize) -> &[u8] {
        &self.bytes[offset - self.base..]
    }
}
