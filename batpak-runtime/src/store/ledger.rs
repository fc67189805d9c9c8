//! The schema ledger: the first time the store writes a (kind, version) of a
//! typed family, the same atomic commit carries a library system event with that
//! version's shape. The log is therefore self-describing: any data directory can
//! be rendered as JSON from the ledger alone. The ledger also guards the data:
//! a type whose shape differs from what the log recorded for the same
//! (kind, version) may neither append (`SchemaDrift`) nor read it typed, and two
//! families may not claim one kind (`KindConflict`).

use super::codec::EncodedPayload;
use super::error::{CorruptionKind, StoreError};
use super::index::Index;
use super::locking;
use super::log::frame::Frame;
use super::log::reader::SegmentFiles;
use super::options::BatchAppendItem;
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::schema::{diff, EventFamily, EventShape, KnownShape};
use std::any::TypeId;
use std::collections::{HashMap, HashSet};
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

type Key = (u16, u16);

/// Shapes the store knows: those recorded in the log (authoritative) and those
/// of families registered by this process.
#[derive(Debug, Default)]
pub(crate) struct SchemaRegistry {
    shapes: RwLock<HashMap<Key, Arc<KnownShape>>>,
    ledger: RwLock<HashMap<Key, Arc<KnownShape>>>,
    families: RwLock<HashSet<TypeId>>,
}

impl SchemaRegistry {
    /// The shape to render (kind, version) with.
    pub(crate) fn shape(&self, kind: EventKind, version: u16) -> Option<Arc<KnownShape>> {
        locking::read(&self.shapes)
            .get(&(kind.raw(), version))
            .cloned()
    }

    /// What the log recorded for (kind, version).
    pub(crate) fn logged(&self, kind: EventKind, version: u16) -> Option<Arc<KnownShape>> {
        locking::read(&self.ledger)
            .get(&(kind.raw(), version))
            .cloned()
    }

    /// The family the log says owns `kind`, if any.
    pub(crate) fn logged_family(&self, kind: EventKind) -> Option<String> {
        let ledger = locking::read(&self.ledger);
        ledger
            .iter()
            .find(|((k, _), _)| *k == kind.raw())
            .map(|(_, s)| s.shape.family.clone())
    }

    /// Records a ledger entry (from the log, or being written).
    pub(crate) fn record(&self, kind: EventKind, version: u16, shape: Arc<KnownShape>) {
        let key = (kind.raw(), version);
        locking::write(&self.ledger).insert(key, Arc::clone(&shape));
        locking::write(&self.shapes).insert(key, shape);
    }

    /// Forgets a ledger entry whose write was discarded (a cancelled fence).
    pub(crate) fn forget(&self, kind: EventKind, version: u16) {
        let key = (kind.raw(), version);
        locking::write(&self.ledger).remove(&key);
    }

    /// Learns family `F`'s shapes once (never overriding what the log says).
    pub(crate) fn register<F: EventFamily>(&self) {
        let id = TypeId::of::<F>();
        if locking::read(&self.families).contains(&id) {
            return;
        }
        let table = crate::schema::family_shapes::<F>();
        let mut shapes = locking::write(&self.shapes);
        for (key, shape) in table.iter() {
            shapes.entry(*key).or_insert_with(|| Arc::clone(shape));
        }
        drop(shapes);
        locking::write(&self.families).insert(id);
    }

    /// Every (kind, version) the log describes.
    pub(crate) fn logged_entries(&self) -> Vec<(EventKind, u16, Arc<KnownShape>)> {
        let ledger = locking::read(&self.ledger);
        let mut out: Vec<_> = ledger
            .iter()
            .map(|((k, v), s)| (EventKind::from_raw(*k), *v, Arc::clone(s)))
            .collect();
        out.sort_by_key(|(k, v, _)| (k.raw(), *v));
        out
    }
}

/// The drift error for `new` against what the log recorded.
pub fn drift(kind: EventKind, version: u16, logged: &KnownShape, new: &KnownShape) -> StoreError {
    if logged.shape.family != new.shape.family {
        return StoreError::KindConflict {
            kind,
            logged_family: logged.shape.family.clone(),
            family: new.shape.family.clone(),
        };
    }
    let (path, change) = diff::first_difference(&logged.shape, &new.shape)
        .unwrap_or_else(|| (new.shape.family.clone(), "fingerprints differ".into()));
    StoreError::SchemaDrift {
        kind,
        version,
        path,
        change,
    }
}

/// Checks a typed payload against the ledger. `Ok(true)`: the ledger lacks
/// this (kind, version) and an entry must be written with it.
pub(crate) fn check(
    registry: &SchemaRegistry,
    kind: EventKind,
    payload: &EncodedPayload,
) -> Result<bool, StoreError> {
    let Some(shape) = &payload.shape else {
        return Ok(false);
    };
    let version = payload.schema_version;
    match registry.logged(kind, version) {
        Some(logged) if logged.fingerprint == shape.fingerprint => Ok(false),
        Some(logged) => Err(drift(kind, version, &logged, shape)),
        None => match registry.logged_family(kind) {
            Some(family) if family != shape.shape.family => Err(StoreError::KindConflict {
                kind,
                logged_family: family,
                family: shape.shape.family.clone(),
            }),
            _ => Ok(true),
        },
    }
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
            Frame::Event(ev) => Some(serde_json::from_slice::<LedgerEntry>(ev.payload)),
            _ => None,
        })?;
        let Some(entry) = entry else {
            continue;
        };
        let entry = entry.map_err(|_| StoreError::Corrupt {
            at,
            kind: CorruptionKind::BadBody,
        })?;
        let shape = Arc::new(KnownShape::new(entry.shape));
        registry.record(EventKind::from_raw(entry.kind), entry.version, shape);
    }
    Ok(())
}
