//! The write API of `Store<ReadWrite>`: blocking appends, submitted tickets,
//! `try_submit*` under writer pressure, batches and sync. Every path builds
//! `BatchAppendItem`s and sends one `Command::Append` to the writer.

use super::ticket::RetryReason;
use super::writer::{Command, Items, ReplyTo};
use super::{
    AppendOptions, AppendReceipt, AppendTicket, BatchAppendItem, BatchAppendTicket, CausationRef,
    Outcome, ReadWrite, Store, StoreError, WriterPressure,
};
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Who is writing: plain callers, or a live visibility fence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Plain,
    Fenced,
}

impl Store<ReadWrite> {
    fn sender(&self) -> Result<&flume::Sender<Command>, StoreError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(StoreError::StoreClosed);
        }
        if self.shared.frontier.is_writer_stopped() {
            return Err(StoreError::WriterStopped);
        }
        self.tx.as_ref().ok_or(StoreError::StoreClosed)
    }

    fn check_route(&self, route: Route) -> Result<(), StoreError> {
        if route == Route::Plain && self.shared.fence_active.load(Ordering::Acquire) {
            return Err(StoreError::VisibilityFenceActive);
        }
        Ok(())
    }

    pub(crate) fn send(&self, command: Command) -> Result<(), StoreError> {
        let sender = self.sender()?;
        self.shared.recycler.empty();
        super::writer::handoff::send(sender, command, super::writer::handoff::REPLY_POLL)
            .map_err(|_| StoreError::WriterStopped)
    }

    pub(crate) fn enqueue_one(
        &self,
        item: BatchAppendItem,
        reaction: Option<(u128, u128)>,
        route: Route,
    ) -> Result<AppendTicket, StoreError> {
        self.check_route(route)?;
        let (reply, rx) = flume::bounded(1);
        self.send(Command::Append {
            items: Items::One(item),
            reaction,
            batch: false,
            fenced: route == Route::Fenced,
            reply: ReplyTo::One(reply),
        })?;
        Ok(AppendTicket::new(rx))
    }

    pub(crate) fn enqueue_batch(
        &self,
        items: Vec<BatchAppendItem>,
        route: Route,
    ) -> Result<BatchAppendTicket, StoreError> {
        self.check_route(route)?;
        let bytes: usize = items.iter().map(|i| i.payload.bytes.len()).sum();
        let config = &self.shared.config;
        if items.len() > config.batch_items_max || bytes > config.batch_bytes_max {
            return Err(StoreError::BatchTooLarge {
                items: items.len(),
                bytes,
            });
        }
        let (reply, rx) = flume::bounded(1);
        self.send(Command::Append {
            items: Items::Many(items),
            reaction: None,
            batch: true,
            fenced: route == Route::Fenced,
            reply: ReplyTo::Many(reply),
        })?;
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
            queue_len: self.tx.as_ref().map_or(0, flume::Sender::len),
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
        self.submit(coordinate, kind, payload)?.wait()
    }

    /// [`Store::append`] with CAS, idempotency key or durability gate.
    pub fn append_with_options<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
        options: AppendOptions,
    ) -> Result<AppendReceipt, StoreError> {
        self.submit_with_options(coordinate, kind, payload, options)?
            .wait()
    }

    /// Appends an event caused by `causation_id`, in the causal tree rooted at
    /// `correlation_id`.
    pub fn append_reaction<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
        correlation_id: u128,
        causation_id: u128,
    ) -> Result<AppendReceipt, StoreError> {
        self.submit_reaction(coordinate, kind, payload, correlation_id, causation_id)?
            .wait()
    }

    /// Appends every item or none, atomically also across a crash; receipts come
    /// back in item order.
    pub fn append_batch(
        &self,
        items: Vec<BatchAppendItem>,
    ) -> Result<Vec<AppendReceipt>, StoreError> {
        self.submit_batch(items)?.wait()
    }

    /// Enqueues an append and returns at once with a ticket.
    pub fn submit<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<AppendTicket, StoreError> {
        self.submit_with_options(coordinate, kind, payload, AppendOptions::new())
    }

    /// [`Store::submit`] with options.
    pub fn submit_with_options<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
        options: AppendOptions,
    ) -> Result<AppendTicket, StoreError> {
        let item = BatchAppendItem::new(
            coordinate.clone(),
            kind,
            payload,
            options,
            CausationRef::None,
        )?;
        self.enqueue_one(item, None, Route::Plain)
    }

    /// Enqueues a reaction and returns at once with a ticket.
    pub fn submit_reaction<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
        correlation_id: u128,
        causation_id: u128,
    ) -> Result<AppendTicket, StoreError> {
        let item = BatchAppendItem::new(
            coordinate.clone(),
            kind,
            payload,
            AppendOptions::new(),
            CausationRef::None,
        )?;
        self.enqueue_one(item, Some((correlation_id, causation_id)), Route::Plain)
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
        correlation_id: u128,
        causation_id: u128,
    ) -> Result<Outcome<AppendTicket>, StoreError> {
        if let Some(retry) = self.pressure_gate()? {
            return Ok(retry);
        }
        self.submit_reaction(coordinate, kind, payload, correlation_id, causation_id)
            .map(Outcome::Ok)
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

    /// Waits until every event up to global sequence `point` is durable, asking
    /// the writer to sync if needed; at most `timeout`.
    pub fn wait_for_durable(
        &self,
        point: u64,
        timeout: Duration,
    ) -> Result<super::Frontier, StoreError> {
        if self.frontier().durable < point {
            let (reply, _rx) = flume::bounded(1);
            self.send(Command::Sync { reply })?;
        }
        self.shared
            .frontier
            .wait(super::frontier::Watermark::Durable, point, timeout)
    }
}

impl Store<ReadWrite> {
    /// Appends a library system event (reserved kind, JSON payload, flagged
    /// as system) on `coordinate`'s own chain. Only the library calls this.
    pub(crate) fn append_system<P: Serialize + ?Sized>(
        &self,
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<AppendReceipt, StoreError> {
        let item = BatchAppendItem::system(coordinate.clone(), kind, payload)?;
        self.enqueue_one(item, None, Route::Plain)?.wait()
    }
}
