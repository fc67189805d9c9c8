//! An index opened in place from its snapshot (a mapped base, plus an
//! in-memory tail for what is appended after the open) answers every read
//! exactly as an index rebuilt by scanning the log, before and after more
//! events land on top of the base; a snapshot with a flipped byte is refused
//! and the open scans.

use crate::support::{config, coord, open, store_gate, tempdir, KIND_A, KIND_B};
use batpak::coordinate::Region;
use batpak::event::EventId;
use batpak::store::{AppendOptions, BaseState, Store, StoreConfig, StreamRange};
use std::path::Path;

const ENTITIES: [&str; 5] = ["acct:1", "acct:2", "acct:10", "cart:1", "cart:2"];

fn mapped(dir: &Path) -> StoreConfig {
    config(dir).with_enable_mmap_index(true)
}

/// Appends `n` events from `first` on: five entities over two scopes, two
/// kinds, every third event a reaction to the previous one; `fresh` adds
/// events of entities that did not exist before.
fn append(store: &Store, first: u64, n: u64, fresh: bool) {
    let mut previous: Option<(EventId, batpak::event::CorrelationId)> = None;
    for i in first..first + n {
        let entity = if fresh && i % 4 == 0 {
            format!("new:{i}")
        } else {
            ENTITIES[(i % 5) as usize].to_owned()
        };
        let scope = if entity.starts_with("cart") {
            "shop"
        } else {
            "bank"
        };
        let kind = if i % 2 == 0 { KIND_A } else { KIND_B };
        let mut opts = AppendOptions::new();
        if let (Some((cause, root)), true) = (previous, i % 3 == 0) {
            opts = opts.with_reaction(root, cause);
        }
        let body = serde_json::json!({ "i": i });
        let receipt = store
            .append_with_options(&coord(&entity, scope), kind, &body, opts)
            .expect("append");
        let entry = store
            .stream(&entity)
            .into_iter()
            .find(|e| e.event_id == receipt.event_id)
            .expect("the event is visible");
        previous = Some((receipt.event_id, entry.correlation_id));
    }
}

/// Everything the reads answer, as one comparable value.
fn observe(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    let mut entities: Vec<String> = ENTITIES.iter().map(|e| (*e).to_owned()).collect();
    entities.extend((0..200).map(|i| format!("new:{i}")));
    entities.push("missing".into());
    for e in &entities {
        let stream = store.stream(e);
        out.push(format!("stream {e} {stream:?}"));
        let back = store.stream_range(e, StreamRange::all().backwards().limit(3));
        out.push(format!("back {e} {back:?}"));
        let window = store.stream_range(e, StreamRange::all().from(3).to(9).limit(4));
        out.push(format!("window {e} {window:?}"));
        out.push(format!("seq {e} {}", store.entity_sequence(e)));
        out.push(format!("retention {e} {:?}", store.retention(e)));
        out.push(format!("count {e} {}", store.count(&Region::entity(e))));
        for entry in stream.iter().step_by(3) {
            let got = store.get(entry.event_id).expect("get");
            out.push(format!("get {:?}", got.map(|ev| ev.header)));
            let tree = store.correlated(entry.correlation_id);
            out.push(format!("correlated {tree:?}"));
            out.push(format!("up {:?}", store.walk_ancestors(entry.event_id, 10)));
            out.push(format!("down {:?}", store.descendants(entry.event_id, 10)));
        }
    }
    for scope in ["bank", "shop", "none"] {
        out.push(format!("scope {scope} {:?}", store.by_scope(scope)));
        out.push(format!(
            "count scope {}",
            store.count(&Region::scope(scope))
        ));
    }
    for kind in [KIND_A, KIND_B] {
        out.push(format!("kind {:?}", store.by_fact(kind)));
        out.push(format!(
            "count kind {}",
            store.count(&Region::all().with_kind(kind))
        ));
    }
    let regions = [
        Region::all(),
        Region::user_events(),
        Region::all().with_category(1),
        Region::entity_prefix("acct:1"),
        Region::scope("shop").with_kind(KIND_B),
    ];
    for region in regions {
        out.push(format!("query {:?}", store.query(&region)));
        out.push(format!("count {}", store.count(&region)));
    }
    let stats = store.stats().expect("stats");
    out.push(format!("stats {} {}", stats.events, stats.entities));
    out
}

/// Opens the store by scan (no snapshot) and observes it.
fn observe_scanned(dir: &Path) -> Vec<String> {
    let store = open(config(dir));
    assert!(!store.diagnostics().recovery.from_snapshot);
    let seen = observe(&store);
    store.close().expect("close");
    seen
}

/// Opens the store from its snapshot and observes it.
fn observe_mapped(dir: &Path) -> Vec<String> {
    let store = open(mapped(dir));
    assert!(
        store.diagnostics().recovery.from_snapshot,
        "the snapshot is used"
    );
    let seen = observe(&store);
    store.close().expect("close");
    seen
}

fn assert_same(a: &[String], b: &[String]) {
    // The reads compared are not trivially empty.
    let some = |prefix: &str| {
        b.iter()
            .any(|l| l.starts_with(prefix) && !l.ends_with("[]"))
    };
    assert!(some("down") && some("correlated") && some("kind") && some("scope"));
    assert!(b.iter().any(|l| l.starts_with("retention acct:2 Some")));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x, y);
    }
}

#[test]
fn reads_from_a_mapped_snapshot_equal_reads_from_a_scan_with_a_tail_on_top() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(mapped(dir.path()));
    append(&store, 0, 120, false);
    store.truncate_before("acct:2", 5).expect("truncate");
    store.close().expect("close writes the snapshot");
    let scanned = observe_scanned(dir.path());
    assert_same(&observe_mapped(dir.path()), &scanned);

    // Events on top of the mapped base: old and new entities, reactions to
    // events in the base, a retention cut of a base entity.
    let store = open(mapped(dir.path()));
    assert!(store.diagnostics().recovery.from_snapshot);
    append(&store, 120, 80, true);
    store.truncate_before("cart:1", 7).expect("truncate");
    let with_tail = observe(&store);
    store.close().expect("close writes a new snapshot");
    let scanned = observe_scanned(dir.path());
    assert_same(&with_tail, &scanned);
    assert_same(&observe_mapped(dir.path()), &scanned);

    // A tail without any rewrite of the base, then a mapped reopen.
    let store = open(mapped(dir.path()));
    append(&store, 200, 30, true);
    let with_tail = observe(&store);
    store.close().expect("close");
    assert_same(&with_tail, &observe_scanned(dir.path()));
    assert_same(&observe_mapped(dir.path()), &with_tail);
}

/// The open checks only the snapshot's head: a flipped byte in a record is
/// found by the first read that touches its 4 KiB block, and the image is
/// then rebuilt from the log (with the retention cut applied, as the writer
/// had it), so every read still equals a scan's.
#[test]
fn a_flipped_byte_in_a_snapshot_record_is_found_when_read_and_the_image_is_rebuilt() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(mapped(dir.path()));
    // Enough events for the records to span several blocks; the one
    // damaged sits mid-way, in a block the open does not read.
    append(&store, 0, 400, false);
    store.truncate_before("acct:2", 3).expect("truncate");
    let stream = store.stream("cart:2");
    let middle = stream[stream.len() / 2].clone();
    store.close().expect("close");
    let scanned = observe_scanned(dir.path());

    // The record's event id, then its frame offset 28 bytes in.
    let snap = dir.path().join("index.snap");
    let mut bytes = std::fs::read(&snap).expect("read the snapshot");
    let id = middle.event_id.get().to_le_bytes();
    let at = bytes
        .windows(16)
        .position(|w| w == id)
        .expect("the record is in the snapshot");
    bytes[at + 28] ^= 0x40;
    std::fs::write(&snap, &bytes).expect("write the snapshot");

    let store = open(mapped(dir.path()));
    let report = store.diagnostics().recovery;
    assert!(report.from_snapshot, "the open does not read the records");
    assert_eq!(store.diagnostics().index_base, BaseState::Intact);
    assert_same(&observe(&store), &scanned);
    assert_eq!(store.diagnostics().index_base, BaseState::Rebuilt);
    store.close().expect("close");
    assert_same(&observe_mapped(dir.path()), &scanned);
}
