//! Property tests: a projection equals a fold over the entity's stream, for
//! random workloads, across reopen, with and without caches.

use super::*;
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::store::replay::JsonValueInput;
use crate::store::{MemoryCache, NativeCache, StoreConfig};
use std::time::Duration;

const ADD: EventKind = EventKind::custom(0x4, 1);
const MUL: EventKind = EventKind::custom(0x4, 2);
const NOISE: EventKind = EventKind::custom(0x4, 3);

/// An order-sensitive fold: (value * m + a) per event, plus a count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
struct Calc {
    value: i64,
    applied: u64,
    last_sequence: u64,
}

impl EventSourced for Calc {
    type Input = JsonValueInput;

    fn from_events(events: &[Event<serde_json::Value>]) -> Option<Self> {
        let first = events.first()?;
        let mut s = Calc {
            value: 0,
            applied: 0,
            last_sequence: first.header.position.sequence,
        };
        for e in events {
            s.apply_event(e);
        }
        Some(s)
    }

    fn apply_event(&mut self, e: &Event<serde_json::Value>) {
        let n = e.payload["n"].as_i64().unwrap_or(0);
        self.value = match e.kind() {
            ADD => self.value.wrapping_add(n),
            MUL => self.value.wrapping_mul(n % 7 + 1),
            _ => panic!("replay handed a kind the projection did not ask for"),
        };
        self.applied += 1;
        self.last_sequence = e.header.position.sequence;
    }

    fn relevant_event_kinds() -> &'static [EventKind] {
        &[ADD, MUL]
    }

    fn supports_incremental_apply() -> bool {
        true
    }
}

/// A store whose projections use a native cache in `cache_dir`.
fn cached_store(dir: &std::path::Path, cache_dir: &std::path::Path) -> Store {
    Store::open(StoreConfig::new(dir))
        .unwrap()
        .with_projection_cache(Box::new(NativeCache::new(cache_dir).unwrap()))
}

fn fold_by_hand<M>(store: &Store<M>, entity: &str) -> Option<Calc> {
    let events: Vec<_> = store
        .stream(entity)
        .iter()
        .filter(|e| e.kind == ADD || e.kind == MUL)
        .map(|e| store.read_entry::<JsonValueInput>(e).unwrap())
        .collect();
    Calc::from_events(&events)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn projection_equals_a_fold_over_the_stream() {
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = tempfile::tempdir().unwrap();
        let entities = ["a", "b", "c", "d"];
        for phase in 0..3 {
            let config = StoreConfig::new(dir.path()).with_sync_every_n_events(64);
            let mut store = Store::open(config).unwrap();
            if seed.is_multiple_of(2) {
                store = store
                    .with_projection_cache(Box::new(NativeCache::new(cache_dir.path()).unwrap()));
            } else if seed.is_multiple_of(3) {
                // Small enough that the four entities' states push each other out.
                store = store.with_projection_cache(Box::new(MemoryCache::new(300)));
            }
            for _ in 0..(rng.next() % 60) {
                let entity = entities[(rng.next() % 4) as usize];
                let kind = [ADD, MUL, NOISE][(rng.next() % 3) as usize];
                let c = Coordinate::new(entity, "calc").unwrap();
                let n = (rng.next() % 100) as i64 - 50;
                store
                    .append(&c, kind, &serde_json::json!({ "n": n }))
                    .unwrap();
                if rng.next().is_multiple_of(5) {
                    let probe = entities[(rng.next() % 4) as usize];
                    let projected = store
                        .project::<Calc>(probe, &Freshness::Consistent)
                        .unwrap();
                    assert_eq!(
                        projected,
                        fold_by_hand(&store, probe),
                        "seed {seed} phase {phase}"
                    );
                }
            }
            for e in entities {
                let projected = store.project::<Calc>(e, &Freshness::Consistent).unwrap();
                assert_eq!(
                    projected,
                    fold_by_hand(&store, e),
                    "seed {seed} phase {phase} entity {e}"
                );
            }
            store.close().unwrap();
        }
        // After the last reopen, read-only with and without the cache agree.
        let ro = Store::open_read_only(StoreConfig::new(dir.path())).unwrap();
        let cached =
            Store::open_read_only_with_native_cache(StoreConfig::new(dir.path()), cache_dir.path())
                .unwrap();
        for e in entities {
            let full = ro.project::<Calc>(e, &Freshness::Consistent).unwrap();
            assert_eq!(full, fold_by_hand(&ro, e));
            assert_eq!(
                cached.project::<Calc>(e, &Freshness::Consistent).unwrap(),
                full
            );
        }
    }
}

#[test]
fn incremental_projection_after_reopen_equals_full_replay() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let c = Coordinate::new("acc", "calc").unwrap();
    let cache = || Box::new(NativeCache::new(cache_dir.path()).unwrap());
    {
        let store = Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(100))
            .unwrap()
            .with_projection_cache(cache());
        for n in 0..50 {
            store
                .append(
                    &c,
                    if n % 3 == 0 { MUL } else { ADD },
                    &serde_json::json!({ "n": n }),
                )
                .unwrap();
        }
        store
            .project::<Calc>("acc", &Freshness::Consistent)
            .unwrap()
            .unwrap();
        store.close().unwrap();
    }
    let store = Store::open(StoreConfig::new(dir.path()))
        .unwrap()
        .with_projection_cache(cache());
    for n in 0..10 {
        store
            .append(&c, ADD, &serde_json::json!({ "n": n }))
            .unwrap();
    }
    let incremental = store
        .project::<Calc>("acc", &Freshness::Consistent)
        .unwrap();
    let full = fold_by_hand(&store, "acc");
    assert_eq!(incremental, full);
    assert_eq!(incremental.unwrap().applied, 60);
}

#[test]
fn a_corrupt_cache_entry_is_a_miss_and_gets_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let store = cached_store(dir.path(), cache_dir.path());
    let c = Coordinate::new("acc", "calc").unwrap();
    for n in 1..=5 {
        store
            .append(&c, ADD, &serde_json::json!({ "n": n }))
            .unwrap();
    }
    let good = store
        .project::<Calc>("acc", &Freshness::Consistent)
        .unwrap();
    let files: Vec<_> = std::fs::read_dir(cache_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let bytes = std::fs::read(&files[0]).unwrap();
    for damaged in [bytes[..bytes.len() - 3].to_vec(), {
        let mut b = bytes.clone();
        let last = b.len() - 2;
        b[last] ^= 0x11;
        b
    }] {
        std::fs::write(&files[0], damaged).unwrap();
        assert_eq!(
            store
                .project::<Calc>("acc", &Freshness::Consistent)
                .unwrap(),
            good
        );
        assert_eq!(
            std::fs::read(&files[0]).unwrap().len(),
            bytes.len(),
            "entry rewritten"
        );
    }
}

#[test]
fn watch_projection_yields_each_growth() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(StoreConfig::new(dir.path())).unwrap());
    let c = Coordinate::new("acc", "calc").unwrap();
    store
        .append(&c, ADD, &serde_json::json!({ "n": 2 }))
        .unwrap();
    let mut watch = store.watch_projection::<Calc>("acc");
    let (g1, s1) = watch.next_timeout(Duration::from_secs(2)).unwrap().unwrap();
    assert_eq!((g1, s1.unwrap().value), (1, 2));
    assert!(watch
        .next_timeout(Duration::from_millis(20))
        .unwrap()
        .is_none());
    let writer = {
        let store = std::sync::Arc::clone(&store);
        let c = c.clone();
        std::thread::spawn(move || {
            store
                .append(&c, ADD, &serde_json::json!({ "n": 5 }))
                .unwrap()
        })
    };
    let (g2, s2) = watch.next_timeout(Duration::from_secs(2)).unwrap().unwrap();
    writer.join().unwrap();
    assert_eq!((g2, s2.unwrap().value), (2, 7));
}

#[test]
fn maybe_stale_may_answer_from_the_cache_and_consistent_never_does() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let store = cached_store(dir.path(), cache_dir.path());
    let c = Coordinate::new("acc", "calc").unwrap();
    store
        .append(&c, ADD, &serde_json::json!({ "n": 1 }))
        .unwrap();
    let first = store
        .project::<Calc>("acc", &Freshness::Consistent)
        .unwrap()
        .unwrap();
    store
        .append(&c, ADD, &serde_json::json!({ "n": 10 }))
        .unwrap();
    let stale = store
        .project::<Calc>(
            "acc",
            &Freshness::MaybeStale {
                max_stale_ms: 60_000,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        stale, first,
        "a fresh-enough cached state is returned as is"
    );
    let fresh = store
        .project::<Calc>("acc", &Freshness::Consistent)
        .unwrap()
        .unwrap();
    assert_eq!(fresh.value, 11);
    assert_eq!(fresh, fold_by_hand(&store, "acc").unwrap());
}

/// Counts events, but has no state before it saw one with `"open": true`.
#[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
struct OpenedLate {
    events: u64,
}

impl EventSourced for OpenedLate {
    type Input = JsonValueInput;

    fn from_events(events: &[Event<serde_json::Value>]) -> Option<Self> {
        let opened = events.iter().any(|e| e.payload["open"] == true);
        opened.then_some(OpenedLate {
            events: events.len() as u64,
        })
    }

    fn apply_event(&mut self, _e: &Event<serde_json::Value>) {
        self.events += 1;
    }

    fn relevant_event_kinds() -> &'static [EventKind] {
        &[ADD, MUL]
    }

    fn supports_incremental_apply() -> bool {
        true
    }
}

/// A full replay longer than one fold chunk folds its first chunk with
/// `from_events` and applies the rest one by one: the result is the fold of
/// the whole stream, also for a projection whose first chunk gives no state.
#[test]
fn a_replay_longer_than_a_fold_chunk_is_the_whole_fold() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let c = Coordinate::new("long", "calc").unwrap();
    let events = 3 * FOLD_CHUNK + 17;
    // Raw position 2,049 is an ADD, the ~1,366th relevant event: past the
    // first chunk of relevant ones.
    let open_at = 2 * FOLD_CHUNK + 1;
    let items = (0..events)
        .map(|i| {
            let kind = [ADD, MUL, NOISE][i % 3];
            let payload = serde_json::json!({ "n": i as i64 % 23 - 11, "open": i == open_at });
            crate::store::BatchAppendItem::new(
                c.clone(),
                kind,
                &payload,
                crate::store::AppendOptions::new(),
                crate::store::CausationRef::None,
            )
            .unwrap()
        })
        .collect();
    store.append_batch(items).unwrap();
    let projected = store.project::<Calc>("long", &Freshness::Consistent);
    let expected = fold_by_hand(&store, "long");
    assert_eq!(projected.unwrap(), expected);
    assert_eq!(expected.unwrap().applied, (events - events / 3) as u64);
    let late = store.project::<OpenedLate>("long", &Freshness::Consistent);
    let relevant = (0..events).filter(|i| i % 3 != 2).count() as u64;
    assert_eq!(late.unwrap(), Some(OpenedLate { events: relevant }));
}
