//! Typed reactors: a cursor worker that decodes events of one family, lets a
//! [`Reactor`] answer each with typed reactions, and commits every batch of
//! reactions atomically before the cursor moves on. Reactions get the source
//! event as causation and its root as correlation, and idempotency keys derived
//! from the source event id, so a source event delivered again after a crash
//! (between the commit and the checkpoint) does not duplicate its reactions.

use super::cursor::{CursorWorkerAction, CursorWorkerConfig, CursorWorkerHandle};
use crate::coordinate::{Coordinate, Region};
use crate::event::{EventId, EventMeta, IdempotencyKey};
use crate::schema::EventFamily;
use crate::store::replay::TypedInput;
use crate::store::{AppendOptions, BatchAppendItem, CausationRef, ReadWrite, Store, StoreError};
use std::sync::Arc;

/// Reactions collected while reacting to a batch of source events.
#[derive(Debug)]
pub struct ReactionBatch {
    items: Vec<BatchAppendItem>,
    /// Index in `items` where each source event's reactions start.
    groups: Vec<usize>,
    source: EventId,
    count: u32,
}

impl Default for ReactionBatch {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            groups: Vec::new(),
            // Set by `begin` before any reaction is pushed.
            source: EventId::new(0),
            count: 0,
        }
    }
}

/// The idempotency key of the `n`-th reaction to `source`.
fn reaction_key(source: EventId, n: u32) -> IdempotencyKey {
    let mut h = blake3::Hasher::new();
    h.update(b"batpak.reaction");
    h.update(&source.get().to_le_bytes());
    h.update(&n.to_le_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    IdempotencyKey::new(u128::from_le_bytes(out))
}

impl ReactionBatch {
    fn begin(&mut self, source: EventId) {
        self.source = source;
        self.count = 0;
        self.groups.push(self.items.len());
    }

    /// Adds a typed reaction to the current source event.
    pub fn push<G: EventFamily>(
        &mut self,
        coordinate: Coordinate,
        event: &G,
    ) -> Result<(), StoreError> {
        let key = reaction_key(self.source, self.count);
        let item = BatchAppendItem::typed(
            coordinate,
            event,
            AppendOptions::new()
                .with_idempotency(key.get())
                .with_causation(CausationRef::Absolute(self.source)),
        )?;
        self.count += 1;
        self.items.push(item);
        Ok(())
    }

    /// Reactions collected so far.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no reaction was pushed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn per_source(&self) -> Vec<Vec<BatchAppendItem>> {
        let mut bounds = self.groups.clone();
        bounds.push(self.items.len());
        bounds
            .windows(2)
            .map(|w| self.items[w[0]..w[1]].to_vec())
            .filter(|g| !g.is_empty())
            .collect()
    }
}

/// Answers events of family `F` with reactions.
pub trait Reactor<F: EventFamily>: Send + 'static {
    /// Reacts to one event; push reactions to `out`.
    fn react(
        &mut self,
        event: &F,
        meta: &EventMeta,
        out: &mut ReactionBatch,
    ) -> Result<(), StoreError>;
}

impl<F, T> Reactor<F> for T
where
    F: EventFamily,
    T: FnMut(&F, &EventMeta, &mut ReactionBatch) -> Result<(), StoreError> + Send + 'static,
{
    fn react(
        &mut self,
        event: &F,
        meta: &EventMeta,
        out: &mut ReactionBatch,
    ) -> Result<(), StoreError> {
        self(event, meta, out)
    }
}

/// Commits a batch of reactions. A batch that was partly committed before (the
/// cursor re-delivered old events together with new ones) is committed per
/// source event instead: each of those is either wholly new or a full replay.
fn commit(store: &Store, out: &ReactionBatch) -> Result<(), StoreError> {
    if out.is_empty() {
        return Ok(());
    }
    match store.append_batch(out.items.clone()) {
        Err(StoreError::IdempotencyPartialReplay { .. }) => {
            for group in out.per_source() {
                store.append_batch(group)?;
            }
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

impl Store<ReadWrite> {
    /// Runs `reactor` over the events of family `F` in `region` on a cursor
    /// worker; see the module docs. With `config.checkpoint_id` set, the
    /// position survives restarts and crashes.
    pub fn react_typed<F: EventFamily, R: Reactor<F>>(
        self: &Arc<Self>,
        region: &Region,
        config: CursorWorkerConfig,
        mut reactor: R,
    ) -> Result<CursorWorkerHandle, StoreError> {
        self.register_family::<F>();
        let kinds = F::kinds();
        self.spawn_worker(region, config, move |batch, store, _witness| {
            let mut out = ReactionBatch::default();
            for entry in batch.iter().filter(|e| kinds.contains(&e.kind)) {
                let event = store.read_entry::<TypedInput<F>>(entry)?;
                let meta = EventMeta {
                    header: event.header,
                    coordinate: event.coordinate,
                };
                out.begin(entry.event_id);
                reactor.react(&event.payload, &meta, &mut out)?;
            }
            commit(store, &out)?;
            Ok(CursorWorkerAction::Continue)
        })
    }
}

#[cfg(test)]
mod tests;
