//! `cargo bench --bench ancestry`: time per hop of `walk_ancestors` over causal
//! chains of depth 100 and 10,000 (one chain among 100,000 unrelated events), to
//! show the walk is linear in depth and independent of the store's size.

use batpak::event::EventId;
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef};
use std::time::Instant;

const KIND: EventKind = EventKind::custom(0x1, 7);

fn build_chain(store: &Store, depth: usize) -> EventId {
    let c = Coordinate::new(format!("chain:{depth}"), "bench").expect("coordinate");
    let mut last: Option<EventId> = None;
    let mut made = 0;
    while made < depth {
        let n = (depth - made).min(1000);
        let items = (0..n)
            .map(|i| {
                let cause = match (i, last) {
                    (0, None) => CausationRef::None,
                    (0, Some(id)) => CausationRef::Absolute(id),
                    (i, _) => CausationRef::PriorItem(i - 1),
                };
                // Every link carries the same payload: only ids tell them apart.
                BatchAppendItem::new(c.clone(), KIND, &"step", AppendOptions::new(), cause)
                    .expect("item")
            })
            .collect();
        let receipts = store.append_batch(items).expect("batch");
        last = receipts.last().map(|r| r.event_id);
        made += n;
    }
    last.expect("non-empty chain")
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(100_000)).expect("open");
    let noise = Coordinate::new("noise", "bench").expect("coordinate");
    for chunk in 0..100 {
        let items = (0..1000)
            .map(|i| {
                BatchAppendItem::new(
                    noise.clone(),
                    KIND,
                    &(chunk * 1000 + i),
                    AppendOptions::new(),
                    CausationRef::None,
                )
                .expect("item")
            })
            .collect();
        store.append_batch(items).expect("noise batch");
    }
    println!("== batpak bench `ancestry` ==");
    println!(
        "store: 100,000 unrelated events plus the chains; walk from the deepest event to the root"
    );
    let mut worst = 0.0f64;
    for depth in [100usize, 10_000] {
        let tip = build_chain(&store, depth);
        assert_eq!(store.walk_ancestors(tip, usize::MAX).len(), depth);
        let rounds = (200_000 / depth).max(5);
        let start = Instant::now();
        let mut hops = 0;
        for _ in 0..rounds {
            hops += store.walk_ancestors(tip, usize::MAX).len();
        }
        let per_hop_us = start.elapsed().as_secs_f64() * 1e6 / hops as f64;
        worst = worst.max(per_hop_us);
        println!("depth {depth:>6}: {per_hop_us:.3} µs per hop ({rounds} walks)");
    }
    println!("-- summary --");
    println!(
        "walk_ancestors worst: {worst:.3} µs per hop ({:.1}x under the 5 µs target)",
        5.0 / worst
    );
    store.close().expect("close");
}
