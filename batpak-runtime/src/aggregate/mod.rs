//! Aggregates: the decide/evolve heart of an event-sourced application.
//!
//! An [`Aggregate`] is a state folded from one entity's events of one event
//! family ([`Aggregate::apply`], evolve) that decides which events a command
//! produces ([`Aggregate::handle`], decide). The store does the rest:
//! [`Store::load`](crate::store::Store::load) folds the entity's events
//! (resuming from the projection cache when one is set; without one, every
//! load folds the whole stream, so give a store with long-lived aggregates a
//! [`MemoryCache`](crate::store::MemoryCache) or a
//! [`NativeCache`](crate::store::NativeCache)) and returns the state with the
//! entity sequence it reflects;
//! [`Store::execute`](crate::store::Store::execute) loads, decides, runs the
//! optional policy gates over the decided events, and appends them all as one
//! atomic batch with a compare-and-swap at that sequence. Commands on one
//! entity from this process take turns (a lock striped by entity, held from
//! load to append), so they never race each other; a write to the entity by
//! another path (a plain append) makes the CAS fail, and `execute` then loads
//! and decides again, up to [`ExecuteOptions::retries_max`] times. With an idempotency
//! key, a retried command returns the original receipts without deciding
//! again.
//!
//! The facade crate's `batpak::aggregate` docs show a whole aggregate with
//! derived events; `examples/cart.rs` is an application built on it.

mod run;

use crate::gate::{GateSet, Rejection};
use crate::schema::EventFamily;
use crate::store::{AppendReceipt, StoreError};
use std::fmt;

/// A state that decides (`handle`) and evolves (`apply`); see the module docs.
///
/// `Default` is the state of an entity with no events. The state is
/// serialized into the projection cache, so a change of its shape must bump
/// [`Aggregate::cache_version`].
pub trait Aggregate: Default + serde::Serialize + serde::de::DeserializeOwned {
    /// The event family the aggregate folds and emits.
    type Event: EventFamily;
    /// What callers ask the aggregate to do.
    type Command;
    /// Why the aggregate refuses a command.
    type Error;

    /// Folds one event into the state (evolve). Must not fail: the event
    /// happened.
    fn apply(&mut self, event: &Self::Event);

    /// Decides the events a command produces from the current state, or
    /// refuses it. An empty list is a command that changes nothing.
    fn handle(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// The version of the state's shape; bump it when a cached state of the
    /// old shape must no longer be used.
    fn cache_version() -> u32 {
        0
    }
}

/// An aggregate's state and the entity sequence it reflects.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<A> {
    /// The folded state (`Default` for an entity without events).
    pub state: A,
    /// The entity sequence of the entity's last visible event, of any kind,
    /// when the state was read (0 for none): the CAS expectation of the next
    /// append.
    pub sequence: u64,
}

/// What [`Store::execute`](crate::store::Store::execute) did.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed<A> {
    /// The receipts of the appended events, in order (empty when the command
    /// decided nothing).
    pub receipts: Vec<AppendReceipt>,
    /// The state with the command's events applied.
    pub state: A,
    /// The entity sequence the state reflects.
    pub sequence: u64,
    /// How many attempts met a concurrent write and were decided again.
    pub retries: u32,
    /// The idempotency key was found used before deciding: `receipts` are
    /// the original ones and nothing was decided or written now. (When two
    /// callers run the same keyed command at once, the store writes it once
    /// and both get the same receipts; the one that lost the race may still
    /// say `false`.)
    pub replayed: bool,
}

/// How to execute a command.
#[derive(Debug)]
pub struct ExecuteOptions<'g, E> {
    /// Attempts after the first when a concurrent write to the entity made
    /// the compare-and-swap fail (default 32; each retry waits a random pause
    /// that doubles with the attempt, from 50 µs up to 20 ms).
    pub retries_max: u32,
    /// Makes the command idempotent: a command executed again with the same
    /// key returns the original receipts (default none).
    pub idempotency_key: Option<u128>,
    /// Gates every decided event must pass before anything is written.
    pub gates: Option<&'g GateSet<E>>,
}

impl<E> ExecuteOptions<'static, E> {
    /// 32 retries, no idempotency key, no gates.
    pub fn new() -> Self {
        Self {
            retries_max: 32,
            idempotency_key: None,
            gates: None,
        }
    }
}

impl<E> Default for ExecuteOptions<'static, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'g, E> ExecuteOptions<'g, E> {
    /// Sets the number of retries after a conflict.
    pub fn with_retries_max(mut self, retries: u32) -> Self {
        self.retries_max = retries;
        self
    }

    /// Makes the command idempotent under `key` (e.g. a request id).
    pub fn with_idempotency(mut self, key: u128) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Runs `gates` over each decided event; a denial writes nothing.
    pub fn with_gates<'h>(self, gates: &'h GateSet<E>) -> ExecuteOptions<'h, E> {
        ExecuteOptions {
            retries_max: self.retries_max,
            idempotency_key: self.idempotency_key,
            gates: Some(gates),
        }
    }
}

/// Why a command was not executed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ExecuteError<E> {
    /// The aggregate refused the command.
    Rejected(E),
    /// A gate denied one of the decided events; nothing was written.
    Denied(Rejection),
    /// Every attempt met a concurrent write to the entity.
    Conflict {
        /// Attempts made (the first and every retry).
        attempts: u32,
    },
    /// The store failed (reading, deciding nothing of it, or appending).
    Store(StoreError),
}

impl<E> From<StoreError> for ExecuteError<E> {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl<E: fmt::Display> fmt::Display for ExecuteError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(e) => write!(f, "the command was refused: {e}"),
            Self::Denied(r) => write!(f, "a gate denied the command: {r}"),
            Self::Conflict { attempts } => write!(
                f,
                "the entity changed under every one of {attempts} attempts; retry later"
            ),
            Self::Store(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for ExecuteError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}
