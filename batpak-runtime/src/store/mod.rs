//! The store: open a data directory, append through the single writer thread,
//! read through the in-memory index.
//!
//! `Store<ReadWrite>` (the default) owns the directory's lock and a writer thread;
//! `Store<ReadOnly>` serves the same reads from a scan of the segments, takes no
//! lock, never writes a byte into the data directory, and follows a writer in
//! another process on `refresh` (`follow`).

// The model: types every layer of the store shares.
pub(crate) mod codec;
mod config;
mod error;
mod frontier;
pub mod index;
mod keys;
mod locking;
mod options;
mod registry;
mod signing;
// The log engine: every file operation.
pub(crate) mod log;
// The schema ledger over the log.
pub mod ledger;
// The writer thread.
pub(crate) mod writer;
// The `Store` API.
mod backup;
mod cache;
mod compact;
pub mod delivery;
mod fence;
mod follow;
mod observe;
mod outbox;
mod personal;
mod prefetch;
mod projection;
mod range;
mod read;
mod read_ahead;
pub mod replay;
mod replica;
mod retention;
mod ticket;
mod typed;
mod write;

pub use cache::{CacheKey, MemoryCache, NativeCache, NoCache, ProjectionCache};
pub use compact::CompactReport;
pub use config::{
    IndexTopology, RecoveryMode, RetentionPolicy, StoreConfig, SyncConfig, SyncMode,
    FRAME_BYTES_HARD_MAX,
};
pub use delivery::cursor::{
    AtLeastOnce, Cursor, CursorWorkerAction, CursorWorkerConfig, CursorWorkerHandle, RestartPolicy,
};
pub use delivery::reactor::{ReactionBatch, Reactor};
pub use delivery::subscription::{
    Notification, ScanSubscriptionOps, Subscription, SubscriptionOps,
};
pub use error::{
    BatchProblem, CorruptionKind, DecodeError, IoOp, LogPosition, ReplicaProblem, StoreError,
};
pub use fence::VisibilityFence;
pub use frontier::{Frontier, Watermark};
pub use index::{BaseState, IndexEntry};
pub use keys::{DataKey, KeyId, KeyStore};
pub use log::keys::FileKeyStore;
pub use log::quarantine::QuarantinedCut;
pub use log::recovery::{ChainBreak, RecoveryReport, TruncatedTail, UnfinishedUnit};
pub use options::{
    AppendOptions, AppendReceipt, BatchAppendItem, CausationRef, DurabilityGate, ReceiptSignature,
    ReplicatedEvent, ReplicatedName,
};
pub use outbox::Outbox;
pub use personal::{ErasureRecord, ERASURE_ENTITY};
pub use projection::{Freshness, ProjectionWatch};
pub use range::{StreamIter, StreamRange};
pub use read::{Diagnostics, StoreStats, VerifyReport};
pub use retention::{EntityRetention, RetentionCut, RetentionRecord};
pub use signing::{key_id, receipt_message};
#[cfg(feature = "signing")]
pub use signing::{verify_receipt, ReceiptSigner};
pub use ticket::{AppendTicket, BatchAppendTicket, Outcome, RetryReason, WriterPressure};
pub use typed::TypedRead;

use log::io::{LogIo, StdIo};
use log::lock::DirLock;
use log::reader::SegmentFiles;
use log::recovery::follow::Follower;
use log::{recovery, snapshot};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use writer::shared::Shared;
use writer::{Command, Writer};

/// Marker of a store that owns its directory and writes.
#[derive(Debug)]
pub enum ReadWrite {}

/// Marker of a store that only reads (`Store::open_read_only*`).
#[derive(Debug)]
pub enum ReadOnly {}

/// An open event store: one directory, one writer thread, an in-memory
/// index. `Store<ReadWrite>` (from [`Store::open`]) writes; a
/// `Store<ReadOnly>` (from [`Store::open_read_only`]) only reads.
///
/// ```
/// use batpak_runtime::prelude::*;
/// use batpak_runtime::store::StreamRange;
///
/// # let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(StoreConfig::new(dir.path()))?;
/// let cart = Coordinate::new("cart:1", "shop")?;
/// let added = EventKind::custom(0x1, 1);
/// // Returns once the event is fsynced (the default sync cadence).
/// let receipt = store.append(&cart, added, &serde_json::json!({ "sku": "apple" }))?;
/// assert_eq!(receipt.entity_sequence, 1);
/// // Compare-and-swap: the next append must follow sequence 1.
/// let opts = AppendOptions::new().with_cas(store.entity_sequence("cart:1"));
/// store.append_with_options(&cart, added, &serde_json::json!({ "sku": "pear" }), opts)?;
/// let newest = store.stream_range("cart:1", StreamRange::all().backwards().limit(1));
/// assert_eq!(newest[0].entity_sequence, 2);
/// assert_eq!(store.count(&Region::all().with_kind(added)), 2);
/// store.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store<M = ReadWrite> {
    shared: Arc<Shared>,
    tx: Option<writer::combine::Mailbox>,
    thread: Option<JoinHandle<()>>,
    cache: Box<dyn ProjectionCache>,
    lock: Option<DirLock>,
    _mode: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for Store<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.shared.config.data_dir)
            .field("read_only", &self.shared.read_only)
            .finish()
    }
}

/// Rebuilds the index: from the snapshot when enabled and valid, else by a scan.
fn recover(
    config: &StoreConfig,
    io: &dyn LogIo,
    repair: bool,
) -> Result<recovery::Recovered, StoreError> {
    let _span = observe::span("batpak.open");
    let timer = observe::Timer::start();
    let rec = recover_quietly(config, io, repair)?;
    let r = &rec.report;
    let cut = r.truncated_tail.as_ref().map(|t| t.bytes);
    observe::opened(
        !repair,
        r.segments,
        r.events,
        cut,
        r.from_snapshot,
        timer.elapsed(),
    );
    Ok(rec)
}

fn recover_quietly(
    config: &StoreConfig,
    io: &dyn LogIo,
    repair: bool,
) -> Result<recovery::Recovered, StoreError> {
    let mut rejected = None;
    if config.enable_mmap_index {
        match snapshot::load(io, &config.data_dir, config.index_topology)? {
            Ok(Some((mut rec, snapshot::Coverage::All))) => {
                rec.report.events = rec.index.len() as u64;
                if !repair {
                    let dir = &config.data_dir;
                    let topology = config.index_topology;
                    rec.follower = Some(Follower::after_snapshot(dir, &rec.seed, topology));
                }
                return Ok(rec);
            }
            Ok(Some((rec, snapshot::Coverage::Upto(from)))) => {
                // The log grew after the snapshot (a crash, or a store that
                // wrote without one): only what follows it is scanned.
                let opts = scan_options(config, repair);
                let (index, seed, base) = (rec.index, rec.seed, rec.base_segments);
                let dir = &config.data_dir;
                let mut rec = recovery::scan_from(io, dir, opts, index, seed, Some(from))?;
                rec.base_segments = base;
                rec.report.from_snapshot = true;
                rec.report.snapshot_resumed_at = Some(from);
                return Ok(rec);
            }
            Ok(None) => {}
            Err(reason) => rejected = Some(reason),
        }
    }
    let opts = scan_options(config, repair);
    let mut rec = recovery::scan_with(io, &config.data_dir, opts)?;
    rec.report.snapshot_rejected = rejected;
    Ok(rec)
}

/// How an open scans the log.
fn scan_options(config: &StoreConfig, repair: bool) -> recovery::ScanOptions {
    recovery::ScanOptions {
        repair,
        check_chains: false,
        topology: config.index_topology,
        salvage: config.recovery == RecoveryMode::Salvage,
        // A scan that does not repair opens a read-only store, which follows.
        follow: !repair,
    }
}

/// `dir`, or the current directory for the empty path a relative path's
/// ancestors end with.
fn or_current(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// Creates the data directory and its missing parents durably: each new
/// directory's name is synced into its parent. The first segment's creation
/// syncs only the data directory itself, so without this a power loss soon
/// after a store's first open could take the whole directory, acknowledged
/// events included.
fn create_data_dir(io: &dyn LogIo, dir: &Path) -> Result<(), StoreError> {
    let missing = dir
        .ancestors()
        .map(or_current)
        .take_while(|d| matches!(io.list(d), Err(e) if e.kind() == std::io::ErrorKind::NotFound))
        .count();
    io.create_dir_all(dir)
        .map_err(|e| StoreError::io(IoOp::CreateDir, dir, e))?;
    for parent in dir.ancestors().skip(1).take(missing) {
        log::segment::sync_dir(io, or_current(parent))?;
    }
    Ok(())
}

fn shared_from(
    config: StoreConfig,
    io: Arc<dyn LogIo>,
    rec: &mut recovery::Recovered,
    read_only: bool,
) -> Arc<Shared> {
    let mut index = std::mem::replace(&mut rec.index, index::Index::new(config.index_topology));
    let visible = index.last_sequence();
    let index_damaged = Arc::new(AtomicBool::new(false));
    if !rec.base_segments.is_empty() {
        index.set_rebuild(rebuild_base(
            Arc::clone(&io),
            &config,
            std::mem::take(&mut rec.base_segments),
            Arc::clone(&index_damaged),
        ));
    }
    let files = if read_only {
        SegmentFiles::positioned(&config.data_dir)
    } else {
        SegmentFiles::new(&config.data_dir)
    };
    let key_store = config.key_store.clone().unwrap_or_else(|| {
        let dir = log::keys::FileKeyStore::default_dir(&config.data_dir);
        Arc::new(log::keys::FileKeyStore::with_io(Arc::clone(&io), dir))
    });
    Arc::new(Shared {
        keys: keys::KeyRing::new(key_store, !read_only),
        index: RwLock::new(index),
        files,
        io,
        frontier: frontier::FrontierCell::new(visible),
        subscribers: Default::default(),
        fence_active: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        report: Mutex::new(std::mem::take(&mut rec.report)),
        read_only,
        replica: AtomicBool::new(false),
        config,
        schemas: Default::default(),
        recycler: Default::default(),
        entity_locks: Default::default(),
        follower: Mutex::new(rec.follower.take()),
        follow_error: Mutex::new(None),
        index_damaged,
    })
}

/// How a mapped index base rebuilds its image when a block of it does not
/// match its stored CRC: scan the log prefix its snapshot covered (through a
/// read-only view of exactly those segment lengths) and apply the retention
/// cuts its records set, as the writer had when it saved the snapshot.
/// Raises `damaged` first, so the writer checks the base before its next
/// write.
fn rebuild_base(
    io: Arc<dyn LogIo>,
    config: &StoreConfig,
    segments: Vec<(u64, u64)>,
    damaged: Arc<AtomicBool>,
) -> index::Rebuild {
    let dir = config.data_dir.clone();
    let topology = config.index_topology;
    Box::new(move || {
        damaged.store(true, Ordering::Release);
        let view = log::prefix::PrefixIo::new(Arc::clone(&io), &dir, &segments);
        let opts = recovery::ScanOptions {
            repair: false,
            check_chains: false,
            topology,
            salvage: false,
            follow: false,
        };
        let rec = recovery::scan_with(&view, &dir, opts).ok()?;
        let index = RwLock::new(rec.index);
        retention::load(&index, &SegmentFiles::new(&dir)).ok()?;
        index.into_inner().ok()
    })
}

impl Store<ReadWrite> {
    /// Opens (creating if needed) the store in `config.data_dir`: takes the
    /// directory lock, recovers the index from the segments (cutting off a torn
    /// tail), and starts the writer thread.
    pub fn open(config: StoreConfig) -> Result<Self, StoreError> {
        Self::open_with_io(config, Arc::new(StdIo))
    }

    /// [`Store::open`] with every file operation that writes going through
    /// `io` instead of `std::fs`, so tests can inject faults.
    pub(crate) fn open_with_io(
        config: StoreConfig,
        io: Arc<dyn LogIo>,
    ) -> Result<Self, StoreError> {
        Self::start(config, io, false)
    }

    /// Opens the store and starts its writer, as a replica's (which takes
    /// only its primary's events) when `replica`.
    pub(crate) fn start(
        config: StoreConfig,
        io: Arc<dyn LogIo>,
        replica: bool,
    ) -> Result<Self, StoreError> {
        let config = config.normalized();
        let dir = config.data_dir.clone();
        create_data_dir(&*io, &dir)?;
        let lock = DirLock::exclusive(&dir)?;
        let mut rec = recover(&config, &*io, true)?;
        let capacity = config.writer_channel_capacity;
        let shared = shared_from(config, io, &mut rec, false);
        shared.replica.store(replica, Ordering::Release);
        ledger::load(&shared.schemas, &shared.index, &shared.files)?;
        retention::load(&shared.index, &shared.files)?;
        let mut writer = Writer::new(Arc::clone(&shared), rec.seed)?;
        if replica {
            writer = writer.into_replica();
        }
        let (tx, rx) = flume::bounded(capacity);
        let name = if replica {
            "batpak-replica"
        } else {
            "batpak-writer"
        };
        let combiner = writer::combine::Combiner::new(writer);
        let runner = Arc::clone(&combiner);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || writer::combine::run(runner, rx))
            .map_err(|e| StoreError::io(IoOp::Spawn, &dir, e))?;
        Ok(Self {
            shared,
            tx: Some(writer::combine::Mailbox::new(tx, combiner)),
            thread: Some(thread),
            cache: Box::new(NoCache),
            lock: Some(lock),
            _mode: PhantomData,
        })
    }

    /// Uses `cache` for projections from now on.
    pub fn with_projection_cache(mut self, cache: Box<dyn ProjectionCache>) -> Self {
        self.cache = cache;
        self
    }
}

impl Store<ReadOnly> {
    /// Opens an existing store for reading only, alongside a writer in
    /// another process or none. It takes no lock (a writer opening meanwhile
    /// is not held up, and a second writer still gets `StoreLocked` from the
    /// first), scans the segments without repairing anything, and never
    /// creates or writes a file in the data directory. It sees what was
    /// there when it opened; [`refresh`](Store::refresh), or a background
    /// thread with [`StoreConfig::with_follow_interval`], follows the writer
    /// on (docs/format.md, "Readers in other processes").
    pub fn open_read_only(config: StoreConfig) -> Result<Self, StoreError> {
        Self::open_read_only_with_cache(config, Box::new(NoCache))
    }

    /// [`Store::open_read_only`] with a projection cache.
    pub fn open_read_only_with_cache(
        config: StoreConfig,
        cache: Box<dyn ProjectionCache>,
    ) -> Result<Self, StoreError> {
        let config = config.normalized();
        log::lock::existing_dir(&config.data_dir)?;
        let io: Arc<dyn LogIo> = Arc::new(StdIo);
        let mut rec = follow::recover(&config)?;
        let shared = shared_from(config, io, &mut rec, true);
        follow::load_ledger(&shared)?;
        let thread = match shared.config.follow_interval {
            Some(interval) => Some(follow::spawn(Arc::clone(&shared), interval)?),
            None => None,
        };
        Ok(Self {
            shared,
            tx: None,
            thread,
            cache,
            lock: None,
            _mode: PhantomData,
        })
    }

    /// [`Store::open_read_only`] with a [`NativeCache`] in `cache_dir` (which
    /// should lie outside the data directory if that must stay untouched).
    pub fn open_read_only_with_native_cache(
        config: StoreConfig,
        cache_dir: impl AsRef<std::path::Path>,
    ) -> Result<Self, StoreError> {
        let cache = NativeCache::new(cache_dir.as_ref())?;
        Self::open_read_only_with_cache(config, Box::new(cache))
    }
}

impl<M> Store<M> {
    /// Stops the writer after it has drained the mailbox (cancelling a live
    /// visibility fence), fsyncs, and releases the directory lock; stops a
    /// read-only store's refresh thread.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), StoreError> {
        self.shared.closed.store(true, Ordering::Release);
        let mut result = Ok(());
        if let Some(tx) = self.tx.take() {
            let (reply, rx) = flume::bounded(1);
            if tx
                .send(
                    Command::Shutdown { reply },
                    writer::handoff::REPLY_POLL,
                    false,
                )
                .is_ok()
            {
                result = rx.recv().unwrap_or(Err(StoreError::WriterStopped));
            }
        }
        if let Some(thread) = self.thread.take() {
            // A read-only store's refresh thread may be waiting out its interval.
            thread.thread().unpark();
            if thread.join().is_err() && result.is_ok() {
                result = Err(StoreError::WriterStopped);
            }
        }
        self.shared.subscribers.close_all();
        self.lock.take();
        result
    }

    /// The configuration the store runs with (after clamping).
    pub fn config(&self) -> &StoreConfig {
        &self.shared.config
    }
}

impl<M> Drop for Store<M> {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

#[cfg(all(test, target_os = "linux"))]
mod mapped_tests;
#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod tests;
