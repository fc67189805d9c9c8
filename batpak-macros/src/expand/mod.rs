//! Code generation. Everything here works on checked models and reports no
//! errors; generated code names only `::batpak::__private` paths so it compiles
//! whatever the user has in scope (even under `#![no_implicit_prelude]`).

mod event;
mod projection;
mod schema;

pub(crate) use event::event;
pub(crate) use projection::projection;
pub(crate) use schema::schema;

use crate::model::{Field, Style};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Ident;

/// Tuples up to this many items implement serde's traits.
const TUPLE_ITEMS_MAX: usize = 16;

/// The path every generated item goes through.
pub(crate) fn private() -> TokenStream {
    quote!(::batpak::__private)
}

/// [`private`] with the span of a user token, so errors in the code that uses
/// it point at that token.
pub(crate) fn private_at(span: Span) -> TokenStream {
    quote_spanned!(span=> ::batpak::__private)
}

/// An owned `String` from a literal, without relying on the prelude.
pub(crate) fn string(text: &str) -> TokenStream {
    let p = private();
    quote!(<#p::String as #p::From<&str>>::from(#text))
}

/// `(a, b, ..)` as a tuple; more than 16 items nest as tuples of tuples, which
/// postcard writes exactly like one flat tuple.
pub(crate) fn tuple(items: Vec<TokenStream>) -> TokenStream {
    if items.len() <= TUPLE_ITEMS_MAX {
        return quote!((#(#items,)*));
    }
    let chunks = items
        .chunks(TUPLE_ITEMS_MAX)
        .map(|chunk| quote!((#(#chunk,)*)))
        .collect();
    tuple(chunks)
}

/// The binding of the `i`th field in generated patterns.
pub(crate) fn binding(i: usize) -> Ident {
    format_ident!("__field{}", i)
}

/// The shape of one field: its `Schema`, or opaque when serde encodes it `with`
/// a function the derive cannot see.
pub(crate) fn field_shape(field: &Field) -> TokenStream {
    let p = private();
    let ty = field.ty;
    if field.serde.with.is_some() {
        let name = ty.to_token_stream().to_string();
        return quote!(#p::Shape::Opaque(<#p::String as #p::From<&str>>::from(#name)));
    }
    quote_spanned!(ty.span()=> <#ty as #p::Schema>::shape())
}

/// A `Fields` value for a struct or variant of `style`.
pub(crate) fn fields_value(style: Style, fields: &[Field]) -> TokenStream {
    let p = private();
    match style {
        Style::Unit => quote!(#p::Fields::Unit),
        Style::Tuple => {
            let shapes = fields.iter().map(field_shape);
            quote!(#p::Fields::Tuple(#p::vec![#(#shapes),*]))
        }
        Style::Named => {
            let items = fields.iter().map(|f| {
                let name = string(f.serde_name.as_deref().unwrap_or_default());
                let shape = field_shape(f);
                quote!(#p::Field { name: #name, shape: #shape })
            });
            quote!(#p::Fields::Named(#p::vec![#(#items),*]))
        }
    }
}

/// A pattern (or constructor) of `path` binding each field to [`binding`].
pub(crate) fn bind(path: TokenStream, style: Style, fields: &[Field]) -> TokenStream {
    let bindings = (0..fields.len()).map(binding);
    match style {
        Style::Unit => path,
        Style::Tuple => quote!(#path(#(#bindings),*)),
        Style::Named => {
            let members = fields.iter().map(|f| &f.member);
            quote!(#path { #(#members: #bindings),* })
        }
    }
}
