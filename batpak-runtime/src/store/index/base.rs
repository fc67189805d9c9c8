//! The mapped base of an index: an index image (see `image`) read in place
//! from a mapped snapshot. Every structure is a fixed-width, aligned array
//! inside the mapping, viewed as a slice by an aligned cast; opening one reads
//! only the image's header, the kind table and the last record, so nothing
//! per event is done and the mapping's pages are touched only when a query
//! reads them.
//!
//! Integrity is checked lazily (`blocks`): every accessor hands out bytes
//! only after the 4 KiB blocks they lie in matched their stored CRCs. When
//! one does not, the base rebuilds the whole image from the log (its
//! `Rebuild`, set by the store) and serves every later read from that copy,
//! provided the copy matches every stored CRC, which makes it the stored
//! image byte for byte, ids and positions included. Otherwise the base is
//! `Unusable`: its reads yield nothing and the store refuses to write on top
//! of it. The header's counts and section bounds are checked at open. A
//! crafted image whose CRCs match can still hold nonsense inside its arrays
//! (a position past the end, a coordinate that does not exist): every
//! accessor is bounds-checked and yields nothing (an empty list, an empty
//! name) rather than panic.

use super::blocks::Blocks;
use super::record::Record;
use std::ops::Range;
use std::sync::OnceLock;

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
unsafe impl Plain for u8 {}
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

/// Rebuilds, from the log, the index a damaged image was written from.
pub(crate) type Rebuild = Box<dyn Fn() -> Option<super::Index> + Send + Sync>;

/// A mapped index image; see the module docs.
pub(crate) struct Base {
    bytes: ImageBytes,
    /// Where the image starts in `bytes`.
    start: usize,
    /// Each section's range in the image.
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
    /// The stored CRC of each block, checked as reads touch them; `None`
    /// for an image whose bytes are trusted whole (tests).
    blocks: Option<Blocks>,
    /// How to rebuild the image when a block does not match.
    rebuild: Option<Rebuild>,
    /// Set once a block failed its check: the image rebuilt from the log
    /// (as native-order words, so it is 8-aligned), or `None` when no copy
    /// matching the stored CRCs could be rebuilt.
    repaired: OnceLock<Option<Box<[u64]>>>,
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Base")
            .field("start", &self.start)
            .field("records", &self.records)
            .field("entities", &self.entities)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Whether a mapped base's bytes all matched their stored CRCs so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseState {
    /// Every block read so far matched.
    Intact,
    /// A block did not match; reads now come from an image rebuilt from the
    /// log, which matched every stored CRC.
    Rebuilt,
    /// A block did not match and no matching image could be rebuilt: the
    /// base's reads yield nothing (the store stops writing).
    Unusable,
}

impl Base {
    /// Opens the image at `start` in `bytes`, written for an index of
    /// topology bits `topology`, whose blocks have the stored CRCs `crcs`
    /// (`None`: trusted whole); `None` when its header does not describe
    /// sections inside the bytes, aligned, of consistent sizes, or the
    /// blocks the open reads do not match.
    pub(super) fn open(
        bytes: ImageBytes,
        start: usize,
        topology: u64,
        crcs: Option<Vec<u32>>,
    ) -> Option<Self> {
        if cfg!(target_endian = "big") {
            return None;
        }
        let image = (*bytes).as_ref().get(start..)?;
        let blocks = match crcs {
            Some(crcs) => Some(Blocks::new(crcs, image.len())?),
            None => None,
        };
        let check = |range: Range<usize>| blocks.as_ref().is_none_or(|b| b.check(image, range));
        // Sections are 8-aligned in memory (a mapping is page-aligned and
        // the image 8-aligned in its file).
        let aligned = |at: usize| (image.as_ptr() as usize).wrapping_add(at).is_multiple_of(8);
        if !aligned(0) || !check(0..HEADER_BYTES) {
            return None;
        }
        let words: &[u64] = cast(image.get(..HEADER_BYTES)?)?;
        if words[0] != TAG || words[1] != topology {
            return None;
        }
        let key = [words[2], words[3]];
        let mut sections: [Range<usize>; section::COUNT] = Default::default();
        let mut at = HEADER_BYTES;
        for (i, range) in sections.iter_mut().enumerate() {
            let from = usize::try_from(words[HEADER_WORDS + 2 * i]).ok()?;
            let len = usize::try_from(words[HEADER_WORDS + 2 * i + 1]).ok()?;
            // Sections follow each other, each 8-aligned.
            if from < at || !aligned(from) || from.checked_add(len)? > image.len() {
                return None;
            }
            *range = from..from + len;
            at = from + len;
        }
        // The open reads the kind table and the last record.
        let last = sections[section::RECORDS].end.saturating_sub(44);
        if !check(sections[section::KINDS].clone()) || !check(last..sections[section::RECORDS].end)
        {
            return None;
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
            blocks,
            rebuild: None,
            repaired: OnceLock::new(),
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
            && whole(KINDS, 8).is_some()
            && whole(KIND_POSITIONS, 4).is_some()
            && u32::try_from(self.records).is_ok();
        if !ok {
            return None;
        }
        let positions = self.row_count::<u32>(KIND_POSITIONS);
        let mut from = 0usize;
        let mut table = Vec::new();
        for &[kind, end] in self.rows::<[u32; 2]>(KINDS) {
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

    /// Sets how to rebuild the image when a block does not match.
    pub(super) fn set_rebuild(&mut self, rebuild: Rebuild) {
        self.rebuild = Some(rebuild);
    }

    /// Whether every block read so far matched.
    pub(super) fn state(&self) -> BaseState {
        match self.repaired.get() {
            None => BaseState::Intact,
            Some(Some(_)) => BaseState::Rebuilt,
            Some(None) => BaseState::Unusable,
        }
    }

    /// The image's bytes in the mapping, unchecked.
    fn image(&self) -> &[u8] {
        (*self.bytes).as_ref().get(self.start..).unwrap_or_default()
    }

    /// The image's bytes in `range`, checked: from the mapping when every
    /// block they overlap matches its stored CRC, else from the image
    /// rebuilt from the log; empty outside the image or when no good copy
    /// exists.
    fn checked(&self, range: Range<usize>) -> &[u8] {
        if let Some(repaired) = self.repaired.get() {
            let words = repaired.as_deref().unwrap_or_default();
            // SAFETY: u8 has alignment 1 and every byte of a u64 is
            // initialised, so the whole slice is the middle part.
            let bytes = unsafe { words.align_to::<u8>() }.1;
            return bytes.get(range).unwrap_or_default();
        }
        let image = self.image();
        let Some(bytes) = image.get(range.clone()) else {
            return &[];
        };
        match &self.blocks {
            Some(blocks) if !blocks.check(image, range.clone()) => {
                self.repaired.get_or_init(|| self.rebuilt());
                self.checked(range)
            }
            _ => bytes,
        }
    }

    /// The image rebuilt from the log, if it matches every stored CRC (it
    /// then equals what the snapshot stored, ids and positions included, so
    /// the tail on top of it stays right).
    fn rebuilt(&self) -> Option<Box<[u64]>> {
        let index = (self.rebuild.as_ref()?)()?;
        let mut image = Vec::new();
        index.write_image(&mut image, self.key);
        if !self.blocks.as_ref()?.matches(&image) {
            return None;
        }
        let words = image.chunks(8).map(|chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            u64::from_ne_bytes(word)
        });
        Some(words.collect())
    }

    /// Section `s`'s range in the image.
    #[cfg(test)]
    pub(super) fn range(&self, s: usize) -> Range<usize> {
        self.sections[s].clone()
    }

    /// The number of `T`s section `s` holds.
    pub(super) fn row_count<T>(&self, s: usize) -> usize {
        self.sections[s].len() / std::mem::size_of::<T>()
    }

    /// Rows `rows` of section `s` viewed as `T`s, checked; empty when they
    /// are not all in the section.
    pub(super) fn rows_in<T: Plain>(&self, s: usize, rows: Range<usize>) -> &[T] {
        let size = std::mem::size_of::<T>();
        let section = &self.sections[s];
        let (Some(from), Some(to)) = (rows.start.checked_mul(size), rows.end.checked_mul(size))
        else {
            return &[];
        };
        if from > to || to > section.len() {
            return &[];
        }
        cast(self.checked(section.start + from..section.start + to)).unwrap_or_default()
    }

    /// Every row of section `s` (checks the whole section).
    pub(super) fn rows<T: Plain>(&self, s: usize) -> &[T] {
        self.rows_in(s, 0..self.row_count::<T>(s))
    }

    /// Row `i` of section `s`.
    pub(super) fn row<T: Plain>(&self, s: usize, i: usize) -> Option<&T> {
        self.rows_in(s, i..i.checked_add(1)?).first()
    }

    /// The number of rows of section `s` (sorted) for which `pred` holds
    /// before the first for which it does not, by a binary search that
    /// checks only the rows it probes.
    pub(super) fn partition<T: Plain>(&self, s: usize, pred: impl Fn(&T) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.row_count::<T>(s));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.row::<T>(s, mid) {
                Some(row) if pred(row) => lo = mid + 1,
                Some(_) => hi = mid,
                None => return lo,
            }
        }
        lo
    }

    /// The base's record `i`.
    pub(super) fn record(&self, i: usize) -> Option<&Record> {
        self.row(section::RECORDS, i)
    }

    /// Entry `i` of a list section pair (offsets, positions): the positions
    /// of id `i`; empty for an unknown id or bad offsets.
    pub(super) fn list(&self, offsets: usize, positions: usize, i: usize) -> &[u32] {
        let (Some(&a), Some(&b)) = (
            self.row::<u32>(offsets, i),
            self.row::<u32>(offsets, i.saturating_add(1)),
        ) else {
            return &[];
        };
        self.rows_in(positions, a as usize..b as usize)
    }

    /// The name with id `id` in a stored table (bytes and ends sections).
    pub(super) fn name(&self, bytes: usize, ends: usize, id: usize) -> &str {
        let start = match id.checked_sub(1) {
            None => Some(0),
            Some(before) => self.row::<u64>(ends, before).copied(),
        };
        let (Some(start), Some(&end)) = (start, self.row::<u64>(ends, id)) else {
            return "";
        };
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return "";
        };
        std::str::from_utf8(self.rows_in::<u8>(bytes, start..end)).unwrap_or_default()
    }

    /// The id of `name` in a stored table (bytes, ends and slots sections).
    pub(super) fn find_name(&self, [bytes, ends, slots]: [usize; 3], name: &str) -> Option<u32> {
        let len = self.row_count::<u32>(slots);
        if len == 0 {
            return None;
        }
        let mask = len - 1;
        let mut slot = name_hash(self.key, name.as_bytes()) as usize & mask;
        for _ in 0..len {
            match *self.row::<u32>(slots, slot)? {
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
