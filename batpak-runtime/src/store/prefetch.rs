//! A cache hint for memory a loop is about to read. Replays read frames and
//! index records scattered over memory, one after another; asking for the
//! ones a few steps ahead lets their cache misses overlap the work on the
//! current ones. The hint itself sits with the store's model, below the
//! index and the log that use it; which entries to ask for is
//! `store::read_ahead`'s.

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
