//! Recovery: a writer process killed with SIGKILL at random points loses no
//! acknowledged append, and a clean close followed by reopen changes no read.

use crate::support::{
    child_args, config, coord, crash_round, open, payload, say, spawn_gate, store_gate, tempdir,
    verify_intact, KillPoint, Rng, KIND_A, KIND_B, KIND_C,
};
use batpak::coordinate::Region;
use batpak::event::EventId;
use batpak::event::EventKind;
use batpak::store::index::IndexEntry;
use batpak::store::{
    AppendOptions, BatchAppendItem, CausationRef, IndexTopology, Store, StoreConfig,
};
use std::collections::HashMap;
use std::path::Path;

const CRASH_ROUNDS: u64 = 20;
const CRASH_ENTITIES: [&str; 4] = ["acct-0", "acct-1", "acct-2", "acct-3"];
const CRASH_TEST: &str = "recovery::acknowledged_appends_survive_sigkill";

fn crash_config(dir: &Path) -> StoreConfig {
    // Small segments so the crash rounds also cross rotations, and the index
    // snapshot so a clean close followed by a crash exercises its staleness check.
    config(dir)
        .with_segment_max_bytes(64 << 10)
        .with_enable_mmap_index(true)
}

/// The child: appends forever, printing one line per acknowledged receipt.
fn append_forever(dir: &Path, seed: u64) {
    // Odd rounds append through a shared map (docs/format.md, "Reserved
    // space"), which needs a sync cadence above one event: a kill then
    // leaves zeros reserved past the frames. A killed process loses nothing
    // its page cache holds, so every acknowledged append survives either way.
    let config = match seed % 2 {
        1 => crash_config(dir).with_sync_every_n_events(8),
        _ => crash_config(dir).with_mapped_appends(false),
    };
    let store = open(config);
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA11CE);
    for i in 0u64.. {
        let entity = CRASH_ENTITIES[rng.below(CRASH_ENTITIES.len() as u64) as usize];
        let pad = match rng.below(10) {
            // Larger than a page, so a kill can land inside a multi-page write.
            0 => rng.range(5_000, 30_000),
            1..=3 => 0,
            _ => rng.below(3_000),
        };
        let body = serde_json::json!({ "round": seed, "i": i, "pad": "x".repeat(pad as usize) });
        let receipt = store
            .append(&coord(entity, "crash"), KIND_A, &body)
            .expect("child append");
        let line = format!(
            "ack {} {} {} {}",
            receipt.sequence, receipt.event_id, entity, body
        );
        if !say(&line) {
            return;
        }
    }
}

#[derive(Debug, Clone)]
struct Known {
    entity: String,
    sequence: u64,
    body: serde_json::Value,
}

fn parse_ack(line: &str) -> Option<(EventId, Known)> {
    let rest = line.strip_prefix("ack ")?;
    let mut parts = rest.splitn(4, ' ');
    let sequence = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    let entity = parts.next()?.to_owned();
    let body = serde_json::from_str(parts.next()?).ok()?;
    Some((
        id,
        Known {
            entity,
            sequence,
            body,
        },
    ))
}

/// Checks one reopened store against everything acknowledged so far; returns how
/// many visible events were not known (written but never acknowledged).
fn check_reopened(store: &Store, known: &mut HashMap<EventId, Known>, round: u64) -> usize {
    for (id, k) in known.iter() {
        let event = store
            .get(*id)
            .unwrap_or_else(|e| panic!("round {round}: get {id:#x}: {e:?}"))
            .unwrap_or_else(|| panic!("round {round}: acknowledged event {id:#x} lost"));
        assert_eq!(event.payload, k.body, "round {round}: payload of {id:#x}");
        assert_eq!(event.coordinate.entity(), k.entity, "round {round}");
        assert_eq!(event.header.position.sequence, k.sequence, "round {round}");
    }
    let mut unknown = 0;
    for entry in store.query(&Region::all()) {
        if let std::collections::hash_map::Entry::Vacant(slot) = known.entry(entry.event_id) {
            unknown += 1;
            slot.insert(Known {
                entity: entry.coordinate.entity().to_owned(),
                sequence: entry.sequence,
                body: payload(store, entry.event_id),
            });
        }
    }
    for entity in CRASH_ENTITIES {
        let stream = store.stream(entity);
        for (i, entry) in stream.iter().enumerate() {
            assert_eq!(entry.entity_sequence, i as u64 + 1, "round {round}: gap");
        }
        assert!(stream.windows(2).all(|w| w[0].sequence < w[1].sequence));
    }
    assert_eq!(
        store.query(&Region::all()).len(),
        known.len(),
        "round {round}"
    );
    // A kill inside a write leaves a torn tail the open cut and kept in the
    // quarantine (so `is_clean` is false until it is reviewed); nothing else
    // may be wrong.
    verify_intact(store);
    unknown
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    if let Some((dir, seed)) = child_args() {
        return append_forever(&dir, seed);
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    let mut rng = Rng::new(0x5EED_0001);
    let mut known: HashMap<EventId, Known> = HashMap::new();
    let mut acknowledged = 0;
    for round in 0..CRASH_ROUNDS {
        let kill = KillPoint::random(&mut rng, 40);
        let lines = crash_round(CRASH_TEST, dir.path(), round, kill, |l| {
            l.starts_with("ack ")
        });
        for line in &lines {
            let (id, k) =
                parse_ack(line).unwrap_or_else(|| panic!("unparsable child line {line:?}"));
            assert!(known.insert(id, k).is_none(), "event id {id:#x} reused");
            acknowledged += 1;
        }
        assert!(lines.len() >= kill.lines);

        let store = open(crash_config(dir.path()));
        let unknown = check_reopened(&store, &mut known, round);
        // The child appends one event at a time: at most one was written but
        // not acknowledged when it died.
        assert!(
            unknown <= 1,
            "round {round}: {unknown} unacknowledged events"
        );

        let entity = CRASH_ENTITIES[(round % 4) as usize];
        let before = store.stream(entity).len() as u64;
        let body = serde_json::json!({ "parent": round });
        let receipt = store
            .append(&coord(entity, "crash"), KIND_A, &body)
            .expect("append after recovery");
        assert_eq!(receipt.entity_sequence, before + 1);
        assert_eq!(payload(&store, receipt.event_id), body);
        known.insert(
            receipt.event_id,
            Known {
                entity: entity.to_owned(),
                sequence: receipt.sequence,
                body,
            },
        );
        store.close().expect("close after recovery");
    }
    assert!(acknowledged >= CRASH_ROUNDS as usize);
    let store = Store::open_read_only(crash_config(dir.path())).expect("read-only reopen");
    assert_eq!(store.query(&Region::all()).len(), known.len());
}

/// Everything a reader can see of the store built by [`fill`].
#[derive(Debug, PartialEq)]
struct Observed {
    all: Vec<IndexEntry>,
    streams: Vec<Vec<IndexEntry>>,
    by_fact: Vec<Vec<IndexEntry>>,
    by_scope: Vec<Vec<IndexEntry>>,
    regions: Vec<Vec<IndexEntry>>,
    correlated: Vec<IndexEntry>,
    payloads: Vec<serde_json::Value>,
    generations: Vec<Option<u64>>,
    events: u64,
}

const ENTITIES: [&str; 4] = ["player:1", "player:2", "guild:1", "fenced:1"];
const KINDS: [EventKind; 3] = [KIND_A, KIND_B, KIND_C];
const SCOPES: [&str; 2] = ["world", "lobby"];

/// The one scope each entity lives in (the store refuses a second one).
fn scope_of(entity: &str) -> &'static str {
    if entity == "guild:1" {
        "lobby"
    } else {
        "world"
    }
}

fn observe<M>(store: &Store<M>, root: EventId) -> Observed {
    let all = store.query(&Region::all());
    Observed {
        payloads: all.iter().map(|e| payload(store, e.event_id)).collect(),
        streams: ENTITIES.iter().map(|e| store.stream(e)).collect(),
        by_fact: KINDS.iter().map(|k| store.by_fact(*k)).collect(),
        by_scope: SCOPES.iter().map(|s| store.by_scope(s)).collect(),
        regions: vec![
            store.query(&Region::entity_prefix("player:")),
            store.query(&Region::scope("world").with_kind(KIND_B)),
            store.query(&Region::all().with_category(0x2)),
        ],
        correlated: store.correlated(root),
        generations: ENTITIES
            .iter()
            .map(|e| store.entity_generation(e))
            .collect(),
        events: store.stats().expect("stats").events,
        all,
    }
}

/// Writes a mix of plain, keyed, batched, reacting and fenced events; returns
/// the root of the causal tree it builds.
fn fill(store: &Store) -> EventId {
    for i in 0..30u64 {
        let entity = ENTITIES[(i % 3) as usize];
        let scope = scope_of(entity);
        let kind = KINDS[(i % 3) as usize];
        let options = if i % 5 == 0 {
            AppendOptions::new().with_idempotency(u128::from(i) + 1000)
        } else {
            AppendOptions::new()
        };
        store
            .append_with_options(
                &coord(entity, scope),
                kind,
                &serde_json::json!({ "i": i }),
                options,
            )
            .expect("append");
    }
    let root = store
        .append(&coord("player:1", "world"), KIND_A, &"root")
        .expect("root");
    store
        .append_with_options(
            &coord("player:2", "world"),
            KIND_B,
            &"reaction",
            AppendOptions::new().with_reaction(root.event_id, root.event_id),
        )
        .expect("reaction");
    let item = |e: &str, cause| {
        BatchAppendItem::new(
            coord(e, scope_of(e)),
            KIND_C,
            &serde_json::json!({ "e": e }),
            AppendOptions::new(),
            cause,
        )
        .expect("batch item")
    };
    store
        .append_batch(vec![
            item("guild:1", CausationRef::Absolute(root.event_id)),
            item("player:1", CausationRef::PriorItem(0)),
            item("player:2", CausationRef::None),
        ])
        .expect("batch");
    let fence = store.begin_visibility_fence().expect("fence");
    let committed = fence
        .submit(&coord("fenced:1", "world"), KIND_A, &"committed")
        .expect("fenced submit");
    fence.commit().expect("commit");
    committed.wait().expect("committed fence ticket");
    let fence = store.begin_visibility_fence().expect("fence");
    let cancelled = fence
        .submit(&coord("fenced:1", "world"), KIND_A, &"cancelled")
        .expect("fenced submit");
    fence.cancel().expect("cancel");
    assert!(cancelled.wait().is_err());
    root.event_id
}

#[test]
fn reopen_after_clean_close_keeps_everything_in_order() {
    let _gate = store_gate();
    let dir = tempdir();
    let base = config(dir.path()).with_index_topology(IndexTopology::all());
    let store = open(base.clone());
    let root = fill(&store);
    let before = observe(&store, root);
    assert_eq!(
        before.correlated.len(),
        4,
        "root, reaction and two batch items"
    );
    assert_eq!(
        before.streams[3].len(),
        1,
        "only the committed fence is visible"
    );
    store.close().expect("close");

    let topologies = [
        IndexTopology::all(),
        IndexTopology::default(),
        IndexTopology::minimal(),
    ];
    for topology in topologies {
        let store = open(base.clone().with_index_topology(topology));
        assert_eq!(
            observe(&store, root),
            before,
            "after reopen with {topology:?}"
        );
        store.close().expect("close");
    }
    // A snapshot written at close and mapped by the next open serves the same reads.
    let mapped = base.clone().with_enable_mmap_index(true);
    open(mapped.clone())
        .close()
        .expect("close writing a snapshot");
    let store = open(mapped);
    assert!(store.diagnostics().recovery.from_snapshot);
    assert_eq!(
        observe(&store, root),
        before,
        "after reopen from the snapshot"
    );
    store.close().expect("close");

    let read_only = Store::open_read_only(base).expect("read-only open");
    assert_eq!(observe(&read_only, root), before, "read-only");
}

#[test]
fn lowering_the_frame_limit_keeps_existing_frames_readable() {
    let _gate = store_gate();
    let dir = tempdir();
    let big = serde_json::json!({ "pad": "b".repeat(20_000) });
    let store = open(config(dir.path()));
    let first = store
        .append(&coord("big", "s"), KIND_A, &big)
        .expect("big append");
    let second = store
        .append(&coord("big", "s"), KIND_A, &"small")
        .expect("small");
    store.close().expect("close");

    // The limit bounds what is written from now on; it does not make what was
    // written before unreadable (or "corrupt").
    let store = Store::open(config(dir.path()).with_frame_max_bytes(4096))
        .unwrap_or_else(|e| panic!("reopen with a lower frame limit: {e:?}"));
    assert_eq!(payload(&store, first.event_id), big);
    assert_eq!(payload(&store, second.event_id), serde_json::json!("small"));
    match store.append(&coord("big", "s"), KIND_A, &big) {
        Err(batpak::store::StoreError::PayloadTooLarge { max, .. }) => assert_eq!(max, 4096),
        other => panic!("expected PayloadTooLarge, got {other:?}"),
    }
    assert!(store.verify().expect("verify").is_clean());
}
