//! [`StoreError`]: every way a store operation can fail, as typed values.

use crate::coordinate::CoordinateError;
use crate::event::{Codec, EventId, EventKind, IdempotencyKey, KindError};
use crate::schema::json::TranscodeError;
use crate::schema::SchemaError;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where in the log something was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    /// Segment id (the number in the segment's file name).
    pub segment: u64,
    /// Byte offset of the frame within the segment file.
    pub offset: u64,
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segment {} offset {}", self.segment, self.offset)
    }
}

/// What is wrong with a corrupt frame or segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// The frame's length word fails its own check.
    BadLength,
    /// The frame's body does not match its CRC.
    BadCrc,
    /// The frame's body does not parse.
    BadBody,
    /// The segment header is missing or wrong.
    BadSegmentHeader,
    /// The frames do not follow the commit protocol (e.g. a batch left open mid-log).
    BadProtocol,
    /// A frame refers to a name that was never defined in its segment.
    UnknownName,
    /// The segment at this position's `segment` is missing from the data
    /// directory although the log continues past it (segment ids are
    /// consecutive from 1) or the index snapshot lists it. The offset is 0.
    MissingSegment,
    /// A sealed segment's length is not the one recorded when it was sealed
    /// (in its successor's header, its own header after compaction, or the
    /// index snapshot): it was cut, possibly exactly at a frame boundary, or
    /// grew. The position's offset is where the two lengths part.
    SegmentLength {
        /// The length recorded for the segment.
        expected: u64,
        /// The segment file's length.
        actual: u64,
    },
}

/// Every error a store operation can return.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// File-system failure.
    Io {
        /// What the store was doing.
        op: IoOp,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another `Store` (in this process or another) owns the data directory.
    StoreLocked {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// A coordinate name was refused.
    InvalidCoordinate(CoordinateError),
    /// An event kind was refused.
    InvalidKind(KindError),
    /// Categories 0x0 and 0xD are written only by the library itself.
    ReservedKind {
        /// The refused kind.
        kind: EventKind,
    },
    /// A payload could not be serialized as JSON.
    Serialize {
        /// The serializer's error.
        source: serde_json::Error,
    },
    /// A stored payload could not be decoded into the requested form.
    Decode {
        /// The event.
        event_id: EventId,
        /// Why.
        source: DecodeError,
    },
    /// A frame would exceed `StoreConfig::frame_max_bytes`.
    PayloadTooLarge {
        /// Encoded size in bytes.
        bytes: usize,
        /// The configured limit.
        max: usize,
    },
    /// A JSON payload nests arrays and objects deeper than a read can decode.
    PayloadTooDeep {
        /// Its nesting depth.
        depth: usize,
        /// The limit (`codec::JSON_DEPTH_MAX`).
        max: usize,
    },
    /// A batch holds more items or bytes than the configured limits.
    BatchTooLarge {
        /// Items in the batch.
        items: usize,
        /// Encoded payload bytes in the batch.
        bytes: usize,
    },
    /// A batch mixes items with and without idempotency keys, repeats a key, or
    /// refers to a later item.
    InvalidBatch {
        /// Index of the offending item.
        item: usize,
        /// What is wrong.
        reason: BatchProblem,
    },
    /// The entity's sequence was not what the append expected (compare-and-swap).
    SequenceConflict {
        /// The entity.
        entity: String,
        /// The sequence the append expected (0 = no events yet).
        expected: u64,
        /// The entity's actual last sequence.
        actual: u64,
    },
    /// An idempotency key was reused for different content.
    IdempotencyConflict {
        /// The key.
        key: IdempotencyKey,
    },
    /// The entity's events are in another scope: an entity is one stream,
    /// in one scope.
    ScopeMismatch {
        /// The entity.
        entity: String,
        /// The scope its events are in.
        existing: String,
        /// The scope the refused append named.
        scope: String,
    },
    /// The entity has as many events as an entity can hold (2^32 - 1).
    EntitySequenceExhausted {
        /// The entity.
        entity: String,
    },
    /// Some but not all keys of a batch were used before: it is neither new nor a replay.
    IdempotencyPartialReplay {
        /// Index of the first item whose key is new.
        item: usize,
    },
    /// A visibility fence is live: plain writes wait until it commits or cancels.
    VisibilityFenceActive,
    /// The write belonged to a visibility fence that was cancelled (explicitly,
    /// by dropping the fence, or by closing the store).
    VisibilityFenceCancelled,
    /// The operation needs a live visibility fence and there is none.
    NoVisibilityFence,
    /// The writer mailbox is above the pressure threshold; try again later.
    Backpressure {
        /// Suggested wait.
        retry_after: Duration,
        /// Commands queued when the write was refused.
        queue_len: usize,
    },
    /// The type's shape for this (kind, version) differs from the shape the
    /// log recorded for it: appending or reading it typed would corrupt data.
    SchemaDrift {
        /// The kind.
        kind: EventKind,
        /// The version.
        version: u16,
        /// The rules-table row (docs/schema-evolution.md), as the release check reports it.
        rule: u8,
        /// Where, as the release check reports it: e.g. `ItemAdded.line.qty`,
        /// or the variant for identity changes.
        path: String,
        /// What changed there, and the fix.
        change: String,
    },
    /// Another family already owns this kind in the log.
    KindConflict {
        /// The kind.
        kind: EventKind,
        /// The family the log recorded.
        logged_family: String,
        /// The family that tried to use the kind.
        family: String,
    },
    /// A typed payload did not encode or decode.
    Schema(crate::schema::SchemaError),
    /// The variant is retired: it may be read but no longer written.
    RetiredKind {
        /// The refused kind.
        kind: EventKind,
    },
    /// The store was closed.
    StoreClosed,
    /// The writer thread stopped (it panicked or hit an I/O error earlier); the
    /// store must be reopened.
    WriterStopped,
    /// A file in the data directory is corrupt at this position. Recovery
    /// never repairs this on its own (see `RecoveryMode`).
    Corrupt {
        /// Where.
        at: LogPosition,
        /// What.
        kind: CorruptionKind,
    },
    /// A wait reached its timeout.
    Timeout {
        /// How long the caller waited.
        waited: Duration,
    },
    /// A cursor checkpoint belongs to a different region.
    CheckpointMismatch {
        /// The checkpoint id.
        checkpoint_id: String,
    },
    /// A read-only store cannot do this.
    ReadOnly,
    /// A cursor worker's handler panicked and its restart policy gave up.
    HandlerPanicked,
    /// The entity was tombstoned (`Store::tombstone`): its name is never
    /// written again.
    Tombstoned {
        /// The entity.
        entity: String,
    },
    /// A retention request that cannot be carried out (`Store::truncate_before`,
    /// `Store::tombstone`, a retention policy).
    InvalidRetention {
        /// The entity (or policy selector) it named.
        entity: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The key store of personal data failed (a key could not be created,
    /// read or destroyed); nothing was written.
    KeyStore {
        /// The key store's error.
        source: std::io::Error,
    },
    /// A typed payload with personal fields does not follow its own shape
    /// (a field with a hand-written `Serialize`), so its personal fields
    /// cannot be found to be sealed; nothing was written.
    Unsealable {
        /// Where the walk over the payload stopped.
        source: crate::schema::json::TranscodeError,
    },
    /// The store is a replica (`Store::open_replica`): it takes events only
    /// from its primary through `Store::apply_replicated`. Promote it by
    /// closing it and opening its directory with `Store::open`.
    Replica,
    /// A replicated event does not follow what the replica holds, so it was
    /// refused with everything else of its call (nothing was written).
    ReplicaRefused {
        /// The global sequence of the refused event (0 for a name).
        sequence: u64,
        /// Why.
        reason: ReplicaProblem,
    },
}

/// Why a replica refused an event from its primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicaProblem {
    /// The store was not opened as a replica.
    NotAReplica,
    /// Its global sequence or event id is not past the replica's last.
    NotAfter,
    /// Its coordinate id is neither known nor the next one, or is known
    /// with other names.
    Coordinate,
    /// Its entity sequence does not follow the entity's last.
    EntitySequence,
    /// Its hash does not follow the entity's chain on the replica.
    Hash,
    /// Its fields are outside the frame format (an id not in the UUIDv7
    /// layout, a sequence past the format's bound, a frame too large).
    Format,
    /// A schema-ledger event whose payload does not parse.
    Ledger,
}

/// Why a stored payload could not be decoded by a replay input.
#[derive(Debug)]
#[non_exhaustive]
pub enum DecodeError {
    /// The payload's codec is not one this reader reads.
    Codec {
        /// The reader (a family name).
        reader: &'static str,
        /// The codec the payload was stored with.
        found: Codec,
    },
    /// A postcard payload whose (kind, version) has no known shape.
    NoShape {
        /// The kind.
        kind: EventKind,
        /// The version.
        version: u16,
    },
    /// A JSON payload did not parse.
    Json(serde_json::Error),
    /// A postcard payload did not transcode to JSON through its shape.
    Transcode(TranscodeError),
    /// A postcard payload did not decode into the family.
    Schema(SchemaError),
    /// The key store failed while personal fields were opened.
    KeyStore(std::io::Error),
    /// The schema ledger refuses to read this (kind, version) with today's type
    /// (a `SchemaDrift` or `KindConflict`); it is returned as is.
    Refused(Box<StoreError>),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codec { reader, found } => {
                write!(f, "{reader} reads postcard payloads, found {found:?}")
            }
            Self::NoShape { kind, version } => write!(
                f,
                "no schema descriptor known for postcard payload of kind {kind:?} version {version}"
            ),
            Self::Json(e) => write!(f, "JSON payload: {e}"),
            Self::Transcode(e) => write!(f, "postcard payload: {e}"),
            Self::Schema(e) => write!(f, "typed payload: {e}"),
            Self::Refused(e) => write!(f, "{e}"),
            Self::KeyStore(e) => write!(f, "key store: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Json(e) => Some(e),
            Self::Transcode(e) => Some(e),
            Self::Schema(e) => Some(e),
            Self::Refused(e) => Some(e.as_ref()),
            Self::KeyStore(e) => Some(e),
            Self::Codec { .. } | Self::NoShape { .. } => None,
        }
    }
}

impl DecodeError {
    /// The store error for this failure on event `event_id`: a ledger refusal
    /// stays what it is, anything else becomes `Decode` naming the event.
    pub(crate) fn at_event(self, event_id: EventId) -> StoreError {
        match self {
            Self::Refused(refusal) => *refusal,
            source => StoreError::Decode { event_id, source },
        }
    }
}

/// What a batch item did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchProblem {
    /// Some items carry idempotency keys and others do not.
    MixedIdempotency,
    /// Two items carry the same idempotency key.
    DuplicateKey,
    /// `CausationRef::PriorItem` names this item or a later one.
    ForwardCausation,
    /// The batch is empty.
    Empty,
}

/// The file-system operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoOp {
    /// Creating the data directory.
    CreateDir,
    /// Opening or creating a file.
    Open,
    /// Reading.
    Read,
    /// Writing.
    Write,
    /// fsync / fdatasync.
    Sync,
    /// Listing the data directory.
    List,
    /// Truncating a torn tail.
    Truncate,
    /// Renaming a file into place.
    Rename,
    /// Locking the data directory.
    Lock,
    /// Starting a thread.
    Spawn,
    /// Mapping a file into memory.
    Map,
    /// Removing a file.
    Remove,
}

impl StoreError {
    pub(crate) fn io(op: IoOp, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { op, path, source } => {
                write!(f, "{op:?} failed on {}: {source}", path.display())
            }
            Self::StoreLocked { data_dir } => {
                write!(
                    f,
                    "data directory {} is locked by another store",
                    data_dir.display()
                )
            }
            Self::InvalidCoordinate(e) => write!(f, "invalid coordinate: {e}"),
            Self::InvalidKind(e) => write!(f, "invalid kind: {e}"),
            Self::ReservedKind { kind } => {
                write!(f, "kind {kind:?} is in a category reserved for the library")
            }
            Self::Serialize { source } => write!(f, "payload does not serialize: {source}"),
            Self::Decode { event_id, source } => {
                write!(f, "event {event_id:#x} does not decode: {source}")
            }
            Self::PayloadTooDeep { depth, max } => {
                write!(f, "JSON payload nests {depth} levels deep, at most {max} read back")
            }
            Self::PayloadTooLarge { bytes, max } => {
                write!(f, "frame of {bytes} bytes exceeds the limit of {max}")
            }
            Self::BatchTooLarge { items, bytes } => {
                write!(
                    f,
                    "batch of {items} items and {bytes} bytes exceeds the limits"
                )
            }
            Self::InvalidBatch { item, reason } => write!(f, "batch item {item}: {reason:?}"),
            Self::SequenceConflict {
                entity,
                expected,
                actual,
            } => write!(
                f,
                "entity {entity} is at sequence {actual}, the append expected {expected}"
            ),
            Self::IdempotencyConflict { key } => {
                write!(f, "idempotency key {key:#x} was used for different content")
            }
            Self::ScopeMismatch {
                entity,
                existing,
                scope,
            } => write!(
                f,
                "entity {entity} lives in scope {existing}; an append named scope {scope} (an \
                 entity is one stream in one scope: use another entity name)"
            ),
            Self::EntitySequenceExhausted { entity } => {
                write!(f, "entity {entity} holds the most events an entity can")
            }
            Self::IdempotencyPartialReplay { item } => write!(
                f,
                "batch reuses some idempotency keys but item {item} is new"
            ),
            Self::VisibilityFenceActive => write!(f, "a visibility fence is active"),
            Self::VisibilityFenceCancelled => write!(f, "the visibility fence was cancelled"),
            Self::NoVisibilityFence => write!(f, "no visibility fence is active"),
            Self::Backpressure {
                retry_after,
                queue_len,
            } => write!(
                f,
                "writer busy with {queue_len} queued commands, retry in {retry_after:?}"
            ),
            Self::Schema(e) => write!(f, "schema: {e}"),
            Self::SchemaDrift {
                kind,
                version,
                rule,
                path,
                change,
            } => write!(
                f,
                "schema drift for kind {kind:?} version {version} at {path} (rule {rule}): {change}"
            ),
            Self::KindConflict {
                kind,
                logged_family,
                family,
            } => write!(
                f,
                "kind {kind:?} belongs to {logged_family} in the log, {family} cannot use it (rule 20); give each family its own category or ids"
            ),
            Self::RetiredKind { kind } => {
                write!(f, "kind {kind:?} is retired and may not be written")
            }
            Self::StoreClosed => write!(f, "the store is closed"),
            Self::WriterStopped => write!(f, "the writer thread stopped; reopen the store"),
            Self::Corrupt { at, kind } => write!(
                f,
                "corrupt data at {at}: {kind:?}; no open cuts bytes that were durable: restore a \
                 backup, or, for damage in the newest segment, open with RecoveryMode::Salvage \
                 to cut the log there (the cut bytes are kept in quarantine/)"
            ),
            Self::Timeout { waited } => write!(f, "timed out after {waited:?}"),
            Self::CheckpointMismatch { checkpoint_id } => write!(
                f,
                "checkpoint {checkpoint_id} was written for a different region"
            ),
            Self::ReadOnly => write!(f, "the store is open read-only"),
            Self::HandlerPanicked => write!(f, "the cursor handler panicked"),
            Self::Tombstoned { entity } => write!(
                f,
                "entity {entity} was tombstoned: its name is never written again"
            ),
            Self::InvalidRetention { entity, reason } => {
                write!(f, "retention of {entity} refused: {reason}")
            }
            Self::KeyStore { source } => write!(f, "key store of personal data: {source}"),
            Self::Unsealable { source } => {
                write!(f, "personal fields cannot be found in the payload: {source}")
            }
            Self::Replica => write!(
                f,
                "the store is a replica and takes events only from its primary; promote it by \
                 reopening its directory with Store::open"
            ),
            Self::ReplicaRefused { sequence, reason } => write!(
                f,
                "the replica refused event {sequence} from its primary: {reason:?}"
            ),
        }
    }
}

impl StoreError {
    /// The rules-table row (docs/schema-evolution.md) behind a schema refusal (`SchemaDrift`,
    /// `KindConflict`), as the release check reports it.
    pub fn schema_rule(&self) -> Option<u8> {
        match self {
            Self::SchemaDrift { rule, .. } => Some(*rule),
            Self::KindConflict { .. } => Some(20),
            Self::Decode {
                source: DecodeError::Refused(inner),
                ..
            } => inner.schema_rule(),
            _ => None,
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::InvalidCoordinate(e) => Some(e),
            Self::InvalidKind(e) => Some(e),
            Self::Schema(e) => Some(e),
            Self::Serialize { source } => Some(source),
            Self::Decode { source, .. } => Some(source),
            Self::KeyStore { source } => Some(source),
            Self::Unsealable { source } => Some(source),
            _ => None,
        }
    }
}

impl From<CoordinateError> for StoreError {
    fn from(e: CoordinateError) -> Self {
        Self::InvalidCoordinate(e)
    }
}

impl From<KindError> for StoreError {
    fn from(e: KindError) -> Self {
        Self::InvalidKind(e)
    }
}
