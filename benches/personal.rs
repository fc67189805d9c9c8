//! `cargo bench --bench personal`: the cost of crypto-shredding. The same
//! typed event with two personal fields (sealed with XChaCha20-Poly1305 under
//! its subject's key) and without (plain `String`s): append throughput
//! (batches of 1,000, 100 subjects, so the first event of each also creates
//! and fsyncs its key), read throughput (typed reads back from the store), and
//! `forget` of a subject with 10,000 events, with the read of its events
//! afterwards.
//!
//! Most of a personal read's extra cost is Poly1305 on short messages: its
//! AVX2 backend (picked at run time) is slower there than its portable one;
//! built with `RUSTFLAGS="--cfg poly1305_force_soft"` the read costs about
//! half as much.

use batpak::event::TypedInput;
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, IndexEntry};
use batpak::Personal;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x4, id = 1)]
struct Signup {
    seq: u64,
    #[batpak(personal)]
    email: Personal<String>,
    #[batpak(personal)]
    name: Personal<String>,
    plan: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x4, id = 2)]
struct SignupPlain {
    seq: u64,
    email: String,
    name: String,
    plan: String,
}

const N: u64 = 100_000;
const SUBJECTS: u64 = 100;
const BATCH: u64 = 1_000;
const FORGET_EVENTS: u64 = 10_000;
const FORGET_ROUNDS: u64 = 3;

fn email(i: u64) -> String {
    format!("member{}@example.org", i % SUBJECTS)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ns_per(d: Duration, n: u64) -> f64 {
    d.as_secs_f64() * 1e9 / n as f64
}

fn item(entity: &str, i: u64, personal: bool) -> BatchAppendItem {
    let c = Coordinate::new(entity, "bench").expect("coordinate");
    if personal {
        let e = Signup {
            seq: i,
            email: Personal::from(email(i)),
            name: Personal::from("Ada Lovelace".to_owned()),
            plan: "gold".into(),
        };
        BatchAppendItem::typed(c, &e, AppendOptions::new())
    } else {
        let e = SignupPlain {
            seq: i,
            email: email(i),
            name: "Ada Lovelace".into(),
            plan: "gold".into(),
        };
        BatchAppendItem::typed(c, &e, AppendOptions::new())
    }
    .expect("item")
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(1_000_000)).expect("open")
}

/// Writes N events over SUBJECTS entities; the time of the appends.
fn write(store: &Store, personal: bool) -> Duration {
    let start = Instant::now();
    for chunk in 0..(N / BATCH) {
        let items = (0..BATCH)
            .map(|i| {
                let i = chunk * BATCH + i;
                item(&format!("member:{}", i % SUBJECTS), i, personal)
            })
            .collect();
        store.append_batch(items).expect("batch");
    }
    start.elapsed()
}

fn read_all<F: batpak::EventFamily>(store: &Store, entries: &[IndexEntry]) -> Duration {
    median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                for e in entries {
                    std::hint::black_box(store.read_entry::<TypedInput<F>>(e).expect("read"));
                }
                t.elapsed()
            })
            .collect(),
    )
}

/// Forgets FORGET_ROUNDS subjects of FORGET_EVENTS events each: the median
/// `forget`, and the median read of one subject's events before and after.
fn forget_cost() -> (Duration, Duration, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir);
    let (mut forgets, mut before, mut after) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..FORGET_ROUNDS {
        let entity = format!("big:{round}");
        for chunk in 0..(FORGET_EVENTS / BATCH) {
            let items = (0..BATCH)
                .map(|i| item(&entity, chunk * BATCH + i, true))
                .collect();
            store.append_batch(items).expect("batch");
        }
        store.sync().expect("sync");
        let entries = store.stream(&entity);
        assert_eq!(entries.len() as u64, FORGET_EVENTS);
        before.push(read_all::<Signup>(&store, &entries));
        let t = Instant::now();
        assert!(store.forget(&entity).expect("forget"));
        forgets.push(t.elapsed());
        after.push(read_all::<Signup>(&store, &entries));
        let read = store.read_typed::<Signup>(&entity).expect("read");
        let (_, first) = read[0].as_ref().expect("decodes");
        assert!(first.email.is_erased() && first.name.is_erased());
    }
    store.close().expect("close");
    (median(forgets), median(before), median(after))
}

fn main() {
    println!("== batpak bench `personal` ==");
    let d1 = tempfile::tempdir().expect("temp dir");
    let d2 = tempfile::tempdir().expect("temp dir");
    let personal = open(&d1);
    let plain = open(&d2);
    let write_personal = write(&personal, true);
    let write_plain = write(&plain, false);
    println!(
        "append (batches of {BATCH}, {SUBJECTS} subjects): personal {:.0} ns/event, plain {:.0} ns/event",
        ns_per(write_personal, N),
        ns_per(write_plain, N)
    );
    let personal_entries = personal.by_fact_typed::<Signup>();
    let plain_entries = plain.by_fact_typed::<SignupPlain>();
    let read_personal = read_all::<Signup>(&personal, &personal_entries);
    let read_plain = read_all::<SignupPlain>(&plain, &plain_entries);
    println!(
        "typed read back: personal {:.0} ns/event, plain {:.0} ns/event",
        ns_per(read_personal, N),
        ns_per(read_plain, N)
    );
    personal.close().expect("close");
    plain.close().expect("close");

    let (forget, before, after) = forget_cost();
    println!(
        "forget a subject of {FORGET_EVENTS} events: {forget:?} (median of {FORGET_ROUNDS}); \
         reading its events: {:.0} ns/event before, {:.0} ns/event after (erased)",
        ns_per(before, FORGET_EVENTS),
        ns_per(after, FORGET_EVENTS)
    );

    println!("-- summary --");
    println!(
        "personal_append: {:.0} events/s vs {:.0} plain: {:.2}x the plain time",
        N as f64 / write_personal.as_secs_f64(),
        N as f64 / write_plain.as_secs_f64(),
        write_personal.as_secs_f64() / write_plain.as_secs_f64()
    );
    println!(
        "personal_read: {:.0} events/s vs {:.0} plain: {:.2}x the plain time",
        N as f64 / read_personal.as_secs_f64(),
        N as f64 / read_plain.as_secs_f64(),
        read_personal.as_secs_f64() / read_plain.as_secs_f64()
    );
    println!("forget_10k_events: {forget:?} (one key destroyed; no event rewritten)");
}
