//! Parsing of `#[batpak(..)]` (with `parse_nested_meta`) and of the serde
//! attributes that change what postcard writes. Parsing only records what was
//! written, with its tokens for spans; the checks that need the whole input live
//! in `valid`.

use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitInt, LitStr, Path, Token, Type};

/// Where a `#[batpak(..)]` attribute sits; each place accepts its own keys.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// On an enum deriving `Event`.
    EventEnum,
    /// On a struct deriving `Event`.
    EventStruct,
    /// On a variant of an enum deriving `Event`.
    EventVariant,
    /// On a type deriving `Schema`.
    Schema,
    /// On a struct deriving `Projection`.
    Projection,
    /// On a field of an event (struct or variant).
    EventField,
    /// On a field of a type deriving `Schema`.
    SchemaField,
    /// On a field, or on a variant of a `Schema` enum: no keys at all.
    Nowhere(&'static str),
}

impl Place {
    fn keys(self) -> &'static [&'static str] {
        match self {
            Place::EventEnum => &["category", "name"],
            Place::EventStruct => &[
                "category",
                "name",
                "id",
                "version",
                "upcast_from",
                "retired",
            ],
            Place::EventVariant => &["id", "version", "upcast_from", "retired"],
            Place::Schema => &["upcast_from"],
            Place::Projection => &["events", "variants", "cache_version"],
            Place::EventField => &["personal", "subject"],
            Place::SchemaField => &["personal"],
            Place::Nowhere(_) => &[],
        }
    }

    /// Where a key that belongs elsewhere goes.
    fn hint(self, key: &str) -> Option<&'static str> {
        let variant_key = ["id", "version", "upcast_from", "retired"].contains(&key);
        match self {
            Place::EventEnum if variant_key => {
                Some("; `id`, `version`, `upcast_from` and `retired` go on each variant")
            }
            Place::EventVariant if key == "category" => Some("; `category` goes on the enum"),
            Place::EventVariant if key == "name" => Some("; `name` goes on the enum"),
            Place::SchemaField if key == "subject" => {
                Some("; `subject` goes on a field of the event itself")
            }
            _ => None,
        }
    }
}

/// An integer literal and its value.
pub(crate) struct IntValue {
    pub(crate) value: u128,
    pub(crate) lit: LitInt,
}

/// The keys of every `#[batpak(..)]` attribute on one item.
#[derive(Default)]
pub(crate) struct BatpakAttrs {
    pub(crate) category: Option<IntValue>,
    pub(crate) id: Option<IntValue>,
    pub(crate) version: Option<IntValue>,
    pub(crate) upcast_from: Option<Type>,
    /// The `retired` keyword itself.
    pub(crate) retired: Option<Path>,
    /// The family's stable name, as written (checked in `valid`).
    pub(crate) name: Option<LitStr>,
    /// Every `events = ..`, in order: a projection may fold several families.
    pub(crate) events: Vec<Path>,
    pub(crate) cache_version: Option<IntValue>,
    /// The `variants` keyword and the listed variants.
    pub(crate) variants: Option<(Path, Vec<Ident>)>,
    /// The `personal` keyword of a field.
    pub(crate) personal: Option<Path>,
    /// The `subject` keyword of a field.
    pub(crate) subject: Option<Path>,
    /// Keys written, valid or not.
    written: Vec<String>,
    /// An attribute did not parse, so any key may have been meant.
    malformed: bool,
}

impl BatpakAttrs {
    /// Whether `key` was written (or may have been, in an attribute that did not
    /// parse): a missing value then already has its error.
    pub(crate) fn wrote(&self, key: &str) -> bool {
        self.malformed || self.written.iter().any(|k| k == key)
    }
}

/// `a`, `a` or `b`, `a`, `b` or `c`.
fn one_of(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Parses every `#[batpak(..)]` attribute in `attrs` for `place`.
pub(crate) fn batpak_attrs(cx: &Ctxt, attrs: &[Attribute], place: Place) -> BatpakAttrs {
    let mut out = BatpakAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("batpak")) {
        if let Place::Nowhere(what) = place {
            cx.error_spanned(attr, format!("`#[batpak]` does not apply to {what}"));
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(Ident::to_string);
            match key.as_deref().filter(|k| place.keys().contains(k)) {
                Some(key) => parse_key(cx, &mut out, key, &meta),
                None => {
                    let shown = meta
                        .path
                        .get_ident()
                        .map_or_else(|| "this key".to_owned(), |i| format!("`{i}`"));
                    let hint = key
                        .as_deref()
                        .and_then(|k| place.hint(k))
                        .unwrap_or_default();
                    cx.error_spanned(
                        &meta.path,
                        format!(
                            "unknown key {shown}, expected {}{hint}",
                            one_of(place.keys())
                        ),
                    );
                    skip_value(&meta)
                }
            }
        });
        if let Err(error) = parsed {
            out.malformed = true;
            cx.syn_error(error);
        }
    }
    out
}

fn duplicate<T>(cx: &Ctxt, slot: &Option<T>, key: &str, meta: &ParseNestedMeta) -> bool {
    if slot.is_some() {
        cx.error_spanned(&meta.path, format!("duplicate key `{key}`"));
    }
    slot.is_some()
}

fn parse_key(
    cx: &Ctxt,
    out: &mut BatpakAttrs,
    key: &str,
    meta: &ParseNestedMeta,
) -> syn::Result<()> {
    out.written.push(key.to_owned());
    let taken = match key {
        "category" => duplicate(cx, &out.category, key, meta),
        "id" => duplicate(cx, &out.id, key, meta),
        "version" => duplicate(cx, &out.version, key, meta),
        "upcast_from" => duplicate(cx, &out.upcast_from, key, meta),
        "retired" => duplicate(cx, &out.retired, key, meta),
        "name" => duplicate(cx, &out.name, key, meta),
        "cache_version" => duplicate(cx, &out.cache_version, key, meta),
        "personal" => duplicate(cx, &out.personal, key, meta),
        "subject" => duplicate(cx, &out.subject, key, meta),
        // Repeatable: each one adds a family.
        "events" => false,
        _ => duplicate(cx, &out.variants, key, meta),
    };
    if taken {
        return skip_value(meta);
    }
    match key {
        "category" => out.category = int_value(cx, meta, key, "0x1")?,
        "id" => out.id = int_value(cx, meta, key, "1")?,
        "version" => out.version = int_value(cx, meta, key, "2")?,
        "upcast_from" => out.upcast_from = type_value(cx, meta, key)?,
        "retired" => out.retired = flag(cx, meta, key)?,
        "name" => out.name = str_value(cx, meta, key, "Cart")?,
        "cache_version" => out.cache_version = int_value(cx, meta, key, "2")?,
        "personal" => out.personal = flag(cx, meta, key)?,
        "subject" => out.subject = flag(cx, meta, key)?,
        "events" => {
            if let Some(path) = path_value(cx, meta, key)? {
                family(cx, &mut out.events, path);
            }
        }
        _ => out.variants = variant_list(cx, meta)?,
    }
    Ok(())
}

/// Consumes whatever follows a key (`= expr`, `(..)` or nothing) so parsing can
/// go on after an error.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

fn int_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    key: &str,
    example: &str,
) -> syn::Result<Option<IntValue>> {
    let expr: Expr = meta.value()?.parse()?;
    if let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = &expr
    {
        match lit.base10_parse::<u128>() {
            Ok(value) => {
                return Ok(Some(IntValue {
                    value,
                    lit: lit.clone(),
                }))
            }
            Err(error) => cx.syn_error(error),
        }
    } else {
        cx.error_spanned(
            &expr,
            format!("expected an integer literal, such as `{key} = {example}`"),
        );
    }
    Ok(None)
}

fn type_value(cx: &Ctxt, meta: &ParseNestedMeta, key: &str) -> syn::Result<Option<Type>> {
    let input = meta.value()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        cx.error_spanned(
            &lit,
            format!(
                "expected a type, not a string: write `{key} = {}`",
                lit.value()
            ),
        );
        return Ok(None);
    }
    input.parse().map(Some)
}

fn path_value(cx: &Ctxt, meta: &ParseNestedMeta, key: &str) -> syn::Result<Option<Path>> {
    let input = meta.value()?;
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        cx.error_spanned(
            &lit,
            format!(
                "expected a path to the event family, not a string: write `{key} = {}`",
                lit.value()
            ),
        );
        return Ok(None);
    }
    input.parse().map(Some)
}

/// Adds a family to a projection's list, unless it is there already.
fn family(cx: &Ctxt, families: &mut Vec<Path>, path: Path) {
    let written = path.to_token_stream().to_string();
    if families
        .iter()
        .any(|f| f.to_token_stream().to_string() == written)
    {
        cx.error_spanned(
            &path,
            format!(
                "family `{}` is listed twice, expected each family once",
                written.replace(' ', "")
            ),
        );
        return;
    }
    families.push(path);
}

fn str_value(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    key: &str,
    example: &str,
) -> syn::Result<Option<LitStr>> {
    let expr: Expr = meta.value()?.parse()?;
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = &expr
    {
        return Ok(Some(lit.clone()));
    }
    cx.error_spanned(
        &expr,
        format!("expected a string literal, such as `{key} = \"{example}\"`"),
    );
    Ok(None)
}

fn flag(cx: &Ctxt, meta: &ParseNestedMeta, key: &str) -> syn::Result<Option<Path>> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        cx.error_spanned(
            &meta.path,
            format!("`{key}` takes no value, expected `{key}` alone"),
        );
        skip_value(meta)?;
    }
    Ok(Some(meta.path.clone()))
}

fn variant_list(cx: &Ctxt, meta: &ParseNestedMeta) -> syn::Result<Option<(Path, Vec<Ident>)>> {
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned(
            &meta.path,
            "expected a list of variants, such as `variants(Joined, Moved)`",
        );
        skip_value(meta)?;
        return Ok(None);
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let written = Punctuated::<Path, Token![,]>::parse_terminated(&content)?;
    if written.is_empty() {
        cx.error_spanned(
            &meta.path,
            "expected at least one variant, such as `variants(Joined)`; remove `variants` to fold every kind",
        );
    }
    let mut list: Vec<Ident> = Vec::new();
    for path in &written {
        match path.get_ident() {
            Some(ident) if list.contains(ident) => {
                cx.error_spanned(ident, format!("variant `{ident}` is listed twice"));
            }
            Some(ident) => list.push(ident.clone()),
            None => cx.error_spanned(
                path,
                "expected the name of a variant of the family, such as `Joined`",
            ),
        }
    }
    Ok(Some((meta.path.clone(), list)))
}

/// What serde attributes say about an item, as far as a schema cares.
#[derive(Default)]
pub(crate) struct SerdeAttrs {
    pub(crate) rename: Option<String>,
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) rename_all_fields: Option<RenameRule>,
    pub(crate) transparent: bool,
    /// `with`, `serialize_with` or `deserialize_with`: the key, for spans.
    pub(crate) with: Option<Path>,
    /// `into`, `from` or `try_from`: the key, for spans.
    pub(crate) convert: Option<Path>,
}

/// Reads `#[serde(..)]` attributes, rejecting those postcard cannot honour
/// (every field is written by position, every enum externally tagged).
pub(crate) fn serde_attrs(cx: &Ctxt, attrs: &[Attribute]) -> SerdeAttrs {
    let mut out = SerdeAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // A malformed serde attribute is serde's to report, not ours.
        let _ = attr.parse_nested_meta(|meta| serde_key(cx, &mut out, &meta));
    }
    out
}

fn serde_key(cx: &Ctxt, out: &mut SerdeAttrs, meta: &ParseNestedMeta) -> syn::Result<()> {
    let Some(key) = meta.path.get_ident().map(Ident::to_string) else {
        return skip_value(meta);
    };
    let why = match key.as_str() {
        "skip" | "skip_serializing" | "skip_deserializing" | "skip_serializing_if" => Some(
            "postcard writes every field by position, so leaving one out shifts the ones after it; expected every field to be written",
        ),
        "default" => Some(
            "postcard never leaves a field out, so there is nothing to default; expected a new `version` with `upcast_from` to add a field",
        ),
        "flatten" => Some(
            "postcard cannot write flattened fields; expected the inner type as an ordinary field",
        ),
        "tag" | "content" | "untagged" => Some(
            "postcard writes every enum externally tagged by variant position; expected serde's default enum representation",
        ),
        _ => None,
    };
    if let Some(why) = why {
        cx.error_spanned(
            &meta.path,
            format!("`#[serde({key})]` cannot be used on a batpak payload: {why}"),
        );
        return skip_value(meta);
    }
    match key.as_str() {
        "rename" => out.rename = serde_name(meta)?,
        "rename_all" => out.rename_all = serde_name(meta)?.and_then(|s| RenameRule::parse(&s)),
        "rename_all_fields" => {
            out.rename_all_fields = serde_name(meta)?.and_then(|s| RenameRule::parse(&s));
        }
        "transparent" => out.transparent = true,
        "with" | "serialize_with" | "deserialize_with" => {
            out.with = Some(meta.path.clone());
            skip_value(meta)?;
        }
        "into" | "from" | "try_from" => {
            out.convert = Some(meta.path.clone());
            skip_value(meta)?;
        }
        _ => skip_value(meta)?,
    }
    Ok(())
}

/// `= "name"` or `(serialize = "name", ..)`: the name serde writes.
fn serde_name(meta: &ParseNestedMeta) -> syn::Result<Option<String>> {
    if meta.input.peek(Token![=]) {
        let lit: LitStr = meta.value()?.parse()?;
        return Ok(Some(lit.value()));
    }
    let mut name = None;
    if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| {
            if inner.path.is_ident("serialize") {
                let lit: LitStr = inner.value()?.parse()?;
                name = Some(lit.value());
                Ok(())
            } else {
                skip_value(&inner)
            }
        })?;
    }
    Ok(name)
}
