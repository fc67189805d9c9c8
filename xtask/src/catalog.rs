//! What this repository snapshots: the library's system events and the event
//! families of the examples (their shared module, compiled in here as is).

#[allow(unused_imports)]
#[path = "../../examples/domain/mod.rs"]
mod domain;

use batpak::schema::{system_families, Catalog};

/// Today's catalog.
pub fn today() -> Catalog {
    let examples = Catalog::new()
        .with::<domain::Account>()
        .with::<domain::Player>()
        .with::<domain::Alert>();
    system_families()
        .into_iter()
        .fold(examples, Catalog::with_snapshot)
}
