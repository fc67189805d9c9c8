//! The event model: [`Event`] and its [`EventHeader`], [`EventKind`] and the
//! payload [`Codec`]. The bottom layer: it names nothing above it (projections
//! and replay inputs live in `store::replay`).

mod clock;
pub mod id;
mod ids;
pub(crate) mod kind;

pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{CausationId, CorrelationId, EventId, IdempotencyKey};

pub use kind::{EventKind, KindError, CATEGORY_LIBRARY, CATEGORY_SYSTEM};

/// The kinds of the library's own system events. Users cannot append these.
pub mod system {
    use super::EventKind;

    /// A schema ledger entry (`store::ledger`).
    pub const LEDGER: EventKind = EventKind::reserved(0xD, 0x001);
    /// A policy denial persisted with `append_denial`.
    pub const DENIAL: EventKind = EventKind::reserved(0x0, 0x001);
    /// A recorded policy bypass.
    pub const BYPASS: EventKind = EventKind::reserved(0x0, 0x002);
    /// A retention cut: `Store::truncate_before`, `Store::tombstone` or a
    /// retention policy applied by `Store::compact`, on the entity's
    /// retention stream.
    pub const RETENTION: EventKind = EventKind::reserved(0x0, 0x003);
    /// The store's retention policies, recorded with
    /// `Store::set_retention_policies` (the latest holds).
    pub const RETENTION_POLICY: EventKind = EventKind::reserved(0x0, 0x004);
    /// A data subject forgotten by `Store::forget`: the key id of the
    /// destroyed key (never the subject's name).
    pub const ERASURE: EventKind = EventKind::reserved(0xD, 0x010);
}

use crate::coordinate::Coordinate;

/// How a payload's bytes are encoded; recorded in every frame so a reader never guesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Codec {
    /// Self-describing JSON (raw payloads: an `EventKind` plus any `Serialize`).
    Json = 0,
    /// postcard, for typed payloads whose shape is known from a schema descriptor.
    Postcard = 1,
    /// Opaque bytes the application interprets itself.
    Bytes = 2,
}

impl Codec {
    /// The codec stored as `raw`, if any.
    pub fn from_raw(raw: u8) -> Option<Self> {
        match raw {
            0 => Some(Self::Json),
            1 => Some(Self::Postcard),
            2 => Some(Self::Bytes),
            _ => None,
        }
    }
}

/// Where an event sits: its place in the store's global commit order and in its
/// entity's stream (both start at 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventPosition {
    /// Position in the store's global commit order.
    pub sequence: u64,
    /// Position in the entity's own stream.
    pub entity_sequence: u64,
}

/// Bits describing an event beyond its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EventFlags(pub u8);

impl EventFlags {
    /// Written by the library itself (ledger, denials, lifecycle).
    pub const SYSTEM: u8 = 1 << 0;
    /// Written as part of an atomic batch.
    pub const BATCH: u8 = 1 << 1;
    /// Written under a visibility fence that was later committed.
    pub const FENCED: u8 = 1 << 2;

    /// Whether every bit of `bit` is set.
    pub fn contains(self, bit: u8) -> bool {
        self.0 & bit == bit
    }
}

/// Everything the store knows about an event besides its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHeader {
    /// Unique, time-ordered id (UUIDv7 layout).
    pub event_id: EventId,
    /// The root of the causal tree this event belongs to (its own id for a root).
    pub correlation_id: CorrelationId,
    /// The event this one reacts to, if any.
    pub causation_id: Option<EventId>,
    /// Wall-clock time of the append, microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// Global and per-entity position.
    pub position: EventPosition,
    /// The event's kind.
    pub kind: EventKind,
    /// Schema version of a typed payload (0 for raw payloads).
    pub schema_version: u16,
    /// How the payload is encoded on disk.
    pub codec: Codec,
    /// System/batch/fence bits.
    pub flags: EventFlags,
}

/// An event: header, coordinate and payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<P> {
    /// Metadata.
    pub header: EventHeader,
    /// The entity and scope the event belongs to.
    pub coordinate: Coordinate,
    /// The payload, decoded by the replay input in use.
    pub payload: P,
}

impl<P> Event<P> {
    /// The event's id.
    pub fn id(&self) -> EventId {
        self.header.event_id
    }

    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.header.kind
    }
}

/// An event's metadata without its payload: what typed reads and `Apply`
/// handlers receive beside the decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// The header.
    pub header: EventHeader,
    /// Entity and scope.
    pub coordinate: Coordinate,
}

impl EventMeta {
    /// The metadata of `event`.
    pub fn of<P>(event: &Event<P>) -> Self {
        Self {
            header: event.header.clone(),
            coordinate: event.coordinate.clone(),
        }
    }
}
