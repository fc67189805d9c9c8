//! Read-only opens serve every read and never write a byte into the data
//! directory, not even to repair a torn tail.

use crate::support::{
    config, coord, durable_mark, file_len, frame_extent, listing, newest_segment, open, payload,
    restore_durable_mark, set_durable_mark, store_gate, tempdir, Tally, KIND_A, KIND_B,
};
use batpak::coordinate::Region;
use batpak::event::EventId;
use batpak::store::{
    AppendOptions, BatchAppendItem, CausationRef, Freshness, LogPosition, Store, StoreError,
};
use std::path::Path;

/// Writes a few entities and kinds; returns every receipt's event id and body.
fn fill(dir: &Path) -> Vec<(EventId, serde_json::Value)> {
    let store = open(config(dir));
    let mut out = Vec::new();
    for i in 0..20i64 {
        let entity = ["p:1", "p:2", "q:1"][(i % 3) as usize];
        let kind = if i % 4 == 0 { KIND_B } else { KIND_A };
        let body = serde_json::json!({ "n": i });
        let r = store
            .append(&coord(entity, "s"), kind, &body)
            .expect("append");
        out.push((r.event_id, body));
    }
    store.close().expect("close");
    out
}

#[test]
fn read_only_serves_reads_and_writes_nothing() {
    let _gate = store_gate();
    let dir = tempdir();
    let written = fill(dir.path());
    let writer_view = {
        let store = open(config(dir.path()));
        let all = store.query(&Region::all());
        let tally: Option<Tally> = store
            .project("p:1", &Freshness::Consistent)
            .expect("project");
        store.close().expect("close");
        (all, tally)
    };
    let before = listing(dir.path());

    let store = Store::open_read_only(config(dir.path())).expect("read-only open");
    for (id, body) in &written {
        assert_eq!(&payload(&store, *id), body);
    }
    assert_eq!(store.query(&Region::all()), writer_view.0);
    assert_eq!(store.stream("p:1").len(), 7);
    assert_eq!(store.by_fact(KIND_B).len(), 5);
    assert_eq!(store.query(&Region::entity_prefix("p:")).len(), 14);
    let tally: Option<Tally> = store
        .project("p:1", &Freshness::Consistent)
        .expect("project");
    assert_eq!(tally, writer_view.1);
    let expected = Tally {
        count: 5,
        sum: 3 + 6 + 9 + 15 + 18,
    };
    assert_eq!(tally, Some(expected));
    let changed = store
        .project_if_changed::<Tally>("p:1", 0, &Freshness::Consistent)
        .expect("project_if_changed");
    assert_eq!(changed.map(|c| c.0), store.entity_generation("p:1"));
    assert!(store.verify().expect("verify").is_clean());
    assert_eq!(store.stats().expect("stats").events, 20);
    assert_eq!(store.diagnostics().recovery.torn_tail_ignored, None);
    drop(store);

    let cache = tempdir();
    let cached = Store::open_read_only_with_native_cache(config(dir.path()), cache.path())
        .expect("read-only open with a cache");
    for _ in 0..2 {
        let t: Option<Tally> = cached
            .project("p:1", &Freshness::Consistent)
            .expect("project");
        assert_eq!(t, writer_view.1);
    }
    drop(cached);
    assert_eq!(
        listing(dir.path()),
        before,
        "a read-only open wrote into the data dir"
    );
}

#[test]
fn read_only_leaves_a_torn_tail_alone() {
    let _gate = store_gate();
    let dir = tempdir();
    let written = fill(dir.path());
    let (segment, path) = newest_segment(dir.path());
    let bytes = std::fs::read(&path).expect("read segment");
    let store = Store::open_read_only(config(dir.path())).expect("read-only open");
    let last = store.query(&Region::all()).pop().expect("events").frame;
    drop(store);
    let start = last.offset as usize;
    assert_eq!(start + frame_extent(&bytes[start..]), bytes.len());
    std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("tear the tail");
    // The tail a crash tears was never synced: the last mark lies before it.
    set_durable_mark(dir.path(), segment, last.offset);
    let before = listing(dir.path());

    let store = Store::open_read_only(config(dir.path())).expect("read-only open");
    let torn = LogPosition {
        segment,
        offset: last.offset,
    };
    assert_eq!(store.diagnostics().recovery.torn_tail_ignored, Some(torn));
    assert_eq!(store.diagnostics().recovery.truncated_tail, None);
    assert_eq!(store.query(&Region::all()).len(), written.len() - 1);
    assert!(store
        .get(written[written.len() - 1].0)
        .expect("get")
        .is_none());
    assert_eq!(payload(&store, written[0].0), written[0].1);
    let report = store.verify().expect("verify");
    assert_eq!(report.torn_tail, Some(torn));
    let pending = report.pending_cut.as_ref().expect("the cut to come");
    assert_eq!(
        (pending.at, pending.bytes),
        (torn, bytes.len() as u64 - 3 - last.offset)
    );
    assert!(!report.is_clean(), "a torn tail is reported, not clean");
    drop(store);
    assert_eq!(
        listing(dir.path()),
        before,
        "a read-only open repaired the tail"
    );

    // A read-write open is what repairs it.
    let store = open(config(dir.path()));
    assert_eq!(
        store.diagnostics().recovery.truncated_tail.map(|t| t.at),
        Some(torn)
    );
    assert_eq!(file_len(&path), last.offset);
}

#[test]
fn read_only_leaves_an_unfinished_batch_alone() {
    let _gate = store_gate();
    let dir = tempdir();
    let written = fill(dir.path());
    let (segment, path) = newest_segment(dir.path());
    let start = file_len(&path);
    let mark = durable_mark(dir.path());
    let store = open(config(dir.path()));
    let items = (0..3)
        .map(|i| {
            BatchAppendItem::new(
                coord("p:1", "s"),
                KIND_A,
                &serde_json::json!({ "n": 100 + i }),
                AppendOptions::new(),
                CausationRef::None,
            )
            .expect("item")
        })
        .collect();
    store.append_batch(items).expect("batch");
    store.close().expect("close");
    let bytes = std::fs::read(&path).expect("read segment");
    std::fs::write(&path, &bytes[..bytes.len() - 1]).expect("cut the commit marker");
    restore_durable_mark(dir.path(), &mark);
    let before = listing(dir.path());

    let store = Store::open_read_only(config(dir.path())).expect("read-only open");
    let ignored = store.diagnostics().recovery.torn_tail_ignored;
    assert_eq!(store.query(&Region::all()).len(), written.len());
    assert_eq!(store.stream("p:1").len(), 7);
    drop(store);
    assert_eq!(listing(dir.path()), before);

    // The read-only report names the same position a read-write open cuts at:
    // the start of the unfinished batch.
    let batch_start = LogPosition {
        segment,
        offset: start,
    };
    let store = open(config(dir.path()));
    let cut = store.diagnostics().recovery.truncated_tail.map(|t| t.at);
    assert_eq!(cut, Some(batch_start));
    assert_eq!(file_len(&path), start);
    assert_eq!(
        ignored, cut,
        "read-only reports another tail than read-write cuts"
    );
}

#[test]
fn read_only_open_beside_a_writer_takes_no_lock_and_writes_nothing() {
    let _gate = store_gate();
    let dir = tempdir();
    fill(dir.path());
    let store = open(config(dir.path()));
    let before = listing(dir.path());
    let reader = Store::open_read_only(config(dir.path())).expect("read-only beside the writer");
    assert_eq!(reader.query(&Region::all()).len(), 20);
    assert_eq!(reader.refresh().expect("refresh"), 0);
    drop(reader);
    assert_eq!(
        listing(dir.path()),
        before,
        "a reader wrote into the data dir"
    );
    match Store::open(config(dir.path())) {
        Err(StoreError::StoreLocked { data_dir }) => assert_eq!(data_dir, dir.path()),
        other => panic!("a second writer: expected StoreLocked, got {other:?}"),
    }
    store.close().expect("close");
}
