//! Derive macros for batpak: `Event`, `Schema` and `Projection`.

#![warn(missing_docs)]

use proc_macro::TokenStream;

/// Derives `batpak::EventFamily` for an event enum or struct.
#[proc_macro_derive(Event, attributes(batpak))]
pub fn derive_event(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// Derives `batpak::Schema` for a payload type.
#[proc_macro_derive(Schema, attributes(batpak))]
pub fn derive_schema(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// Derives `EventSourced` for a projection state.
#[proc_macro_derive(Projection, attributes(batpak))]
pub fn derive_projection(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
