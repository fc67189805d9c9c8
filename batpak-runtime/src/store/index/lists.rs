//! Small dense-id collections of the index: the event positions of each
//! entity or scope ([`Lists`]), sets of coordinate ids ([`IdSet`]) and maps
//! keyed by small integers ([`IdMap`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// No position.
const NONE: u32 = u32::MAX;

/// Event positions per id, in commit order. An id with one event costs four
/// bytes and no allocation (most entities of a large store have few events);
/// its second event moves them to a vector of their own.
#[derive(Debug, Default)]
pub(crate) struct Lists {
    /// Per id: its only position, or (when `multi` holds the id) the index of
    /// its vector in `lists`; `NONE` while it has none.
    heads: Vec<u32>,
    multi: IdSet,
    lists: Vec<Vec<u32>>,
}

impl Lists {
    /// Appends `pos` to the positions of `id`.
    pub(crate) fn push(&mut self, id: u32, pos: u32) {
        assert!(pos != NONE, "position {pos} does not fit the index");
        let i = id as usize;
        if self.heads.len() <= i {
            self.heads.resize(i + 1, NONE);
        }
        let head = self.heads[i];
        if head == NONE {
            self.heads[i] = pos;
        } else if self.multi.contains(&id) {
            self.lists[head as usize].push(pos);
        } else {
            self.heads[i] = u32::try_from(self.lists.len()).expect("fewer lists than events");
            self.lists.push(vec![head, pos]);
            self.multi.insert(id);
        }
    }

    /// The positions of `id`, in commit order.
    pub(crate) fn get(&self, id: u32) -> &[u32] {
        match self.heads.get(id as usize) {
            None | Some(&NONE) => &[],
            Some(&head) if self.multi.contains(&id) => &self.lists[head as usize],
            Some(head) => std::slice::from_ref(head),
        }
    }

    /// Forgets the ids from `len` on, which must have no positions.
    pub(crate) fn truncate(&mut self, len: usize) {
        let cut = self.heads.get(len..).unwrap_or_default();
        assert!(
            cut.iter().all(|&h| h == NONE),
            "a forgotten name has events"
        );
        self.heads.truncate(len);
    }
}

/// A set of dense ids: one bit per id up to the largest.
#[derive(Debug, Default, Clone)]
pub(crate) struct IdSet {
    words: Vec<u64>,
}

impl IdSet {
    /// A set made of [`IdSet::words`].
    pub(crate) fn from_words(words: Vec<u64>) -> Self {
        Self { words }
    }

    /// The set's bits, 64 ids a word, lowest first.
    pub(crate) fn words(&self) -> &[u64] {
        &self.words
    }

    /// Adds `id`; whether it was missing.
    pub(crate) fn insert(&mut self, id: u32) -> bool {
        let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        let missing = self.words[word] & bit == 0;
        self.words[word] |= bit;
        missing
    }

    /// Whether the set holds `id`.
    pub(crate) fn contains(&self, id: &u32) -> bool {
        self.words
            .get(*id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Removes `id`; whether it was there.
    pub(crate) fn remove(&mut self, id: &u32) -> bool {
        let present = self.contains(id);
        if let Some(w) = self.words.get_mut(*id as usize / 64) {
            *w &= !(1 << (id % 64));
        }
        present
    }

    /// Empties the set, keeping its memory.
    pub(crate) fn clear(&mut self) {
        self.words.fill(0);
    }
}

/// A hash map keyed by ids the store assigns (entity ids) or by event kinds:
/// hashed by one multiplication. Such keys cannot be chosen to collide in
/// numbers that matter (ids are dense, kinds are at most 65,536), so a keyed
/// hash would cost time on every event and protect nothing.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdMap`].
#[derive(Debug, Default)]
pub(crate) struct IdHasher(u64);

/// 2^64 divided by the golden ratio, odd: multiplying by it spreads small
/// integers over all 64 bits.
const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

impl IdHasher {
    fn mix(&mut self, v: u64) {
        let p = (self.0 ^ v).wrapping_mul(MULTIPLIER);
        self.0 = p ^ (p >> 32);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.mix(u64::from(b)));
    }

    fn write_u16(&mut self, v: u16) {
        self.mix(u64::from(v));
    }

    fn write_u32(&mut self, v: u32) {
        self.mix(u64::from(v));
    }
}

#[cfg(test)]
mod tests {
    use super::{IdHasher, IdSet, Lists};
    use std::hash::Hasher;

    #[test]
    fn one_position_needs_no_list_and_more_keep_their_order() {
        let mut lists = Lists::default();
        lists.push(3, 10);
        assert_eq!(lists.get(3), &[10]);
        assert!(lists.get(0).is_empty() && lists.get(99).is_empty());
        assert!(lists.lists.is_empty());
        lists.push(3, 11);
        lists.push(0, 12);
        lists.push(3, 13);
        assert_eq!(lists.get(3), &[10, 11, 13]);
        assert_eq!(lists.get(0), &[12]);
        lists.truncate(4);
        assert_eq!(lists.get(3), &[10, 11, 13]);
    }

    #[test]
    fn id_sets_behave_as_sets() {
        let mut set = IdSet::default();
        assert!(set.insert(70) && !set.insert(70) && set.insert(1));
        assert!(set.contains(&70) && !set.contains(&71) && !set.contains(&9999));
        assert!(set.contains(&1) && !set.contains(&0));
        assert!(set.remove(&70) && !set.remove(&70) && !set.remove(&9999));
        set.clear();
        assert!(!set.contains(&1));
        set.insert(5);
        let copy = IdSet::from_words(set.words().to_vec());
        assert!(copy.contains(&5) && !copy.contains(&1));
    }

    #[test]
    fn ids_differing_in_high_bits_hash_apart() {
        let hash = |kind: u16| {
            let mut h = IdHasher::default();
            h.write_u16(kind);
            h.finish()
        };
        // The same type id in two categories: low bits and high bits differ.
        let (a, b) = (hash(0x1001), hash(0x2001));
        assert_ne!(a & 0xff, b & 0xff);
        assert_ne!(a >> 57, b >> 57);
    }
}
