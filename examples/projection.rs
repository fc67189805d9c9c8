//! Projections that keep up cheaply. `Balance` (derived in
//! `examples/domain/mod.rs`) is folded from an account's events; with a
//! `NativeCache` the folded state is kept in files, so the next call applies
//! only the events that arrived since, even after the store is reopened.
//! `project_if_changed` skips the work when the account has not moved, and
//! `watch_projection` waits for another thread's append and hands over the
//! new state.
//!
//! Run with `cargo run --example projection`.

#[path = "domain/mod.rs"]
mod domain;

use batpak::prelude::*;
use batpak::store::{BatchAppendItem, Freshness, NativeCache};
use domain::{Account, Balance};
use std::time::{Duration, Instant};

const ALICE: &str = "account:alice";

/// Opens the store in `data` with a projection cache in `cache`.
fn open(data: &std::path::Path, cache: &std::path::Path) -> Result<Store, StoreError> {
    let cache = NativeCache::new(cache)?;
    Ok(Store::open(StoreConfig::new(data))?.with_projection_cache(Box::new(cache)))
}

/// Projects alice's balance and says how long it took.
fn timed(store: &Store, what: &str) -> Result<Balance, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let balance: Balance = store.project_typed(ALICE)?.ok_or("alice has no events")?;
    println!(
        "{:<41} {} cents after {} movements, in {:.2} ms",
        format!("{what}:"),
        balance.cents,
        balance.movements,
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(balance)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (data, cache) = (dir.path().join("data"), dir.path().join("cache"));
    println!("batpak projections: a store in {}", data.display());
    let store = open(&data, &cache)?;
    let alice = Coordinate::new(ALICE, "bank")?;

    // A long history, written as one atomic batch of 20,000 small deposits.
    let deposit = |cents| {
        let event = Account::Deposited { cents };
        BatchAppendItem::typed(alice.clone(), &event, AppendOptions::new())
    };
    let history = (0..20_000)
        .map(|_| deposit(1))
        .collect::<Result<Vec<_>, _>>()?;
    store.append_typed(
        &alice,
        &Account::Opened {
            owner: "Alice".into(),
        },
    )?;
    store.append_batch(history)?;

    timed(&store, "first projection, every event replayed")?;
    timed(&store, "again, straight from the cache")?;
    store.append_typed(&alice, &Account::Withdrawn { cents: 500 })?;
    store.append_typed(&alice, &Account::Deposited { cents: 250 })?;
    timed(&store, "2 events later, only those 2 applied")?;

    // The cache is a directory of files: a reopened store starts from it.
    store.close()?;
    let store = open(&data, &cache)?;
    timed(&store, "after a reopen, from the cache files")?;

    // `project_if_changed` compares the entity's generation (it grows with
    // every event) and does nothing when it has not moved.
    let generation = store
        .entity_generation(ALICE)
        .ok_or("alice has no events")?;
    let fresh = Freshness::Consistent;
    match store.project_if_changed::<Balance>(ALICE, generation, &fresh)? {
        None => println!("\nproject_if_changed at generation {generation}: unchanged, skipped"),
        Some(_) => println!("\nproject_if_changed at generation {generation}: changed"),
    }

    // A watch returns the current state first, then each newer one.
    let mut watch = store.watch_projection::<Balance>(ALICE);
    let wait = Duration::from_secs(5);
    if let Some((generation, Some(b))) = watch.next_timeout(wait)? {
        println!(
            "watching alice from generation {generation}: {} cents",
            b.cents
        );
    }
    std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error>> {
        let teller = s.spawn(|| store.append_typed(&alice, &Account::Deposited { cents: 1_000 }));
        match watch.next_timeout(wait)? {
            Some((generation, Some(b))) => println!(
                "another thread deposited 1000: generation {generation}, {} cents",
                b.cents
            ),
            _ => println!("no new state within {wait:?}"),
        }
        teller.join().map_err(|_| "the teller thread panicked")??;
        Ok(())
    })?;
    let moved = store.project_if_changed::<Balance>(ALICE, generation, &fresh)?;
    if let Some((now, Some(b))) = moved {
        println!(
            "project_if_changed at generation {generation}: changed to {now}, {} cents",
            b.cents
        );
    }

    store.close()?;
    Ok(())
}
