//! `cargo bench --bench aggregates`: `Store::execute` on an aggregate whose
//! stream already holds 10,000 events, without a projection cache (every
//! load folds the whole stream) and with a `MemoryCache` (a load folds only
//! what came after the cached state). Appends sync every 1,000 events, so
//! the figures are the load, the decision and the append, not an fsync.

#[path = "common/mod.rs"]
mod common;

use batpak::aggregate::Aggregate;
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, MemoryCache};
use common::{print_header, temp_dir, Summary};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

const HISTORY: u64 = 10_000;
const COMMANDS: usize = 201;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x7)]
enum Ledger {
    #[batpak(id = 1)]
    Deposited { cents: u64 },
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Account {
    balance: u64,
}

impl Aggregate for Account {
    type Event = Ledger;
    type Command = u64;
    type Error = String;

    fn apply(&mut self, event: &Ledger) {
        let Ledger::Deposited { cents } = event;
        self.balance += cents;
    }

    fn handle(&self, cents: &u64) -> Result<Vec<Ledger>, String> {
        Ok(vec![Ledger::Deposited { cents: *cents }])
    }
}

/// The median time of one `execute` on a stream of `HISTORY` events.
fn execute_median(cache: Option<MemoryCache>) -> Duration {
    let dir = temp_dir();
    let config = StoreConfig::new(dir.path()).with_sync_every_n_events(1_000);
    let mut store = Store::open(config).expect("open");
    if let Some(cache) = cache {
        store = store.with_projection_cache(Box::new(cache));
    }
    let acct = Coordinate::new("acct:1", "bench").expect("coordinate");
    let history = (0..HISTORY)
        .map(|_| {
            let event = Ledger::Deposited { cents: 1 };
            BatchAppendItem::typed(acct.clone(), &event, AppendOptions::new()).expect("item")
        })
        .collect();
    store.append_batch(history).expect("history");
    let mut times: Vec<Duration> = (0..COMMANDS)
        .map(|_| {
            let t = Instant::now();
            store.execute::<Account>(&acct, &1).expect("execute");
            t.elapsed()
        })
        .collect();
    let loaded = store.load::<Account>("acct:1").expect("load");
    assert_eq!(loaded.state.balance, HISTORY + COMMANDS as u64);
    store.close().expect("close");
    times.sort();
    times[times.len() / 2]
}

fn main() {
    print_header("aggregates", "medians of 201 commands");
    let mut summary = Summary::default();
    let plain = execute_median(None);
    let cached = execute_median(Some(MemoryCache::new(16 << 20)));
    summary.figure(
        "execute on a 10,000-event aggregate, no cache (us)",
        plain.as_secs_f64() * 1e6,
        "us",
    );
    summary.figure(
        "execute on a 10,000-event aggregate, MemoryCache (us)",
        cached.as_secs_f64() * 1e6,
        "us",
    );
    summary.figure(
        "no cache / MemoryCache",
        plain.as_secs_f64() / cached.as_secs_f64(),
        "x",
    );
    summary.print();
}
