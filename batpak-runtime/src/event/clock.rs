//! Where a store's time comes from. The writer stamps every event id (and so
//! every timestamp) from one [`Clock`], the system's by default; a test
//! injects a [`ManualClock`] through `StoreConfig::with_clock`, and then ids
//! and timestamps are a pure function of the clock's readings and the order
//! of the writes: a test that writes the same things gets the same ids.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of wall-clock time in microseconds since the Unix epoch. It may
/// stand still or go back: event ids still increase (see `event::id`).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Microseconds since the Unix epoch now.
    fn now_us(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> u64 {
        super::id::now_us()
    }
}

/// A clock that moves only when told: `set` and `advance` it from a test.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock standing at `us` microseconds since the Unix epoch.
    pub fn new(us: u64) -> Self {
        Self(AtomicU64::new(us))
    }

    /// Moves the clock to `us`.
    pub fn set(&self, us: u64) {
        self.0.store(us, Ordering::SeqCst);
    }

    /// Moves the clock forward by `us`.
    pub fn advance(&self, us: u64) {
        self.0.fetch_add(us, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_us(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
