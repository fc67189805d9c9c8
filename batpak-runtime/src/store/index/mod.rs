//! The in-memory index of visible events. The primary index is one compact
//! `Record` per event in commit order (which is also event-id order, so lookups
//! by id are binary searches); entity, scope and coordinate names are interned once;
//! secondary indexes hold `u32` positions into the primary one. Readers see only
//! what the writer has published; fenced and unfinished writes never get here.

use super::config::IndexTopology;
use super::error::LogPosition;
use crate::coordinate::{Coordinate, EntityFilter, Region};
use crate::event::{id::timestamp_us, CorrelationId, EventId, EventKind};
pub(crate) use record::{Record, RecordFields, ENTITY_SEQUENCE_MAX};
use std::collections::HashMap;
use std::sync::Arc;

mod record;

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

#[derive(Debug)]
struct NamedList {
    name: Arc<str>,
    positions: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
struct CoordSlot {
    entity: u32,
    scope: u32,
}

const UNDEFINED: u32 = u32::MAX;

/// The extent of an index's names at some point ([`Index::names_mark`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NamesMark {
    coords: usize,
    entities: usize,
    scopes: usize,
}

/// The index itself. Mutated only through [`Index::define_name`] and
/// [`Index::push`], by the writer (under the store's write lock) or by recovery.
#[derive(Debug)]
pub(crate) struct Index {
    topology: IndexTopology,
    records: Vec<Record>,
    links: Vec<Link>,
    coords: Vec<CoordSlot>,
    entities: Vec<NamedList>,
    entity_ids: HashMap<Arc<str>, u32>,
    scopes: Vec<NamedList>,
    scope_ids: HashMap<Arc<str>, u32>,
    by_kind: HashMap<u16, Vec<u32>>,
    by_correlation: HashMap<u128, Vec<u32>>,
    by_causation: HashMap<u128, Vec<u32>>,
}

impl Index {
    pub(crate) fn new(topology: IndexTopology) -> Self {
        Self {
            topology,
            records: Vec::new(),
            links: Vec::new(),
            coords: Vec::new(),
            entities: Vec::new(),
            entity_ids: HashMap::new(),
            scopes: Vec::new(),
            scope_ids: HashMap::new(),
            by_kind: HashMap::new(),
            by_correlation: HashMap::new(),
            by_causation: HashMap::new(),
        }
    }

    /// Registers the names of coordinate `coord_id` (idempotent).
    pub(crate) fn define_name(&mut self, coord_id: u32, entity: &Arc<str>, scope: &Arc<str>) {
        let idx = coord_id as usize;
        if self.coords.len() <= idx {
            self.coords.resize(
                idx + 1,
                CoordSlot {
                    entity: UNDEFINED,
                    scope: UNDEFINED,
                },
            );
        }
        if self.coords[idx].entity != UNDEFINED {
            return;
        }
        let entity = intern(&mut self.entities, &mut self.entity_ids, entity);
        let scope = intern(&mut self.scopes, &mut self.scope_ids, scope);
        self.coords[idx] = CoordSlot { entity, scope };
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
        for (lists, ids, keep) in [
            (&mut self.entities, &mut self.entity_ids, mark.entities),
            (&mut self.scopes, &mut self.scope_ids, mark.scopes),
        ] {
            for list in lists.drain(keep.min(lists.len())..) {
                assert!(list.positions.is_empty(), "a forgotten name has events");
                ids.remove(&list.name);
            }
        }
    }

    /// Publishes one event. Its coordinate must be defined and its sequence and id
    /// must be greater than every published one.
    pub(crate) fn push(&mut self, record: Record, link: Option<Link>) {
        let slot = self.coords[record.coord as usize];
        assert!(slot.entity != UNDEFINED, "event published before its name");
        if let Some(last) = self.records.last() {
            assert!(record.sequence() > last.sequence() && record.event_id() > last.event_id());
        }
        let pos =
            u32::try_from(self.records.len()).expect("more than 4 billion events in one index");
        self.records.push(record);
        self.entities[slot.entity as usize].positions.push(pos);
        if self.topology.by_scope {
            self.scopes[slot.scope as usize].positions.push(pos);
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

    pub(crate) fn record(&self, pos: u32) -> &Record {
        &self.records[pos as usize]
    }

    /// Number of visible events of an entity, `None` for an unknown entity.
    pub(crate) fn entity_len(&self, entity: &str) -> Option<usize> {
        self.entity_ids
            .get(entity)
            .map(|&e| self.entities[e as usize].positions.len())
    }

    pub(crate) fn entity_positions(&self, entity: &str) -> &[u32] {
        self.entity_ids
            .get(entity)
            .map_or(&[][..], |&e| &self.entities[e as usize].positions)
    }

    pub(crate) fn coordinate(&self, coord_id: u32) -> Coordinate {
        let slot = self.coords[coord_id as usize];
        Coordinate::from_interned(
            Arc::clone(&self.entities[slot.entity as usize].name),
            Arc::clone(&self.scopes[slot.scope as usize].name),
        )
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
        let event_id = r.event_id();
        let (correlation_id, causation_id) = self
            .link(pos)
            .map_or((event_id, None), |l| (l.correlation_id, l.causation_id));
        IndexEntry {
            event_id: EventId::new(event_id),
            correlation_id: CorrelationId::new(correlation_id),
            causation_id: causation_id.map(EventId::new),
            coordinate: self.coordinate(r.coord),
            kind: r.kind(),
            sequence: r.sequence(),
            entity_sequence: r.entity_sequence(),
            timestamp_us: timestamp_us(event_id),
            frame: r.location(),
        }
    }

    pub(crate) fn entries(&self, positions: impl IntoIterator<Item = u32>) -> Vec<IndexEntry> {
        positions.into_iter().map(|p| self.entry(p)).collect()
    }

    fn names_of(&self, coord: u32) -> (&str, &str) {
        let slot = self.coords[coord as usize];
        (
            &self.entities[slot.entity as usize].name,
            &self.scopes[slot.scope as usize].name,
        )
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
        let Some(&id) = self.scope_ids.get(scope) else {
            return Vec::new();
        };
        if self.topology.by_scope {
            return self.scopes[id as usize].positions.clone();
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
            (EntityFilter::Prefix(prefix), _) => {
                let mut all: Vec<u32> = self
                    .entities
                    .iter()
                    .filter(|e| e.name.starts_with(&**prefix))
                    .flat_map(|e| e.positions.iter().copied())
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

fn intern(lists: &mut Vec<NamedList>, ids: &mut HashMap<Arc<str>, u32>, name: &Arc<str>) -> u32 {
    if let Some(&id) = ids.get(name) {
        return id;
    }
    let id = lists.len() as u32;
    lists.push(NamedList {
        name: Arc::clone(name),
        positions: Vec::new(),
    });
    ids.insert(Arc::clone(name), id);
    id
}
