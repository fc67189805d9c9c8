//! `#[derive(Schema)]`: the `Schema` impl (the type's shape) and the `Upcast`
//! impl (its version chain, ending at `NoUpcast` or continuing into
//! `#[batpak(upcast_from = Older)]`).

use super::{field_shape, fields_value, private, string};
use crate::model::Body;
use crate::valid::SchemaType;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn schema(schema: &SchemaType) -> TokenStream {
    let p = private();
    let ty = schema.ident;
    let shape = shape(schema);
    let upcast = upcast(schema);
    quote! {
        const _: () = {
            #[automatically_derived]
            #[allow(deprecated)]
            impl #p::Schema for #ty {
                fn shape() -> #p::Shape {
                    #shape
                }
            }

            #upcast
        };
    }
}

fn shape(schema: &SchemaType) -> TokenStream {
    let p = private();
    if let Some(field) = schema.transparent {
        return field_shape(field);
    }
    let name = string(&schema.name);
    match schema.body {
        Body::Struct(style, fields) => {
            let fields = fields_value(*style, fields);
            quote!(#p::Shape::Struct { name: #name, fields: #fields })
        }
        Body::Enum(variants) => {
            let variants = variants.iter().map(|v| {
                let vname = string(&v.serde_name);
                let fields = fields_value(v.style, &v.fields);
                quote!(#p::VariantShape { name: #vname, fields: #fields })
            });
            quote!(#p::Shape::Enum { name: #name, variants: #p::vec![#(#variants),*] })
        }
        Body::Union => quote!(#p::Shape::Unit),
    }
}

fn upcast(schema: &SchemaType) -> TokenStream {
    let p = private();
    let ty = schema.ident;
    let (depth, older_decode, older_shape) = match schema.upcast_from {
        Some(older) => {
            let older = quote_spanned!(older.span()=> #older);
            (
                quote!(<#older as #p::Upcast>::DEPTH + 1),
                quote! {
                    <#older as #p::Upcast>::decode_back(back - 1, bytes)
                        .map(<Self as #p::From<#older>>::from)
                },
                quote!(<#older as #p::Upcast>::shape_back(back - 1)),
            )
        }
        None => (
            quote!(0),
            quote! {
                <#p::NoUpcast as #p::Upcast>::decode_back(back - 1, bytes).map(|never| match never {})
            },
            quote!(#p::Option::None),
        ),
    };
    quote! {
        #[automatically_derived]
        impl #p::Upcast for #ty {
            const DEPTH: u16 = #depth;

            fn decode_back(back: u16, bytes: &[u8]) -> #p::Result<Self, #p::SchemaError> {
                match back {
                    0 => #p::decode::<Self>(bytes),
                    _ => #older_decode,
                }
            }

            fn shape_back(back: u16) -> #p::Option<#p::Shape> {
                match back {
                    0 => #p::Option::Some(<Self as #p::Schema>::shape()),
                    _ => #older_shape,
                }
            }
        }
    }
}
