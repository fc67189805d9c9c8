//! The batpak runtime: a sync-first embedded event store. One writer thread owns
//! an append-only log of segment files; an in-memory index serves reads; batches,
//! visibility fences, subscriptions, cursors and projections sit on top. Users
//! normally depend on the `batpak` facade crate, which re-exports this one.

#![warn(missing_docs)]

pub mod aggregate;
pub mod coordinate;
pub mod event;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod gate;
pub mod schema;
pub mod store;
pub mod testing;

/// The handful of names most programs need.
pub mod prelude {
    pub use crate::coordinate::{Coordinate, Region};
    pub use crate::event::{Event, EventKind};
    pub use crate::schema::Personal;
    pub use crate::store::replay::{EventSourced, JsonValueInput, RawBytesInput};
    pub use crate::store::{AppendOptions, Store, StoreConfig, StoreError};
}
