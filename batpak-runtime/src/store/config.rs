//! [`StoreConfig`]: every knob of a store, with defaults from [`StoreConfig::new`].
//! Fields are public so struct-update syntax works; the `with_*` builders are the
//! same settings by method.

use std::path::{Path, PathBuf};

mod retention;
pub use retention::RetentionPolicy;

/// Hard upper bound on one frame, whatever the configuration says (the frame
/// length word has 24 bits).
pub const FRAME_BYTES_HARD_MAX: usize = (1 << 24) - 1;

/// How the writer makes data durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncMode {
    /// `fdatasync`: file data and the metadata needed to read it back.
    #[default]
    Data,
    /// `fsync`: data and all metadata.
    All,
}

/// The fsync cadence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// Sync after this many events. `1` means every acknowledged append is already
    /// durable; larger values trade that for throughput (`sync()`, `frontier()` and
    /// `wait_for_durable` tell when data is durable).
    pub every_n_events: u32,
    /// Which system call makes data durable.
    pub mode: SyncMode,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            every_n_events: 1,
            mode: SyncMode::Data,
        }
    }
}

/// Which secondary indexes the store keeps in memory. Query results never depend
/// on this; queries without their index scan the primary index instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexTopology {
    /// Event positions per kind (for `by_fact` and kind-filtered regions).
    pub by_kind: bool,
    /// Event positions per scope (for `by_scope`).
    pub by_scope: bool,
    /// Event positions per correlation id, for reactions (for causal-tree queries).
    pub by_correlation: bool,
}

impl IndexTopology {
    /// Every secondary index.
    pub const fn all() -> Self {
        Self {
            by_kind: true,
            by_scope: true,
            by_correlation: true,
        }
    }

    /// No secondary index: the smallest memory footprint, slower queries.
    pub const fn minimal() -> Self {
        Self {
            by_kind: false,
            by_scope: false,
            by_correlation: false,
        }
    }
}

impl Default for IndexTopology {
    fn default() -> Self {
        Self {
            by_kind: true,
            by_scope: false,
            by_correlation: true,
        }
    }
}

/// What a read-write open may cut from the log (see docs/format.md,
/// "Recovery rules"). Whatever is cut is kept in the quarantine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecoveryMode {
    /// Cut only a torn tail: undecodable bytes at the end of the newest
    /// segment past its durable watermark, which no `fdatasync` ever
    /// covered. Damage before the watermark is `StoreError::Corrupt`.
    #[default]
    TornTailOnly,
    /// Also cut the newest segment at its first damaged frame when the
    /// damage lies before the watermark: acknowledged events after it are
    /// given up (their bytes stay in the quarantine, and the report names
    /// the batches and fences the cut left unfinished). For an operator who
    /// has no backup to restore; damage in a sealed segment is still an error.
    Salvage,
}

/// Configuration of a store: start from [`StoreConfig::new`] and adjust with
/// the `with_*` methods.
///
/// ```
/// use batpak_runtime::store::{RecoveryMode, StoreConfig};
///
/// let config = StoreConfig::new("./data")
///     .with_sync_every_n_events(100) // acknowledge before fsync, sync every 100 events
///     .with_segment_max_bytes(16 << 20)
///     .with_enable_mmap_index(true) // reopen from the index snapshot
///     .with_recovery(RecoveryMode::TornTailOnly);
/// assert_eq!(config.sync.every_n_events, 100);
/// ```
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Directory holding the segment files, lock file and snapshots.
    pub data_dir: PathBuf,
    /// fsync cadence.
    pub sync: SyncConfig,
    /// A segment file is closed and a new one started once it reaches this size.
    pub segment_max_bytes: u64,
    /// Largest encoded frame (header, names and payload), at most [`FRAME_BYTES_HARD_MAX`].
    pub frame_max_bytes: usize,
    /// Capacity of the writer's bounded command channel.
    pub writer_channel_capacity: usize,
    /// `try_submit*` answers `Outcome::Retry` once this percentage of the channel is in use.
    pub writer_pressure_retry_threshold_pct: u8,
    /// Most commands the writer takes into one group commit.
    pub group_commands_max: usize,
    /// Most items in one atomic batch.
    pub batch_items_max: usize,
    /// Most payload bytes in one atomic batch.
    pub batch_bytes_max: usize,
    /// Keep an index snapshot on disk and map it on open instead of scanning segments.
    pub enable_mmap_index: bool,
    /// Append through a shared memory map of the active segment instead of
    /// a `write` per group (Linux, on by default; ignored elsewhere). See
    /// [`with_mapped_appends`](Self::with_mapped_appends).
    pub mapped_appends: bool,
    /// Which secondary indexes to keep.
    pub index_topology: IndexTopology,
    /// Capacity of each lossy subscription's channel.
    pub subscription_capacity: usize,
    /// What a read-write open may cut from a damaged log.
    pub recovery: RecoveryMode,
    /// The time event ids and timestamps are stamped from (the system's by
    /// default; a `ManualClock` makes a test's ids repeatable).
    pub clock: std::sync::Arc<dyn crate::event::Clock>,
    /// A read-only store refreshes from the log every this long, on a
    /// thread of its own, following a writer in another process (`None`:
    /// only when [`Store::refresh`](super::Store::refresh) is called).
    /// Read-write stores ignore it.
    pub follow_interval: Option<std::time::Duration>,
    /// Retention policies `Store::compact` applies (docs/retention.md).
    pub retention: Vec<RetentionPolicy>,
    /// Where the data keys of personal fields live (`None`: a
    /// [`FileKeyStore`](super::FileKeyStore) in `keys/` of the data
    /// directory). See docs/retention.md.
    pub key_store: Option<std::sync::Arc<dyn super::keys::KeyStore>>,
    /// Signs every receipt (cargo feature `signing`).
    #[cfg(feature = "signing")]
    pub signing_key: Option<super::signing::ReceiptSigner>,
}

impl StoreConfig {
    /// Defaults for a store in `data_dir`: every append durable before it is
    /// acknowledged, 64 MiB segments, 4 MiB frames, mapped appends on Linux.
    pub fn new(data_dir: impl AsRef<Path>) -> Self {
        Self {
            data_dir: data_dir.as_ref().to_path_buf(),
            sync: SyncConfig::default(),
            segment_max_bytes: 64 << 20,
            frame_max_bytes: 4 << 20,
            writer_channel_capacity: 1024,
            writer_pressure_retry_threshold_pct: 80,
            group_commands_max: 512,
            batch_items_max: 65_536,
            batch_bytes_max: 64 << 20,
            enable_mmap_index: false,
            mapped_appends: true,
            index_topology: IndexTopology::default(),
            subscription_capacity: 1024,
            recovery: RecoveryMode::TornTailOnly,
            clock: std::sync::Arc::new(crate::event::SystemClock),
            follow_interval: None,
            retention: Vec::new(),
            key_store: None,
            #[cfg(feature = "signing")]
            signing_key: None,
        }
    }

    /// Sets the fsync cadence.
    pub fn with_sync(mut self, sync: SyncConfig) -> Self {
        self.sync = sync;
        self
    }

    /// Sets how many events may be written between two fsyncs.
    pub fn with_sync_every_n_events(mut self, n: u32) -> Self {
        self.sync.every_n_events = n;
        self
    }

    /// Sets the segment rotation size.
    pub fn with_segment_max_bytes(mut self, bytes: u64) -> Self {
        self.segment_max_bytes = bytes;
        self
    }

    /// Sets the largest frame.
    pub fn with_frame_max_bytes(mut self, bytes: usize) -> Self {
        self.frame_max_bytes = bytes;
        self
    }

    /// Sets the writer channel capacity.
    pub fn with_writer_channel_capacity(mut self, capacity: usize) -> Self {
        self.writer_channel_capacity = capacity;
        self
    }

    /// Sets the pressure threshold (percent of the channel capacity).
    pub fn with_writer_pressure_retry_threshold_pct(mut self, pct: u8) -> Self {
        self.writer_pressure_retry_threshold_pct = pct;
        self
    }

    /// Sets the batch limits.
    pub fn with_batch_limits(mut self, items_max: usize, bytes_max: usize) -> Self {
        self.batch_items_max = items_max;
        self.batch_bytes_max = bytes_max;
        self
    }

    /// Turns the memory-mapped index snapshot on or off.
    pub fn with_enable_mmap_index(mut self, enable: bool) -> Self {
        self.enable_mmap_index = enable;
        self
    }

    /// Appends through a shared memory map of the active segment (Linux, on
    /// by default; elsewhere the setting is ignored) when the store does not
    /// fsync every event (`SyncConfig::every_n_events` above 1; with an
    /// fsync per group the fsync dominates, and eight durable producers
    /// measured a sixth slower mapped). Each group is copied into the page
    /// cache without a `write` system call: in `cargo bench --bench append`
    /// on the 2-core development machine, single appends used 37-47% less
    /// CPU this way than with writes (docs/performance.md). Groups larger
    /// than 4 KiB (batches) are still written. Durability, visibility and
    /// what a crash of the process or of the machine keeps are the same as
    /// with writes.
    ///
    /// The active segment has space reserved ahead of its end, in 4 MiB
    /// steps with `fallocate` (so a full disk is an error, as with writes),
    /// which reads as zeros until written; it is cut off when the segment is
    /// sealed and at close, and recovery cuts what a crash left of it. A
    /// file system without `fallocate` gets plain writes. One difference
    /// remains: should the disk fail to read back a page the writer is
    /// still filling (evicted under memory pressure, then unreadable), the
    /// process ends with `SIGBUS` where a `write` would have returned the
    /// I/O error (as a read of a mapped segment already would); `false`
    /// keeps every append a `write`.
    ///
    /// ```
    /// use batpak_runtime::store::StoreConfig;
    ///
    /// // Group commit: an fsync every 1,000 events, appends copied into a map.
    /// let fast = StoreConfig::new("./data").with_sync_every_n_events(1_000);
    /// assert!(fast.mapped_appends);
    /// // Every append written with a system call.
    /// let written = fast.with_mapped_appends(false);
    /// assert!(!written.mapped_appends);
    /// ```
    pub fn with_mapped_appends(mut self, enable: bool) -> Self {
        self.mapped_appends = enable;
        self
    }

    /// Chooses the secondary indexes.
    pub fn with_index_topology(mut self, topology: IndexTopology) -> Self {
        self.index_topology = topology;
        self
    }

    /// Signs every receipt with `signer` (cargo feature `signing`).
    #[cfg(feature = "signing")]
    pub fn with_signing_key(mut self, signer: super::signing::ReceiptSigner) -> Self {
        self.signing_key = Some(signer);
        self
    }

    /// Sets each lossy subscription's channel capacity.
    pub fn with_subscription_capacity(mut self, capacity: usize) -> Self {
        self.subscription_capacity = capacity;
        self
    }

    /// Stamps event ids and timestamps from `clock` (see
    /// [`ManualClock`](crate::event::ManualClock) for repeatable tests).
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::event::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Makes a read-only store refresh from the log every `interval` on a
    /// thread of its own, so it follows a writer in another process with at
    /// most about that much delay past the writer's sync (see
    /// [`Store::refresh`](super::Store::refresh)).
    pub fn with_follow_interval(mut self, interval: std::time::Duration) -> Self {
        self.follow_interval = Some(interval);
        self
    }

    /// Adds a retention policy, applied by `Store::compact` (and
    /// `Store::apply_retention`); several policies over one entity cut as
    /// far as the furthest of them.
    pub fn with_retention_policy(mut self, policy: RetentionPolicy) -> Self {
        self.retention.push(policy);
        self
    }

    /// Keeps the data keys of personal fields in `keys` (a KMS, or a
    /// [`FileKeyStore`](super::FileKeyStore) outside the data directory)
    /// instead of `keys/` in the data directory.
    pub fn with_key_store(mut self, keys: std::sync::Arc<dyn super::keys::KeyStore>) -> Self {
        self.key_store = Some(keys);
        self
    }

    /// What a read-write open may cut from a damaged log (see [`RecoveryMode`]).
    pub fn with_recovery(mut self, mode: RecoveryMode) -> Self {
        self.recovery = mode;
        self
    }

    /// The limits after clamping nonsense values (a zero capacity, a frame limit
    /// above the hard maximum) to the nearest sane one.
    pub(crate) fn normalized(mut self) -> Self {
        self.writer_channel_capacity = self.writer_channel_capacity.max(1);
        self.writer_pressure_retry_threshold_pct =
            self.writer_pressure_retry_threshold_pct.clamp(1, 100);
        self.group_commands_max = self.group_commands_max.max(1);
        self.frame_max_bytes = self.frame_max_bytes.clamp(256, FRAME_BYTES_HARD_MAX);
        self.sync.every_n_events = self.sync.every_n_events.max(1);
        self.batch_items_max = self.batch_items_max.max(1);
        self.subscription_capacity = self.subscription_capacity.max(1);
        // Offsets are 32-bit in the index: a segment plus one batch must stay
        // below 4 GiB.
        self.batch_bytes_max = self.batch_bytes_max.clamp(1, 1 << 30);
        self.segment_max_bytes = self.segment_max_bytes.clamp(4096, 1 << 31);
        self
    }

    /// Queued commands at which `try_submit*` starts answering `Retry`:
    /// ceil(capacity × pct / 100), at least 1.
    pub fn pressure_threshold(&self) -> usize {
        let pct = self.writer_pressure_retry_threshold_pct.clamp(1, 100) as usize;
        (self.writer_channel_capacity * pct).div_ceil(100).max(1)
    }
}
