//! Retention policies (`StoreConfig::with_retention_policy`): how much of
//! each matching entity's stream to keep, by age and by count. A policy
//! selects entities by name and scope with a [`Region`]: one scope
//! (`Region::scope`), a category of hierarchical names
//! (`Region::entity_under("user")`: `user` and `user:*`), a plain name
//! prefix (`Region::entity_prefix`), or everything (`Region::all`); kind
//! filters make no sense for cutting the start of a stream and are refused.
//! `Store::compact` applies them (docs/retention.md).

use crate::coordinate::Region;
use crate::event::id::timestamp_us;
use crate::store::index::Index;
use std::time::Duration;

/// Keep at most `max_count` events and none older than `max_age` of every
/// entity `region` selects (the library's own streams are never selected).
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionPolicy {
    /// Which entities: by name (exact, prefix, category) and scope.
    pub region: Region,
    /// Events whose timestamp is older than this (by the store's clock) are cut.
    pub max_age: Option<Duration>,
    /// Only the newest this many events of each entity are kept.
    pub max_count: Option<u64>,
}

impl RetentionPolicy {
    /// A policy over `region` that keeps everything until limits are set.
    pub fn new(region: Region) -> Self {
        Self {
            region,
            max_age: None,
            max_count: None,
        }
    }

    /// Cuts events older than `age`.
    pub fn with_max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Keeps only each entity's newest `count` events (at least 1).
    pub fn with_max_count(mut self, count: u64) -> Self {
        self.max_count = Some(count);
        self
    }

    /// Why the policy is unusable, if it is.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        let r = &self.region;
        if !r.kinds.is_empty() || r.category.is_some() {
            return Some("a retention policy selects entities; it cannot filter kinds");
        }
        if self.max_count == Some(0) {
            return Some("max_count must be at least 1 (tombstone an entity to cut it all)");
        }
        None
    }

    /// The first entity sequence this policy keeps of entity `id` (named
    /// `entity`, tip `tip`), at `now_us`.
    pub(crate) fn keeps_from(&self, index: &Index, entity: &str, tip: u64, now_us: u64) -> u64 {
        let mut before = 1;
        if let Some(count) = self.max_count {
            before = before.max((tip + 1).saturating_sub(count));
        }
        if let Some(age) = self.max_age {
            let cutoff = now_us.saturating_sub(age.as_micros().min(u128::from(u64::MAX)) as u64);
            let positions = index.entity_positions(entity);
            let young =
                positions.partition_point(|p| timestamp_us(index.record(p).event_id()) < cutoff);
            let first_young = positions
                .get(young)
                .map_or(tip + 1, |p| index.record(p).entity_sequence());
            before = before.max(first_young);
        }
        before
    }
}
