//! Idempotency keys and compare-and-swap, for single appends and batches, before
//! and after a reopen.

use crate::support::{config, coord, open, store_gate, tempdir, KIND_A, KIND_B};
use batpak::coordinate::Coordinate;
use batpak::event::EventKind;
use batpak::store::{
    AppendOptions, AppendReceipt, BatchAppendItem, BatchProblem, CausationRef, Store, StoreError,
};

const KEY: u128 = 0x0123_4567_89AB_CDEF_0011_2233_4455_6677;

fn keyed(
    store: &Store,
    c: &Coordinate,
    kind: EventKind,
    body: &serde_json::Value,
    key: u128,
) -> Result<AppendReceipt, StoreError> {
    store.append_with_options(c, kind, body, AppendOptions::new().with_idempotency(key))
}

/// Bytes on disk and visible events: what "nothing was written" compares.
fn footprint(store: &Store) -> (u64, u64) {
    let stats = store.stats().expect("stats");
    (stats.segment_bytes, stats.events)
}

fn expect_conflict(result: Result<AppendReceipt, StoreError>, key: u128) {
    match result {
        Err(StoreError::IdempotencyConflict { key: got }) => assert_eq!(got, key),
        other => panic!("expected an idempotency conflict, got {other:?}"),
    }
}

#[test]
fn same_key_same_content_replays_the_receipt_and_writes_nothing() {
    let _gate = store_gate();
    let dir = tempdir();
    let c = coord("order:1", "shop");
    let body = serde_json::json!({ "item": "tea", "qty": 2 });
    let store = open(config(dir.path()));
    store.append(&c, KIND_A, &"before").expect("plain append");
    let first = keyed(&store, &c, KIND_A, &body, KEY).expect("first keyed append");
    let written = footprint(&store);
    for _ in 0..3 {
        assert_eq!(
            keyed(&store, &c, KIND_A, &body, KEY).expect("replay"),
            first
        );
    }
    assert_eq!(footprint(&store), written);
    assert_eq!(store.by_fact(KIND_A).len(), 2);
    store.close().expect("close");

    let store = open(config(dir.path()));
    let written = footprint(&store);
    assert_eq!(
        keyed(&store, &c, KIND_A, &body, KEY).expect("replay"),
        first
    );
    assert_eq!(footprint(&store), written);
    assert_eq!(store.by_fact(KIND_A).len(), 2);
    assert_eq!(store.stream("order:1").len(), 2);
    // A batch item with the used key and the same content replays too.
    let item = BatchAppendItem::new(
        c.clone(),
        KIND_A,
        &body,
        AppendOptions::new().with_idempotency(KEY),
        CausationRef::None,
    )
    .expect("item");
    assert_eq!(store.append_batch(vec![item]).expect("replay"), vec![first]);
    assert_eq!(footprint(&store), written);
}

#[test]
fn same_key_other_content_is_a_conflict_also_after_reopen() {
    let _gate = store_gate();
    let dir = tempdir();
    let c = coord("order:2", "shop");
    let body = serde_json::json!({ "item": "tea" });
    let store = open(config(dir.path()));
    let first = keyed(&store, &c, KIND_A, &body, KEY).expect("first");
    let written = footprint(&store);
    let others = [
        (c.clone(), KIND_A, serde_json::json!({ "item": "coffee" })),
        (c.clone(), KIND_B, body.clone()),
        (coord("order:3", "shop"), KIND_A, body.clone()),
        (coord("order:2", "other-shop"), KIND_A, body.clone()),
    ];
    for (c2, kind, b) in &others {
        expect_conflict(keyed(&store, c2, *kind, b, KEY), KEY);
    }
    assert_eq!(footprint(&store), written);
    store.close().expect("close");

    let store = open(config(dir.path()));
    for (c2, kind, b) in &others {
        expect_conflict(keyed(&store, c2, *kind, b, KEY), KEY);
    }
    assert_eq!(
        keyed(&store, &c, KIND_A, &body, KEY).expect("replay"),
        first
    );
    assert_eq!(store.stream("order:2").len(), 1);
    assert!(store.stream("order:3").is_empty());
}

fn cas(store: &Store, c: &Coordinate, expected: u64) -> Result<AppendReceipt, StoreError> {
    store.append_with_options(
        c,
        KIND_A,
        &serde_json::json!({ "expected": expected }),
        AppendOptions::new().with_cas(expected),
    )
}

fn expect_sequence_conflict(
    result: Result<AppendReceipt, StoreError>,
    entity: &str,
    expected: u64,
    actual: u64,
) {
    match result {
        Err(StoreError::SequenceConflict {
            entity: e,
            expected: x,
            actual: a,
        }) => {
            assert_eq!((e.as_str(), x, a), (entity, expected, actual));
        }
        other => panic!("expected a sequence conflict, got {other:?}"),
    }
}

#[test]
fn cas_accepts_only_the_entity_last_sequence() {
    let _gate = store_gate();
    let dir = tempdir();
    let c = coord("account:9", "bank");
    let store = open(config(dir.path()));
    expect_sequence_conflict(cas(&store, &c, 1), "account:9", 1, 0);
    assert_eq!(cas(&store, &c, 0).expect("cas 0").entity_sequence, 1);
    expect_sequence_conflict(cas(&store, &c, 0), "account:9", 0, 1);
    expect_sequence_conflict(cas(&store, &c, 5), "account:9", 5, 1);
    assert_eq!(cas(&store, &c, 1).expect("cas 1").entity_sequence, 2);
    // Other entities do not move this one's sequence.
    store
        .append(&coord("account:10", "bank"), KIND_A, &1)
        .expect("other");
    assert_eq!(cas(&store, &c, 2).expect("cas 2").entity_sequence, 3);
    let written = footprint(&store);
    expect_sequence_conflict(cas(&store, &c, 2), "account:9", 2, 3);
    assert_eq!(footprint(&store), written, "a refused CAS writes nothing");
    store.close().expect("close");

    let store = open(config(dir.path()));
    expect_sequence_conflict(cas(&store, &c, 2), "account:9", 2, 3);
    expect_sequence_conflict(cas(&store, &c, 0), "account:9", 0, 3);
    assert_eq!(cas(&store, &c, 3).expect("cas 3").entity_sequence, 4);
    assert_eq!(
        cas(&store, &coord("account:11", "bank"), 0)
            .expect("new")
            .entity_sequence,
        1
    );

    // In a batch, CAS follows the items before it; one failure refuses them all.
    let item = |expected| {
        BatchAppendItem::new(
            c.clone(),
            KIND_A,
            &expected,
            AppendOptions::new().with_cas(expected),
            CausationRef::None,
        )
        .expect("item")
    };
    let written = footprint(&store);
    match store.append_batch(vec![item(4), item(4)]) {
        Err(StoreError::SequenceConflict {
            expected, actual, ..
        }) => assert_eq!((expected, actual), (4, 5)),
        other => panic!("expected a sequence conflict, got {other:?}"),
    }
    assert_eq!(footprint(&store), written);
    let receipts = store
        .append_batch(vec![item(4), item(5)])
        .expect("batch cas");
    assert_eq!(
        receipts
            .iter()
            .map(|r| r.entity_sequence)
            .collect::<Vec<_>>(),
        [5, 6]
    );
}

fn keyed_item(entity: &str, n: u64, key: Option<u128>) -> BatchAppendItem {
    let options = match key {
        Some(k) => AppendOptions::new().with_idempotency(k),
        None => AppendOptions::new(),
    };
    BatchAppendItem::new(
        coord(entity, "s"),
        KIND_B,
        &serde_json::json!({ "n": n }),
        options,
        CausationRef::None,
    )
    .expect("item")
}

#[test]
fn keyed_batches_replay_whole_or_are_refused() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    let batch = |keys: [u128; 3]| {
        vec![
            keyed_item("a", 1, Some(keys[0])),
            keyed_item("b", 2, Some(keys[1])),
            keyed_item("a", 3, Some(keys[2])),
        ]
    };
    let original = store.append_batch(batch([1, 2, 3])).expect("first batch");
    assert_eq!(original.len(), 3);
    let written = footprint(&store);
    assert_eq!(
        store.append_batch(batch([1, 2, 3])).expect("replay"),
        original
    );
    assert_eq!(footprint(&store), written);

    // Mixed keyed and unkeyed items.
    let mixed = vec![keyed_item("a", 1, Some(10)), keyed_item("a", 2, None)];
    match store.append_batch(mixed) {
        Err(StoreError::InvalidBatch { item, reason }) => {
            assert_eq!((item, reason), (1, BatchProblem::MixedIdempotency));
        }
        other => panic!("expected an invalid batch, got {other:?}"),
    }
    // The same key twice in one batch.
    let twice = vec![keyed_item("a", 1, Some(11)), keyed_item("b", 2, Some(11))];
    match store.append_batch(twice) {
        Err(StoreError::InvalidBatch { item, reason }) => {
            assert_eq!((item, reason), (1, BatchProblem::DuplicateKey));
        }
        other => panic!("expected an invalid batch, got {other:?}"),
    }
    // Items 0 and 1 reuse keys with their original content, item 2 is new.
    let partial = vec![
        keyed_item("a", 1, Some(1)),
        keyed_item("b", 2, Some(2)),
        keyed_item("a", 9, Some(12)),
    ];
    match store.append_batch(partial.clone()) {
        Err(StoreError::IdempotencyPartialReplay { item }) => assert_eq!(item, 2),
        other => panic!("expected a partial replay, got {other:?}"),
    }
    // A used key with other content.
    let changed = vec![keyed_item("a", 1, Some(1)), keyed_item("b", 99, Some(2))];
    match store.append_batch(changed.clone()) {
        Err(StoreError::IdempotencyConflict { key }) => assert_eq!(key, 2),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(footprint(&store), written, "refused batches write nothing");
    store.close().expect("close");

    let store = open(config(dir.path()));
    let written = footprint(&store);
    assert_eq!(
        store.append_batch(batch([1, 2, 3])).expect("replay"),
        original
    );
    match store.append_batch(partial) {
        Err(StoreError::IdempotencyPartialReplay { item }) => assert_eq!(item, 2),
        other => panic!("expected a partial replay after reopen, got {other:?}"),
    }
    match store.append_batch(changed) {
        Err(StoreError::IdempotencyConflict { key }) => assert_eq!(key, 2),
        other => panic!("expected a conflict after reopen, got {other:?}"),
    }
    // Each item's key also replays as a single append.
    let single = store
        .append_with_options(
            &coord("b", "s"),
            KIND_B,
            &serde_json::json!({ "n": 2 }),
            AppendOptions::new().with_idempotency(2),
        )
        .expect("single replay");
    assert_eq!(single, original[1]);
    assert_eq!(footprint(&store), written);
    assert_eq!(store.by_fact(KIND_B).len(), 3);
}
