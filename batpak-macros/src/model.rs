//! The typed model of a derive input: the item, its variants and fields with
//! their parsed `#[batpak]` and serde attributes, keeping the syn nodes so every
//! later error can point at the token that caused it.

use crate::attr::{batpak_attrs, serde_attrs, BatpakAttrs, Place, SerdeAttrs};
use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Generics, Ident, Member, Type};

/// Which derive reads the input (it decides which keys each place accepts).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    Event,
    Schema,
    Projection,
}

/// How a struct or variant lists its fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Named,
    Tuple,
    Unit,
}

/// A derive input.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) attrs: BatpakAttrs,
    pub(crate) serde: SerdeAttrs,
    pub(crate) body: Body<'a>,
    /// The `struct`, `enum` or `union` keyword.
    pub(crate) keyword: Span,
}

/// What kind of item the input is.
pub(crate) enum Body<'a> {
    Enum(Vec<Variant<'a>>),
    Struct(Style, Vec<Field<'a>>),
    Union,
}

/// An enum variant.
pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) attrs: BatpakAttrs,
    /// The name serde writes for the variant.
    pub(crate) serde_name: String,
}

/// A field of a struct or variant.
pub(crate) struct Field<'a> {
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
    pub(crate) serde: SerdeAttrs,
    /// The name serde writes for a named field.
    pub(crate) serde_name: Option<String>,
    /// `personal` and `subject`.
    pub(crate) attrs: BatpakAttrs,
}

impl<'a> Input<'a> {
    /// Reads `input`, reporting malformed attributes to `cx`.
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput, derive: Derive) -> Self {
        let place = match (derive, &input.data) {
            (Derive::Event, Data::Struct(_)) => Place::EventStruct,
            (Derive::Event, _) => Place::EventEnum,
            (Derive::Schema, _) => Place::Schema,
            (Derive::Projection, _) => Place::Projection,
        };
        let attrs = batpak_attrs(cx, &input.attrs, place);
        let serde = serde_attrs(cx, &input.attrs);
        let (body, keyword) = match &input.data {
            Data::Enum(data) => {
                let variants = data
                    .variants
                    .iter()
                    .map(|v| variant(cx, v, derive, &serde))
                    .collect();
                (Body::Enum(variants), data.enum_token.span)
            }
            Data::Struct(data) => {
                let (style, fields) =
                    fields(cx, &data.fields, serde.rename_all, field_place(derive));
                (Body::Struct(style, fields), data.struct_token.span)
            }
            Data::Union(data) => (Body::Union, data.union_token.span),
        };
        Input {
            ident: &input.ident,
            generics: &input.generics,
            attrs,
            serde,
            body,
            keyword,
        }
    }

    /// The type's name as written, without `r#`.
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }

    /// Whether the item declares generics (type, lifetime or const) or a where clause.
    pub(crate) fn is_generic(&self) -> bool {
        !self.generics.params.is_empty() || self.generics.where_clause.is_some()
    }
}

fn variant<'a>(
    cx: &Ctxt,
    v: &'a syn::Variant,
    derive: Derive,
    container: &SerdeAttrs,
) -> Variant<'a> {
    let place = match derive {
        Derive::Event => Place::EventVariant,
        _ => Place::Nowhere("the variants of a `Schema` type"),
    };
    // A projection on an enum already has its error; its variants' keys are moot.
    let attrs = match derive {
        Derive::Projection => BatpakAttrs::default(),
        _ => batpak_attrs(cx, &v.attrs, place),
    };
    let serde = serde_attrs(cx, &v.attrs);
    if let Some(with) = &serde.with {
        let key = with.to_token_stream();
        let message = match derive {
            Derive::Event => format!("`#[serde({key})]` is not applied to event variants: batpak encodes each field with its own `Serialize`, expected field types that serialize themselves"),
            _ => format!("`#[serde({key})]` on a variant writes it with functions the schema cannot see, expected it on the variant's fields"),
        };
        cx.error_spanned(with, message);
    }
    let rule = serde.rename_all.or(container.rename_all_fields);
    let (style, fields) = fields(cx, &v.fields, rule, field_place(derive));
    let written = v.ident.unraw().to_string();
    let serde_name = serde
        .rename
        .clone()
        .unwrap_or_else(|| match container.rename_all {
            Some(rule) => rule.variant(&written),
            None => written,
        });
    Variant {
        ident: &v.ident,
        style,
        fields,
        attrs,
        serde_name,
    }
}

/// Where the fields of a derive's input sit.
fn field_place(derive: Derive) -> Place {
    match derive {
        Derive::Event => Place::EventField,
        Derive::Schema => Place::SchemaField,
        Derive::Projection => Place::Nowhere("fields"),
    }
}

fn fields<'a>(
    cx: &Ctxt,
    fields: &'a syn::Fields,
    rule: Option<RenameRule>,
    place: Place,
) -> (Style, Vec<Field<'a>>) {
    let style = match fields {
        syn::Fields::Named(_) => Style::Named,
        syn::Fields::Unnamed(_) => Style::Tuple,
        syn::Fields::Unit => Style::Unit,
    };
    let list = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let attrs = batpak_attrs(cx, &f.attrs, place);
            let serde = serde_attrs(cx, &f.attrs);
            let serde_name = f.ident.as_ref().map(|ident| {
                let written = ident.unraw().to_string();
                serde.rename.clone().unwrap_or_else(|| match rule {
                    Some(rule) => rule.field(&written),
                    None => written,
                })
            });
            let member = match &f.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(syn::Index {
                    index: i as u32,
                    span: f.ty.span(),
                }),
            };
            Field {
                member,
                ty: &f.ty,
                serde,
                serde_name,
                attrs,
            }
        })
        .collect();
    (style, list)
}
