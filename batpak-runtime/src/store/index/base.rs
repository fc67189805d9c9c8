//! The mapped base of an index: an index image (see `image`) read in place
//! from a mapped snapshot. Every structure is a fixed-width, aligned array
//! inside the mapping, viewed as a slice by an aligned cast; opening one reads
//! only the image's header and the kind table, so nothing per event is done
//! and the mapping's pages are touched only when a query reads them.
//!
//! The image's bytes were checked (the snapshot's CRC) before it is opened;
//! the header's counts and section bounds are checked here. A crafted image
//! whose CRC matches can still hold nonsense inside its arrays (a position
//! past the end, a coordinate that does not exist): every accessor is
//! bounds-checked and yields nothing (an empty list, an empty name) rather
//! than panic.

use super::record::Record;
use std::ops::Range;

/// Section numbers of an index image, in file order.
pub(super) mod section {
    pub const RECORDS: usize = 0;
    pub const LINKS: usize = 1;
    pub const ENTITY_BYTES: usize = 2;
    pub const ENTITY_ENDS: usize = 3;
    pub const ENTITY_SLOTS: usize = 4;
    pub const SCOPE_BYTES: usize = 5;
    pub const SCOPE_ENDS: usize = 6;
    pub const SCOPE_SLOTS: usize = 7;
    pub const COORDS: usize = 8;
    pub const ENTITY_COORDS: usize = 9;
    pub const MORE_COORDS: usize = 10;
    pub const ENTITY_OFFSETS: usize = 11;
    pub const ENTITY_POSITIONS: usize = 12;
    pub const SCOPE_OFFSETS: usize = 13;
    pub const SCOPE_POSITIONS: usize = 14;
    pub const KINDS: usize = 15;
    pub const KIND_POSITIONS: usize = 16;
    pub const CORRELATIONS: usize = 17;
    pub const CAUSATIONS: usize = 18;
    /// The number of sections.
    pub const COUNT: usize = 19;
}

/// Words (u64 LE) of an image header before its section table: a tag, the
/// topology bits, the two hash key words.
pub(super) const HEADER_WORDS: usize = 4;
/// The image header's tag.
pub(super) const TAG: u64 = u64::from_le_bytes(*b"BPKIDX03");
/// Bytes of an image header: its words, then offset and length per section.
pub(super) const HEADER_BYTES: usize = (HEADER_WORDS + 2 * section::COUNT) * 8;

/// Types whose every bit pattern is a valid value and that have no padding,
/// so aligned bytes can be viewed as a slice of them.
///
/// # Safety
/// Implementors must be `repr(C)` or primitive, made only of integers, with
/// no padding bytes.
pub(super) unsafe trait Plain: Copy {}
// SAFETY: primitive integers.
unsafe impl Plain for u32 {}
// SAFETY: primitive integers.
unsafe impl Plain for u64 {}
// SAFETY: an array of u32 has no padding.
unsafe impl<const N: usize> Plain for [u32; N] {}
// SAFETY: `Record` is `repr(C)`, made of u32, u16 and u8 fields adding up to
// its 44 bytes (checked at compile time in `record`): no padding.
unsafe impl Plain for Record {}

/// `bytes` as a slice of `T`, if it is aligned for `T` and a whole number of
/// them (always, for a section that passed [`Base::open`]'s checks).
pub(super) fn cast<T: Plain>(bytes: &[u8]) -> Option<&[T]> {
    // SAFETY: `T: Plain`, so any initialised bytes are a valid `T`; `align_to`
    // only yields the middle part at `T`'s alignment, and we refuse a slice
    // with leftover bytes at either end.
    let (head, mid, tail) = unsafe { bytes.align_to::<T>() };
    (head.is_empty() && tail.is_empty()).then_some(mid)
}

/// Little-endian u128 from four u32 words, lowest first.
pub(super) fn join128(w: &[u32]) -> u128 {
    w.iter()
        .take(4)
        .rev()
        .fold(0u128, |acc, x| (acc << 32) | u128::from(*x))
}

/// The bytes an image lives in: a mapped snapshot, or (in tests) a buffer.
pub(crate) type ImageBytes = Box<dyn AsRef<[u8]> + Send + Sync>;

/// A mapped index image; see the module docs.
pub(crate) struct Base {
    bytes: ImageBytes,
    /// Where the image starts in `bytes`.
    start: usize,
    /// Each section's range in `bytes`.
    sections: [Range<usize>; section::COUNT],
    /// The key of the stored name tables' hash.
    pub(super) key: [u64; 2],
    pub(super) records: usize,
    pub(super) entities: usize,
    pub(super) scopes: usize,
    pub(super) coords: usize,
    /// The kind table, read at open: each kind with its range of
    /// [`section::KIND_POSITIONS`].
    pub(super) kinds: Vec<(u16, Range<usize>)>,
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Base")
            .field("start", &self.start)
            .field("records", &self.records)
            .field("entities", &self.entities)
            .finish_non_exhaustive()
    }
}

impl Base {
    /// Opens the image at `start` in `bytes`, written for an index of
    /// topology bits `topology`; `None` when its header does not describe
    /// sections inside the bytes, aligned, of consistent sizes.
    pub(super) fn open(bytes: ImageBytes, start: usize, topology: u64) -> Option<Self> {
        if cfg!(target_endian = "big") {
            return None;
        }
        let all = (*bytes).as_ref();
        // Sections are 8-aligned in memory (a mapping is page-aligned and
        // the image 8-aligned in its file).
        let aligned = |at: usize| (all.as_ptr() as usize).wrapping_add(at).is_multiple_of(8);
        let header = all.get(start..start.checked_add(HEADER_BYTES)?)?;
        let words: &[u64] = cast(header)?;
        if words[0] != TAG || words[1] != topology {
            return None;
        }
        let key = [words[2], words[3]];
        let mut sections: [Range<usize>; section::COUNT] = Default::default();
        let mut at = start + HEADER_BYTES;
        for (i, range) in sections.iter_mut().enumerate() {
            let offset = usize::try_from(words[HEADER_WORDS + 2 * i]).ok()?;
            let len = usize::try_from(words[HEADER_WORDS + 2 * i + 1]).ok()?;
            let from = start.checked_add(offset)?;
            // Sections follow each other, each 8-aligned.
            if from < at || !aligned(from) || from.checked_add(len)? > all.len() {
                return None;
            }
            *range = from..from + len;
            at = from + len;
        }
        let mut base = Self {
            bytes,
            start,
            sections,
            key,
            records: 0,
            entities: 0,
            scopes: 0,
            coords: 0,
            kinds: Vec::new(),
        };
        base.check_sizes()?;
        Some(base)
    }

    /// Derives the counts from the section sizes and checks that they agree.
    fn check_sizes(&mut self) -> Option<()> {
        use section::*;
        let len = |s: usize| self.sections[s].len();
        let whole = |s: usize, width: usize| len(s).is_multiple_of(width).then(|| len(s) / width);
        self.records = whole(RECORDS, 44)?;
        whole(LINKS, 40)?;
        self.entities = whole(ENTITY_ENDS, 8)?;
        self.scopes = whole(SCOPE_ENDS, 8)?;
        self.coords = whole(COORDS, 8)?;
        let table_ok = |s: usize, names: usize| {
            let slots = len(s) / 4;
            len(s).is_multiple_of(4) && slots.is_power_of_two() && slots > names
        };
        let lists_ok = |offsets: usize, positions: usize, ids: usize| {
            let none = len(offsets) == 0 && len(positions) == 0;
            none || (len(offsets) == 4 * (ids + 1) && len(positions).is_multiple_of(4))
        };
        let ok = table_ok(ENTITY_SLOTS, self.entities)
            && table_ok(SCOPE_SLOTS, self.scopes)
            && whole(ENTITY_COORDS, 4)? == self.entities
            && whole(MORE_COORDS, 12).is_some()
            && lists_ok(ENTITY_OFFSETS, ENTITY_POSITIONS, self.entities)
            && lists_ok(SCOPE_OFFSETS, SCOPE_POSITIONS, self.scopes)
            && whole(CORRELATIONS, 20).is_some()
            && whole(CAUSATIONS, 20).is_some()
            && u32::try_from(self.records).is_ok();
        if !ok {
            return None;
        }
        let kinds: &[[u32; 2]] = cast(self.raw(KINDS))?;
        let positions = self.u32s(KIND_POSITIONS)?.len();
        let mut from = 0usize;
        let mut table = Vec::with_capacity(kinds.len());
        for &[kind, end] in kinds {
            let end = end as usize;
            if end < from || end > positions {
                return None;
            }
            table.push((u16::try_from(kind).ok()?, from..end));
            from = end;
        }
        self.kinds = table;
        Some(())
    }

    /// The raw bytes of section `s`.
    pub(super) fn raw(&self, s: usize) -> &[u8] {
        let all = (*self.bytes).as_ref();
        all.get(self.sections[s].clone()).unwrap_or_default()
    }

    /// Section `s`'s range in the bytes.
    #[cfg(test)]
    pub(super) fn range(&self, s: usize) -> Range<usize> {
        self.sections[s].clone()
    }

    /// Section `s` as u32 words.
    pub(super) fn u32s(&self, s: usize) -> Option<&[u32]> {
        cast(self.raw(s))
    }

    /// Section `s` as words of `N` u32s; empty if it is not.
    pub(super) fn rows<const N: usize>(&self, s: usize) -> &[[u32; N]] {
        cast(self.raw(s)).unwrap_or_default()
    }

    /// The base's records.
    pub(super) fn records(&self) -> &[Record] {
        cast(self.raw(section::RECORDS)).unwrap_or_default()
    }

    /// Section `s` as u32 words; empty if it is not.
    pub(super) fn words(&self, s: usize) -> &[u32] {
        self.u32s(s).unwrap_or_default()
    }

    /// Entry `i` of a list section pair (offsets, positions): the positions
    /// of id `i`; empty for an unknown id or bad offsets.
    pub(super) fn list(&self, offsets: usize, positions: usize, i: usize) -> &[u32] {
        let offsets = self.words(offsets);
        let (Some(&a), Some(&b)) = (offsets.get(i), offsets.get(i + 1)) else {
            return &[];
        };
        self.words(positions)
            .get(a as usize..b as usize)
            .unwrap_or_default()
    }

    /// The name with id `id` in a stored table (bytes and ends sections).
    pub(super) fn name(&self, bytes: usize, ends: usize, id: usize) -> &str {
        let ends: &[u64] = cast(self.raw(ends)).unwrap_or_default();
        let start = if id == 0 {
            Some(0)
        } else {
            ends.get(id - 1).copied()
        };
        let (Some(start), Some(&end)) = (start, ends.get(id)) else {
            return "";
        };
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return "";
        };
        self.raw(bytes)
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// The id of `name` in a stored table (bytes, ends and slots sections).
    pub(super) fn find_name(&self, [bytes, ends, slots]: [usize; 3], name: &str) -> Option<u32> {
        let table = self.words(slots);
        if table.is_empty() {
            return None;
        }
        let mask = table.len() - 1;
        let mut slot = name_hash(self.key, name.as_bytes()) as usize & mask;
        for _ in 0..table.len() {
            match table[slot] {
                0 => return None,
                stored if self.name(bytes, ends, stored as usize - 1) == name => {
                    return Some(stored - 1)
                }
                _ => slot = (slot + 1) & mask,
            }
        }
        None
    }
}

/// The hash of a stored name table: keyed per image (random when the image
/// is written, so names chosen to collide cannot be prepared without reading
/// the file), one multiply-and-fold per 8 bytes.
pub(super) fn name_hash(key: [u64; 2], bytes: &[u8]) -> u64 {
    const M: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = key[0] ^ (bytes.len() as u64).wrapping_mul(M);
    for chunk in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(w) ^ key[1]).wrapping_mul(M);
        h ^= h >> 31;
    }
    h = (h ^ key[1]).wrapping_mul(M);
    h ^ (h >> 29)
}
