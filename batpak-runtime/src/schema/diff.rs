//! Short names of shapes for the checker's messages (`Vec<u32>`, `[u8; 4]`,
//! `Option<LineItem>`). Where two shapes differ, and what that means, is the
//! comparator's job (`schema::compare`), for the release check and the store
//! alike.

use super::Shape;

/// A short name of a shape for messages.
pub fn describe(shape: &Shape) -> String {
    match shape {
        Shape::Option(s) => format!("Option<{}>", describe(s)),
        Shape::Seq(s) => format!("Vec<{}>", describe(s)),
        Shape::Array(s, n) => format!("[{}; {n}]", describe(s)),
        Shape::Tuple(items) => format!(
            "({})",
            items.iter().map(describe).collect::<Vec<_>>().join(", ")
        ),
        Shape::Map(k, v) => format!("Map<{}, {}>", describe(k), describe(v)),
        Shape::Struct { name, .. } | Shape::Enum { name, .. } => name.clone(),
        Shape::Personal(s) => format!("Personal<{}>", describe(s)),
        Shape::Opaque(name) => format!("opaque {name}"),
        other => format!("{other:?}").to_lowercase(),
    }
}
