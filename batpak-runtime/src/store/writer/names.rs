//! The writer's table of coordinates and entities: coordinate ids (store-wide,
//! in order of first use), which segment last defined each name, and each
//! entity's chain tip. One hash lookup per appended event finds everything.

use crate::coordinate::Coordinate;
use crate::store::log::recovery::{Tip, WriterSeed};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

struct CoordState {
    entity: Arc<str>,
    scope: Arc<str>,
    entity_idx: u32,
    /// Segment whose name frame last defined this coordinate (0 = none yet).
    defined_in: u64,
}

struct EntityState {
    name: Arc<str>,
    tip: Option<Tip>,
}

/// Coordinates and entities as the writer sees them.
#[derive(Default)]
pub(crate) struct Names {
    coord_ids: HashMap<Coordinate, u32>,
    coords: Vec<Option<CoordState>>,
    entity_ids: HashMap<Arc<str>, u32>,
    entities: Vec<EntityState>,
}

/// What [`Names::resolve`] found for a coordinate.
pub(crate) struct Resolved {
    pub coord: u32,
    pub entity: u32,
    /// The coordinate is new to the store (its names must be published).
    pub new: bool,
}

impl Names {
    pub(crate) fn from_seed(seed: &mut WriterSeed) -> Self {
        let mut names = Names::default();
        let active = seed.active_segment.map_or(0, |(id, _)| id);
        for (id, c) in std::mem::take(&mut seed.coords).into_iter().enumerate() {
            if let Some((e, s)) = c {
                let entity_idx = names.entity(&e);
                let defined_in = if seed.defined_in_active.contains(&(id as u32)) {
                    active
                } else {
                    0
                };
                names.coords.resize_with(id + 1, || None);
                names.coords[id] = Some(CoordState {
                    entity: Arc::clone(&e),
                    scope: Arc::clone(&s),
                    entity_idx,
                    defined_in,
                });
                names
                    .coord_ids
                    .insert(Coordinate::from_interned(e, s), id as u32);
            }
        }
        for (entity, tip) in std::mem::take(&mut seed.tips) {
            let idx = names.entity(&entity);
            names.entities[idx as usize].tip = Some(tip);
        }
        names
    }

    fn entity(&mut self, name: &Arc<str>) -> u32 {
        if let Some(&idx) = self.entity_ids.get(name) {
            return idx;
        }
        let idx = self.entities.len() as u32;
        self.entities.push(EntityState {
            name: Arc::clone(name),
            tip: None,
        });
        self.entity_ids.insert(Arc::clone(name), idx);
        idx
    }

    /// The ids of a coordinate, adding it when new.
    pub(crate) fn resolve(&mut self, c: &Coordinate) -> Resolved {
        if let Some(&coord) = self.coord_ids.get(c) {
            let entity = self.coords[coord as usize]
                .as_ref()
                .map_or(0, |s| s.entity_idx);
            return Resolved {
                coord,
                entity,
                new: false,
            };
        }
        let coord = self.coords.len() as u32;
        let entity = self.entity(c.entity_arc());
        self.coords.push(Some(CoordState {
            entity: Arc::clone(c.entity_arc()),
            scope: Arc::clone(c.scope_arc()),
            entity_idx: entity,
            defined_in: 0,
        }));
        self.coord_ids.insert(c.clone(), coord);
        Resolved {
            coord,
            entity,
            new: true,
        }
    }

    /// Whether `coord` still needs a name frame in `segment`; marks it defined.
    pub(crate) fn define_in(&mut self, coord: u32, segment: u64) -> bool {
        match self.coords.get_mut(coord as usize).and_then(Option::as_mut) {
            Some(state) if state.defined_in != segment => {
                state.defined_in = segment;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn names(&self, coord: u32) -> Option<(&Arc<str>, &Arc<str>)> {
        self.coords
            .get(coord as usize)
            .and_then(Option::as_ref)
            .map(|s| (&s.entity, &s.scope))
    }

    pub(crate) fn tip(&self, entity: u32) -> Option<Tip> {
        self.entities.get(entity as usize).and_then(|e| e.tip)
    }

    pub(crate) fn set_tip(&mut self, entity: u32, tip: Option<Tip>) {
        if let Some(e) = self.entities.get_mut(entity as usize) {
            e.tip = tip;
        }
    }

    /// The last entity sequence of an entity by name (0 when it has none).
    pub(crate) fn sequence_of(&self, name: &str) -> u64 {
        self.entity_ids
            .get(name)
            .and_then(|&i| self.entities[i as usize].tip)
            .map_or(0, |t| t.sequence)
    }

    /// The coordinate table as recovery and snapshots see it.
    pub(crate) fn coord_table(&self) -> Vec<Option<(Arc<str>, Arc<str>)>> {
        self.coords
            .iter()
            .map(|c| {
                c.as_ref()
                    .map(|s| (Arc::clone(&s.entity), Arc::clone(&s.scope)))
            })
            .collect()
    }

    pub(crate) fn tips(&self) -> HashMap<Arc<str>, Tip> {
        self.entities
            .iter()
            .filter_map(|e| Some((Arc::clone(&e.name), e.tip?)))
            .collect()
    }

    pub(crate) fn defined_in_segment(&self, segment: u64) -> HashSet<u32> {
        self.coords
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_ref().is_some_and(|s| s.defined_in == segment))
            .map(|(i, _)| i as u32)
            .collect()
    }
}
