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

/// The system event families: the schema ledger and erasure records
/// (category 0xD) and policy records (category 0x0).
pub fn system_families() -> Vec<FamilySnapshot> {
    let ledger = named(&[
        ("kind", Shape::U16),
        ("version", Shape::U16),
        ("fingerprint", Shape::String),
        ("shape", Shape::Opaque("batpak::schema::EventShape".into())),
    ]);
    let strings = Shape::Seq(Box::new(Shape::String));
    let entry = Shape::Struct {
        name: "DenialEntry".into(),
        fields: named(&[
            ("gate", Shape::String),
            ("code", Shape::String),
            ("message", Shape::String),
            (
                "context",
                Shape::Seq(Box::new(Shape::Tuple(vec![Shape::String, Shape::String]))),
            ),
        ]),
    };
    let verdict = Shape::Enum {
        name: "Verdict".into(),
        variants: ["passed", "denied", "skipped"]
            .iter()
            .map(|n| super::VariantShape {
                name: (*n).into(),
                fields: Fields::Unit,
            })
            .collect(),
    };
    let trace = Shape::Struct {
        name: "TraceEntry".into(),
        fields: named(&[("gate", Shape::String), ("verdict", verdict)]),
    };
    let denial = named(&[
        ("proposed_kind", Shape::U16),
        ("denials", Shape::Seq(Box::new(entry))),
        ("trace", Shape::Seq(Box::new(trace))),
    ]);
    let bypass = named(&[
        ("proposed_kind", Shape::U16),
        ("reason", Shape::String),
        ("gates", strings),
    ]);
    vec![
        family(
            "batpak.Ledger",
            &[(system::LEDGER, "SchemaLedgerEntry", ledger)],
        ),
        family(
            "batpak.Erasure",
            &[(
                system::ERASURE,
                "Erasure",
                named(&[("key_id", Shape::String)]),
            )],
        ),
        family(
            "batpak.Policy",
            &[
                (system::DENIAL, "Denial", denial),
                (system::BYPASS, "Bypass", bypass),
            ],
        ),
    ]
}
