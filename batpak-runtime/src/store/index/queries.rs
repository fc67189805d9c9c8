//! The queries that walk more than one list: a cursor's next positions in a
//! region, and the causal graph (ancestors, descendants).

use super::base::section;
use super::Index;
use crate::coordinate::{EntityFilter, Region};

impl Index {
    /// Up to `limit` positions of events in `region` whose global sequence is
    /// greater than `after`, in commit order (what a cursor pulls next).
    pub(crate) fn region_positions_after(
        &self,
        region: &Region,
        after: u64,
        limit: usize,
    ) -> Vec<u32> {
        let start = self.count_through(after);
        let keep = |p: &u32| {
            let r = self.record(*p);
            let (entity, scope) = self.names_of(r.coord);
            region.matches(entity, scope, r.kind())
        };
        match &region.entity {
            EntityFilter::Exact(name) => {
                let positions = self.entity_positions(name);
                let from = positions.partition_point(|p| p < start);
                positions
                    .skip(from)
                    .iter()
                    .filter(keep)
                    .take(limit)
                    .collect()
            }
            _ => (start..self.len() as u32)
                .filter(keep)
                .take(limit)
                .collect(),
        }
    }
}

impl Index {
    /// The event at `pos` and its causes, following causation ids back to the
    /// root: one id lookup per hop, at most `limit` entries.
    pub(crate) fn ancestors(&self, pos: u32, limit: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = Some(pos);
        while let Some(p) = at {
            if out.len() >= limit {
                break;
            }
            out.push(p);
            at = self
                .link(p)
                .and_then(|l| l.causation_id)
                .and_then(|cause| self.position_of(cause));
        }
        out
    }

    /// Direct effects of the event `event_id` (events naming it as causation).
    fn children(&self, event_id: u128) -> Vec<u32> {
        if self.topology.by_correlation {
            let mut out = self.base_pairs(section::CAUSATIONS, event_id);
            if let Some(tail) = self.by_causation.get(&event_id) {
                out.extend_from_slice(tail);
            }
            return out;
        }
        self.links()
            .filter(|l| l.causation_id == Some(event_id))
            .map(|l| l.position)
            .collect()
    }

    /// Every event caused directly or transitively by `event_id`, in commit
    /// order, at most `limit`.
    pub(crate) fn descendants(&self, event_id: u128, limit: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut frontier = vec![event_id];
        while let Some(id) = frontier.pop() {
            for child in self.children(id) {
                if out.len() >= limit {
                    break;
                }
                out.push(child);
                frontier.push(self.record(child).event_id());
            }
        }
        out.sort_unstable();
        out
    }
}
