//! Replay: how stored payloads reach projections. A [`ReplayInput`] decodes a
//! [`StoredPayload`] into what a projection folds (JSON values, raw bytes, or a
//! typed family through its upcast chain); [`EventSourced`] is the projection
//! trait itself. Decoding fails with a [`DecodeError`]; the read path adds the
//! event's id when it turns that into a [`StoreError`](super::StoreError).

pub use super::codec::StoredPayload;
pub use super::error::DecodeError;
pub use super::registry::FamilyCheck;
use crate::event::{Codec, Event, EventKind};
use crate::schema::EventFamily;

/// How a projection wants payloads handed to it during replay.
pub trait ReplayInput {
    /// The payload type projections of this input receive.
    type Payload;

    /// Whether `decode` looks at `StoredPayload::shape` (the store skips the
    /// lookup otherwise).
    const USES_SHAPES: bool = true;

    /// Decodes one stored payload.
    fn decode(payload: StoredPayload<'_>) -> Result<Self::Payload, DecodeError>;

    /// The families whose types decode the payloads, each judged against the
    /// log's schema ledger before anything is decoded (typed inputs only).
    #[doc(hidden)]
    fn family_checks() -> &'static [FamilyCheck] {
        &[]
    }
}

/// Payloads as `serde_json::Value`: raw JSON payloads directly, typed payloads by
/// transcoding through their schema descriptor.
#[derive(Debug, Clone, Copy)]
pub struct JsonValueInput;

impl ReplayInput for JsonValueInput {
    type Payload = serde_json::Value;

    fn decode(payload: StoredPayload<'_>) -> Result<Self::Payload, DecodeError> {
        super::codec::to_json_value(payload)
    }
}

/// Payloads as the bytes stored on disk, with no decoding at all.
#[derive(Debug, Clone, Copy)]
pub struct RawBytesInput;

impl ReplayInput for RawBytesInput {
    type Payload = Vec<u8>;
    const USES_SHAPES: bool = false;

    fn decode(payload: StoredPayload<'_>) -> Result<Self::Payload, DecodeError> {
        Ok(payload.bytes.to_vec())
    }
}

/// Payloads decoded into event family `F` with postcard, through its upcast chain.
#[derive(Debug)]
pub struct TypedInput<F>(std::marker::PhantomData<fn() -> F>);

impl<F: EventFamily> ReplayInput for TypedInput<F> {
    type Payload = F;

    fn decode(payload: StoredPayload<'_>) -> Result<Self::Payload, DecodeError> {
        if payload.codec != Codec::Postcard {
            return Err(DecodeError::Codec {
                reader: F::NAME,
                found: payload.codec,
            });
        }
        F::decode_fields(payload.kind, payload.schema_version, payload.bytes)
            .map_err(DecodeError::Schema)
    }

    fn family_checks() -> &'static [FamilyCheck] {
        const { &[FamilyCheck::of::<F>()] }
    }
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

    /// Whether `apply_event` on a state built from the first events equals a
    /// full replay (`from_events` over all of them), so the store may resume
    /// from a cached state, and a long replay may fold its first events with
    /// `from_events` and apply the rest one at a time instead of holding them
    /// all.
    fn supports_incremental_apply() -> bool {
        false
    }

    /// The version of the state's shape; change it whenever a cached state of the
    /// old shape must no longer be used.
    fn schema_version() -> u32 {
        0
    }
}
