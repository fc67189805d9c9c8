//! State shared by the store handle, its writer thread and background workers:
//! the index, read handles on segment files, the file-system seam, the frontier
//! and the subscriber list.

use super::notify::Subscribers;
use super::recycle::Recycler;
use crate::store::config::StoreConfig;
use crate::store::frontier::FrontierCell;
use crate::store::index::Index;
use crate::store::keys::KeyRing;
use crate::store::ledger::SchemaRegistry;
use crate::store::locking::EntityLocks;
use crate::store::log::io::LogIo;
use crate::store::log::reader::SegmentFiles;
use crate::store::log::recovery::follow::Follower;
use crate::store::log::recovery::RecoveryReport;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

/// Everything shared between a store's handle, writer and workers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: StoreConfig,
    pub index: RwLock<Index>,
    pub files: SegmentFiles,
    /// Every file operation that writes into the data directory goes through it.
    pub io: Arc<dyn LogIo>,
    pub frontier: FrontierCell,
    pub subscribers: Subscribers,
    pub fence_active: AtomicBool,
    pub closed: AtomicBool,
    pub report: Mutex<RecoveryReport>,
    pub read_only: bool,
    /// The store is a replica (`Store::open_replica`): its writer takes only
    /// its primary's events.
    pub replica: AtomicBool,
    pub schemas: SchemaRegistry,
    /// The data keys of personal fields.
    pub keys: KeyRing,
    pub recycler: Recycler,
    /// Serializes `Store::execute` per entity within the process.
    pub entity_locks: EntityLocks,
    /// Where a read-only store reads on from (`None` in read-write stores).
    pub follower: Mutex<Option<Follower>>,
    /// The last error of a read-only store's background refresh, cleared by
    /// the next that succeeds.
    pub follow_error: Mutex<Option<String>>,
    /// Raised when a block of the index's mapped base failed its check (the
    /// base then rebuilt its image from the log, or became unusable): the
    /// writer looks at the base before each write from then on.
    pub index_damaged: Arc<AtomicBool>,
}
