//! Reading part of a stream: a range of entity sequences, forwards or
//! backwards, with a limit, as a list or an iterator that never collects the
//! whole stream; and counting a region without building its list.

use super::index::IndexEntry;
use super::replay::TypedInput;
use super::typed::TypedRead;
use super::{Store, StoreError};
use crate::coordinate::Region;
use crate::event::EventMeta;
use crate::schema::EventFamily;

/// Which part of an entity's stream to read: entity sequences `from..=to`
/// (both optional), in order or backwards, at most `limit` events.
///
/// ```
/// use batpak_runtime::store::StreamRange;
/// // The last 100 events, newest first.
/// let tail = StreamRange::all().backwards().limit(100);
/// // Events 10 to 19.
/// let page = StreamRange::all().from(10).to(19);
/// # let _ = (tail, page);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamRange {
    from: u64,
    to: u64,
    backwards: bool,
    limit: usize,
}

impl StreamRange {
    /// The whole stream, oldest first.
    pub fn all() -> Self {
        Self {
            from: 1,
            to: u64::MAX,
            backwards: false,
            limit: usize::MAX,
        }
    }

    /// Starts at entity sequence `sequence` (the first event is 1).
    pub fn from(mut self, sequence: u64) -> Self {
        self.from = sequence;
        self
    }

    /// Ends at entity sequence `sequence`, included.
    pub fn to(mut self, sequence: u64) -> Self {
        self.to = sequence;
        self
    }

    /// Newest first.
    pub fn backwards(mut self) -> Self {
        self.backwards = true;
        self
    }

    /// At most `limit` events.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

impl Default for StreamRange {
    fn default() -> Self {
        Self::all()
    }
}

/// Entries handed out per index lock by [`StreamIter`].
const CHUNK: usize = 256;

/// The events of a [`StreamRange`], fetched from the index a chunk at a
/// time (see [`Store::stream_iter`]). Events the writer publishes while
/// the iterator runs are seen when they fall in the range.
#[derive(Debug)]
pub struct StreamIter<'s, M> {
    store: &'s Store<M>,
    entity: String,
    range: StreamRange,
    /// The next entity sequence to hand out (forwards) or the one after it
    /// (backwards).
    next: u64,
    left: usize,
    buffer: std::vec::IntoIter<IndexEntry>,
}

impl<M> Iterator for StreamIter<'_, M> {
    type Item = IndexEntry;

    fn next(&mut self) -> Option<IndexEntry> {
        if self.left == 0 {
            return None;
        }
        if let Some(entry) = self.buffer.next() {
            self.left -= 1;
            return Some(entry);
        }
        let chunk = self.refill();
        self.buffer = chunk.into_iter();
        let entry = self.buffer.next()?;
        self.left -= 1;
        Some(entry)
    }
}

impl<M> StreamIter<'_, M> {
    fn refill(&mut self) -> Vec<IndexEntry> {
        let want = self.left.min(CHUNK);
        let r = self.range;
        let (from, to) = if r.backwards {
            (r.from, self.next.saturating_sub(1).min(r.to))
        } else {
            (self.next.max(r.from), r.to)
        };
        if from > to {
            return Vec::new();
        }
        let chunk = self
            .store
            .entity_slice(&self.entity, from, to, r.backwards, want);
        match (chunk.last(), r.backwards) {
            (Some(last), false) => self.next = last.entity_sequence + 1,
            (Some(last), true) => self.next = last.entity_sequence,
            (None, _) => self.left = 0,
        }
        chunk
    }
}

impl<M> Store<M> {
    /// Up to `limit` entries of `entity` with entity sequences in
    /// `from..=to`, oldest first or newest first; found by binary search,
    /// so the cost follows what is returned, not the stream's length.
    fn entity_slice(
        &self,
        entity: &str,
        from: u64,
        to: u64,
        backwards: bool,
        limit: usize,
    ) -> Vec<IndexEntry> {
        let index = super::locking::read(&self.shared.index);
        let positions = index.entity_positions(entity);
        let seq = |p: u32| index.record(p).entity_sequence();
        let start = positions.partition_point(|p| seq(p) < from);
        let end = positions.partition_point(|p| seq(p) <= to);
        let window = positions.range(start, end.max(start));
        let mut picked = Vec::with_capacity(window.len().min(limit));
        if backwards {
            picked.extend(window.iter().rev().take(limit));
        } else {
            picked.extend(window.iter().take(limit));
        }
        index.entries(picked)
    }

    /// The events of `entity` in `range` (see [`StreamRange`]), as a list
    /// of at most `range`'s limit.
    pub fn stream_range(&self, entity: &str, range: StreamRange) -> Vec<IndexEntry> {
        self.entity_slice(entity, range.from, range.to, range.backwards, range.limit)
    }

    /// The events of `entity` in `range` as an iterator that reads the index
    /// a chunk at a time: a 100,000-event stream is never collected.
    pub fn stream_iter(&self, entity: &str, range: StreamRange) -> StreamIter<'_, M> {
        StreamIter {
            store: self,
            entity: entity.to_owned(),
            range,
            next: if range.backwards {
                range.to.saturating_add(1)
            } else {
                range.from
            },
            left: range.limit,
            buffer: Vec::new().into_iter(),
        }
    }

    /// The events of family `F` in `entity`'s `range`, decoded one by one as
    /// the iterator is advanced (events of other families are skipped).
    pub fn stream_iter_typed<F: EventFamily>(
        &self,
        entity: &str,
        range: StreamRange,
    ) -> impl Iterator<Item = TypedRead<F>> + '_ {
        self.stream_iter(entity, range)
            .filter(|e| F::KIND_LIST.contains(&e.kind))
            .map(move |e| self.typed_entry::<F>(&e))
    }

    fn typed_entry<F: EventFamily>(
        &self,
        entry: &IndexEntry,
    ) -> Result<(EventMeta, F), StoreError> {
        let event = self.read_entry::<TypedInput<F>>(entry)?;
        let meta = EventMeta::of(&event);
        Ok((meta, event.payload))
    }

    /// How many visible events `region` selects. One entity, one kind, a
    /// set of kinds, one category, one scope and everything are answered from
    /// list lengths in constant time (kind and scope lists are kept by the
    /// default `IndexTopology`); other regions are counted in one pass over
    /// the index, without building entries.
    pub fn count(&self, region: &Region) -> u64 {
        let index = super::locking::read(&self.shared.index);
        index
            .quick_count(region)
            .unwrap_or_else(|| index.region_positions(region).len() as u64)
    }
}
