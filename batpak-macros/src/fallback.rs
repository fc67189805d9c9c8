//! What a derive emits beside its errors: a minimal stub of the impls it would
//! have generated (and, for `Event`, the kind constants), so that code using the
//! type type-checks and the user sees the derive's errors, not a cascade of
//! "trait not implemented" and "no associated item" errors after them.

use crate::case::screaming_snake;
use crate::ctxt::Ctxt;
use crate::expand::private;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::collections::HashSet;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput};

/// Stubs only make sense for a concrete type; a generic one already has its error.
fn concrete(input: &DeriveInput) -> bool {
    input.generics.params.is_empty() && input.generics.where_clause.is_none()
}

pub(crate) fn event(input: &DeriveInput) -> TokenStream {
    let p = private();
    let ty = &input.ident;
    let names: Vec<String> = match &input.data {
        Data::Enum(data) => data
            .variants
            .iter()
            .map(|v| screaming_snake(&v.ident.unraw().to_string()))
            .collect(),
        _ => vec!["KIND".to_owned()],
    };
    let variants: HashSet<String> = match &input.data {
        Data::Enum(data) => data.variants.iter().map(|v| v.ident.to_string()).collect(),
        _ => HashSet::new(),
    };
    let mut seen = HashSet::new();
    let constants = names
        .into_iter()
        .filter(|n| !variants.contains(n) && seen.insert(n.clone()))
        .map(|n| {
            let c = format_ident!("{}", n);
            quote!(pub const #c: #p::EventKind = #p::EventKind::custom(0x1, 0);)
        });
    if !concrete(input) {
        return TokenStream::new();
    }
    // The bodies never run: the build fails on the derive's errors.
    quote! {
        const _: () = {
            #[allow(dead_code, missing_docs)]
            impl #ty {
                #(#constants)*
            }
            impl #p::EventFamily for #ty {
                const NAME: &'static str = "";
                const KINDS: &'static [#p::KindInfo] = &[];
                const KIND_LIST: &'static [#p::EventKind] = &[];
                fn kind(&self) -> #p::EventKind {
                    loop {}
                }
                fn encode_fields(&self) -> #p::Result<#p::Vec<u8>, #p::SchemaError> {
                    loop {}
                }
                fn decode_fields(
                    _: #p::EventKind,
                    _: u16,
                    _: &[u8],
                ) -> #p::Result<Self, #p::SchemaError> {
                    loop {}
                }
                fn event_shapes() -> #p::Vec<(#p::EventKind, u16, #p::EventShape)> {
                    loop {}
                }
            }
        };
    }
}

pub(crate) fn schema(input: &DeriveInput) -> TokenStream {
    let p = private();
    let ty = &input.ident;
    if !concrete(input) {
        return TokenStream::new();
    }
    quote! {
        const _: () = {
            impl #p::Schema for #ty {
                fn shape() -> #p::Shape {
                    loop {}
                }
            }
            impl #p::Upcast for #ty {
                const DEPTH: u16 = 0;
                fn decode_back(_: u16, _: &[u8]) -> #p::Result<Self, #p::SchemaError> {
                    loop {}
                }
                fn shape_back(_: u16) -> #p::Option<#p::Shape> {
                    loop {}
                }
            }
        };
    }
}

pub(crate) fn projection(input: &DeriveInput) -> TokenStream {
    let p = private();
    let ty = &input.ident;
    if !concrete(input) {
        return TokenStream::new();
    }
    quote! {
        const _: () = {
            impl #p::EventSourced for #ty {
                type Input = #p::RawBytesInput;
                fn from_events(_: &[#p::Event<#p::Vec<u8>>]) -> #p::Option<Self> {
                    loop {}
                }
                fn apply_event(&mut self, _: &#p::Event<#p::Vec<u8>>) {
                    loop {}
                }
                fn relevant_event_kinds() -> &'static [#p::EventKind] {
                    &[]
                }
            }
        };
    }
}

/// The expansion when there were no errors, else the errors and the fallback.
pub(crate) fn finish(
    cx: Ctxt,
    expanded: Option<proc_macro2::TokenStream>,
    fallback: impl FnOnce() -> proc_macro2::TokenStream,
) -> proc_macro::TokenStream {
    let error = match (cx.check(), expanded) {
        (Ok(()), Some(tokens)) => return tokens.into(),
        (Err(error), _) => error,
        // The checks report an error whenever they give up; this is a bug.
        (Ok(()), None) => syn::Error::new(
            proc_macro2::Span::call_site(),
            "batpak derive gave up without a diagnostic, expected one",
        ),
    };
    let mut tokens = error.to_compile_error();
    tokens.extend(fallback());
    tokens.into()
}
