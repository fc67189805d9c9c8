//! Visibility fences: writes made through a fence are durable at once but stay
//! invisible to every reader, and their tickets stay unresolved, until the fence
//! commits; cancelling or dropping the fence (or closing the store) discards them.
//! One fence at a time; while it is live, plain writes fail with
//! `VisibilityFenceActive`. Fence begin/commit/cancel are markers in the log, so a
//! crash inside a fence leaves its writes hidden after reopen.

use super::write::Route;
use super::writer::Command;
use super::{
    AppendOptions, AppendTicket, BatchAppendItem, BatchAppendTicket, Outbox, ReadWrite, Store,
    StoreError,
};
use crate::coordinate::Coordinate;
use crate::event::{CausationId, CorrelationId, EventKind};
use serde::Serialize;
use std::sync::atomic::Ordering;

/// A live visibility fence; see the module docs.
#[derive(Debug)]
#[must_use = "dropping a fence cancels it and discards its writes"]
pub struct VisibilityFence<'a> {
    store: &'a Store<ReadWrite>,
    finished: bool,
}

impl Store<ReadWrite> {
    /// Starts a visibility fence. Fails with `VisibilityFenceActive` when one is live.
    pub fn begin_visibility_fence(&self) -> Result<VisibilityFence<'_>, StoreError> {
        self.check_writer()?;
        if self
            .shared
            .fence_active
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(StoreError::VisibilityFenceActive);
        }
        let started = self.control(|reply| Command::BeginFence { reply });
        if let Err(e) = started {
            self.shared.fence_active.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(VisibilityFence {
            store: self,
            finished: false,
        })
    }

    /// Sends a control command and waits for its answer.
    pub(crate) fn control(
        &self,
        command: impl FnOnce(super::writer::Done) -> Command,
    ) -> Result<(), StoreError> {
        let (reply, rx) = flume::bounded(1);
        self.send(command(reply))?;
        rx.recv().unwrap_or(Err(StoreError::WriterStopped))
    }
}

impl<'a> VisibilityFence<'a> {
    /// Enqueues a fenced append; its ticket resolves when the fence commits (or
    /// with `VisibilityFenceCancelled`).
    pub fn submit<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<AppendTicket, StoreError> {
        let item = BatchAppendItem::raw(coordinate, kind, payload, AppendOptions::new())?;
        self.submit_item(item)
    }

    /// Enqueues a fenced reaction.
    pub fn submit_reaction<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
        correlation: impl Into<CorrelationId>,
        causation: impl Into<CausationId>,
    ) -> Result<AppendTicket, StoreError> {
        let options = AppendOptions::new().with_reaction(correlation, causation);
        let item = BatchAppendItem::raw(coordinate, kind, payload, options)?;
        self.submit_item(item)
    }

    /// Enqueues one prepared fenced item (raw or typed, any options).
    pub fn submit_item(&self, item: BatchAppendItem) -> Result<AppendTicket, StoreError> {
        self.store.enqueue_one(item, Route::Fenced)
    }

    /// Enqueues a fenced atomic batch.
    pub fn submit_batch(
        &self,
        items: Vec<BatchAppendItem>,
    ) -> Result<BatchAppendTicket, StoreError> {
        self.store.enqueue_batch(items, Route::Fenced)
    }

    /// An outbox whose `submit_flush` writes under this fence.
    pub fn outbox(&self) -> Outbox<'a> {
        Outbox::new(self.store, Route::Fenced)
    }

    /// Publishes every fenced write at once and resolves their tickets.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.finished = true;
        self.store.control(|reply| Command::CommitFence { reply })
    }

    /// Discards every fenced write; their tickets resolve with `VisibilityFenceCancelled`.
    pub fn cancel(mut self) -> Result<(), StoreError> {
        self.finished = true;
        self.store.control(|reply| Command::CancelFence { reply })
    }
}

impl Drop for VisibilityFence<'_> {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: a closed store has cancelled the fence already.
            let _ = self.store.control(|reply| Command::CancelFence { reply });
        }
    }
}
