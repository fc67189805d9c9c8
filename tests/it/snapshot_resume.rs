//! The writer saves the index snapshot as the log grows (at segment
//! rotations), not only at close: a writer SIGKILLed long after its last
//! close reopens from the latest snapshot and scans only what follows it,
//! with every acknowledged event there and reads equal to a full scan's.

use crate::support::{
    child_args, coord, copy_dir, file_len, newest_segment, open, say, spawn_gate, store_gate,
    tempdir, Child, KIND_A,
};
use batpak::coordinate::Region;
use batpak::store::StoreConfig;
use std::path::Path;

const KILL_TEST: &str = "snapshot_resume::a_killed_writer_reopens_from_its_latest_snapshot";
const EVENTS: u64 = 3_000;

fn mapped(dir: &Path) -> StoreConfig {
    StoreConfig::new(dir)
        .with_sync_every_n_events(100)
        .with_segment_max_bytes(32 << 10)
        .with_enable_mmap_index(true)
}

/// The child: appends `EVENTS` events over many segments, syncs, says how
/// many it wrote and waits to be killed (it never closes the store).
fn child(dir: &Path) {
    let store = open(mapped(dir));
    for i in 0..EVENTS {
        let c = coord(&format!("acct:{}", i % 17), "bank");
        store.append(&c, KIND_A, &i).expect("append");
    }
    store.sync().expect("sync");
    say(&format!("done {EVENTS}"));
    loop {
        std::thread::park();
    }
}

#[test]
fn a_killed_writer_reopens_from_its_latest_snapshot() {
    if let Some((dir, _)) = child_args() {
        return child(&dir);
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    let child = Child::spawn(KILL_TEST, dir.path(), 0);
    assert_eq!(child.next_line().as_deref(), Some("done 3000"));
    child.kill();

    let store = open(mapped(dir.path()));
    let report = store.diagnostics().recovery;
    let from = report
        .snapshot_resumed_at
        .unwrap_or_else(|| panic!("opened without a snapshot: {report:?}"));
    assert!(report.from_snapshot);
    println!(
        "resumed at {from:?}: {} frames scanned for {EVENTS} events",
        report.frames
    );
    assert!(
        from.segment > 1,
        "the snapshot covers whole segments: {from:?}"
    );
    // Only the part after the snapshot was read frame by frame: the writer
    // saves one whenever the log grew by a quarter, so well under half.
    assert!(
        report.frames < EVENTS / 2,
        "{} frames scanned of {EVENTS} events",
        report.frames
    );
    let reads = store.query(&Region::all());
    assert_eq!(reads.len() as u64, EVENTS);
    assert!(store.verify().expect("verify").is_clean());
    // The same reads as an index rebuilt by a full scan.
    store.close().expect("close");
    let scanned = open(mapped(dir.path()).with_enable_mmap_index(false));
    assert!(!scanned.diagnostics().recovery.from_snapshot);
    assert_eq!(scanned.query(&Region::all()), reads);
    for i in 0..17 {
        let entity = format!("acct:{i}");
        assert_eq!(
            scanned.stream(&entity).len(),
            (EVENTS as usize + 16 - i) / 17
        );
    }
}

/// An open after a crash reads the newest segment only from the snapshot's
/// offset on, not the whole segment: a store closed with a snapshot in the
/// middle of its segment, reopened, written to and copied while open (a
/// crash copy), then opened from the copy.
#[test]
fn a_crash_open_reads_only_the_newest_segment_after_the_snapshot() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = |d: &Path| StoreConfig::new(d).with_enable_mmap_index(true);
    let append = |store: &batpak::store::Store, n: u64| {
        for i in 0..n {
            let c = coord(&format!("acct:{}", i % 17), "bank");
            store.append(&c, KIND_A, &i).expect("append");
        }
    };
    let store = open(config(dir.path()));
    append(&store, 2_000);
    store.close().expect("close");
    let store = open(config(dir.path()));
    append(&store, 100);
    store.sync().expect("sync");
    let crashed = tempdir();
    copy_dir(dir.path(), crashed.path());
    drop(store);

    let (id, path) = newest_segment(crashed.path());
    let len = file_len(&path);
    let store = open(config(crashed.path()));
    let report = store.diagnostics().recovery;
    let from = report
        .snapshot_resumed_at
        .unwrap_or_else(|| panic!("opened without a snapshot: {report:?}"));
    assert_eq!(from.segment, id, "{report:?}");
    assert!(from.offset > 32, "{report:?}");
    assert_eq!(
        report.bytes_read,
        32 + len - from.offset,
        "the header and the bytes after the snapshot, of {len}"
    );
    assert!(report.bytes_read < len / 4, "{report:?}, segment {len} B");
    assert_eq!(report.frames, 100, "{report:?}");
    assert_eq!(store.query(&Region::all()).len(), 2_100);
    assert!(store.verify().expect("verify").is_clean());
}
