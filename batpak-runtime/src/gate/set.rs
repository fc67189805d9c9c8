//! [`GateSet`]: an ordered list of gates, evaluated fail-fast
//! ([`GateSet::evaluate`]) or all of them ([`GateSet::evaluate_all`]), and the
//! [`Rejection`] a refused evaluation returns, with its trace of which gates
//! passed, denied or were skipped.
//!
//! Evaluation allocates nothing while gates pass: the trace is built only once
//! a gate has denied. A gate that panics is caught and counts as a denial with
//! code [`PANICKED`](super::DenialCode::PANICKED), so one faulty rule cannot
//! take the caller down. The panic hook still reports the panic as usual, and
//! under `panic = "abort"` nothing unwinds, so nothing can be caught.

use super::{Denial, Gate};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A gate as a `GateSet` stores it.
type BoxedGate<Ctx> = Box<dyn Gate<Ctx> + Send + Sync>;

/// What one gate said during an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The gate allowed the proposal.
    Passed,
    /// The gate refused the proposal.
    Denied,
    /// The gate was not asked: an earlier gate denied in a fail-fast evaluation.
    Skipped,
}

/// One line of an evaluation trace: a gate and its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GateOutcome {
    /// The gate's name.
    pub gate: &'static str,
    /// What it said.
    pub verdict: Verdict,
}

/// Why a [`GateSet`] refused: every denial it collected (exactly one for a
/// fail-fast evaluation) and a trace with one [`GateOutcome`] per gate, in
/// gate order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    denials: Vec<Denial>,
    trace: Vec<GateOutcome>,
}

impl Rejection {
    fn new(denials: Vec<Denial>, trace: Vec<GateOutcome>) -> Self {
        assert!(!denials.is_empty(), "a rejection holds at least one denial");
        let denied = trace.iter().filter(|o| o.verdict == Verdict::Denied);
        assert_eq!(denied.count(), denials.len(), "trace and denials agree");
        Self { denials, trace }
    }

    /// The first denial, in gate order.
    pub fn denial(&self) -> &Denial {
        &self.denials[0]
    }

    /// Every denial, in gate order.
    pub fn denials(&self) -> &[Denial] {
        &self.denials
    }

    /// One outcome per gate of the set, in gate order.
    pub fn trace(&self) -> &[GateOutcome] {
        &self.trace
    }

    /// The denials, by value.
    pub fn into_denials(self) -> Vec<Denial> {
        self.denials
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, denial) in self.denials.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{denial}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

/// An ordered list of gates over a context `Ctx`.
///
/// Gates run in the order they were added. [`GateSet::evaluate`] stops at the
/// first denial; [`GateSet::evaluate_all`] asks every gate and reports every
/// denial.
pub struct GateSet<Ctx: ?Sized> {
    gates: Vec<BoxedGate<Ctx>>,
}

impl<Ctx: ?Sized> Default for GateSet<Ctx> {
    fn default() -> Self {
        Self { gates: Vec::new() }
    }
}

impl<Ctx: ?Sized> fmt::Debug for GateSet<Ctx> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl<Ctx: ?Sized> GateSet<Ctx> {
    /// An empty set; it passes everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set with `gate` added last.
    pub fn with(mut self, gate: impl Gate<Ctx> + Send + Sync + 'static) -> Self {
        self.push(gate);
        self
    }

    /// Adds `gate` last.
    pub fn push(&mut self, gate: impl Gate<Ctx> + Send + Sync + 'static) {
        self.gates.push(Box::new(gate));
    }

    /// How many gates the set holds.
    pub fn len(&self) -> usize {
        self.gates.len()
    }

    /// Whether the set holds no gate.
    pub fn is_empty(&self) -> bool {
        self.gates.is_empty()
    }

    /// The gates' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.gates.iter().map(|g| g.name())
    }

    /// Asks each gate in order and stops at the first denial; the gates after
    /// it are `Skipped` in the trace.
    pub fn evaluate(&self, ctx: &Ctx) -> Result<(), Rejection> {
        for (at, gate) in self.gates.iter().enumerate() {
            if let Err(denial) = ask(gate.as_ref(), ctx) {
                let mut trace = self.passed_before(at);
                trace.push(outcome(gate.as_ref(), Verdict::Denied));
                let rest = self.gates[at + 1..].iter();
                trace.extend(rest.map(|g| outcome(g.as_ref(), Verdict::Skipped)));
                return Err(Rejection::new(vec![denial], trace));
            }
        }
        Ok(())
    }

    /// Asks every gate, also after a denial, and reports every denial.
    pub fn evaluate_all(&self, ctx: &Ctx) -> Result<(), Rejection> {
        let mut denials = Vec::new();
        let mut trace = Vec::new();
        for (at, gate) in self.gates.iter().enumerate() {
            let verdict = match ask(gate.as_ref(), ctx) {
                Ok(()) => Verdict::Passed,
                Err(denial) => {
                    if denials.is_empty() {
                        // The first denial: only now is a trace worth building.
                        trace = self.passed_before(at);
                    }
                    denials.push(denial);
                    Verdict::Denied
                }
            };
            if !denials.is_empty() {
                trace.push(outcome(gate.as_ref(), verdict));
            }
        }
        if denials.is_empty() {
            return Ok(());
        }
        Err(Rejection::new(denials, trace))
    }

    /// A trace in which the gates before `at` passed, with room for the rest.
    fn passed_before(&self, at: usize) -> Vec<GateOutcome> {
        let mut trace = Vec::with_capacity(self.gates.len());
        let before = self.gates[..at].iter();
        trace.extend(before.map(|g| outcome(g.as_ref(), Verdict::Passed)));
        trace
    }
}

fn outcome<Ctx: ?Sized>(gate: &(dyn Gate<Ctx> + Send + Sync), verdict: Verdict) -> GateOutcome {
    GateOutcome {
        gate: gate.name(),
        verdict,
    }
}

/// Asks one gate, turning a panic into a denial and stamping the gate's name
/// on whatever denial comes back.
fn ask<Ctx: ?Sized>(gate: &(dyn Gate<Ctx> + Send + Sync), ctx: &Ctx) -> Result<(), Denial> {
    match catch_unwind(AssertUnwindSafe(|| gate.evaluate(ctx))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(mut denial)) => {
            denial.gate = gate.name();
            Err(denial)
        }
        Err(payload) => Err(Denial::panicked(gate.name(), payload.as_ref())),
    }
}
