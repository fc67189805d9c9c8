//! Projections: fold an entity's relevant events into a state. Replay finds the
//! events through the index (entity positions filtered by the projection's
//! kinds) so only those frames are read and decoded. With a cache and
//! `supports_incremental_apply`, a cached state is brought up to date by applying
//! only the events after the position it was cached at.

use super::cache::CacheKey;
use super::index::IndexEntry;
use super::replay::{EventSourced, InputPayload, ReplayInput};
use super::{Store, StoreError};
use crate::event::Event;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// How fresh a projection must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Freshness {
    /// Include every event visible when the call starts.
    #[default]
    Consistent,
    /// A cached state at most this old may be returned as is.
    MaybeStale {
        /// Maximum age of a cached state, in milliseconds.
        max_stale_ms: u64,
    },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cached<T> {
    /// Global sequence of the last event folded into `state`.
    position: u64,
    saved_at_ms: u64,
    /// The entity's retention floor when `state` was folded: a state folded
    /// before a cut (`Store::truncate_before`) is never served after it.
    #[serde(default)]
    floor: u64,
    state: T,
}

/// How many events a full replay of an incrementally applicable projection
/// decodes before it folds them (see `fold_all`).
const FOLD_CHUNK: usize = 1024;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl<M> Store<M> {
    /// The entity's visible events of the kinds projection `T` folds, in order.
    fn relevant_entries<T: EventSourced>(&self, entity: &str, after: u64) -> Vec<IndexEntry> {
        self.entity_tail(entity, after, T::relevant_event_kinds()).0
    }

    /// At one instant: the entity's visible events of `kinds` after global
    /// sequence `after`, and the entity sequence of its last visible event of
    /// any kind (0 for none), which is what a CAS on the entity expects.
    pub(crate) fn entity_tail(
        &self,
        entity: &str,
        after: u64,
        kinds: &[crate::event::EventKind],
    ) -> (Vec<IndexEntry>, u64) {
        let index = super::locking::read(&self.shared.index);
        let positions = index.entity_positions(entity);
        let tip = index.entity_tip(entity);
        let start = positions.partition_point(|p| index.record(p).sequence() <= after);
        let list = positions.skip(start);
        let entries = index.entries(list.iter().enumerate().filter_map(|(i, p)| {
            super::read_ahead::record_ahead(&index, &list, i, p);
            kinds.contains(&index.record(p).kind()).then_some(p)
        }));
        (entries, tip)
    }

    /// The projection cache's bytes under `key`, if it keeps any.
    pub(crate) fn cached(&self, key: &CacheKey) -> Option<Vec<u8>> {
        self.cache.get(key)
    }

    /// Stores `bytes` under `key` when a projection cache is set.
    pub(crate) fn cache_put(&self, key: &CacheKey, bytes: &[u8]) {
        if self.cache.is_enabled() {
            self.cache.put(key, bytes);
        }
    }

    /// Runs the schema-ledger judgement of each family in `checks`.
    pub(crate) fn check_families(
        &self,
        checks: &[super::registry::FamilyCheck],
    ) -> Result<(), StoreError> {
        for family in checks {
            family.run(&self.shared.schemas, None)?;
        }
        Ok(())
    }

    fn decode_all<T: EventSourced>(
        &self,
        entries: &[IndexEntry],
    ) -> Result<Vec<Event<InputPayload<T>>>, StoreError> {
        let mut events = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            self.prefetch_frame_ahead(entries, i);
            events.push(self.read_entry::<T::Input>(e)?);
        }
        Ok(events)
    }

    /// Folds `entries` from no state. A projection that supports incremental
    /// apply gets its first [`FOLD_CHUNK`] events through `from_events` and
    /// each later one through `apply_event` as it is decoded, which is the
    /// same fold (the contract incremental apply already relies on) without
    /// holding every decoded event at once. When those first events give no
    /// state, all of them go through `from_events` together.
    fn fold_all<T: EventSourced>(&self, entries: &[IndexEntry]) -> Result<Option<T>, StoreError> {
        if !T::supports_incremental_apply() || entries.len() <= FOLD_CHUNK {
            return Ok(T::from_events(&self.decode_all::<T>(entries)?));
        }
        let (first, rest) = entries.split_at(FOLD_CHUNK);
        let Some(mut state) = T::from_events(&self.decode_all::<T>(first)?) else {
            return Ok(T::from_events(&self.decode_all::<T>(entries)?));
        };
        for (i, e) in rest.iter().enumerate() {
            self.prefetch_frame_ahead(rest, i);
            state.apply_event(&self.read_entry::<T::Input>(e)?);
        }
        Ok(Some(state))
    }

    /// Folds the entity's events into `T`; `Ok(None)` when it has none of `T`'s kinds.
    /// A typed projection whose families the log's schema ledger refuses is an
    /// error even when the entity holds none of today's kinds: its old events
    /// (of a changed id or category) are never skipped silently.
    pub fn project<T>(&self, entity: &str, freshness: &Freshness) -> Result<Option<T>, StoreError>
    where
        T: EventSourced + Serialize + DeserializeOwned,
    {
        for family in <T::Input as ReplayInput>::family_checks() {
            family.run(&self.shared.schemas, None)?;
        }
        let key = CacheKey {
            projection: std::any::type_name::<T>(),
            version: T::schema_version(),
            entity: entity.to_owned(),
        };
        let floor = self.retention_floor(entity);
        let cached: Option<Cached<T>> = self
            .cache
            .get(&key)
            .and_then(|bytes| serde_json::from_slice::<Cached<T>>(&bytes).ok())
            .filter(|c| c.floor == floor);
        if let (Some(c), Freshness::MaybeStale { max_stale_ms }) = (&cached, freshness) {
            if now_ms().saturating_sub(c.saved_at_ms) <= *max_stale_ms {
                return Ok(cached.map(|c| c.state));
            }
        }
        let (state, position) = match cached.filter(|_| T::supports_incremental_apply()) {
            Some(mut c) => {
                let entries = self.relevant_entries::<T>(entity, c.position);
                let Some(last) = entries.last() else {
                    return Ok(Some(c.state));
                };
                let position = last.sequence;
                for event in self.decode_all::<T>(&entries)? {
                    c.state.apply_event(&event);
                }
                (Some(c.state), position)
            }
            None => {
                let entries = self.relevant_entries::<T>(entity, 0);
                let position = entries.last().map_or(0, |e| e.sequence);
                (self.fold_all::<T>(&entries)?, position)
            }
        };
        let Some(state) = state else { return Ok(None) };
        if !self.cache.is_enabled() {
            return Ok(Some(state));
        }
        let record = Cached {
            position,
            saved_at_ms: now_ms(),
            floor,
            state,
        };
        if let Ok(bytes) = serde_json::to_vec(&record) {
            self.cache.put(&key, &bytes);
        }
        Ok(Some(record.state))
    }

    /// Projects only if the entity's generation differs from `last_generation`:
    /// `Ok(None)` when nothing changed, else the new generation and state.
    pub fn project_if_changed<T>(
        &self,
        entity: &str,
        last_generation: u64,
        freshness: &Freshness,
    ) -> Result<Option<(u64, Option<T>)>, StoreError>
    where
        T: EventSourced + Serialize + DeserializeOwned,
    {
        let generation = self.entity_generation(entity).unwrap_or(0);
        if generation == last_generation {
            return Ok(None);
        }
        Ok(Some((generation, self.project::<T>(entity, freshness)?)))
    }
}

/// A projection that follows its entity: each [`ProjectionWatch::next_timeout`] returns
/// the state once the entity's generation has grown since the last one.
#[derive(Debug)]
pub struct ProjectionWatch<'a, T, M> {
    store: &'a Store<M>,
    entity: String,
    generation: u64,
    wake: super::delivery::subscription::Subscription,
    _state: std::marker::PhantomData<fn() -> T>,
}

impl<M> Store<M> {
    /// Watches projection `T` of `entity`; see [`ProjectionWatch`].
    pub fn watch_projection<T>(&self, entity: &str) -> ProjectionWatch<'_, T, M>
    where
        T: EventSourced + Serialize + DeserializeOwned,
    {
        ProjectionWatch {
            store: self,
            entity: entity.to_owned(),
            generation: 0,
            wake: self.subscribe_lossy(&crate::coordinate::Region::entity(entity)),
            _state: std::marker::PhantomData,
        }
    }
}

impl<T, M> ProjectionWatch<'_, T, M>
where
    T: EventSourced + Serialize + DeserializeOwned,
{
    /// Waits (at most `timeout`) until the entity's generation exceeds the last
    /// one returned, then projects. `Ok(None)` on timeout or when the store closed.
    /// Notifications only wake the watch; the generation decides, so a lost
    /// notification cannot make it miss a change.
    pub fn next_timeout(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<Option<(u64, Option<T>)>, StoreError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some((generation, state)) = self.store.project_if_changed::<T>(
                &self.entity,
                self.generation,
                &Freshness::Consistent,
            )? {
                if generation > self.generation {
                    self.generation = generation;
                    return Ok(Some((generation, state)));
                }
            }
            let now = std::time::Instant::now();
            if now >= deadline || self.wake.is_closed() {
                return Ok(None);
            }
            let _ = self.wake.recv_timeout(deadline - now);
        }
    }

    /// The generation of the last state returned.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

#[cfg(test)]
mod tests;
