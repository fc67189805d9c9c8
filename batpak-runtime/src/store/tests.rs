use super::*;
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use std::time::Duration;

const KIND: EventKind = EventKind::custom(0x3, 1);

#[test]
fn a_panicking_writer_resolves_every_ticket_and_waiter() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(1_000_000)).unwrap(),
    );
    let coord = Coordinate::new("e", "s").unwrap();
    let first = store.append(&coord, KIND, &1).unwrap();

    let waiter = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            store.wait_for_visible(first.sequence + 10_000, Duration::from_secs(30))
        })
    };
    let mut tickets: Vec<_> = (0..200)
        .map(|i| store.submit(&coord, KIND, &i).unwrap())
        .collect();
    let fence_store = Arc::clone(&store);
    store.send(Command::Crash).unwrap();
    tickets.extend((0..50).filter_map(|i| store.submit(&coord, KIND, &i).ok()));

    for ticket in tickets {
        match ticket.wait_timeout(Duration::from_secs(5)) {
            Ok(_) | Err(StoreError::WriterStopped) => {}
            Err(other) => panic!("unexpected ticket error {other:?}"),
        }
    }
    assert!(matches!(
        waiter.join().unwrap(),
        Err(StoreError::WriterStopped)
    ));
    assert!(matches!(
        fence_store.append(&coord, KIND, &0),
        Err(StoreError::WriterStopped)
    ));
    assert!(store.diagnostics().writer_stopped);
    drop(fence_store);
    let store = Arc::try_unwrap(store).unwrap();
    assert!(matches!(store.close(), Err(StoreError::WriterStopped)));

    // Everything that was acknowledged before the crash is still there.
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert!(reopened.get(first.event_id).unwrap().is_some());
    assert!(reopened.verify().unwrap().is_clean());
}

#[test]
fn a_panicking_writer_fails_fenced_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    let fence = store.begin_visibility_fence().unwrap();
    let ticket = fence.submit(&coord, KIND, &1).unwrap();
    store.send(Command::Crash).unwrap();
    assert!(matches!(
        ticket.wait_timeout(Duration::from_secs(5)),
        Err(StoreError::WriterStopped)
    ));
    assert!(matches!(fence.commit(), Err(StoreError::WriterStopped)));
    drop(store);
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(reopened.by_fact(KIND).len(), 0);
}

#[test]
fn appends_after_close_and_bad_input_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path()).with_frame_max_bytes(1024)).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    assert!(matches!(
        store.append(&coord, EventKind::from_raw(0x0001), &1),
        Err(StoreError::ReservedKind { .. })
    ));
    assert!(matches!(
        store.append(&coord, EventKind::from_raw(0xD001), &1),
        Err(StoreError::ReservedKind { .. })
    ));
    assert!(matches!(
        store.append(&coord, KIND, &"x".repeat(4096)),
        Err(StoreError::PayloadTooLarge { .. })
    ));
    assert_eq!(store.stats().unwrap().events, 0);
    let ticket = store.submit(&coord, KIND, &1).unwrap();
    store.close().unwrap();
    assert!(ticket.wait().is_ok());
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(reopened.stats().unwrap().events, 1);
}

#[test]
fn rotation_keeps_every_event_readable() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::new(dir.path())
        .with_segment_max_bytes(4096)
        .with_sync_every_n_events(100);
    let store = Store::open(config.clone()).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    let receipts: Vec<_> = (0..500)
        .map(|i| {
            store
                .append(
                    &coord,
                    KIND,
                    &serde_json::json!({ "i": i, "pad": "x".repeat(40) }),
                )
                .unwrap()
        })
        .collect();
    let stats = store.stats().unwrap();
    assert!(
        stats.segments > 5,
        "expected rotation, got {} segments",
        stats.segments
    );
    store.close().unwrap();
    let reopened = Store::open(config).unwrap();
    for (i, r) in receipts.iter().enumerate() {
        let event = reopened.get(r.event_id).unwrap().unwrap();
        assert_eq!(event.payload["i"], i);
        assert_eq!(event.header.position.entity_sequence, i as u64 + 1);
    }
    assert!(reopened.verify().unwrap().is_clean());
}
