//! Policy gates: rules that must allow a proposed write before it reaches the
//! store.
//!
//! A [`Gate`] looks at a context and either passes or returns a [`Denial`]
//! (which gate, a typed [`DenialCode`], a message and key/value context). A
//! [`GateSet`] runs gates in order, fail-fast or all of them, and turns a
//! panicking gate into a denial. A [`Pipeline`] wraps a set for one write: it
//! turns a [`Proposal`] into a [`Receipt`], which only a passing evaluation (or
//! a recorded [`Bypass`]) can produce, and [`Pipeline::commit`] hands the
//! receipt's payload to the closure that appends it.
//!
//! Refusals and overrides are part of the audit trail:
//! `Store::append_denial` writes a denial, with the trace of which gates
//! passed, denied or were skipped, as a library system event
//! ([`event::system::DENIAL`](crate::event::system::DENIAL)) on the entity's
//! audit stream (`$batpak:audit:<entity>`, beside its own stream, so a
//! recorded refusal never shifts the sequence a compare-and-swap expects),
//! and `Store::append_bypass` records a bypass and its reason there
//! ([`event::system::BYPASS`](crate::event::system::BYPASS));
//! `Store::audit_trail` reads them back.
//!
//! ```
//! use batpak_runtime::gate::{Denial, DenialCode, FnGate, GateSet, Verdict};
//!
//! struct Withdrawal { balance: i64, cents: i64 }
//! const NOT_POSITIVE: DenialCode = DenialCode::new("not_positive");
//! const OVERDRAWN: DenialCode = DenialCode::new("overdrawn");
//!
//! let gates = GateSet::new()
//!     .with(FnGate::new("positive", |w: &Withdrawal| {
//!         if w.cents > 0 { return Ok(()); }
//!         Err(Denial::new(NOT_POSITIVE, "nothing to withdraw"))
//!     }))
//!     .with(FnGate::new("covered", |w: &Withdrawal| {
//!         if w.cents <= w.balance { return Ok(()); }
//!         Err(Denial::new(OVERDRAWN, "not enough money").with_context("balance", w.balance))
//!     }));
//!
//! assert!(gates.evaluate(&Withdrawal { balance: 100, cents: 40 }).is_ok());
//!
//! let rejection = gates.evaluate(&Withdrawal { balance: 10, cents: 40 }).unwrap_err();
//! assert_eq!(rejection.denial().gate, "covered");
//! assert_eq!(rejection.denial().code, OVERDRAWN);
//! assert_eq!(rejection.trace()[0].verdict, Verdict::Passed);
//! ```

mod bypass;
mod denial;
mod pipeline;
mod record;
mod set;

pub use bypass::{Bypass, BypassError, BYPASS_REASON_BYTES_MAX};
pub use denial::{Denial, DenialCode};
pub use pipeline::{Pipeline, Proposal, Receipt, Rejected};
pub use record::{BypassRecord, DenialEntry, DenialRecord, TraceEntry};
pub use set::{GateOutcome, GateSet, Rejection, Verdict};

/// A rule over a context `Ctx`: it passes, or it denies with a reason.
///
/// Implement it on a type for rules with configuration, or wrap a closure in
/// [`FnGate`]. A gate should be a pure check: it may run many times, or not at
/// all when an earlier gate denied.
pub trait Gate<Ctx: ?Sized> {
    /// The gate's name, as traces and persisted denials show it.
    fn name(&self) -> &'static str;

    /// `Ok(())` to allow, or the reason to refuse. The evaluating
    /// [`GateSet`] fills in [`Denial::gate`].
    fn evaluate(&self, ctx: &Ctx) -> Result<(), Denial>;
}

/// A gate made from a name and a closure.
#[derive(Clone, Copy)]
pub struct FnGate<F> {
    name: &'static str,
    check: F,
}

impl<F> FnGate<F> {
    /// The gate `name` that asks `check`.
    pub const fn new(name: &'static str, check: F) -> Self {
        Self { name, check }
    }
}

impl<F> std::fmt::Debug for FnGate<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnGate").field("name", &self.name).finish()
    }
}

impl<Ctx: ?Sized, F> Gate<Ctx> for FnGate<F>
where
    F: Fn(&Ctx) -> Result<(), Denial>,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn evaluate(&self, ctx: &Ctx) -> Result<(), Denial> {
        (self.check)(ctx)
    }
}

#[cfg(test)]
mod tests;
