//! The causal graph: every event knows the root of its tree (its correlation
//! id) and its direct cause (its causation id). A large withdrawal from alice
//! is the root; bob's deposit and a fraud-desk alert react to it, and bob
//! passes part of the money on to carol. From carol's deposit,
//! `walk_ancestors` follows the causes back to the root; from the root,
//! `descendants` and `correlated` find everything it set off.
//!
//! Run with `cargo run --example causal_chain`, or with `-- DIR` to keep the
//! store in DIR afterwards and draw the tree with the inspector:
//! `batpak graph DIR --correlation ID` (the id it prints), as
//! `docs/causal-graph.svg` was drawn.

#[path = "domain/mod.rs"]
mod domain;

use batpak::event::EventId;
use batpak::prelude::*;
use batpak::store::index::IndexEntry;
use batpak::store::BatchAppendItem;
use domain::{Account, Alert};
use std::error::Error;

/// One line about an event: its place in the store, entity and payload (as JSON).
fn describe(store: &Store, entry: &IndexEntry) -> Result<String, Box<dyn Error>> {
    let event = store
        .get(entry.event_id)?
        .ok_or("the event is not visible")?;
    let entity = entry.coordinate.entity();
    Ok(format!("#{} {entity} {}", entry.sequence, event.payload))
}

/// Prints `id` and, indented below it, every event it caused.
fn print_tree(
    store: &Store,
    tree: &[IndexEntry],
    id: EventId,
    depth: usize,
) -> Result<(), Box<dyn Error>> {
    let Some(entry) = tree.iter().find(|e| e.event_id == id) else {
        return Ok(());
    };
    println!("  {}{}", "    ".repeat(depth), describe(store, entry)?);
    for child in tree.iter().filter(|e| e.causation_id == Some(id)) {
        print_tree(store, tree, child.event_id, depth + 1)?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    // A directory named on the command line is kept; otherwise a temporary one.
    let temporary;
    let dir = match std::env::args_os().nth(1) {
        Some(kept) => std::path::PathBuf::from(kept),
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path().to_owned()
        }
    };
    println!("batpak causal chains: a store in {}", dir.display());
    let store = Store::open(StoreConfig::new(&dir))?;
    let account = |name: &str| Coordinate::new(format!("account:{name}"), "bank");
    let (alice, bob, carol) = (account("alice")?, account("bob")?, account("carol")?);
    let desk = Coordinate::new("alerts:fraud-desk", "bank")?;

    // The root: a plain append starts a tree of its own.
    let cents = 250_000;
    let root = store
        .append_typed(&alice, &Account::Withdrawn { cents })?
        .event_id;
    // Reactions name the root (correlation) and their parent (causation).
    let react = |at: &Coordinate, event: &Account, parent: EventId| {
        let options = AppendOptions::new().with_reaction(root, parent);
        store.append_item(BatchAppendItem::typed(at.clone(), event, options)?)
    };
    let paid = react(&bob, &Account::Deposited { cents }, root)?.event_id;
    let alert = Alert::LargeWithdrawal {
        account: alice.entity().into(),
        cents,
    };
    let options = AppendOptions::new().with_reaction(root, root);
    store.append_item(BatchAppendItem::typed(desk.clone(), &alert, options)?)?;
    let forward = react(&bob, &Account::Withdrawn { cents: 40_000 }, paid)?.event_id;
    let leaf = react(&carol, &Account::Deposited { cents: 40_000 }, forward)?.event_id;

    // Something unrelated, in a tree of its own.
    store.append_typed(&carol, &Account::Deposited { cents: 1_000 })?;

    let tree = store.correlated(root);
    println!(
        "\nthe tree rooted at alice's withdrawal {root:032x} ({} events; #n is the place in the store,",
        tree.len()
    );
    println!("the gaps are the schema ledger's own events):");
    print_tree(&store, &tree, root, 0)?;

    println!("\nwalk_ancestors from carol's deposit, each event caused by the next:");
    for entry in store.walk_ancestors(leaf, 16) {
        let root = if entry.causation_id.is_none() {
            "  <- the root"
        } else {
            ""
        };
        println!("  {}{root}", describe(&store, &entry)?);
    }

    println!("\ndescendants of bob's deposit:");
    for entry in store.descendants(paid, 16) {
        println!("  {}", describe(&store, &entry)?);
    }
    let all = store.descendants(root, 16).len();
    let carol_events = store.stream("account:carol").len();
    println!(
        "\nthe root has {all} descendants; carol has {carol_events} events, one of them outside the tree"
    );
    store.close()?;
    Ok(())
}
