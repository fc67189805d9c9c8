//! Unit tests of gates, gate sets, pipelines, bypasses and the persisted
//! denial and bypass events.

use super::*;
use crate::coordinate::Coordinate;
use crate::event::{system, EventFlags, EventKind};
use crate::store::{Store, StoreConfig};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const WITHDRAWN: EventKind = EventKind::custom(0x1, 2);
const OVERDRAWN: DenialCode = DenialCode::new("overdrawn");
const TOO_LARGE: DenialCode = DenialCode::new("too_large");

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Withdrawal {
    balance: i64,
    cents: i64,
}

fn covered(w: &Withdrawal) -> Result<(), Denial> {
    if w.cents <= w.balance {
        return Ok(());
    }
    Err(Denial::new(OVERDRAWN, "not enough money")
        .with_context("balance", w.balance)
        .with_context("cents", w.cents))
}

fn small(w: &Withdrawal) -> Result<(), Denial> {
    if w.cents <= 1_000 {
        return Ok(());
    }
    Err(Denial::new(TOO_LARGE, "over the single-withdrawal limit"))
}

/// A gate that passes and counts how often it was asked.
fn counted(name: &'static str, calls: &Arc<AtomicUsize>) -> impl Gate<Withdrawal> + Send + Sync {
    let calls = Arc::clone(calls);
    FnGate::new(name, move |_: &Withdrawal| {
        calls.fetch_add(1, Ordering::Relaxed);
        Ok(())
    })
}

/// `positive`, `covered`, `small`, `audited`: the middle two can deny.
fn gates(audited: &Arc<AtomicUsize>) -> GateSet<Withdrawal> {
    GateSet::new()
        .with(FnGate::new("positive", |w: &Withdrawal| {
            if w.cents > 0 {
                return Ok(());
            }
            Err(Denial::new(
                DenialCode::new("not_positive"),
                "nothing to withdraw",
            ))
        }))
        .with(FnGate::new("covered", covered))
        .with(FnGate::new("small", small))
        .with(counted("audited", audited))
}

fn verdicts(rejection: &Rejection) -> Vec<(&'static str, Verdict)> {
    rejection
        .trace()
        .iter()
        .map(|o| (o.gate, o.verdict))
        .collect()
}

const BOTH_DENY: Withdrawal = Withdrawal {
    balance: 10,
    cents: 5_000,
};

#[test]
fn passing_gates_return_ok_and_ask_every_gate() {
    let audited = Arc::new(AtomicUsize::new(0));
    let set = gates(&audited);
    let fine = Withdrawal {
        balance: 100,
        cents: 40,
    };
    assert!(set.evaluate(&fine).is_ok());
    assert!(set.evaluate_all(&fine).is_ok());
    assert_eq!(audited.load(Ordering::Relaxed), 2);
    assert!(GateSet::<Withdrawal>::new().evaluate(&fine).is_ok());
    let names: Vec<_> = set.names().collect();
    assert_eq!(names, ["positive", "covered", "small", "audited"]);
}

#[test]
fn evaluate_stops_at_the_first_denial_and_skips_the_rest() {
    let audited = Arc::new(AtomicUsize::new(0));
    let rejection = gates(&audited).evaluate(&BOTH_DENY).unwrap_err();

    assert_eq!(rejection.denials().len(), 1);
    let denial = rejection.denial();
    assert_eq!(denial.gate, "covered", "the set stamps the gate's name");
    assert_eq!(denial.code, OVERDRAWN);
    assert_eq!(denial.context_value("balance"), Some("10"));
    assert_eq!(
        verdicts(&rejection),
        [
            ("positive", Verdict::Passed),
            ("covered", Verdict::Denied),
            ("small", Verdict::Skipped),
            ("audited", Verdict::Skipped),
        ]
    );
    assert_eq!(
        audited.load(Ordering::Relaxed),
        0,
        "skipped gates are not asked"
    );
}

#[test]
fn evaluate_all_collects_every_denial() {
    let audited = Arc::new(AtomicUsize::new(0));
    let rejection = gates(&audited).evaluate_all(&BOTH_DENY).unwrap_err();

    let codes: Vec<_> = rejection.denials().iter().map(|d| d.code).collect();
    assert_eq!(codes, [OVERDRAWN, TOO_LARGE]);
    assert_eq!(rejection.denials()[1].gate, "small");
    assert_eq!(
        verdicts(&rejection),
        [
            ("positive", Verdict::Passed),
            ("covered", Verdict::Denied),
            ("small", Verdict::Denied),
            ("audited", Verdict::Passed),
        ]
    );
    assert_eq!(audited.load(Ordering::Relaxed), 1);
}

#[test]
fn a_panicking_gate_becomes_a_denial() {
    let audited = Arc::new(AtomicUsize::new(0));
    let set = GateSet::new()
        .with(FnGate::new(
            "faulty",
            |_: &Withdrawal| -> Result<(), Denial> { panic!("rule table missing") },
        ))
        .with(counted("audited", &audited));
    let ctx = Withdrawal {
        balance: 1,
        cents: 1,
    };

    let rejection = set.evaluate(&ctx).unwrap_err();
    let denial = rejection.denial();
    assert_eq!(denial.gate, "faulty");
    assert_eq!(denial.code, DenialCode::PANICKED);
    assert!(denial.message.contains("rule table missing"));
    assert_eq!(rejection.trace()[1].verdict, Verdict::Skipped);

    let all = set.evaluate_all(&ctx).unwrap_err();
    assert_eq!(all.denials().len(), 1);
    assert_eq!(all.trace()[1].verdict, Verdict::Passed);
    assert_eq!(audited.load(Ordering::Relaxed), 1);
}

#[test]
fn a_bypass_needs_a_reason() {
    assert_eq!(Bypass::new(""), Err(BypassError::EmptyReason));
    assert_eq!(Bypass::new(" \n\t"), Err(BypassError::EmptyReason));
    let long = "x".repeat(BYPASS_REASON_BYTES_MAX + 1);
    assert_eq!(
        Bypass::new(long),
        Err(BypassError::ReasonTooLong {
            bytes: BYPASS_REASON_BYTES_MAX + 1,
            max: BYPASS_REASON_BYTES_MAX,
        })
    );
    let bypass = Bypass::new("incident 7: manual refund approved").unwrap();
    assert_eq!(bypass.reason(), "incident 7: manual refund approved");
}

#[test]
fn a_rejected_proposal_comes_back_unchanged() {
    let audited = Arc::new(AtomicUsize::new(0));
    let set = gates(&audited);
    let pipeline = Pipeline::new(&set);
    let rejected = pipeline
        .evaluate(&BOTH_DENY, Proposal::new(BOTH_DENY))
        .unwrap_err();
    assert_eq!(rejected.proposal.payload(), &BOTH_DENY);
    assert_eq!(rejected.rejection.denial().code, OVERDRAWN);
    let rejected = pipeline
        .evaluate_all(&BOTH_DENY, Proposal::new(BOTH_DENY))
        .unwrap_err();
    assert_eq!(rejected.rejection.denials().len(), 2);
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    (dir, store)
}

#[test]
fn append_denial_writes_one_event_on_the_entitys_audit_stream() {
    let (_dir, store) = open();
    let account = Coordinate::new("account:alice", "bank").unwrap();
    let other = Coordinate::new("account:bob", "bank").unwrap();
    store.append(&account, WITHDRAWN, &BOTH_DENY).unwrap();
    store.append(&other, WITHDRAWN, &BOTH_DENY).unwrap();

    let audited = Arc::new(AtomicUsize::new(0));
    let rejection = gates(&audited).evaluate(&BOTH_DENY).unwrap_err();
    let receipt = store
        .append_denial(&account, WITHDRAWN, &rejection)
        .unwrap();

    // Beside the entity's stream, not in it: a CAS on the entity still
    // expects its own last sequence.
    assert_eq!(store.stream("account:alice").len(), 1);
    assert_eq!(store.entity_sequence("account:alice"), 1);
    let trail = store.audit_trail("account:alice");
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].event_id, receipt.event_id);
    assert_eq!(trail[0].kind, system::DENIAL);
    assert_eq!(trail[0].coordinate, account.audit());
    assert_eq!(receipt.entity_sequence, 1);
    assert!(store.audit_trail("account:bob").is_empty());
    assert_eq!(store.by_fact(system::DENIAL).len(), 1);

    let event = store.get(receipt.event_id).unwrap().unwrap();
    assert!(event.header.flags.contains(EventFlags::SYSTEM));
    assert_eq!(event.payload["denials"][0]["gate"], "covered");
    assert_eq!(event.payload["denials"][0]["code"], "overdrawn");
    assert_eq!(event.payload["trace"][2]["verdict"], "skipped");
    let record: DenialRecord = serde_json::from_value(event.payload).unwrap();
    assert_eq!(record, DenialRecord::new(WITHDRAWN, &rejection));
    assert_eq!(record.proposed_kind, WITHDRAWN);
    assert_eq!(record.denials[0].message, "not enough money");
    assert_eq!(record.trace.len(), 4);

    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn a_bypass_is_recorded_before_its_receipt_is_spent() {
    let (_dir, store) = open();
    let account = Coordinate::new("account:alice", "bank").unwrap();
    let audited = Arc::new(AtomicUsize::new(0));
    let set = gates(&audited);
    let pipeline = Pipeline::new(&set);

    let bypass = Bypass::new("incident 7: manual refund approved").unwrap();
    let receipt = pipeline
        .bypass(
            &store,
            &account,
            WITHDRAWN,
            Proposal::new(BOTH_DENY),
            bypass,
        )
        .unwrap();
    let bypass_id = receipt.bypass_event_id().expect("a bypass receipt");
    assert_eq!(audited.load(Ordering::Relaxed), 0, "a bypass asks no gate");

    let written = pipeline
        .commit(receipt, |w| store.append(&account, WITHDRAWN, &w))
        .unwrap();

    let kinds: Vec<_> = store
        .stream("account:alice")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, [WITHDRAWN]);
    assert_eq!(written.entity_sequence, 1);
    let trail = store.audit_trail("account:alice");
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (trail[0].kind, trail[0].event_id),
        (system::BYPASS, bypass_id)
    );
    assert!(trail[0].sequence < store.stream("account:alice")[0].sequence);

    let event = store.get(bypass_id).unwrap().unwrap();
    assert!(event.header.flags.contains(EventFlags::SYSTEM));
    let record: BypassRecord = serde_json::from_value(event.payload).unwrap();
    assert_eq!(record.reason, "incident 7: manual refund approved");
    assert_eq!(record.proposed_kind, WITHDRAWN);
    assert_eq!(record.gates, ["positive", "covered", "small", "audited"]);
    assert!(store.verify().unwrap().is_clean());
}

#[test]
fn commit_hands_the_payload_to_the_closure() {
    let (_dir, store) = open();
    let account = Coordinate::new("account:alice", "bank").unwrap();
    let audited = Arc::new(AtomicUsize::new(0));
    let set = gates(&audited);
    let pipeline = Pipeline::new(&set);
    let fine = Withdrawal {
        balance: 100,
        cents: 40,
    };

    let receipt = pipeline.evaluate(&fine, Proposal::new(fine)).unwrap();
    assert_eq!(receipt.bypass_event_id(), None);
    assert_eq!(receipt.payload(), &fine);
    let written = pipeline
        .commit(receipt, |w| store.append(&account, WITHDRAWN, &w))
        .unwrap();

    let event = store.get(written.event_id).unwrap().unwrap();
    assert_eq!(event.kind(), WITHDRAWN);
    let back: Withdrawal = serde_json::from_value(event.payload).unwrap();
    assert_eq!(back, fine);
    assert_eq!(store.stream("account:alice").len(), 1);
}
