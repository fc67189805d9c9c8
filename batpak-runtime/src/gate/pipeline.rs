//! [`Pipeline`]: one write's path through a [`GateSet`]. A [`Proposal`] goes
//! in; a [`Receipt`] comes out only when every gate passed (or a [`Bypass`] was
//! recorded), and [`Pipeline::commit`] is the way to spend it.
//!
//! `Receipt` has private fields and no public constructor, so holding one
//! proves the proposal was allowed: code that appends through `commit` cannot
//! skip the gates by accident.

use super::{Bypass, GateSet, Rejection};
use crate::coordinate::Coordinate;
use crate::event::{EventId, EventKind};
use crate::store::{ReadWrite, Store, StoreError};
use std::fmt;

/// A write that still has to pass the gates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal<T> {
    payload: T,
}

impl<T> Proposal<T> {
    /// A proposal to write `payload`.
    pub fn new(payload: T) -> Self {
        Self { payload }
    }

    /// What would be written.
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// The payload, giving up the proposal.
    pub fn into_payload(self) -> T {
        self.payload
    }
}

/// Proof that a proposal was allowed: by every gate of a pipeline, or by a
/// recorded bypass. Only [`Pipeline::evaluate`], [`Pipeline::evaluate_all`] and
/// [`Pipeline::bypass`] make one; [`Pipeline::commit`] spends it.
#[derive(Debug)]
#[must_use = "a receipt does nothing until it is committed"]
pub struct Receipt<T> {
    payload: T,
    bypass_event_id: Option<EventId>,
}

impl<T> Receipt<T> {
    /// What will be written.
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// The id of the `BYPASS` event that authorized this receipt, or `None`
    /// when the gates passed.
    pub fn bypass_event_id(&self) -> Option<EventId> {
        self.bypass_event_id
    }
}

/// A refused proposal, handed back with the reasons so the caller can record
/// the denial, change the proposal, or bypass with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejected<T> {
    /// The proposal, unchanged.
    pub proposal: Proposal<T>,
    /// The denials and the trace.
    pub rejection: Rejection,
}

impl<T> fmt::Display for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proposal rejected: {}", self.rejection)
    }
}

impl<T: fmt::Debug> std::error::Error for Rejected<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.rejection)
    }
}

/// A gate set applied to proposals: evaluate, then commit the receipt.
pub struct Pipeline<'s, Ctx: ?Sized> {
    gates: &'s GateSet<Ctx>,
}

impl<Ctx: ?Sized> Clone for Pipeline<'_, Ctx> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Ctx: ?Sized> Copy for Pipeline<'_, Ctx> {}

impl<Ctx: ?Sized> fmt::Debug for Pipeline<'_, Ctx> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("gates", self.gates)
            .finish()
    }
}

impl<'s, Ctx: ?Sized> Pipeline<'s, Ctx> {
    /// A pipeline through `gates`.
    pub fn new(gates: &'s GateSet<Ctx>) -> Self {
        Self { gates }
    }

    /// The gates this pipeline asks.
    pub fn gates(&self) -> &'s GateSet<Ctx> {
        self.gates
    }

    /// Asks the gates fail-fast about `ctx`; a receipt for `proposal` if all
    /// pass, or the proposal back with the first denial.
    pub fn evaluate<T>(&self, ctx: &Ctx, proposal: Proposal<T>) -> Result<Receipt<T>, Rejected<T>> {
        match self.gates.evaluate(ctx) {
            Ok(()) => Ok(Receipt {
                payload: proposal.payload,
                bypass_event_id: None,
            }),
            Err(rejection) => Err(Rejected {
                proposal,
                rejection,
            }),
        }
    }

    /// [`Pipeline::evaluate`], asking every gate and reporting every denial.
    pub fn evaluate_all<T>(
        &self,
        ctx: &Ctx,
        proposal: Proposal<T>,
    ) -> Result<Receipt<T>, Rejected<T>> {
        match self.gates.evaluate_all(ctx) {
            Ok(()) => Ok(Receipt {
                payload: proposal.payload,
                bypass_event_id: None,
            }),
            Err(rejection) => Err(Rejected {
                proposal,
                rejection,
            }),
        }
    }

    /// Spends `receipt`: hands its payload to `append` (typically a closure
    /// that calls `store.append_typed`) and returns what `append` returns.
    pub fn commit<T, R>(&self, receipt: Receipt<T>, append: impl FnOnce(T) -> R) -> R {
        append(receipt.payload)
    }

    /// Lets `proposal` through without asking the gates: records a `BYPASS`
    /// event on `coordinate` (with the reason, the proposed kind and the
    /// names of the bypassed gates) and returns a receipt that carries that
    /// event's id. When recording fails there is no receipt.
    pub fn bypass<T>(
        &self,
        store: &Store<ReadWrite>,
        coordinate: &Coordinate,
        proposed_kind: EventKind,
        proposal: Proposal<T>,
        bypass: Bypass,
    ) -> Result<Receipt<T>, StoreError> {
        let recorded = store.append_bypass(coordinate, proposed_kind, self.gates, &bypass)?;
        Ok(Receipt {
            payload: proposal.payload,
            bypass_event_id: Some(recorded.event_id),
        })
    }
}
