//! Model-based property test: random sequences of operations (appends, CAS,
//! idempotent retries, batches, fences committed or cancelled, syncs, reopens
//! under varying index settings) run against the store and against a plain
//! in-memory model; after every step the store's visible log must equal the
//! model's.

use crate::support::*;
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef, IndexTopology, StoreError};
use std::collections::HashMap;

const ENTITIES: [&str; 4] = ["m:a", "m:b", "m:c", "m:d"];
const KINDS: [EventKind; 2] = [KIND_A, KIND_B];

/// What the model knows about one visible event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ev {
    entity: &'static str,
    kind: EventKind,
    n: u64,
}

#[derive(Default)]
struct Model {
    log: Vec<Ev>,
    /// Idempotency key -> the content it was used for and the event's id.
    keys: HashMap<u128, (Ev, u128)>,
}

impl Model {
    fn count(&self, entity: &str) -> u64 {
        self.log.iter().filter(|e| e.entity == entity).count() as u64
    }
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

fn random_config(rng: &mut Rng, dir: &std::path::Path) -> StoreConfig {
    let topology = pick(
        rng,
        &[
            IndexTopology::all(),
            IndexTopology::minimal(),
            IndexTopology::default(),
        ],
    );
    config(dir)
        .with_sync_every_n_events(pick(rng, &[1, 7, 1000]))
        .with_segment_max_bytes(pick(rng, &[4096, 64 << 20]))
        .with_enable_mmap_index(rng.chance(1, 2))
        .with_index_topology(topology)
}

/// The store's visible user events, as the model sees them.
fn observed(store: &Store) -> Vec<Ev> {
    store
        .query(&Region::all())
        .into_iter()
        .filter(|e| KINDS.contains(&e.kind))
        .map(|e| {
            let body = payload(store, e.event_id);
            let entity = ENTITIES
                .iter()
                .find(|n| **n == e.coordinate.entity())
                .copied()
                .expect("known entity");
            Ev {
                entity,
                kind: e.kind,
                n: body["n"].as_u64().expect("n"),
            }
        })
        .collect()
}

fn check(store: &Store, model: &Model, step: &str) {
    assert_eq!(observed(store), model.log, "after {step}");
    for entity in ENTITIES {
        let seqs: Vec<u64> = store
            .stream(entity)
            .iter()
            .map(|e| e.entity_sequence)
            .collect();
        assert_eq!(
            seqs,
            (1..=model.count(entity)).collect::<Vec<_>>(),
            "{entity} after {step}"
        );
    }
}

fn run(seed: u64) {
    let mut rng = Rng::new(seed);
    let dir = tempdir();
    let mut store = open(random_config(&mut rng, dir.path()));
    let mut model = Model::default();
    let mut n = 0u64;
    for step in 0..70 {
        n += 1;
        let entity = pick(&mut rng, &ENTITIES);
        let kind = pick(&mut rng, &KINDS);
        let ev = Ev { entity, kind, n };
        let c = coord(entity, "model");
        let body = serde_json::json!({ "n": n });
        let what = match rng.below(8) {
            0 | 1 => {
                store.append(&c, kind, &body).expect("append");
                model.log.push(ev);
                "append"
            }
            2 => {
                let actual = model.count(entity);
                let expected = if rng.chance(1, 2) { actual } else { actual + 1 };
                let result = store.append_with_options(
                    &c,
                    kind,
                    &body,
                    AppendOptions::new().with_cas(expected),
                );
                if expected == actual {
                    result.expect("cas append");
                    model.log.push(ev);
                } else {
                    assert!(matches!(
                        result,
                        Err(StoreError::SequenceConflict { expected: e, actual: a, .. }) if e == expected && a == actual
                    ));
                }
                "cas"
            }
            3 => {
                let key = u128::from(rng.below(6)) + 1;
                match model.keys.get(&key).cloned() {
                    Some((used, id)) => {
                        // Retry the same content: the original receipt, nothing written.
                        let retry = store
                            .append_with_options(
                                &coord(used.entity, "model"),
                                used.kind,
                                &serde_json::json!({ "n": used.n }),
                                AppendOptions::new().with_idempotency(key),
                            )
                            .expect("replay");
                        assert_eq!(retry.event_id, id);
                        let other = store.append_with_options(
                            &c,
                            kind,
                            &body,
                            AppendOptions::new().with_idempotency(key),
                        );
                        assert!(matches!(other, Err(StoreError::IdempotencyConflict { .. })));
                    }
                    None => {
                        let r = store
                            .append_with_options(
                                &c,
                                kind,
                                &body,
                                AppendOptions::new().with_idempotency(key),
                            )
                            .expect("keyed append");
                        model.keys.insert(key, (ev.clone(), r.event_id.get()));
                        model.log.push(ev);
                    }
                }
                "idempotency"
            }
            4 => {
                let items: Vec<Ev> = (0..rng.range(1, 5))
                    .map(|i| Ev {
                        entity: pick(&mut rng, &ENTITIES),
                        kind: pick(&mut rng, &KINDS),
                        n: n * 100 + i,
                    })
                    .collect();
                let batch = items
                    .iter()
                    .map(|e| {
                        BatchAppendItem::new(
                            coord(e.entity, "model"),
                            e.kind,
                            &serde_json::json!({ "n": e.n }),
                            AppendOptions::new(),
                            CausationRef::None,
                        )
                        .expect("item")
                    })
                    .collect();
                store.append_batch(batch).expect("batch");
                model.log.extend(items);
                "batch"
            }
            5 => {
                let fence = store.begin_visibility_fence().expect("fence");
                let fenced: Vec<Ev> = (0..rng.range(1, 3))
                    .map(|i| Ev {
                        entity: pick(&mut rng, &ENTITIES),
                        kind,
                        n: n * 100 + i,
                    })
                    .collect();
                let tickets: Vec<_> = fenced
                    .iter()
                    .map(|e| {
                        fence
                            .submit(
                                &coord(e.entity, "model"),
                                e.kind,
                                &serde_json::json!({ "n": e.n }),
                            )
                            .expect("fenced submit")
                    })
                    .collect();
                check(&store, &model, "fenced writes (still hidden)");
                if rng.chance(1, 2) {
                    fence.commit().expect("commit");
                    for t in tickets {
                        t.wait().expect("committed ticket");
                    }
                    model.log.extend(fenced);
                    "fence commit"
                } else {
                    fence.cancel().expect("cancel");
                    for t in tickets {
                        assert!(matches!(
                            t.wait(),
                            Err(StoreError::VisibilityFenceCancelled)
                        ));
                    }
                    "fence cancel"
                }
            }
            6 => {
                store.sync().expect("sync");
                "sync"
            }
            _ => {
                store.close().expect("close");
                store = open(random_config(&mut rng, dir.path()));
                assert!(store.verify().expect("verify").is_clean());
                "reopen"
            }
        };
        check(&store, &model, &format!("seed {seed} step {step} ({what})"));
    }
    store.close().expect("close");
}

#[test]
fn random_operations_match_a_simple_model_across_reopens() {
    let _gate = store_gate();
    for seed in 1..=25 {
        run(seed * 7919);
    }
}
