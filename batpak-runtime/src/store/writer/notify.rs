//! Notifying lossy subscribers: after publishing a group, the writer offers a
//! [`Notification`] per event to every subscription whose region matches, with
//! a non-blocking send; a full channel counts a drop instead of waiting (see
//! `delivery::subscription` for the user's end).

use crate::coordinate::{Coordinate, Region};
use crate::event::{CorrelationId, EventId, EventKind};
use crate::store::index::IndexEntry;
use crate::store::locking;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What a subscriber learns about a newly visible event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The event's id.
    pub event_id: EventId,
    /// Root of its causal tree.
    pub correlation_id: CorrelationId,
    /// Its direct cause, if any.
    pub causation_id: Option<EventId>,
    /// Entity and scope.
    pub coordinate: Coordinate,
    /// Kind.
    pub kind: EventKind,
    /// Global sequence.
    pub sequence: u64,
}

impl From<&IndexEntry> for Notification {
    fn from(e: &IndexEntry) -> Self {
        Self {
            event_id: e.event_id,
            correlation_id: e.correlation_id,
            causation_id: e.causation_id,
            coordinate: e.coordinate.clone(),
            kind: e.kind,
            sequence: e.sequence,
        }
    }
}

#[derive(Debug)]
struct Slot {
    region: Region,
    tx: flume::Sender<Notification>,
    dropped: Arc<AtomicU64>,
}

/// The registry the writer notifies.
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    slots: Mutex<Vec<Slot>>,
    count: AtomicUsize,
}

impl Subscribers {
    /// Registers a subscription to `region`; returns its receiving end and its
    /// count of dropped notifications.
    pub(crate) fn add(
        &self,
        region: Region,
        capacity: usize,
    ) -> (flume::Receiver<Notification>, Arc<AtomicU64>) {
        let (tx, rx) = flume::bounded(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let mut slots = locking::lock(&self.slots);
        slots.push(Slot {
            region,
            tx,
            dropped: Arc::clone(&dropped),
        });
        self.count.store(slots.len(), Ordering::Release);
        (rx, dropped)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Offers each entry to every matching subscription without blocking.
    pub(crate) fn notify(&self, entries: &[IndexEntry]) {
        let mut slots = locking::lock(&self.slots);
        slots.retain(|slot| {
            for e in entries {
                let c = &e.coordinate;
                if !slot.region.matches(c.entity(), c.scope(), e.kind) {
                    continue;
                }
                match slot.tx.try_send(Notification::from(e)) {
                    Ok(()) => {}
                    Err(flume::TrySendError::Full(_)) => {
                        slot.dropped.fetch_add(1, Ordering::Relaxed);
                        crate::store::observe::subscriber_dropped(1);
                    }
                    Err(flume::TrySendError::Disconnected(_)) => return false,
                }
            }
            true
        });
        self.count.store(slots.len(), Ordering::Release);
    }

    /// Closes every subscription (the store is closing, or its writer
    /// stopped, possibly by a panic).
    pub(crate) fn close_all(&self) {
        let mut slots = locking::lock_for_cleanup(&self.slots);
        slots.clear();
        self.count.store(0, Ordering::Release);
    }
}
