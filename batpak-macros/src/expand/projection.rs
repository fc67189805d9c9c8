//! `#[derive(Projection)]`: the `EventSourced` impl that folds a family's typed
//! events through the user's `Apply` impl. The impl carries the bound
//! `Family: EventFamily` and is spanned at the family path, so naming a type that
//! is not an event family gives one error at that type, not one per use of it.

use super::private_at;
use crate::case::screaming_snake;
use crate::valid::Projection;
use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

pub(crate) fn projection(projection: &Projection) -> TokenStream {
    let ty = projection.ident;
    let family = projection.family;
    let at = family.span();
    let p = private_at(at);
    let kinds = match projection.variants {
        None => quote_spanned!(at=> <#family as #p::EventFamily>::KIND_LIST),
        Some(variants) => {
            let constants = variants.iter().map(|v| {
                let c = Ident::new(&screaming_snake(&v.to_string()), v.span());
                quote!(#family::#c)
            });
            quote!(&[#(#constants),*])
        }
    };
    let version = Literal::u32_suffixed(projection.cache_version);
    let default = quote_spanned!(ty.span()=> <Self as #p::Default>::default());
    let apply = quote_spanned!(ty.span()=> <Self as #p::Apply<#family>>::apply);
    quote_spanned! {at=>
        const _: () = {
            #[automatically_derived]
            impl #p::EventSourced for #ty
            where
                #family: #p::EventFamily,
            {
                type Input = #p::TypedInput<#family>;

                fn from_events(events: &[#p::Event<#family>]) -> #p::Option<Self> {
                    if events.is_empty() {
                        return #p::Option::None;
                    }
                    let mut state = #default;
                    for event in events {
                        <Self as #p::EventSourced>::apply_event(&mut state, event);
                    }
                    #p::Option::Some(state)
                }

                fn apply_event(&mut self, event: &#p::Event<#family>) {
                    let meta = #p::EventMeta::of(event);
                    #apply(self, &event.payload, &meta);
                }

                fn relevant_event_kinds() -> &'static [#p::EventKind] {
                    #kinds
                }

                fn supports_incremental_apply() -> bool {
                    true
                }

                fn schema_version() -> u32 {
                    #version
                }
            }
        };
    }
}
