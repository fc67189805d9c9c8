//! Mapped appends and the index snapshot: a snapshot saved while the active
//! segment has space reserved ahead of its frames records where the frames
//! end, so an open from it after a crash scans every later event.

use super::writer::Command;
use super::{Store, StoreConfig};
use crate::coordinate::{Coordinate, Region};
use crate::event::EventKind;

const KIND: EventKind = EventKind::custom(0x3, 1);

fn append(store: &Store, n: u64) {
    let coord = Coordinate::new("acct", "mapped").unwrap();
    for i in 0..n {
        store
            .append(&coord, KIND, &"x".repeat(400 + i as usize % 7))
            .unwrap();
    }
}

#[test]
fn a_snapshot_beside_reserved_space_misses_no_later_event() {
    let dir = tempfile::tempdir().unwrap();
    let config = |d: &std::path::Path| {
        StoreConfig::new(d)
            .with_sync_every_n_events(50)
            .with_mapped_appends(true)
            .with_enable_mmap_index(true)
    };
    let store = Store::open(config(dir.path())).unwrap();
    // More than a page into the segment: space is reserved past the frames.
    append(&store, 100);
    store.send(Command::SnapshotSoon).unwrap();
    append(&store, 100);
    store.sync().unwrap();
    // What a killed process leaves: the files as the page cache holds them.
    let crashed = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), crashed.path().join(entry.file_name())).unwrap();
        }
    }
    store.close().unwrap();
    let store = Store::open(config(crashed.path())).unwrap();
    let recovery = store.diagnostics().recovery;
    assert!(recovery.from_snapshot, "{recovery:?}");
    assert!(recovery.snapshot_resumed_at.is_some(), "{recovery:?}");
    assert_eq!(store.query(&Region::all()).len(), 200);
    assert!(store.verify().unwrap().is_clean());
}
