//! The persisted side of gating: [`DenialRecord`] and [`BypassRecord`], the
//! JSON payloads of the library's `DENIAL` and `BYPASS` system events, and the
//! store methods that append them to the entity's audit stream
//! (`$batpak:audit:<entity>`, same scope): beside the entity's own stream,
//! never in it, so recording a refusal never moves the sequence a
//! compare-and-swap on the entity expects.
//!
//! Records own their strings so they read back with `serde_json::from_value`
//! from [`Store::get`]; they are built only on the denial or bypass path.

use super::{Bypass, Denial, GateOutcome, GateSet, Rejection, Verdict};
use crate::coordinate::Coordinate;
use crate::event::{system, EventKind};
use crate::store::{AppendReceipt, ReadWrite, Store, StoreError};
use serde::{Deserialize, Serialize};

/// One denial as persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DenialEntry {
    /// The gate that denied.
    pub gate: String,
    /// Its [`DenialCode`](super::DenialCode), by name.
    pub code: String,
    /// The reason in words.
    pub message: String,
    /// The facts behind the decision, as `[key, value]` pairs in order.
    pub context: Vec<(String, String)>,
}

impl From<&Denial> for DenialEntry {
    fn from(denial: &Denial) -> Self {
        Self {
            gate: denial.gate.to_owned(),
            code: denial.code.as_str().to_owned(),
            message: denial.message.clone(),
            context: denial.context.clone(),
        }
    }
}

/// One line of a persisted trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TraceEntry {
    /// The gate's name.
    pub gate: String,
    /// What it said.
    pub verdict: Verdict,
}

impl From<&GateOutcome> for TraceEntry {
    fn from(outcome: &GateOutcome) -> Self {
        Self {
            gate: outcome.gate.to_owned(),
            verdict: outcome.verdict,
        }
    }
}

/// The payload of a `DENIAL` event: what was proposed, every denial, and one
/// trace line per gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DenialRecord {
    /// The kind of the event that was refused.
    pub proposed_kind: EventKind,
    /// The denials in gate order; the first one decided a fail-fast evaluation.
    pub denials: Vec<DenialEntry>,
    /// Which gates passed, denied or were skipped, in gate order.
    pub trace: Vec<TraceEntry>,
}

impl DenialRecord {
    /// The record of `rejection` for a proposal of `proposed_kind`.
    pub fn new(proposed_kind: EventKind, rejection: &Rejection) -> Self {
        Self {
            proposed_kind,
            denials: rejection.denials().iter().map(DenialEntry::from).collect(),
            trace: rejection.trace().iter().map(TraceEntry::from).collect(),
        }
    }
}

/// The payload of a `BYPASS` event: what was let through, why, and which
/// gates were not asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BypassRecord {
    /// The kind of the event the bypass lets through.
    pub proposed_kind: EventKind,
    /// The reason given for the bypass.
    pub reason: String,
    /// The names of the gates that were bypassed, in order.
    pub gates: Vec<String>,
}

impl BypassRecord {
    /// The record of `bypass` around `gates` for a proposal of `proposed_kind`.
    pub fn new<Ctx: ?Sized>(
        proposed_kind: EventKind,
        gates: &GateSet<Ctx>,
        bypass: &Bypass,
    ) -> Self {
        Self {
            proposed_kind,
            reason: bypass.reason().to_owned(),
            gates: gates.names().map(str::to_owned).collect(),
        }
    }
}

impl Store<ReadWrite> {
    /// Persists `rejection` of a proposed `proposed_kind` event as a
    /// [`system::DENIAL`] event on `coordinate`'s audit stream
    /// ([`Coordinate::audit`]; read it with [`Store::audit_trail`]). The
    /// payload is a JSON [`DenialRecord`]. The entity's own stream and
    /// sequence are untouched.
    pub fn append_denial(
        &self,
        coordinate: &Coordinate,
        proposed_kind: EventKind,
        rejection: &Rejection,
    ) -> Result<AppendReceipt, StoreError> {
        let record = DenialRecord::new(proposed_kind, rejection);
        self.append_audit(coordinate, system::DENIAL, &record)
    }

    /// Records that `bypass` let a proposed `proposed_kind` event past `gates`,
    /// as a [`system::BYPASS`] event on `coordinate`'s audit stream with a
    /// JSON [`BypassRecord`] payload. [`Pipeline::bypass`](super::Pipeline::bypass)
    /// calls this before it hands out a receipt.
    pub fn append_bypass<Ctx: ?Sized>(
        &self,
        coordinate: &Coordinate,
        proposed_kind: EventKind,
        gates: &GateSet<Ctx>,
        bypass: &Bypass,
    ) -> Result<AppendReceipt, StoreError> {
        let record = BypassRecord::new(proposed_kind, gates, bypass);
        self.append_audit(coordinate, system::BYPASS, &record)
    }
}

impl<M> Store<M> {
    /// The denials and bypasses recorded for `entity`, in order (its audit
    /// stream; see [`Store::append_denial`]).
    pub fn audit_trail(&self, entity: &str) -> Vec<crate::store::IndexEntry> {
        self.stream(&crate::coordinate::audit_entity(entity))
    }
}
