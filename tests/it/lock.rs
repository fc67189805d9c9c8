//! One writer per data directory: a second read-write open, in this process
//! or another, gets `StoreLocked`; closing (or the owner process dying)
//! releases the lock. Read-only opens take no lock: they neither wait for a
//! writer nor hold one up.

use crate::support::{
    child_args, config, coord, open, say, spawn_gate, store_gate, tempdir, Child, KIND_A,
};
use batpak::store::{Store, StoreError};
use std::path::Path;

fn expect_locked<T: std::fmt::Debug>(result: Result<T, StoreError>, dir: &Path) {
    match result {
        Err(StoreError::StoreLocked { data_dir }) => assert_eq!(data_dir, dir),
        other => panic!("expected StoreLocked, got {other:?}"),
    }
}

#[test]
fn second_open_in_this_process_is_locked() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    store.append(&coord("e", "s"), KIND_A, &1).expect("append");
    expect_locked(Store::open(config(dir.path())), dir.path());
    let reader = Store::open_read_only(config(dir.path())).expect("a reader beside the writer");
    assert_eq!(reader.stream("e").len(), 1);
    // The failed open and the reader did not disturb the owner.
    store.append(&coord("e", "s"), KIND_A, &2).expect("append");
    assert_eq!(reader.refresh().expect("refresh"), 1);
    assert_eq!(reader.stream("e").len(), 2);
    store.close().expect("close");

    let readers = [
        Store::open_read_only(config(dir.path())).expect("first reader"),
        Store::open_read_only(config(dir.path())).expect("second reader"),
    ];
    // Readers hold no lock: a writer opens beside them.
    let store = open(config(dir.path()));
    store.append(&coord("e", "s"), KIND_A, &3).expect("append");
    drop(store);
    assert_eq!(readers[1].stream("e").len(), 2);
    assert_eq!(readers[1].refresh().expect("refresh"), 1);
    drop(readers);

    let store = open(config(dir.path()));
    assert_eq!(store.stream("e").len(), 3);
    drop(store);
    // Dropping without close releases the lock as well.
    open(config(dir.path())).close().expect("close");
}

const PROBE_TEST: &str = "lock::second_process_is_locked_out_until_close";

#[test]
fn second_process_is_locked_out_until_close() {
    if let Some((dir, read_only)) = child_args() {
        let outcome = if read_only == 1 {
            Store::open_read_only(config(&dir)).map(drop)
        } else {
            Store::open(config(&dir)).and_then(Store::close)
        };
        let line = match outcome {
            Ok(()) => "opened".to_owned(),
            Err(StoreError::StoreLocked { .. }) => "locked".to_owned(),
            Err(e) => format!("failed {e:?}"),
        };
        say(&line);
        return;
    }
    let _gate = spawn_gate();
    let probe = |dir: &Path, read_only: u64| {
        let child = Child::spawn(PROBE_TEST, dir, read_only);
        let line = child.next_line();
        let (status, _) = child.finish();
        assert!(status.success(), "probe exited with {status}");
        line.expect("probe printed its outcome")
    };
    let dir = tempdir();
    let store = open(config(dir.path()));
    assert_eq!(probe(dir.path(), 0), "locked");
    assert_eq!(
        probe(dir.path(), 1),
        "opened",
        "a writer does not block readers"
    );
    store.close().expect("close");
    assert_eq!(probe(dir.path(), 0), "opened");

    let reader = Store::open_read_only(config(dir.path())).expect("reader");
    assert_eq!(
        probe(dir.path(), 0),
        "opened",
        "a reader does not block writers"
    );
    assert_eq!(probe(dir.path(), 1), "opened", "nor other readers");
    drop(reader);
}

const HOLDER_TEST: &str = "lock::a_killed_owner_releases_the_lock";

#[test]
fn a_killed_owner_releases_the_lock() {
    if let Some((dir, _)) = child_args() {
        let store = open(config(&dir));
        store
            .append(&coord("e", "s"), KIND_A, &"held")
            .expect("append");
        say("holding");
        // Hold the store until the parent kills this process.
        let (_tx, rx) = flume::bounded::<()>(0);
        let _ = rx.recv();
        drop(store);
        return;
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    let child = Child::spawn(HOLDER_TEST, dir.path(), 0);
    assert_eq!(child.next_line().as_deref(), Some("holding"));
    expect_locked(Store::open(config(dir.path())), dir.path());
    let reader = Store::open_read_only(config(dir.path())).expect("a reader beside the owner");
    assert_eq!(reader.stream("e").len(), 1);
    child.kill();
    let store = open(config(dir.path()));
    assert_eq!(store.stream("e").len(), 1);
    store.close().expect("close");
}
