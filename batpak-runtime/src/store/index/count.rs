//! Counting a region from list lengths instead of building the list.

use super::Index;
use crate::coordinate::{EntityFilter, Region};

impl Index {
    /// The number of system events (reserved kinds): from the kind lists
    /// when the index keeps them, else by a pass over the records.
    pub(crate) fn system_event_count(&self) -> usize {
        if self.topology.by_kind {
            let kinds = self.listed_kinds().into_iter();
            return kinds
                .filter(|&k| crate::event::EventKind::from_raw(k).is_reserved())
                .map(|k| self.kind_list(k).len())
                .sum();
        }
        self.records().filter(|r| r.kind().is_reserved()).count()
    }

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
                self.scope_id(scope)
                    .map_or(0, |id| self.scope_events(id).len() as u64),
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
            return Some(self.len() as u64);
        }
        if !region.kinds.is_empty() {
            let total = region
                .kinds
                .iter()
                .filter(|k| counted(k.raw()))
                .map(|k| self.kind_list(k.raw()).len() as u64)
                .sum();
            return Some(total);
        }
        // A category, or everything but system events: one sum over the
        // (few) kinds the log holds.
        Some(
            self.listed_kinds()
                .into_iter()
                .filter(|&k| counted(k))
                .map(|k| self.kind_list(k).len() as u64)
                .sum(),
        )
    }
}
