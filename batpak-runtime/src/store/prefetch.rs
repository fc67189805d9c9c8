//! A cache hint for memory a loop is about to read. Replays read frames and
//! index records scattered over memory, one after another; asking for the
//! ones a few steps ahead lets their cache misses overlap the work on the
//! current ones.

use super::index::{Index, IndexEntry, Positions};
use super::log::reader::SegmentFiles;
use super::Store;

/// Asks the CPU to start loading the 128 bytes at `p` into its cache. Only
/// a hint: it reads nothing into the program and never faults, whatever
/// `p` is; a no-op off x86_64.
#[inline]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = p.cast::<i8>();
        // SAFETY: a prefetch instruction does not access memory as far as
        // the program can observe and cannot fault, for any address.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

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
