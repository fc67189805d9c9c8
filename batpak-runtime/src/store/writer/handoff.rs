//! Waiting on a channel without paying two thread wake-ups per round trip: poll
//! for a short, bounded time (yielding the core between polls), then block. A
//! blocking append is a round trip to the writer; when both sides sleep at once
//! each trip costs two scheduler wake-ups, which caps one producer at a few tens
//! of thousands of appends per second.

use std::time::{Duration, Instant};

/// How long a caller polls for the writer's answer before it blocks: long
/// enough to cover an fsync.
pub(crate) const REPLY_POLL: Duration = Duration::from_micros(250);

/// How long the idle writer polls for the next command before it blocks: a
/// producer that just got its answer sends again within microseconds.
pub(crate) const COMMAND_POLL: Duration = Duration::from_micros(120);

/// How long the writer waits to gather a group as large as the last one before
/// an fsync that every command in it shares.
pub(crate) const GATHER_BUDGET: Duration = Duration::from_micros(100);

/// Sends on `tx`, retrying for `budget` while the mailbox is full before
/// blocking: a full mailbox drains in bursts (the writer takes a whole group at
/// once), and a sender that sleeps is woken once per freed slot.
pub(crate) fn send<T>(
    tx: &flume::Sender<T>,
    value: T,
    budget: Duration,
) -> Result<(), flume::SendError<T>> {
    let start = Instant::now();
    let mut value = value;
    loop {
        match tx.try_send(value) {
            Ok(()) => return Ok(()),
            Err(flume::TrySendError::Disconnected(v)) => return Err(flume::SendError(v)),
            Err(flume::TrySendError::Full(v)) => value = v,
        }
        if start.elapsed() >= budget {
            return tx.send(value);
        }
        std::thread::yield_now();
    }
}

/// Receives from `rx`, polling for `budget` before blocking.
pub(crate) fn recv<T>(rx: &flume::Receiver<T>, budget: Duration) -> Result<T, flume::RecvError> {
    // An answer that is already there (the caller ran the command itself)
    // needs no clock.
    if let Ok(v) = rx.try_recv() {
        return Ok(v);
    }
    let start = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(v) => return Ok(v),
            Err(flume::TryRecvError::Disconnected) => return Err(flume::RecvError::Disconnected),
            Err(flume::TryRecvError::Empty) => {}
        }
        if start.elapsed() >= budget {
            return rx.recv();
        }
        std::thread::yield_now();
    }
}
