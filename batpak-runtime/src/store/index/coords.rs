//! Coordinates in the index: ids assigned densely in order of first use, each
//! a pair of interned entity and scope ids. Defined by recovery (from name
//! frames or a snapshot) and by the writer (as it writes a name frame), and
//! found by name for the writer and for queries.

use super::base::section;
use super::Index;
use crate::coordinate::Coordinate;
use std::sync::Arc;

/// A coordinate's entity and scope ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CoordSlot {
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
        let count = self.coord_count();
        if coord_id < count {
            return self.names_of(coord_id) == (entity, scope);
        }
        if coord_id > count {
            return false;
        }
        let slot = CoordSlot {
            entity: self.intern_entity(entity),
            scope: self.intern_scope(scope),
        };
        self.add_coord(coord_id, slot);
        true
    }

    /// The base's counts of coordinates, entities and scopes (zeros without
    /// a base).
    fn base_counts(&self) -> NamesMark {
        self.base.as_ref().map_or(
            NamesMark {
                coords: 0,
                entities: 0,
                scopes: 0,
            },
            |b| NamesMark {
                coords: b.coords,
                entities: b.entities,
                scopes: b.scopes,
            },
        )
    }

    fn intern_entity(&mut self, name: &str) -> u32 {
        if let Some(id) = self.entity_id(name) {
            return id;
        }
        self.base_counts().entities as u32 + self.entities.intern(name)
    }

    fn intern_scope(&mut self, name: &str) -> u32 {
        if let Some(id) = self.scope_id(name) {
            return id;
        }
        self.base_counts().scopes as u32 + self.scopes.intern(name)
    }

    /// Records coordinate `coord_id` (the next id) as `slot`, whose names are
    /// interned, so [`Index::coord_of`] finds it.
    pub(super) fn add_coord(&mut self, coord_id: u32, slot: CoordSlot) {
        let first_coords = self.base_counts().entities + self.entity_coords.len();
        self.coords.push(slot);
        if slot.entity as usize == first_coords {
            self.entity_coords.push(coord_id);
        } else if self.coord_id_of(slot).is_none() {
            self.more_coords.insert((slot.entity, slot.scope), coord_id);
        }
    }

    /// The entity and scope ids of coordinate `coord`.
    /// `None` for an unknown coordinate, or one of the base whose ids are
    /// not known (only a crafted snapshot holds one).
    pub(super) fn slot(&self, coord: u32) -> Option<CoordSlot> {
        let c = coord as usize;
        match &self.base {
            Some(base) if c < base.coords => base
                .row::<[u32; 2]>(section::COORDS, c)
                .filter(|&&[entity, scope]| {
                    (entity as usize) < self.entity_count() && (scope as usize) < self.scope_count()
                })
                .map(|&[entity, scope]| CoordSlot { entity, scope }),
            _ => self.coords.get(c - self.base_counts().coords).copied(),
        }
    }

    /// The first coordinate naming entity `entity`.
    fn entity_coord(&self, entity: u32) -> Option<u32> {
        let e = entity as usize;
        match &self.base {
            Some(base) if e < base.entities => base.row(section::ENTITY_COORDS, e).copied(),
            _ => self
                .entity_coords
                .get(e - self.base_counts().entities)
                .copied(),
        }
    }

    /// The coordinate id of a pair of entity and scope ids.
    pub(super) fn coord_id_of(&self, slot: CoordSlot) -> Option<u32> {
        let first = self.entity_coord(slot.entity)?;
        if self.slot(first) == Some(slot) {
            return Some(first);
        }
        if let Some(base) = &self.base {
            let key = [slot.entity, slot.scope];
            let i = base.partition::<[u32; 3]>(section::MORE_COORDS, |row| [row[0], row[1]] < key);
            let row = base.row::<[u32; 3]>(section::MORE_COORDS, i);
            if let Some(&[_, _, found]) = row.filter(|r| [r[0], r[1]] == key) {
                // A crafted snapshot's table could name another coordinate.
                return (self.slot(found) == Some(slot)).then_some(found);
            }
        }
        self.more_coords.get(&(slot.entity, slot.scope)).copied()
    }

    /// The ids of coordinate (`entity`, `scope`), if it is defined: its
    /// coordinate id and its entity's id.
    pub(crate) fn coord_of(&self, entity: &str, scope: &str) -> Option<(u32, u32)> {
        let slot = CoordSlot {
            entity: self.entity_id(entity)?,
            scope: self.scope_id(scope)?,
        };
        Some((self.coord_id_of(slot)?, slot.entity))
    }

    /// The number of defined coordinates (the next coordinate's id).
    pub(crate) fn coord_count(&self) -> u32 {
        (self.base_counts().coords + self.coords.len()) as u32
    }

    /// The scope of entity `entity`'s first coordinate (the scope a new
    /// append must name), if it has one.
    pub(crate) fn scope_of_entity(&self, entity: u32) -> Option<&str> {
        let first = self.entity_coord(entity)?;
        Some(self.names_of(first).1)
    }

    /// Every entity's id and name.
    pub(crate) fn entity_names(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        (0..self.entity_count() as u32).map(|id| (id, self.entity_name(id)))
    }

    /// The first coordinate naming entity `entity` (an id the index gave).
    pub(crate) fn first_coord_of(&self, entity: u32) -> u32 {
        self.entity_coord(entity).unwrap_or(u32::MAX)
    }

    /// The id of the entity named `name`.
    pub(crate) fn entity_id(&self, name: &str) -> Option<u32> {
        let stored = [
            section::ENTITY_BYTES,
            section::ENTITY_ENDS,
            section::ENTITY_SLOTS,
        ];
        if let Some(id) = self.base.as_ref().and_then(|b| b.find_name(stored, name)) {
            return Some(id);
        }
        let offset = self.base_counts().entities as u32;
        self.entities.get(name).map(|id| id + offset)
    }

    /// The id of the scope named `name`.
    pub(super) fn scope_id(&self, name: &str) -> Option<u32> {
        let stored = [
            section::SCOPE_BYTES,
            section::SCOPE_ENDS,
            section::SCOPE_SLOTS,
        ];
        if let Some(id) = self.base.as_ref().and_then(|b| b.find_name(stored, name)) {
            return Some(id);
        }
        let offset = self.base_counts().scopes as u32;
        self.scopes.get(name).map(|id| id + offset)
    }

    /// The name of entity `id` (empty for an unknown id).
    pub(crate) fn entity_name(&self, id: u32) -> &str {
        let i = id as usize;
        match &self.base {
            Some(b) if i < b.entities => b.name(section::ENTITY_BYTES, section::ENTITY_ENDS, i),
            _ => self
                .entities
                .try_name(i - self.base_counts().entities)
                .unwrap_or_default(),
        }
    }

    /// The name of scope `id` (empty for an unknown id).
    pub(super) fn scope_name(&self, id: u32) -> &str {
        let i = id as usize;
        match &self.base {
            Some(b) if i < b.scopes => b.name(section::SCOPE_BYTES, section::SCOPE_ENDS, i),
            _ => self
                .scopes
                .try_name(i - self.base_counts().scopes)
                .unwrap_or_default(),
        }
    }

    /// The number of scopes.
    pub(super) fn scope_count(&self) -> usize {
        self.base_counts().scopes + self.scopes.len()
    }

    /// The entity id of coordinate `coord`.
    pub(crate) fn entity_of(&self, coord: u32) -> u32 {
        self.slot(coord).map_or(u32::MAX, |s| s.entity)
    }

    /// The entity and scope names of coordinate `coord` (empty for an
    /// unknown one).
    pub(crate) fn names_of(&self, coord: u32) -> (&str, &str) {
        match self.slot(coord) {
            Some(slot) => (self.entity_name(slot.entity), self.scope_name(slot.scope)),
            None => ("", ""),
        }
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
            coords: self.coord_count() as usize,
            entities: self.entity_count(),
            scopes: self.scope_count(),
        }
    }

    /// Forgets every name defined since `mark`: recovery dropping an
    /// unfinished batch, whose name frames are cut off with it. Nothing was
    /// published since the mark, so no event refers to a forgotten name.
    /// (The base's names are never forgotten: a mark is never behind them.)
    pub(crate) fn forget_names_since(&mut self, mark: NamesMark) {
        let base = self.base_counts();
        let coords = mark.coords.saturating_sub(base.coords);
        self.coords.truncate(coords);
        self.more_coords.retain(|_, c| (*c as usize) < mark.coords);
        self.entities
            .truncate(mark.entities.saturating_sub(base.entities));
        self.entity_coords
            .truncate(mark.entities.saturating_sub(base.entities));
        self.entity_events.truncate(mark.entities);
        self.scopes
            .truncate(mark.scopes.saturating_sub(base.scopes));
        self.scope_events.truncate(mark.scopes);
    }
}

#[cfg(test)]
mod tests {
    use super::Index;
    use crate::store::config::IndexTopology;

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
}
