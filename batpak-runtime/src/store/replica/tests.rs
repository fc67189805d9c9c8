use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::store::{
    AppendOptions, BatchAppendItem, CausationRef, ReplicaProblem, ReplicatedEvent, ReplicatedName,
    Store, StoreConfig, StoreError,
};
use serde_json::json;

const KIND: EventKind = EventKind::custom(0x3, 1);

fn coord(name: &str) -> Coordinate {
    Coordinate::new(name, "s").unwrap()
}

/// What a transport does: hands a replica every event after its last one,
/// with the names of coordinates the primary skipped in between.
fn copy_all(primary: &Store, replica: &Store, after: u64) -> u64 {
    let events = primary.replicated_events(after, 10_000).unwrap();
    let mut next_coord = replica_coords(replica);
    let mut names: Vec<ReplicatedName> = Vec::new();
    for ev in &events {
        if ev.coordinate_id > next_coord {
            names.extend(primary.coordinate_names(next_coord..ev.coordinate_id));
        }
        next_coord = next_coord.max(ev.coordinate_id + 1);
    }
    let last = events.last().map_or(after, |e| e.header.position.sequence);
    replica.apply_replicated(names, events).unwrap();
    last
}

fn replica_coords(store: &Store) -> u32 {
    crate::store::locking::read(&store.shared.index).coord_count()
}

fn fill(primary: &Store) {
    primary.append(&coord("a"), KIND, &json!({"n": 1})).unwrap();
    let opts = AppendOptions::new().with_idempotency(7);
    primary
        .append_with_options(&coord("b"), KIND, &json!({"n": 2}), opts)
        .unwrap();
    let items = (0..3)
        .map(|i| {
            BatchAppendItem::new(
                coord("c"),
                KIND,
                &json!({ "i": i }),
                AppendOptions::new(),
                CausationRef::None,
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    primary.append_batch(items).unwrap();
    // A cancelled fence on an entity new to the store: its coordinate id is
    // taken, its events never committed.
    let fence = primary.begin_visibility_fence().unwrap();
    let _ = fence.submit(&coord("gone"), KIND, &json!({})).unwrap();
    fence.cancel().unwrap();
    let fence = primary.begin_visibility_fence().unwrap();
    let t = fence.submit(&coord("a"), KIND, &json!({"n": 3})).unwrap();
    fence.commit().unwrap();
    t.wait().unwrap();
    primary.append(&coord("d"), KIND, &json!({"n": 4})).unwrap();
}

fn same_events(a: &Store, b: &Store) {
    let ea = a.replicated_events(0, usize::MAX).unwrap();
    let eb = b.replicated_events(0, usize::MAX).unwrap();
    assert_eq!(ea, eb);
}

#[test]
fn a_replica_holds_the_primarys_chain_and_refuses_user_writes() {
    let (pd, rd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = Store::open(StoreConfig::new(pd.path())).unwrap();
    let replica = Store::open_replica(StoreConfig::new(rd.path())).unwrap();
    fill(&primary);
    let last = copy_all(&primary, &replica, 0);
    assert_eq!(last, primary.frontier().visible);
    same_events(&primary, &replica);
    assert!(replica.verify().unwrap().is_clean());
    assert!(matches!(
        replica.append(&coord("a"), KIND, &json!({})),
        Err(StoreError::Replica)
    ));
    assert!(matches!(
        replica.begin_visibility_fence().map(|_| ()),
        Err(StoreError::Replica)
    ));
    // Applying the same events again is refused whole.
    let again = primary.replicated_events(0, 1).unwrap();
    assert!(matches!(
        replica.apply_replicated(Vec::new(), again),
        Err(StoreError::ReplicaRefused {
            reason: ReplicaProblem::NotAfter,
            ..
        })
    ));
    // More events later, across a reopen of the replica.
    drop(replica);
    primary.append(&coord("a"), KIND, &json!({"n": 5})).unwrap();
    let replica = Store::open_replica(StoreConfig::new(rd.path())).unwrap();
    copy_all(&primary, &replica, last);
    same_events(&primary, &replica);
    replica.close().unwrap();
    // Promotion: the replica's directory opens as an ordinary store, which
    // continues the chains.
    let promoted = Store::open(StoreConfig::new(rd.path())).unwrap();
    assert!(promoted.verify().unwrap().is_clean());
    let r = promoted
        .append(&coord("a"), KIND, &json!({"n": 6}))
        .unwrap();
    assert_eq!(r.entity_sequence, 4);
    assert!(r.sequence > primary.frontier().visible);
    assert!(promoted.verify().unwrap().is_clean());
}

#[test]
fn a_tampered_event_is_refused_and_nothing_is_written() {
    let (pd, rd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = Store::open(StoreConfig::new(pd.path())).unwrap();
    let replica = Store::open_replica(StoreConfig::new(rd.path())).unwrap();
    fill(&primary);
    let mut events: Vec<ReplicatedEvent> = primary.replicated_events(0, 3).unwrap();
    events[2].payload = b"{\"n\":99}".to_vec();
    assert!(matches!(
        replica.apply_replicated(Vec::new(), events),
        Err(StoreError::ReplicaRefused {
            reason: ReplicaProblem::Hash,
            ..
        })
    ));
    assert_eq!(replica.frontier().visible, 0);
    // A plain store takes no replicated events.
    let events = primary.replicated_events(0, 1).unwrap();
    assert!(matches!(
        primary.apply_replicated(Vec::new(), events),
        Err(StoreError::ReplicaRefused {
            reason: ReplicaProblem::NotAReplica,
            ..
        })
    ));
}

/// The primary's retention cuts reach the replica as records: its reads
/// stop serving the cut events, its compaction removes them (applying no
/// policy of its own), its chain verifies, and it refuses cuts of its own.
#[test]
fn a_replica_follows_its_primarys_retention_cuts() {
    let (p, r) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = Store::open(StoreConfig::new(p.path()).with_segment_max_bytes(4096)).unwrap();
    let replica = Store::open_replica(
        StoreConfig::new(r.path())
            .with_segment_max_bytes(4096)
            .with_retention_policy(
                crate::store::RetentionPolicy::new(crate::coordinate::Region::all())
                    .with_max_count(1),
            ),
    )
    .unwrap();
    for i in 0..40 {
        primary
            .append(
                &coord("cut"),
                KIND,
                &json!({ "i": i, "pad": "x".repeat(80) }),
            )
            .unwrap();
        primary
            .append(&coord("gone"), KIND, &json!({ "i": i }))
            .unwrap();
    }
    let at = copy_all(&primary, &replica, 0);
    primary.truncate_before("cut", 31).unwrap();
    primary.tombstone("gone").unwrap();
    copy_all(&primary, &replica, at);
    assert_eq!(replica.stream("cut").len(), 10);
    assert!(replica.stream("gone").is_empty());
    assert!(matches!(
        replica.truncate_before("cut", 35),
        Err(StoreError::Replica)
    ));
    let report = replica.compact().unwrap();
    assert_eq!(report.events_cut, 70, "{report:?}");
    assert_eq!(replica.stream("cut").len(), 10);
    assert!(replica.verify().unwrap().is_clean());
    replica.close().unwrap();
    let reopened = Store::open_replica(StoreConfig::new(r.path())).unwrap();
    assert_eq!(reopened.stream("cut")[0].entity_sequence, 31);
    assert!(reopened.verify().unwrap().is_clean());
}

/// A replica that reopens from its index snapshot goes on where it stopped:
/// the next events from the primary follow, and its chain verifies.
#[test]
fn a_replica_reopened_from_its_index_snapshot_goes_on() {
    let (p, r) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let primary = Store::open(StoreConfig::new(p.path())).unwrap();
    let config = || StoreConfig::new(r.path()).with_enable_mmap_index(true);
    for i in 0..20 {
        primary
            .append(&coord("a"), KIND, &json!({ "i": i }))
            .unwrap();
    }
    let replica = Store::open_replica(config()).unwrap();
    let at = copy_all(&primary, &replica, 0);
    replica.close().unwrap();
    for i in 20..30 {
        primary
            .append(&coord("a"), KIND, &json!({ "i": i }))
            .unwrap();
    }
    let replica = Store::open_replica(config()).unwrap();
    assert!(replica.diagnostics().recovery.from_snapshot);
    copy_all(&primary, &replica, at);
    assert_eq!(replica.stream("a").len(), 30);
    let ids = |s: &Store| -> Vec<_> {
        s.stream("a")
            .iter()
            .map(|e| (e.event_id, e.sequence, e.entity_sequence))
            .collect()
    };
    assert_eq!(ids(&replica), ids(&primary));
    assert!(replica.verify().unwrap().is_clean());
}
