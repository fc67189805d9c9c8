//! Tickets never hang: closing a store with many submitted writes outstanding
//! resolves every ticket within a bound, and what resolved `Ok` is durable.

use crate::support::{config, coord, open, store_gate, tempdir, KIND_A, KIND_B};
use batpak::coordinate::Region;
use batpak::event::EventId;
use batpak::store::{AppendReceipt, AppendTicket, Store, StoreConfig, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const TICKET_BOUND: Duration = Duration::from_secs(5);
const THREADS: u64 = 2;
const PER_THREAD: u64 = 500;

/// One command per group, so the writer fsyncs for each and falls behind.
fn slow_writer(dir: &Path) -> StoreConfig {
    StoreConfig {
        group_commands_max: 1,
        ..config(dir)
    }
}

/// Submits `THREADS * PER_THREAD` appends from several threads; each ticket
/// with the payload it carries.
fn submit_many(store: &Store) -> Vec<(serde_json::Value, AppendTicket)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    (0..PER_THREAD)
                        .map(|i| {
                            let body = serde_json::json!({ "t": t, "i": i });
                            let ticket = store
                                .submit(&coord(&format!("t-{t}"), "s"), KIND_A, &body)
                                .expect("submit");
                            (body, ticket)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("submitter"))
            .collect()
    })
}

/// Waits for every ticket within the bound; the receipts of those that
/// resolved `Ok`, with their payloads.
fn resolve_all(
    tickets: Vec<(serde_json::Value, AppendTicket)>,
) -> HashMap<EventId, (serde_json::Value, AppendReceipt)> {
    let mut ok = HashMap::new();
    for (body, ticket) in tickets {
        match ticket.wait_timeout(TICKET_BOUND) {
            Ok(receipt) => {
                ok.insert(receipt.event_id, (body, receipt));
            }
            Err(StoreError::Timeout { .. }) => panic!("ticket for {body} never resolved"),
            // Any other typed error is a legitimate answer to a write racing a close.
            Err(_) => {}
        }
    }
    ok
}

fn check_durable(dir: &Path, ok: &HashMap<EventId, (serde_json::Value, AppendReceipt)>) {
    let store = open(config(dir));
    for (id, (body, receipt)) in ok {
        let event = store
            .get(*id)
            .expect("get")
            .expect("an Ok ticket's event is durable");
        assert_eq!(&event.payload, body);
        assert_eq!(event.header.position.sequence, receipt.sequence);
    }
    assert!(store.query(&Region::all().with_kind(KIND_A)).len() >= ok.len());
    assert!(store.verify().expect("verify").is_clean());
}

#[test]
fn closing_with_outstanding_tickets_resolves_every_one() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(slow_writer(dir.path()));
    let tickets = submit_many(&store);
    let outstanding = tickets.iter().filter(|t| t.1.receiver().is_empty()).count();
    assert!(
        outstanding > 0,
        "the writer kept up; nothing was outstanding at close"
    );
    store.close().expect("close");
    let ok = resolve_all(tickets);
    // Everything queued before the close is served before the writer stops.
    assert_eq!(ok.len() as u64, THREADS * PER_THREAD);
    check_durable(dir.path(), &ok);
}

#[test]
fn dropping_with_outstanding_and_fenced_tickets_resolves_every_one() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(slow_writer(dir.path()));
    let tickets = submit_many(&store);
    let fence = store.begin_visibility_fence().expect("begin fence");
    let fenced: Vec<AppendTicket> = (0..300)
        .map(|i| {
            fence
                .submit(&coord("fenced", "s"), KIND_B, &i)
                .expect("fenced submit")
        })
        .collect();
    // The store goes away with the fence still live.
    let _live = std::mem::ManuallyDrop::new(fence);
    drop(store);
    for ticket in fenced {
        match ticket.wait_timeout(TICKET_BOUND) {
            Err(StoreError::VisibilityFenceCancelled) => {}
            other => panic!("fenced ticket: expected VisibilityFenceCancelled, got {other:?}"),
        }
    }
    let ok = resolve_all(tickets);
    assert_eq!(ok.len() as u64, THREADS * PER_THREAD);
    check_durable(dir.path(), &ok);
    let store = open(config(dir.path()));
    assert!(store.stream("fenced").is_empty());
}
