//! `#[derive(Event)]`: kind constants and the `EventFamily` impl, as the
//! hand-expanded family in the runtime's schema tests shows.

use super::{bind, binding, fields_value, private, tuple};
use crate::valid::{Family, Kind};
use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn event(family: &Family) -> TokenStream {
    let p = private();
    let ty = family.ident;
    let name = &family.name;
    let constants = constants(family);
    let table = family.kinds.iter().map(|k| {
        let c = &k.constant;
        let variant = &k.name;
        let version = Literal::u16_suffixed(k.version);
        let retired = k.retired;
        quote!(#p::KindInfo { kind: #ty::#c, variant: #variant, version: #version, retired: #retired })
    });
    let list = family.kinds.iter().map(|k| {
        let c = &k.constant;
        quote!(#ty::#c)
    });
    let kind_fn = kind_fn(family);
    let encode_fn = encode_fn(family);
    let decode_fn = decode_fn(family);
    let shapes_fn = shapes_fn(family);
    let subject_fn = subject_fn(family);
    quote! {
        const _: () = {
            #constants

            #[automatically_derived]
            #[allow(deprecated)]
            impl #p::EventFamily for #ty {
                const NAME: &'static str = #name;
                const KINDS: &'static [#p::KindInfo] = &[#(#table),*];
                const KIND_LIST: &'static [#p::EventKind] = &[#(#list),*];
                #kind_fn
                #encode_fn
                #decode_fn
                #shapes_fn
                #subject_fn
            }
        };
    }
}

fn constants(family: &Family) -> TokenStream {
    let p = private();
    let ty = family.ident;
    let category = Literal::u8_suffixed(family.category);
    let items = family.kinds.iter().map(|k| {
        let c = &k.constant;
        let id = Literal::u16_suffixed(k.id);
        let doc = match k.variant {
            Some(v) => format!("The event kind of `{ty}::{v}`."),
            None => format!("The event kind of `{ty}`."),
        };
        quote! {
            #[doc = #doc]
            pub const #c: #p::EventKind = #p::EventKind::custom(#category, #id);
        }
    });
    quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #ty {
            #(#items)*
        }
    }
}

/// The path of a kind's variant (`Player::Joined`), or the struct itself.
fn path(family: &Family, kind: &Kind) -> TokenStream {
    let ty = family.ident;
    match kind.variant {
        Some(v) => quote!(#ty::#v),
        None => quote!(#ty),
    }
}

fn kind_fn(family: &Family) -> TokenStream {
    let p = private();
    let ty = family.ident;
    let body = if family.is_struct {
        quote!(#ty::KIND)
    } else {
        let arms = family.kinds.iter().map(|k| {
            let path = path(family, k);
            let c = &k.constant;
            quote!(#path { .. } => #ty::#c,)
        });
        quote!(match self { #(#arms)* })
    };
    quote! {
        fn kind(&self) -> #p::EventKind {
            #body
        }
    }
}

fn encode_fn(family: &Family) -> TokenStream {
    let p = private();
    let arms = family.kinds.iter().map(|k| {
        let pattern = bind(path(family, k), k.style, k.fields);
        let values = tuple(bindings(k.fields.len()));
        quote!(#pattern => #p::encode(&#values),)
    });
    quote! {
        fn encode_fields(&self) -> #p::Result<#p::Vec<u8>, #p::SchemaError> {
            match self { #(#arms)* }
        }
    }
}

fn bindings(n: usize) -> Vec<TokenStream> {
    (0..n)
        .map(|i| {
            let b = binding(i);
            quote!(#b)
        })
        .collect()
}

fn decode_fn(family: &Family) -> TokenStream {
    let p = private();
    let ty = family.ident;
    let current = family.kinds.iter().map(|k| {
        let c = &k.constant;
        let version = Literal::u16_suffixed(k.version);
        let ctor = bind(path(family, k), k.style, k.fields);
        let body = if k.fields.is_empty() {
            quote! {
                #p::decode::<()>(bytes)?;
                #p::Result::Ok(#ctor)
            }
        } else {
            let pattern = tuple(bindings(k.fields.len()));
            let types = tuple(
                k.fields
                    .iter()
                    .map(|f| {
                        let ty = f.ty;
                        quote!(#ty)
                    })
                    .collect(),
            );
            quote! {
                let #pattern = #p::decode::<#types>(bytes)?;
                #p::Result::Ok(#ctor)
            }
        };
        quote!(#ty::#c if version == #version => { #body })
    });
    let older = family.kinds.iter().filter_map(|k| {
        let older = k.upcast_from?;
        let c = &k.constant;
        let version = Literal::u16_suffixed(k.version);
        let call = quote_spanned!(older.span()=> #p::decode_older::<#older, Self>);
        Some(quote! {
            #ty::#c => #call(<Self as #p::EventFamily>::NAME, kind, #version, version, bytes),
        })
    });
    let no_chain: Vec<TokenStream> = family
        .kinds
        .iter()
        .filter(|k| k.upcast_from.is_none())
        .map(|k| {
            let c = &k.constant;
            quote!(#ty::#c)
        })
        .collect();
    let unknown_version = (!no_chain.is_empty()).then(|| {
        quote! {
            #(#no_chain)|* => #p::Result::Err(#p::SchemaError::UnknownVersion {
                family: <Self as #p::EventFamily>::NAME,
                kind,
                version,
            }),
        }
    });
    quote! {
        fn decode_fields(
            kind: #p::EventKind,
            version: u16,
            bytes: &[u8],
        ) -> #p::Result<Self, #p::SchemaError> {
            match kind {
                #(#current)*
                #(#older)*
                #unknown_version
                _ => #p::Result::Err(#p::SchemaError::UnknownKind {
                    family: <Self as #p::EventFamily>::NAME,
                    kind,
                }),
            }
        }
    }
}

/// `subject()` when some kind declares a `#[batpak(subject)]` field; the
/// trait's default (the entity) otherwise.
fn subject_fn(family: &Family) -> Option<TokenStream> {
    let p = private();
    let arms: Vec<TokenStream> = family
        .kinds
        .iter()
        .filter_map(|k| {
            let member = &k.fields[k.subject?].member;
            let path = path(family, k);
            Some(quote! {
                #path { #member: subject, .. } => #p::Option::Some(#p::ToString::to_string(subject)),
            })
        })
        .collect();
    if arms.is_empty() {
        return None;
    }
    let rest = (arms.len() < family.kinds.len()).then(|| quote!(_ => #p::Option::None,));
    Some(quote! {
        fn subject(&self) -> #p::Option<#p::String> {
            match self {
                #(#arms)*
                #rest
            }
        }
    })
}

fn shapes_fn(family: &Family) -> TokenStream {
    let p = private();
    let ty = family.ident;
    let calls = family.kinds.iter().map(|k| {
        let c = &k.constant;
        let version = Literal::u16_suffixed(k.version);
        let older = match k.upcast_from {
            Some(older) => quote_spanned!(older.span()=> #older),
            None => quote!(#p::NoUpcast),
        };
        let variant = match &k.shape_name {
            Some(name) => quote!(#p::Option::Some(#name)),
            None => quote!(#p::Option::None),
        };
        let fields = fields_value(k.style, k.fields);
        quote! {
            #p::variant_history::<#older>(
                <Self as #p::EventFamily>::NAME,
                #variant,
                #ty::#c,
                #version,
                #fields,
                &mut out,
            );
        }
    });
    quote! {
        fn event_shapes() -> #p::Vec<(#p::EventKind, u16, #p::EventShape)> {
            let mut out = #p::Vec::new();
            #(#calls)*
            out
        }
    }
}
