//! The main demo: open a store in a temporary folder, append a few events to two
//! bank accounts, read them back, fold one account into a projection, and reopen
//! the store to show that everything acknowledged survived.
//!
//! Run with `cargo run --example quickstart`.

use batpak::prelude::*;
use batpak::store::Freshness;
use serde::{Deserialize, Serialize};

const OPENED: EventKind = EventKind::custom(0x1, 1);
const DEPOSITED: EventKind = EventKind::custom(0x1, 2);
const WITHDRAWN: EventKind = EventKind::custom(0x1, 3);

/// An account balance folded from its events.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Balance {
    owner: String,
    cents: i64,
    movements: u32,
}

impl EventSourced for Balance {
    type Input = JsonValueInput;

    fn from_events(events: &[Event<serde_json::Value>]) -> Option<Self> {
        let mut state = Balance::default();
        for event in events {
            state.apply_event(event);
        }
        (!events.is_empty()).then_some(state)
    }

    fn apply_event(&mut self, event: &Event<serde_json::Value>) {
        let cents = event.payload["cents"].as_i64().unwrap_or(0);
        match event.kind() {
            OPENED => self.owner = event.payload["owner"].as_str().unwrap_or("?").to_owned(),
            DEPOSITED => self.cents += cents,
            WITHDRAWN => self.cents -= cents,
            _ => return,
        }
        self.movements += 1;
    }

    fn relevant_event_kinds() -> &'static [EventKind] {
        &[OPENED, DEPOSITED, WITHDRAWN]
    }

    fn supports_incremental_apply() -> bool {
        true
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    println!("batpak quickstart: a store in {}", dir.path().display());

    let store = Store::open(StoreConfig::new(dir.path()))?;
    let alice = Coordinate::new("account:alice", "bank")?;
    let bob = Coordinate::new("account:bob", "bank")?;

    store.append(&alice, OPENED, &serde_json::json!({ "owner": "Alice" }))?;
    store.append(&bob, OPENED, &serde_json::json!({ "owner": "Bob" }))?;
    store.append(&alice, DEPOSITED, &serde_json::json!({ "cents": 10_000 }))?;
    let withdrawal = store.append(&alice, WITHDRAWN, &serde_json::json!({ "cents": 2_550 }))?;
    println!(
        "appended 4 events; the last one is #{} in the store and #{} for alice (fsynced before append returned)",
        withdrawal.sequence, withdrawal.entity_sequence
    );

    // A transfer is two events that must land together: an atomic batch.
    let transfer = vec![
        batpak::store::BatchAppendItem::new(
            alice.clone(),
            WITHDRAWN,
            &serde_json::json!({ "cents": 1_000, "to": "bob" }),
            AppendOptions::new(),
            batpak::store::CausationRef::None,
        )?,
        batpak::store::BatchAppendItem::new(
            bob.clone(),
            DEPOSITED,
            &serde_json::json!({ "cents": 1_000, "from": "alice" }),
            AppendOptions::new(),
            batpak::store::CausationRef::PriorItem(0),
        )?,
    ];
    store.append_batch(transfer)?;

    println!("\nalice's stream:");
    for entry in store.stream("account:alice") {
        let event = store.get(entry.event_id)?.ok_or("event vanished")?;
        println!(
            "  #{} {:?} {}",
            entry.entity_sequence, entry.kind, event.payload
        );
    }

    let balance: Balance = store
        .project("account:alice", &Freshness::Consistent)?
        .ok_or("alice has no events")?;
    println!(
        "\nalice's balance: {} cents after {} movements (owner {})",
        balance.cents, balance.movements, balance.owner
    );

    store.close()?;
    let reopened = Store::open(StoreConfig::new(dir.path()))?;
    let report = reopened.verify()?;
    println!(
        "\nreopened: {} events across {} entities; hash chains verified: {}",
        reopened.stats()?.events,
        reopened.stats()?.entities,
        if report.is_clean() { "clean" } else { "BROKEN" }
    );
    let bob_balance: Balance = reopened
        .project("account:bob", &Freshness::Consistent)?
        .ok_or("bob has no events")?;
    println!("bob's balance: {} cents", bob_balance.cents);
    reopened.close()?;
    Ok(())
}
