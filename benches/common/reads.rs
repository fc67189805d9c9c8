//! Partial reads and counts (issue 13), printed by `cargo bench --bench reads`
//! and at the end of `cargo bench --bench replay`.
//!
//! - The last 100 events of a 1,000,000-event entity and of a 1,000-event
//!   entity (`stream_range`, newest first): the cost should follow what is
//!   returned, not the stream's length.
//! - `count` of one kind over 1,000,000 events, beside the list it replaces
//!   (`by_fact(kind).len()`).
//! - Disk bytes per event of the opaque-bytes lane and of the JSON lane for
//!   the same payloads, beside a plain file of length-prefixed payloads.

use super::{coordinates, payload, print_header, segment_bytes, temp_dir, Summary, KIND};
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef, StreamRange};
use std::time::{Duration, Instant};

const EVENTS: u64 = 1_000_000;
const BATCH: u64 = 1_000;
const OTHER: EventKind = EventKind::custom(0x1, 2);

/// The median of `runs` timings of `f`.
fn median_time(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Writes `EVENTS` events to `big` (every tenth of kind `OTHER`) and 1,000
/// to `small`, in batches; returns the store.
fn long_streams(dir: &std::path::Path) -> Store {
    let store =
        Store::open(StoreConfig::new(dir).with_sync_every_n_events(1_000_000)).expect("open");
    let big = Coordinate::new("big", "bench").expect("coordinate");
    let small = Coordinate::new("small", "bench").expect("coordinate");
    for chunk in 0..EVENTS / BATCH {
        let items = (0..BATCH)
            .map(|i| {
                let n = chunk * BATCH + i;
                let kind = if n.is_multiple_of(10) { OTHER } else { KIND };
                let opts = AppendOptions::new();
                BatchAppendItem::new(big.clone(), kind, &payload(n), opts, CausationRef::None)
                    .expect("item")
            })
            .collect();
        store.append_batch(items).expect("batch");
    }
    for n in 0..1_000 {
        store.append(&small, KIND, &payload(n)).expect("append");
    }
    store
}

/// Bytes per event on disk for `EVENTS / 10` events written by `item`, in
/// batches, over 1,000 entities.
fn disk_per_event(item: impl Fn(Coordinate, u64) -> BatchAppendItem) -> f64 {
    let dir = temp_dir();
    let store = Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(1_000_000))
        .expect("open");
    let coords = coordinates(1_000);
    let events = EVENTS / 10;
    for chunk in 0..events / BATCH {
        let items = (0..BATCH)
            .map(|i| {
                let n = chunk * BATCH + i;
                item(coords[(n % 1_000) as usize].clone(), n)
            })
            .collect();
        store.append_batch(items).expect("batch");
    }
    store.close().expect("close");
    segment_bytes(dir.path()) as f64 / events as f64
}

/// Writes the stores, measures and prints the figures and their summary.
pub fn run() {
    print_header("reads", "medians of 101 calls (counts: 21)");
    let mut summary = Summary::default();
    let dir = temp_dir();
    let started = Instant::now();
    let store = long_streams(dir.path());
    println!("wrote {EVENTS} + 1000 events in {:?}", started.elapsed());

    let last = StreamRange::all().backwards().limit(100);
    let big = median_time(101, || {
        assert_eq!(store.stream_range("big", last).len(), 100)
    });
    let small = median_time(101, || {
        assert_eq!(store.stream_range("small", last).len(), 100)
    });
    let iter = median_time(101, || {
        assert_eq!(store.stream_iter("big", last).count(), 100)
    });
    summary.figure(
        "last 100 of a 1,000,000-event entity (us)",
        big.as_secs_f64() * 1e6,
        "us",
    );
    summary.figure(
        "last 100 of a 1,000-event entity (us)",
        small.as_secs_f64() * 1e6,
        "us",
    );
    summary.figure(
        "last 100 via stream_iter, 1,000,000-event entity (us)",
        iter.as_secs_f64() * 1e6,
        "us",
    );
    summary.at_most(
        "last-100 ratio, long / short stream",
        big.as_secs_f64() / small.as_secs_f64(),
        "x",
        1.5,
    );

    let region = Region::all().with_kind(OTHER);
    let expected = EVENTS / 10;
    let count = median_time(21, || assert_eq!(store.count(&region), expected));
    let listed = median_time(5, || {
        assert_eq!(store.by_fact(OTHER).len() as u64, expected)
    });
    summary.at_most(
        "count(kind) over 1,000,000 events",
        count.as_secs_f64() * 1e6,
        "us",
        1000.0,
    );
    summary.figure(
        "by_fact(kind).len(), the list it replaces",
        listed.as_secs_f64() * 1e3,
        "ms",
    );
    drop(store);

    // The same payload bytes on three lanes: the JSON encoding of the
    // bench payload, stored as opaque bytes, as JSON, and in a plain file
    // as a 4-byte length and the bytes.
    let body = |n: u64| serde_json::to_vec(&payload(n)).expect("encode");
    let floor = (0..EVENTS / 10)
        .map(|n| 4 + body(n).len() as u64)
        .sum::<u64>() as f64
        / (EVENTS / 10) as f64;
    let bytes_lane = disk_per_event(|c, n| {
        BatchAppendItem::bytes(c, KIND, body(n), AppendOptions::new()).expect("item")
    });
    let json_lane = disk_per_event(|c, n| {
        BatchAppendItem::new(
            c,
            KIND,
            &payload(n),
            AppendOptions::new(),
            CausationRef::None,
        )
        .expect("item")
    });
    summary.figure("plain file floor, bytes per event", floor, "B");
    summary.figure("JSON lane, bytes per event", json_lane, "B");
    summary.at_most("bytes lane / floor", bytes_lane / floor, "x", 1.3);
    summary.figure("JSON lane / floor", json_lane / floor, "x");
    summary.print();
}
