//! The seam is real: a store opened over a `LogIo` whose fsyncs start failing
//! stops its writer at the first failure, and everything it acknowledged
//! before survives a reopen over the real file system.

use super::{LogFile, LogIo, StdIo};
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::store::{IoOp, Store, StoreConfig, StoreError};
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const KIND: EventKind = EventKind::custom(0x3, 1);

/// `sync_data` calls that succeed before the injected failure.
const SYNCS_BEFORE_FAILURE: u64 = 5;

/// Appends tried before the test gives up waiting for the failure.
const APPENDS_MAX: usize = 1_000;

/// The `errno` of an I/O error on Linux and the BSDs.
const EIO: i32 = 5;

/// `StdIo`, except that the files it opens fail `sync_data` with `EIO` once
/// the shared budget of successful calls is spent.
#[derive(Debug)]
struct FailingSync {
    syncs_left: Arc<AtomicU64>,
}

impl FailingSync {
    fn wrap(&self, inner: Box<dyn LogFile>) -> Box<dyn LogFile> {
        Box::new(FailingFile {
            inner,
            syncs_left: Arc::clone(&self.syncs_left),
        })
    }
}

impl LogIo for FailingSync {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        StdIo.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        StdIo.list(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        StdIo.read(path)
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        StdIo.len(path)
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        StdIo.open_append(path).map(|f| self.wrap(f))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        StdIo.create_new(path).map(|f| self.wrap(f))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdIo.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        StdIo.remove(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        StdIo.remove_dir_all(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        StdIo.truncate(path, len)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdIo.sync_dir(dir)
    }
}

/// A file of [`FailingSync`].
#[derive(Debug)]
struct FailingFile {
    inner: Box<dyn LogFile>,
    syncs_left: Arc<AtomicU64>,
}

impl LogFile for FailingFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let spent = self
            .syncs_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err();
        if spent {
            return Err(io::Error::from_raw_os_error(EIO));
        }
        self.inner.sync_data()
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.inner.sync_all()
    }
}

#[test]
fn a_failed_fsync_stops_the_writer_and_keeps_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let syncs_left = Arc::new(AtomicU64::new(SYNCS_BEFORE_FAILURE));
    let io = Arc::new(FailingSync {
        syncs_left: Arc::clone(&syncs_left),
    });
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
    syncs_left.store(u64::MAX, Ordering::SeqCst);
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
    let syncs_left = Arc::new(AtomicU64::new(SYNCS_BEFORE_FAILURE));
    let io = Arc::new(FailingSync {
        syncs_left: Arc::clone(&syncs_left),
    });
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
