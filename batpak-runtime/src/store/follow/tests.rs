//! A read-only store following a writer. Readers take no lock, so the writer
//! can live in this process here; tests/it/readers.rs runs it in another.

use crate::coordinate::{Coordinate, Region};
use crate::event::EventKind;
use crate::store::writer::Command;
use crate::store::{
    AppendOptions, BatchAppendItem, CausationRef, ReadOnly, Store, StoreConfig, StoreError,
};
use std::path::Path;
use std::time::Duration;

const K: EventKind = EventKind::custom(0x7, 1);

fn config(dir: &Path) -> StoreConfig {
    StoreConfig::new(dir)
        .with_segment_max_bytes(4096)
        .with_sync_every_n_events(1)
}

fn coord(entity: &str) -> Coordinate {
    Coordinate::new(entity, "s").unwrap()
}

/// Every visible event's payload, in commit order.
fn payloads<M>(store: &Store<M>) -> Vec<serde_json::Value> {
    store
        .query(&Region::all())
        .iter()
        .map(|e| store.get(e.event_id).unwrap().unwrap().payload)
        .collect()
}

fn batch(entity: &str, values: std::ops::Range<u64>) -> Vec<BatchAppendItem> {
    values
        .map(|i| {
            let options = AppendOptions::new();
            BatchAppendItem::new(coord(entity), K, &i, options, CausationRef::None).unwrap()
        })
        .collect()
}

fn reader(dir: &Path) -> Store<ReadOnly> {
    Store::open_read_only(config(dir)).unwrap()
}

#[test]
fn refresh_publishes_commits_and_never_a_cancelled_fence() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(config(dir.path())).unwrap();
    writer.append(&coord("a"), K, &0).unwrap();
    let reader = reader(dir.path());
    assert_eq!(reader.query(&Region::all()).len(), 1);
    assert_eq!(reader.refresh().unwrap(), 0);

    writer.append(&coord("a"), K, &1).unwrap();
    writer.append_batch(batch("b", 2..5)).unwrap();
    assert_eq!(reader.refresh().unwrap(), 4);

    let fence = writer.begin_visibility_fence().unwrap();
    let ticket = fence.submit(&coord("f"), K, &5).unwrap();
    let _ = fence.submit_batch(batch("f", 6..8)).unwrap();
    writer.sync().unwrap();
    assert_eq!(
        reader.refresh().unwrap(),
        0,
        "a live fence's writes are hidden"
    );
    fence.commit().unwrap();
    ticket.wait_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(reader.refresh().unwrap(), 3);

    let fence = writer.begin_visibility_fence().unwrap();
    let _ = fence.submit(&coord("x"), K, &"cancelled").unwrap();
    writer.sync().unwrap();
    fence.cancel().unwrap();
    writer.append(&coord("a"), K, &8).unwrap();
    assert_eq!(reader.refresh().unwrap(), 1);
    assert!(reader.stream("x").is_empty());
    assert_eq!(payloads(&reader), payloads(&writer));
    assert_eq!(reader.frontier().visible, writer.frontier().visible);
}

#[test]
fn a_fence_open_at_the_open_is_published_when_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(config(dir.path())).unwrap();
    writer.append(&coord("a"), K, &0).unwrap();
    let fence = writer.begin_visibility_fence().unwrap();
    let _ = fence.submit(&coord("f"), K, &1).unwrap();
    writer.sync().unwrap();
    let reader = reader(dir.path());
    assert_eq!(reader.query(&Region::all()).len(), 1);
    fence.commit().unwrap();
    assert_eq!(reader.refresh().unwrap(), 1);
    assert_eq!(payloads(&reader), payloads(&writer));
}

/// A writer that dies inside a fence leaves it open; the next writer seals it
/// with a cancel marker, which a reader applies.
#[test]
fn a_fence_a_restart_seals_stays_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(config(dir.path())).unwrap();
    writer.append(&coord("a"), K, &0).unwrap();
    let fence = writer.begin_visibility_fence().unwrap();
    let _ = fence.submit(&coord("f"), K, &"lost").unwrap();
    writer.sync().unwrap();
    let reader = reader(dir.path());
    writer.send(Command::Crash).unwrap();
    drop(fence);
    drop(writer);
    let writer = Store::open(config(dir.path())).unwrap();
    writer.append(&coord("a"), K, &1).unwrap();
    assert_eq!(reader.refresh().unwrap(), 1);
    assert!(reader.stream("f").is_empty());
    assert_eq!(payloads(&reader), payloads(&writer));
}

/// Rotation is followed into each next segment; compaction moves frames the
/// reader's index points at, and reads find them again.
#[test]
fn rotation_and_compaction_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(config(dir.path())).unwrap();
    let reader = reader(dir.path());
    let pad = "p".repeat(300);
    for round in 0..20u64 {
        let fence = writer.begin_visibility_fence().unwrap();
        let _ = fence.submit(&coord("x"), K, &pad).unwrap();
        writer.sync().unwrap();
        fence.cancel().unwrap();
        for i in 0..4 {
            writer
                .append(
                    &coord("a"),
                    K,
                    &serde_json::json!({ "round": round, "i": i }),
                )
                .unwrap();
        }
        reader.refresh().unwrap();
    }
    let report = writer.compact().unwrap();
    assert!(report.segments_rewritten > 1, "{report:?}");
    writer.append(&coord("a"), K, &"last").unwrap();
    assert_eq!(reader.refresh().unwrap(), 1);
    assert_eq!(payloads(&reader), payloads(&writer));
    let newest = crate::store::log::segment::list_segments(dir.path())
        .unwrap()
        .pop();
    let at = reader.diagnostics().follow_position.map(|p| p.segment);
    assert_eq!(at, newest);
}

/// With a sync every n events, a reader sees what the writer synced.
#[test]
fn a_reader_sees_what_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(config(dir.path()).with_sync_every_n_events(100)).unwrap();
    writer.append(&coord("a"), K, &0).unwrap();
    writer.sync().unwrap();
    let reader = reader(dir.path());
    for i in 1..4 {
        writer.append(&coord("a"), K, &i).unwrap();
    }
    assert_eq!(reader.refresh().unwrap(), 0);
    writer.sync().unwrap();
    assert_eq!(reader.refresh().unwrap(), 3);
}

/// The background thread feeds cursors and subscriptions.
#[test]
fn a_following_store_wakes_cursors_and_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(config(dir.path())).unwrap();
    let cfg = config(dir.path()).with_follow_interval(Duration::from_millis(2));
    let reader = Store::open_read_only(cfg).unwrap();
    let subscription = reader.subscribe_lossy(&Region::all());
    let mut cursor = reader.cursor_guaranteed(&Region::all());
    for i in 0..20 {
        writer.append(&coord("a"), K, &i).unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 20 {
        let batch = cursor.poll_wait(64, Duration::from_secs(5));
        assert!(!batch.is_empty(), "the follower stalled at {}", seen.len());
        seen.extend(batch.into_iter().map(|e| e.sequence));
    }
    assert_eq!(seen, (1..=20).collect::<Vec<_>>());
    let notified = (0..20)
        .filter_map(|_| subscription.recv_timeout(Duration::from_secs(5)))
        .count();
    assert_eq!(notified, 20);
    assert_eq!(reader.diagnostics().follow_error, None);
    reader.close().unwrap();
}

/// A second writer is still refused while a reader follows.
#[test]
fn a_second_writer_is_still_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(config(dir.path())).unwrap();
    let _reader = reader(dir.path());
    assert!(matches!(
        Store::open(config(dir.path())),
        Err(StoreError::StoreLocked { .. })
    ));
    writer.close().unwrap();
}

/// A reader loaded from the index snapshot follows on after the segments it
/// lists, with the names the active segment already defines.
#[test]
fn a_reader_opened_from_the_snapshot_follows() {
    let dir = tempfile::tempdir().unwrap();
    let mapped = config(dir.path()).with_enable_mmap_index(true);
    let writer = Store::open(mapped.clone()).unwrap();
    for i in 0..30 {
        writer
            .append(&coord(&format!("e{}", i % 4)), K, &i)
            .unwrap();
    }
    writer.close().unwrap();
    let reader = Store::open_read_only(mapped.clone()).unwrap();
    assert!(reader.diagnostics().recovery.from_snapshot);
    let writer = Store::open(mapped).unwrap();
    for i in 30..60 {
        writer
            .append(&coord(&format!("e{}", i % 6)), K, &i)
            .unwrap();
    }
    assert_eq!(reader.refresh().unwrap(), 30);
    assert_eq!(payloads(&reader), payloads(&writer));
}

/// A log cut below what a reader applied (only damage or a salvage does
/// that) is a typed error from refresh and from reads, never a crash.
#[test]
fn a_log_cut_under_a_reader_is_a_typed_error() {
    use crate::store::{CorruptionKind, LogPosition};
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(config(dir.path())).unwrap();
    for i in 0..5 {
        writer.append(&coord("a"), K, &i).unwrap();
    }
    writer.close().unwrap();
    let reader = reader(dir.path());
    let entries = reader.query(&Region::all());
    let last = entries.last().unwrap().frame;
    let path = crate::store::log::segment::segment_path(dir.path(), last.segment);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(last.offset).unwrap();
    let cut = LogPosition {
        segment: last.segment,
        offset: last.offset,
    };
    match reader.refresh() {
        Err(StoreError::Corrupt {
            at,
            kind: CorruptionKind::SegmentLength { actual, .. },
        }) => assert_eq!((at, actual), (cut, last.offset)),
        other => panic!("expected a cut segment, got {other:?}"),
    }
    assert!(matches!(
        reader.get(entries.last().unwrap().event_id),
        Err(StoreError::Corrupt { at, .. }) if at == cut
    ));
    assert!(reader.get(entries[0].event_id).unwrap().is_some());
}
