//! The main demo: open a store in a temporary folder, append typed events to
//! two bank accounts, move money between them in one atomic batch, read an
//! account back as typed events, fold it into a projection, and reopen the
//! store to show that everything acknowledged survived.
//!
//! The event family (`Account`) and the projection (`Balance`) are declared
//! with derives in `examples/domain/mod.rs`.
//!
//! Run with `cargo run --example quickstart`.

#[path = "domain/mod.rs"]
mod domain;

use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef};
use domain::{Account, Balance};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    println!("batpak quickstart: a store in {}", dir.path().display());

    let store = Store::open(StoreConfig::new(dir.path()))?;
    let alice = Coordinate::new("account:alice", "bank")?;
    let bob = Coordinate::new("account:bob", "bank")?;

    // The kind of each event comes from its variant; no kind constants to pass.
    let owner = |name: &str| Account::Opened { owner: name.into() };
    store.append_typed(&alice, &owner("Alice"))?;
    store.append_typed(&bob, &owner("Bob"))?;
    store.append_typed(&alice, &Account::Deposited { cents: 10_000 })?;
    let withdrawal = store.append_typed(&alice, &Account::Withdrawn { cents: 2_550 })?;
    println!(
        "appended 4 events, each fsynced before append returned; the last is #{} for alice",
        withdrawal.entity_sequence
    );
    println!(
        "and #{} in the whole store: the first event of each kind also records the kind's shape in the schema ledger",
        withdrawal.sequence
    );

    // A transfer is two events that must land together: an atomic batch. The
    // deposit names the withdrawal (item 0) as its cause.
    let transfer = vec![
        BatchAppendItem::typed(
            alice.clone(),
            &Account::Withdrawn { cents: 1_000 },
            AppendOptions::new(),
        )?,
        BatchAppendItem::typed(
            bob.clone(),
            &Account::Deposited { cents: 1_000 },
            AppendOptions::new().with_causation(CausationRef::PriorItem(0)),
        )?,
    ];
    let receipts = store.append_batch(transfer)?;
    println!(
        "moved 1000 cents from alice to bob as events #{} and #{}: both or neither",
        receipts[0].sequence, receipts[1].sequence
    );

    println!("\nalice's stream, decoded back into `Account` values:");
    for read in store.read_typed::<Account>("account:alice")? {
        let (meta, event) = read?;
        println!("  #{} {event:?}", meta.header.position.entity_sequence);
    }

    // The derived projection replays only `Account` kinds, straight from the index.
    let balance: Balance = store
        .project_typed("account:alice")?
        .ok_or("alice has no events")?;
    println!(
        "\nalice's balance: {} cents after {} movements (owner {})",
        balance.cents, balance.movements, balance.owner
    );

    store.close()?;
    let reopened = Store::open(StoreConfig::new(dir.path()))?;
    let report = reopened.verify()?;
    let stats = reopened.stats()?;
    println!(
        "\nreopened: {} events ({} of them the schema ledger's own) across {} entities",
        stats.events, stats.system_events, stats.entities
    );
    println!(
        "hash chains verified: {}",
        if report.is_clean() { "clean" } else { "BROKEN" }
    );
    let bob_balance: Balance = reopened
        .project_typed("account:bob")?
        .ok_or("bob has no events")?;
    println!(
        "bob's balance: {} cents after {} movements (owner {})",
        bob_balance.cents, bob_balance.movements, bob_balance.owner
    );
    reopened.close()?;
    Ok(())
}
