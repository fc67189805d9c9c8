//! Atomic batches of typed events: a transfer between two accounts lands as
//! one commit (all of its events or none), written once with `append_batch` and
//! once through an outbox. Then the two guards a batch can carry: a
//! compare-and-swap that refuses a batch built on a stale view of an account,
//! and idempotency keys that make a retried batch return the original receipts
//! instead of writing it twice.
//!
//! Run with `cargo run --example typed_batch`.

#[path = "domain/mod.rs"]
mod domain;

use batpak::prelude::*;
use batpak::store::{AppendReceipt, BatchAppendItem, CausationRef};
use domain::{Account, Balance};

/// The two halves of a transfer; the deposit names the withdrawal as its
/// cause. `withdrawal` carries the options of the first half (a CAS on `from`).
fn transfer(
    from: &Coordinate,
    to: &Coordinate,
    cents: u64,
    withdrawal: AppendOptions,
) -> Result<Vec<BatchAppendItem>, StoreError> {
    Ok(vec![
        BatchAppendItem::typed(from.clone(), &Account::Withdrawn { cents }, withdrawal)?,
        BatchAppendItem::typed(
            to.clone(),
            &Account::Deposited { cents },
            AppendOptions::new().with_causation(CausationRef::PriorItem(0)),
        )?,
    ])
}

fn show(label: &str, receipts: &[AppendReceipt]) {
    let seqs: Vec<String> = receipts
        .iter()
        .map(|r| format!("#{}", r.sequence))
        .collect();
    println!("{label}: committed as events {}", seqs.join(" and "));
}

fn balances(store: &Store) -> Result<String, StoreError> {
    let mut out = Vec::new();
    for who in ["alice", "bob"] {
        let b: Option<Balance> = store.project_typed(&format!("account:{who}"))?;
        out.push(format!("{who} {}", b.map_or(0, |b| b.cents)));
    }
    Ok(out.join(", "))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    println!("batpak typed batches: a store in {}", dir.path().display());
    let store = Store::open(StoreConfig::new(dir.path()))?;
    let alice = Coordinate::new("account:alice", "bank")?;
    let bob = Coordinate::new("account:bob", "bank")?;
    store.append_typed(&alice, &Account::Deposited { cents: 10_000 })?;
    println!(
        "alice deposits 10000 cents; balances: {}\n",
        balances(&store)?
    );

    // 1. A batch built by hand.
    let receipts = store.append_batch(transfer(&alice, &bob, 2_500, AppendOptions::new())?)?;
    show("transfer of 2500 with append_batch", &receipts);

    // 2. The same through an outbox: stage on this side, commit in one flush.
    let mut outbox = store.outbox();
    let none = AppendOptions::new();
    outbox.stage_typed(alice.clone(), &Account::Withdrawn { cents: 500 }, none)?;
    outbox.stage_typed(
        bob.clone(),
        &Account::Deposited { cents: 500 },
        none.with_causation(CausationRef::PriorItem(0)),
    )?;
    println!(
        "outbox holds {} staged events; nothing is written yet",
        outbox.len()
    );
    show("transfer of 500 with an outbox", &outbox.flush()?);
    println!("balances: {}\n", balances(&store)?);

    // 3. Compare-and-swap on the withdrawal guards alice's side: a transfer
    //    decided when her stream ended at #1 is refused now that it ends at #3,
    //    and neither half is written.
    let stale = AppendOptions::new().with_cas(1);
    match store.append_batch(transfer(&alice, &bob, 9_000, stale)?) {
        Err(StoreError::SequenceConflict {
            entity,
            expected,
            actual,
        }) => println!(
            "a transfer of 9000 expecting {entity} at #{expected} is refused: it is at #{actual}"
        ),
        other => return Err(format!("expected a sequence conflict, got {other:?}").into()),
    }
    println!("balances are unchanged: {}", balances(&store)?);
    let seen = store.stream("account:alice").len() as u64;
    let fresh = AppendOptions::new().with_cas(seen);
    let receipts = store.append_batch(transfer(&alice, &bob, 900, fresh)?)?;
    show(&format!("a transfer of 900 decided at #{seen}"), &receipts);
    println!("balances: {}\n", balances(&store)?);

    // 4. Idempotency: each item carries a key derived from a request id; sending
    //    the same batch again (say, after a timeout) writes nothing new.
    let request = 0x5eed_u128 << 64;
    let keyed = |n: u128| AppendOptions::new().with_idempotency(request + n);
    let items = vec![
        BatchAppendItem::typed(alice.clone(), &Account::Withdrawn { cents: 100 }, keyed(0))?,
        BatchAppendItem::typed(
            bob.clone(),
            &Account::Deposited { cents: 100 },
            keyed(1).with_causation(CausationRef::PriorItem(0)),
        )?,
    ];
    let first = store.append_batch(items.clone())?;
    let events_before = store.stats()?.events;
    let again = store.append_batch(items)?;
    show("keyed transfer of 100", &first);
    show("the same keyed batch sent again", &again);
    println!(
        "same receipts: {}; events in the store before and after the retry: {events_before} and {}",
        first == again,
        store.stats()?.events
    );
    println!("balances: {}", balances(&store)?);
    store.close()?;
    Ok(())
}
