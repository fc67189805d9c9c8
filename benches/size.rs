//! Size of a store of 1,000,000 events: resident memory of the open store per
//! event, bytes on disk against a plain length-prefixed file of the same payloads,
//! and the time of a reopen that rebuilds the index by a full scan.
//!
//! The write phase runs in this process; the measuring phase runs in a fresh copy
//! of this binary (selected by an environment variable) so that memory the
//! allocator kept from writing does not pollute the baseline.

#[path = "common/mod.rs"]
mod common;

use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef};
use common::child::{self, proc_status_bytes};
use common::{coordinates, payload, rate, segment_bytes, temp_dir, KIND};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const EVENTS: u64 = 1_000_000;
const ENTITIES: usize = 10_000;
const BATCH_ITEMS: u64 = 1_000;
const EVERY_N_EVENTS: u32 = 1_000_000;
const REOPENS: usize = 3;
/// Set to the data directory in the child process that measures.
const MEASURE_DIR_ENV: &str = "BATPAK_BENCH_SIZE_MEASURE_DIR";
const RSS_TARGET_BYTES_PER_EVENT: f64 = 64.0;
const DISK_TARGET_RATIO: f64 = 2.0;
const REOPEN_TARGET_S: f64 = 2.0;

/// Writes `EVENTS` events in atomic batches of `BATCH_ITEMS` and closes the store.
fn write_store(dir: &Path, coords: &[Coordinate]) -> Duration {
    let config = StoreConfig::new(dir).with_sync_every_n_events(EVERY_N_EVENTS);
    let store = Store::open(config).expect("open store");
    let started = Instant::now();
    let mut next = 0;
    while next < EVENTS {
        let end = (next + BATCH_ITEMS).min(EVENTS);
        let items = (next..end)
            .map(|i| {
                let coord = coords[i as usize % coords.len()].clone();
                let opts = AppendOptions::new();
                BatchAppendItem::new(coord, KIND, &payload(i), opts, CausationRef::None)
                    .expect("batch item")
            })
            .collect();
        store.append_batch(items).expect("append batch");
        next = end;
    }
    store.close().expect("close store");
    started.elapsed()
}

/// The floor of bytes on disk: every payload as a 4-byte length and its JSON.
fn plain_file_bytes(dir: &Path) -> (u64, u64) {
    let path = dir.join("payloads.bin");
    let mut out = BufWriter::new(std::fs::File::create(&path).expect("create floor file"));
    let mut payload_bytes = 0;
    for i in 0..EVENTS {
        let json = serde_json::to_vec(&payload(i)).expect("encode payload");
        out.write_all(&(json.len() as u32).to_le_bytes())
            .and_then(|()| out.write_all(&json))
            .expect("write floor file");
        payload_bytes += json.len() as u64;
    }
    out.into_inner()
        .expect("flush floor file")
        .sync_all()
        .expect("sync floor file");
    let len = std::fs::metadata(&path).expect("floor metadata").len();
    (len, payload_bytes)
}

/// The child process: baseline RSS, then timed reopens by full scan; prints
/// `key=value` lines for the parent.
fn measure(dir: &Path) {
    let rss_before = proc_status_bytes("VmRSS");
    let mut reopen_ms = Vec::with_capacity(REOPENS);
    for round in 0..REOPENS {
        let started = Instant::now();
        let store = Store::open(StoreConfig::new(dir)).expect("reopen store");
        reopen_ms.push(started.elapsed().as_secs_f64() * 1e3);
        if round == 0 {
            let rss_after = proc_status_bytes("VmRSS");
            let rss_peak = proc_status_bytes("VmHWM");
            let diagnostics = store.diagnostics();
            let stats = store.stats().expect("stats");
            println!("rss_before_bytes={rss_before}");
            println!("rss_after_bytes={rss_after}");
            println!("rss_peak_bytes={rss_peak}");
            println!("events={}", stats.events);
            println!("segments={}", stats.segments);
            println!("from_snapshot={}", diagnostics.recovery.from_snapshot);
            println!("frames_scanned={}", diagnostics.recovery.frames);
        }
        store.close().expect("close store");
    }
    let joined: Vec<String> = reopen_ms.iter().map(|ms| format!("{ms:.1}")).collect();
    println!("reopen_ms={}", joined.join(","));

    // The same reopen from the index snapshot: one scan-based open with the
    // snapshot turned on writes it at close; the timed opens then map it.
    let mapped = || StoreConfig::new(dir).with_enable_mmap_index(true);
    Store::open(mapped())
        .expect("open to write the snapshot")
        .close()
        .expect("close");
    let mut snapshot_ms = Vec::with_capacity(REOPENS);
    for _ in 0..REOPENS {
        let started = Instant::now();
        let store = Store::open(mapped()).expect("reopen from snapshot");
        snapshot_ms.push(started.elapsed().as_secs_f64() * 1e3);
        println!(
            "snapshot_used={}",
            store.diagnostics().recovery.from_snapshot
        );
        store.close().expect("close store");
    }
    let joined: Vec<String> = snapshot_ms.iter().map(|ms| format!("{ms:.1}")).collect();
    println!("snapshot_reopen_ms={}", joined.join(","));
}

fn main() {
    if let Some(dir) = std::env::var_os(MEASURE_DIR_ENV) {
        measure(Path::new(&dir));
        return;
    }
    common::print_header("size", &format!("reopen time is the median of {REOPENS}"));
    let coords = coordinates(ENTITIES);
    let dir = temp_dir();
    println!("write: {EVENTS} events over {ENTITIES} entities, append_batch x{BATCH_ITEMS}, every_n_events = {EVERY_N_EVENTS}");
    let write = write_store(dir.path(), &coords);
    println!("    {:.0} events/s in {write:.2?}", rate(EVENTS, write));
    let disk = segment_bytes(dir.path());
    let floor_dir = temp_dir();
    let (floor, payload_bytes) = plain_file_bytes(floor_dir.path());
    println!(
        "    segments {disk} bytes ({:.1}/event); length-prefixed payloads {floor} bytes ({:.1}/event, payload avg {:.1})",
        disk as f64 / EVENTS as f64,
        floor as f64 / EVENTS as f64,
        payload_bytes as f64 / EVENTS as f64
    );

    let fields = child::run(MEASURE_DIR_ENV, dir.path());
    let rss_before = fields.number("rss_before_bytes");
    let rss_after = fields.number("rss_after_bytes");
    let events = fields.number("events");
    assert_eq!(events as u64, EVENTS, "reopened store lost events");
    let reopens = fields.numbers("reopen_ms");
    println!(
        "reopen (fresh process): RSS {rss_before:.0} -> {rss_after:.0} bytes (peak during open {}); {} segments, {} frames scanned, from_snapshot = {}; reopens {reopens:?} ms",
        fields.get("rss_peak_bytes"),
        fields.get("segments"),
        fields.get("frames_scanned"),
        fields.get("from_snapshot"),
    );
    let reopen_s = child::median(reopens) / 1e3;
    let snapshot_reopens = fields.numbers("snapshot_reopen_ms");
    println!(
        "reopen from the index snapshot: {snapshot_reopens:?} ms (snapshot used: {})",
        fields.get("snapshot_used")
    );
    let snapshot_s = child::median(snapshot_reopens) / 1e3;

    let mut summary = common::Summary::default();
    summary.figure("write_batch_1000", rate(EVENTS, write), "events/s");
    summary.at_most(
        "rss_per_event",
        (rss_after - rss_before) / events,
        "bytes/event",
        RSS_TARGET_BYTES_PER_EVENT,
    );
    summary.figure("disk_bytes", disk as f64, "bytes");
    summary.figure("disk_floor_bytes", floor as f64, "bytes");
    summary.at_most(
        "disk_vs_floor",
        disk as f64 / floor as f64,
        "x",
        DISK_TARGET_RATIO,
    );
    summary.at_most("reopen_full_scan", reopen_s, "s", REOPEN_TARGET_S);
    summary.at_most("reopen_from_snapshot", snapshot_s, "s", 0.2);
    summary.figure("snapshot_vs_scan", reopen_s / snapshot_s, "x faster");
    summary.fact("recovery.from_snapshot", fields.get("from_snapshot"));
    summary.print();
}
