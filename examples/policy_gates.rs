//! Policy gates: rules that must allow a write before it reaches the store.
//!
//! A bank account gets three gates: the amount must be positive, covered by
//! the balance, and under a per-withdrawal limit. One withdrawal passes and is
//! appended; one is denied and the denial is stored in the account's own
//! stream; one is let through by a supervisor's bypass, which is recorded with
//! its reason before the withdrawal is appended.
//!
//! The `Account` family is the shared one from `examples/domain/mod.rs`.
//!
//! Run with `cargo run --example policy_gates`.

#[path = "domain/mod.rs"]
mod domain;

use batpak::event::system;
use batpak::gate::{Bypass, Denial, DenialCode, FnGate, GateSet, Pipeline, Proposal, Rejection};
use batpak::prelude::*;
use domain::Account;

/// What the gates look at: the withdrawal and the balance it would come from.
struct Check {
    cents: u64,
    balance_cents: u64,
}

const NOT_POSITIVE: DenialCode = DenialCode::new("not_positive");
const OVERDRAWN: DenialCode = DenialCode::new("overdrawn");
const OVER_LIMIT: DenialCode = DenialCode::new("over_limit");
const LIMIT_CENTS: u64 = 1_000 * 100;

fn gates() -> GateSet<Check> {
    GateSet::new()
        .with(FnGate::new("positive", |c: &Check| {
            if c.cents > 0 {
                return Ok(());
            }
            Err(Denial::new(
                NOT_POSITIVE,
                "a withdrawal must take something",
            ))
        }))
        .with(FnGate::new("covered", |c: &Check| {
            if c.cents <= c.balance_cents {
                return Ok(());
            }
            Err(Denial::new(OVERDRAWN, "the balance does not cover it")
                .with_context("balance", money(c.balance_cents))
                .with_context("requested", money(c.cents)))
        }))
        .with(FnGate::new("under_limit", |c: &Check| {
            if c.cents <= LIMIT_CENTS {
                return Ok(());
            }
            Err(Denial::new(OVER_LIMIT, "above the per-withdrawal limit")
                .with_context("limit", money(LIMIT_CENTS))
                .with_context("requested", money(c.cents)))
        }))
}

fn money(cents: u64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

fn show_rejection(rejection: &Rejection) {
    println!("   denied: {}", rejection.denial());
    let trace: Vec<String> = rejection
        .trace()
        .iter()
        .map(|o| format!("{} {:?}", o.gate, o.verdict).to_lowercase())
        .collect();
    println!("   trace:  {}", trace.join(", "));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(StoreConfig::new(dir.path()))?;
    let alice = Coordinate::new("account:alice", "bank")?;
    let gates = gates();
    let pipeline = Pipeline::new(&gates);
    let names: Vec<&str> = gates.names().collect();
    println!("batpak policy gates: a store in {}", dir.path().display());
    println!(
        "every withdrawal must pass, in order: {}\n",
        names.join(", ")
    );

    let mut balance_cents = 1_500 * 100;
    store.append_typed(
        &alice,
        &Account::Deposited {
            cents: balance_cents,
        },
    )?;
    println!("0. alice deposits {}", money(balance_cents));

    // A withdrawal every gate allows: the receipt is spent by appending it.
    let cents = 200 * 100;
    println!("1. alice asks to withdraw {}", money(cents));
    let check = Check {
        cents,
        balance_cents,
    };
    let proposal = Proposal::new(Account::Withdrawn { cents });
    match pipeline.evaluate(&check, proposal) {
        Ok(receipt) => {
            let written = pipeline.commit(receipt, |event| store.append_typed(&alice, &event))?;
            balance_cents -= cents;
            println!(
                "   allowed: appended as event #{} of account:alice",
                written.entity_sequence
            );
        }
        Err(rejected) => show_rejection(&rejected.rejection),
    }

    // A withdrawal the balance does not cover: nothing is appended, but the
    // denial itself goes into the account's audit trail (beside its stream,
    // so the account's sequence does not move).
    let cents = 5_000 * 100;
    println!("\n2. alice asks to withdraw {}", money(cents));
    let check = Check {
        cents,
        balance_cents,
    };
    if let Err(rejected) = pipeline.evaluate(&check, Proposal::new(Account::Withdrawn { cents })) {
        show_rejection(&rejected.rejection);
        let recorded = store.append_denial(&alice, Account::WITHDRAWN, &rejected.rejection)?;
        let event = store
            .get(recorded.event_id)?
            .expect("the denial is visible");
        println!(
            "   the denial is stored as event #{} of account:alice's audit trail, a JSON payload:",
            recorded.entity_sequence
        );
        println!("   {}", event.payload);
    }

    // A withdrawal over the limit that a supervisor approves: the bypass is
    // recorded first, and only then may the withdrawal be appended.
    let cents = 1_200 * 100;
    println!("\n3. alice asks to withdraw {}", money(cents));
    let check = Check {
        cents,
        balance_cents,
    };
    if let Err(rejected) = pipeline.evaluate(&check, Proposal::new(Account::Withdrawn { cents })) {
        show_rejection(&rejected.rejection);
        let bypass = Bypass::new("supervisor Bo approved a one-off rent payment")?;
        println!(
            "   a supervisor bypasses the gates: \"{}\"",
            bypass.reason()
        );
        let receipt = pipeline.bypass(
            &store,
            &alice,
            Account::WITHDRAWN,
            rejected.proposal,
            bypass,
        )?;
        let bypass_id = receipt.bypass_event_id().expect("a bypass receipt");
        let event = store.get(bypass_id)?.expect("the bypass is visible");
        println!(
            "   the bypass is stored as event #{} of account:alice's audit trail:",
            event.header.position.entity_sequence
        );
        println!("   {}", event.payload);
        let written = pipeline.commit(receipt, |event| store.append_typed(&alice, &event))?;
        balance_cents -= cents;
        println!(
            "   then the withdrawal is appended as event #{}",
            written.entity_sequence
        );
    }

    println!("\naccount:alice now holds, in order, with its audit trail beside it:");
    let mut history = store.stream("account:alice");
    history.extend(store.audit_trail("account:alice"));
    history.sort_by_key(|e| e.sequence);
    for entry in history {
        let label = match entry.kind {
            system::DENIAL => "DENIAL (library system event)",
            system::BYPASS => "BYPASS (library system event)",
            Account::DEPOSITED => "Deposited",
            Account::WITHDRAWN => "Withdrawn",
            _ => "other",
        };
        println!("   #{} {label}", entry.entity_sequence);
    }
    println!("balance: {}", money(balance_cents));
    let clean = store.verify()?.is_clean();
    println!(
        "hash chain verified: {}",
        if clean { "clean" } else { "BROKEN" }
    );
    store.close()?;
    Ok(())
}
