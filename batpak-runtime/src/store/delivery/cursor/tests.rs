use super::*;
use crate::coordinate::Coordinate;
use crate::event::{EventId, EventKind};
use crate::store::{AppendOptions, DurabilityGate, StoreConfig};
use std::sync::Mutex;

const K: EventKind = EventKind::custom(0x5, 1);
const OTHER: EventKind = EventKind::custom(0x5, 2);

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(1000)).unwrap()
}

#[test]
fn cursor_delivers_each_matching_event_once_in_order_and_waits_for_fences() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a = Coordinate::new("a", "s").unwrap();
    let b = Coordinate::new("b", "s").unwrap();
    let region = Region::all().with_kind(K);
    let mut cursor = store.cursor_guaranteed(&region);
    let mut expected = Vec::new();
    for i in 0..30 {
        let c = if i % 2 == 0 { &a } else { &b };
        let r = store
            .append(c, if i % 3 == 0 { OTHER } else { K }, &i)
            .unwrap();
        if i % 3 != 0 {
            expected.push(r.event_id);
        }
    }
    let mut seen: Vec<EventId> = Vec::new();
    loop {
        let batch = cursor.poll(4);
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 4);
        seen.extend(batch.iter().map(|e| e.event_id));
    }
    assert_eq!(seen, expected);

    // A fence's writes are not delivered while it is live; a cancelled fence's
    // never are; a committed fence's are, in order.
    let fence = store.begin_visibility_fence().unwrap();
    let hidden = fence.submit(&a, K, &"hidden").unwrap();
    assert!(cursor.poll(10).is_empty());
    fence.cancel().unwrap();
    assert!(hidden.wait().is_err());
    let fence = store.begin_visibility_fence().unwrap();
    let shown = fence.submit(&b, K, &"shown").unwrap();
    assert!(cursor.poll(10).is_empty());
    fence.commit().unwrap();
    let shown = shown.wait().unwrap();
    let after = store.append(&a, K, &"after").unwrap();
    let ids: Vec<EventId> = cursor.poll(10).iter().map(|e| e.event_id).collect();
    assert_eq!(ids, vec![shown.event_id, after.event_id]);
}

#[test]
fn worker_checkpoints_resume_and_refuse_another_region() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let a = Coordinate::new("a", "s").unwrap();
    for i in 0..10 {
        store.append(&a, K, &i).unwrap();
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = CursorWorkerConfig {
        batch_size: 3,
        checkpoint_id: Some("audit".into()),
        ..CursorWorkerConfig::default()
    };
    let run = |stop_after: usize| {
        let seen = Arc::clone(&seen);
        let (done_tx, done_rx) = flume::bounded(1);
        let worker = store
            .cursor_worker(
                &Region::entity("a"),
                config.clone(),
                move |batch, _store, witness| {
                    assert_eq!(witness.map(AtLeastOnce::checkpoint_id), Some("audit"));
                    let mut seen = seen.lock().unwrap();
                    seen.extend(batch.iter().map(|e| e.entity_sequence));
                    if seen.len() >= stop_after {
                        let _ = done_tx.try_send(());
                        return CursorWorkerAction::Stop;
                    }
                    CursorWorkerAction::Continue
                },
            )
            .unwrap();
        done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        worker.stop_and_join().unwrap();
    };
    run(6);
    for i in 10..14 {
        store.append(&a, K, &i).unwrap();
    }
    run(14);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        (1..=14).collect::<Vec<u64>>(),
        "resumed after the checkpoint, no gap or repeat"
    );

    let err = store
        .cursor_worker(&Region::entity("b"), config.clone(), |_, _, _| {
            CursorWorkerAction::Stop
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::CheckpointMismatch { .. }));
}

#[test]
fn worker_restarts_after_a_panic_and_redelivers_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let a = Coordinate::new("a", "s").unwrap();
    store.append(&a, K, &1).unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = flume::bounded(1);
    let config = CursorWorkerConfig {
        restart: RestartPolicy::Restart {
            max_restarts: 2,
            backoff: Duration::from_millis(1),
        },
        ..CursorWorkerConfig::default()
    };
    let worker = {
        let calls = Arc::clone(&calls);
        store
            .cursor_worker(&Region::all(), config, move |batch, _, _| {
                let delivered = {
                    let mut calls = calls.lock().unwrap();
                    calls.push(batch[0].entity_sequence);
                    calls.len()
                };
                if delivered == 1 {
                    panic!("first delivery fails");
                }
                let _ = done_tx.try_send(());
                CursorWorkerAction::Stop
            })
            .unwrap()
    };
    done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    worker.stop_and_join().unwrap();
    assert_eq!(*calls.lock().unwrap(), vec![1, 1]);

    let worker = store
        .cursor_worker(
            &Region::all(),
            CursorWorkerConfig::default(),
            |_, _, _| -> CursorWorkerAction { panic!("always fails") },
        )
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !worker.is_finished() && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(matches!(
        worker.stop_and_join(),
        Err(StoreError::HandlerPanicked)
    ));
}

#[test]
fn frontier_orders_watermarks_and_the_durable_gate_waits_for_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let a = Coordinate::new("a", "s").unwrap();
    let mut last = store.frontier();
    for i in 0..20 {
        let r = if i % 5 == 4 {
            let r = store
                .append_with_options(
                    &a,
                    K,
                    &i,
                    AppendOptions::new().with_gate(DurabilityGate::Durable),
                )
                .unwrap();
            assert!(
                store.frontier().durable >= r.sequence,
                "durable gate returned before fsync"
            );
            r
        } else {
            store.append(&a, K, &i).unwrap()
        };
        let f = store.frontier();
        assert!(f.visible >= r.sequence);
        assert!(f.accepted >= f.written && f.written >= f.durable && f.written >= f.visible);
        assert!(
            f.accepted >= last.accepted && f.durable >= last.durable && f.visible >= last.visible
        );
        last = f;
    }
    let r = store.append(&a, K, &"lazy").unwrap();
    assert!(
        store.frontier().durable < r.sequence,
        "every_n_events = 1000 leaves it unsynced"
    );
    store
        .wait_for(Watermark::Durable, r.sequence, Duration::from_secs(5))
        .unwrap();
    assert!(store.frontier().durable >= r.sequence);
    assert!(matches!(
        store.wait_for(
            Watermark::Visible,
            r.sequence + 100,
            Duration::from_millis(10)
        ),
        Err(StoreError::Timeout { .. })
    ));
}
