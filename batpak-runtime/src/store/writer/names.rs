//! The writer's bookkeeping of coordinates and entities, kept small because a
//! store may hold millions of entities. Names and ids live in the index, the
//! store's one table of them: the writer resolves a coordinate there and
//! defines a new one there as it writes its name frame. Here it keeps only a
//! bit per coordinate (whether the active segment has its name frame) and the
//! chain tips of the entities it wrote lately. Any other entity's tip is read
//! back when an append needs it (see `append`): its sequence from the entity's
//! last event in the index, its hash from that event's frame.

use crate::coordinate::Coordinate;
use crate::store::index::lists::{IdMap, IdSet};
use crate::store::index::Index;
use crate::store::locking;
use crate::store::log::recovery::{Tip, WriterSeed};
use std::sync::RwLock;

/// How many tips the newer generation holds before it becomes the older one
/// (and the older one is dropped). Small in the crate's tests, so they read
/// tips back often.
const TIPS_PER_GENERATION: usize = if cfg!(test) { 8 } else { 1 << 16 };

/// Coordinates and tips as the writer sees them.
#[derive(Default)]
pub(crate) struct Names {
    /// The coordinates `segment` has name frames for.
    defined: IdSet,
    segment: u64,
    /// The entities whose chain has a stored hash in `segment`
    /// (`store::log::chain`). An entity missing here gets one with its next event,
    /// which only ever stores more.
    hashed: IdSet,
    /// Tips of the entities written lately, by entity id, in two generations.
    /// Every entity with an event not yet published is here.
    young: IdMap<u32, Tip>,
    old: IdMap<u32, Tip>,
}

impl Names {
    /// The writer's state after recovery: what the active segment names.
    pub(crate) fn from_seed(seed: &mut WriterSeed) -> Self {
        Self {
            defined: std::mem::take(&mut seed.defined_in_active),
            segment: seed.active_segment.map_or(0, |(id, _)| id),
            ..Self::default()
        }
    }

    /// The coordinate id and entity id of `c`, defining it in the index
    /// when it is new to the store (validation found the ids of every
    /// coordinate that was not).
    pub(crate) fn resolve(index: &RwLock<Index>, c: &Coordinate) -> (u32, u32) {
        let mut index = locking::write(index);
        if let Some(ids) = index.coord_of(c.entity(), c.scope()) {
            return ids;
        }
        let coord = index.coord_count();
        index.define_name(coord, c.entity(), c.scope());
        (coord, index.entity_of(coord))
    }

    /// Whether `coord` still needs a name frame in `segment`; marks it defined.
    pub(crate) fn define_in(&mut self, coord: u32, segment: u64) -> bool {
        self.enter(segment);
        self.defined.insert(coord)
    }

    /// Forgets what the previous segment held once `segment` is the active one.
    fn enter(&mut self, segment: u64) {
        if self.segment != segment {
            self.defined.clear();
            self.hashed.clear();
            self.segment = segment;
        }
    }

    /// Whether entity `entity`'s next event, with entity sequence
    /// `sequence`, stores its hash in `segment`: at every checkpoint, and
    /// when the entity's chain has no stored hash in `segment` yet. Notes
    /// that it then has one.
    pub(crate) fn stores_hash(&mut self, entity: u32, sequence: u64, segment: u64) -> bool {
        self.enter(segment);
        self.hashed.insert(entity) || sequence.is_multiple_of(crate::store::log::chain::CHECKPOINT)
    }

    /// The coordinates `segment` has name frames for.
    pub(crate) fn defined_in(&self, segment: u64) -> IdSet {
        match self.segment == segment {
            true => self.defined.clone(),
            false => IdSet::default(),
        }
    }

    /// The tip of entity `entity` if it is known here.
    pub(crate) fn tip(&self, entity: u32) -> Option<Tip> {
        self.young
            .get(&entity)
            .or_else(|| self.old.get(&entity))
            .copied()
    }

    /// Sets the tip of `entity`; `None` forgets it (the entity has no event
    /// the index does not show).
    pub(crate) fn set_tip(&mut self, entity: u32, tip: Option<Tip>) {
        match tip {
            Some(tip) => {
                self.young.insert(entity, tip);
            }
            None => {
                self.young.remove(&entity);
                self.old.remove(&entity);
            }
        }
    }

    /// Sets entity `entity`'s tip to one the writer did not just write: a
    /// rollback (a cancelled fence, whose events may have held the chain's
    /// stored hash in this segment) or a tip read back from the log. Its
    /// next event stores its hash, so that the next read-back of this
    /// entity's tip finds one at once instead of walking.
    pub(crate) fn reset_tip(&mut self, entity: u32, tip: Option<Tip>) {
        self.hashed.remove(&entity);
        self.set_tip(entity, tip);
    }

    /// Ages the tips once the newer generation is full. Only when every event
    /// written so far is published (no fence is live): a dropped tip is then
    /// read back from the index and the log.
    pub(crate) fn age_tips(&mut self) {
        if self.young.len() >= TIPS_PER_GENERATION {
            self.old = std::mem::take(&mut self.young);
        }
    }
}
