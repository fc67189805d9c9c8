//! Deterministic sample payloads generated from a shape: the golden fixtures
//! `bless` writes next to the snapshot, so decodability of every snapshotted
//! (kind, version) is proven with real bytes, independently of the rule engine.

use super::{Fields, Shape};

fn varint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u128);
    out.extend_from_slice(s.as_bytes());
}

fn shape(out: &mut Vec<u8>, s: &Shape, depth: usize) {
    match s {
        Shape::Bool => out.push(1),
        Shape::U8 | Shape::I8 => out.push(7),
        Shape::U16 | Shape::U32 | Shape::U64 | Shape::U128 | Shape::Usize => varint(out, 42),
        Shape::I16 | Shape::I32 | Shape::I64 | Shape::I128 | Shape::Isize => varint(out, 85),
        Shape::F32 => out.extend_from_slice(&1.5f32.to_le_bytes()),
        Shape::F64 => out.extend_from_slice(&2.5f64.to_le_bytes()),
        Shape::Char => string(out, "c"),
        Shape::String => string(out, "sample"),
        Shape::Unit => {}
        // Recursive shapes end in None / empty collections.
        Shape::Option(inner) if depth < 8 => {
            out.push(1);
            shape(out, inner, depth + 1);
        }
        Shape::Option(_) => out.push(0),
        Shape::Seq(item) if depth < 8 => {
            varint(out, 1);
            shape(out, item, depth + 1);
        }
        Shape::Map(k, v) if depth < 8 => {
            varint(out, 1);
            shape(out, k, depth + 1);
            shape(out, v, depth + 1);
        }
        Shape::Seq(_) | Shape::Map(..) => varint(out, 0),
        Shape::Array(item, n) => (0..*n).for_each(|_| shape(out, item, depth + 1)),
        Shape::Tuple(items) => items.iter().for_each(|i| shape(out, i, depth + 1)),
        Shape::Struct { fields, .. } => sample_fields(out, fields, depth + 1),
        Shape::Enum { variants, .. } => {
            let last = variants.len().saturating_sub(1);
            varint(out, last as u128);
            if let Some(v) = variants.get(last) {
                sample_fields(out, &v.fields, depth + 1);
            }
        }
        // An erased value: golden fixtures never hold a personal value in clear.
        Shape::Personal(_) => out.push(super::personal::TAG_ERASED),
        Shape::Opaque(_) => {}
    }
}

fn sample_fields(out: &mut Vec<u8>, fields: &Fields, depth: usize) {
    for s in fields.shapes() {
        shape(out, s, depth);
    }
}

/// postcard bytes of a sample value of these fields.
pub fn sample(fields: &Fields) -> Vec<u8> {
    let mut out = Vec::new();
    sample_fields(&mut out, fields, 0);
    out
}
