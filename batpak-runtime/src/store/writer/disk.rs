//! The writer's disk side: writing a group's buffer to the active segment,
//! syncing it, sealing a full segment and starting the next, and stopping
//! for good after a failed write or sync.

use super::{set_written, Writer, BASE_UNUSABLE};
use crate::store::error::{IoOp, StoreError};
use crate::store::index::BaseState;
use crate::store::log::{frame, segment};
use crate::store::{locking, observe};
use std::sync::atomic::Ordering;

impl Writer {
    /// Starts a new segment once the current one is full. Called only between
    /// commands, so a batch never spans two segments.
    pub(super) fn maybe_rotate(&mut self) {
        if self.failure.is_some()
            || self.segment_len + (self.buf.len() as u64) < self.config.segment_max_bytes
        {
            return;
        }
        self.rotate();
    }

    /// How the next event of entity `entity`, with entity sequence
    /// `sequence`, is encoded: lean in a current segment, storing its hash
    /// where `store::log::chain` needs one.
    pub(super) fn encoding(&mut self, entity: u32, sequence: u64) -> frame::Encoding {
        if !self.lean_frames {
            return frame::Encoding::Full;
        }
        let hash = self.names.stores_hash(entity, sequence, self.segment_id);
        frame::Encoding::Lean { hash }
    }

    /// Seals the active segment and starts the next one.
    pub(super) fn rotate(&mut self) {
        if self.failure.is_some() {
            return;
        }
        self.write_buf();
        self.trim_file();
        self.sync_file();
        if self.failure.is_some() {
            return;
        }
        let (io, dir) = (&*self.shared.io, &self.config.data_dir);
        // The old segment is synced and never written again, so its length now
        // is final: the new header records it as the link recovery checks.
        let sealed_len = Some(self.segment_len);
        match segment::create_segment(io, dir, self.segment_id + 1, sealed_len) {
            Ok(file) => {
                observe::rotated(self.segment_id + 1);
                // A snapshot now and then bounds what an open after a crash
                // scans; one whenever the log grew by a quarter since the last
                // keeps the cost of writing them in proportion to the log.
                let since = (self.next_sequence - 1).saturating_sub(self.snapshot_sequence);
                self.snapshot_due |= self.config.enable_mmap_index
                    && since.saturating_mul(4) >= self.snapshot_sequence;
                self.file = file;
                self.segment_id += 1;
                self.segment_len = segment::SEGMENT_HEADER_BYTES;
                self.lean_frames = true;
                self.synced_len = segment::SEGMENT_HEADER_BYTES;
                self.map_appends();
            }
            Err(StoreError::Io { op, source, .. }) => self.fail(op, &source),
            Err(_) => self.fail(
                IoOp::Open,
                &std::io::Error::other("segment creation failed"),
            ),
        }
    }

    /// Stops accepting writes after a failed write or sync. A live fence can
    /// never commit now, so its tickets are answered with the failure in this
    /// group instead of waiting for a commit that cannot come.
    pub(super) fn fail(&mut self, op: IoOp, e: &std::io::Error) {
        if self.failure.is_some() {
            return;
        }
        observe::writer_failed(&op, e);
        self.failure = Some((op, e.kind(), e.to_string()));
        self.shared.frontier.writer_stopped();
        if let Some(fence) = self.fence.take() {
            self.group.replies.extend(fence.replies);
            self.shared.fence_active.store(false, Ordering::Release);
        }
    }

    /// Whether the index's mapped base failed its check and could not be
    /// rebuilt: the group was decided on reads that yielded nothing, so it
    /// must not be written. One relaxed load while the base is intact.
    pub(super) fn base_unusable(&self) -> bool {
        self.shared.index_damaged.load(Ordering::Acquire)
            && locking::read(&self.shared.index).base_state() == BaseState::Unusable
    }

    pub(super) fn failure_error(&self) -> StoreError {
        match &self.failure {
            Some((op, kind, msg)) => StoreError::io(
                *op,
                segment::segment_path(&self.config.data_dir, self.segment_id),
                std::io::Error::new(*kind, msg.clone()),
            ),
            None => StoreError::WriterStopped,
        }
    }

    /// Writes the group buffer and announces it written.
    pub(super) fn write_buf(&mut self) {
        let written = self.write_out();
        self.announce(written);
    }

    /// Writes the group buffer; the sequence it is written through, to
    /// announce (`None` when nothing was written or the write failed).
    pub(super) fn write_out(&mut self) -> Option<u64> {
        if self.buf.is_empty() || self.failure.is_some() {
            return None;
        }
        if self.base_unusable() {
            let e = std::io::Error::new(std::io::ErrorKind::InvalidData, BASE_UNUSABLE);
            self.fail(IoOp::Read, &e);
            return None;
        }
        match self.file.write_all(&self.buf) {
            Ok(()) => {
                self.segment_len += self.buf.len() as u64;
                self.unsynced_bytes = true;
                self.buf.clear();
            }
            Err(e) => self.fail_active(IoOp::Write, &e),
        }
        let accepted = self.next_sequence - 1;
        self.failure.is_none().then(|| {
            self.written_through = accepted;
            accepted
        })
    }

    /// Raises the accepted and written marks to `written`, if any.
    pub(super) fn announce(&self, written: Option<u64>) {
        if let Some(written) = written {
            self.shared.frontier.advance(|f| set_written(f, written));
        }
    }

    pub(super) fn sync_file(&mut self) {
        let all = matches!(self.config.sync.mode, crate::store::config::SyncMode::All);
        self.sync_file_with(all);
    }

    /// [`sync_file`](Self::sync_file), with the file's metadata when `all`
    /// (fsync rather than fdatasync).
    pub(super) fn sync_file_with(&mut self, all: bool) {
        if !self.unsynced_bytes || self.failure.is_some() {
            return;
        }
        let result = match all {
            true => self.file.sync_all(),
            false => self.file.sync_data(),
        };
        match result {
            Ok(()) => {
                self.unsynced_bytes = false;
                self.unsynced_events = 0;
                self.synced_len = self.segment_len;
                let written = self.written_through;
                self.shared.frontier.advance(|f| f.durable = written);
                self.record_mark(false);
            }
            Err(e) => self.fail_active(IoOp::Sync, &e),
        }
    }

    /// [`fail`](Self::fail) after a write or sync of the active segment
    /// failed, first cutting the segment back to its last synced length
    /// (best effort). After a failed fsync the kernel may keep showing the
    /// unsynced bytes in its cache although they never reach the disk; a
    /// reopen in the same boot would read them as valid and append after
    /// them, leaving a hole behind synced data once the power goes. The cut
    /// drops them from the cache too.
    pub(super) fn fail_active(&mut self, op: IoOp, e: &std::io::Error) {
        if self.failure.is_none() {
            let path = segment::segment_path(&self.config.data_dir, self.segment_id);
            let _ = self.shared.io.truncate(&path, self.synced_len);
        }
        self.fail(op, e);
    }
}
