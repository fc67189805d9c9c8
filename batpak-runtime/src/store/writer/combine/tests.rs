//! The combining path keeps the writer's promises: one caller's writes stay
//! in the order it made them whichever path each took, and a panic while a
//! caller writes on its own thread stops the writer cleanly.

use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::store::{Store, StoreConfig, StoreError};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// An append of this kind panics inside the writer (test builds only).
pub(crate) const PANIC_KIND: EventKind = EventKind::custom(0x3, 0xFFE);
const KIND: EventKind = EventKind::custom(0x3, 1);

fn combiner(store: &Store) -> &super::Combiner {
    &store.tx.as_ref().expect("a read-write store").combiner
}

/// How many appends ran on their callers' threads.
fn fast_runs(store: &Store) -> usize {
    combiner(store).ran_here.load(Ordering::SeqCst)
}

#[test]
fn one_callers_submits_and_appends_keep_their_order_under_contention() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(1_000)).unwrap(),
    );
    // Another producer keeps the writer busy now and then, so appends take
    // both paths: the caller's own thread and the mailbox.
    let noise = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            let coord = Coordinate::new("noise", "s").unwrap();
            for i in 0..3_000u32 {
                store.append(&coord, KIND, &i).unwrap();
            }
        })
    };
    let coord = Coordinate::new("ordered", "s").unwrap();
    let mut last = 0;
    for i in 0..1_500u32 {
        // A submitted write is queued; the blocking append after it must not
        // overtake it on the fast path.
        // Every third submit finds the writer busy (this thread holds its
        // mutex), so it is queued, and the append after it races the writer
        // thread for it.
        let busy = (i % 3 == 0).then(|| combiner(&store).lock());
        let ticket = store.submit(&coord, KIND, &(2 * i)).unwrap();
        drop(busy);
        let appended = store.append(&coord, KIND, &(2 * i + 1)).unwrap();
        let submitted = ticket.wait().unwrap();
        assert_eq!(submitted.entity_sequence, last + 1, "write {i}");
        assert_eq!(appended.entity_sequence, last + 2, "write {i}");
        assert!(appended.sequence > submitted.sequence);
        last = appended.entity_sequence;
    }
    noise.join().unwrap();
    // Both paths were taken: 6,000 appends and submits in all, 500 of them
    // queued while this thread held the writer.
    let here = fast_runs(&store);
    assert!(
        here > 0 && here <= 5_500,
        "{here} appends ran on their callers' threads"
    );
    let values: Vec<u64> = store
        .stream("ordered")
        .iter()
        .map(|e| {
            store
                .get(e.event_id)
                .unwrap()
                .unwrap()
                .payload
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(values, (0..3_000u64).collect::<Vec<_>>());
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn a_panic_while_a_caller_writes_stops_the_writer_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    // Not every event synced, so an append may run on the caller's thread.
    let config = StoreConfig::new(dir.path()).with_sync_every_n_events(1_000);
    let store = Store::open(config).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    let kept = store.append(&coord, KIND, &1).unwrap();
    // The store is idle, so this append runs on this thread and panics there:
    // the caller hears `WriterStopped`, its thread does not unwind.
    assert!(matches!(
        store.append(&coord, PANIC_KIND, &2),
        Err(StoreError::WriterStopped)
    ));
    assert!(matches!(
        store.append(&coord, KIND, &3),
        Err(StoreError::WriterStopped)
    ));
    assert_eq!(fast_runs(&store), 2, "both appends ran on this thread");
    let ticket = store.submit(&coord, KIND, &4);
    if let Ok(ticket) = ticket {
        assert!(matches!(
            ticket.wait_timeout(Duration::from_secs(5)),
            Err(StoreError::WriterStopped)
        ));
    }
    assert!(store.diagnostics().writer_stopped);
    assert!(matches!(store.close(), Err(StoreError::WriterStopped)));
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert!(reopened.get(kept.event_id).unwrap().is_some());
    assert_eq!(reopened.stream("e").len(), 1);
    assert!(reopened.verify().unwrap().is_clean());
}
