//! The index of visible events. The primary index is one compact `Record`
//! per event in commit order (which is also event-id order, so lookups by id
//! are binary searches); entity and scope names are interned once, in one
//! buffer each (`names`), and everything else refers to them by dense ids: a
//! coordinate is a pair of them, an entity's events are a list of positions
//! that needs no allocation for a single event (`lists`), and secondary
//! indexes hold `u32` positions into the primary one. An entity of one event
//! costs about 80 bytes besides its name. The writer resolves and defines
//! coordinates here, so the index holds the store's only copy of each name.
//! Readers see only what the writer has published; fenced and unfinished
//! writes never get here (their names may).
//!
//! An index opened from a snapshot has a mapped base (`base`): every
//! structure above as a fixed-width array read in place from the mapped file
//! (its layout in `image`), and in memory only what is published after the
//! open (the tail). Ids and positions run on from the base into the tail, and
//! every query reads both: a list is the base's part then the tail's
//! (`positions`). The rare operations that rewrite records in place
//! (compaction moving offsets, retention cuts) first copy the base into
//! memory (`Index::materialize`).

mod base;
mod blocks;
mod coords;
pub(crate) mod lists;
pub(crate) mod names;
mod record;

use super::config::IndexTopology;
use super::error::LogPosition;
use crate::coordinate::{Coordinate, EntityFilter, Region};
use crate::event::{id::timestamp_us, CorrelationId, EventId, EventKind};
pub use base::BaseState;
use base::{section, Base};
pub(crate) use base::{ImageBytes, Rebuild};
pub(crate) use blocks::block_crcs;
use coords::CoordSlot;
pub(crate) use coords::NamesMark;
use lists::IdMap;
use lists::Lists;
use names::NameTable;
pub(crate) use positions::Positions;

/// How many positions ahead of the record it reads `Index::entries` asks
/// the CPU for.
const ENTRIES_AHEAD: usize = 8;
pub(crate) use record::{Record, RecordFields, ENTITY_SEQUENCE_MAX};
use std::collections::HashMap;

mod count;
mod floors;
mod image;
mod positions;
mod queries;
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
/// With a mapped `base`, every field below holds only the tail: ids and
/// positions from the base's counts on.
#[derive(Debug)]
pub(crate) struct Index {
    topology: IndexTopology,
    base: Option<Base>,
    records: Vec<Record>,
    links: Vec<Link>,
    /// Per coordinate id: its entity's and scope's ids.
    coords: Vec<CoordSlot>,
    entities: NameTable,
    /// Per entity id: the first coordinate naming it.
    entity_coords: Vec<u32>,
    /// The coordinates of an (entity, scope) pair that are not the entity's first.
    more_coords: IdMap<(u32, u32), u32>,
    /// Per entity id (base ids too): its positions in the tail.
    entity_events: Lists,
    scopes: NameTable,
    /// Per scope id, with `topology.by_scope`.
    scope_events: Lists,
    by_kind: IdMap<u16, Vec<u32>>,
    by_correlation: HashMap<u128, Vec<u32>>,
    by_causation: HashMap<u128, Vec<u32>>,
    /// Retention floors by entity id (`floors`).
    floors: IdMap<u32, Floor>,
}

impl Index {
    pub(crate) fn new(topology: IndexTopology) -> Self {
        Self {
            topology,
            base: None,
            records: Vec::new(),
            links: Vec::new(),
            coords: Vec::new(),
            entities: NameTable::default(),
            entity_coords: Vec::new(),
            more_coords: IdMap::default(),
            entity_events: Lists::default(),
            scopes: NameTable::default(),
            scope_events: Lists::default(),
            by_kind: HashMap::default(),
            by_correlation: HashMap::new(),
            by_causation: HashMap::new(),
            floors: IdMap::default(),
        }
    }

    /// An index whose base is the image at `start` in `bytes` (written by
    /// [`Index::write_image`] for the same topology), whose blocks have the
    /// CRCs `crcs` (`None`: trusted whole); `None` when the image's header
    /// does not check. Reads only the image's header, kind table and last
    /// record.
    pub(crate) fn open_image(
        topology: IndexTopology,
        bytes: ImageBytes,
        start: usize,
        crcs: Option<Vec<u32>>,
    ) -> Option<Self> {
        let base = Base::open(bytes, start, image::topology_bits(topology), crcs)?;
        Some(Self {
            base: Some(base),
            ..Self::new(topology)
        })
    }

    /// Copies the mapped base into memory: afterwards the index has no base
    /// and can be rewritten in place. Positions and ids do not change.
    pub(crate) fn materialize(&mut self) {
        // An unusable base stays: its copy would be empty, and an index
        // without a base would look whole to the writer, which refuses to
        // write on top of an unusable one.
        if self.base.is_none() || self.base_state() == BaseState::Unusable {
            return;
        }
        let old = std::mem::replace(self, Self::new(self.topology));
        for (_, name) in old.entity_names() {
            self.entities.intern(name);
        }
        for id in 0..old.scope_count() {
            self.scopes.intern(old.scope_name(id as u32));
        }
        for c in 0..old.coord_count() {
            let slot = old.slot(c).unwrap_or(CoordSlot {
                entity: 0,
                scope: 0,
            });
            self.add_coord(c, slot);
        }
        self.records.reserve_exact(old.len());
        for p in 0..old.len() as u32 {
            let record = *old.record(p);
            let fits = record.coord < self.coord_count()
                && self.last_record().is_none_or(|last| {
                    record.sequence() > last.sequence() && record.event_id() > last.event_id()
                });
            // Only a crafted snapshot holds a record that does not fit.
            if fits {
                self.push(record, old.link(p));
            }
        }
        self.floors = old.floors;
    }

    /// Sets how the mapped base rebuilds its image from the log when a
    /// block of it does not match its stored CRC.
    pub(crate) fn set_rebuild(&mut self, rebuild: Rebuild) {
        if let Some(base) = &mut self.base {
            base.set_rebuild(rebuild);
        }
    }

    /// The state of the mapped base's bytes (`Intact` without a base).
    pub(crate) fn base_state(&self) -> BaseState {
        self.base.as_ref().map_or(BaseState::Intact, Base::state)
    }

    /// The number of records in the mapped base.
    fn base_len(&self) -> usize {
        self.base.as_ref().map_or(0, |b| b.records)
    }

    fn last_record(&self) -> Option<&Record> {
        let base = || self.base.as_ref()?.record(self.base_len().checked_sub(1)?);
        self.records.last().or_else(base)
    }

    /// Publishes one event. Its coordinate must be defined and its sequence and id
    /// must be greater than every published one.
    pub(crate) fn push(&mut self, record: Record, link: Option<Link>) {
        let slot = self
            .slot(record.coord)
            .expect("event published before its name");
        if let Some(last) = self.last_record() {
            assert!(record.sequence() > last.sequence() && record.event_id() > last.event_id());
        }
        let pos = u32::try_from(self.len()).expect("more than 4 billion events in one index");
        assert!(pos != u32::MAX, "more than 4 billion events in one index");
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

    /// Every record, in commit order.
    pub(crate) fn records(&self) -> impl Iterator<Item = &Record> + '_ {
        let base = self
            .base
            .as_ref()
            .map_or(&[][..], |b| b.rows(section::RECORDS));
        base.iter().chain(&self.records)
    }

    /// Every link, in position order.
    pub(crate) fn links(&self) -> impl Iterator<Item = Link> + '_ {
        let base = self
            .base
            .as_ref()
            .map_or(&[][..], |b| b.rows(section::LINKS));
        base.iter().map(base_link).chain(self.links.iter().copied())
    }

    pub(crate) fn len(&self) -> usize {
        self.base_len() + self.records.len()
    }

    pub(crate) fn last_sequence(&self) -> u64 {
        self.last_record().map_or(0, Record::sequence)
    }

    pub(crate) fn entity_count(&self) -> usize {
        self.base.as_ref().map_or(0, |b| b.entities) + self.entities.len()
    }

    /// Position of the event with this id.
    pub(crate) fn position_of(&self, event_id: u128) -> Option<u32> {
        if let Some(base) = &self.base {
            let p = base.partition::<Record>(section::RECORDS, |r| r.event_id() < event_id);
            if base.record(p).is_some_and(|r| r.event_id() == event_id) {
                return Some(p as u32);
            }
        }
        self.records
            .binary_search_by(|r| r.event_id().cmp(&event_id))
            .ok()
            .map(|p| (self.base_len() + p) as u32)
    }

    /// The number of events whose global sequence is at most `sequence`
    /// (the position of the first one after it).
    pub(crate) fn count_through(&self, sequence: u64) -> u32 {
        let in_base = self.base.as_ref().map_or(0, |b| {
            b.partition::<Record>(section::RECORDS, |r| r.sequence() <= sequence)
        });
        if in_base < self.base_len() {
            return in_base as u32;
        }
        (in_base + self.records.partition_point(|r| r.sequence() <= sequence)) as u32
    }

    /// Moves the records of `segment` to the offsets a compaction gave their
    /// frames.
    pub(crate) fn move_offsets(&mut self, segment: u64, moved: &HashMap<u32, u32>) {
        self.materialize();
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
        self.materialize();
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

    /// The record at `pos` (a record naming no coordinate for a position
    /// past the end, which only a crafted snapshot's lists hold).
    pub(crate) fn record(&self, pos: u32) -> &Record {
        // The tail first: without a base (a store opened by a scan) it is
        // every record, and a read is one bounds check.
        let p = pos as usize;
        match p.checked_sub(self.base_len()) {
            Some(t) => self.records.get(t),
            None => self.base.as_ref().and_then(|b| b.record(p)),
        }
        .unwrap_or(&Record::NONE)
    }

    /// Hints the CPU to load the record at `pos` (see `store::prefetch`).
    pub(crate) fn prefetch_record(&self, pos: u32) {
        crate::store::prefetch::prefetch(std::ptr::from_ref(self.record(pos)).cast());
    }

    /// Number of visible events of an entity, `None` for an unknown entity.
    pub(crate) fn entity_len(&self, entity: &str) -> Option<usize> {
        self.entity_id(entity).map(|e| self.entity_events(e).len())
    }

    pub(crate) fn entity_positions(&self, entity: &str) -> Positions<'_> {
        self.entity_id(entity)
            .map_or_else(Positions::default, |e| self.entity_events(e))
    }

    /// The entity sequence of `entity`'s last event, 0 when it has none: its
    /// last visible one, or, when a retention cut took them all, the last
    /// one cut (sequences are never given out again).
    pub(crate) fn entity_tip(&self, entity: &str) -> u64 {
        let Some(id) = self.entity_id(entity) else {
            return 0;
        };
        let visible = self
            .entity_events(id)
            .last()
            .map_or(0, |&p| self.record(p).entity_sequence());
        let cut = self.floor(id).map_or(0, |f| f.before - 1);
        visible.max(cut)
    }

    /// The positions of the events of entity `entity` (an id), in commit order.
    pub(crate) fn entity_events(&self, entity: u32) -> Positions<'_> {
        let [offsets, positions] = [section::ENTITY_OFFSETS, section::ENTITY_POSITIONS];
        let base = self.base_list(offsets, positions, entity);
        Positions::new(base, self.entity_events.get(entity))
    }

    /// The positions of the events of scope `scope` (an id), with the scope
    /// lists.
    fn scope_events(&self, scope: u32) -> Positions<'_> {
        let [offsets, positions] = [section::SCOPE_OFFSETS, section::SCOPE_POSITIONS];
        let base = self.base_list(offsets, positions, scope);
        Positions::new(base, self.scope_events.get(scope))
    }

    /// The mapped base's part of list `id` in a list section pair; empty
    /// without a base.
    fn base_list(&self, offsets: usize, positions: usize, id: u32) -> &[u32] {
        self.base
            .as_ref()
            .map_or(&[], |b| b.list(offsets, positions, id as usize))
    }

    /// The positions of the events of kind `kind`, with the kind lists.
    fn kind_list(&self, kind: u16) -> Positions<'_> {
        let base = self.base.as_ref().map_or(&[][..], |b| {
            b.kinds
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(&[][..], |(_, range)| {
                    b.rows_in(section::KIND_POSITIONS, range.clone())
                })
        });
        let tail = self.by_kind.get(&kind).map_or(&[][..], Vec::as_slice);
        Positions::new(base, tail)
    }

    /// Every kind that has a kind list.
    fn listed_kinds(&self) -> Vec<u16> {
        let base = self
            .base
            .iter()
            .flat_map(|b| b.kinds.iter().map(|(k, _)| *k));
        let mut kinds: Vec<u16> = base.chain(self.by_kind.keys().copied()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    fn link(&self, pos: u32) -> Option<Link> {
        if self.links.is_empty() && self.base.is_none() {
            return None;
        }
        if let Some(base) = &self.base {
            if (pos as usize) < base.records {
                let i = base.partition::<[u32; 10]>(section::LINKS, |row| row[0] < pos);
                return base
                    .row::<[u32; 10]>(section::LINKS, i)
                    .filter(|row| row[0] == pos)
                    .map(base_link);
            }
        }
        self.links
            .binary_search_by_key(&pos, |l| l.position)
            .ok()
            .map(|i| self.links[i])
    }

    /// The public view of the event at `pos`.
    pub(crate) fn entry(&self, pos: u32) -> IndexEntry {
        let r = self.record(pos);
        self.entry_in(pos, self.coordinate(r.coord))
    }

    /// [`Index::entry`] with the event's coordinate already made.
    fn entry_in(&self, pos: u32, coordinate: Coordinate) -> IndexEntry {
        self.entry_of(pos, self.record(pos), coordinate)
    }

    /// [`Index::entry_in`] with the event's record already read.
    fn entry_of(&self, pos: u32, r: &Record, coordinate: Coordinate) -> IndexEntry {
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
    /// Each record is asked of the CPU a few positions before it is read
    /// (`store::prefetch`): the records of one entity or kind lie scattered
    /// among the others'.
    pub(crate) fn entries(&self, positions: impl IntoIterator<Item = u32>) -> Vec<IndexEntry> {
        let mut positions = positions.into_iter();
        let mut ahead = std::collections::VecDeque::with_capacity(ENTRIES_AHEAD);
        for p in positions.by_ref().take(ENTRIES_AHEAD) {
            self.prefetch_record(p);
            ahead.push_back(p);
        }
        let mut out = Vec::with_capacity(positions.size_hint().0 + ahead.len());
        let mut last: Option<(u32, Coordinate)> = None;
        while let Some(p) = ahead.pop_front() {
            if let Some(next) = positions.next() {
                self.prefetch_record(next);
                ahead.push_back(next);
            }
            let r = self.record(p);
            let coordinate = match &last {
                Some((c, coordinate)) if *c == r.coord => coordinate.clone(),
                _ => last.insert((r.coord, self.coordinate(r.coord))).1.clone(),
            };
            out.push(self.entry_of(p, r, coordinate));
        }
        out
    }

    /// Positions of the events of one kind, in commit order.
    pub(crate) fn kind_positions(&self, kind: EventKind) -> Vec<u32> {
        if self.topology.by_kind {
            return self.kind_list(kind.raw()).to_vec();
        }
        self.scan(|r| r.kind == kind.raw())
    }

    /// Positions of the events of one scope, in commit order.
    pub(crate) fn scope_positions(&self, scope: &str) -> Vec<u32> {
        let Some(id) = self.scope_id(scope) else {
            return Vec::new();
        };
        if self.topology.by_scope {
            return self.scope_events(id).to_vec();
        }
        self.scan(|r| self.slot(r.coord).is_some_and(|s| s.scope == id))
    }

    /// Positions of the events in a causal tree (the root and every event that
    /// names it as correlation id), in commit order.
    pub(crate) fn correlation_positions(&self, correlation_id: u128) -> Vec<u32> {
        let mut out: Vec<u32> = if self.topology.by_correlation {
            let mut out = self.base_pairs(section::CORRELATIONS, correlation_id);
            if let Some(tail) = self.by_correlation.get(&correlation_id) {
                out.extend_from_slice(tail);
            }
            out
        } else {
            self.links()
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

    /// The positions stored in the base's sorted pairs section `s` for `id`.
    fn base_pairs(&self, s: usize, id: u128) -> Vec<u32> {
        let Some(base) = &self.base else {
            return Vec::new();
        };
        let from = base.partition::<[u32; 5]>(s, |row| base::join128(&row[..4]) < id);
        (from..)
            .map_while(|i| base.row::<[u32; 5]>(s, i))
            .take_while(|row| base::join128(&row[..4]) == id)
            .map(|row| row[4])
            .collect()
    }

    fn scan(&self, keep: impl Fn(&Record) -> bool) -> Vec<u32> {
        (0..self.len() as u32)
            .filter(|&p| keep(self.record(p)))
            .collect()
    }

    /// Positions of the events in a region, in commit order, using the most
    /// selective index available.
    pub(crate) fn region_positions(&self, region: &Region) -> Vec<u32> {
        let keep = |p: &u32| {
            let r = self.record(*p);
            let (entity, scope) = self.names_of(r.coord);
            region.matches(entity, scope, r.kind())
        };
        let candidates: Vec<u32> = match (&region.entity, region.kinds.as_slice()) {
            (EntityFilter::Exact(name), _) => self.entity_positions(name).to_vec(),
            (EntityFilter::Prefix(prefix) | EntityFilter::Under(prefix), _) => {
                let mut all: Vec<u32> = self
                    .entity_names()
                    .filter(|(_, name)| name.starts_with(&**prefix))
                    .flat_map(|(e, _)| self.entity_events(e).iter())
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
                None => (0..self.len() as u32).collect(),
            },
        };
        candidates.into_iter().filter(keep).collect()
    }
}

/// A link stored in the base: position, whether it has a cause, the
/// correlation id and the causation id (four words each, lowest first).
fn base_link(row: &[u32; 10]) -> Link {
    Link {
        position: row[0],
        correlation_id: base::join128(&row[2..6]),
        causation_id: (row[1] != 0).then(|| base::join128(&row[6..10])),
    }
}
