//! The event families and projections every example shares: a bank account, a
//! game player whose `Moved` event has grown from one field to three, and the
//! alerts a reactor raises. The kind ids below are a public contract: events
//! written with them must keep reading back, so an id is never reused for
//! something else. `cargo xtask schema` snapshots these families.
//!
//! This is a plain module: each example includes it with
//! `#[path = "domain/mod.rs"] mod domain;`.

#![allow(dead_code)]

use batpak::{Apply, EventMeta};
use serde::{Deserialize, Serialize};

/// A bank account's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
pub enum Account {
    /// The account was opened for `owner`.
    #[batpak(id = 1)]
    Opened { owner: String },
    /// Money came in.
    #[batpak(id = 2)]
    Deposited { cents: u64 },
    /// Money went out.
    #[batpak(id = 3)]
    Withdrawn { cents: u64 },
}

/// An account's balance, folded from its `Account` events.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Account)]
pub struct Balance {
    /// Who opened the account.
    pub owner: String,
    /// Deposits minus withdrawals (signed, so an overdraft stays visible).
    pub cents: i64,
    /// Events folded, the opening included.
    pub movements: u32,
}

impl Apply<Account> for Balance {
    fn apply(&mut self, event: &Account, _meta: &EventMeta) {
        match event {
            Account::Opened { owner } => self.owner = owner.clone(),
            Account::Deposited { cents } => self.cents += *cents as i64,
            Account::Withdrawn { cents } => self.cents -= *cents as i64,
        }
        self.movements += 1;
    }
}

/// A game player's events. `Moved` is at version 3: versions 1 and 2 still
/// read back, upcast through [`MovedV1`] and [`MovedV2`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x2)]
pub enum Player {
    /// The player joined under `name`.
    #[batpak(id = 1)]
    Joined { name: String },
    /// The player moved to a point in space.
    #[batpak(id = 2, version = 3, upcast_from = MovedV2)]
    Moved { x: i32, y: i32, z: i32 },
    /// The player left.
    #[batpak(id = 3)]
    Left,
}

/// `Player::Moved` at version 2: a point on a plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
#[batpak(upcast_from = MovedV1)]
pub struct MovedV2 {
    pub x: i32,
    pub y: i32,
}

/// `Player::Moved` at version 1: a point on a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct MovedV1 {
    pub x: i32,
}

impl From<MovedV1> for MovedV2 {
    fn from(v: MovedV1) -> Self {
        MovedV2 { x: v.x, y: 0 }
    }
}

impl From<MovedV2> for Player {
    fn from(v: MovedV2) -> Self {
        Player::Moved {
            x: v.x,
            y: v.y,
            z: 0,
        }
    }
}

/// What a reactor raises when it sees something worth a human's attention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x3)]
pub enum Alert {
    /// A withdrawal above the limit.
    #[batpak(id = 1)]
    LargeWithdrawal { account: String, cents: u64 },
}

/// Families as an earlier release declared them, so examples can write the
/// events old code wrote.
pub mod legacy {
    use serde::{Deserialize, Serialize};

    /// `Player` as the first release declared it: the same name, category and
    /// id, with `Moved` at version 1.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x2)]
    pub enum Player {
        /// The player moved along a line.
        #[batpak(id = 2)]
        Moved { x: i32 },
    }
}
