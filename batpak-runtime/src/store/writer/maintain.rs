//! The writer's maintenance of the data directory between groups: index
//! snapshots (at close, and as the log grows), backups' and compaction's
//! sync-first runs, and the active segment's map and reserved space for
//! mapped appends.

use super::Writer;
use crate::store::error::{IoOp, StoreError};
use crate::store::locking;
use crate::store::log::compact::{compact_sealed, holds_cut, CompactReport, Live};
use crate::store::observe;

impl Writer {
    /// Appends through a shared map of the active segment from now on, when
    /// the store asks for it (`StoreConfig::mapped_appends`) and does not
    /// fsync every event. With an fsync per group, that fsync dominates and
    /// each group's first copy into the page the fsync left clean costs a
    /// fault: eight durable producers measured a sixth slower mapped. Best
    /// effort: without the map, appends are written.
    pub(super) fn map_appends(&mut self) {
        if self.config.mapped_appends && self.config.sync.every_n_events > 1 {
            // A batch may take the segment past its size limit by up to a
            // batch; anything beyond the map is written.
            let window = self.config.segment_max_bytes
                + self.config.batch_bytes_max as u64
                + self.config.frame_max_bytes as u64;
            let _ = self.file.map_appends(window);
        }
    }

    /// Cuts space reserved for mapped appends off the active segment, so it
    /// ends where its frames do (before it is sealed, and at close), and
    /// makes the new length durable with the sync that covers what was
    /// written, as an fsync of the file's metadata too: a sealed segment
    /// longer than its link says would be damage to recovery.
    pub(super) fn trim_file(&mut self) {
        if self.failure.is_some() {
            return;
        }
        match self.file.trim() {
            Ok(true) => {
                self.unsynced_bytes = true;
                self.sync_file_with(true);
            }
            Ok(false) => {}
            Err(e) => self.fail_active(IoOp::Truncate, &e),
        }
    }

    /// Writes and syncs everything pending, then runs `f` (a maintenance
    /// operation on the files) unless the writer has failed.
    pub(super) fn after_sync<T>(
        &mut self,
        f: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.group.force_sync = true;
        self.flush();
        match &self.failure {
            Some(_) => Err(self.failure_error()),
            None => f(self),
        }
    }

    /// Saves the index snapshot. At close this is best effort (a store
    /// without a valid snapshot scans its segments on the next open); as the
    /// log grows, a failure stops the writer like any failed I/O in the
    /// directory (`maybe_snapshot`). A snapshot that failed half way is
    /// removed either way.
    pub(super) fn save_snapshot(&self) -> Result<(), StoreError> {
        let index = locking::read(&self.shared.index);
        if index.base_state() == crate::store::index::BaseState::Unusable {
            // Its reads yield nothing: a snapshot of it would hide the log.
            // Without one, the next open scans (and meets the damage).
            let (io, dir) = (&*self.shared.io, &self.config.data_dir);
            crate::store::log::snapshot::remove(io, dir)?;
            return Err(unusable_base(dir));
        }
        let view = crate::store::log::snapshot::SeedView {
            next_sequence: self.next_sequence,
            last_event_id: self.clock.last(),
            next_batch_id: self.next_batch_id,
            next_fence_id: self.next_fence_id,
            defined: &self.names.defined_in(self.segment_id),
            keys: &self.keys,
            active: (self.segment_id, self.segment_len),
        };
        let (io, dir) = (&*self.shared.io, &self.config.data_dir);
        let timer = observe::Timer::start();
        let saved = crate::store::log::snapshot::write(io, dir, &index, &view);
        if saved.is_err() {
            let _ = io.remove(&crate::store::log::snapshot::path(dir));
        }
        observe::snapshot_done("index snapshot", saved.is_ok(), timer.elapsed());
        saved
    }

    /// Syncs, then rewrites the sealed segments without their discarded
    /// writes and the events below a retention floor. When the active
    /// segment holds such events, it is sealed first (a new segment starts),
    /// so compaction reaches every event a floor cut.
    pub(super) fn compact(&mut self) -> Result<CompactReport, StoreError> {
        self.after_sync(|_| Ok(()))?;
        if self.base_unusable() {
            // Compaction moves records the index could not show.
            return Err(unusable_base(&self.config.data_dir));
        }
        let floors = locking::read(&self.shared.index).floors_by_name();
        let (io, dir) = (&*self.shared.io, &self.config.data_dir);
        let active = (self.segment_id, self.segment_len);
        if !floors.is_empty() && holds_cut(io, dir, active, &floors)? {
            self.rotate();
        }
        self.after_sync(|w| {
            let live = Live {
                index: &w.shared.index,
                files: &w.shared.files,
            };
            let (io, dir) = (&*w.shared.io, &w.config.data_dir);
            let last_sequence = w.next_sequence.saturating_sub(1);
            compact_sealed(io, dir, w.segment_id, last_sequence, &floors, &live)
        })
    }

    /// Saves the index snapshot a rotation made due. Called between groups,
    /// before the next one is carried out, so everything written is in the
    /// index and answered, and a failure here refuses the group that
    /// follows instead of surfacing after its callers were answered. Not
    /// while a fence is live (its events are written but not in the index).
    /// Everything is synced first: the snapshot records segment lengths, and
    /// one longer than what survives a power cut would read as lost data.
    pub(super) fn maybe_snapshot(&mut self) {
        if !self.snapshot_due || self.fence.is_some() || self.failure.is_some() {
            return;
        }
        self.snapshot_due = false;
        self.sync_file();
        if self.failure.is_some() {
            return;
        }
        match self.save_snapshot() {
            Ok(()) => self.snapshot_sequence = self.next_sequence - 1,
            Err(StoreError::Io { op, source, .. }) => self.fail(op, &source),
            Err(other) => self.fail(IoOp::Write, &std::io::Error::other(other.to_string())),
        }
    }
}

/// The error of a maintenance task refused because the index's mapped base
/// is unusable.
fn unusable_base(dir: &std::path::Path) -> StoreError {
    let e = std::io::Error::new(std::io::ErrorKind::InvalidData, super::BASE_UNUSABLE);
    StoreError::io(IoOp::Read, crate::store::log::snapshot::path(dir), e)
}
