//! The frontier: four watermarks (global sequence numbers) that only move forward.
//! `accepted` ≥ `written` ≥ `durable`, and `written` ≥ `visible`: an event is
//! accepted when the writer assigns its sequence, written once its bytes reach the
//! OS, durable once fsynced, visible once published to readers.

use super::error::StoreError;
use super::locking;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// A snapshot of the watermarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Frontier {
    /// Highest sequence assigned by the writer.
    pub accepted: u64,
    /// Highest sequence whose frame reached the operating system.
    pub written: u64,
    /// Highest sequence known to be fsynced.
    pub durable: u64,
    /// Highest sequence visible to readers.
    pub visible: u64,
}

/// Which watermark to wait for ([`Store::wait_for`](super::Store::wait_for)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Watermark {
    /// Fsynced: survives a crash. Waiting for it asks the writer to sync.
    Durable,
    /// Published to the index: reads, projections and cursors see it.
    Visible,
}

#[derive(Debug, Default)]
struct State {
    frontier: Frontier,
    writer_stopped: bool,
    /// Threads inside [`FrontierCell::wait`]: the writer wakes them only when
    /// there are any (a wake-up is a system call, paid per group otherwise).
    waiters: usize,
}

/// Shared watermarks with a condition variable for waiters.
#[derive(Debug, Default)]
pub(crate) struct FrontierCell {
    state: Mutex<State>,
    changed: Condvar,
    /// Mirrors `State::writer_stopped` so the write path can check it without
    /// taking the lock.
    stopped: std::sync::atomic::AtomicBool,
}

impl FrontierCell {
    pub(crate) fn new(start: u64) -> Self {
        let f = Frontier {
            accepted: start,
            written: start,
            durable: start,
            visible: start,
        };
        Self {
            state: Mutex::new(State {
                frontier: f,
                writer_stopped: false,
                waiters: 0,
            }),
            changed: Condvar::new(),
            stopped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(crate) fn get(&self) -> Frontier {
        locking::lock(&self.state).frontier
    }

    /// Raises watermarks (never lowers them) and wakes waiters.
    pub(crate) fn advance(&self, f: impl FnOnce(&mut Frontier)) {
        let mut s = locking::lock(&self.state);
        let before = s.frontier;
        f(&mut s.frontier);
        let after = &mut s.frontier;
        after.accepted = after.accepted.max(before.accepted);
        after.written = after.written.max(before.written).min(after.accepted);
        after.durable = after.durable.max(before.durable).min(after.written);
        after.visible = after.visible.max(before.visible).min(after.written);
        if s.waiters > 0 {
            self.changed.notify_all();
        }
    }

    /// Marks the writer as gone and wakes every waiter.
    pub(crate) fn writer_stopped(&self) {
        locking::lock_for_cleanup(&self.state).writer_stopped = true;
        self.stopped
            .store(true, std::sync::atomic::Ordering::Release);
        self.changed.notify_all();
    }

    pub(crate) fn is_writer_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Waits until `mark` reaches `point`, the writer stops, or `timeout` passes.
    pub(crate) fn wait(
        &self,
        mark: Watermark,
        point: u64,
        timeout: Duration,
    ) -> Result<Frontier, StoreError> {
        let deadline = Instant::now() + timeout;
        let mut s = locking::lock(&self.state);
        loop {
            let reached = match mark {
                Watermark::Durable => s.frontier.durable,
                Watermark::Visible => s.frontier.visible,
            };
            if reached >= point {
                return Ok(s.frontier);
            }
            if s.writer_stopped {
                return Err(StoreError::WriterStopped);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Timeout { waited: timeout });
            }
            s.waiters += 1;
            s = self
                .changed
                .wait_timeout(s, deadline - now)
                .expect("the frontier lock is poisoned: a thread panicked while holding it")
                .0;
            s.waiters -= 1;
        }
    }
}
