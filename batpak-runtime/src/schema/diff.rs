//! Finding the first difference between two shapes, for drift errors and the
//! checker's messages. Paths read like `Moved.pos.x` or `Moved.1`.

use super::{EventShape, Fields, Shape};

/// The first place where `new` differs from `old`: a field path and what changed.
pub fn first_difference(old: &EventShape, new: &EventShape) -> Option<(String, String)> {
    let root = new.variant.clone().unwrap_or_else(|| new.family.clone());
    if old.family != new.family {
        return Some((
            root,
            format!("family `{}` became `{}`", old.family, new.family),
        ));
    }
    if old.variant != new.variant {
        return Some((
            root,
            format!("variant {:?} became {:?}", old.variant, new.variant),
        ));
    }
    fields(&root, &old.fields, &new.fields)
}

fn fields(path: &str, old: &Fields, new: &Fields) -> Option<(String, String)> {
    match (old, new) {
        (Fields::Unit, Fields::Unit) => None,
        (Fields::Named(a), Fields::Named(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let at = format!("{path}.{}", y.name);
                if x.name != y.name {
                    return Some((at, format!("field {i} `{}` became `{}`", x.name, y.name)));
                }
                if let Some(d) = shape(&at, &x.shape, &y.shape) {
                    return Some(d);
                }
            }
            if let Some(added) = b.get(a.len()) {
                return Some((format!("{path}.{}", added.name), "field added".to_owned()));
            }
            if let Some(removed) = a.get(b.len()) {
                return Some((
                    format!("{path}.{}", removed.name),
                    "field removed".to_owned(),
                ));
            }
            None
        }
        (Fields::Tuple(a), Fields::Tuple(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if let Some(d) = shape(&format!("{path}.{i}"), x, y) {
                    return Some(d);
                }
            }
            count(path, a.len(), b.len())
        }
        _ => Some((
            path.to_owned(),
            "field style changed (unit, tuple, named)".to_owned(),
        )),
    }
}

fn count(path: &str, old: usize, new: usize) -> Option<(String, String)> {
    (old != new).then(|| (path.to_owned(), format!("{old} fields became {new}")))
}

fn shape(path: &str, old: &Shape, new: &Shape) -> Option<(String, String)> {
    match (old, new) {
        (Shape::Option(a), Shape::Option(b)) | (Shape::Seq(a), Shape::Seq(b)) => shape(path, a, b),
        (Shape::Array(a, n), Shape::Array(b, m)) => {
            if n != m {
                return Some((path.to_owned(), format!("array length {n} became {m}")));
            }
            shape(path, a, b)
        }
        (Shape::Map(ka, va), Shape::Map(kb, vb)) => shape(&format!("{path}.<key>"), ka, kb)
            .or_else(|| shape(&format!("{path}.<value>"), va, vb)),
        (Shape::Tuple(a), Shape::Tuple(b)) => {
            fields(path, &Fields::Tuple(a.clone()), &Fields::Tuple(b.clone()))
        }
        (Shape::Struct { fields: a, .. }, Shape::Struct { fields: b, .. }) => fields(path, a, b),
        (Shape::Enum { variants: a, .. }, Shape::Enum { variants: b, .. }) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let at = format!("{path}::{}", y.name);
                if x.name != y.name {
                    return Some((at, format!("variant {i} `{}` became `{}`", x.name, y.name)));
                }
                if let Some(d) = fields(&at, &x.fields, &y.fields) {
                    return Some(d);
                }
            }
            (a.len() != b.len()).then(|| {
                (
                    path.to_owned(),
                    format!("{} variants became {}", a.len(), b.len()),
                )
            })
        }
        (a, b) if a == b => None,
        (a, b) => Some((
            path.to_owned(),
            format!("{} became {}", describe(a), describe(b)),
        )),
    }
}

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
        Shape::Opaque(name) => format!("opaque {name}"),
        other => format!("{other:?}").to_lowercase(),
    }
}
