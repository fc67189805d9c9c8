//! The write API of `Store<ReadWrite>`. Every write is a [`BatchAppendItem`]
//! (raw or typed, with [`AppendOptions`] carrying CAS, idempotency key,
//! durability gate and causation) sent to the writer in one `Command::Append`:
//! `append*` waits for the receipt, `submit*` returns a ticket, `try_submit*`
//! returns `Outcome::Retry` instead of queueing under writer pressure. The
//! visibility fence and the outbox reuse the same two functions with another
//! [`Route`].

use super::ticket::RetryReason;
use super::writer::{Command, Items, ReplyTo};
use super::{
    AppendOptions, AppendReceipt, AppendTicket, BatchAppendItem, BatchAppendTicket, Outcome,
    ReadWrite, Store, StoreError, WriterPressure,
};
use crate::coordinate::Coordinate;
use crate::event::{CausationId, CorrelationId, EventKind};
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Who is writing: plain callers, or a live visibility fence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Plain,
    Fenced,
}

/// Whether the caller waits for the answer at once (`append*`): such a
/// write may run on the caller's thread when the writer is idle. A
/// submitted one is queued, so the writer groups what callers pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    Queue,
    Wait,
}

impl Store<ReadWrite> {
    fn sender(&self) -> Result<&super::writer::combine::Mailbox, StoreError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(StoreError::StoreClosed);
        }
        if self.shared.frontier.is_writer_stopped() {
            return Err(StoreError::WriterStopped);
        }
        self.tx.as_ref().ok_or(StoreError::StoreClosed)
    }

    /// Whether a write may take `route`. A stopped writer is named first: a
    /// fence it left open cannot commit any more, so `VisibilityFenceActive`
    /// would send the caller waiting for a commit that never comes.
    fn check_route(&self, route: Route) -> Result<(), StoreError> {
        self.sender()?;
        if route == Route::Plain && self.shared.fence_active.load(Ordering::Acquire) {
            return Err(StoreError::VisibilityFenceActive);
        }
        Ok(())
    }

    /// `StoreClosed` or `WriterStopped` when no write can be accepted.
    pub(crate) fn check_writer(&self) -> Result<(), StoreError> {
        self.sender().map(|_| ())
    }

    pub(crate) fn send(&self, command: Command) -> Result<(), StoreError> {
        self.send_paced(command, Pace::Queue)
    }

    fn send_paced(&self, command: Command, pace: Pace) -> Result<(), StoreError> {
        let sender = self.sender()?;
        self.shared.recycler.empty();
        let here = pace == Pace::Wait;
        sender.send(command, super::writer::handoff::REPLY_POLL, here)
    }

    /// Sends one item on `route`; the writer validates it completely.
    pub(crate) fn enqueue_one(
        &self,
        item: BatchAppendItem,
        route: Route,
    ) -> Result<AppendTicket, StoreError> {
        let (reply, rx) = flume::bounded(1);
        let command = self.one_command(item, route, ReplyTo::One(reply))?;
        self.send_paced(command, Pace::Queue)?;
        Ok(AppendTicket::new(rx))
    }

    /// Appends one item on `route` and waits for its receipt.
    pub(crate) fn append_one(
        &self,
        item: BatchAppendItem,
        route: Route,
    ) -> Result<AppendReceipt, StoreError> {
        super::writer::slot::call(|reply| {
            let command = self.one_command(item, route, ReplyTo::Slot(reply))?;
            self.send_paced(command, Pace::Wait)
        })
    }

    /// The command appending one item on `route`, answered at `reply`, its
    /// personal fields sealed.
    fn one_command(
        &self,
        mut item: BatchAppendItem,
        route: Route,
        reply: ReplyTo,
    ) -> Result<Command, StoreError> {
        self.check_route(route)?;
        self.seal_item(&mut item)?;
        Ok(Command::Append {
            items: Items::One(item),
            batch: false,
            fenced: route == Route::Fenced,
            reply,
        })
    }

    /// Sends an atomic batch on `route`; the writer checks its limits and
    /// items before writing any of it.
    pub(crate) fn enqueue_batch(
        &self,
        items: Vec<BatchAppendItem>,
        route: Route,
    ) -> Result<BatchAppendTicket, StoreError> {
        self.enqueue_batch_paced(items, route, Pace::Queue)
    }

    /// Appends an atomic batch on `route` and waits for its receipts.
    pub(crate) fn append_many(
        &self,
        items: Vec<BatchAppendItem>,
        route: Route,
    ) -> Result<Vec<AppendReceipt>, StoreError> {
        self.enqueue_batch_paced(items, route, Pace::Wait)?.wait()
    }

    fn enqueue_batch_paced(
        &self,
        mut items: Vec<BatchAppendItem>,
        route: Route,
        pace: Pace,
    ) -> Result<BatchAppendTicket, StoreError> {
        self.check_route(route)?;
        for item in &mut items {
            self.seal_item(item)?;
        }
        let (reply, rx) = flume::bounded(1);
        let command = Command::Append {
            items: Items::Many(items),
            batch: true,
            fenced: route == Route::Fenced,
            reply: ReplyTo::Many(reply),
        };
        self.send_paced(command, pace)?;
        Ok(BatchAppendTicket::new(rx))
    }

    /// `Some(retry)` when the mailbox is at or above the pressure threshold.
    pub(crate) fn pressure_gate<T>(&self) -> Result<Option<Outcome<T>>, StoreError> {
        self.check_route(Route::Plain)?;
        let pressure = self.writer_pressure();
        if pressure.queue_len < self.shared.config.pressure_threshold() {
            return Ok(None);
        }
        let after = Duration::from_micros(200 * (pressure.queue_len as u64).max(1));
        Ok(Some(Outcome::Retry {
            after,
            reason: RetryReason::WriterPressure(pressure),
        }))
    }

    /// How full the writer's mailbox is right now.
    pub fn writer_pressure(&self) -> WriterPressure {
        WriterPressure {
            queue_len: self
                .tx
                .as_ref()
                .map_or(0, super::writer::combine::Mailbox::len),
            capacity: self.shared.config.writer_channel_capacity,
        }
    }

    /// Appends one event and waits until it is visible (and durable, with
    /// `every_n_events = 1`). The payload is stored as JSON.
    pub fn append<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<AppendReceipt, StoreError> {
        self.append_with_options(coordinate, kind, payload, AppendOptions::new())
    }

    /// [`Store::append`] with options: CAS, idempotency key, durability gate,
    /// causation (a reaction: [`AppendOptions::with_reaction`]).
    pub fn append_with_options<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
        options: AppendOptions,
    ) -> Result<AppendReceipt, StoreError> {
        let item = BatchAppendItem::raw(coordinate, kind, payload, options)?;
        self.append_item(item)
    }

    /// Appends opaque bytes, stored as given (no JSON encoding), and waits
    /// like [`Store::append`]. Read them back with
    /// `store.get_as::<RawBytesInput>(id)`; batches take
    /// [`BatchAppendItem::bytes`].
    ///
    /// ```
    /// # use batpak_runtime::prelude::*;
    /// # use batpak_runtime::store::replay::RawBytesInput;
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(StoreConfig::new(dir.path()))?;
    /// let coord = Coordinate::new("blob:1", "files")?;
    /// let kind = EventKind::custom(0x1, 1);
    /// let receipt = store.append_bytes(&coord, kind, b"\x00\x01 raw", AppendOptions::new())?;
    /// let event = store.get_as::<RawBytesInput>(receipt.event_id)?.expect("stored");
    /// assert_eq!(event.payload, b"\x00\x01 raw");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn append_bytes(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        bytes: &[u8],
        options: AppendOptions,
    ) -> Result<AppendReceipt, StoreError> {
        let item = BatchAppendItem::bytes(coordinate.clone(), kind, bytes, options)?;
        self.append_item(item)
    }

    /// Removes a reviewed cut from the quarantine (see
    /// [`VerifyReport::quarantined`](super::VerifyReport::quarantined)); a
    /// `verify` is clean again once none is left.
    pub fn discard_quarantined(&self, cut: &super::QuarantinedCut) -> Result<(), StoreError> {
        super::log::quarantine::discard(&*self.shared.io, &self.shared.config.data_dir, cut)
    }

    /// Holds `entity`'s stripe of the in-process command lock (see
    /// `Store::execute`).
    pub(crate) fn lock_entity(&self, entity: &str) -> std::sync::MutexGuard<'_, ()> {
        self.shared.entity_locks.lock(entity)
    }

    /// Per idempotency key, the receipt of the event it was first used for
    /// (what a retried append with that key would return).
    pub(crate) fn receipts_for_keys(
        &self,
        keys: Vec<u128>,
    ) -> Result<Vec<Option<AppendReceipt>>, StoreError> {
        let (reply, rx) = flume::bounded(1);
        self.send(Command::Keys { keys, reply })?;
        rx.recv().map_err(|_| StoreError::WriterStopped)?
    }

    /// Appends one prepared item (raw or typed, any options) and waits like
    /// [`Store::append`].
    pub fn append_item(&self, item: BatchAppendItem) -> Result<AppendReceipt, StoreError> {
        let timer = super::observe::Timer::start();
        let receipt = self.append_one(item, Route::Plain);
        super::observe::append_answered(timer.elapsed());
        receipt
    }

    /// Appends every item or none, atomically also across a crash; receipts come
    /// back in item order.
    pub fn append_batch(
        &self,
        items: Vec<BatchAppendItem>,
    ) -> Result<Vec<AppendReceipt>, StoreError> {
        self.append_many(items, Route::Plain)
    }

    /// Enqueues an append and returns at once with a ticket.
    pub fn submit<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<AppendTicket, StoreError> {
        let item = BatchAppendItem::raw(coordinate, kind, payload, AppendOptions::new())?;
        self.submit_item(item)
    }

    /// Enqueues a reaction to `causation` in the causal tree rooted at
    /// `correlation` and returns at once with a ticket.
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

    /// Enqueues one prepared item and returns at once with a ticket.
    pub fn submit_item(&self, item: BatchAppendItem) -> Result<AppendTicket, StoreError> {
        self.enqueue_one(item, Route::Plain)
    }

    /// Enqueues an atomic batch and returns at once with a ticket.
    pub fn submit_batch(
        &self,
        items: Vec<BatchAppendItem>,
    ) -> Result<BatchAppendTicket, StoreError> {
        self.enqueue_batch(items, Route::Plain)
    }

    /// [`Store::submit`] unless the writer is under pressure, then `Outcome::Retry`
    /// (nothing enqueued).
    pub fn try_submit<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<Outcome<AppendTicket>, StoreError> {
        if let Some(retry) = self.pressure_gate()? {
            return Ok(retry);
        }
        self.submit(coordinate, kind, payload).map(Outcome::Ok)
    }

    /// [`Store::submit_reaction`] unless the writer is under pressure.
    pub fn try_submit_reaction<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
        correlation: impl Into<CorrelationId>,
        causation: impl Into<CausationId>,
    ) -> Result<Outcome<AppendTicket>, StoreError> {
        if let Some(retry) = self.pressure_gate()? {
            return Ok(retry);
        }
        self.submit_reaction(coordinate, kind, payload, correlation, causation)
            .map(Outcome::Ok)
    }

    /// [`Store::submit_item`] unless the writer is under pressure.
    pub fn try_submit_item(
        &self,
        item: BatchAppendItem,
    ) -> Result<Outcome<AppendTicket>, StoreError> {
        if let Some(retry) = self.pressure_gate()? {
            return Ok(retry);
        }
        self.submit_item(item).map(Outcome::Ok)
    }

    /// [`Store::submit_batch`] unless the writer is under pressure.
    pub fn try_submit_batch(
        &self,
        items: Vec<BatchAppendItem>,
    ) -> Result<Outcome<BatchAppendTicket>, StoreError> {
        if let Some(retry) = self.pressure_gate()? {
            return Ok(retry);
        }
        self.submit_batch(items).map(Outcome::Ok)
    }

    /// Writes and fsyncs everything accepted so far.
    pub fn sync(&self) -> Result<(), StoreError> {
        let (reply, rx) = flume::bounded(1);
        self.send(Command::Sync { reply })?;
        rx.recv().unwrap_or(Err(StoreError::WriterStopped))
    }
}

impl Store<ReadWrite> {
    /// Appends a library system event (reserved kind, JSON payload, flagged
    /// as system) to the audit stream of an application's `coordinate`
    /// (denials and bypasses). Only the library calls this.
    pub(crate) fn append_audit<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<AppendReceipt, StoreError> {
        super::options::check_public_coordinate(coordinate)?;
        let item = BatchAppendItem::system(coordinate.audit(), kind, payload)?;
        self.append_one(item, Route::Plain)
    }
}
