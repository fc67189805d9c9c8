use super::Planned;
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::store::index::Floor;
use crate::store::{Store, StoreConfig};

const KIND: EventKind = EventKind::custom(0x3, 1);

fn config(dir: &std::path::Path) -> StoreConfig {
    StoreConfig::new(dir)
        .with_sync_every_n_events(1)
        .with_segment_max_bytes(4096)
}

/// A retention record whose hash is not the cut event's: `verify` finds
/// the break before compaction (the record against the event still in the
/// log) and after it (the first kept event against the record).
#[test]
fn a_record_with_the_wrong_hash_is_a_break_before_and_after_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(config(dir.path())).unwrap();
    let c = Coordinate::new("forged", "s").unwrap();
    for i in 0..60 {
        store.append(&c, KIND, &format!("event {i:>60}")).unwrap();
    }
    let planned = Planned {
        coordinate: c.clone(),
        floor: Floor {
            before: 31,
            hash: [7; 32],
            tombstone: false,
        },
        reason: "forged".to_owned(),
    };
    store.record_cuts(vec![planned]).unwrap();
    let report = store.verify().unwrap();
    assert!(!report.is_clean());
    assert!(!report.first_break.unwrap().sequence_gap);
    store.compact().unwrap();
    let report = store.verify().unwrap();
    let first = report.first_break.expect("a break after compaction");
    let kept = store.stream("forged");
    assert_eq!(kept[0].entity_sequence, 31);
    assert_eq!(first.event_id, kept[0].event_id.get());
    store.close().unwrap();
}
