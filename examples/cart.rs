//! A shopping cart written with the aggregate API: the cart decides what its
//! commands produce (`#[command]`), folds its events (`#[apply]`), and the
//! store runs each command atomically with a compare-and-swap
//! (`Store::execute`). The tests at the bottom use the test kit's
//! given/when/then; `cargo test --example cart` runs them (and `cargo test`
//! runs them with everything else).
//!
//! Run it with `cargo run --example cart`.

use batpak::aggregate::{ExecuteError, ExecuteOptions};
use batpak::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happens to a cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0xE, name = "Cart")]
pub enum CartEvent {
    /// Some of an item went into the cart.
    #[batpak(id = 1)]
    ItemAdded { sku: String, qty: u32 },
    /// An item left the cart.
    #[batpak(id = 2)]
    ItemRemoved { sku: String },
    /// The cart was paid for; it takes no more changes.
    #[batpak(id = 3)]
    CheckedOut { items: u32 },
}

/// Put `qty` of `sku` into the cart.
#[derive(Debug)]
pub struct AddItem {
    pub sku: String,
    pub qty: u32,
}

/// Take `sku` out of the cart.
#[derive(Debug)]
pub struct RemoveItem {
    pub sku: String,
}

/// Pay for the cart.
#[derive(Debug)]
pub struct CheckOut;

/// Why the cart refuses a command.
#[derive(Debug, Clone, PartialEq)]
pub enum CartError {
    /// Adding nothing.
    ZeroQuantity,
    /// Removing what is not there.
    NotInCart(String),
    /// Checking out an empty cart.
    Empty,
    /// Changing a cart after check-out.
    CheckedOut,
}

impl std::fmt::Display for CartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The cart's state: what is in it and whether it was paid for.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    items: BTreeMap<String, u32>,
    checked_out: bool,
}

#[batpak::aggregate]
impl Cart {
    #[command]
    fn add(&self, add: &AddItem) -> Result<Vec<CartEvent>, CartError> {
        self.open()?;
        if add.qty == 0 {
            return Err(CartError::ZeroQuantity);
        }
        Ok(vec![CartEvent::ItemAdded {
            sku: add.sku.clone(),
            qty: add.qty,
        }])
    }

    #[command]
    fn remove(&self, remove: &RemoveItem) -> Result<Vec<CartEvent>, CartError> {
        self.open()?;
        if !self.items.contains_key(&remove.sku) {
            return Err(CartError::NotInCart(remove.sku.clone()));
        }
        Ok(vec![CartEvent::ItemRemoved {
            sku: remove.sku.clone(),
        }])
    }

    #[command]
    fn check_out(&self, _: &CheckOut) -> Result<Vec<CartEvent>, CartError> {
        self.open()?;
        if self.items.is_empty() {
            return Err(CartError::Empty);
        }
        Ok(vec![CartEvent::CheckedOut {
            items: self.items.values().sum(),
        }])
    }

    #[apply]
    fn evolve(&mut self, event: &CartEvent) {
        match event {
            CartEvent::ItemAdded { sku, qty } => *self.items.entry(sku.clone()).or_default() += qty,
            CartEvent::ItemRemoved { sku } => {
                self.items.remove(sku);
            }
            CartEvent::CheckedOut { .. } => self.checked_out = true,
        }
    }
}

impl Cart {
    fn open(&self) -> Result<(), CartError> {
        if self.checked_out {
            return Err(CartError::CheckedOut);
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("batpak-cart-{}", std::process::id()));
    let store = Store::open(StoreConfig::new(&dir))?;
    let cart = Coordinate::new("cart:42", "shop")?;

    let apples = AddItem {
        sku: "apple".into(),
        qty: 3,
    };
    let done = store.execute::<Cart>(&cart, &apples.into())?;
    println!("added apples: cart at sequence {}", done.sequence);
    // A request retried with the same key (say, after a timeout) is written once.
    let pears = ExecuteOptions::new().with_idempotency(0x5EA5);
    let add_pears = || AddItem {
        sku: "pear".into(),
        qty: 1,
    };
    let first = store.execute_with::<Cart>(&cart, &add_pears().into(), &pears)?;
    let retry = store.execute_with::<Cart>(&cart, &add_pears().into(), &pears)?;
    println!(
        "pears twice with one key: replayed = {}, same receipt = {}",
        retry.replayed,
        first.receipts == retry.receipts
    );
    let paid = store.execute::<Cart>(&cart, &CheckOut.into())?;
    println!("checked out: {:?}", paid.state);
    match store.execute::<Cart>(&cart, &CheckOut.into()) {
        Err(ExecuteError::Rejected(e)) => println!("checking out again is refused: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    let loaded = store.load::<Cart>("cart:42")?;
    println!(
        "reloaded from the log: {:?} at sequence {}",
        loaded.state, loaded.sequence
    );
    store.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use batpak::testing::{AggregateTest, TempStore};

    fn added(sku: &str, qty: u32) -> CartEvent {
        CartEvent::ItemAdded {
            sku: sku.into(),
            qty,
        }
    }

    #[test]
    fn adding_to_an_empty_cart() {
        AggregateTest::<Cart>::given_nothing()
            .when(AddItem {
                sku: "apple".into(),
                qty: 2,
            })
            .then([added("apple", 2)]);
    }

    #[test]
    fn checking_out_counts_every_item() {
        let state = AggregateTest::<Cart>::given([added("apple", 2), added("pear", 1)])
            .when(CheckOut)
            .then([CartEvent::CheckedOut { items: 3 }]);
        assert!(state.checked_out);
    }

    #[test]
    fn refusals() {
        AggregateTest::<Cart>::given_nothing()
            .when(CheckOut)
            .then_error_eq(CartError::Empty);
        AggregateTest::<Cart>::given([added("apple", 1)])
            .when(RemoveItem { sku: "pear".into() })
            .then_error_eq(CartError::NotInCart("pear".into()));
        AggregateTest::<Cart>::given([added("apple", 1), CartEvent::CheckedOut { items: 1 }])
            .when(AddItem {
                sku: "pear".into(),
                qty: 1,
            })
            .then_error_eq(CartError::CheckedOut);
    }

    #[test]
    fn the_store_runs_the_same_decisions_and_ids_repeat() {
        let run = || {
            let store = TempStore::new().expect("temp store");
            let cart = Coordinate::new("cart:1", "shop").unwrap();
            let add = AddItem {
                sku: "apple".into(),
                qty: 2,
            };
            let done = store.execute::<Cart>(&cart, &add.into()).expect("add");
            store.clock().advance(1_000);
            let paid = store.execute::<Cart>(&cart, &CheckOut.into()).expect("pay");
            assert_eq!(paid.state.items.get("apple"), Some(&2));
            (done.receipts[0].event_id, paid.receipts[0].event_id)
        };
        assert_eq!(run(), run(), "a manual clock makes ids repeatable");
    }
}
