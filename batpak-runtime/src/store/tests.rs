use super::*;
use crate::coordinate::Coordinate;
use crate::event::{EventId, EventKind};
use crate::store::BaseState;
use std::time::Duration;

const KIND: EventKind = EventKind::custom(0x3, 1);

#[test]
fn a_panicking_writer_resolves_every_ticket_and_waiter() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(1_000_000)).unwrap(),
    );
    let coord = Coordinate::new("e", "s").unwrap();
    let first = store.append(&coord, KIND, &1).unwrap();

    let waiter = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            store.wait_for(
                Watermark::Visible,
                first.sequence + 10_000,
                Duration::from_secs(30),
            )
        })
    };
    let mut tickets: Vec<_> = (0..200)
        .map(|i| store.submit(&coord, KIND, &i).unwrap())
        .collect();
    let fence_store = Arc::clone(&store);
    store.send(Command::Crash).unwrap();
    tickets.extend((0..50).filter_map(|i| store.submit(&coord, KIND, &i).ok()));

    for ticket in tickets {
        match ticket.wait_timeout(Duration::from_secs(5)) {
            Ok(_) | Err(StoreError::WriterStopped) => {}
            Err(other) => panic!("unexpected ticket error {other:?}"),
        }
    }
    assert!(matches!(
        waiter.join().unwrap(),
        Err(StoreError::WriterStopped)
    ));
    assert!(matches!(
        fence_store.append(&coord, KIND, &0),
        Err(StoreError::WriterStopped)
    ));
    assert!(store.diagnostics().writer_stopped);
    drop(fence_store);
    let store = Arc::try_unwrap(store).unwrap();
    assert!(matches!(store.close(), Err(StoreError::WriterStopped)));

    // Everything that was acknowledged before the crash is still there.
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert!(reopened.get(first.event_id).unwrap().is_some());
    assert!(reopened.verify().unwrap().is_clean());
}

#[test]
fn a_panicking_writer_fails_fenced_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    let fence = store.begin_visibility_fence().unwrap();
    let ticket = fence.submit(&coord, KIND, &1).unwrap();
    store.send(Command::Crash).unwrap();
    assert!(matches!(
        ticket.wait_timeout(Duration::from_secs(5)),
        Err(StoreError::WriterStopped)
    ));
    assert!(matches!(fence.commit(), Err(StoreError::WriterStopped)));
    drop(store);
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(reopened.by_fact(KIND).len(), 0);
}

#[test]
fn appends_after_close_and_bad_input_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path()).with_frame_max_bytes(1024)).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    assert!(matches!(
        store.append(&coord, EventKind::from_raw(0x0001), &1),
        Err(StoreError::ReservedKind { .. })
    ));
    assert!(matches!(
        store.append(&coord, EventKind::from_raw(0xD001), &1),
        Err(StoreError::ReservedKind { .. })
    ));
    assert!(matches!(
        store.append(&coord, KIND, &"x".repeat(4096)),
        Err(StoreError::PayloadTooLarge { .. })
    ));
    assert_eq!(store.stats().unwrap().events, 0);
    let ticket = store.submit(&coord, KIND, &1).unwrap();
    store.close().unwrap();
    assert!(ticket.wait().is_ok());
    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(reopened.stats().unwrap().events, 1);
}

#[test]
fn rotation_keeps_every_event_readable() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::new(dir.path())
        .with_segment_max_bytes(4096)
        .with_sync_every_n_events(100);
    let store = Store::open(config.clone()).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    let receipts: Vec<_> = (0..500)
        .map(|i| {
            store
                .append(
                    &coord,
                    KIND,
                    &serde_json::json!({ "i": i, "pad": "x".repeat(40) }),
                )
                .unwrap()
        })
        .collect();
    let stats = store.stats().unwrap();
    assert!(
        stats.segments > 5,
        "expected rotation, got {} segments",
        stats.segments
    );
    store.close().unwrap();
    let reopened = Store::open(config).unwrap();
    for (i, r) in receipts.iter().enumerate() {
        let event = reopened.get(r.event_id).unwrap().unwrap();
        assert_eq!(event.payload["i"], i);
        assert_eq!(event.header.position.entity_sequence, i as u64 + 1);
    }
    assert!(reopened.verify().unwrap().is_clean());
}

/// Everything a reader can observe, for comparing two opens of one directory.
fn observe<M>(store: &Store<M>, entities: &[String]) -> Vec<String> {
    let mut out = vec![format!(
        "{:?}",
        store.query(&crate::coordinate::Region::all())
    )];
    for e in entities {
        out.push(format!("{:?}", store.stream(e)));
    }
    for k in [KIND, EventKind::custom(0x3, 2)] {
        out.push(format!("{:?}", store.by_fact(k)));
    }
    out.push(format!("{:?}", store.by_scope("s1")));
    out
}

fn fill(dir: &std::path::Path, config: StoreConfig) -> Vec<String> {
    let store = Store::open(config).unwrap();
    let entities: Vec<String> = (0..20).map(|i| format!("e{i}")).collect();
    for i in 0..400u32 {
        // Each entity lives in one scope (the store refuses a second one).
        let e = i % 20;
        let c = Coordinate::new(&entities[e as usize], format!("s{}", e % 3)).unwrap();
        let kind = if i % 4 == 0 {
            EventKind::custom(0x3, 2)
        } else {
            KIND
        };
        if i % 7 == 0 {
            store
                .append_with_options(
                    &c,
                    kind,
                    &i,
                    AppendOptions::new().with_idempotency(u128::from(i) + 1),
                )
                .unwrap();
        } else {
            let root = store.stream(c.entity()).first().map(|e| e.event_id);
            match root {
                Some(root) if i % 5 == 0 => store
                    .append_with_options(
                        &c,
                        kind,
                        &i,
                        AppendOptions::new().with_reaction(root, root),
                    )
                    .unwrap(),
                _ => store.append(&c, kind, &i).unwrap(),
            };
        }
    }
    store.close().unwrap();
    let _ = dir;
    entities
}

#[test]
fn index_snapshot_is_used_and_matches_a_scan() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::new(dir.path())
        .with_enable_mmap_index(true)
        .with_index_topology(IndexTopology::all());
    let entities = fill(dir.path(), config.clone());
    assert!(dir.path().join(snapshot::SNAPSHOT_FILE).exists());
    let reference = {
        let scanned = Store::open_read_only(config.clone().with_enable_mmap_index(false)).unwrap();
        assert!(!scanned.diagnostics().recovery.from_snapshot);
        observe(&scanned, &entities)
    };

    let mapped = Store::open(config.clone()).unwrap();
    assert!(mapped.diagnostics().recovery.from_snapshot);
    assert_eq!(observe(&mapped, &entities), reference);
    // The writer state came back too: keys, chains and sequences continue.
    let c = Coordinate::new("e0", "s0").unwrap();
    let replay = mapped
        .append_with_options(
            &c,
            EventKind::custom(0x3, 2),
            &0u32,
            AppendOptions::new().with_idempotency(1),
        )
        .unwrap();
    assert_eq!(replay.sequence, 1);
    let next = mapped.append(&c, KIND, &"after").unwrap();
    assert_eq!(next.sequence, 401);
    assert_eq!(next.entity_sequence, 21);
    assert!(mapped.verify().unwrap().is_clean());
    mapped.close().unwrap();

    let remapped = Store::open_read_only(config).unwrap();
    assert!(remapped.diagnostics().recovery.from_snapshot);
    assert_eq!(remapped.stream("e0").len(), 21);
}

#[test]
fn damaged_or_stale_snapshots_fall_back_to_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::new(dir.path()).with_enable_mmap_index(true);
    let entities = fill(dir.path(), config.clone());
    let snap = dir.path().join(snapshot::SNAPSHOT_FILE);
    let good = std::fs::read(&snap).unwrap();
    let reference = {
        let s = Store::open_read_only(config.clone().with_enable_mmap_index(false)).unwrap();
        observe(&s, &entities)
    };
    let damages: Vec<Vec<u8>> = vec![
        good[..good.len() / 2].to_vec(),
        good[..10].to_vec(),
        {
            // A flipped byte in the head (segment table, resume point, block
            // CRCs), which the open checks whole.
            let mut b = good.clone();
            b[snapshot::HEADER_BYTES + 1] ^= 0x40;
            b
        },
        {
            let mut b = good.clone();
            b[0] ^= 1;
            b
        },
        {
            // A snapshot of format version 1 (names one by one, chain tips).
            let mut b = good.clone();
            b[..8].copy_from_slice(b"BPKSNAP1");
            b
        },
    ];
    for damaged in damages {
        std::fs::write(&snap, &damaged).unwrap();
        let s = Store::open_read_only(config.clone()).unwrap();
        let report = s.diagnostics().recovery;
        assert!(!report.from_snapshot);
        assert!(report.snapshot_rejected.is_some());
        assert_eq!(observe(&s, &entities), reference);
    }
    // A flipped byte in the image is found when a read touches its block:
    // the image is rebuilt from the log and reads still equal the scan's.
    let mut b = good.clone();
    b[good.len() / 3] ^= 0x40;
    std::fs::write(&snap, &b).unwrap();
    let s = Store::open_read_only(config.clone()).unwrap();
    assert!(s.diagnostics().recovery.from_snapshot);
    assert_eq!(observe(&s, &entities), reference);
    assert_eq!(s.diagnostics().index_base, BaseState::Rebuilt);
    drop(s);
    // The log grew after the snapshot was written: the snapshot covers the
    // part before, and only what follows it is scanned.
    std::fs::write(&snap, &good).unwrap();
    let writer = Store::open(config.clone().with_enable_mmap_index(false)).unwrap();
    writer
        .append(&Coordinate::new("e1", "s1").unwrap(), KIND, &"late")
        .unwrap();
    writer.close().unwrap();
    let s = Store::open_read_only(config).unwrap();
    let report = s.diagnostics().recovery;
    assert!(report.from_snapshot);
    assert!(report.snapshot_resumed_at.is_some());
    assert!(report.snapshot_rejected.is_none());
    assert_eq!(s.stream("e1").len(), 21);
    let late = s.stream("e1").last().unwrap().event_id;
    assert_eq!(s.get(late).unwrap().unwrap().payload, "late");
}

/// A damaged image block whose log cannot rebuild it either (a segment is
/// damaged too; an open from a snapshot covering the whole log does not scan
/// it): nothing damaged is served, the writer refuses to write on top of an
/// index that yields nothing, and nothing reaches the log.
#[test]
fn an_image_that_cannot_be_rebuilt_stops_the_writer_before_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::new(dir.path()).with_enable_mmap_index(true);
    let entities = fill(dir.path(), config.clone());
    let snap = dir.path().join(snapshot::SNAPSHOT_FILE);
    let mut b = std::fs::read(&snap).unwrap();
    let at = b.len() / 3;
    b[at] ^= 0x40;
    std::fs::write(&snap, &b).unwrap();
    let segment = log::segment::segment_path(dir.path(), 1);
    let mut log = std::fs::read(&segment).unwrap();
    let len = log.len();
    log[len / 2] ^= 0x40;
    std::fs::write(&segment, &log).unwrap();

    let store = Store::open(config).unwrap();
    assert!(store.diagnostics().recovery.from_snapshot);
    let _ = observe(&store, &entities);
    assert_eq!(store.diagnostics().index_base, BaseState::Unusable);
    let err = store.compact().unwrap_err();
    assert!(err.to_string().contains("could not be rebuilt"), "{err}");
    let c = Coordinate::new("e0", "s0").unwrap();
    let err = store.append(&c, KIND, &"on top").unwrap_err();
    assert!(err.to_string().contains("could not be rebuilt"), "{err}");
    assert!(store.diagnostics().writer_stopped);
    assert_eq!(std::fs::read(&segment).unwrap().len(), len);
}

/// Found by the `snapshot` fuzz target: a snapshot whose writer resume point
/// (next sequence) is not past its last record used to be accepted, and the
/// writer's next event then failed the index's ordering assertion, killing
/// the writer thread; one with no room after it overflowed the writer's
/// counter. Such a snapshot does not parse: the open scans instead.
#[test]
fn a_snapshot_resuming_where_the_writer_cannot_falls_back_to_the_scan() {
    use crate::store::log::frame::{put_varint, BodyReader};
    for next_sequence in [2, 400, u64::MAX] {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::new(dir.path()).with_enable_mmap_index(true);
        fill(dir.path(), config.clone());
        let snap = dir.path().join(snapshot::SNAPSHOT_FILE);
        let good = std::fs::read(&snap).unwrap();
        let body = &good[snapshot::HEADER_BYTES..];
        // Skip the segment table; the next varint is the next sequence.
        let mut r = BodyReader::new(body);
        for _ in 0..r.varint().unwrap() * 2 {
            r.varint().unwrap();
        }
        let table = r.pos();
        r.varint().unwrap();
        let mut bad = body[..table].to_vec();
        put_varint(&mut bad, next_sequence);
        bad.extend_from_slice(r.rest());
        std::fs::write(&snap, snapshot::seal(&bad)).unwrap();

        let store = Store::open(config.clone()).unwrap();
        let report = store.diagnostics().recovery;
        assert!(!report.from_snapshot, "{next_sequence}");
        assert_eq!(report.snapshot_rejected.as_deref(), Some("does not parse"));
        let next = store
            .append(&Coordinate::new("e0", "s0").unwrap(), KIND, &"after")
            .unwrap();
        assert_eq!(next.sequence, 401);
        store.close().unwrap();
        // The snapshot that close wrote is used again.
        let store = Store::open(config).unwrap();
        assert!(store.diagnostics().recovery.from_snapshot);
        assert_eq!(store.stream("e0").len(), 21);
        store.close().unwrap();
    }
}

#[test]
fn query_results_do_not_depend_on_the_topology() {
    let dir = tempfile::tempdir().unwrap();
    let entities = fill(dir.path(), StoreConfig::new(dir.path()));
    let topologies = [
        IndexTopology::all(),
        IndexTopology::minimal(),
        IndexTopology::default(),
        IndexTopology {
            by_kind: false,
            by_scope: true,
            by_correlation: false,
        },
    ];
    let mut results = Vec::new();
    for t in topologies {
        let s = Store::open_read_only(StoreConfig::new(dir.path()).with_index_topology(t)).unwrap();
        let mut seen = observe(&s, &entities);
        for region in [
            crate::coordinate::Region::entity_prefix("e1").with_kind(KIND),
            crate::coordinate::Region::scope("s2").with_category(3),
            crate::coordinate::Region::all().with_kind(EventKind::custom(0x3, 2)),
        ] {
            seen.push(format!("{:?}", s.query(&region)));
        }
        let root = s.stream("e3")[0].event_id;
        seen.push(format!("{:?}", s.correlated(root)));
        results.push(seen);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert!(
        results[0].iter().all(|r| r.len() > 2),
        "every query found something"
    );
}

#[test]
fn causal_walks_follow_ids_not_payloads() {
    for topology in [IndexTopology::all(), IndexTopology::minimal()] {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(StoreConfig::new(dir.path()).with_index_topology(topology)).unwrap();
        let c = Coordinate::new("chain", "s").unwrap();
        let root = store.append(&c, KIND, &"same").unwrap();
        let mut ids = vec![root.event_id];
        for _ in 0..50 {
            // Identical payloads on purpose: only ids tell the links apart.
            let parent = *ids.last().unwrap();
            ids.push(
                store
                    .append_with_options(
                        &c,
                        KIND,
                        &"same",
                        AppendOptions::new().with_reaction(root.event_id, parent),
                    )
                    .unwrap()
                    .event_id,
            );
        }
        let side = store
            .append_with_options(
                &c,
                KIND,
                &"same",
                AppendOptions::new().with_reaction(root.event_id, ids[10]),
            )
            .unwrap();
        let walk: Vec<EventId> = store
            .walk_ancestors(*ids.last().unwrap(), usize::MAX)
            .iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(walk, ids.iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(store.walk_ancestors(ids[30], 5).len(), 5);
        let below_10: Vec<EventId> = store
            .descendants(ids[10], usize::MAX)
            .iter()
            .map(|e| e.event_id)
            .collect();
        let mut expected: Vec<EventId> = ids[11..].to_vec();
        expected.push(side.event_id);
        expected.sort_unstable();
        assert_eq!(below_10, expected);
        assert_eq!(store.correlated(root.event_id).len(), 52);
        assert!(store.walk_ancestors(12345, 10).is_empty());
    }
}

#[test]
fn a_slow_subscriber_loses_notifications_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        StoreConfig::new(dir.path())
            .with_subscription_capacity(4)
            .with_sync_every_n_events(1000),
    )
    .unwrap();
    let c = Coordinate::new("e", "s").unwrap();
    let slow = store.subscribe_lossy(&crate::coordinate::Region::entity("e"));
    let other = store.subscribe_lossy(&crate::coordinate::Region::entity("elsewhere"));
    // The writer never waits for the subscriber: all 50 appends complete.
    for i in 0..50 {
        store.append(&c, KIND, &i).unwrap();
    }
    let got: Vec<u64> = std::iter::from_fn(|| slow.try_recv())
        .map(|n| n.sequence)
        .collect();
    assert_eq!(
        got,
        vec![1, 2, 3, 4],
        "the first notifications that fit are kept, in order"
    );
    assert_eq!(slow.dropped(), 46);
    assert_eq!(other.try_recv(), None);
    assert_eq!(other.dropped(), 0);
    store.close().unwrap();
    assert!(
        slow.recv().is_none(),
        "closing the store closes the subscription"
    );
    assert!(slow.is_closed());
}

#[test]
fn snapshot_copies_a_consistent_store_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let copy_root = tempfile::tempdir().unwrap();
    let dest = copy_root.path().join("copy");
    let store =
        Arc::new(Store::open(StoreConfig::new(dir.path()).with_segment_max_bytes(4096)).unwrap());
    let c = Coordinate::new("e", "s").unwrap();
    for i in 0..100 {
        store.append(&c, KIND, &i).unwrap();
    }
    let fence = store.begin_visibility_fence().unwrap();
    let hidden = fence.submit(&c, KIND, &"fenced").unwrap();
    let writer = {
        let store = Arc::clone(&store);
        let c = c.clone();
        std::thread::spawn(move || {
            // Waits for the fence, then appends while the snapshot may run.
            for i in 0..50 {
                match store.append(&c, KIND, &i) {
                    Ok(_) | Err(StoreError::VisibilityFenceActive) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
        })
    };
    store.snapshot(&dest).unwrap();
    fence.commit().unwrap();
    hidden.wait().unwrap();
    writer.join().unwrap();
    assert!(
        matches!(store.snapshot(&dest), Err(StoreError::Io { .. })),
        "a non-empty destination is refused"
    );
    let copy = Store::open_read_only(StoreConfig::new(&dest)).unwrap();
    // The fence was open when the copy was taken: its write stays hidden there.
    assert_eq!(copy.stream("e").len(), 100);
    assert!(copy.verify().unwrap().is_clean());
    let original: Vec<EventId> = store
        .stream("e")
        .iter()
        .take(100)
        .map(|e| e.event_id)
        .collect();
    let copied: Vec<EventId> = copy.stream("e").iter().map(|e| e.event_id).collect();
    assert_eq!(copied, original);
}

#[test]
fn a_get_checks_one_crc_and_parses_once() {
    use crate::store::log::frame::CRC_CHECKS;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let c = Coordinate::new("e", "s").unwrap();
    let receipt = store.append(&c, EventKind::custom(0x1, 1), &"x").unwrap();
    // Warm-up: the first read maps the segment.
    store.get(receipt.event_id).unwrap().unwrap();
    let before = CRC_CHECKS.with(std::cell::Cell::get);
    let event = store.get(receipt.event_id).unwrap().unwrap();
    let after = CRC_CHECKS.with(std::cell::Cell::get);
    assert_eq!(event.header.event_id, receipt.event_id);
    assert_eq!(after - before, 1, "CRC computations for one get");
    store.close().unwrap();
}

#[test]
fn json_payloads_nested_deeper_than_a_read_decodes_are_refused_at_append() {
    use crate::store::codec::JSON_DEPTH_MAX;
    let nested = |depth: usize| -> serde_json::Value {
        (1..depth).fold(serde_json::json!([]), |v, _| serde_json::json!([v]))
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let c = Coordinate::new("deep", "s").unwrap();
    let kind = EventKind::custom(0x1, 9);
    // The deepest accepted payload reads back as written.
    let ok = store.append(&c, kind, &nested(JSON_DEPTH_MAX)).unwrap();
    let read = store.get(ok.event_id).unwrap().unwrap();
    assert_eq!(read.payload, nested(JSON_DEPTH_MAX));
    // One level more (and far more) is a typed error, and nothing is written.
    for depth in [JSON_DEPTH_MAX + 1, 200, 1_000] {
        match store.append(&c, kind, &nested(depth)) {
            Err(StoreError::PayloadTooDeep { depth: d, max }) => {
                assert_eq!((d, max), (depth, JSON_DEPTH_MAX));
            }
            other => panic!("expected PayloadTooDeep, got {other:?}"),
        }
    }
    assert_eq!(store.stream("deep").len(), 1);
    store.close().unwrap();
}
