//! The schema ledger in the log: the first time the store writes a
//! (kind, version) of a typed family, or writes it with a new compatible shape
//! (a rename, a widened integer: a new revision), the same atomic commit
//! carries a library system event with that shape. The log is therefore
//! self-describing: any data directory can be rendered as JSON from the ledger
//! alone. Open reads the entries back into the schema registry, which judges
//! today's types against them (`store::registry`).

use super::codec::EncodedPayload;
use super::error::{CorruptionKind, LogPosition, StoreError};
use super::index::Index;
use super::locking;
use super::log::frame::Frame;
use super::log::reader::SegmentFiles;
use super::options::BatchAppendItem;
pub(crate) use super::registry::SchemaRegistry;
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::schema::{EventShape, KnownShape};
use std::sync::{Arc, RwLock};

/// Kind of a ledger entry (library category 0xD, type 1).
pub const LEDGER_KIND: EventKind = crate::event::system::LEDGER;
/// Entity holding the ledger's chain.
pub const LEDGER_ENTITY: &str = "$batpak:schema-ledger";
/// Scope of the library's own system events.
pub const SYSTEM_SCOPE: &str = "$batpak";

/// The payload of a ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// The described kind (raw u16).
    pub kind: u16,
    /// The described version.
    pub version: u16,
    /// The shape's fingerprint, 32 hex digits.
    pub fingerprint: String,
    /// The shape.
    pub shape: EventShape,
}

/// Judges a typed payload against the ledger (its family as a whole, through
/// the payload's family check). `Ok(true)`: the log has no revision of this
/// (kind, version) with this exact shape, so an entry must be written with it.
pub(crate) fn check(
    registry: &SchemaRegistry,
    kind: EventKind,
    payload: &EncodedPayload,
) -> Result<bool, StoreError> {
    let Some(shape) = &payload.shape else {
        return Ok(false);
    };
    if let Some(family) = &payload.family {
        family.run(registry, Some(kind))?;
    }
    Ok(!registry.has_revision(kind, payload.schema_version, shape.fingerprint))
}

/// The system event recording `shape` as (kind, version).
pub(crate) fn entry_item(
    kind: EventKind,
    version: u16,
    shape: &KnownShape,
) -> Result<BatchAppendItem, StoreError> {
    let entry = LedgerEntry {
        kind: kind.raw(),
        version,
        fingerprint: shape.shape.fingerprint_hex(),
        shape: shape.shape.clone(),
    };
    BatchAppendItem::system(
        Coordinate::new(LEDGER_ENTITY, SYSTEM_SCOPE)?,
        LEDGER_KIND,
        &entry,
    )
}

/// Reads every ledger entry of the visible log into the registry.
pub(crate) fn load(
    registry: &SchemaRegistry,
    index: &RwLock<Index>,
    files: &SegmentFiles,
) -> Result<(), StoreError> {
    let locations: Vec<_> = {
        let index = locking::read(index);
        index
            .kind_positions(LEDGER_KIND)
            .into_iter()
            .map(|p| index.entry(p).frame)
            .collect()
    };
    for at in locations {
        let entry = files.with_frame(at, |frame| match frame {
            Frame::Event(ev) => Some(parse_entry(ev.payload, at)),
            _ => None,
        })?;
        if let Some(entry) = entry {
            record(registry, entry?);
        }
    }
    Ok(())
}

/// The ledger entry in the payload of the event at `at`.
pub(crate) fn parse_entry(payload: &[u8], at: LogPosition) -> Result<LedgerEntry, StoreError> {
    serde_json::from_slice(payload).map_err(|_| StoreError::Corrupt {
        at,
        kind: CorruptionKind::BadBody,
    })
}

/// Records a ledger entry read from the log in the registry.
pub(crate) fn record(registry: &SchemaRegistry, entry: LedgerEntry) {
    let shape = Arc::new(KnownShape::new(entry.shape));
    registry.record(EventKind::from_raw(entry.kind), entry.version, shape);
}
