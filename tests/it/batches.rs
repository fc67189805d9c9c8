//! Atomic batches: all items or none become visible, receipts come back in item
//! order, causation links inside a batch resolve, limits are typed errors, and a
//! batch cut short by a crash disappears whole.

use crate::support::{
    child_args, config, coord, copy_dir, crash_round, durable_mark, file_len, newest_segment, open,
    payload, restore_durable_mark, say, segment_name, spawn_gate, store_gate, tempdir,
    verify_intact, KillPoint, Rng, KIND_A, KIND_B, KIND_C,
};
use batpak::coordinate::Region;
use batpak::event::EventFlags;
use batpak::event::EventId;
use batpak::store::{
    AppendOptions, BatchAppendItem, BatchProblem, CausationRef, LogPosition, Store, StoreConfig,
    StoreError,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

fn item(entity: &str, body: serde_json::Value, cause: CausationRef) -> BatchAppendItem {
    BatchAppendItem::new(
        coord(entity, "s"),
        KIND_C,
        &body,
        AppendOptions::new(),
        cause,
    )
    .expect("batch item")
}

#[test]
fn batches_become_visible_all_at_once() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    const BATCHES: u64 = 40;
    const ITEMS: u64 = 20;
    let done = AtomicBool::new(false);
    let observations = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut seen = BTreeSet::new();
            loop {
                // Read the flag first: the last look happens after the last batch.
                let finished = done.load(Ordering::Acquire);
                let all = store.by_fact(KIND_C).len() as u64;
                assert_eq!(all % ITEMS, 0, "a partial batch was visible");
                for e in 0..4 {
                    let n = store.stream(&format!("atomic-{e}")).len() as u64;
                    assert_eq!(n % (ITEMS / 4), 0, "a partial batch was visible");
                }
                assert_eq!(store.query(&Region::all()).len() as u64 % ITEMS, 0);
                seen.insert(all);
                if finished {
                    return seen;
                }
            }
        });
        for b in 0..BATCHES {
            let items = (0..ITEMS)
                .map(|k| {
                    let body = serde_json::json!({ "b": b, "k": k });
                    item(&format!("atomic-{}", k % 4), body, CausationRef::None)
                })
                .collect();
            store.append_batch(items).expect("batch");
        }
        done.store(true, Ordering::Release);
        reader.join().expect("reader")
    });
    assert_eq!(observations.last(), Some(&(BATCHES * ITEMS)));
}

#[test]
fn receipts_follow_item_order_and_links_resolve() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    store.append(&coord("x", "s"), KIND_A, &0).expect("x1");
    store.append(&coord("x", "s"), KIND_A, &1).expect("x2");
    let outside = store
        .append(&coord("y", "s"), KIND_A, &"outside")
        .expect("y");
    let items = vec![
        item("x", serde_json::json!(0), CausationRef::None),
        item("z", serde_json::json!(1), CausationRef::PriorItem(0)),
        item("x", serde_json::json!(2), CausationRef::PriorItem(1)),
        item(
            "z",
            serde_json::json!(3),
            CausationRef::Absolute(outside.event_id),
        ),
        item("x", serde_json::json!(4), CausationRef::PriorItem(3)),
    ];
    let receipts = store.append_batch(items).expect("batch");
    assert_eq!(receipts.len(), 5);
    for w in receipts.windows(2) {
        assert_eq!(
            w[1].sequence,
            w[0].sequence + 1,
            "items take consecutive sequences"
        );
        assert!(w[1].event_id > w[0].event_id);
    }
    assert_eq!(receipts[0].sequence, outside.sequence + 1);
    let entity_sequences: Vec<u64> = receipts.iter().map(|r| r.entity_sequence).collect();
    assert_eq!(entity_sequences, [3, 1, 4, 2, 5]);

    let root = receipts[0].event_id;
    let expected_links = [
        (root, None),
        (root, Some(receipts[0].event_id)),
        (root, Some(receipts[1].event_id)),
        (outside.event_id, Some(outside.event_id)),
        (outside.event_id, Some(receipts[3].event_id)),
    ];
    let check = |store: &Store| {
        for (i, (r, (correlation, causation))) in receipts.iter().zip(expected_links).enumerate() {
            let event = store.get(r.event_id).expect("get").expect("visible");
            assert_eq!(event.payload, serde_json::json!(i), "item {i}");
            assert_eq!(event.header.correlation_id, correlation, "item {i}");
            assert_eq!(event.header.causation_id, causation, "item {i}");
            assert_eq!(event.header.position.sequence, r.sequence);
            assert_eq!(
                store.content_hash(r.event_id).expect("hash"),
                Some(r.content_hash)
            );
            assert!(event.header.flags.contains(EventFlags::BATCH));
        }
        let tree: Vec<EventId> = store.correlated(root).iter().map(|e| e.event_id).collect();
        assert_eq!(
            tree,
            [
                receipts[0].event_id,
                receipts[1].event_id,
                receipts[2].event_id
            ]
        );
        let outside_tree: Vec<EventId> = store
            .correlated(outside.event_id)
            .iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(
            outside_tree,
            [outside.event_id, receipts[3].event_id, receipts[4].event_id]
        );
    };
    check(&store);
    store.close().expect("close");
    let store = open(config(dir.path()));
    check(&store);
    assert!(store.verify().expect("verify").is_clean());
}

#[test]
fn invalid_batches_are_typed_errors_and_write_nothing() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()).with_batch_limits(10, 1000));
    store.append(&coord("x", "s"), KIND_A, &0).expect("append");
    let bytes_before = store.stats().expect("stats").segment_bytes;
    let small = |n: u64| -> Vec<BatchAppendItem> {
        (0..n)
            .map(|k| item("x", serde_json::json!(k), CausationRef::None))
            .collect()
    };
    match store.append_batch(small(11)) {
        Err(StoreError::BatchTooLarge { items, .. }) => assert_eq!(items, 11),
        other => panic!("expected BatchTooLarge, got {other:?}"),
    }
    let big: Vec<BatchAppendItem> = (0..3)
        .map(|_| item("x", serde_json::json!("w".repeat(400)), CausationRef::None))
        .collect();
    match store.append_batch(big) {
        Err(StoreError::BatchTooLarge { items, bytes }) => {
            assert_eq!(items, 3);
            assert!(bytes > 1000, "{bytes} bytes reported");
        }
        other => panic!("expected BatchTooLarge, got {other:?}"),
    }
    match store.append_batch(Vec::new()) {
        Err(StoreError::InvalidBatch { reason, .. }) => assert_eq!(reason, BatchProblem::Empty),
        other => panic!("expected an empty batch error, got {other:?}"),
    }
    let forward = vec![
        item("x", serde_json::json!(0), CausationRef::None),
        item("x", serde_json::json!(1), CausationRef::PriorItem(1)),
    ];
    match store.append_batch(forward) {
        Err(StoreError::InvalidBatch { item, reason }) => {
            assert_eq!((item, reason), (1, BatchProblem::ForwardCausation));
        }
        other => panic!("expected a forward causation error, got {other:?}"),
    }
    assert_eq!(store.stats().expect("stats").segment_bytes, bytes_before);
    assert_eq!(store.stream("x").len(), 1);
    assert_eq!(
        store.append_batch(small(10)).expect("at the limit").len(),
        10
    );
}

#[test]
fn unfinished_batch_is_dropped_and_the_log_stays_appendable() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    for i in 0..3 {
        store
            .append(&coord("old", "s"), KIND_A, &i)
            .expect("append");
    }
    store.close().expect("close");
    let (segment, path) = newest_segment(dir.path());
    let start = file_len(&path);
    let mark = durable_mark(dir.path());
    let store = open(config(dir.path()));
    store
        .append_batch(vec![
            item("fresh", serde_json::json!(0), CausationRef::None),
            item("old", serde_json::json!(1), CausationRef::None),
            item("fresh", serde_json::json!(2), CausationRef::None),
        ])
        .expect("batch");
    store.close().expect("close");
    let full = std::fs::read(&path).expect("read segment");

    // Every cut strictly inside the batch is what a crash mid-write can leave.
    for cut in start as usize + 1..full.len() {
        let work = tempdir();
        copy_dir(dir.path(), work.path());
        std::fs::write(work.path().join(segment_name(segment)), &full[..cut]).expect("cut");
        restore_durable_mark(work.path(), &mark);
        let store = open(config(work.path()));
        let report = store.diagnostics().recovery;
        let tail = report.truncated_tail.expect("the cut is reported");
        assert_eq!(
            tail.at,
            LogPosition {
                segment,
                offset: start
            },
            "cut {cut}"
        );
        assert_eq!(tail.bytes, cut as u64 - start, "cut {cut}");
        assert!(report.discarded_batch_events <= 3);
        assert!(store.stream("fresh").is_empty(), "cut {cut}");
        assert_eq!(store.stream("old").len(), 3, "cut {cut}");
        assert_eq!(store.by_fact(KIND_C).len(), 0, "cut {cut}");

        let fresh = store
            .append(&coord("fresh", "s"), KIND_B, &"after")
            .expect("append");
        assert_eq!(fresh.entity_sequence, 1, "cut {cut}");
        let old = store
            .append(&coord("old", "s"), KIND_B, &"after")
            .expect("append");
        assert_eq!(old.entity_sequence, 4, "cut {cut}");
        store.close().expect("close");

        let store = Store::open(config(work.path())).unwrap_or_else(|e| {
            panic!(
                "cut {cut} (batch starts at {start}): the store does not reopen after \
                 appending to an entity first named inside the dropped batch: {e:?}"
            )
        });
        assert_eq!(payload(&store, fresh.event_id), serde_json::json!("after"));
        assert_eq!(store.stream("old").len(), 4);
        let kept = verify_intact(&store);
        assert_eq!(kept.len(), 1, "cut {cut}: the cut bytes are kept");
        assert_eq!(kept[0].bytes, cut as u64 - start, "cut {cut}");
    }
}

/// Found by the `recovery` fuzz target: dropping an unfinished batch also
/// drops the coordinate ids its name frames introduced, so a coordinate first
/// named after the crash takes the next id the log on disk expects, instead
/// of leaving a gap that made the following open fail with `UnknownName`.
#[test]
fn a_new_coordinate_after_a_dropped_batch_keeps_ids_dense() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    store
        .append(&coord("old", "s"), KIND_A, &0)
        .expect("append");
    store.close().expect("close");
    let (_, path) = newest_segment(dir.path());
    let mark = durable_mark(dir.path());
    let store = open(config(dir.path()));
    store
        .append_batch(vec![
            item("fresh", serde_json::json!(0), CausationRef::None),
            item("fresh", serde_json::json!(1), CausationRef::None),
        ])
        .expect("batch");
    store.close().expect("close");
    // A crash before the commit marker was complete (and synced).
    let full = std::fs::read(&path).expect("read segment");
    std::fs::write(&path, &full[..full.len() - 1]).expect("cut");
    restore_durable_mark(dir.path(), &mark);

    let store = open(config(dir.path()));
    assert_eq!(store.diagnostics().recovery.discarded_batch_events, 2);
    assert_eq!(
        store.stats().expect("stats").entities,
        1,
        "the dropped name is forgotten"
    );
    let newer = store
        .append(&coord("newer", "s"), KIND_B, &"after")
        .expect("append");
    let entry = &store.stream("newer")[0];
    assert_eq!(entry.event_id, newer.event_id);
    assert_eq!(entry.coordinate.entity(), "newer");
    assert!(store.stream("fresh").is_empty());
    store.close().expect("close");

    let store = Store::open(config(dir.path())).expect("the log reopens");
    assert_eq!(store.stream("newer").len(), 1);
    assert_eq!(store.stream("old").len(), 1);
    assert!(store.stream("fresh").is_empty());
    assert_eq!(verify_intact(&store).len(), 1, "the cut batch is kept");
}

// ---------------------------------------------------------------------------
// Crash test.

const CRASH_ROUNDS: u64 = 20;
const BATCH_ITEMS: u64 = 50;
const CRASH_TEST: &str = "batches::acknowledged_batches_survive_sigkill_whole";

fn crash_config(dir: &Path) -> StoreConfig {
    config(dir).with_segment_max_bytes(256 << 10)
}

/// The child: writes batches forever, printing each acknowledged batch number.
fn batches_forever(dir: &Path, round: u64) {
    let store = open(crash_config(dir));
    let mut rng = Rng::new(round ^ 0xBA7C);
    for b in 0u64.. {
        let items: Vec<BatchAppendItem> = (0..BATCH_ITEMS)
            .map(|k| {
                let pad = if rng.chance(1, 20) {
                    5_000
                } else {
                    rng.below(200)
                };
                let body = serde_json::json!({
                    "round": round, "batch": b, "item": k, "pad": "p".repeat(pad as usize),
                });
                item(&format!("b-{}", k % 5), body, CausationRef::None)
            })
            .collect();
        let receipts = if b % 3 == 0 {
            let mut outbox = store.outbox();
            for it in items {
                outbox.push_item(it);
            }
            outbox.flush().expect("outbox flush")
        } else {
            store.append_batch(items).expect("append batch")
        };
        assert_eq!(receipts.len() as u64, BATCH_ITEMS);
        if !say(&format!("batch {round} {b}")) {
            return;
        }
    }
}

/// An item of a batch found after recovery.
struct Seen {
    item: u64,
    id: EventId,
    sequence: u64,
}

#[test]
fn acknowledged_batches_survive_sigkill_whole() {
    if let Some((dir, round)) = child_args() {
        return batches_forever(&dir, round);
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    let mut rng = Rng::new(0xBA7C_0001);
    // (round, batch) -> event ids of its items, for every batch seen so far.
    let mut present: BTreeMap<(u64, u64), Vec<EventId>> = BTreeMap::new();
    let mut known_ids: HashSet<EventId> = HashSet::new();
    for round in 0..CRASH_ROUNDS {
        let kill = KillPoint::random(&mut rng, 8);
        let lines = crash_round(CRASH_TEST, dir.path(), round, kill, |_| true);
        let acknowledged: Vec<(u64, u64)> = lines
            .iter()
            .map(|l| {
                let mut parts = l.strip_prefix("batch ").expect("batch line").split(' ');
                let r = parts.next().and_then(|p| p.parse().ok()).expect("round");
                let b = parts.next().and_then(|p| p.parse().ok()).expect("batch");
                (r, b)
            })
            .collect();

        let store = open(crash_config(dir.path()));
        let entries = store.by_fact(KIND_C);
        let mut this_round: BTreeMap<(u64, u64), Vec<Seen>> = BTreeMap::new();
        for e in entries.iter().filter(|e| !known_ids.contains(&e.event_id)) {
            let body = payload(&store, e.event_id);
            let key = (
                body["round"].as_u64().expect("round"),
                body["batch"].as_u64().expect("batch"),
            );
            let k = body["item"].as_u64().expect("item");
            this_round.entry(key).or_default().push(Seen {
                item: k,
                id: e.event_id,
                sequence: e.sequence,
            });
        }
        for (key, items) in &this_round {
            assert_eq!(key.0, round, "a batch of an earlier round appeared late");
            let ks: Vec<u64> = items.iter().map(|i| i.item).collect();
            assert_eq!(
                ks,
                (0..BATCH_ITEMS).collect::<Vec<_>>(),
                "batch {key:?} is partial"
            );
            assert!(
                items.windows(2).all(|w| w[1].sequence == w[0].sequence + 1),
                "batch {key:?} is not contiguous"
            );
            present.insert(*key, items.iter().map(|i| i.id).collect());
        }
        let unacknowledged = this_round
            .keys()
            .filter(|k| !acknowledged.contains(k))
            .count();
        assert!(
            unacknowledged <= 1,
            "round {round}: {unacknowledged} extra batches"
        );
        for key in &acknowledged {
            assert!(present.contains_key(key), "acknowledged batch {key:?} lost");
        }
        known_ids.extend(this_round.values().flatten().map(|i| i.id));
        let visible: HashSet<EventId> = entries.iter().map(|e| e.event_id).collect();
        assert_eq!(visible, known_ids, "round {round}: earlier batches changed");
        // A kill inside a write leaves a torn tail the open cut and kept in
        // the quarantine; nothing else may be wrong.
        verify_intact(&store);

        let receipts = store
            .append_batch(vec![
                item(
                    "b-0",
                    serde_json::json!({ "parent": round }),
                    CausationRef::None,
                ),
                item(
                    "b-1",
                    serde_json::json!({ "parent": round }),
                    CausationRef::None,
                ),
            ])
            .expect("batch after recovery");
        known_ids.extend(receipts.iter().map(|r| r.event_id));
        store.close().expect("close");
    }
    assert!(present.len() as u64 >= CRASH_ROUNDS);
}
