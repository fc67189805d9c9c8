//! Derive macros for batpak: `Event`, `Schema` and `Projection`, and the
//! `aggregate` attribute.
//!
//! Each derive runs the same pipeline: `attr` parses `#[batpak(..)]` and the
//! serde attributes that matter, `model` keeps the input with its spans, `valid`
//! checks it and collects every error, `expand` writes the code (and reports
//! nothing), and on errors `fallback` adds stubs so only the real errors show.

#![warn(missing_docs)]

mod aggregate;
mod attr;
mod case;
mod ctxt;
mod expand;
mod fallback;
mod model;
mod valid;

use ctxt::Ctxt;
use model::{Derive, Input};
use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `batpak::EventFamily` for an event enum (one kind per variant) or a
/// struct with named fields (one kind), plus a kind constant per kind.
///
/// ```text
/// #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
/// #[batpak(category = 0x2, name = "Player")]
/// pub enum Player {
///     #[batpak(id = 1)] Joined { name: String },
///     #[batpak(id = 2, version = 2, upcast_from = MovedV1)] Moved { x: i32, y: i32, z: i32 },
///     #[batpak(id = 3, retired)] Left,
/// }
/// ```
///
/// | attribute | where | meaning |
/// |---|---|---|
/// | `category = 0x1` | enum or struct | the family's 4-bit category (0x0 and 0xD are the library's) |
/// | `name = "Cart"` | enum or struct | the family's stable name (below) |
/// | `id = 1` | variant, or struct | the kind's 12-bit type id, unique in the family; declaration order never matters |
/// | `version = 2` | variant, or struct | the version written today (default 1); above 1 it needs `upcast_from` |
/// | `upcast_from = OldType` | variant, or struct | the previous version's shape, a `Schema` type; today's type implements `From<OldType>` |
/// | `retired` | variant, or struct | still read, no longer written; its id stays reserved |
///
/// Which changes to a family are safe, and how to version the others, is in
/// `docs/schema-evolution.md`.
///
/// `#[batpak(name = "Cart")]` beside `category` sets the family's stable name
/// (`EventFamily::NAME`), which the log's schema ledger and the schema
/// snapshots identify the family by; without it the name is the Rust type's.
/// Set it before renaming the type, so events written under the old name stay
/// readable. A name is an ASCII letter followed by ASCII letters, digits, `_`,
/// `-` or `.` (it is also a snapshot's file name), and `batpak.` starts only the
/// library's own families. On an event struct it names the struct's one kind
/// too.
#[proc_macro_derive(Event, attributes(batpak))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let cx = Ctxt::new();
    let model = Input::from_ast(&cx, &input, Derive::Event);
    let family = valid::event_family(&cx, &model);
    fallback::finish(cx, family.map(|f| expand::event(&f)), || {
        fallback::event(&input)
    })
}

/// Derives `batpak::Schema` and `batpak::schema::Upcast` for a payload type
/// (a struct or enum used inside events, or an older shape of one).
///
/// `#[batpak(upcast_from = Older)]` continues a version chain through `Older`,
/// another `Schema` type, with `From<Older>` for this one: an event variant at
/// version 3 can read version 1 bytes through `MovedV2`'s
/// `upcast_from = MovedV1`.
#[proc_macro_derive(Schema, attributes(batpak))]
pub fn derive_schema(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let cx = Ctxt::new();
    let model = Input::from_ast(&cx, &input, Derive::Schema);
    let schema = valid::schema_type(&cx, &model);
    fallback::finish(cx, schema.map(|s| expand::schema(&s)), || {
        fallback::schema(&input)
    })
}

/// Derives `EventSourced` for a projection state folded by its `batpak::Apply` impl.
///
/// | attribute | meaning |
/// |---|---|
/// | `events = Account` | a family the state folds; repeat it for several |
/// | `variants(Deposited, Withdrawn)` | narrow a single family's replay to these kinds |
/// | `cache_version = 2` | bump when the fold logic changes (below) |
///
/// `#[batpak(events = Player)] names the family folded, and
/// `variants(Joined, Moved)` beside it narrows replay to those kinds. A state
/// may fold several families, `#[batpak(events = Cart, events = Stock)]`, with
/// one `Apply` impl per family: replay reads every kind of each, decodes each
/// payload with the family that declares its kind, and applies the events in
/// commit order. Two of the families may not share a kind, and `variants`
/// narrows a single family only.
///
/// Cached states are keyed by `EventSourced::schema_version`, which the derive
/// computes from the state's shape (its name, fields and what it folds), so a
/// changed field invalidates them. A changed fold over the same fields does
/// not: bump `#[batpak(cache_version = 2)]` (1 or more; leaving it out counts as
/// 0) and states cached under any other version are never served again. The
/// version is combined as `shape_hash + cache_version * 0x9E37_79B9` (wrapping),
/// which gives each version of one shape its own value.
#[proc_macro_derive(Projection, attributes(batpak))]
pub fn derive_projection(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let cx = Ctxt::new();
    let model = Input::from_ast(&cx, &input, Derive::Projection);
    let projection = valid::projection(&cx, &model);
    fallback::finish(cx, projection.map(|p| expand::projection(&p)), || {
        fallback::projection(&input)
    })
}

/// Makes an inherent impl block an `Aggregate`: its `#[command]` methods
/// decide, its one `#[apply]` method evolves.
///
/// ```text
/// #[batpak::aggregate]                 // or #[batpak::aggregate(command = CartCommand)]
/// impl Cart {
///     #[command]
///     fn add(&self, add: &AddItem) -> Result<Vec<CartEvent>, CartError> { .. }
///     #[command]
///     fn check_out(&self, c: &CheckOut) -> Result<Vec<CartEvent>, CartError> { .. }
///     #[apply]
///     fn apply(&mut self, event: &CartEvent) { .. }
/// }
/// ```
///
/// writes the impl back, a `pub enum CartCommand { AddItem(AddItem),
/// CheckOut(CheckOut) }` (a variant per command type, named after it, with
/// `From` for each), and `impl Aggregate for Cart` whose `handle` dispatches
/// on the enum and whose `Event` and `Error` come from the signatures. The
/// type still implements `Default`, `Serialize` and `Deserialize` itself.
/// Misuse (a generic or trait impl, no or two `#[apply]`, no command, a
/// command taken by value or by `&mut`, two handlers for one command type, a
/// handler that does not return `Result<Vec<_>, _>`) is a compile error at
/// the offending token.
#[proc_macro_attribute]
pub fn aggregate(args: TokenStream, item: TokenStream) -> TokenStream {
    aggregate::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
