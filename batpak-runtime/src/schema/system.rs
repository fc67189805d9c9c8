//! Snapshots of the library's own system events, so the repository's schema
//! check covers them too. Their payloads are JSON (not postcard), so they are
//! described by hand here and have no golden fixtures; the frame markers (batch
//! and fence begin/commit/cancel) are not events and are versioned by the
//! segment format (docs/format.md) instead.

use super::catalog::{FamilySnapshot, KindSnapshot, VersionSnapshot};
use super::{EventShape, Field, Fields, Shape};
use crate::event::{system, EventKind};

fn named(fields: &[(&str, Shape)]) -> Fields {
    Fields::Named(
        fields
            .iter()
            .map(|(n, s)| Field {
                name: (*n).into(),
                shape: s.clone(),
            })
            .collect(),
    )
}

fn family(name: &str, kinds: &[(EventKind, &str, Fields)]) -> FamilySnapshot {
    FamilySnapshot {
        family: name.into(),
        category: kinds.first().map_or(0, |k| k.0.category()),
        kinds: kinds
            .iter()
            .map(|(kind, variant, fields)| {
                let shape = EventShape {
                    family: name.into(),
                    variant: Some((*variant).into()),
                    fields: fields.clone(),
                };
                KindSnapshot {
                    id: kind.type_id(),
                    kind: format!("{:#06x}", kind.raw()),
                    variant: (*variant).into(),
                    version: 1,
                    retired: false,
                    removed: false,
                    versions: vec![VersionSnapshot {
                        version: 1,
                        fingerprint: shape.fingerprint_hex(),
                        shape,
                    }],
                }
            })
            .collect(),
    }
}

/// The system event families: the schema ledger (category 0xD) and policy
/// records (category 0x0).
pub fn system_families() -> Vec<FamilySnapshot> {
    let ledger = named(&[
        ("kind", Shape::U16),
        ("version", Shape::U16),
        ("fingerprint", Shape::String),
        ("shape", Shape::Opaque("batpak::schema::EventShape".into())),
    ]);
    vec![family(
        "batpak.Ledger",
        &[(system::LEDGER, "SchemaLedgerEntry", ledger)],
    )]
}
