//! Typed reactors: code that answers events with new events. A reactor watches
//! every `Account` event and raises an `Alert::LargeWithdrawal` for each
//! withdrawal over a limit. It runs on a cursor worker thread, receives decoded
//! `Account` values, and its alerts are committed with the withdrawal as their
//! cause. Its position is checkpointed, so a restarted worker carries on where
//! the last one stopped instead of raising the same alerts again.
//!
//! Run with `cargo run --example typed_reactor`.

#[path = "domain/mod.rs"]
mod domain;

use batpak::event::TypedInput;
use batpak::prelude::*;
use batpak::store::delivery::cursor::{CursorWorkerConfig, CursorWorkerHandle};
use batpak::store::delivery::reactor::ReactionBatch;
use batpak::store::delivery::subscription::Subscription;
use batpak::EventMeta;
use domain::{Account, Alert};
use std::sync::Arc;
use std::time::Duration;

const LIMIT_CENTS: u64 = 100_000;
const DESK: &str = "alerts:fraud-desk";

/// Starts the reactor on a worker that checkpoints under "large-withdrawals".
fn start(store: &Arc<Store>) -> Result<CursorWorkerHandle, StoreError> {
    let desk = Coordinate::new(DESK, "bank")?;
    let mut config = CursorWorkerConfig::default();
    config.checkpoint_id = Some("large-withdrawals".into());
    let reactor = move |event: &Account, meta: &EventMeta, out: &mut ReactionBatch| {
        if let Account::Withdrawn { cents } = *event {
            if cents > LIMIT_CENTS {
                let account = meta.coordinate.entity().to_owned();
                out.push(desk.clone(), &Alert::LargeWithdrawal { account, cents })?;
            }
        }
        Ok(())
    };
    store.react_typed::<Account, _>(&Region::all(), config, reactor)
}

/// Waits for `n` alerts to become visible, at most five seconds for each.
fn wait_for(alerts: &Subscription, n: usize) -> usize {
    (0..n)
        .take_while(|_| alerts.recv_timeout(Duration::from_secs(5)).is_some())
        .count()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    println!("batpak typed reactor: a store in {}", dir.path().display());
    let store = Arc::new(Store::open(StoreConfig::new(dir.path()))?);
    let alice = Coordinate::new("account:alice", "bank")?;
    let bob = Coordinate::new("account:bob", "bank")?;
    // Subscribe before anything happens, so no alert can slip by unseen.
    let alerts = store.subscribe_lossy(&Region::all().with_kind(Alert::LARGE_WITHDRAWAL));

    let worker = start(&store)?;
    println!("a reactor raises an alert for every withdrawal over {LIMIT_CENTS} cents\n");
    store.append_typed(&alice, &Account::Deposited { cents: 500_000 })?;
    for (who, cents) in [
        (&alice, 20_000),
        (&alice, 250_000),
        (&bob, 100_000),
        (&bob, 120_000),
    ] {
        store.append_typed(who, &Account::Withdrawn { cents })?;
        println!("{} withdraws {cents}", who.entity());
    }
    println!("alerts seen: {} (expected 2)", wait_for(&alerts, 2));
    worker.stop_and_join()?;

    // A new worker with the same checkpoint id resumes after the last event
    // the old one handled: only the new withdrawal is reacted to.
    store.append_typed(&alice, &Account::Withdrawn { cents: 300_000 })?;
    println!("\nwith the reactor stopped, alice withdraws 300000");
    let worker = start(&store)?;
    println!(
        "after a restart, alerts seen: {} (expected 1)",
        wait_for(&alerts, 1)
    );
    worker.stop_and_join()?;

    println!("\n{DESK} holds:");
    for read in store.read_typed::<Alert>(DESK)? {
        let (meta, alert) = read?;
        let cause = meta.header.causation_id.ok_or("an alert without a cause")?;
        let source = store
            .get_as::<TypedInput<Account>>(cause)?
            .ok_or("the cause is not visible")?;
        println!("  {alert:?}");
        println!(
            "    caused by {cause:#034x}: {} {:?} (#{} in the store)",
            source.coordinate.entity(),
            source.payload,
            source.header.position.sequence
        );
    }
    let total = store.by_fact(Alert::LARGE_WITHDRAWAL).len();
    println!("alerts in the store: {total}, one per large withdrawal: the restarted worker did not redo old ones");

    let store = Arc::try_unwrap(store).map_err(|_| "the store is still shared")?;
    store.close()?;
    Ok(())
}
