//! Comparing an old shape with a new one field by field under the postcard
//! rules of docs/schema-evolution.md: each difference becomes a [`Change`] with the rule
//! number and a verdict.

use super::diff::describe;
use super::{Field, Fields, Shape, VariantShape};
use serde::Serialize;

/// How bad a change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Safe.
    Ok,
    /// Safe on the wire, worth knowing (renames change JSON views).
    Info,
    /// Safe in some directions or on some platforms; look at it.
    Warn,
    /// Old data no longer decodes: needs a new version with an upcaster.
    Break,
    /// Old data may decode into wrong values without any error.
    Silent,
}

impl Verdict {
    /// A break, `Silent` when old data may misdecode without an error.
    fn breaking(silent: bool) -> Self {
        if silent {
            Verdict::Silent
        } else {
            Verdict::Break
        }
    }

    /// Whether the check must fail.
    pub fn fails(self) -> bool {
        matches!(self, Verdict::Break | Verdict::Silent)
    }
}

/// One difference between two shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// How bad.
    pub verdict: Verdict,
    /// The rules-table row (docs/schema-evolution.md).
    pub rule: u8,
    /// Field path, e.g. `Moved.pos.x`.
    pub path: String,
    /// What changed.
    pub message: String,
}

fn push(out: &mut Vec<Change>, verdict: Verdict, rule: u8, path: &str, message: impl Into<String>) {
    out.push(Change {
        verdict,
        rule,
        path: path.to_owned(),
        message: message.into(),
    });
}

/// The shape as postcard sees it: names dropped, newtypes and structs
/// flattened to what they put on the wire.
pub fn wire(shape: &Shape) -> Shape {
    match shape {
        Shape::Struct { fields, .. } => wire_fields(fields),
        Shape::Enum { variants, .. } => Shape::Enum {
            name: String::new(),
            variants: variants
                .iter()
                .map(|v| VariantShape {
                    name: String::new(),
                    fields: Fields::Tuple(vec![wire_fields(&v.fields)]),
                })
                .collect(),
        },
        Shape::Option(s) => Shape::Option(Box::new(wire(s))),
        Shape::Seq(s) => Shape::Seq(Box::new(wire(s))),
        Shape::Array(s, n) => Shape::Array(Box::new(wire(s)), *n),
        Shape::Tuple(items) => Shape::Tuple(items.iter().map(wire).collect()),
        Shape::Map(k, v) => Shape::Map(Box::new(wire(k)), Box::new(wire(v))),
        other => other.clone(),
    }
}

/// The wire shape of a field list.
pub fn wire_fields(fields: &Fields) -> Shape {
    match fields {
        Fields::Unit => Shape::Unit,
        Fields::Tuple(items) if items.len() == 1 => wire(&items[0]),
        Fields::Tuple(items) => Shape::Tuple(items.iter().map(wire).collect()),
        Fields::Named(fields) => Shape::Tuple(fields.iter().map(|f| wire(&f.shape)).collect()),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Int {
    bits: u16,
    signed: bool,
    platform: bool,
}

fn int(shape: &Shape) -> Option<Int> {
    let (bits, signed, platform) = match shape {
        Shape::U8 => (8, false, false),
        Shape::U16 => (16, false, false),
        Shape::U32 => (32, false, false),
        Shape::U64 => (64, false, false),
        Shape::U128 => (128, false, false),
        Shape::Usize => (64, false, true),
        Shape::I8 => (8, true, false),
        Shape::I16 => (16, true, false),
        Shape::I32 => (32, true, false),
        Shape::I64 => (64, true, false),
        Shape::I128 => (128, true, false),
        Shape::Isize => (64, true, true),
        _ => return None,
    };
    Some(Int {
        bits,
        signed,
        platform,
    })
}

fn is_float(shape: &Shape) -> bool {
    matches!(shape, Shape::F32 | Shape::F64)
}

fn newtype_inner(shape: &Shape) -> Option<&Shape> {
    match shape {
        Shape::Struct {
            fields: Fields::Tuple(items),
            ..
        } if items.len() == 1 => Some(&items[0]),
        _ => None,
    }
}

/// The first change of `old` → `new` that old bytes cannot survive, if any:
/// what the store refuses, with the same rule and path the release check
/// reports.
pub fn first_break(old: &Fields, new: &Fields, path: &str) -> Option<Change> {
    let mut changes = Vec::new();
    compare_fields(old, new, path, &mut changes);
    changes.into_iter().find(|c| c.verdict.fails())
}

/// Compares two shapes; appends every difference to `out`.
pub fn compare(old: &Shape, new: &Shape, path: &str, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Shape::Struct { fields: a, .. }, Shape::Struct { fields: b, .. }) => {
            compare_fields(a, b, path, out)
        }
        (Shape::Enum { variants: a, .. }, Shape::Enum { variants: b, .. }) => {
            compare_variants(a, b, path, out)
        }
        (Shape::Option(a), Shape::Option(b))
        | (Shape::Seq(a), Shape::Seq(b))
        | (Shape::Personal(a), Shape::Personal(b)) => compare(a, b, path, out),
        (Shape::Array(a, n), Shape::Array(b, m)) => {
            if n != m {
                push(
                    out,
                    Verdict::Break,
                    9,
                    path,
                    format!("array length {n} became {m}"),
                );
            } else {
                compare(a, b, path, out);
            }
        }
        (Shape::Map(ka, va), Shape::Map(kb, vb)) => {
            compare(ka, kb, &format!("{path}.<key>"), out);
            compare(va, vb, &format!("{path}.<value>"), out);
        }
        (Shape::Tuple(a), Shape::Tuple(b)) => compare_fields(
            &Fields::Tuple(a.clone()),
            &Fields::Tuple(b.clone()),
            path,
            out,
        ),
        _ => compare_kinds(old, new, path, out),
    }
}

/// Two shapes that are not the same kind of container: a field that changed
/// what it is, or two scalars. The arms run in order, so an option or an opaque
/// shape is reported before the rules below it are tried.
fn compare_kinds(old: &Shape, new: &Shape, path: &str, out: &mut Vec<Change>) {
    match (old, new) {
        (Shape::Array(..), Shape::Seq(_)) | (Shape::Seq(_), Shape::Array(..)) => {
            push(out, Verdict::Break, 9, path, became(old, new));
        }
        (Shape::Personal(_), _) | (_, Shape::Personal(_)) => {
            let what = if matches!(new, Shape::Personal(_)) {
                "field became personal"
            } else {
                "field is no longer personal"
            };
            push(
                out,
                Verdict::Break,
                28,
                path,
                format!(
                    "{what} ({}): stored bytes are sealed differently",
                    became(old, new)
                ),
            );
        }
        (Shape::Option(_), _) | (_, Shape::Option(_)) => {
            push(out, Verdict::Break, 10, path, became(old, new));
        }
        (Shape::Opaque(_), _) | (_, Shape::Opaque(_)) => {
            push(
                out,
                Verdict::Warn,
                16,
                path,
                "opaque field (custom Serialize): compare by hand",
            );
        }
        (Shape::String, Shape::Seq(b)) | (Shape::Seq(b), Shape::String) if **b == Shape::U8 => {
            push(out, Verdict::Warn, 7, path, became(old, new));
        }
        (Shape::Char, Shape::String) | (Shape::String, Shape::Char) => {
            push(out, Verdict::Warn, 7, path, became(old, new));
        }
        (Shape::Struct { fields, .. }, Shape::Tuple(items))
        | (Shape::Tuple(items), Shape::Struct { fields, .. })
            if !matches!(fields, Fields::Tuple(f) if f.len() == 1) =>
        {
            let (a, b) = if matches!(old, Shape::Tuple(_)) {
                (Fields::Tuple(items.clone()), fields.clone())
            } else {
                (fields.clone(), Fields::Tuple(items.clone()))
            };
            push(
                out,
                Verdict::Ok,
                8,
                path,
                "struct and tuple of the same fields",
            );
            compare_positional(&a, &b, path, out);
        }
        _ if newtype_inner(old).is_some() || newtype_inner(new).is_some() => {
            let a = newtype_inner(old).unwrap_or(old);
            let b = newtype_inner(new).unwrap_or(new);
            push(out, Verdict::Ok, 8, path, "newtype wrapped or unwrapped");
            compare(a, b, path, out);
        }
        _ => compare_scalars(old, new, path, out),
    }
}

/// The message of a change that replaces one shape by another.
fn became(old: &Shape, new: &Shape) -> String {
    format!("{} became {}", describe(old), describe(new))
}

fn compare_scalars(old: &Shape, new: &Shape, path: &str, out: &mut Vec<Change>) {
    let what = became(old, new);
    match (int(old), int(new)) {
        (Some(a), Some(b)) => {
            if b.platform && !a.platform {
                push(
                    out,
                    Verdict::Warn,
                    17,
                    path,
                    format!("{what}: platform-width integer"),
                );
            }
            if a.signed != b.signed || b.bits < a.bits || (a.bits == 8) != (b.bits == 8) {
                push(out, Verdict::Break, 6, path, what);
            } else if a.bits != b.bits {
                push(out, Verdict::Ok, 5, path, format!("{what}: widened"));
            }
        }
        (Some(_), None) | (None, Some(_)) if is_float(old) || is_float(new) => {
            push(out, Verdict::Break, 6, path, what);
        }
        _ if is_float(old) && is_float(new) => push(out, Verdict::Break, 6, path, what),
        _ => push(out, Verdict::Break, 14, path, what),
    }
}

fn compare_positional(a: &Fields, b: &Fields, path: &str, out: &mut Vec<Change>) {
    let (x, y) = (a.shapes(), b.shapes());
    for (i, (p, q)) in x.iter().zip(&y).enumerate() {
        compare(p, q, &format!("{path}.{i}"), out);
    }
    if y.len() > x.len() {
        push(
            out,
            Verdict::Break,
            1,
            path,
            format!("{} fields became {}", x.len(), y.len()),
        );
    } else if y.len() < x.len() {
        let verdict = Verdict::breaking(y.len() + 1 == x.len());
        push(
            out,
            verdict,
            2,
            path,
            format!("{} fields became {}", x.len(), y.len()),
        );
    }
}

fn is_subsequence(short: &[&str], long: &[&str]) -> bool {
    let mut it = long.iter();
    short.iter().all(|s| it.any(|l| l == s))
}

/// Whether `fields` puts nothing on the wire: a unit shape, or named or
/// positional fields with no field at all.
fn is_empty(fields: &Fields) -> bool {
    fields.shapes().is_empty()
}

/// Compares the fields of a struct, variant or event version.
pub fn compare_fields(old: &Fields, new: &Fields, path: &str, out: &mut Vec<Change>) {
    if is_empty(old) && is_empty(new) {
        if old != new {
            let message = "unit, empty struct and empty tuple shapes are one shape";
            push(out, Verdict::Ok, 27, path, message);
        }
        return;
    }
    match (old, new) {
        (Fields::Named(a), Fields::Named(b)) => compare_named(a, b, path, out),
        (Fields::Unit, Fields::Unit) => {}
        (Fields::Unit, _) => push(out, Verdict::Break, 1, path, "fields added to a unit shape"),
        (_, Fields::Unit) => {
            let verdict = Verdict::breaking(old.shapes().len() == 1);
            push(out, verdict, 2, path, "every field removed");
        }
        (Fields::Tuple(_), Fields::Tuple(_)) => compare_positional(old, new, path, out),
        _ => {
            push(
                out,
                Verdict::Ok,
                8,
                path,
                "struct and tuple of the same fields",
            );
            compare_positional(old, new, path, out);
        }
    }
}

/// Compares named fields by how their names line up: postcard writes no names,
/// so what matters is which positions stay, move, appear or disappear.
fn compare_named(a: &[Field], b: &[Field], path: &str, out: &mut Vec<Change>) {
    let an: Vec<&str> = a.iter().map(|f| f.name.as_str()).collect();
    let bn: Vec<&str> = b.iter().map(|f| f.name.as_str()).collect();
    let same_set = an.len() == bn.len() && an.iter().all(|n| bn.contains(n));
    if an == bn {
        for (x, y) in a.iter().zip(b) {
            compare(&x.shape, &y.shape, &format!("{path}.{}", y.name), out);
        }
    } else if same_set {
        push_reordered(a, b, &an, &bn, path, out);
    } else if bn.len() > an.len() && is_subsequence(&an, &bn) {
        for f in b.iter().filter(|f| !an.contains(&f.name.as_str())) {
            push(
                out,
                Verdict::Break,
                1,
                &format!("{path}.{}", f.name),
                "field added",
            );
        }
    } else if an.len() > bn.len() && is_subsequence(&bn, &an) {
        push_removed(a, &bn, path, out);
    } else if an.len() == bn.len() {
        compare_renamed(a, b, path, out);
    } else {
        push(
            out,
            Verdict::Break,
            1,
            path,
            format!("fields {an:?} became {bn:?}"),
        );
    }
}

/// The same names `an` in another order `bn`: when the wire shapes still line
/// up, old bytes decode into the wrong fields without an error.
fn push_reordered(
    a: &[Field],
    b: &[Field],
    an: &[&str],
    bn: &[&str],
    path: &str,
    out: &mut Vec<Change>,
) {
    let old_wire: Vec<Shape> = a.iter().map(|f| wire(&f.shape)).collect();
    let new_wire: Vec<Shape> = b.iter().map(|f| wire(&f.shape)).collect();
    let verdict = Verdict::breaking(old_wire == new_wire);
    let first = an.iter().zip(bn).position(|(x, y)| x != y).unwrap_or(0);
    push(
        out,
        verdict,
        3,
        &format!("{path}.{}", bn[first]),
        format!("fields reordered: {an:?} became {bn:?}"),
    );
}

/// Each old field missing from the new names `bn`; whether the break is silent
/// depends on whether the field was the last one.
fn push_removed(a: &[Field], bn: &[&str], path: &str, out: &mut Vec<Change>) {
    for (i, f) in a
        .iter()
        .enumerate()
        .filter(|(_, f)| !bn.contains(&f.name.as_str()))
    {
        let last = i + 1 == a.len();
        let verdict = Verdict::breaking(last);
        push(
            out,
            verdict,
            2,
            &format!("{path}.{}", f.name),
            "field removed",
        );
    }
}

/// As many fields under other names: compared by position, each new name
/// reported as a rename of the old one.
fn compare_renamed(a: &[Field], b: &[Field], path: &str, out: &mut Vec<Change>) {
    for (x, y) in a.iter().zip(b) {
        let at = format!("{path}.{}", y.name);
        if x.name != y.name {
            push(
                out,
                Verdict::Info,
                4,
                &at,
                format!("field `{}` renamed to `{}`", x.name, y.name),
            );
        }
        compare(&x.shape, &y.shape, &at, out);
    }
}

fn compare_variants(a: &[VariantShape], b: &[VariantShape], path: &str, out: &mut Vec<Change>) {
    let mut shifted = false;
    for (i, old) in a.iter().enumerate() {
        let at = format!("{path}::{}", old.name);
        match b.get(i) {
            Some(new) if new.name == old.name => compare_fields(&old.fields, &new.fields, &at, out),
            Some(new) => {
                let elsewhere = b.iter().any(|v| v.name == old.name);
                let same_wire = wire_fields(&old.fields) == wire_fields(&new.fields);
                if !elsewhere && same_wire {
                    push(
                        out,
                        Verdict::Info,
                        13,
                        &at,
                        format!("variant renamed to `{}`", new.name),
                    );
                } else {
                    shifted = true;
                    let verdict = Verdict::breaking(same_wire);
                    push(
                        out,
                        verdict,
                        12,
                        &at,
                        format!("variant {i} is now `{}`", new.name),
                    );
                }
            }
            None => {
                shifted = true;
                push(out, Verdict::Break, 12, &at, "variant removed");
            }
        }
    }
    if !shifted && b.len() > a.len() {
        for v in &b[a.len()..] {
            push(
                out,
                Verdict::Ok,
                11,
                &format!("{path}::{}", v.name),
                "variant added at the end",
            );
        }
    }
}
