//! What this repository snapshots: the library's system events and the event
//! families of the examples.

use batpak::schema::{system_families, Catalog};

/// Today's catalog.
pub fn today() -> Catalog {
    system_families()
        .into_iter()
        .fold(Catalog::new(), Catalog::with_snapshot)
}
