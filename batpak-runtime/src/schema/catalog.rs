//! Snapshots of event families: a [`Catalog`] is built explicitly from types
//! (`Catalog::new().with::<Player>().with::<Chat>()`), serialized as JSON with a
//! stable key order (one file per family under `schemas/`), and compared by
//! [`check`](super::check::check).

use super::{EventFamily, EventShape, SchemaError};
use crate::event::EventKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One version of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionSnapshot {
    /// The version number (1 = first).
    pub version: u16,
    /// The shape's fingerprint, 32 hex digits.
    pub fingerprint: String,
    /// The shape.
    pub shape: EventShape,
}

/// One kind of a family with every version ever readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindSnapshot {
    /// Type id within the category.
    pub id: u16,
    /// The full kind, `0x1001` style.
    pub kind: String,
    /// The variant's name (the type's name for a struct family).
    pub variant: String,
    /// The version written today.
    pub version: u16,
    /// Read-only: no longer written.
    pub retired: bool,
    /// Gone from the code (kept as a tombstone so its id is never reused).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    /// Every readable version, newest first.
    pub versions: Vec<VersionSnapshot>,
}

/// A family: its category and kinds in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilySnapshot {
    /// The family's type name.
    pub family: String,
    /// Its category.
    pub category: u8,
    /// Its kinds, by id.
    pub kinds: Vec<KindSnapshot>,
}

type DecodeFn = fn(EventKind, u16, &[u8]) -> Result<(), SchemaError>;

/// A set of families, by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    families: BTreeMap<String, FamilySnapshot>,
    decoders: BTreeMap<String, DecodeFn>,
}

fn decode_with<F: EventFamily>(
    kind: EventKind,
    version: u16,
    bytes: &[u8],
) -> Result<(), SchemaError> {
    F::decode_fields(kind, version, bytes).map(|_| ())
}

/// The snapshot of family `F` as the code defines it today.
pub fn snapshot_of<F: EventFamily>() -> FamilySnapshot {
    let shapes = F::event_shapes();
    let kinds = F::KINDS
        .iter()
        .map(|info| {
            let mut versions: Vec<VersionSnapshot> = shapes
                .iter()
                .filter(|(k, _, _)| *k == info.kind)
                .map(|(_, v, s)| VersionSnapshot {
                    version: *v,
                    fingerprint: s.fingerprint_hex(),
                    shape: s.clone(),
                })
                .collect();
            versions.sort_by_key(|v| std::cmp::Reverse(v.version));
            KindSnapshot {
                id: info.kind.type_id(),
                kind: format!("{:#06x}", info.kind.raw()),
                variant: info.variant.to_owned(),
                version: info.version,
                retired: info.retired,
                removed: false,
                versions,
            }
        })
        .collect::<Vec<_>>();
    let category = F::KINDS.first().map_or(0, |k| k.kind.category());
    let mut snap = FamilySnapshot {
        family: F::NAME.to_owned(),
        category,
        kinds,
    };
    snap.kinds.sort_by_key(|k| k.id);
    snap
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds family `F`.
    pub fn with<F: EventFamily>(mut self) -> Self {
        let snap = snapshot_of::<F>();
        self.decoders.insert(snap.family.clone(), decode_with::<F>);
        self.families.insert(snap.family.clone(), snap);
        self
    }

    /// Adds a snapshot read from disk (no decoder: it has no Rust type).
    pub fn with_snapshot(mut self, snap: FamilySnapshot) -> Self {
        self.families.insert(snap.family.clone(), snap);
        self
    }

    /// The families, by name.
    pub fn families(&self) -> impl Iterator<Item = &FamilySnapshot> {
        self.families.values()
    }

    /// One family by name.
    pub fn family(&self, name: &str) -> Option<&FamilySnapshot> {
        self.families.get(name)
    }

    /// Decodes `bytes` as (kind, version) of family `name` with today's type,
    /// through its upcast chain. `None` when the catalog has no type for it.
    pub fn decode(
        &self,
        name: &str,
        kind: EventKind,
        version: u16,
        bytes: &[u8],
    ) -> Option<Result<(), SchemaError>> {
        self.decoders.get(name).map(|f| f(kind, version, bytes))
    }
}

impl FamilySnapshot {
    /// The snapshot as pretty JSON (stable key order: struct fields in
    /// declaration order, kinds by id, versions newest first).
    pub fn to_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).unwrap_or_default();
        out.push('\n');
        out
    }

    /// Parses a snapshot written by [`FamilySnapshot::to_json`].
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
