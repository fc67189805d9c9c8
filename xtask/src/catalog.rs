//! What this repository snapshots: the library's system events and the event
//! families of the examples (their shared module, compiled in here as is).

#[allow(unused_imports)]
#[path = "../../examples/domain/mod.rs"]
mod domain;

use batpak::schema::{system_families, Snapshots};
use std::path::PathBuf;

/// Today's families, with their snapshots in `dir`.
pub fn today(dir: PathBuf) -> Snapshots {
    let examples = Snapshots::new(dir)
        .family::<domain::Account>()
        .family::<domain::Player>()
        .family::<domain::Alert>();
    system_families()
        .into_iter()
        .fold(examples, Snapshots::family_snapshot)
}
