//! Interned names without an allocation each: every name's bytes in one
//! buffer, in the order of first use (a name's id is its rank), and an
//! open-addressing table of ids to find a name's id. A name costs its bytes,
//! its end offset (8 bytes) and its share of the table (5 bytes per slot, at
//! most three quarters of the slots used). The table's hash (the stored
//! images' multiply-and-fold, `base::name_hash`, a few nanoseconds for a short
//! name) is keyed at random per table, so names chosen to collide cannot be
//! prepared in advance.

use super::base::name_hash;
use std::hash::{BuildHasher, RandomState};

/// Interned names; see the module docs.
#[derive(Debug)]
pub(crate) struct NameTable {
    /// Every name, in id order.
    bytes: String,
    /// The end offset in `bytes` of each name.
    ends: Vec<u64>,
    /// The lookup table: a name id per slot, valid where `tags` is not 0.
    slots: Vec<u32>,
    /// Per slot: 0 when free, else seven bits of its name's hash with the
    /// high bit set, so most probes reject a slot without reading a name.
    tags: Vec<u8>,
    /// The hash's key, random per table.
    key: [u64; 2],
}

impl Default for NameTable {
    fn default() -> Self {
        // The standard library's random keys, drawn once per table.
        let random = RandomState::new();
        Self {
            bytes: String::new(),
            ends: Vec::new(),
            slots: Vec::new(),
            tags: Vec::new(),
            key: [random.hash_one(1u8), random.hash_one(2u8)],
        }
    }
}

impl NameTable {
    /// The number of names.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The name with id `id`.
    pub(crate) fn name(&self, id: u32) -> &str {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.bytes[start as usize..self.ends[id] as usize]
    }

    /// The name with id `id`, if there is one.
    pub(crate) fn try_name(&self, id: usize) -> Option<&str> {
        (id < self.len()).then(|| self.name(id as u32))
    }

    /// The id of `name`, if it is interned.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let hash = name_hash(self.key, name.as_bytes());
        self.probe(hash, |id| self.name(id) == name).ok()
    }

    /// The id of `name`, interning it first when it is new.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if (self.len() + 1) * 4 > self.slots.len() * 3 {
            let slots = (self.len() + 1).next_power_of_two().max(8) * 2;
            let unique = self.rebuild(slots);
            assert!(unique, "names are interned once");
        }
        let hash = name_hash(self.key, name.as_bytes());
        match self.probe(hash, |id| self.name(id) == name) {
            Ok(id) => id,
            Err(slot) => {
                let id = u32::try_from(self.len()).expect("more than 4 billion names");
                self.bytes.push_str(name);
                self.ends.push(self.bytes.len() as u64);
                self.slots[slot] = id;
                self.tags[slot] = tag(hash);
                id
            }
        }
    }

    /// Forgets every name whose id is `len` or more.
    pub(crate) fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        let end = if len == 0 { 0 } else { self.ends[len - 1] };
        self.bytes.truncate(end as usize);
        self.ends.truncate(len);
        let unique = self.rebuild(self.slots.len());
        assert!(unique, "names are interned once");
    }

    /// Finds the name with hash `hash` for which `is` holds: `Ok(id)`, or
    /// `Err(slot)` with the free slot where it would go. The table has a
    /// free slot.
    fn probe(&self, hash: u64, is: impl Fn(u32) -> bool) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let wanted = tag(hash);
        let mut slot = hash as usize & mask;
        loop {
            match self.tags[slot] {
                0 => return Err(slot),
                t if t == wanted && is(self.slots[slot]) => return Ok(self.slots[slot]),
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// Rebuilds the lookup table with `slots` slots (a power of two larger
    /// than the number of names); false when a name appears twice. Names go
    /// in by batches whose hashes are computed first, so the inserts of a
    /// batch, which land at random in a large table, wait for memory together
    /// instead of one after the other (with no large scratch memory, which
    /// the allocator might keep).
    fn rebuild(&mut self, slots: usize) -> bool {
        self.slots = vec![0; slots];
        self.tags = vec![0; slots];
        let mut hashes = [0u64; REBUILD_BATCH];
        for first in (0..self.len()).step_by(REBUILD_BATCH) {
            let ids = first as u32..(first + REBUILD_BATCH).min(self.len()) as u32;
            for (hash, id) in hashes.iter_mut().zip(ids.clone()) {
                *hash = name_hash(self.key, self.name(id).as_bytes());
            }
            for (&hash, id) in hashes.iter().zip(ids) {
                let Err(slot) = self.probe(hash, |other| self.name(other) == self.name(id)) else {
                    return false;
                };
                self.slots[slot] = id;
                self.tags[slot] = tag(hash);
            }
        }
        true
    }
}

/// How many names [`NameTable::rebuild`] hashes before inserting them.
const REBUILD_BATCH: usize = 32;

/// The tag of a hash: its top seven bits, with the high bit set.
fn tag(hash: u64) -> u8 {
    (hash >> 57) as u8 | 0x80
}

#[cfg(test)]
mod tests {
    use super::NameTable;

    #[test]
    fn names_keep_their_ids_through_growth_and_truncation() {
        let mut table = NameTable::default();
        let names: Vec<String> = (0..1000).map(|i| format!("entity:{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.intern(name), i as u32);
        }
        assert_eq!(table.intern("entity:7"), 7);
        assert_eq!(table.intern(""), 1000);
        assert_eq!(table.name(1000), "");
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.get(name), Some(i as u32));
            assert_eq!(table.name(i as u32), name);
        }
        table.truncate(500);
        assert_eq!(table.len(), 500);
        assert_eq!(table.get("entity:499"), Some(499));
        assert_eq!(table.get("entity:500"), None);
        assert_eq!(table.get(""), None);
        assert_eq!(table.intern("entity:500"), 500);
    }
}
