//! Coordinates in the index: ids assigned densely in order of first use, each
//! a pair of interned entity and scope ids. Defined by recovery (from name
//! frames or a snapshot) and by the writer (as it writes a name frame), and
//! found by name for the writer and for queries.

use super::names::NameTable;
use super::Index;
use crate::coordinate::Coordinate;
use crate::store::config::IndexTopology;
use std::sync::Arc;

/// A coordinate's entity and scope ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CoordSlot {
    pub(super) entity: u32,
    pub(super) scope: u32,
}

/// The extent of an index's names at some point ([`Index::names_mark`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NamesMark {
    coords: usize,
    entities: usize,
    scopes: usize,
}

impl Index {
    /// Defines coordinate `coord_id` as (`entity`, `scope`): the next id, or
    /// a known one with the same names (then nothing changes). False for a
    /// far id or a known one with other names.
    pub(crate) fn define_name(&mut self, coord_id: u32, entity: &str, scope: &str) -> bool {
        let id = coord_id as usize;
        if id < self.coords.len() {
            return self.names_of(coord_id) == (entity, scope);
        }
        if id > self.coords.len() {
            return false;
        }
        let slot = CoordSlot {
            entity: self.entities.intern(entity),
            scope: self.scopes.intern(scope),
        };
        self.add_coord(coord_id, slot);
        true
    }

    /// Records coordinate `coord_id` (the next id) as `slot`, whose names are
    /// interned, so [`Index::coord_of`] finds it.
    fn add_coord(&mut self, coord_id: u32, slot: CoordSlot) {
        self.coords.push(slot);
        if slot.entity as usize == self.entity_coords.len() {
            self.entity_coords.push(coord_id);
        } else if self.coord_id_of(slot).is_none() {
            self.more_coords.insert((slot.entity, slot.scope), coord_id);
        }
    }

    /// The coordinate id of a pair of entity and scope ids.
    fn coord_id_of(&self, slot: CoordSlot) -> Option<u32> {
        let first = *self.entity_coords.get(slot.entity as usize)?;
        if self.coords[first as usize] == slot {
            return Some(first);
        }
        self.more_coords.get(&(slot.entity, slot.scope)).copied()
    }

    /// The ids of coordinate (`entity`, `scope`), if it is defined: its
    /// coordinate id and its entity's id.
    pub(crate) fn coord_of(&self, entity: &str, scope: &str) -> Option<(u32, u32)> {
        let slot = CoordSlot {
            entity: self.entities.get(entity)?,
            scope: self.scopes.get(scope)?,
        };
        Some((self.coord_id_of(slot)?, slot.entity))
    }

    /// The number of defined coordinates (the next coordinate's id).
    pub(crate) fn coord_count(&self) -> u32 {
        self.coords.len() as u32
    }

    /// The scope of entity `entity`'s first coordinate (the scope a new
    /// append must name), if it has one.
    pub(crate) fn scope_of_entity(&self, entity: u32) -> Option<&str> {
        let first = *self.entity_coords.get(entity as usize)?;
        Some(self.names_of(first).1)
    }

    /// Every entity's id and name.
    pub(crate) fn entity_names(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        self.entities.iter()
    }

    /// The first coordinate naming entity `entity` (an id the index gave).
    pub(crate) fn first_coord_of(&self, entity: u32) -> u32 {
        self.entity_coords[entity as usize]
    }

    /// The id of the entity named `name`.
    pub(crate) fn entity_id(&self, name: &str) -> Option<u32> {
        self.entities.get(name)
    }

    /// The entity id of coordinate `coord`.
    pub(crate) fn entity_of(&self, coord: u32) -> u32 {
        self.coords[coord as usize].entity
    }

    /// The entity and scope names of coordinate `coord`.
    pub(crate) fn names_of(&self, coord: u32) -> (&str, &str) {
        let slot = self.coords[coord as usize];
        (
            self.entities.name(slot.entity),
            self.scopes.name(slot.scope),
        )
    }

    /// Coordinate `coord_id` as the public type (its names copied out).
    pub(crate) fn coordinate(&self, coord_id: u32) -> Coordinate {
        let (entity, scope) = self.names_of(coord_id);
        Coordinate::from_interned(Arc::from(entity), Arc::from(scope))
    }

    /// How many coordinates and interned names the index holds: a point
    /// [`Index::forget_names_since`] can return to.
    pub(crate) fn names_mark(&self) -> NamesMark {
        NamesMark {
            coords: self.coords.len(),
            entities: self.entities.len(),
            scopes: self.scopes.len(),
        }
    }

    /// Forgets every name defined since `mark`: recovery dropping an
    /// unfinished batch, whose name frames are cut off with it. Nothing was
    /// published since the mark, so no event refers to a forgotten name.
    pub(crate) fn forget_names_since(&mut self, mark: NamesMark) {
        self.coords.truncate(mark.coords);
        self.more_coords.retain(|_, c| (*c as usize) < mark.coords);
        self.entities.truncate(mark.entities);
        self.entity_coords.truncate(mark.entities);
        self.entity_events.truncate(mark.entities);
        self.scopes.truncate(mark.scopes);
        self.scope_events.truncate(mark.scopes);
    }

    /// The entity names, the scope names and each coordinate's (entity,
    /// scope) ids, as an index snapshot saves them.
    pub(crate) fn name_parts(
        &self,
    ) -> (
        &NameTable,
        &NameTable,
        impl Iterator<Item = (u32, u32)> + '_,
    ) {
        let coords = self.coords.iter().map(|c| (c.entity, c.scope));
        (&self.entities, &self.scopes, coords)
    }

    /// An index without events whose names are `entities` and `scopes` and
    /// whose coordinates are the (entity, scope) id pairs `coords` (as an
    /// index snapshot holds them); `None` when a pair names an unknown id or
    /// an entity has no coordinate.
    pub(crate) fn with_names(
        topology: IndexTopology,
        entities: NameTable,
        scopes: NameTable,
        coords: &[(u32, u32)],
    ) -> Option<Self> {
        let mut index = Self::new(topology);
        index.entities = entities;
        index.scopes = scopes;
        index.coords.reserve_exact(coords.len());
        index.entity_coords.reserve_exact(index.entities.len());
        index.entity_events.reserve(index.entities.len());
        for (id, &(entity, scope)) in coords.iter().enumerate() {
            let known =
                (entity as usize) < index.entities.len() && (scope as usize) < index.scopes.len();
            // Entities are interned in order of first use.
            if !known || entity as usize > index.entity_coords.len() {
                return None;
            }
            index.add_coord(u32::try_from(id).ok()?, CoordSlot { entity, scope });
        }
        (index.entity_coords.len() == index.entities.len()).then_some(index)
    }

    /// Makes room for `records` more records without reallocating.
    pub(crate) fn reserve(&mut self, records: usize) {
        self.records.reserve_exact(records);
    }
}

#[cfg(test)]
mod tests {
    use super::{Index, NameTable};
    use crate::store::config::IndexTopology;

    fn names(list: &[&str]) -> NameTable {
        let mut table = NameTable::default();
        list.iter().for_each(|n| _ = table.intern(n));
        table
    }

    #[test]
    fn coordinates_are_found_by_name_in_every_scope() {
        let mut index = Index::new(IndexTopology::default());
        assert!(index.define_name(0, "a", "s"));
        assert!(index.define_name(1, "b", "s"));
        assert!(index.define_name(2, "a", "t"));
        assert!(index.define_name(2, "a", "t"), "a known id with its names");
        assert!(
            !index.define_name(2, "a", "s"),
            "a known id with other names"
        );
        assert!(!index.define_name(4, "c", "s"), "a far id");
        assert_eq!(index.coord_of("a", "t"), Some((2, 0)));
        assert_eq!(index.coord_of("b", "s"), Some((1, 1)));
        assert_eq!(index.coord_of("b", "t"), None);
        let mark = index.names_mark();
        assert!(index.define_name(3, "c", "u"));
        assert!(index.define_name(4, "b", "u"));
        index.forget_names_since(mark);
        assert_eq!(index.coord_of("c", "u"), None);
        assert_eq!(index.coord_of("b", "u"), None);
        assert_eq!(index.coord_count(), 3);
        assert!(index.define_name(3, "b", "u"));
        assert_eq!(index.coord_of("b", "u"), Some((3, 1)));
    }

    #[test]
    fn snapshot_names_must_be_complete_and_in_order() {
        let build = |coords: &[(u32, u32)]| {
            Index::with_names(
                IndexTopology::default(),
                names(&["a", "b"]),
                names(&["s"]),
                coords,
            )
        };
        let index = build(&[(0, 0), (1, 0), (0, 0)]).unwrap();
        assert_eq!(index.coord_of("b", "s"), Some((1, 1)));
        assert!(build(&[(0, 0)]).is_none(), "an entity without a coordinate");
        assert!(build(&[(1, 0), (0, 0)]).is_none(), "entities out of order");
        assert!(build(&[(0, 0), (1, 1)]).is_none(), "an unknown scope");
        assert!(build(&[(0, 0), (2, 0)]).is_none(), "an unknown entity");
    }
}
