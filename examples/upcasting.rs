//! Schema evolution: events written by an old release still read back as
//! today's type. `Player::Moved` started as `{ x }` (version 1), grew a `y`
//! (version 2, `MovedV2`) and now has `{ x, y, z }` (version 3). The old
//! release (`domain::legacy::Player`) writes two moves; today's code appends
//! more, and `read_typed::<Player>` returns all of them as version 3 values:
//! each old payload is decoded with the shape it was written in and upcast
//! through `From<MovedV1> for MovedV2` and `From<MovedV2> for Player`.
//!
//! Run with `cargo run --example upcasting`.

#[path = "domain/mod.rs"]
mod domain;

use batpak::prelude::*;
use batpak::EventFamily;
use domain::{legacy, Player};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    println!("batpak upcasting: a store in {}", dir.path().display());
    let ada = Coordinate::new("player:ada", "game")?;

    // The first release: `Moved` has only `x`.
    let old_id = {
        let store = Store::open(StoreConfig::new(dir.path()))?;
        let first = store.append_typed(&ada, &legacy::Player::Moved { x: 3 })?;
        store.append_typed(&ada, &legacy::Player::Moved { x: -1 })?;
        store.close()?;
        println!("the old release wrote 2 moves as version 1 and shut down");
        first.event_id
    };

    // Today's release opens the same directory and keeps writing.
    let store = Store::open(StoreConfig::new(dir.path()))?;
    store.append_typed(&ada, &Player::Moved { x: 4, y: 5, z: 6 })?;
    store.append_typed(&ada, &Player::Left)?;
    println!("today's release appended a version 3 move and a `Left`\n");

    println!("player:ada read as today's `Player`:");
    for read in store.read_typed::<Player>("player:ada")? {
        let (meta, event) = read?;
        let stored = meta.header.schema_version;
        let today = Player::kind_info(meta.header.kind).map_or(0, |k| k.version);
        let how = if stored < today {
            " (upcast to today's version)"
        } else {
            ""
        };
        println!(
            "  #{} stored as version {stored}: {event:?}{how}",
            meta.header.position.entity_sequence
        );
    }

    // The JSON view needs no Rust type: the log's schema ledger recorded the
    // shape of every (kind, version) written, so the old event renders as it
    // was stored.
    let old = store.get(old_id)?.ok_or("the old event vanished")?;
    println!(
        "\nthe first move as JSON, from the shape in the log: {} (version {})",
        old.payload, old.header.schema_version
    );
    println!("the shapes the log's schema ledger recorded:");
    for (kind, version, known) in store.schema_ledger() {
        let fields = serde_json::to_string(&known.shape.fields)?;
        let variant = known.shape.variant.unwrap_or_default();
        let family = known.shape.family;
        println!("  {family}::{variant} (kind {kind}) version {version}: {fields}");
    }
    store.close()?;
    Ok(())
}
