//! The in-memory index of visible events. The primary index is one compact
//! `Record` per event in commit order (which is also event-id order, so lookups
//! by id are binary searches); entity and scope names are interned once, in
//! one buffer each (`names`), and everything else refers to them by dense
//! ids: a coordinate is a pair of them, an entity's events are a list of
//! positions that needs no allocation for a single event (`lists`), and
//! secondary indexes hold `u32` positions into the primary one. An entity of
//! one event costs about 80 bytes besides its name. The writer resolves and
//! defines coordinates here, so the index holds the store's only copy of each
//! name. Readers see only what the writer has published; fenced and unfinished
//! writes never get here (their names may).

mod coords;
pub(crate) mod lists;
pub(crate) mod names;
mod record;

use super::config::IndexTopology;
use super::error::LogPosition;
use crate::coordinate::{Coordinate, EntityFilter, Region};
use crate::event::{id::timestamp_us, CorrelationId, EventId, EventKind};
use coords::CoordSlot;
pub(crate) use coords::NamesMark;
use lists::IdMap;
use lists::Lists;
use names::NameTable;
pub(crate) use record::{Record, RecordFields, ENTITY_SEQUENCE_MAX};
use std::collections::HashMap;

mod count;
mod floors;
pub(crate) use floors::Floor;

/// A visible event as returned by queries: everything but the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The event's id.
    pub event_id: EventId,
    /// Root of its causal tree (its own id for a root event).
    pub correlation_id: CorrelationId,
    /// The event it reacts to, if any.
    pub causation_id: Option<EventId>,
    /// Entity and scope.
    pub coordinate: Coordinate,
    /// Kind.
    pub kind: EventKind,
    /// Position in the global commit order (starts at 1).
    pub sequence: u64,
    /// Position in the entity's stream (starts at 1).
    pub entity_sequence: u64,
    /// Append time, microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// Where the frame is stored.
    pub frame: LogPosition,
}

/// Correlation and causation of an event that is not a plain root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub position: u32,
    pub correlation_id: u128,
    pub causation_id: Option<u128>,
}

/// The index itself. Mutated only through [`Index::define_name`] and
/// [`Index::push`], by the writer (under the store's write lock) or by recovery.
#[derive(Debug)]
pub(crate) struct Index {
    topology: IndexTopology,
    records: Vec<Record>,
    links: Vec<Link>,
    /// Per coordinate id: its entity's and scope's ids.
    coords: Vec<CoordSlot>,
    entities: NameTable,
    /// Per entity id: the first coordinate naming it.
    entity_coords: Vec<u32>,
    /// The coordinates of an (entity, scope) pair that are not the entity's first.
    more_coords: HashMap<(u32, u32), u32>,
    entity_events: Lists,
    scopes: NameTable,
    /// Per scope id, with `topology.by_scope`.
    scope_events: Lists,
    by_kind: IdMap<u16, Vec<u32>>,
    by_correlation: HashMap<u128, Vec<u32>>,
    by_causation: HashMap<u128, Vec<u32>>,
    /// Retention floors by entity id (`floors`).
    floors: HashMap<u32, Floor>,
}

impl Index {
    pub(crate) fn new(topology: IndexTopology) -> Self {
        Self {
            topology,
            records: Vec::new(),
            links: Vec::new(),
            coords: Vec::new(),
            entities: NameTable::default(),
            entity_coords: Vec::new(),
            more_coords: HashMap::new(),
            entity_events: Lists::default(),
            scopes: NameTable::default(),
            scope_events: Lists::default(),
            by_kind: HashMap::default(),
            by_correlation: HashMap::new(),
            by_causation: HashMap::new(),
            floors: HashMap::new(),
        }
    }

    /// Publishes one event. Its coordinate must be defined and its sequence and id
    /// must be greater than every published one.
    pub(crate) fn push(&mut self, record: Record, link: Option<Link>) {
        let slot = *self
            .coords
            .get(record.coord as usize)
            .expect("event published before its name");
        if let Some(last) = self.records.last() {
            assert!(record.sequence() > last.sequence() && record.event_id() > last.event_id());
        }
        let pos =
            u32::try_from(self.records.len()).expect("more than 4 billion events in one index");
        self.records.push(record);
        self.entity_events.push(slot.entity, pos);
        if self.topology.by_scope {
            self.scope_events.push(slot.scope, pos);
        }
        if self.topology.by_kind {
            self.by_kind.entry(record.kind).or_default().push(pos);
        }
        if let Some(mut link) = link {
            link.position = pos;
            if self.topology.by_correlation {
                self.by_correlation
                    .entry(link.correlation_id)
                    .or_default()
                    .push(pos);
                if let Some(cause) = link.causation_id {
                    self.by_causation.entry(cause).or_default().push(pos);
                }
            }
            self.links.push(link);
        }
    }

    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    pub(crate) fn links(&self) -> &[Link] {
        &self.links
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn last_sequence(&self) -> u64 {
        self.records.last().map_or(0, Record::sequence)
    }

    pub(crate) fn entity_count(&self) -> usize {
        self.entities.len()
    }

    /// Position of the event with this id.
    pub(crate) fn position_of(&self, event_id: u128) -> Option<u32> {
        self.records
            .binary_search_by(|r| r.event_id().cmp(&event_id))
            .ok()
            .map(|p| p as u32)
    }

    /// Moves the records of `segment` to the offsets a compaction gave their
    /// frames.
    pub(crate) fn move_offsets(&mut self, segment: u64, moved: &HashMap<u32, u32>) {
        for r in self
            .records
            .iter_mut()
            .filter(|r| u64::from(r.segment) == segment)
        {
            if let Some(&to) = moved.get(&r.offset) {
                r.offset = to;
            }
        }
    }

    /// Moves the records of `segment` to where `find` says their events'
    /// frames are now (a read-only store re-reading a segment that a writer
    /// in another process compacted); a record it does not find stays.
    pub(crate) fn relocate(&mut self, segment: u64, find: impl Fn(u128) -> Option<u32>) {
        for r in self
            .records
            .iter_mut()
            .filter(|r| u64::from(r.segment) == segment)
        {
            if let Some(to) = find(r.event_id()) {
                r.offset = to;
            }
        }
    }

    pub(crate) fn record(&self, pos: u32) -> &Record {
        &self.records[pos as usize]
    }

    /// Number of visible events of an entity, `None` for an unknown entity.
    pub(crate) fn entity_len(&self, entity: &str) -> Option<usize> {
        self.entity_id(entity)
            .map(|e| self.entity_events.get(e).len())
    }

    pub(crate) fn entity_positions(&self, entity: &str) -> &[u32] {
        self.entity_id(entity)
            .map_or(&[][..], |e| self.entity_events.get(e))
    }

    /// The entity sequence of `entity`'s last event, 0 when it has none: its
    /// last visible one, or, when a retention cut took them all, the last
    /// one cut (sequences are never given out again).
    pub(crate) fn entity_tip(&self, entity: &str) -> u64 {
        let Some(id) = self.entity_id(entity) else {
            return 0;
        };
        let visible = self
            .entity_events
            .get(id)
            .last()
            .map_or(0, |&p| self.record(p).entity_sequence());
        let cut = self.floor(id).map_or(0, |f| f.before - 1);
        visible.max(cut)
    }

    /// The record of `entity`'s event with entity sequence `sequence`, if
    /// it is in the index (a binary search of the entity's list).
    pub(crate) fn entity_record(&self, entity: &str, sequence: u64) -> Option<&Record> {
        let positions = self.entity_positions(entity);
        let i = positions.partition_point(|&p| self.record(p).entity_sequence() < sequence);
        positions
            .get(i)
            .map(|&p| self.record(p))
            .filter(|r| r.entity_sequence() == sequence)
    }

    /// The positions of the events of entity `entity` (an id), in commit order.
    pub(crate) fn entity_events(&self, entity: u32) -> &[u32] {
        self.entity_events.get(entity)
    }

    fn link(&self, pos: u32) -> Option<&Link> {
        self.links
            .binary_search_by_key(&pos, |l| l.position)
            .ok()
            .map(|i| &self.links[i])
    }

    /// The public view of the event at `pos`.
    pub(crate) fn entry(&self, pos: u32) -> IndexEntry {
        let r = &self.records[pos as usize];
        self.entry_in(pos, self.coordinate(r.coord))
    }

    /// [`Index::entry`] with the event's coordinate already made.
    fn entry_in(&self, pos: u32, coordinate: Coordinate) -> IndexEntry {
        let r = &self.records[pos as usize];
        let event_id = r.event_id();
        let (correlation_id, causation_id) = self
            .link(pos)
            .map_or((event_id, None), |l| (l.correlation_id, l.causation_id));
        IndexEntry {
            event_id: EventId::new(event_id),
            correlation_id: CorrelationId::new(correlation_id),
            causation_id: causation_id.map(EventId::new),
            coordinate,
            kind: r.kind(),
            sequence: r.sequence(),
            entity_sequence: r.entity_sequence(),
            timestamp_us: timestamp_us(event_id),
            frame: r.location(),
        }
    }

    /// The public views of the events at `positions`. Consecutive events of
    /// one coordinate share its names.
    pub(crate) fn entries(&self, positions: impl IntoIterator<Item = u32>) -> Vec<IndexEntry> {
        let mut last: Option<(u32, Coordinate)> = None;
        positions
            .into_iter()
            .map(|p| {
                let coord = self.records[p as usize].coord;
                let coordinate = match &last {
                    Some((c, coordinate)) if *c == coord => coordinate.clone(),
                    _ => last.insert((coord, self.coordinate(coord))).1.clone(),
                };
                self.entry_in(p, coordinate)
            })
            .collect()
    }

    /// Positions of the events of one kind, in commit order.
    pub(crate) fn kind_positions(&self, kind: EventKind) -> Vec<u32> {
        if self.topology.by_kind {
            return self.by_kind.get(&kind.raw()).cloned().unwrap_or_default();
        }
        self.scan(|r| r.kind == kind.raw())
    }

    /// Positions of the events of one scope, in commit order.
    pub(crate) fn scope_positions(&self, scope: &str) -> Vec<u32> {
        let Some(id) = self.scopes.get(scope) else {
            return Vec::new();
        };
        if self.topology.by_scope {
            return self.scope_events.get(id).to_vec();
        }
        self.scan(|r| self.coords[r.coord as usize].scope == id)
    }

    /// Positions of the events in a causal tree (the root and every event that
    /// names it as correlation id), in commit order.
    pub(crate) fn correlation_positions(&self, correlation_id: u128) -> Vec<u32> {
        let mut out: Vec<u32> = if self.topology.by_correlation {
            self.by_correlation
                .get(&correlation_id)
                .cloned()
                .unwrap_or_default()
        } else {
            self.links
                .iter()
                .filter(|l| l.correlation_id == correlation_id)
                .map(|l| l.position)
                .collect()
        };
        if let Some(root) = self.position_of(correlation_id) {
            if self.link(root).is_none() {
                out.push(root);
                out.sort_unstable();
            }
        }
        out
    }

    fn scan(&self, keep: impl Fn(&Record) -> bool) -> Vec<u32> {
        (0..self.records.len() as u32)
            .filter(|&p| keep(&self.records[p as usize]))
            .collect()
    }

    /// Positions of the events in a region, in commit order, using the most
    /// selective index available.
    pub(crate) fn region_positions(&self, region: &Region) -> Vec<u32> {
        let keep = |p: &u32| {
            let r = &self.records[*p as usize];
            let (entity, scope) = self.names_of(r.coord);
            region.matches(entity, scope, r.kind())
        };
        let candidates: Vec<u32> = match (&region.entity, region.kinds.as_slice()) {
            (EntityFilter::Exact(name), _) => self.entity_positions(name).to_vec(),
            (EntityFilter::Prefix(prefix) | EntityFilter::Under(prefix), _) => {
                let mut all: Vec<u32> = self
                    .entities
                    .iter()
                    .filter(|(_, name)| name.starts_with(&**prefix))
                    .flat_map(|(e, _)| self.entity_events.get(e).iter().copied())
                    .collect();
                all.sort_unstable();
                all
            }
            (EntityFilter::Any, kinds) if !kinds.is_empty() && self.topology.by_kind => {
                let mut all: Vec<u32> =
                    kinds.iter().flat_map(|k| self.kind_positions(*k)).collect();
                all.sort_unstable();
                all
            }
            (EntityFilter::Any, _) => match &region.scope {
                Some(scope) => self.scope_positions(scope),
                None => (0..self.records.len() as u32).collect(),
            },
        };
        candidates.into_iter().filter(keep).collect()
    }
}

impl Index {
    /// Up to `limit` positions of events in `region` whose global sequence is
    /// greater than `after`, in commit order (what a cursor pulls next).
    pub(crate) fn region_positions_after(
        &self,
        region: &Region,
        after: u64,
        limit: usize,
    ) -> Vec<u32> {
        let start = self.records.partition_point(|r| r.sequence() <= after) as u32;
        let keep = |p: &u32| {
            let r = &self.records[*p as usize];
            let (entity, scope) = self.names_of(r.coord);
            region.matches(entity, scope, r.kind())
        };
        match &region.entity {
            EntityFilter::Exact(name) => {
                let positions = self.entity_positions(name);
                let from = positions.partition_point(|&p| p < start);
                positions[from..]
                    .iter()
                    .copied()
                    .filter(keep)
                    .take(limit)
                    .collect()
            }
            _ => (start..self.records.len() as u32)
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
            return self
                .by_causation
                .get(&event_id)
                .cloned()
                .unwrap_or_default();
        }
        self.links
            .iter()
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
                frontier.push(self.records[child as usize].event_id());
            }
        }
        out.sort_unstable();
        out
    }
}
