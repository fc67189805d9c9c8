//! Semantic checks: turns the parsed [`Input`] into what each expansion needs
//! (an event [`Family`], a [`SchemaType`], a [`Projection`]), reporting every
//! rule it breaks with the span of the offending token.

use crate::attr::{BatpakAttrs, IntValue};
use crate::case::screaming_snake;
use crate::ctxt::Ctxt;
use crate::model::{Body, Field, Input, Style, Variant};
use proc_macro2::Span;
use quote::ToTokens;
use std::collections::HashMap;
use syn::ext::IdentExt;
use syn::{Ident, Path, Type};

mod personal;

/// Categories the library keeps for itself.
const CATEGORY_SYSTEM: u128 = 0x0;
const CATEGORY_LIBRARY: u128 = 0xD;
const CATEGORY_MAX: u128 = 0xF;
const TYPE_ID_MAX: u128 = 0xFFF;
const CATEGORY_EXPECTED: &str = "expected a category in 0x1..=0xF except 0xD";
/// The prefix of the library's own family names (`batpak.Ledger`).
const RESERVED_NAME_PREFIX: &str = "batpak.";

/// A checked event family.
pub(crate) struct Family<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) name: String,
    pub(crate) category: u8,
    /// Kinds in id order.
    pub(crate) kinds: Vec<Kind<'a>>,
    pub(crate) is_struct: bool,
}

/// One kind of a family: a variant, or the whole struct.
pub(crate) struct Kind<'a> {
    /// `JOINED`, or `KIND` for a struct family.
    pub(crate) constant: Ident,
    /// The variant, `None` for a struct family.
    pub(crate) variant: Option<&'a Ident>,
    /// The variant's (or struct's) Rust name, for the kind table.
    pub(crate) name: String,
    /// The name serde writes for the variant, for the event shape.
    pub(crate) shape_name: Option<String>,
    pub(crate) id: u16,
    pub(crate) version: u16,
    pub(crate) upcast_from: Option<&'a Type>,
    pub(crate) retired: bool,
    pub(crate) style: Style,
    pub(crate) fields: &'a [Field<'a>],
    /// The position of the `#[batpak(subject)]` field.
    pub(crate) subject: Option<usize>,
}

fn reject_generics(cx: &Ctxt, input: &Input, what: &str) {
    if input.is_generic() {
        cx.error_spanned(
            input.generics,
            format!("{what} cannot be generic, expected a concrete type without parameters"),
        );
    }
}

/// Checks an `Event` input.
pub(crate) fn event_family<'a>(cx: &Ctxt, input: &'a Input<'a>) -> Option<Family<'a>> {
    reject_generics(cx, input, "an event family");
    let ident = input.ident;
    let is_struct = matches!(input.body, Body::Struct(..));
    let category = category(cx, input);
    let name = family_name(cx, input);
    let kinds = match &input.body {
        Body::Union => {
            cx.error_at(
                input.keyword,
                "expected an enum or a struct with named fields, found a union",
            );
            Vec::new()
        }
        Body::Struct(Style::Tuple, _) => {
            cx.error_spanned(
                ident,
                "expected a struct with named fields, found a tuple struct: name the fields, or make the event a variant of an enum family",
            );
            Vec::new()
        }
        Body::Struct(Style::Unit, _) => {
            cx.error_spanned(
                ident,
                format!("expected a struct with named fields, found a unit struct: write `struct {ident} {{}}`, or make the event a unit variant of an enum family"),
            );
            Vec::new()
        }
        Body::Struct(style, fields) => {
            let kind_name = name.clone().unwrap_or_else(|| input.name());
            vec![struct_kind(cx, input, kind_name, *style, fields)]
        }
        Body::Enum(variants) => variant_kinds(cx, ident, variants),
    };
    let kinds = check_ids(cx, kinds);
    Some(Family {
        ident,
        name: name?,
        category: category?,
        kinds: kinds?,
        is_struct,
    })
}

/// The family's stable name: `#[batpak(name = "..")]` when written, else the
/// type's name. The name identifies the family in the log's schema ledger and
/// names its snapshot file, so it must be a portable file name and must not
/// take the prefix of the library's own families.
fn family_name(cx: &Ctxt, input: &Input) -> Option<String> {
    let Some(lit) = &input.attrs.name else {
        if input.attrs.wrote("name") {
            return None;
        }
        return Some(input.name());
    };
    let name = lit.value();
    let mut chars = name.chars();
    let problem = match chars.next() {
        None => Some("expected a non-empty family name, such as `name = \"Cart\"`".to_owned()),
        Some(c) if !c.is_ascii_alphabetic() => Some(format!(
            "family name {name:?} starts with {c:?}, expected a name that starts with an ASCII letter, such as `name = \"Cart\"`"
        )),
        Some(_) => chars
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .map(|c| format!(
                "family name {name:?} contains {c:?}, expected only ASCII letters, digits, `_`, `-` and `.` (the name is also the file name of the family's schema snapshot)"
            )),
    };
    let problem = problem.or_else(|| {
        name.starts_with(RESERVED_NAME_PREFIX).then(|| format!(
            "family name {name:?} starts with `{RESERVED_NAME_PREFIX}`, which names the library's own families, expected another name"
        ))
    });
    match problem {
        Some(message) => {
            cx.error_spanned(lit, message);
            None
        }
        None => Some(name),
    }
}

/// The one kind of a struct family: the struct itself, named by `KIND` and
/// listed under the family's stable name.
fn struct_kind<'a>(
    cx: &Ctxt,
    input: &'a Input<'a>,
    name: String,
    style: Style,
    fields: &'a [Field<'a>],
) -> PartialKind<'a> {
    check_fields(cx, fields);
    let attrs = &input.attrs;
    if !attrs.wrote("id") {
        cx.error_spanned(
            input.ident,
            "missing `id`, expected `#[batpak(category = .., id = ..)]` on an event struct",
        );
    }
    PartialKind {
        constant: Ident::new("KIND", Span::call_site()),
        variant: None,
        name,
        shape_name: None,
        id: attrs.id.as_ref(),
        version: version(cx, attrs),
        upcast_from: attrs.upcast_from.as_ref(),
        retired: attrs.retired.is_some(),
        style,
        fields,
        subject: personal::subject(cx, fields),
    }
}

/// The kinds of an enum family, one per variant, each named by a constant
/// derived from the variant's name.
fn variant_kinds<'a>(
    cx: &Ctxt,
    ident: &Ident,
    variants: &'a [Variant<'a>],
) -> Vec<PartialKind<'a>> {
    if variants.is_empty() {
        cx.error_spanned(
            ident,
            "expected at least one variant: each variant of an event family is a kind",
        );
    }
    let mut kinds = Vec::new();
    for v in variants {
        check_fields(cx, &v.fields);
        if !v.attrs.wrote("id") {
            cx.error_spanned(
                v.ident,
                format!("missing `#[batpak(id = ..)]` on variant `{}`, expected an explicit id in 0..=0xFFF", v.ident),
            );
        }
        kinds.push(PartialKind {
            constant: Ident::new(
                &screaming_snake(&v.ident.unraw().to_string()),
                v.ident.span(),
            ),
            variant: Some(v.ident),
            name: v.ident.unraw().to_string(),
            shape_name: Some(v.serde_name.clone()),
            id: v.attrs.id.as_ref(),
            version: version(cx, &v.attrs),
            upcast_from: v.attrs.upcast_from.as_ref(),
            retired: v.attrs.retired.is_some(),
            style: v.style,
            fields: &v.fields,
            subject: personal::subject(cx, &v.fields),
        });
    }
    check_constants(cx, &kinds);
    kinds
}

/// A kind before its id is checked.
struct PartialKind<'a> {
    constant: Ident,
    variant: Option<&'a Ident>,
    name: String,
    shape_name: Option<String>,
    id: Option<&'a IntValue>,
    version: u16,
    upcast_from: Option<&'a Type>,
    retired: bool,
    style: Style,
    fields: &'a [Field<'a>],
    subject: Option<usize>,
}

fn category(cx: &Ctxt, input: &Input) -> Option<u8> {
    let Some(category) = &input.attrs.category else {
        if input.attrs.wrote("category") {
            return None;
        }
        cx.error_spanned(
            input.ident,
            format!("missing `#[batpak(category = ..)]` on the family, {CATEGORY_EXPECTED}"),
        );
        return None;
    };
    let value = category.value;
    if value > CATEGORY_MAX {
        cx.error_spanned(
            &category.lit,
            format!("category {value:#x} does not fit in 4 bits, {CATEGORY_EXPECTED}"),
        );
        return None;
    }
    if value == CATEGORY_SYSTEM || value == CATEGORY_LIBRARY {
        cx.error_spanned(
            &category.lit,
            format!("category {value:#x} is reserved for the library, {CATEGORY_EXPECTED}"),
        );
        return None;
    }
    u8::try_from(value).ok()
}

/// The version a kind writes today (1 when absent), checked against `upcast_from`.
fn version(cx: &Ctxt, attrs: &BatpakAttrs) -> u16 {
    let upcast_from = &attrs.upcast_from;
    let Some(v) = &attrs.version else {
        if let (Some(older), false) = (upcast_from, attrs.wrote("version")) {
            cx.error_spanned(
                older,
                "`upcast_from` needs a `version` above 1, expected `version = 2` or more beside it",
            );
        }
        return 1;
    };
    let value = match u16::try_from(v.value) {
        Ok(0) => {
            cx.error_spanned(
                &v.lit,
                "versions start at 1, expected `version = 1` or more",
            );
            return 1;
        }
        Ok(value) => value,
        Err(_) => {
            cx.error_spanned(
                &v.lit,
                format!(
                    "version {} does not fit in 16 bits, expected 1..=65535",
                    v.value
                ),
            );
            return 1;
        }
    };
    match upcast_from {
        None if value > 1 && !attrs.wrote("upcast_from") => cx.error_spanned(
            &v.lit,
            format!(
                "`version = {value}` needs `upcast_from = ..`, expected the type (deriving `batpak::Schema`) that reads version {} and older",
                value - 1
            ),
        ),
        Some(older) if value == 1 => cx.error_spanned(
            older,
            "`upcast_from` needs a `version` above 1, expected `version = 2` or more beside it",
        ),
        _ => {}
    }
    value
}

/// Serde field attributes that batpak's own encoding of event fields would ignore.
fn check_fields(cx: &Ctxt, fields: &[Field]) {
    personal::check_personal(cx, fields);
    for f in fields {
        if let Some(with) = &f.serde.with {
            cx.error_spanned(
                with,
                format!("`#[serde({})]` is not applied to event fields: batpak encodes each field with its own `Serialize`, expected a field type that serializes itself (a newtype with its own `Serialize` and `batpak::Schema`)", with.to_token_stream()),
            );
        }
    }
}

/// Each variant gets a distinct constant that names no variant.
fn check_constants(cx: &Ctxt, kinds: &[PartialKind]) {
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    let variants: Vec<String> = kinds
        .iter()
        .filter_map(|k| k.variant.map(|v| v.unraw().to_string()))
        .collect();
    for k in kinds {
        let Some(variant) = k.variant else { continue };
        let constant = k.constant.to_string();
        if variants.contains(&constant) {
            cx.error_spanned(
                variant,
                format!("the kind constant `{constant}` of variant `{variant}` would clash with the variant `{constant}`, expected variant names in CamelCase"),
            );
        } else if let Some(first) = seen.get(&constant) {
            cx.error_spanned(
                variant,
                format!("variants `{first}` and `{variant}` would both get the kind constant `{constant}`, expected names that differ in more than case and underscores"),
            );
        } else {
            seen.insert(constant, variant);
        }
    }
}

/// Checks every id's range and uniqueness, then sorts the kinds by id.
fn check_ids<'a>(cx: &Ctxt, partial: Vec<PartialKind<'a>>) -> Option<Vec<Kind<'a>>> {
    let mut ok = true;
    let mut seen: HashMap<u16, String> = HashMap::new();
    let mut kinds = Vec::new();
    for k in partial {
        let Some(id) = k.id else {
            ok = false;
            continue;
        };
        let value = id.value;
        let Some(id16) = u16::try_from(value)
            .ok()
            .filter(|v| u128::from(*v) <= TYPE_ID_MAX)
        else {
            cx.error_spanned(
                &id.lit,
                format!("id {value} ({value:#x}) does not fit in 12 bits, expected 0..=0xFFF"),
            );
            ok = false;
            continue;
        };
        if let Some(first) = seen.get(&id16) {
            cx.error_spanned(
                &id.lit,
                format!("duplicate id {value}: `{first}` already has it, expected an id unique within the family"),
            );
            ok = false;
            continue;
        }
        seen.insert(id16, k.name.clone());
        kinds.push(Kind {
            constant: k.constant,
            variant: k.variant,
            name: k.name,
            shape_name: k.shape_name,
            id: id16,
            version: k.version,
            upcast_from: k.upcast_from,
            retired: k.retired,
            style: k.style,
            fields: k.fields,
            subject: k.subject,
        });
    }
    kinds.sort_by_key(|k| k.id);
    ok.then_some(kinds)
}

/// A checked `Schema` input.
pub(crate) struct SchemaType<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) name: String,
    pub(crate) body: &'a Body<'a>,
    pub(crate) upcast_from: Option<&'a Type>,
    /// The single field of a `#[serde(transparent)]` struct.
    pub(crate) transparent: Option<&'a Field<'a>>,
}

/// Checks a `Schema` input.
pub(crate) fn schema_type<'a>(cx: &Ctxt, input: &'a Input<'a>) -> Option<SchemaType<'a>> {
    reject_generics(cx, input, "a schema type");
    if let Some(convert) = &input.serde.convert {
        cx.error_spanned(
            convert,
            format!("`#[serde({})]` writes another type's encoding, which the derived schema cannot see: expected no conversion, or `batpak::Schema` implemented by hand", convert.to_token_stream()),
        );
    }
    let mut transparent = None;
    match &input.body {
        Body::Union => cx.error_at(input.keyword, "expected a struct or an enum, found a union"),
        Body::Struct(_, fields) => {
            personal::check_personal(cx, fields);
            check_recursion(cx, input.ident, fields);
            if input.serde.transparent && fields.len() == 1 {
                transparent = fields.first();
            }
        }
        Body::Enum(variants) => {
            for v in variants {
                personal::check_personal(cx, &v.fields);
                check_recursion(cx, input.ident, &v.fields);
            }
        }
    }
    Some(SchemaType {
        ident: input.ident,
        name: input.name(),
        body: &input.body,
        upcast_from: input.attrs.upcast_from.as_ref(),
        transparent,
    })
}

/// A field whose type names the type itself would make its shape infinite.
fn check_recursion(cx: &Ctxt, ident: &Ident, fields: &[Field]) {
    for f in fields {
        if let Some(path) = self_reference(ident, f.ty) {
            cx.error_spanned(
                path,
                format!("`{ident}` contains itself, and a shape is written out in full: expected a type that does not nest itself"),
            );
        }
    }
}

fn self_reference<'t>(ident: &Ident, ty: &'t Type) -> Option<&'t Path> {
    match ty {
        Type::Path(p) => {
            let path = &p.path;
            let names_self = path.segments.len() == 1
                && (path.segments[0].ident == *ident || path.segments[0].ident == "Self");
            if names_self {
                return Some(path);
            }
            path.segments.iter().find_map(|seg| match &seg.arguments {
                syn::PathArguments::AngleBracketed(args) => {
                    args.args.iter().find_map(|a| match a {
                        syn::GenericArgument::Type(t) => self_reference(ident, t),
                        _ => None,
                    })
                }
                _ => None,
            })
        }
        Type::Array(a) => self_reference(ident, &a.elem),
        Type::Slice(s) => self_reference(ident, &s.elem),
        Type::Paren(p) => self_reference(ident, &p.elem),
        Type::Group(g) => self_reference(ident, &g.elem),
        Type::Reference(r) => self_reference(ident, &r.elem),
        Type::Tuple(t) => t.elems.iter().find_map(|e| self_reference(ident, e)),
        _ => None,
    }
}

/// A checked `Projection` input.
pub(crate) struct Projection<'a> {
    pub(crate) ident: &'a Ident,
    /// The families folded, in the order written (usually one).
    pub(crate) families: &'a [Path],
    /// The variants folded, with a single family only.
    pub(crate) variants: Option<&'a [Ident]>,
    /// The cache identity: see [`cache_identity`].
    pub(crate) cache_version: u32,
}

/// Checks a `Projection` input.
pub(crate) fn projection<'a>(cx: &Ctxt, input: &'a Input<'a>) -> Option<Projection<'a>> {
    reject_generics(cx, input, "a projection");
    let fields = match &input.body {
        Body::Struct(_, fields) => Some(fields),
        Body::Enum(_) | Body::Union => {
            cx.error_at(
                input.keyword,
                "expected a struct: `Projection` derives on the state that events fold into",
            );
            None
        }
    };
    let families = input.attrs.events.as_slice();
    if families.is_empty() {
        if !input.attrs.wrote("events") {
            cx.error_spanned(
                input.ident,
                "missing `#[batpak(events = ..)]`, expected the event family this state folds, such as `#[batpak(events = Player)]`",
            );
        }
        return None;
    }
    let variants = input
        .attrs
        .variants
        .as_ref()
        .map(|(_, list)| list.as_slice());
    if let (Some((keyword, _)), [_, _, ..]) = (&input.attrs.variants, families) {
        cx.error_spanned(
            keyword,
            "`variants` narrows a single family, but this projection folds several: expected one `events = ..` beside `variants`, so one projection per narrowed family",
        );
    }
    let user_version = user_cache_version(cx, &input.attrs);
    let written: Vec<String> = families
        .iter()
        .map(|f| f.to_token_stream().to_string())
        .collect();
    let mut identity = format!("{}|{}|", input.name(), written.join("+"));
    for v in variants.unwrap_or_default() {
        identity.push_str(&format!("{v},"));
    }
    for f in fields.into_iter().flatten() {
        identity.push_str(&format!(
            "|{}:{}",
            f.member.to_token_stream(),
            f.ty.to_token_stream()
        ));
    }
    Some(Projection {
        ident: input.ident,
        families,
        variants,
        cache_version: cache_identity(fnv1a(identity.as_bytes()), user_version?),
    })
}

/// `#[batpak(cache_version = N)]`: 1 or more, and 0 when left out.
fn user_cache_version(cx: &Ctxt, attrs: &BatpakAttrs) -> Option<u32> {
    let Some(v) = &attrs.cache_version else {
        return Some(0);
    };
    match u32::try_from(v.value) {
        Ok(0) => cx.error_spanned(
            &v.lit,
            "cache versions start at 1, expected `cache_version = 1` or more",
        ),
        Ok(value) => return Some(value),
        Err(_) => cx.error_spanned(
            &v.lit,
            format!(
                "cache version {} does not fit in 32 bits, expected 1..=4294967295",
                v.value
            ),
        ),
    }
    None
}

/// A projection's cache identity (its `EventSourced::schema_version`): the hash
/// of its shape moved by the user's `cache_version` times an odd constant (the
/// 32-bit golden ratio). The constant being odd, two different user versions of
/// one shape never give the same identity; a left-out version counts as 0 and
/// keeps the shape hash, so projections without the key keep their identity.
fn cache_identity(shape: u32, user_version: u32) -> u32 {
    shape.wrapping_add(user_version.wrapping_mul(0x9E37_79B9))
}

/// 32-bit FNV-1a: stable across builds and platforms.
fn fnv1a(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}
