use crate::coordinate::{Coordinate, Region};
use crate::event::{EventId, EventKind};
use crate::store::{Store, StoreConfig};

const K: EventKind = EventKind::custom(0x7, 1);

#[test]
fn compaction_drops_cancelled_fences_and_keeps_everything_visible() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::new(dir.path()).with_segment_max_bytes(4096);
    let store = Store::open(config.clone()).unwrap();
    let a = Coordinate::new("a", "s").unwrap();
    let mut kept = Vec::new();
    for round in 0..6 {
        kept.push(
            store
                .append(&a, K, &format!("before {round}"))
                .unwrap()
                .event_id,
        );
        let fence = store.begin_visibility_fence().unwrap();
        // A coordinate first named inside the cancelled fence, used again after it.
        let b = Coordinate::new(format!("b{round}"), "s").unwrap();
        for i in 0..10 {
            let _ = fence
                .submit(&b, K, &format!("discarded {round} {i} {}", "x".repeat(60)))
                .unwrap();
        }
        fence.cancel().unwrap();
        kept.push(
            store
                .append(&b, K, &format!("after {round}"))
                .unwrap()
                .event_id,
        );
    }
    let before = store.stats().unwrap();
    let stale_entries = store.query(&Region::user_events());
    let report = store.compact().unwrap();
    assert!(report.segments_rewritten > 0);
    assert!(report.events_dropped >= 10);
    assert!(report.bytes_reclaimed > 0);
    let after = store.stats().unwrap();
    assert_eq!(
        after.segment_bytes,
        before.segment_bytes - report.bytes_reclaimed
    );
    let visible: Vec<EventId> = store
        .query(&Region::user_events())
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(visible, kept);
    for id in &kept {
        assert!(
            store.get(*id).unwrap().is_some(),
            "readable at its new offset"
        );
    }
    assert!(store.verify().unwrap().is_clean());
    // Entries taken before the compaction still read (the frames moved).
    for e in &stale_entries {
        let event = store
            .read_entry::<crate::store::replay::JsonValueInput>(e)
            .unwrap();
        assert_eq!(event.header.event_id, e.event_id);
    }
    // Compacting again finds nothing; appends go on; a reopen agrees.
    assert_eq!(store.compact().unwrap().segments_rewritten, 0);
    store.append(&a, K, &"later").unwrap();
    store.close().unwrap();
    let reopened = Store::open(config).unwrap();
    assert_eq!(reopened.query(&Region::user_events()).len(), kept.len() + 1);
    assert!(reopened.verify().unwrap().is_clean());
}
