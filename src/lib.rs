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

pub use batpak_runtime::{coordinate, event, prelude, store};
