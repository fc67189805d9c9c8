//! `#[derive(Projection)]`: the `EventSourced` impl that folds a family's typed
//! events through the user's `Apply` impl. The impl carries the bound
//! `Family: EventFamily` and is spanned at the family path, so naming a type that
//! is not an event family gives one error at that type, not one per use of it.
//!
//! A projection over several families gets, inside its `const _` block, a payload
//! enum with one variant per family and a replay input that decodes each stored
//! payload with the family that declares its kind (through that family's
//! `TypedInput`, so codec and schema errors are the single-family ones);
//! `apply_event` hands each variant to the matching `Apply<Family>` impl.

use super::{private, private_at};
use crate::case::screaming_snake;
use crate::valid::Projection;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Path};

pub(crate) fn projection(projection: &Projection) -> TokenStream {
    match projection.families {
        [family] => one_family(projection, family),
        _ => several_families(projection),
    }
}

fn one_family(projection: &Projection, family: &Path) -> TokenStream {
    let ty = projection.ident;
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

/// One payload variant per family, named after the family's last path segment
/// (with its position when two families end in the same name).
fn variant_names(families: &[Path]) -> Vec<Ident> {
    let last = |f: &Path| match f.segments.last() {
        Some(segment) => segment.ident.clone(),
        None => format_ident!("Family"),
    };
    families
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let name = last(f);
            let shared = families
                .iter()
                .filter(|g| last(g).unraw() == name.unraw())
                .count();
            if shared > 1 {
                // A digit at the end: never a keyword, so never needs `r#`.
                format_ident!("{}{}", name.unraw(), i)
            } else {
                name
            }
        })
        .collect()
}

/// The names the expansion over several families shares between its parts.
struct Names<'a> {
    families: &'a [Path],
    /// The payload enum's variant per family.
    variants: Vec<Ident>,
    payload: Ident,
    input: Ident,
}

impl Names<'_> {
    /// `<Family as EventFamily>`, spanned at the family path.
    fn family_as(f: &Path) -> TokenStream {
        let p = private_at(f.span());
        quote_spanned!(f.span()=> <#f as #p::EventFamily>)
    }

    /// `Family: EventFamily` per family, spanned at each path: an impl with these
    /// bounds reports a type that is not a family once, at the bound.
    fn bounds(&self) -> Vec<TokenStream> {
        self.families
            .iter()
            .map(|f| {
                let p = private_at(f.span());
                quote_spanned!(f.span()=> #f: #p::EventFamily)
            })
            .collect()
    }

    /// `(family, variant)` pairs.
    fn each(&self) -> impl Iterator<Item = (&Path, &Ident)> {
        self.families.iter().zip(&self.variants)
    }
}

fn several_families(projection: &Projection) -> TokenStream {
    let names = Names {
        families: projection.families,
        variants: variant_names(projection.families),
        payload: format_ident!("__BatpakPayload"),
        input: format_ident!("__BatpakInput"),
    };
    let payload = payload_enum(&names);
    let input = replay_input(projection, &names);
    let event_sourced = event_sourced(projection, &names);
    quote! {
        const _: () = {
            #payload
            #input
            #event_sourced
        };
    }
}

/// The payload enum, with a `Debug` that shows the family and kind only (the
/// families need not implement `Debug`).
fn payload_enum(names: &Names) -> TokenStream {
    let p = private();
    let payload = &names.payload;
    let bounds = names.bounds();
    let variants = names.each().map(|(f, v)| quote!(#v(#f)));
    let debug_arms = names.each().map(|(f, v)| {
        let family = Names::family_as(f);
        quote! {
            #payload::#v(family_event) => f
                .debug_tuple(#family::NAME)
                .field(&#family::kind(family_event))
                .finish(),
        }
    });
    quote! {
        /// One decoded event of any of the projection's families. Public
        /// only as the payload of a public replay input, and unnameable
        /// here, so families more private than the projection are fine.
        #[doc(hidden)]
        #[allow(non_camel_case_types, private_interfaces)]
        pub enum #payload {
            #(#variants,)*
        }

        #[automatically_derived]
        impl #p::fmt::Debug for #payload
        where
            #(#bounds,)*
        {
            fn fmt(&self, f: &mut #p::fmt::Formatter<'_>) -> #p::fmt::Result {
                match self {
                    #(#debug_arms)*
                }
            }
        }
    }
}

/// The replay input: the families' kinds (checked disjoint at compile time),
/// and a decoder that hands each payload to the family declaring its kind.
fn replay_input(projection: &Projection, names: &Names) -> TokenStream {
    let p = private();
    let Names { payload, input, .. } = names;
    let bounds = names.bounds();
    let reader = projection.ident.unraw().to_string();
    let decode_arms = names.each().map(|(f, v)| {
        let family = Names::family_as(f);
        let p = private_at(f.span());
        let decode = quote_spanned!(f.span()=> <#p::TypedInput<#f> as #p::ReplayInput>::decode);
        quote! {
            if #family::kind_info(payload.kind).is_some() {
                return #decode(payload).map(#payload::#v);
            }
        }
    });
    let checks = names.families.iter().map(|f| {
        let p = private_at(f.span());
        quote_spanned!(f.span()=> #p::FamilyCheck::of::<#f>())
    });
    let lists: Vec<TokenStream> = names
        .families
        .iter()
        .map(|f| {
            let family = Names::family_as(f);
            quote!(#family::KIND_LIST)
        })
        .collect();
    let overlaps = distinct_kinds(names.families);
    quote! {
        /// Decodes each payload with the family that declares its kind.
        #[doc(hidden)]
        pub enum #input {}

        #overlaps

        const __BATPAK_KIND_COUNT: usize = 0 #(+ #lists.len())*;

        /// Every kind of every family: what replay reads for the projection.
        static __BATPAK_KINDS: [#p::EventKind; __BATPAK_KIND_COUNT] =
            #p::kind_union(&[#(#lists),*]);

        #[automatically_derived]
        impl #p::ReplayInput for #input
        where
            #(#bounds,)*
        {
            type Payload = #payload;

            fn decode(
                payload: #p::StoredPayload<'_>,
            ) -> #p::Result<#payload, #p::DecodeError> {
                #(#decode_arms)*
                // Replay reads only the families' kinds; another read path may not.
                #p::Result::Err(#p::DecodeError::Schema(#p::SchemaError::UnknownKind {
                    family: #reader,
                    kind: payload.kind,
                }))
            }

            fn family_checks() -> &'static [#p::FamilyCheck] {
                const { &[#(#checks),*] }
            }
        }
    }
}

/// `EventSourced` over the payload enum: each variant goes to its family's
/// `Apply` impl, spanned at the family path so a missing impl is named there.
fn event_sourced(projection: &Projection, names: &Names) -> TokenStream {
    let p = private();
    let ty = projection.ident;
    let Names { payload, input, .. } = names;
    let bounds = names.bounds();
    let version = Literal::u32_suffixed(projection.cache_version);
    let apply_arms = names.each().map(|(f, v)| {
        let p = private_at(f.span());
        let apply = quote_spanned!(f.span()=> <Self as #p::Apply<#f>>::apply);
        quote!(#payload::#v(family_event) => #apply(self, family_event, &meta),)
    });
    let default = quote_spanned!(ty.span()=> <Self as #p::Default>::default());
    quote! {
        #[automatically_derived]
        impl #p::EventSourced for #ty
        where
            #(#bounds,)*
        {
            type Input = #input;

            fn from_events(events: &[#p::Event<#payload>]) -> #p::Option<Self> {
                if events.is_empty() {
                    return #p::Option::None;
                }
                let mut state = #default;
                for event in events {
                    <Self as #p::EventSourced>::apply_event(&mut state, event);
                }
                #p::Option::Some(state)
            }

            fn apply_event(&mut self, event: &#p::Event<#payload>) {
                let meta = #p::EventMeta::of(event);
                match &event.payload {
                    #(#apply_arms)*
                }
            }

            fn relevant_event_kinds() -> &'static [#p::EventKind] {
                &__BATPAK_KINDS
            }

            fn supports_incremental_apply() -> bool {
                true
            }

            fn schema_version() -> u32 {
                #version
            }
        }
    }
}

/// A compile-time check per pair of families that they declare no kind in
/// common, failing at the later family's path: the decoder could not tell
/// which family a payload of that kind belongs to.
fn distinct_kinds(families: &[Path]) -> TokenStream {
    let written = |f: &Path| f.to_token_stream().to_string().replace(' ', "");
    let mut checks = TokenStream::new();
    for (i, later) in families.iter().enumerate() {
        for earlier in &families[..i] {
            let p = private_at(later.span());
            let message = format!(
                "families `{}` and `{}` declare the same event kind, expected families with distinct kinds",
                written(earlier),
                written(later)
            );
            checks.extend(quote_spanned! {later.span()=>
                const _: () = #p::assert!(
                    !#p::shares_kind(
                        <#earlier as #p::EventFamily>::KIND_LIST,
                        <#later as #p::EventFamily>::KIND_LIST,
                    ),
                    #message
                );
            });
        }
    }
    checks
}
