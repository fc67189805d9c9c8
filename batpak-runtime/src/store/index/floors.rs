//! Retention floors: per entity, the entity sequence its visible stream now
//! starts at (`Store::truncate_before`, `Store::tombstone`, retention
//! policies). Cutting takes the events below a floor out of every list at
//! once, so no read path filters; their frames stay in the log until
//! compaction removes them.

use super::lists::Lists;
use super::Index;

/// Where an entity's visible stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Floor {
    /// Events with an entity sequence below this one are cut.
    pub before: u64,
    /// The hash of event `before - 1`: where the kept chain starts.
    pub hash: [u8; 32],
    /// The entity was tombstoned: the writer takes no write for it (its
    /// floor is one past its last event).
    pub tombstone: bool,
}

impl Index {
    /// Entity `entity`'s floor, if it has one.
    pub(crate) fn floor(&self, entity: u32) -> Option<&Floor> {
        self.floors.get(&entity)
    }

    /// Every floor, by entity id.
    pub(crate) fn floors(&self) -> impl Iterator<Item = (u32, &Floor)> + '_ {
        self.floors.iter().map(|(e, f)| (*e, f))
    }

    /// Raises entity `entity`'s floor to `floor` (a lower one changes
    /// nothing; a tombstone stays). Returns whether it changed.
    pub(crate) fn raise_floor(&mut self, entity: u32, floor: Floor) -> bool {
        let slot = self.floors.entry(entity).or_insert(Floor {
            before: 1,
            hash: [0; 32],
            tombstone: false,
        });
        let mut changed = false;
        if floor.before > slot.before {
            slot.before = floor.before;
            slot.hash = floor.hash;
            changed = true;
        }
        if floor.tombstone && !slot.tombstone {
            slot.tombstone = true;
            changed = true;
        }
        changed
    }

    /// Every floor by entity name, as compaction applies them: events with
    /// an entity sequence below the value go.
    pub(crate) fn floors_by_name(&self) -> std::collections::HashMap<String, u64> {
        self.floors
            .iter()
            .filter(|(_, f)| f.before > 1)
            .map(|(e, f)| (self.entity_name(*e).to_owned(), f.before))
            .collect()
    }

    /// Marks entity `entity` tombstoned without cutting anything yet: the
    /// writer refuses its writes from now on.
    pub(crate) fn mark_tombstone(&mut self, entity: u32) {
        let floor = self.floors.get(&entity).copied().unwrap_or(Floor {
            before: 1,
            hash: [0; 32],
            tombstone: false,
        });
        self.floors.insert(
            entity,
            Floor {
                tombstone: true,
                ..floor
            },
        );
    }

    /// Puts back entity `entity`'s floor as it was (a tombstone that could
    /// not be recorded).
    pub(crate) fn restore_floor(&mut self, entity: u32, floor: Option<Floor>) {
        match floor {
            Some(floor) => self.floors.insert(entity, floor),
            None => self.floors.remove(&entity),
        };
    }

    /// Whether the event of `entity` with entity sequence `sequence` is cut.
    pub(crate) fn is_cut(&self, entity: u32, sequence: u64) -> bool {
        self.floors
            .get(&entity)
            .is_some_and(|f| sequence < f.before)
    }

    /// Takes every event below its entity's floor out of the index (records,
    /// links and every list are rebuilt from the kept ones; names stay).
    /// Returns how many went. Positions change: nothing outside the index
    /// keeps one across a release of its lock.
    pub(crate) fn cut_below_floors(&mut self) -> u64 {
        if self.floors.is_empty() {
            return 0;
        }
        // An entity's list runs up its entity sequences: whether anything
        // goes shows in the first event of each entity with a floor.
        let anything = self.floors.iter().any(|(&entity, floor)| {
            self.entity_events(entity)
                .get(0)
                .is_some_and(|p| self.record(p).entity_sequence() < floor.before)
        });
        if !anything {
            return 0;
        }
        self.materialize();
        let cut = |index: &Index, r: &super::Record| {
            index.is_cut(index.entity_of(r.coord), r.entity_sequence())
        };
        let records = std::mem::take(&mut self.records);
        let links = std::mem::take(&mut self.links);
        self.entity_events = Lists::default();
        self.scope_events = Lists::default();
        self.by_kind.clear();
        self.by_correlation.clear();
        self.by_causation.clear();
        let mut links = links.into_iter().peekable();
        let mut removed = 0;
        for (pos, record) in records.into_iter().enumerate() {
            let link = links.next_if(|l| l.position == pos as u32);
            if cut(self, &record) {
                removed += 1;
            } else {
                self.push(record, link);
            }
        }
        removed
    }
}
