//! Readers in other processes: a read-only store follows the log its writer
//! (in another process) keeps appending to. [`Store::refresh`] reads on from
//! where the open or the last refresh stopped; with
//! [`StoreConfig::with_follow_interval`](super::StoreConfig::with_follow_interval)
//! a background thread refreshes on its own. What a refresh applies, and why
//! nothing it applies is ever taken back, is in `log::recovery::follow` and
//! docs/format.md ("Readers in other processes").
//!
//! The open, too, has to cope with a writer changing the directory while it
//! scans (rotating, compacting, restarting): an error the scan reports may be
//! an artifact of that, so it scans again while the directory keeps changing,
//! a few times; damage that stays put is reported.

use super::ledger::{self, LEDGER_KIND};
use super::log::recovery::Recovered;
use super::log::segment;
use super::read::read_event;
use super::writer::shared::Shared;
use super::{locking, IoOp, LogPosition, ReadOnly, Store, StoreConfig, StoreError};
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How many times a read-only open scans a directory that changed under it.
const OPEN_ATTEMPTS: usize = 4;

impl Store<ReadOnly> {
    /// Reads on from where the open or the last refresh stopped: whatever the
    /// writer (in another process) has made durable since. Only complete,
    /// CRC-checked frames are applied; a batch's events, and a fence's,
    /// become visible at their commit marker, a cancelled fence's never; a
    /// rotation is followed into the next segment. The new events reach this
    /// store's queries, cursors, subscriptions, projections and frontier.
    /// Returns how many events became visible.
    ///
    /// An error leaves the store as it was before the frame that failed, and
    /// the next refresh tries again from there.
    pub fn refresh(&self) -> Result<u64, StoreError> {
        refresh(&self.shared)
    }
}

/// Recovers the index of a read-only store and where it follows on from,
/// scanning again while a writer changes the directory under the scan.
pub(super) fn recover(config: &StoreConfig) -> Result<Recovered, StoreError> {
    let dir = &config.data_dir;
    let mut attempt = 1;
    loop {
        let before = shape(dir);
        let result = super::recover(config, &super::StdIo, false).and_then(confirmed);
        match result {
            Err(e) if attempt < OPEN_ATTEMPTS && may_be_a_race(&e) && shape(dir) != before => {
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// `rec` once its follower found the segment it starts in as the scan read
/// it; an error when a compaction rewrote that segment in between.
fn confirmed(mut rec: Recovered) -> Result<Recovered, StoreError> {
    let Some(follower) = rec.follower.as_mut() else {
        return Ok(rec);
    };
    if follower.confirm_start()? {
        return Ok(rec);
    }
    Err(StoreError::Corrupt {
        at: follower.position(),
        kind: super::CorruptionKind::BadSegmentHeader,
    })
}

/// Errors a directory changing under a scan can cause.
fn may_be_a_race(e: &StoreError) -> bool {
    match e {
        StoreError::Corrupt { .. } => true,
        StoreError::Io { source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

/// The segments of `dir` with their lengths, and the watermark's bytes: what
/// a writer changes when it appends, rotates, compacts or cuts.
fn shape(dir: &std::path::Path) -> (Vec<(u64, u64)>, Vec<u8>) {
    let ids = segment::list_segments(dir).unwrap_or_default();
    let lens = ids
        .into_iter()
        .map(|id| {
            let len = std::fs::metadata(segment::segment_path(dir, id)).map_or(0, |m| m.len());
            (id, len)
        })
        .collect();
    let mark = std::fs::read(dir.join(super::log::watermark::MARK_FILE)).unwrap_or_default();
    (lens, mark)
}

/// Reads the schema ledger's entries of the whole visible log (a read-only
/// open), finding frames a compaction moved.
pub(super) fn load_ledger(shared: &Shared) -> Result<(), StoreError> {
    let len = locking::read(&shared.index).len();
    load_ledger_range(shared, 0..len)?;
    super::retention::load(&shared.index, &shared.files)
}

/// Reads the schema ledger's entries among index positions `range`.
fn load_ledger_range(shared: &Shared, range: Range<usize>) -> Result<(), StoreError> {
    let entries: Vec<(u128, LogPosition)> = {
        let index = locking::read(&shared.index);
        range
            .map(|p| index.record(p as u32))
            .filter(|r| r.kind() == LEDGER_KIND)
            .map(|r| (r.event_id(), r.location()))
            .collect()
    };
    for (event_id, at) in entries {
        let entry = read_event(shared, at, event_id, |ev| {
            ledger::parse_entry(ev.payload, at)
        })?;
        ledger::record(&shared.schemas, entry?);
    }
    Ok(())
}

/// [`Store::refresh`] on the shared state (the background thread has no
/// store handle).
pub(super) fn refresh(shared: &Shared) -> Result<u64, StoreError> {
    let mut follower = locking::lock(&shared.follower);
    let Some(follower) = follower.as_mut() else {
        return Ok(0);
    };
    let mut visible = 0;
    loop {
        let (step, new) = {
            let mut index = locking::write(&shared.index);
            let before = index.len();
            let step = follower.step(&mut index);
            (step, before..index.len())
        };
        visible += publish(shared, new)?;
        if !step? {
            return Ok(visible);
        }
    }
}

/// Makes the events at index positions `new` known beyond the index: their
/// ledger entries to the schema registry (before anyone wakes up to decode
/// them), then the frontier to waiters and the events to subscribers.
fn publish(shared: &Shared, new: Range<usize>) -> Result<u64, StoreError> {
    if new.is_empty() {
        return Ok(0);
    }
    load_ledger_range(shared, new.clone())?;
    let cuts = {
        let index = locking::read(&shared.index);
        new.clone()
            .any(|p| index.record(p as u32).kind() == crate::event::system::RETENTION)
    };
    let (entries, last) = {
        let index = locking::read(&shared.index);
        let entries = if shared.subscribers.is_empty() {
            Vec::new()
        } else {
            index.entries(new.clone().map(|p| p as u32))
        };
        (entries, index.last_sequence())
    };
    shared.frontier.advance(|f| {
        f.accepted = last;
        f.written = last;
        f.durable = last;
        f.visible = last;
    });
    if !entries.is_empty() {
        shared.subscribers.notify(&entries);
    }
    if cuts {
        // The writer recorded a retention cut: take the cut events out here too.
        super::retention::load(&shared.index, &shared.files)?;
    }
    Ok(new.len() as u64)
}

/// Starts the thread that refreshes `shared` every `interval` until the
/// store closes (its shutdown unparks it), keeping the last error for
/// `diagnostics`.
pub(super) fn spawn(shared: Arc<Shared>, interval: Duration) -> Result<JoinHandle<()>, StoreError> {
    let dir = shared.config.data_dir.clone();
    std::thread::Builder::new()
        .name("batpak-follow".into())
        .spawn(move || {
            while !shared.closed.load(Ordering::Acquire) {
                let failed = refresh(&shared).err().map(|e| e.to_string());
                *locking::lock(&shared.follow_error) = failed;
                std::thread::park_timeout(interval);
            }
        })
        .map_err(|e| StoreError::io(IoOp::Spawn, &dir, e))
}

#[cfg(test)]
mod tests;
