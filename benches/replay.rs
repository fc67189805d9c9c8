//! `cargo bench --bench replay`: projection replay speed. One entity holds
//! 100,000 events among 1,000,000; we time a full `project` on the JSON lane and
//! on the raw-bytes lane, then an incremental `project` (cached state) after 10
//! new events, and compare it with the full raw replay. Then the partial-read,
//! count and bytes-lane figures of `cargo bench --bench reads` (issue 13 names
//! them under this bench), on stores of their own.

#[path = "common/mod.rs"]
mod common;

use batpak::event::{Event, EventKind, EventSourced, JsonValueInput, RawBytesInput};
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef, Freshness, NativeCache};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

const HOT: EventKind = EventKind::custom(0x2, 1);
const OTHER: EventKind = EventKind::custom(0x2, 2);

#[derive(Debug, Default, Serialize, Deserialize)]
struct JsonSum {
    sum: i64,
    events: u64,
}

impl EventSourced for JsonSum {
    type Input = JsonValueInput;
    fn from_events(events: &[Event<serde_json::Value>]) -> Option<Self> {
        let mut s = Self::default();
        events.iter().for_each(|e| s.apply_event(e));
        (!events.is_empty()).then_some(s)
    }
    fn apply_event(&mut self, e: &Event<serde_json::Value>) {
        self.sum += e.payload["amount"].as_i64().unwrap_or(0);
        self.events += 1;
    }
    fn relevant_event_kinds() -> &'static [EventKind] {
        &[HOT]
    }
    fn supports_incremental_apply() -> bool {
        true
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RawCount {
    bytes: u64,
    events: u64,
}

impl EventSourced for RawCount {
    type Input = RawBytesInput;
    fn from_events(events: &[Event<Vec<u8>>]) -> Option<Self> {
        let mut s = Self::default();
        events.iter().for_each(|e| s.apply_event(e));
        (!events.is_empty()).then_some(s)
    }
    fn apply_event(&mut self, e: &Event<Vec<u8>>) {
        self.bytes += e.payload.len() as u64;
        self.events += 1;
    }
    fn relevant_event_kinds() -> &'static [EventKind] {
        &[HOT]
    }
    fn supports_incremental_apply() -> bool {
        true
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Query latency on the same 1M-event store: index-only answers (entries
/// without payloads), the median of 21 calls each.
fn query_latencies(store: &Store) {
    let time = |name: &str, expect: usize, f: &dyn Fn() -> usize| {
        let mut runs: Vec<Duration> = (0..21)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(f(), expect, "{name}");
                t.elapsed()
            })
            .collect();
        runs.sort();
        let d = runs[runs.len() / 2];
        println!(
            "query {name}: {d:?} for {expect} entries ({:.0} ns/entry)",
            d.as_secs_f64() * 1e9 / expect as f64
        );
    };
    let one = store.stream("account:7");
    time("stream(one entity)", one.len(), &|| {
        store.stream("account:7").len()
    });
    let id = one[one.len() / 2].event_id;
    time("get(one id, JSON payload)", 1, &|| {
        usize::from(store.get(id).expect("get").is_some())
    });
    time("by_fact(kind with 100,000 events)", 100_000, &|| {
        store.by_fact(HOT).len()
    });
    let prefix = Region::entity_prefix("account:99");
    let expect = store.query(&prefix).len();
    time("query(entity prefix account:99)", expect, &|| {
        store.query(&prefix).len()
    });
}

/// Median of 3 uncached full replays of the hot entity with projection `T`.
fn full_replay<T>(store: &Store, events: impl Fn(&T) -> u64) -> Duration
where
    T: EventSourced + Serialize + for<'de> Deserialize<'de>,
{
    median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let s: T = store
                    .project("account:hot", &Freshness::Consistent)
                    .expect("project")
                    .expect("state");
                assert_eq!(events(&s), 100_000);
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache_dir = tempfile::tempdir().expect("cache dir");
    let config = StoreConfig::new(dir.path()).with_sync_every_n_events(1_000_000);
    let store = Store::open(config).expect("open");
    let hot = Coordinate::new("account:hot", "bench").expect("coordinate");
    let others: Vec<Coordinate> = (0..1000)
        .map(|i| Coordinate::new(format!("account:{i}"), "bench").expect("coordinate"))
        .collect();
    let start = Instant::now();
    for chunk in 0..1000u64 {
        let items = (0..1000u64)
            .map(|i| {
                let n = chunk * 1000 + i;
                let (c, kind) = if n % 10 == 0 { (&hot, HOT) } else { (&others[(n % 1000) as usize], OTHER) };
                let payload = serde_json::json!({ "amount": n as i64 % 1000 - 500, "memo": "replay bench payload" });
                BatchAppendItem::new(c.clone(), kind, &payload, AppendOptions::new(), CausationRef::None)
                    .expect("item")
            })
            .collect();
        store.append_batch(items).expect("batch");
    }
    println!("== batpak bench `replay` ==");
    println!(
        "wrote 1,000,000 events (100,000 on the hot entity) in {:?}",
        start.elapsed()
    );

    let full_json = full_replay(&store, |s: &JsonSum| s.events);
    let full_raw = full_replay(&store, |s: &RawCount| s.events);
    query_latencies(&store);
    let store =
        store.with_projection_cache(Box::new(NativeCache::new(cache_dir.path()).expect("cache")));
    let _: RawCount = store
        .project("account:hot", &Freshness::Consistent)
        .expect("prime")
        .expect("state");
    let mut incremental = Vec::new();
    for round in 0..5 {
        for i in 0..10 {
            store
                .append(
                    &hot,
                    HOT,
                    &serde_json::json!({ "amount": i, "memo": "late" }),
                )
                .expect("append");
        }
        let t = Instant::now();
        let s: RawCount = store
            .project("account:hot", &Freshness::Consistent)
            .expect("project")
            .expect("state");
        incremental.push(t.elapsed());
        assert_eq!(s.events, 100_000 + 10 * (round + 1));
    }
    let incremental = median(incremental);
    let rate = |d: Duration| 100_000.0 / d.as_secs_f64();
    println!(
        "full replay, JSON lane: {:?} ({:.0} events/s)",
        full_json,
        rate(full_json)
    );
    println!(
        "full replay, raw lane:  {:?} ({:.0} events/s)",
        full_raw,
        rate(full_raw)
    );
    println!("incremental after 10 new events (native cache): {incremental:?}");
    println!("-- summary --");
    println!(
        "raw_lane_replay: {:.0} events/s ({:.2}x of target >= 2000000 events/s)",
        rate(full_raw),
        rate(full_raw) / 2e6
    );
    println!("json_lane_replay: {:.0} events/s", rate(full_json));
    let pct = incremental.as_secs_f64() / full_raw.as_secs_f64() * 100.0;
    println!("incremental_vs_full: {pct:.3} % of the full raw replay (target < 1 %)");
    store.close().expect("close");
    drop(dir);
    common::reads::run();
}
