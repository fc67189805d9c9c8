//! Handing written items back to the threads that made them. A payload is
//! allocated by the caller and written by the writer; if the writer freed it,
//! every append would free memory of another thread's allocator arena, which
//! with glibc means taking that arena's lock against the caller's own
//! allocations (measured: a third of pipelined `submit` throughput). So the
//! writer parks written items in a bin once per group, and the next caller to
//! send a command empties the bin on its own thread.

use super::command::Items;
use crate::store::locking;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Most items parked before the writer frees the surplus itself (bounds the
/// memory held when no caller comes back).
const PARKED_MAX: usize = 8192;

/// The bin.
#[derive(Default)]
pub(crate) struct Recycler {
    bin: Mutex<Vec<Items>>,
    /// Something may be parked: lets a caller skip the lock when the bin is
    /// empty (always, while appends take the fast path).
    full: AtomicBool,
}

impl std::fmt::Debug for Recycler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recycler")
    }
}

impl Recycler {
    /// Writer side: parks `items` (leaving it empty).
    pub(crate) fn park(&self, items: &mut Vec<Items>) {
        if items.is_empty() {
            return;
        }
        let mut bin = locking::lock(&self.bin);
        if bin.len() < PARKED_MAX {
            bin.append(items);
            self.full.store(true, Ordering::Release);
            return;
        }
        drop(bin);
        items.clear();
    }

    /// Caller side: frees whatever is parked, on this thread; never waits for
    /// the lock.
    pub(crate) fn empty(&self) {
        if !self.full.load(Ordering::Acquire) {
            return;
        }
        let parked = match self.bin.try_lock() {
            Ok(mut bin) if !bin.is_empty() => {
                self.full.store(false, Ordering::Release);
                std::mem::take(&mut *bin)
            }
            _ => return,
        };
        drop(parked);
    }
}
