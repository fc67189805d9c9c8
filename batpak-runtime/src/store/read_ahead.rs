//! Which frames and records a replay asks the CPU for ahead of reading
//! them (`store::prefetch`): the ones a few entries ahead, when they do not
//! lie next to the current one (the CPU's own prefetcher follows those).

use super::index::{Index, IndexEntry, Positions};
use super::log::reader::SegmentFiles;
use super::Store;

/// How many entries ahead of the one it reads a replay prefetches.
const AHEAD: usize = 8;

/// Frames within this many bytes of the one a replay reads are not
/// prefetched: frames written together are read in order, which the CPU's
/// own prefetcher follows.
const NEAR: u64 = 4096;

/// Hints the CPU to load the frame [`AHEAD`] entries after `entries[i]`,
/// which a loop over `entries` is about to read, when it lies far from
/// this one.
pub(crate) fn frame_ahead(files: &SegmentFiles, entries: &[IndexEntry], i: usize) {
    let (Some(here), Some(ahead)) = (entries.get(i), entries.get(i + AHEAD)) else {
        return;
    };
    let (here, ahead) = (here.frame, ahead.frame);
    if here.segment != ahead.segment || ahead.offset.abs_diff(here.offset) > NEAR {
        files.prefetch(ahead);
    }
}

/// Hints the CPU to load the index record [`AHEAD`] positions after `p`,
/// the `i`-th of `list`, when it is not among the records next to `p`
/// (which the CPU's own prefetcher follows).
pub(crate) fn record_ahead(index: &Index, list: &Positions<'_>, i: usize, p: u32) {
    match list.get(i + AHEAD) {
        Some(ahead) if ahead.saturating_sub(p) > 64 => index.prefetch_record(ahead),
        _ => {}
    }
}

impl<M> Store<M> {
    /// [`frame_ahead`] in this store's segment files.
    pub(crate) fn prefetch_frame_ahead(&self, entries: &[IndexEntry], i: usize) {
        frame_ahead(&self.shared.files, entries, i);
    }
}
