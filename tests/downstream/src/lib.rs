//! The event families of a small shop, written as a batpak user writes them:
//! a cart with a nested line item and payment, and the stock of a warehouse
//! whose `Counted` event has grown a field. `tests/schema.rs` checks that
//! today's types still read everything `schemas/` recorded.

use serde::{Deserialize, Serialize};

/// A shopping cart's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x5)]
pub enum Cart {
    /// A customer opened the cart.
    #[batpak(id = 1)]
    Opened { customer: String },
    /// An item went into the cart.
    #[batpak(id = 2)]
    ItemAdded { item: LineItem },
    /// An item came out again.
    #[batpak(id = 3)]
    ItemRemoved { sku: String },
    /// The cart was paid for.
    #[batpak(id = 4)]
    CheckedOut { total_cents: u64, payment: Payment },
}

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct LineItem {
    /// The article.
    pub sku: String,
    /// How many (a raw byte on the wire).
    pub quantity: u8,
    /// The price of one, in cents.
    pub unit_cents: u64,
}

/// How a cart was paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub enum Payment {
    /// By card.
    Card,
    /// With a voucher.
    Voucher { code: String },
}

/// A warehouse's stock events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x6)]
pub enum Stock {
    /// Units arrived.
    #[batpak(id = 1)]
    Received { sku: String, units: u32 },
    /// Units were counted; version 1 did not say where.
    #[batpak(id = 2, version = 2, upcast_from = CountedV1)]
    Counted {
        sku: String,
        units: u32,
        shelf: String,
    },
}

/// `Stock::Counted` at version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct CountedV1 {
    /// The article.
    pub sku: String,
    /// Units found.
    pub units: u32,
}

impl From<CountedV1> for Stock {
    fn from(v: CountedV1) -> Self {
        Stock::Counted {
            sku: v.sku,
            units: v.units,
            shelf: String::new(),
        }
    }
}
