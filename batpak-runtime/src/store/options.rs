//! What callers hand to the write path ([`AppendOptions`], [`BatchAppendItem`],
//! [`CausationRef`]) and what it hands back ([`AppendReceipt`]); and what
//! a primary hands its replicas ([`ReplicatedEvent`], [`ReplicatedName`]).

use super::codec::{encode_json, EncodedPayload};
use super::error::StoreError;
use crate::coordinate::Coordinate;
use crate::event::{CausationId, CorrelationId, EventHeader, EventId, EventKind, IdempotencyKey};
use serde::Serialize;

/// Which watermark an append waits for before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DurabilityGate {
    /// Return once the event is visible (the default; with `every_n_events = 1`
    /// that already implies durable).
    #[default]
    Visible,
    /// Return only once the event is fsynced, whatever the sync cadence.
    Durable,
}

/// Options of one append: everything that is not the event itself. One set of
/// options serves every write path (raw and typed, single, batched, fenced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppendOptions {
    /// Compare-and-swap: the entity's last sequence must equal this (0 = no events yet).
    pub expected_sequence: Option<u64>,
    /// A retried append with the same key and content returns the original receipt
    /// and writes nothing; the same key with other content is an error.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Which watermark to wait for.
    pub gate: DurabilityGate,
    /// The event's place in the causal graph (a root by default).
    pub causation: CausationRef,
}

impl AppendOptions {
    /// No CAS, no idempotency key, visible gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires the entity to be at `expected_sequence` (0 = no events yet).
    pub fn with_cas(mut self, expected_sequence: u64) -> Self {
        self.expected_sequence = Some(expected_sequence);
        self
    }

    /// Makes the append idempotent under `key` (an [`IdempotencyKey`]'s raw
    /// value; callers often derive it from a request id).
    pub fn with_idempotency(mut self, key: u128) -> Self {
        self.idempotency_key = Some(IdempotencyKey::new(key));
        self
    }

    /// Links the event into the causal graph (see [`CausationRef`]).
    pub fn with_causation(mut self, causation: CausationRef) -> Self {
        self.causation = causation;
        self
    }

    /// `with_causation(causation)` unless `causation` is `CausationRef::None`.
    pub(crate) fn with_causation_unless_none(self, causation: CausationRef) -> Self {
        match causation {
            CausationRef::None => self,
            other => self.with_causation(other),
        }
    }

    /// Makes the event a reaction to `causation`, in the causal tree rooted
    /// at `correlation`.
    pub fn with_reaction(
        self,
        correlation: impl Into<CorrelationId>,
        causation: impl Into<CausationId>,
    ) -> Self {
        self.with_causation(CausationRef::Reaction {
            correlation: correlation.into(),
            causation: causation.into(),
        })
    }

    /// Waits for `gate` before returning.
    pub fn with_gate(mut self, gate: DurabilityGate) -> Self {
        self.gate = gate;
        self
    }
}

/// A receipt's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceiptSignature {
    /// First 8 bytes of blake3 over the verifying key: which key signed.
    pub key_id: [u8; 8],
    /// The ed25519 signature.
    pub signature: [u8; 64],
}

/// What the store returns for an appended event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppendReceipt {
    /// The new event's id.
    pub event_id: EventId,
    /// Its position in the store's global commit order (the first event gets 1).
    pub sequence: u64,
    /// Its position in its entity's stream (the first event gets 1).
    pub entity_sequence: u64,
    /// Append time, microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// Its chained blake3 hash.
    pub content_hash: [u8; 32],
    /// The store's signature, when it has a signing key (cargo feature
    /// `signing`). Receipts rebuilt from the log for idempotent replays after a
    /// reopen carry none.
    pub signature: Option<ReceiptSignature>,
}

/// The cause of a batch item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CausationRef {
    /// A root event: it starts its own causal tree.
    #[default]
    None,
    /// Caused by an already stored event (the item joins that event's tree).
    Absolute(EventId),
    /// Caused by an earlier item of the same batch, by index.
    PriorItem(usize),
    /// A reaction: caused by `causation`, in the tree rooted at `correlation`
    /// (both given explicitly, e.g. by a reactor that read them from its source).
    Reaction {
        /// The root of the causal tree.
        correlation: CorrelationId,
        /// The event reacted to.
        causation: CausationId,
    },
}

/// One item of an atomic batch.
#[derive(Debug, Clone)]
pub struct BatchAppendItem {
    pub(crate) coordinate: Coordinate,
    pub(crate) kind: EventKind,
    pub(crate) payload: EncodedPayload,
    pub(crate) options: AppendOptions,
    /// Written by the library itself (flagged as a system event).
    pub(crate) system: bool,
}

impl BatchAppendItem {
    /// A raw item: the payload is stored as JSON. Fails on a reserved kind or a
    /// payload that does not serialize. A `causation` other than
    /// `CausationRef::None` replaces the one in `options`.
    pub fn new<P: Serialize + ?Sized>(
        coordinate: Coordinate,
        kind: EventKind,
        payload: &P,
        options: AppendOptions,
        causation: CausationRef,
    ) -> Result<Self, StoreError> {
        let options = options.with_causation_unless_none(causation);
        Self::public(coordinate, kind, encode_json(payload)?, options)
    }

    /// An application's item: refuses the library's reserved kinds and names.
    fn public(
        coordinate: Coordinate,
        kind: EventKind,
        payload: EncodedPayload,
        options: AppendOptions,
    ) -> Result<Self, StoreError> {
        check_public_kind(kind)?;
        check_public_coordinate(&coordinate)?;
        Ok(Self {
            coordinate,
            kind,
            payload,
            options,
            system: false,
        })
    }

    /// An opaque-bytes item: `bytes` are stored as given (codec `Bytes`, no
    /// JSON detour) and read back unchanged with
    /// [`RawBytesInput`](crate::store::replay::RawBytesInput). Fails on a
    /// reserved kind or coordinate.
    pub fn bytes(
        coordinate: Coordinate,
        kind: EventKind,
        bytes: impl Into<Vec<u8>>,
        options: AppendOptions,
    ) -> Result<Self, StoreError> {
        let payload = EncodedPayload {
            codec: crate::event::Codec::Bytes,
            schema_version: 0,
            bytes: bytes.into(),
            shape: None,
            family: None,
            subject: None,
        };
        Self::public(coordinate, kind, payload, options)
    }

    /// A raw item for `coordinate` with `options` (their causation included):
    /// what every single raw append builds.
    pub(crate) fn raw<P: Serialize + ?Sized>(
        coordinate: &Coordinate,
        kind: EventKind,
        payload: &P,
        options: AppendOptions,
    ) -> Result<Self, StoreError> {
        Self::new(
            coordinate.clone(),
            kind,
            payload,
            options,
            CausationRef::None,
        )
    }

    /// The item's options (its causation included).
    pub fn options(&self) -> &AppendOptions {
        &self.options
    }

    /// A library system event: reserved kind, JSON payload, flagged as system.
    pub(crate) fn system<P: Serialize + ?Sized>(
        coordinate: Coordinate,
        kind: EventKind,
        payload: &P,
    ) -> Result<Self, StoreError> {
        debug_assert!(kind.is_reserved());
        Ok(Self {
            coordinate,
            kind,
            payload: encode_json(payload)?,
            options: AppendOptions::new(),
            system: true,
        })
    }

    /// The item's coordinate.
    pub fn coordinate(&self) -> &Coordinate {
        &self.coordinate
    }

    /// The item's kind.
    pub fn kind(&self) -> EventKind {
        self.kind
    }
}

/// Refuses coordinates the library reserves for its own events (`$batpak…`).
pub(crate) fn check_public_coordinate(coordinate: &Coordinate) -> Result<(), StoreError> {
    use crate::coordinate::{CoordinateError, NamePart, RESERVED_PREFIX};
    if !coordinate.is_reserved() {
        return Ok(());
    }
    let part = if coordinate.entity().starts_with(RESERVED_PREFIX) {
        NamePart::Entity
    } else {
        NamePart::Scope
    };
    Err(StoreError::InvalidCoordinate(CoordinateError::Reserved {
        part,
    }))
}

/// Refuses kinds in the categories reserved for the library.
pub(crate) fn check_public_kind(kind: EventKind) -> Result<(), StoreError> {
    if kind.is_reserved() {
        return Err(StoreError::ReservedKind { kind });
    }
    Ok(())
}

/// One committed event as a replica needs it: every field its frame holds,
/// so the replica writes the same frame and proves the same hash chain. Read
/// from a primary with `Store::replicated_events`, written into a replica
/// with `Store::apply_replicated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicatedEvent {
    /// Id, links, sequences, kind, schema version, codec and flags.
    pub header: EventHeader,
    /// Its chained hash on the primary, which the replica recomputes and
    /// checks before it writes the event.
    pub content_hash: [u8; 32],
    /// The store-wide id of its coordinate on the primary, which the hash
    /// covers (docs/format.md, "Type 1: event").
    pub coordinate_id: u32,
    /// Entity name.
    pub entity: String,
    /// Scope name.
    pub scope: String,
    /// The key it was appended with, which the hash covers too.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The payload bytes as stored.
    pub payload: Vec<u8>,
}

/// A coordinate the primary defined without a committed event to carry it
/// (its first events were in a cancelled fence): a replica defines it too,
/// so later coordinate ids stay the primary's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicatedName {
    /// The coordinate id.
    pub coordinate_id: u32,
    /// Entity name.
    pub entity: String,
    /// Scope name.
    pub scope: String,
}
