//! Visibility fences: fenced writes stay invisible until commit, disappear on
//! cancel, drop, close or a crash, and a committed fence is visible whole, also
//! after a SIGKILL at any point and a reopen.

use crate::support::{
    child_args, config, coord, crash_round, open, payload, say, spawn_gate, store_gate, tempdir,
    verify_intact, KillPoint, Rng, KIND_A, KIND_B,
};
use batpak::coordinate::Region;
use batpak::event::EventId;
use batpak::store::{
    AppendOptions, AppendTicket, BatchAppendItem, BatchAppendTicket, CausationRef, Store,
    StoreConfig, StoreError,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

const TICKET_BOUND: Duration = Duration::from_secs(5);

fn fenced_body(round: u64, fence: u64, item: u64) -> serde_json::Value {
    serde_json::json!({ "round": round, "fence": fence, "item": item })
}

/// Every visible event of `KIND_B`, checked to be the same through `by_fact`,
/// `query` and the entity streams.
fn visible_fenced<M>(store: &Store<M>, entities: &[&str]) -> BTreeSet<EventId> {
    let by_fact: BTreeSet<EventId> = store.by_fact(KIND_B).iter().map(|e| e.event_id).collect();
    let by_query: BTreeSet<EventId> = store
        .query(&Region::all().with_kind(KIND_B))
        .iter()
        .map(|e| e.event_id)
        .collect();
    let by_stream: BTreeSet<EventId> = entities
        .iter()
        .flat_map(|e| store.stream(e))
        .filter(|e| e.kind == KIND_B)
        .map(|e| e.event_id)
        .collect();
    assert_eq!(by_fact, by_query);
    assert_eq!(by_fact, by_stream);
    by_fact
}

fn expect_cancelled(ticket: AppendTicket) {
    match ticket.wait_timeout(TICKET_BOUND) {
        Err(StoreError::VisibilityFenceCancelled) => {}
        other => panic!("expected VisibilityFenceCancelled, got {other:?}"),
    }
}

#[test]
fn cancelled_fence_stays_hidden_across_reopen() {
    let _gate = store_gate();
    let dir = tempdir();
    let acct = coord("acct", "bank");
    let store = open(config(dir.path()));
    store.append(&acct, KIND_A, &1).expect("plain");
    let last_plain = store.append(&acct, KIND_A, &2).expect("plain");

    let fence = store.begin_visibility_fence().expect("begin");
    assert!(matches!(
        store.begin_visibility_fence(),
        Err(StoreError::VisibilityFenceActive)
    ));
    assert!(matches!(
        store.append(&acct, KIND_A, &3),
        Err(StoreError::VisibilityFenceActive)
    ));
    let mut tickets: Vec<AppendTicket> = (0..3)
        .map(|i| fence.submit(&acct, KIND_B, &i).expect("fenced submit"))
        .collect();
    tickets.push(
        fence
            .submit_item(
                BatchAppendItem::new(
                    acct.clone(),
                    KIND_B,
                    &"keyed",
                    AppendOptions::new().with_idempotency(77),
                    CausationRef::None,
                )
                .expect("item"),
            )
            .expect("keyed fenced submit"),
    );
    let mut outbox = fence.outbox();
    outbox.stage(acct.clone(), KIND_B, &"o1").expect("stage");
    outbox
        .stage(coord("other", "bank"), KIND_B, &"o2")
        .expect("stage");
    let batch: BatchAppendTicket = outbox.submit_flush().expect("fenced batch");
    store.sync().expect("fenced writes are durable at once");
    assert!(visible_fenced(&store, &["acct", "other"]).is_empty());
    assert!(
        tickets.iter().all(|t| t.try_check().is_none()),
        "unresolved until commit"
    );
    fence.cancel().expect("cancel");
    for t in tickets {
        expect_cancelled(t);
    }
    assert!(matches!(
        batch.wait_timeout(TICKET_BOUND),
        Err(StoreError::VisibilityFenceCancelled)
    ));
    assert!(visible_fenced(&store, &["acct", "other"]).is_empty());
    store.close().expect("close");

    let store = open(config(dir.path()));
    assert!(visible_fenced(&store, &["acct", "other"]).is_empty());
    assert_eq!(store.diagnostics().recovery.discarded_fence_events, 6);
    assert!(!store.diagnostics().recovery.unterminated_fence);
    assert_eq!(store.stream("acct").len(), 2);
    assert_eq!(store.entity_generation("other"), None);
    // The chain, CAS and idempotency keys continue as if the fence never was.
    let next = store
        .append_with_options(&acct, KIND_A, &3, AppendOptions::new().with_cas(2))
        .expect("cas after the cancelled fence");
    assert_eq!(next.entity_sequence, last_plain.entity_sequence + 1);
    store
        .append_with_options(
            &acct,
            KIND_A,
            &"new content",
            AppendOptions::new().with_idempotency(77),
        )
        .expect("the cancelled fence's key is free");
    assert!(store.verify().expect("verify").is_clean());
}

#[test]
fn dropped_or_closed_live_fences_stay_hidden() {
    let _gate = store_gate();
    let dir = tempdir();
    let c = coord("dropped", "s");
    let store = open(config(dir.path()));
    let ticket = {
        let fence = store.begin_visibility_fence().expect("begin");
        fence.submit(&c, KIND_B, &"dropped").expect("submit")
    };
    expect_cancelled(ticket);
    store
        .append(&c, KIND_A, &"plain works again")
        .expect("plain");

    let fence = store.begin_visibility_fence().expect("begin");
    let ticket = fence.submit(&c, KIND_B, &"closed").expect("submit");
    // Leak the fence so the store closes while it is live.
    let _live = std::mem::ManuallyDrop::new(fence);
    store.close().expect("close cancels the live fence");
    expect_cancelled(ticket);

    let store = open(config(dir.path()));
    assert!(visible_fenced(&store, &["dropped"]).is_empty());
    assert_eq!(store.stream("dropped").len(), 1);
    assert_eq!(store.diagnostics().recovery.discarded_fence_events, 2);
    assert!(!store.diagnostics().recovery.unterminated_fence);
}

#[test]
fn committed_fence_is_visible_whole_across_reopen() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    let fence = store.begin_visibility_fence().expect("begin");
    let keyed = |i: u64| AppendOptions::new().with_idempotency(0xF0 + u128::from(i));
    let singles: Vec<AppendTicket> = (0..4)
        .map(|i| {
            let c = coord(&format!("c-{}", i % 2), "s");
            let item = BatchAppendItem::new(c, KIND_B, &i, keyed(i), CausationRef::None);
            fence.submit_item(item.expect("item")).expect("submit")
        })
        .collect();
    let mut outbox = fence.outbox();
    for i in 4..7 {
        outbox.stage(coord("c-2", "s"), KIND_B, &i).expect("stage");
    }
    let batch = outbox.submit_flush().expect("fenced batch");
    fence.commit().expect("commit");
    let mut receipts: Vec<_> = singles
        .into_iter()
        .map(|t| t.wait_timeout(TICKET_BOUND).expect("committed ticket"))
        .collect();
    receipts.extend(batch.wait_timeout(TICKET_BOUND).expect("committed batch"));
    assert_eq!(receipts.len(), 7);
    assert!(receipts
        .windows(2)
        .all(|w| w[1].sequence == w[0].sequence + 1));
    let ids: BTreeSet<EventId> = receipts.iter().map(|r| r.event_id).collect();
    let entities = ["c-0", "c-1", "c-2"];
    assert_eq!(visible_fenced(&store, &entities), ids);
    store.close().expect("close");

    let store = open(config(dir.path()));
    assert_eq!(visible_fenced(&store, &entities), ids);
    for (i, r) in receipts.iter().enumerate() {
        assert_eq!(payload(&store, r.event_id), serde_json::json!(i));
    }
    assert_eq!(store.diagnostics().recovery.discarded_fence_events, 0);
    assert!(store.verify().expect("verify").is_clean());
    // The committed fence's idempotency keys are remembered.
    let replay = store
        .append_with_options(&coord("c-1", "s"), KIND_B, &3, keyed(3))
        .expect("replay of a fenced keyed append");
    assert_eq!(replay, receipts[3]);
    assert_eq!(store.stream("c-1").len(), 2);
}

// ---------------------------------------------------------------------------
// Crash test.

const CRASH_ROUNDS: u64 = 24;
const CRASH_TEST: &str = "fences::committed_fences_survive_sigkill_and_others_stay_hidden";
const FENCED_ENTITIES: [&str; 3] = ["f-0", "f-1", "f-2"];

fn crash_config(dir: &Path) -> StoreConfig {
    config(dir).with_segment_max_bytes(32 << 10)
}

enum Pending {
    One(AppendTicket),
    Many(BatchAppendTicket),
}

/// Submits one step of fenced writes (a single event or an outbox batch);
/// returns how many items it added.
fn fenced_step(
    fence: &batpak::store::VisibilityFence<'_>,
    rng: &mut Rng,
    (round, f, count): (u64, u64, u64),
    pending: &mut Vec<Pending>,
) -> u64 {
    let entity = |i: u64| coord(FENCED_ENTITIES[(i % 3) as usize], "fenced");
    if rng.chance(1, 3) {
        let n = rng.range(2, 4);
        let mut outbox = fence.outbox();
        for i in count..count + n {
            outbox
                .stage(entity(i), KIND_B, &fenced_body(round, f, i))
                .expect("stage");
        }
        pending.push(Pending::Many(outbox.submit_flush().expect("fenced batch")));
        n
    } else {
        let t = fence.submit(&entity(count), KIND_B, &fenced_body(round, f, count));
        pending.push(Pending::One(t.expect("fenced submit")));
        1
    }
}

/// The child: fences forever; commits some, cancels some, and leaves the last
/// one of some runs open while it keeps writing.
fn fences_forever(dir: &Path, round: u64) {
    let store = open(crash_config(dir));
    let mut rng = Rng::new(round ^ 0xFE4CE);
    for f in 0u64.. {
        let fence = store.begin_visibility_fence().expect("begin fence");
        let mode = rng.below(4);
        let steps = if mode == 3 { u64::MAX } else { rng.range(1, 5) };
        let mut pending = Vec::new();
        let mut count = 0;
        for _ in 0..steps {
            count += fenced_step(&fence, &mut rng, (round, f, count), &mut pending);
            if !say(&format!("fenced {round} {f} {count}")) {
                return;
            }
        }
        let committing = mode < 2;
        say(&format!(
            "{} {round} {f}",
            if committing {
                "committing"
            } else {
                "cancelling"
            }
        ));
        if committing {
            fence.commit().expect("commit");
        } else {
            fence.cancel().expect("cancel");
        }
        for p in pending {
            let ok = match p {
                Pending::One(t) => t.wait_timeout(TICKET_BOUND).is_ok(),
                Pending::Many(t) => t.wait_timeout(TICKET_BOUND).is_ok(),
            };
            assert_eq!(ok, committing, "fenced tickets follow the fence");
        }
        say(&format!(
            "{} {round} {f}",
            if committing { "committed" } else { "cancelled" }
        ));
        let plain = store
            .append(
                &coord("plain", "s"),
                KIND_A,
                &serde_json::json!({ "round": round, "after": f }),
            )
            .expect("plain append between fences");
        if !say(&format!("plain {round} {f} {}", plain.event_id)) {
            return;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FenceState {
    Open,
    Committing,
    Committed,
    Cancelling,
    Cancelled,
}

#[derive(Debug)]
struct Tracked {
    items: u64,
    state: FenceState,
}

/// Applies the child's lines to the tracked fences; returns acknowledged plain
/// event ids and the fence the child was in when it died.
fn track(lines: &[String], fences: &mut BTreeMap<(u64, u64), Tracked>) -> Vec<EventId> {
    let mut plain = Vec::new();
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        let num = |i: usize| -> u64 { parts[i].parse().expect("number in child line") };
        let key = (num(1), num(2));
        match parts[0] {
            "fenced" => {
                let t = fences.entry(key).or_insert(Tracked {
                    items: 0,
                    state: FenceState::Open,
                });
                t.items = num(3);
            }
            "plain" => plain.push(parts[3].parse().expect("plain event id")),
            word => {
                let state = match word {
                    "committing" => FenceState::Committing,
                    "committed" => FenceState::Committed,
                    "cancelling" => FenceState::Cancelling,
                    "cancelled" => FenceState::Cancelled,
                    _ => panic!("unknown child line {line:?}"),
                };
                fences.get_mut(&key).expect("a fence with items").state = state;
            }
        }
    }
    plain
}

#[test]
fn committed_fences_survive_sigkill_and_others_stay_hidden() {
    if let Some((dir, round)) = child_args() {
        return fences_forever(&dir, round);
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    let mut rng = Rng::new(0xFE4C_E001);
    let mut fences: BTreeMap<(u64, u64), Tracked> = BTreeMap::new();
    let mut plain_ids = Vec::new();
    let mut open_at_kill = 0;
    for round in 0..CRASH_ROUNDS {
        let kill = KillPoint::random(&mut rng, 30);
        let lines = crash_round(CRASH_TEST, dir.path(), round, kill, |_| true);
        plain_ids.extend(track(&lines, &mut fences));
        let last_open = fences
            .iter()
            .rev()
            .find(|(k, _)| k.0 == round)
            .is_some_and(|(_, t)| t.state == FenceState::Open);

        let store = open(crash_config(dir.path()));
        let report = store.diagnostics().recovery;
        if last_open {
            open_at_kill += 1;
            assert!(
                report.unterminated_fence,
                "round {round}: the open fence was not seen"
            );
        }
        let mut visible: BTreeMap<(u64, u64), BTreeSet<u64>> = BTreeMap::new();
        for id in visible_fenced(&store, &FENCED_ENTITIES) {
            let body = payload(&store, id);
            let n = |f: &str| body[f].as_u64().expect("fenced payload field");
            visible
                .entry((n("round"), n("fence")))
                .or_default()
                .insert(n("item"));
        }
        let mut cancelled_items = 0;
        for (key, t) in &mut fences {
            let seen = visible.remove(key).unwrap_or_default();
            let whole: BTreeSet<u64> = (0..t.items).collect();
            match t.state {
                FenceState::Committed => assert_eq!(seen, whole, "committed fence {key:?}"),
                FenceState::Committing if seen == whole => t.state = FenceState::Committed,
                state => {
                    assert!(
                        seen.is_empty(),
                        "uncommitted fence {key:?} ({t:?}) is visible"
                    );
                    // A returned cancel means every fenced write before it reached
                    // the log; submits of other fences may not have been written.
                    if state == FenceState::Cancelled {
                        cancelled_items += t.items;
                    }
                }
            }
        }
        assert!(visible.is_empty(), "fences nobody wrote: {visible:?}");
        assert!(
            report.discarded_fence_events >= cancelled_items,
            "round {round}: {report:?}"
        );
        for id in &plain_ids {
            assert!(
                store.get(*id).expect("get plain").is_some(),
                "plain event lost"
            );
        }
        // A torn tail the open cut waits in the quarantine; nothing else.
        verify_intact(&store);

        // The store takes new fences and plain writes after recovery.
        let fence = store
            .begin_visibility_fence()
            .expect("begin after recovery");
        let t = fence
            .submit(&coord("parent", "s"), KIND_A, &round)
            .expect("fenced submit");
        fence.commit().expect("commit after recovery");
        t.wait_timeout(TICKET_BOUND).expect("parent fence ticket");
        plain_ids.push(
            store
                .append(&coord("parent", "s"), KIND_A, &round)
                .expect("plain")
                .event_id,
        );
        store.close().expect("close");
    }
    let committed = fences
        .values()
        .filter(|t| t.state == FenceState::Committed)
        .count();
    assert!(
        committed > 0 && open_at_kill > 0,
        "the rounds covered both outcomes"
    );
}
