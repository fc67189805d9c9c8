//! The outbox: stage items on the caller's side, then commit them as one atomic
//! batch. Dropping an outbox commits nothing.

use super::write::Route;
use super::{
    AppendOptions, AppendReceipt, BatchAppendItem, BatchAppendTicket, CausationRef, ReadWrite,
    Store, StoreError,
};
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use serde::Serialize;

/// Items staged for one atomic batch.
#[derive(Debug)]
pub struct Outbox<'a> {
    store: &'a Store<ReadWrite>,
    items: Vec<BatchAppendItem>,
    route: Route,
}

impl Store<ReadWrite> {
    /// An empty outbox.
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox::new(self, Route::Plain)
    }
}

impl<'a> Outbox<'a> {
    pub(crate) fn new(store: &'a Store<ReadWrite>, route: Route) -> Self {
        Self {
            store,
            items: Vec::new(),
            route,
        }
    }

    /// Stages a raw event.
    pub fn stage<P: Serialize + ?Sized>(
        &mut self,
        coordinate: Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<(), StoreError> {
        self.stage_with_options(coordinate, kind, payload, AppendOptions::new())
    }

    /// Stages a raw event with options.
    pub fn stage_with_options<P: Serialize + ?Sized>(
        &mut self,
        coordinate: Coordinate,
        kind: EventKind,
        payload: &P,
        options: AppendOptions,
    ) -> Result<(), StoreError> {
        self.stage_with_options_and_causation(
            coordinate,
            kind,
            payload,
            options,
            CausationRef::None,
        )
    }

    /// Stages a raw event with options and a cause.
    pub fn stage_with_options_and_causation<P: Serialize + ?Sized>(
        &mut self,
        coordinate: Coordinate,
        kind: EventKind,
        payload: &P,
        options: AppendOptions,
        causation: CausationRef,
    ) -> Result<(), StoreError> {
        let item = BatchAppendItem::new(coordinate, kind, payload, options, causation)?;
        self.items.push(item);
        Ok(())
    }

    pub(crate) fn register<F: crate::schema::EventFamily>(&self) {
        self.store.shared.schemas.register::<F>();
    }

    /// Stages a prepared item.
    pub fn push_item(&mut self, item: BatchAppendItem) {
        self.items.push(item);
    }

    /// Items staged.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Commits the staged items as one batch and waits for the receipts. An empty
    /// outbox commits nothing. A fence's outbox cannot wait (its receipts arrive
    /// at commit): use [`Outbox::submit_flush`] there.
    pub fn flush(&mut self) -> Result<Vec<AppendReceipt>, StoreError> {
        if self.items.is_empty() {
            return Ok(Vec::new());
        }
        if self.route == Route::Fenced {
            return Err(StoreError::VisibilityFenceActive);
        }
        self.submit_flush()?.wait()
    }

    /// Enqueues the staged items as one batch and returns its ticket.
    pub fn submit_flush(&mut self) -> Result<BatchAppendTicket, StoreError> {
        let items = std::mem::take(&mut self.items);
        self.store.enqueue_batch(items, self.route)
    }
}
