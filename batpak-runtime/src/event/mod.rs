//! The event model: [`Event`] and its [`EventHeader`], [`EventKind`], the payload
//! [`Codec`], and the [`EventSourced`] trait that projections implement, with the
//! replay inputs ([`JsonValueInput`], [`RawBytesInput`]) that choose how payloads
//! reach them.

pub mod id;
mod kind;

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
}

use crate::coordinate::Coordinate;
use crate::store::StoreError;

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
    pub event_id: u128,
    /// The root of the causal tree this event belongs to (its own id for a root).
    pub correlation_id: u128,
    /// The event this one reacts to, if any.
    pub causation_id: Option<u128>,
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
    /// blake3 over the header, the payload and the previous hash of the same entity.
    pub content_hash: [u8; 32],
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
    pub fn id(&self) -> u128 {
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

/// A payload as stored, before a [`ReplayInput`] decodes it.
#[derive(Debug, Clone, Copy)]
pub struct StoredPayload<'a> {
    /// The event's kind.
    pub kind: EventKind,
    /// The schema version it was written with.
    pub schema_version: u16,
    /// Its encoding.
    pub codec: Codec,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// The shape of a postcard payload, when the store knows it (the shape the
    /// log recorded for this kind and version, if any).
    pub shape: Option<&'a crate::schema::KnownShape>,
}

/// How a projection wants payloads handed to it during replay.
pub trait ReplayInput {
    /// The payload type projections of this input receive.
    type Payload;

    /// Whether `decode` looks at `StoredPayload::shape` (the store skips the
    /// lookup otherwise).
    const USES_SHAPES: bool = true;

    /// Decodes one stored payload.
    fn decode(payload: StoredPayload<'_>) -> Result<Self::Payload, StoreError>;
}

/// Payloads as `serde_json::Value`: raw JSON payloads directly, typed payloads by
/// transcoding through their schema descriptor.
#[derive(Debug, Clone, Copy)]
pub struct JsonValueInput;

impl ReplayInput for JsonValueInput {
    type Payload = serde_json::Value;

    fn decode(payload: StoredPayload<'_>) -> Result<Self::Payload, StoreError> {
        crate::store::codec::to_json_value(payload)
    }
}

/// Payloads as the bytes stored on disk, with no decoding at all.
#[derive(Debug, Clone, Copy)]
pub struct RawBytesInput;

impl ReplayInput for RawBytesInput {
    type Payload = Vec<u8>;
    const USES_SHAPES: bool = false;

    fn decode(payload: StoredPayload<'_>) -> Result<Self::Payload, StoreError> {
        Ok(payload.bytes.to_vec())
    }
}

/// Payloads decoded into event family `F` with postcard, through its upcast chain.
#[derive(Debug)]
pub struct TypedInput<F>(std::marker::PhantomData<fn() -> F>);

impl<F: crate::schema::EventFamily> ReplayInput for TypedInput<F> {
    type Payload = F;

    fn decode(payload: StoredPayload<'_>) -> Result<Self::Payload, StoreError> {
        if payload.codec != Codec::Postcard {
            return Err(StoreError::Decode {
                event_id: 0,
                message: format!(
                    "{} reads postcard payloads, found {:?}",
                    F::NAME,
                    payload.codec
                ),
            });
        }
        if let Some(logged) = payload.shape {
            check_drift::<F>(payload.kind, payload.schema_version, logged)?;
        }
        F::decode_fields(payload.kind, payload.schema_version, payload.bytes).map_err(|e| {
            StoreError::Decode {
                event_id: 0,
                message: e.to_string(),
            }
        })
    }
}

/// Refuses to decode (kind, version) as `F` when `F`'s shape differs from the
/// shape the log recorded. Replays check the same (family, kind, version,
/// fingerprint) event after event, so the last match is remembered per thread
/// and repeats cost a comparison.
fn check_drift<F: crate::schema::EventFamily>(
    kind: EventKind,
    version: u16,
    logged: &crate::schema::KnownShape,
) -> Result<(), StoreError> {
    use std::any::TypeId;
    use std::cell::Cell;
    type Key = (TypeId, u16, u16, [u8; 16]);
    thread_local! {
        static LAST_MATCH: Cell<Option<Key>> = const { Cell::new(None) };
    }
    let key = (TypeId::of::<F>(), kind.raw(), version, logged.fingerprint);
    if LAST_MATCH.with(Cell::get) == Some(key) {
        return Ok(());
    }
    let ours = crate::schema::family_shapes::<F>();
    if let Some(ours) = ours.get(&(kind.raw(), version)) {
        if ours.fingerprint != logged.fingerprint {
            return Err(crate::store::ledger::drift(kind, version, logged, ours));
        }
    }
    LAST_MATCH.with(|c| c.set(Some(key)));
    Ok(())
}

/// The payload type a projection `T` receives.
pub type InputPayload<T> = <<T as EventSourced>::Input as ReplayInput>::Payload;

/// A state folded from an entity's events (a projection written by hand; the
/// `Projection` derive writes one for you).
pub trait EventSourced: Sized {
    /// The replay input: how payloads are decoded for this projection.
    type Input: ReplayInput;

    /// Builds the state from the entity's relevant events in order; `None` when
    /// there is nothing to build from.
    fn from_events(events: &[Event<InputPayload<Self>>]) -> Option<Self>;

    /// Folds one more event into the state.
    fn apply_event(&mut self, event: &Event<InputPayload<Self>>);

    /// The kinds this projection folds; replay reads only these.
    fn relevant_event_kinds() -> &'static [EventKind];

    /// Whether `apply_event` on a cached state equals a full replay, so the store may
    /// resume from a cached state.
    fn supports_incremental_apply() -> bool {
        false
    }

    /// The version of the state's shape; change it whenever a cached state of the
    /// old shape must no longer be used.
    fn schema_version() -> u32 {
        0
    }
}
