//! Counting a region from list lengths instead of building the list.

use super::Index;
use crate::coordinate::{EntityFilter, Region};

impl Index {
    /// How many events `region` selects, when the lists the index keeps
    /// answer it in constant time: one entity, one kind or one category
    /// (with the kind lists), one scope (with the scope lists), or
    /// everything. `None` when only a pass over the events can tell.
    pub(crate) fn quick_count(&self, region: &Region) -> Option<u64> {
        let plain = region.kinds.is_empty() && region.category.is_none() && !region.user_only;
        match (&region.entity, &region.scope) {
            (EntityFilter::Exact(name), None) if plain => {
                Some(self.entity_positions(name).len() as u64)
            }
            (EntityFilter::Any, Some(scope)) if plain && self.topology.by_scope => Some(
                self.scopes
                    .get(scope)
                    .map_or(0, |id| self.scope_events.get(id).len() as u64),
            ),
            (EntityFilter::Any, None) if self.topology.by_kind || plain => self.kind_count(region),
            _ => None,
        }
    }

    /// Events of any kind, one kind, several kinds or one category.
    fn kind_count(&self, region: &Region) -> Option<u64> {
        let counted = |kind: u16| {
            let kind = crate::event::EventKind::from_raw(kind);
            region.matches_kind(kind)
        };
        if region.kinds.is_empty() && region.category.is_none() && !region.user_only {
            return Some(self.records.len() as u64);
        }
        if !region.kinds.is_empty() {
            let total = region
                .kinds
                .iter()
                .filter(|k| counted(k.raw()))
                .map(|k| self.by_kind.get(&k.raw()).map_or(0, Vec::len) as u64)
                .sum();
            return Some(total);
        }
        // A category, or everything but system events: one sum over the
        // (few) kinds the log holds.
        Some(
            self.by_kind
                .iter()
                .filter(|(&k, _)| counted(k))
                .map(|(_, p)| p.len() as u64)
                .sum(),
        )
    }
}
