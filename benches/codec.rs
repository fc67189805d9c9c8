//! `cargo bench --bench codec`: typed (postcard) payloads against the raw JSON
//! lane on the same ~80-byte payload: bytes per payload, encode + append
//! throughput, and decode per event (codec alone, and read back from the store).

use batpak::event::{EventKind, JsonValueInput, TypedInput};
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef};
use batpak::EventFamily;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The bench payload as a typed event (category 0x4, one kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x4, id = 1)]
struct Transfer {
    seq: u64,
    account: u32,
    amount_cents: i64,
    memo: String,
}

const N: u64 = 100_000;

fn transfer(i: u64) -> Transfer {
    Transfer {
        seq: i,
        account: (i % 10_007) as u32,
        amount_cents: (i as i64 * 7919) % 1_000_000 - 500_000,
        memo: "deposit via batpak".into(),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn per_event_ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9 / N as f64
}

fn write(typed: bool) -> (tempfile::TempDir, Store, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(StoreConfig::new(dir.path()).with_sync_every_n_events(1_000_000))
        .expect("open");
    let c = Coordinate::new("ledger", "bench").expect("coordinate");
    let raw_kind = EventKind::custom(0x5, 1);
    let start = Instant::now();
    for chunk in 0..(N / 1000) {
        let items = (0..1000)
            .map(|i| {
                let t = transfer(chunk * 1000 + i);
                if typed {
                    BatchAppendItem::typed(c.clone(), &t, AppendOptions::new())
                } else {
                    BatchAppendItem::new(
                        c.clone(),
                        raw_kind,
                        &t,
                        AppendOptions::new(),
                        CausationRef::None,
                    )
                }
                .expect("item")
            })
            .collect();
        store.append_batch(items).expect("batch");
    }
    let took = start.elapsed();
    (dir, store, took)
}

fn main() {
    println!("== batpak bench `codec` ==");
    let sample = transfer(123_456);
    let typed_bytes = sample.encode_fields().expect("encode").len();
    let json_bytes = serde_json::to_vec(&sample).expect("json").len();
    println!("payload: postcard {typed_bytes} bytes, JSON {json_bytes} bytes");

    let (_d1, typed_store, typed_write) = write(true);
    let (_d2, json_store, json_write) = write(false);
    println!(
        "encode + append (batches of 1000): typed {:.0} ns/event, JSON {:.0} ns/event",
        per_event_ns(typed_write),
        per_event_ns(json_write)
    );

    // Codec alone: decode the same payload N times.
    let postcard = sample.encode_fields().expect("encode");
    let json = serde_json::to_vec(&sample).expect("json");
    let codec_typed = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..N {
                    let v =
                        Transfer::decode_fields(Transfer::KIND, 1, std::hint::black_box(&postcard))
                            .expect("decode");
                    std::hint::black_box(v);
                }
                t.elapsed()
            })
            .collect(),
    );
    let codec_json = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..N {
                    let v: serde_json::Value =
                        serde_json::from_slice(std::hint::black_box(&json)).expect("decode");
                    std::hint::black_box(v);
                }
                t.elapsed()
            })
            .collect(),
    );

    // Read back through the store: typed lane vs JSON lane.
    let typed_entries = typed_store.by_fact_typed::<Transfer>();
    let json_entries = json_store.query(&Region::all());
    let read_typed = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                for e in &typed_entries {
                    std::hint::black_box(
                        typed_store
                            .read_entry::<TypedInput<Transfer>>(e)
                            .expect("read"),
                    );
                }
                t.elapsed()
            })
            .collect(),
    );
    let read_json = median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                for e in &json_entries {
                    std::hint::black_box(json_store.read_entry::<JsonValueInput>(e).expect("read"));
                }
                t.elapsed()
            })
            .collect(),
    );
    println!(
        "decode, codec alone: postcard {:.0} ns/event, JSON (serde_json::Value) {:.0} ns/event",
        per_event_ns(codec_typed),
        per_event_ns(codec_json)
    );
    println!(
        "decode, read back from the store: typed lane {:.0} ns/event, JSON lane {:.0} ns/event",
        per_event_ns(read_typed),
        per_event_ns(read_json)
    );
    println!("-- summary --");
    let size_ratio = json_bytes as f64 / typed_bytes as f64;
    println!("payload_bytes: typed {typed_bytes}, JSON {json_bytes}: {size_ratio:.2}x smaller (target >= 2x)");
    println!(
        "typed_decode_codec: {:.2}x faster than the JSON lane (target >= 5x)",
        codec_json.as_secs_f64() / codec_typed.as_secs_f64()
    );
    println!(
        "typed_decode_store_read: {:.2}x faster than the JSON lane",
        read_json.as_secs_f64() / read_typed.as_secs_f64()
    );
    println!(
        "typed_encode_append: {:.2}x the JSON lane's time",
        typed_write.as_secs_f64() / json_write.as_secs_f64()
    );
    typed_store.close().expect("close");
    json_store.close().expect("close");
}
