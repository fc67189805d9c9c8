//! batpak: sync-first embedded event sourcing for Rust.
//!
//! Append events to a durable single-writer log, read them back through an
//! in-memory index, fold them into projections, and follow them with
//! subscriptions and cursors, all without an async runtime.
//!
//! ```no_run
//! use batpak::prelude::*;
//!
//! const DEPOSITED: EventKind = EventKind::custom(0x1, 1);
//!
//! # fn main() -> Result<(), batpak::store::StoreError> {
//! let store = Store::open(StoreConfig::new("./data"))?;
//! let account = Coordinate::new("account:42", "bank")?;
//! let receipt = store.append(&account, DEPOSITED, &serde_json::json!({ "cents": 500 }))?;
//! assert_eq!(store.stream("account:42").len() as u64, receipt.entity_sequence);
//! store.close()?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub use batpak_runtime::{coordinate, prelude, store};

/// The event model ([`Event`](event::Event), [`EventKind`](event::EventKind),
/// the header and codec) and, beside it, what projections implement: the
/// [`EventSourced`](event::EventSourced) trait and the replay inputs that
/// choose how payloads reach it (these live in `store::replay` in the runtime,
/// which sits above the event model).
pub mod event {
    pub use batpak_runtime::event::*;
    pub use batpak_runtime::store::replay::{
        EventSourced, InputPayload, JsonValueInput, RawBytesInput, ReplayInput, StoredPayload,
        TypedInput,
    };
}

/// Aggregates: decide (`handle`) and evolve (`apply`) over one entity's
/// events, with [`Store::load`](store::Store::load) and
/// [`Store::execute`](store::Store::execute) doing the fold, the
/// compare-and-swap and the retries (see the runtime's module docs).
///
/// ```
/// use batpak::aggregate::{Aggregate, ExecuteError, ExecuteOptions};
/// use batpak::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
/// #[batpak(category = 0x4)]
/// enum Counted {
///     #[batpak(id = 1)]
///     Added { by: u32 },
/// }
///
/// #[derive(Debug, Default, Serialize, Deserialize)]
/// struct Counter {
///     total: u32,
/// }
///
/// impl Aggregate for Counter {
///     type Event = Counted;
///     type Command = u32;
///     type Error = String;
///
///     fn apply(&mut self, event: &Counted) {
///         let Counted::Added { by } = event;
///         self.total += by;
///     }
///
///     fn handle(&self, add: &u32) -> Result<Vec<Counted>, String> {
///         if self.total + add > 10 {
///             return Err(format!("{} + {add} is over the limit", self.total));
///         }
///         Ok(vec![Counted::Added { by: *add }])
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let store = Store::open(StoreConfig::new(dir.path()))?;
/// let counter = Coordinate::new("counter:1", "demo")?;
/// let done = store.execute::<Counter>(&counter, &7)?;
/// assert_eq!((done.state.total, done.sequence), (7, 1));
/// assert!(matches!(
///     store.execute::<Counter>(&counter, &7),
///     Err(ExecuteError::Rejected(_))
/// ));
/// // The same request again (same key) returns the first receipts.
/// let keyed = ExecuteOptions::new().with_idempotency(42);
/// let first = store.execute_with::<Counter>(&counter, &1, &keyed)?;
/// let again = store.execute_with::<Counter>(&counter, &1, &keyed)?;
/// assert!(again.replayed && again.receipts == first.receipts);
/// assert_eq!(store.load::<Counter>("counter:1")?.state.total, 8);
/// # Ok(())
/// # }
/// ```
pub mod aggregate {
    pub use batpak_runtime::aggregate::*;
}

pub use batpak_macros::{aggregate, Event, Projection, Schema};
pub use batpak_runtime::event::EventMeta;
pub use batpak_runtime::gate;
pub use batpak_runtime::testing;
/// Schemas of typed payloads and the release check: everything of the runtime's
/// `schema` module (shapes, the traits the derives implement, the snapshot
/// catalog and rule engine, [`Snapshots`](schema::Snapshots) over a snapshot
/// directory), plus [`assert_snapshots!`](schema::assert_snapshots) for crates
/// that check their snapshots from a test instead of an xtask.
pub mod schema {
    pub use batpak_runtime::schema::*;

    #[doc(inline)]
    pub use crate::__assert_snapshots as assert_snapshots;
}

/// Checks, in a test, that today's event families still read everything the
/// snapshots in `dir` describe; `dir` is relative to the calling crate's
/// manifest directory.
///
/// ```no_run
/// # use serde::{Deserialize, Serialize};
/// #[derive(Serialize, Deserialize, batpak::Event)]
/// #[batpak(category = 0x5)]
/// enum Cart {
///     #[batpak(id = 1)]
///     Opened { customer: String },
/// }
///
/// #[derive(Serialize, Deserialize, batpak::Event)]
/// #[batpak(category = 0x6)]
/// enum Stock {
///     #[batpak(id = 1)]
///     Received { units: u32 },
/// }
///
/// // In `tests/schema.rs`, inside a `#[test]` function:
/// batpak::schema::assert_snapshots!("schemas", Cart, Stock);
/// ```
///
/// It panics with one line per breaking finding, each naming its rule and fix,
/// and also when the directory holds no snapshot yet. With the environment
/// variable `BATPAK_BLESS=1` it blesses instead: it rewrites the snapshots and
/// writes the missing golden fixtures, refusing a change that breaks old data;
/// `BATPAK_BLESS=allow-break` blesses such a change too (for data that was never
/// written). See [`Snapshots::assert`](schema::Snapshots::assert).
#[doc(hidden)]
#[macro_export]
macro_rules! __assert_snapshots {
    ($dir:expr, $($family:ty),+ $(,)?) => {
        $crate::schema::Snapshots::new(
            ::std::path::Path::new(::std::env!("CARGO_MANIFEST_DIR")).join($dir),
        )
        .commands($crate::schema::BlessCommands::env(::std::env!("CARGO_PKG_NAME")))
        $(.family::<$family>())+
        .assert()
    };
}
pub use batpak_runtime::schema::{Apply, EventFamily, Personal, Schema};

/// Paths used by the code the derives generate. Not a public API: it may change
/// in any release.
#[doc(hidden)]
pub mod __private {
    pub use batpak_runtime::aggregate::Aggregate;
    pub use batpak_runtime::event::{Event, EventKind, EventMeta};
    pub use batpak_runtime::schema::{
        decode, decode_older, encode, variant_history, Apply, EventFamily, EventShape, Field,
        Fields, KindInfo, NoUpcast, Schema, SchemaError, Shape, Upcast, VariantShape,
    };
    pub use batpak_runtime::store::replay::{
        DecodeError, EventSourced, FamilyCheck, RawBytesInput, ReplayInput, StoredPayload,
        TypedInput,
    };
    pub use std::assert;
    pub use std::boxed::Box;
    pub use std::convert::From;
    pub use std::default::Default;
    pub use std::fmt;
    pub use std::option::Option;
    pub use std::result::Result;
    pub use std::string::{String, ToString};
    pub use std::vec;
    pub use std::vec::Vec;

    /// The kinds of a projection's families as one array (`N` is the sum of
    /// their lengths), for a `static` the projection's replay filters by.
    pub const fn kind_union<const N: usize>(lists: &[&[EventKind]]) -> [EventKind; N] {
        let mut out = [EventKind::from_raw(0); N];
        let mut len = 0;
        let mut l = 0;
        while l < lists.len() {
            let list = lists[l];
            let mut i = 0;
            while i < list.len() {
                out[len] = list[i];
                len += 1;
                i += 1;
            }
            l += 1;
        }
        assert!(len == N, "the kind count is the sum of the families' kinds");
        out
    }

    /// Whether two families declare a common kind (a projection over both could
    /// not tell which one decodes it).
    pub const fn shares_kind(a: &[EventKind], b: &[EventKind]) -> bool {
        let mut i = 0;
        while i < a.len() {
            let mut j = 0;
            while j < b.len() {
                if a[i].raw() == b[j].raw() {
                    return true;
                }
                j += 1;
            }
            i += 1;
        }
        false
    }
}

/// The README's example, compiled as a doctest so it cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
