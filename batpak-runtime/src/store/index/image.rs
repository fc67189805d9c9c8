//! The index image: every structure of an index as fixed-width,
//! little-endian, 8-aligned arrays, the form an index snapshot stores and a
//! mapped base (`base`) reads in place. Layout (all offsets from the image's
//! start, which is 8-aligned in its file):
//!
//! - header: tag `BPKIDX03`, topology bits (kind, scope, correlation lists:
//!   bits 0, 1, 2), two hash key words (u64 LE each), then per section its
//!   offset and byte length (u64 LE each), in section order;
//! - the sections (`base::section`), each starting 8-aligned, zero padding
//!   between them: records (44 bytes each, the `Record` layout); links
//!   sorted by position (position, has-cause flag, correlation id, causation
//!   id: ten u32); per name table (entities, then scopes) the names' bytes,
//!   each name's end offset (u64) and an open-addressing lookup table
//!   (power-of-two u32 slots, name id + 1 or 0 for free, linear probing from
//!   the keyed `name_hash`); coordinates (entity id, scope id); each entity's
//!   first coordinate; the other coordinates of (entity, scope) pairs
//!   sorted by pair (entity, scope, coordinate); entity and scope lists in
//!   CSR form (ids + 1 u32 offsets, then the positions); kinds (kind, end
//!   offset into the kind positions, sorted by kind) and the kind
//!   positions; correlation and causation pairs sorted by id then position
//!   (id as four u32 lowest first, position). Lists the topology does not
//!   keep are empty.

use super::base::{name_hash, section, HEADER_BYTES, HEADER_WORDS, TAG};
use super::Index;
use crate::store::config::IndexTopology;

/// The topology as the image header stores it.
pub(super) fn topology_bits(t: IndexTopology) -> u64 {
    u64::from(t.by_kind) | u64::from(t.by_scope) << 1 | u64::from(t.by_correlation) << 2
}

/// Appends little-endian u32 words.
fn put_u32s(out: &mut Vec<u8>, words: impl IntoIterator<Item = u32>) {
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// The four words of `v`, lowest first.
fn split(v: u128) -> [u32; 4] {
    [
        v as u32,
        (v >> 32) as u32,
        (v >> 64) as u32,
        (v >> 96) as u32,
    ]
}

impl Index {
    /// Appends the index's image to `out`, whose length must be a multiple
    /// of 8 from an 8-aligned file offset. `key` keys the name tables' hash.
    pub(crate) fn write_image(&self, out: &mut Vec<u8>, key: [u64; 2]) {
        let start = out.len();
        out.resize(start + HEADER_BYTES, 0);
        let mut table = [(0u64, 0u64); section::COUNT];
        for (s, entry) in table.iter_mut().enumerate() {
            while !out.len().is_multiple_of(8) {
                out.push(0);
            }
            let from = out.len();
            self.put_section(out, s, key);
            *entry = ((from - start) as u64, (out.len() - from) as u64);
        }
        let mut header = Vec::with_capacity(HEADER_BYTES);
        let words = [TAG, topology_bits(self.topology), key[0], key[1]];
        debug_assert_eq!(words.len(), HEADER_WORDS);
        for w in words
            .into_iter()
            .chain(table.iter().flat_map(|&(o, l)| [o, l]))
        {
            header.extend_from_slice(&w.to_le_bytes());
        }
        out[start..start + HEADER_BYTES].copy_from_slice(&header);
    }

    /// Appends section `s`.
    fn put_section(&self, out: &mut Vec<u8>, s: usize, key: [u64; 2]) {
        use section::*;
        let t = self.topology;
        match s {
            RECORDS => self
                .records()
                .for_each(|r| out.extend_from_slice(&r.to_bytes())),
            LINKS => {
                for l in self.links() {
                    put_u32s(out, [l.position, u32::from(l.causation_id.is_some())]);
                    put_u32s(out, split(l.correlation_id));
                    put_u32s(out, split(l.causation_id.unwrap_or(0)));
                }
            }
            ENTITY_BYTES => {
                for (_, name) in self.entity_names() {
                    out.extend_from_slice(name.as_bytes());
                }
            }
            ENTITY_ENDS => put_ends(out, self.entity_names().map(|(_, n)| n)),
            ENTITY_SLOTS => {
                let names = self.entity_names().map(|(_, n)| n);
                put_slots(out, key, self.entity_count(), names);
            }
            SCOPE_BYTES => {
                for id in 0..self.scope_count() as u32 {
                    out.extend_from_slice(self.scope_name(id).as_bytes());
                }
            }
            SCOPE_ENDS => put_ends(out, self.scope_names()),
            SCOPE_SLOTS => put_slots(out, key, self.scope_count(), self.scope_names()),
            COORDS => {
                for c in 0..self.coord_count() {
                    let slot = self.slot(c).unwrap_or(super::CoordSlot {
                        entity: 0,
                        scope: 0,
                    });
                    put_u32s(out, [slot.entity, slot.scope]);
                }
            }
            ENTITY_COORDS => {
                let firsts = (0..self.entity_count() as u32).map(|e| self.first_coord_of(e));
                put_u32s(out, firsts);
            }
            MORE_COORDS => self.put_more_coords(out),
            ENTITY_OFFSETS => {
                let lists = (0..self.entity_count() as u32).map(|e| self.entity_events(e));
                put_offsets(out, lists);
            }
            ENTITY_POSITIONS => {
                for e in 0..self.entity_count() as u32 {
                    put_u32s(out, self.entity_events(e).iter());
                }
            }
            SCOPE_OFFSETS if t.by_scope => {
                let lists = (0..self.scope_count() as u32).map(|e| self.scope_events(e));
                put_offsets(out, lists);
            }
            SCOPE_POSITIONS if t.by_scope => {
                for e in 0..self.scope_count() as u32 {
                    put_u32s(out, self.scope_events(e).iter());
                }
            }
            KINDS if t.by_kind => {
                let mut end = 0u32;
                for kind in self.listed_kinds() {
                    end += self.kind_list(kind).len() as u32;
                    put_u32s(out, [u32::from(kind), end]);
                }
            }
            KIND_POSITIONS if t.by_kind => {
                for kind in self.listed_kinds() {
                    put_u32s(out, self.kind_list(kind).iter());
                }
            }
            CORRELATIONS if t.by_correlation => {
                put_pairs(out, self.links().map(|l| (l.correlation_id, l.position)));
            }
            CAUSATIONS if t.by_correlation => {
                let pairs = self
                    .links()
                    .filter_map(|l| Some((l.causation_id?, l.position)));
                put_pairs(out, pairs);
            }
            _ => {}
        }
    }

    /// Every scope's name, in id order.
    fn scope_names(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.scope_count() as u32).map(|id| self.scope_name(id))
    }

    /// The coordinates that a lookup by (entity, scope) finds and that are
    /// not their entity's first, sorted by pair.
    fn put_more_coords(&self, out: &mut Vec<u8>) {
        let mut rows: Vec<[u32; 3]> = (0..self.coord_count())
            .filter_map(|c| {
                let slot = self.slot(c)?;
                let first = self.first_coord_of(slot.entity) == c;
                let found = self.coord_id_of(slot) == Some(c);
                (!first && found).then_some([slot.entity, slot.scope, c])
            })
            .collect();
        rows.sort_unstable();
        rows.into_iter().for_each(|r| put_u32s(out, r));
    }
}

/// Each name's end offset, u64 LE.
fn put_ends<'a>(out: &mut Vec<u8>, names: impl Iterator<Item = &'a str>) {
    let mut end = 0u64;
    for name in names {
        end += name.len() as u64;
        out.extend_from_slice(&end.to_le_bytes());
    }
}

/// The lookup table of `names`: at most half its slots used.
fn put_slots<'a>(
    out: &mut Vec<u8>,
    key: [u64; 2],
    count: usize,
    names: impl Iterator<Item = &'a str>,
) {
    let slots = (count * 2).next_power_of_two().max(8);
    let mask = slots - 1;
    let mut table = vec![0u32; slots];
    for (id, name) in names.enumerate() {
        let mut slot = name_hash(key, name.as_bytes()) as usize & mask;
        while table[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        table[slot] = id as u32 + 1;
    }
    put_u32s(out, table);
}

/// CSR offsets of `lists`: 0, then each list's end.
fn put_offsets<'a>(out: &mut Vec<u8>, lists: impl Iterator<Item = super::Positions<'a>>) {
    let mut end = 0u32;
    put_u32s(out, [0]);
    for list in lists {
        end += list.len() as u32;
        put_u32s(out, [end]);
    }
}

/// (id, position) pairs sorted by id then position.
fn put_pairs(out: &mut Vec<u8>, pairs: impl Iterator<Item = (u128, u32)>) {
    let mut pairs: Vec<(u128, u32)> = pairs.collect();
    pairs.sort_unstable();
    for (id, pos) in pairs {
        put_u32s(out, split(id));
        put_u32s(out, [pos]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{base::section, Index, Link, Record, RecordFields};
    use crate::coordinate::Region;
    use crate::event::EventKind;
    use crate::store::config::IndexTopology;
    use crate::store::error::LogPosition;

    /// The record of event `i` (id and sequence from `i`) at `(segment,
    /// offset)`.
    fn record(
        i: u64,
        (segment, offset): (u64, u64),
        coord: u32,
        seq: u64,
        kind: EventKind,
    ) -> Record {
        Record::new(&RecordFields {
            event_id: u128::from(i + 1) << 64,
            sequence: i + 1,
            at: LogPosition { segment, offset },
            coord,
            entity_sequence: seq,
            kind,
            bits: 0,
        })
    }

    /// An in-memory index of 40 events over four coordinates (two scopes,
    /// three kinds), every third event a reaction.
    fn sample() -> Index {
        let mut index = Index::new(IndexTopology::all());
        for (c, (e, s)) in [("a", "s"), ("b", "s"), ("a", "t"), ("c", "t")]
            .into_iter()
            .enumerate()
        {
            assert!(index.define_name(c as u32, e, s));
        }
        for i in 0..40u64 {
            let at = (1, 100 * i);
            let kind = EventKind::custom(1, (i % 3) as u16);
            let record = record(i, at, (i % 4) as u32, i / 4 + 1, kind);
            let link = (i % 3 == 2).then(|| Link {
                position: 0,
                correlation_id: index.record(0).event_id(),
                causation_id: Some(index.record(i as u32 - 1).event_id()),
            });
            index.push(record, link);
        }
        index
    }

    /// The image of `index` in an 8-aligned buffer, and where it starts.
    fn image_of(index: &Index) -> (Vec<u8>, usize) {
        let mut image = Vec::new();
        index.write_image(&mut image, [7, 9]);
        let mut buf = vec![0u8; image.len() + 8];
        let pad = (8 - buf.as_ptr() as usize % 8) % 8;
        buf[pad..pad + image.len()].copy_from_slice(&image);
        (buf, pad)
    }

    fn open(buf: Vec<u8>, start: usize) -> Option<Index> {
        Index::open_image(IndexTopology::all(), Box::new(buf), start, None)
    }

    /// Every read, as one comparable value.
    fn reads(index: &Index) -> String {
        let all: Vec<u32> = (0..index.len() as u32).collect();
        let mut out = format!("{:?}", index.entries(all));
        for (e, s) in [("a", "s"), ("a", "t"), ("c", "t"), ("b", "t")] {
            let positions = index.entity_positions(e).to_vec();
            out += &format!("{:?}{positions:?}", index.coord_of(e, s));
            out += &format!("{:?}", index.scope_positions(s));
        }
        for k in 0..3 {
            out += &format!("{:?}", index.kind_positions(EventKind::custom(1, k)));
        }
        let root = index.record(0).event_id();
        out += &format!("{:?}", index.correlation_positions(root));
        out += &format!("{:?}", index.descendants(index.record(4).event_id(), 9));
        out += &format!("{:?}", index.region_positions(&Region::entity_prefix("a")));
        out += &format!("{:?}", index.quick_count(&Region::all().with_category(1)));
        out
    }

    #[test]
    fn an_image_opened_in_place_reads_as_the_index_it_was_written_from() {
        let index = sample();
        let (buf, start) = image_of(&index);
        let mut mapped = open(buf, start).expect("the image opens");
        assert_eq!(reads(&mapped), reads(&index));
        // A tail on top: a new coordinate and events of old and new ones.
        let mut memory = sample();
        for ix in [&mut mapped, &mut memory] {
            assert!(ix.define_name(4, "d", "s"));
            for i in 40..48u64 {
                let kind = EventKind::custom(1, 0);
                ix.push(record(i, (2, i), (i % 5) as u32, 20 + i, kind), None);
            }
        }
        assert_eq!(reads(&mapped), reads(&memory));
        assert_eq!(mapped.coord_of("d", "s"), Some((4, 3)));
        mapped.materialize();
        assert_eq!(reads(&mapped), reads(&memory));
    }

    #[test]
    fn a_crafted_image_reads_wrong_but_never_panics() {
        let index = sample();
        let (buf, start) = image_of(&index);
        let mut bad = buf.clone();
        bad[start] ^= 1;
        assert!(open(bad, start).is_none(), "a bad tag");
        let mut bad = buf.clone();
        bad[start + 8] ^= 1;
        assert!(open(bad, start).is_none(), "another topology");
        assert!(open(buf.clone(), start + 1).is_none(), "misaligned");
        // Every array section filled with 0xff, in turn.
        let base = open(buf.clone(), start).expect("the image opens");
        for s in 0..section::COUNT {
            let range = base.base.as_ref().map(|b| b.range(s)).expect("a base");
            let mut bad = buf.clone();
            bad[start + range.start..start + range.end].fill(0xff);
            if let Some(mut crafted) = open(bad, start) {
                let _ = reads(&crafted);
                crafted.materialize();
                let _ = reads(&crafted);
            }
        }
    }

    #[test]
    fn a_damaged_block_is_never_served_the_image_is_rebuilt_or_yields_nothing() {
        use super::super::{block_crcs, BaseState};
        // The sample grown past one block, so damage can sit in a block the
        // open does not read.
        let mut big = sample();
        for i in 40..400u64 {
            let kind = EventKind::custom(1, (i % 3) as u16);
            big.push(record(i, (2, i), (i % 4) as u32, 20 + i, kind), None);
        }
        let mut image = Vec::new();
        big.write_image(&mut image, [7, 9]);
        let (mut buf, start) = image_of(&big);
        // The image must end the buffer, as it ends its snapshot file.
        buf.truncate(start + image.len());
        let crcs = block_crcs(&image);
        assert!(crcs.len() >= 2, "{} bytes", image.len());
        let opened = |bytes: Vec<u8>, rebuild: Option<Index>| {
            let mut ix = Index::open_image(
                IndexTopology::all(),
                Box::new(bytes),
                start,
                Some(crcs.clone()),
            )?;
            let rebuild = std::sync::Mutex::new(rebuild);
            ix.set_rebuild(Box::new(move || rebuild.lock().ok()?.take()));
            Some(ix)
        };
        // Intact: reads equal the index's, nothing rebuilt.
        let ix = opened(buf.clone(), None).expect("opens");
        assert_eq!(reads(&ix), reads(&big));
        assert_eq!(ix.base_state(), BaseState::Intact);
        // A flipped byte in record 100 (in block 1), which the open does
        // not read.
        let records = big_range(&ix, section::RECORDS);
        let mut bad = buf.clone();
        bad[start + records.start + 44 * 100 + 3] ^= 0x10;
        let ix = opened(bad.clone(), Some(big_copy(&big))).expect("opens");
        assert_eq!(ix.base_state(), BaseState::Intact);
        assert_eq!(reads(&ix), reads(&big));
        assert_eq!(ix.base_state(), BaseState::Rebuilt);
        // The same damage, and the log rebuilds a different index: nothing
        // is served, and nothing panics.
        let ix = opened(bad.clone(), Some(sample())).expect("opens");
        let _ = reads(&ix);
        assert_eq!(ix.base_state(), BaseState::Unusable);
        assert_eq!(ix.entity_positions("a").len(), 0);
        let ix = opened(bad, None).expect("opens");
        assert_eq!(*ix.record(100), Record::NONE);
        assert_eq!(ix.base_state(), BaseState::Unusable);
        // Damage in what the open reads (header, kind table, last record):
        // the image does not open, and the snapshot's caller scans instead.
        let kinds = big_range(&opened(buf.clone(), None).expect("opens"), section::KINDS);
        for at in [8, kinds.start, records.end - 1] {
            let mut bad = buf.clone();
            bad[start + at] ^= 1;
            assert!(opened(bad, None).is_none(), "damage at {at}");
        }
    }

    fn big_range(ix: &Index, s: usize) -> std::ops::Range<usize> {
        ix.base.as_ref().map(|b| b.range(s)).expect("a base")
    }

    /// A copy of `index` in memory (an index is not `Clone`).
    fn big_copy(index: &Index) -> Index {
        let (buf, start) = image_of(index);
        let mut copy = open(buf, start).expect("opens");
        copy.materialize();
        copy
    }
}
