//! The directory as a whole, before any frame is read: segment headers,
//! ids without a gap, and each sealed segment at its recorded length.

use super::{corrupt, tail};
use crate::store::error::{CorruptionKind, IoOp, StoreError};
use crate::store::log::io::LogIo;
use crate::store::log::segment::{self, SEGMENT_HEADER_BYTES};
use crate::store::log::watermark::Mark;
use std::path::Path;

/// Checks the segment files as a whole before any frame is read: every header,
/// then that the ids run from 1 without a gap, then that each sealed segment
/// has exactly the length recorded when it was sealed. A cut at a frame
/// boundary or a lost file leaves frames that all check, so only these
/// records can tell that events are missing.
pub(super) fn check_sealed(
    io: &dyn LogIo,
    dir: &Path,
    ids: &[u64],
    mark: Option<Mark>,
) -> Result<(), StoreError> {
    let mut headers = Vec::with_capacity(ids.len());
    for (i, &id) in ids.iter().enumerate() {
        let path = segment::segment_path(dir, id);
        let head = io
            .read_head(&path, SEGMENT_HEADER_BYTES as usize)
            .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
        // Only the next id after the last segment can be one being created.
        let next = i.checked_sub(1).map_or(1, |p| ids[p] + 1) == id;
        if i + 1 == ids.len() && next && tail::is_torn_creation(io, &path, id, &head, mark)? {
            // A crash while creating the newest segment; the scan handles it.
            break;
        }
        headers.push((id, segment::check_header(id, &head)?));
    }
    // Nothing ever deletes a segment file (compaction rewrites in place), so
    // a gap in the ids is a lost file.
    for (expected, &id) in (1..).zip(ids.iter().filter(|&&id| id != 0)) {
        if id != expected {
            return Err(corrupt(expected, 0, CorruptionKind::MissingSegment));
        }
    }
    for (i, (id, header)) in headers.iter().enumerate() {
        let successor = headers.get(i + 1).map(|(_, h)| h);
        if successor.is_none() && header.links.rewritten_len.is_some() {
            // Compaction rewrites only sealed segments, whose successor was
            // durable before: it is gone.
            return Err(corrupt(id + 1, 0, CorruptionKind::MissingSegment));
        }
        let Some(expected) = header.sealed_len(successor) else {
            continue;
        };
        let path = segment::segment_path(dir, *id);
        let actual = io
            .len(&path)
            .map_err(|e| StoreError::io(IoOp::Read, &path, e))?;
        if actual != expected {
            let kind = CorruptionKind::SegmentLength { expected, actual };
            return Err(corrupt(*id, expected.min(actual), kind));
        }
    }
    Ok(())
}
