//! A snapshot whose copy fails part way leaves the destination as it was (no
//! directory, or the empty one it was) and no staging directory behind, and
//! the store goes on.

use crate::coordinate::{Coordinate, Region};
use crate::event::{EventId, EventKind};
use crate::store::log::io::faults::{Faults, FaultyIo};
use crate::store::{IoOp, Store, StoreConfig, StoreError};
use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const KIND: EventKind = EventKind::custom(0x3, 2);

/// Appends before the snapshot; with the smallest segments they fill several.
const APPENDS: usize = 400;

/// What the copy runs into once the fault is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The write after this many successful ones (outside the data
    /// directory) writes half its bytes and fails.
    Write { after: u64 },
    /// Renaming the staging directory fails.
    Rename,
}

/// A store with `APPENDS` events in several segments over a [`FaultyIo`]
/// whose `fault`, once armed, hits only files outside the data directory (the
/// snapshot's); returns it, the arming switch and the ids appended.
fn store_with_events(dir: &Path, fault: Fault) -> (Store, Arc<Faults>, Vec<EventId>) {
    let faults = Faults::new(false);
    match fault {
        Fault::Write { after } => faults.writes_left.store(after, Ordering::SeqCst),
        Fault::Rename => faults.rename_fails.store(true, Ordering::SeqCst),
    }
    let io = Arc::new(FaultyIo::new(Arc::clone(&faults), Some(dir)));
    let config = StoreConfig::new(dir).with_segment_max_bytes(4096);
    let store = Store::open_with_io(config, io).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    let ids = (0..APPENDS)
        .map(|i| store.append(&coord, KIND, &i).unwrap().event_id)
        .collect();
    assert!(
        crate::store::log::segment::list_segments(dir)
            .unwrap()
            .len()
            > 2
    );
    (store, faults, ids)
}

fn entries(dir: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    names
}

fn assert_copy_holds(dest: &Path, ids: &[EventId]) {
    let copy = Store::open_read_only(StoreConfig::new(dest)).unwrap();
    let copied: Vec<EventId> = copy
        .query(&Region::all())
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(copied, ids);
    assert!(copy.verify().unwrap().is_clean());
}

#[test]
fn a_write_failing_mid_copy_leaves_no_destination_and_no_staging_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().join("backup");
    // The first segment copies, the second fails half written.
    let (store, faults, ids) = store_with_events(dir.path(), Fault::Write { after: 1 });
    faults.armed.store(true, Ordering::SeqCst);
    let failed = store.snapshot(&dest);
    assert!(
        matches!(
            failed,
            Err(StoreError::Io {
                op: IoOp::Write,
                ..
            })
        ),
        "{failed:?}"
    );
    assert!(!dest.exists());
    assert!(
        entries(root.path()).is_empty(),
        "{:?}",
        entries(root.path())
    );

    // The failed copy did not touch the store: it appends, and a copy that
    // does not fail holds everything.
    let coord = Coordinate::new("e", "s").unwrap();
    let mut ids = ids;
    ids.push(store.append(&coord, KIND, &"after").unwrap().event_id);
    faults.armed.store(false, Ordering::SeqCst);
    store.snapshot(&dest).unwrap();
    assert_eq!(entries(root.path()), [OsString::from("backup")]);
    assert_copy_holds(&dest, &ids);
}

#[test]
fn a_failed_copy_into_an_empty_directory_leaves_it_empty() {
    for fault in [
        Fault::Write { after: 0 },
        Fault::Write { after: 2 },
        Fault::Rename,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("backup");
        std::fs::create_dir(&dest).unwrap();
        let (store, faults, ids) = store_with_events(dir.path(), fault);
        faults.armed.store(true, Ordering::SeqCst);
        let op = match store.snapshot(&dest) {
            Err(StoreError::Io { op, .. }) => op,
            other => panic!("{fault:?}: {other:?}"),
        };
        let expected = match fault {
            Fault::Write { .. } => IoOp::Write,
            Fault::Rename => IoOp::Rename,
        };
        assert_eq!(op, expected, "{fault:?}");
        assert_eq!(
            entries(root.path()),
            [OsString::from("backup")],
            "{fault:?}"
        );
        assert!(entries(&dest).is_empty(), "{fault:?}");

        // The empty directory is the destination a copy may replace.
        faults.armed.store(false, Ordering::SeqCst);
        store.snapshot(&dest).unwrap();
        assert_eq!(
            entries(root.path()),
            [OsString::from("backup")],
            "{fault:?}"
        );
        assert_copy_holds(&dest, &ids);
    }
}

#[test]
fn a_destination_that_is_not_empty_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dest = root.path().join("backup");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("mine"), b"keep").unwrap();
    let (store, _faults, _ids) = store_with_events(dir.path(), Fault::Rename);
    let refused = store.snapshot(&dest);
    assert!(
        matches!(
            refused,
            Err(StoreError::Io {
                op: IoOp::CreateDir,
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(entries(root.path()), [OsString::from("backup")]);
    assert_eq!(entries(&dest), [OsString::from("mine")]);
    assert_eq!(std::fs::read(dest.join("mine")).unwrap(), b"keep");
}

#[test]
fn a_destination_with_missing_parents_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let (store, _faults, ids) = store_with_events(dir.path(), Fault::Rename);
    // `copy/.` names `copy`; its missing parents are created.
    let dest = root.path().join("a").join("b").join("copy").join(".");
    store.snapshot(&dest).unwrap();
    assert_eq!(entries(&root.path().join("a/b")), [OsString::from("copy")]);
    assert_copy_holds(&root.path().join("a/b/copy"), &ids);
    assert!(matches!(
        store.snapshot(root.path().join("..")),
        Err(StoreError::Io {
            op: IoOp::CreateDir,
            ..
        })
    ));
}
