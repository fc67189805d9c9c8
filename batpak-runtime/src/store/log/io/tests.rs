//! The seam is real: a store opened over a `LogIo` whose fsyncs start failing
//! stops its writer at the first failure, and everything it acknowledged
//! before survives a reopen over the real file system.

use super::faults::{Faults, FaultyIo};
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::store::{IoOp, Store, StoreConfig, StoreError};
use std::sync::atomic::Ordering;
use std::sync::Arc;

const KIND: EventKind = EventKind::custom(0x3, 1);

/// `sync_data` calls that succeed before the injected failure.
const SYNCS_BEFORE_FAILURE: u64 = 5;

/// Appends tried before the test gives up waiting for the failure.
const APPENDS_MAX: usize = 1_000;

#[test]
fn a_failed_fsync_stops_the_writer_and_keeps_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults::new(true);
    faults
        .syncs_left
        .store(SYNCS_BEFORE_FAILURE, Ordering::SeqCst);
    let io = Arc::new(FaultyIo::new(Arc::clone(&faults), None));
    // The default cadence fsyncs (`sync_data`) every group, so every
    // acknowledged append must have been covered by a successful sync.
    let store = Store::open_with_io(StoreConfig::new(dir.path()), io).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    let mut acknowledged = Vec::new();
    let failure = loop {
        assert!(acknowledged.len() < APPENDS_MAX, "no injected failure");
        match store.append(&coord, KIND, &acknowledged.len()) {
            Ok(receipt) => acknowledged.push(receipt),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(failure, StoreError::Io { op: IoOp::Sync, .. }),
        "{failure:?}"
    );
    assert!(!acknowledged.is_empty());
    assert!(acknowledged.len() as u64 <= SYNCS_BEFORE_FAILURE);

    // Fail-stop: even once the disk would sync again, nothing more is acknowledged.
    faults.syncs_left.store(u64::MAX, Ordering::SeqCst);
    for i in 0..3 {
        let later = store.append(&coord, KIND, &i);
        assert!(
            matches!(
                later,
                Err(StoreError::WriterStopped | StoreError::Io { .. })
            ),
            "{later:?}"
        );
    }
    assert!(store.diagnostics().writer_stopped);
    assert!(matches!(store.close(), Err(StoreError::WriterStopped)));

    let reopened = Store::open(StoreConfig::new(dir.path())).unwrap();
    for (i, receipt) in acknowledged.iter().enumerate() {
        let event = reopened.get(receipt.event_id).unwrap().unwrap();
        assert_eq!(event.header.position.sequence, receipt.sequence);
        assert_eq!(event.payload, serde_json::json!(i));
    }
    assert!(reopened.verify().unwrap().is_clean());
}

#[test]
fn a_writer_failing_inside_a_fence_answers_writer_stopped_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults::new(true);
    faults
        .syncs_left
        .store(SYNCS_BEFORE_FAILURE, Ordering::SeqCst);
    let io = Arc::new(FaultyIo::new(Arc::clone(&faults), None));
    let store = Store::open_with_io(StoreConfig::new(dir.path()), io).unwrap();
    let coord = Coordinate::new("e", "s").unwrap();
    let fence = store.begin_visibility_fence().unwrap();
    // Fenced writes are durable at once: each group syncs until the disk fails.
    let mut tickets = Vec::new();
    for i in 0..APPENDS_MAX {
        let ticket = fence.submit(&coord, KIND, &i).unwrap();
        store.sync().ok();
        tickets.push(ticket);
        if store.diagnostics().writer_stopped {
            break;
        }
    }
    assert!(store.diagnostics().writer_stopped, "no injected failure");
    assert!(fence.commit().is_err());
    for ticket in tickets {
        assert!(ticket.wait().is_err());
    }
    let later = store.append(&coord, KIND, &"after");
    assert!(matches!(later, Err(StoreError::WriterStopped)), "{later:?}");
    let fence = store.begin_visibility_fence();
    assert!(
        matches!(fence, Err(StoreError::WriterStopped)),
        "{:?}",
        fence.err()
    );
}

/// The real files append with positioned writes: each write lands right
/// after the last, and a file opened again appends after what it holds.
#[test]
fn std_files_append_at_their_end_across_reopens() {
    use super::{LogIo, StdIo};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mut file = StdIo.create_new(&path).unwrap();
    file.write_all(b"ab").unwrap();
    file.write_all(b"cd").unwrap();
    drop(file);
    let mut file = StdIo.open_append(&path).unwrap();
    file.write_all(b"ef").unwrap();
    file.sync_data().unwrap();
    assert_eq!(StdIo.read(&path).unwrap(), b"abcdef");
    assert!(
        StdIo.create_new(&path).is_err(),
        "create_new refuses an existing file"
    );
}

/// `read_from` returns the bytes from an offset to the end, none past the
/// end; through a prefix view, only up to the segment's listed length, and an
/// error when the file is shorter than that (it shrank under the view).
#[test]
fn read_from_an_offset_stops_at_the_end_or_the_listed_length() {
    use super::{LogIo, StdIo};
    use crate::store::log::{prefix::PrefixIo, segment};
    let dir = tempfile::tempdir().unwrap();
    let path = segment::segment_path(dir.path(), 1);
    std::fs::write(&path, b"0123456789").unwrap();
    assert_eq!(StdIo.read_from(&path, 0).unwrap(), b"0123456789");
    assert_eq!(StdIo.read_from(&path, 7).unwrap(), b"789");
    assert!(StdIo.read_from(&path, 10).unwrap().is_empty());
    assert!(StdIo.read_from(&path, 99).unwrap().is_empty());
    let view = |len| PrefixIo::new(Arc::new(StdIo), dir.path(), &[(1, len)]);
    assert_eq!(view(8).read_from(&path, 3).unwrap(), b"34567");
    assert!(view(8).read_from(&path, 9).unwrap().is_empty());
    let shrunk = view(12).read_from(&path, 3).unwrap_err();
    assert_eq!(shrunk.kind(), std::io::ErrorKind::UnexpectedEof);
}

/// Mapped appends (Linux): bytes before the first page boundary are
/// written, the rest copied through the map with space reserved ahead in
/// chunks; the file reads back exactly what was appended, and a trim cuts
/// the reserved zeros off so it is exactly that long, also after appending
/// on past a trim.
#[cfg(target_os = "linux")]
#[test]
fn mapped_appends_read_back_whole_and_trim_to_their_end() {
    use super::{LogIo, StdIo};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let mut file = StdIo.create_new(&path).unwrap();
    let mut expected = b"header".to_vec();
    file.write_all(&expected).unwrap();
    assert!(file.map_appends(64 << 20).unwrap());
    // Enough to cross the first page boundary and the first reserved chunk.
    let chunk: Vec<u8> = (0..1_000u32).map(|i| (i % 251) as u8 + 1).collect();
    let mut round = 0;
    while expected.len() < (super::mapped::RESERVE_CHUNK as usize) + 10_000 {
        let part = &chunk[..(round * 37) % chunk.len() + 1];
        file.write_all(part).unwrap();
        expected.extend_from_slice(part);
        if round % 50 == 49 {
            // A group larger than the map takes is written, in place.
            let big = chunk.repeat(10);
            file.write_all(&big).unwrap();
            expected.extend_from_slice(&big);
        }
        round += 1;
    }
    let on_disk = StdIo.read(&path).unwrap();
    assert!(on_disk.len() > expected.len(), "space is reserved ahead");
    assert_eq!(&on_disk[..expected.len()], &expected[..]);
    assert!(on_disk[expected.len()..].iter().all(|b| *b == 0));
    assert!(file.trim().unwrap());
    assert_eq!(StdIo.read(&path).unwrap(), expected);
    assert!(!file.trim().unwrap(), "nothing left to cut");
    file.write_all(b"after the trim").unwrap();
    expected.extend_from_slice(b"after the trim");
    file.sync_data().unwrap();
    assert!(file.trim().unwrap());
    drop(file);
    assert_eq!(StdIo.read(&path).unwrap(), expected);
    // A reopened file appends after its end, mapped again.
    let mut file = StdIo.open_append(&path).unwrap();
    assert!(file.map_appends(1 << 20).unwrap());
    file.write_all(b"reopened").unwrap();
    expected.extend_from_slice(b"reopened");
    file.trim().unwrap();
    assert_eq!(StdIo.read(&path).unwrap(), expected);
}
