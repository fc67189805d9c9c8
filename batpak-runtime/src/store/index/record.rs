//! The primary index's unit: one compact [`Record`] per visible event.

use crate::event::EventKind;
use crate::store::error::LogPosition;

/// One event in the primary index: 44 bytes, 4-byte aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Record {
    id: [u32; 4],
    sequence: [u32; 2],
    pub(super) segment: u32,
    pub(super) offset: u32,
    pub(super) coord: u32,
    entity_sequence: u32,
    pub(super) kind: u16,
    bits: u8,
    _spare: u8,
}

const _: () = assert!(std::mem::size_of::<Record>() == 44);

fn split128(v: u128) -> [u32; 4] {
    [
        v as u32,
        (v >> 32) as u32,
        (v >> 64) as u32,
        (v >> 96) as u32,
    ]
}

/// The largest entity sequence a [`Record`] holds (32 bits); the writer
/// refuses appends past it and the frame parser rejects frames beyond it.
pub(crate) const ENTITY_SEQUENCE_MAX: u64 = u32::MAX as u64;

/// What a [`Record`] is made from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordFields {
    pub event_id: u128,
    pub sequence: u64,
    /// Where the event's frame is stored.
    pub at: LogPosition,
    pub coord: u32,
    pub entity_sequence: u64,
    pub kind: EventKind,
    pub bits: u8,
}

impl Record {
    /// A record naming no coordinate (`u32::MAX`), what a position that is
    /// not in the index reads as (only a crafted snapshot holds one).
    pub(super) const NONE: Record = Record {
        id: [0; 4],
        sequence: [0; 2],
        segment: 0,
        offset: 0,
        coord: u32::MAX,
        entity_sequence: 0,
        kind: 0,
        bits: 0,
        _spare: 0,
    };

    /// Packs `f`. Its segment, offset and entity sequence fit 32 bits: segments
    /// are smaller than 4 GiB and fewer than 2^32, and entity sequences are
    /// bounded by [`ENTITY_SEQUENCE_MAX`] before anything is written.
    pub(crate) fn new(f: &RecordFields) -> Self {
        let narrow = |v: u64, what: &str| {
            u32::try_from(v).unwrap_or_else(|_| panic!("{what} {v} does not fit an index record"))
        };
        Self {
            id: split128(f.event_id),
            sequence: [f.sequence as u32, (f.sequence >> 32) as u32],
            segment: narrow(f.at.segment, "segment"),
            offset: narrow(f.at.offset, "offset"),
            coord: f.coord,
            entity_sequence: narrow(f.entity_sequence, "entity sequence"),
            kind: f.kind.raw(),
            bits: f.bits,
            _spare: 0,
        }
    }

    pub(crate) fn event_id(&self) -> u128 {
        self.id
            .iter()
            .rev()
            .fold(0u128, |acc, w| (acc << 32) | u128::from(*w))
    }

    pub(crate) fn sequence(&self) -> u64 {
        u64::from(self.sequence[0]) | (u64::from(self.sequence[1]) << 32)
    }

    pub(crate) fn kind(&self) -> EventKind {
        EventKind::from_raw(self.kind)
    }

    pub(crate) fn coord(&self) -> u32 {
        self.coord
    }

    /// Position in the entity's stream (starts at 1).
    pub(crate) fn entity_sequence(&self) -> u64 {
        u64::from(self.entity_sequence)
    }

    /// The record's 44 bytes, little-endian field by field (for index snapshots).
    pub(crate) fn to_bytes(self) -> [u8; 44] {
        let mut out = [0u8; 44];
        let words = [
            self.id[0],
            self.id[1],
            self.id[2],
            self.id[3],
            self.sequence[0],
            self.sequence[1],
            self.segment,
            self.offset,
            self.coord,
            self.entity_sequence,
        ];
        for (i, w) in words.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        out[40..42].copy_from_slice(&self.kind.to_le_bytes());
        out[42] = self.bits;
        out
    }

    pub(crate) fn location(&self) -> LogPosition {
        LogPosition {
            segment: u64::from(self.segment),
            offset: u64::from(self.offset),
        }
    }
}
