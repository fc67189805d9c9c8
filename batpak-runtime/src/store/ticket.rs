//! Tickets for submitted writes, the [`Outcome`] of a `try_submit*`, and the
//! [`WriterPressure`] they are judged by.

use super::error::StoreError;
use super::options::AppendReceipt;
use std::time::Duration;

fn take<T>(rx: &flume::Receiver<Result<T, StoreError>>) -> Option<Result<T, StoreError>> {
    match rx.try_recv() {
        Ok(r) => Some(r),
        Err(flume::TryRecvError::Empty) => None,
        Err(flume::TryRecvError::Disconnected) => Some(Err(StoreError::WriterStopped)),
    }
}

macro_rules! ticket {
    ($(#[$doc:meta])* $name:ident, $out:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        #[must_use = "a ticket resolves to the write's result; drop it only if you do not care"]
        pub struct $name {
            rx: flume::Receiver<Result<$out, StoreError>>,
        }

        impl $name {
            pub(crate) fn new(rx: flume::Receiver<Result<$out, StoreError>>) -> Self {
                Self { rx }
            }

            /// Blocks until the writer answers. A writer that died answers
            /// `WriterStopped`; it never hangs.
            pub fn wait(self) -> Result<$out, StoreError> {
                super::writer::handoff::recv(&self.rx, super::writer::handoff::REPLY_POLL).unwrap_or(Err(StoreError::WriterStopped))
            }

            /// Blocks at most `timeout`.
            pub fn wait_timeout(self, timeout: Duration) -> Result<$out, StoreError> {
                match self.rx.recv_timeout(timeout) {
                    Ok(r) => r,
                    Err(flume::RecvTimeoutError::Timeout) => Err(StoreError::Timeout { waited: timeout }),
                    Err(flume::RecvTimeoutError::Disconnected) => Err(StoreError::WriterStopped),
                }
            }

            /// The answer, if it has arrived.
            pub fn try_check(&self) -> Option<Result<$out, StoreError>> {
                take(&self.rx)
            }

            /// The channel the answer arrives on, for `select`-style waiting.
            pub fn receiver(&self) -> &flume::Receiver<Result<$out, StoreError>> {
                &self.rx
            }
        }
    };
}

ticket!(
    /// The pending result of a submitted append.
    AppendTicket,
    AppendReceipt
);
ticket!(
    /// The pending result of a submitted atomic batch: receipts in item order.
    BatchAppendTicket,
    Vec<AppendReceipt>
);

/// How full the writer's mailbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterPressure {
    /// Commands queued and not yet taken by the writer.
    pub queue_len: usize,
    /// Capacity of the mailbox.
    pub capacity: usize,
}

impl WriterPressure {
    /// Free slots.
    pub fn headroom(&self) -> usize {
        self.capacity.saturating_sub(self.queue_len)
    }

    /// Fraction in use, `0.0..=1.0`.
    pub fn utilization(&self) -> f64 {
        if self.capacity == 0 {
            return 1.0;
        }
        self.queue_len as f64 / self.capacity as f64
    }

    /// Whether nothing is queued.
    pub fn is_idle(&self) -> bool {
        self.queue_len == 0
    }
}

/// Why a `try_submit*` asked the caller to come back later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// The mailbox holds at least the configured share of its capacity.
    WriterPressure(WriterPressure),
}

/// The result of a `try_submit*` that did not fail outright.
#[derive(Debug)]
#[must_use]
pub enum Outcome<T> {
    /// Enqueued; the ticket resolves later.
    Ok(T),
    /// Not enqueued; try again after the suggested delay.
    Retry {
        /// Suggested wait.
        after: Duration,
        /// Why.
        reason: RetryReason,
    },
}

impl<T> Outcome<T> {
    /// Whether the caller should retry.
    pub fn is_retry(&self) -> bool {
        matches!(self, Self::Retry { .. })
    }

    /// The ticket, or `StoreError::Backpressure` for a retry.
    pub fn into_result(self) -> Result<T, StoreError> {
        match self {
            Self::Ok(t) => Ok(t),
            Self::Retry {
                after,
                reason: RetryReason::WriterPressure(p),
            } => Err(StoreError::Backpressure {
                retry_after: after,
                queue_len: p.queue_len,
            }),
        }
    }
}
