//! Workers across crashes: a checkpointed cursor worker and a typed reactor are
//! SIGKILLed mid-way in a child process, again and again, and restarted. The
//! cursor delivers every event at least once with no gap (repeats only from the
//! batch that was not acknowledged); the reactor leaves exactly one reaction per
//! source event.

use crate::support::*;
use batpak::event::EventId;
use batpak::prelude::*;
use batpak::store::{CursorWorkerAction, CursorWorkerConfig, CursorWorkerHandle, ReactionBatch};
use batpak::EventMeta;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const ROUNDS: u64 = 20;
const EVENTS_PER_ROUND: u64 = 60;
const BATCH: usize = 7;

fn append_round(dir: &Path, round: u64) {
    let store = open(config(dir));
    for i in 0..EVENTS_PER_ROUND {
        let c = coord(&format!("src:{}", i % 5), "workers");
        store
            .append(&c, KIND_A, &serde_json::json!({ "round": round, "i": i }))
            .expect("append");
    }
    store.close().expect("close");
}

/// Child: a checkpointed worker that reports every delivered sequence before
/// acknowledging its batch.
fn cursor_child(dir: &Path) {
    let store = std::sync::Arc::new(open(config(dir)));
    let worker = store
        .cursor_worker(
            &Region::all().with_kind(KIND_A),
            CursorWorkerConfig::default()
                .with_batch_size(BATCH)
                .with_checkpoint_id("audit"),
            |batch, _store, witness| {
                assert!(witness.is_some(), "a checkpointed worker is at-least-once");
                let seqs: Vec<String> = batch.iter().map(|e| e.sequence.to_string()).collect();
                if !say(&format!("batch {}", seqs.join(" "))) {
                    return CursorWorkerAction::StopWithRollback;
                }
                CursorWorkerAction::Continue
            },
        )
        .expect("start worker");
    idle_until_killed(&worker);
}

#[test]
fn checkpointed_cursor_delivers_everything_across_sigkill() {
    if let Some((dir, _)) = child_args() {
        return cursor_child(&dir);
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    let mut rng = Rng::new(0xC0_0250);
    let mut deliveries: Vec<Vec<u64>> = Vec::new();
    for round in 0..ROUNDS {
        append_round(dir.path(), round);
        let kill = KillPoint::random(&mut rng, 6);
        let lines = crash_round(CRASH_TEST_CURSOR, dir.path(), round, kill, |l| {
            l.starts_with("batch")
        });
        let mut this_round = Vec::new();
        for l in lines.iter().filter_map(|l| l.strip_prefix("batch ")) {
            this_round.extend(l.split(' ').map(|s| s.parse::<u64>().expect("sequence")));
        }
        deliveries.push(this_round);
    }
    // A last, uninterrupted run drains the rest.
    let store = std::sync::Arc::new(open(config(dir.path())));
    let all: Vec<u64> = store.by_fact(KIND_A).iter().map(|e| e.sequence).collect();
    let (tx, rx) = flume::unbounded();
    let worker = store
        .cursor_worker(
            &Region::all().with_kind(KIND_A),
            CursorWorkerConfig::default()
                .with_batch_size(BATCH)
                .with_checkpoint_id("audit"),
            move |batch, _, _| {
                let _ = tx.send(batch.iter().map(|e| e.sequence).collect::<Vec<_>>());
                CursorWorkerAction::Continue
            },
        )
        .expect("start worker");
    let mut last = Vec::new();
    let target = *all.last().expect("events");
    while last.last() != Some(&target) {
        last.extend(
            rx.recv_timeout(Duration::from_secs(10))
                .expect("final drain"),
        );
    }
    worker.stop_and_join().expect("stop");
    deliveries.push(last);

    // Within a run, deliveries are in commit order. Across runs, a run starts at
    // most one batch before where the previous one got to: no gap, and repeats
    // only from the batch that was delivered but not acknowledged.
    let mut seen: BTreeMap<u64, u32> = BTreeMap::new();
    let mut reached = 0u64;
    for (run, seqs) in deliveries.iter().enumerate() {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "run {run} out of order"
        );
        if let Some(first) = seqs.first() {
            let idx = all.iter().position(|s| s == first).expect("known sequence");
            let reached_idx = all.iter().position(|s| *s == reached).map_or(0, |i| i + 1);
            assert!(idx <= reached_idx, "run {run} skipped events");
            assert!(
                reached_idx - idx <= BATCH,
                "run {run} repeated more than one batch"
            );
        }
        for s in seqs {
            *seen.entry(*s).or_default() += 1;
            reached = reached.max(*s);
        }
    }
    let delivered: Vec<u64> = seen.keys().copied().collect();
    assert_eq!(delivered, all, "every event delivered");
}

const CRASH_TEST_CURSOR: &str = "workers::checkpointed_cursor_delivers_everything_across_sigkill";
const CRASH_TEST_REACTOR: &str =
    "workers::typed_reactor_does_not_duplicate_reactions_across_sigkill";

/// A typed family for the reactor test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x6)]
enum Work {
    #[batpak(id = 1)]
    Job { n: u64 },
    #[batpak(id = 2)]
    Done { n: u64 },
}

/// The reactor under test: one `Done` per `Job`; in a child it also reports
/// each job it reacted to (before the reactions commit).
fn start_reactor(store: &std::sync::Arc<Store>, report: bool) -> CursorWorkerHandle {
    store
        .react_typed::<Work, _>(
            &Region::all().with_kind(Work::JOB),
            CursorWorkerConfig::default()
                .with_batch_size(5)
                .with_checkpoint_id("reactor"),
            move |work: &Work, _meta: &EventMeta, out: &mut ReactionBatch| {
                if let Work::Job { n } = work {
                    out.push(coord("done", "workers"), &Work::Done { n: *n })?;
                    if report {
                        say(&format!("reacted {n}"));
                    }
                }
                Ok(())
            },
        )
        .expect("start reactor")
}

/// In a child: idles (printing, so the parent notices a dead pipe) until killed.
fn idle_until_killed(worker: &CursorWorkerHandle) {
    while !worker.is_finished() {
        if !say("idle") {
            break;
        }
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

fn reactor_child(dir: &Path) {
    let store = std::sync::Arc::new(open(config(dir)));
    let worker = start_reactor(&store, true);
    idle_until_killed(&worker);
}

#[test]
fn typed_reactor_does_not_duplicate_reactions_across_sigkill() {
    if let Some((dir, _)) = child_args() {
        return reactor_child(&dir);
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    let mut rng = Rng::new(0x5EAC_7042);
    let mut next = 0u64;
    for round in 0..ROUNDS {
        let store = open(config(dir.path()));
        for _ in 0..20 {
            store
                .append_typed(&coord("jobs", "workers"), &Work::Job { n: next })
                .expect("job");
            next += 1;
        }
        store.close().expect("close");
        let kill = KillPoint::random(&mut rng, 15);
        crash_round(CRASH_TEST_REACTOR, dir.path(), round, kill, |l| {
            l.starts_with("reacted")
        });
    }
    // Finish in process: wait until every job has its reaction.
    let store = std::sync::Arc::new(open(config(dir.path())));
    let done = store.subscribe_lossy(&Region::all().with_kind(Work::DONE));
    let worker = start_reactor(&store, false);
    while (store.by_fact(Work::DONE).len() as u64) < next {
        assert!(
            done.recv_timeout(Duration::from_secs(10)).is_some(),
            "reactor stalled"
        );
    }
    worker.stop_and_join().expect("stop");

    let jobs: BTreeMap<u64, EventId> = store
        .read_typed::<Work>("jobs")
        .expect("read jobs")
        .into_iter()
        .map(|r| {
            let (meta, w) = r.expect("job decodes");
            match w {
                Work::Job { n } => (n, meta.header.event_id),
                other => panic!("unexpected {other:?}"),
            }
        })
        .collect();
    let mut reactions: BTreeMap<u64, Vec<Option<EventId>>> = BTreeMap::new();
    for r in store.read_typed::<Work>("done").expect("read reactions") {
        let (meta, w) = r.expect("reaction decodes");
        if let Work::Done { n } = w {
            reactions
                .entry(n)
                .or_default()
                .push(meta.header.causation_id);
        }
    }
    assert_eq!(reactions.len() as u64, next, "one reaction per job");
    for (n, causes) in &reactions {
        assert_eq!(causes.len(), 1, "job {n} has {} reactions", causes.len());
        assert_eq!(causes[0], Some(jobs[n]), "reaction to job {n} points at it");
    }
    // Kills inside a write leave torn tails in the quarantine; nothing else.
    verify_intact(&store);
}
