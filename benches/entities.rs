//! `cargo bench --bench entities`: a store of 1,000,000 distinct entities of
//! one event each. It measures the resident memory per entity of the reopened
//! store, and the reopen time from the index snapshot and by a full scan, each
//! beside the same run's floor: a plain file of the same data (each entity's
//! name and its event's payload, length-prefixed) written, then read back with
//! the names kept in memory (one buffer of name bytes and an end offset each).
//!
//! The write phase runs in this process; every measuring phase runs in a fresh
//! copy of this binary (selected by an environment variable) so that memory
//! the allocator kept from an earlier phase does not pollute its baseline.

#[path = "common/mod.rs"]
mod common;

use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef};
use common::child::{self, proc_status_bytes};
use common::{payload, rate, segment_bytes, temp_dir, KIND};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

const ENTITIES: u64 = 1_000_000;
const BATCH_ITEMS: u64 = 1_000;
const REOPENS: usize = 3;
/// Set in a measuring child to `scan:DIR`, `snapshot:DIR` or `floor:FILE`.
const MEASURE_ENV: &str = "BATPAK_BENCH_ENTITIES_MEASURE";
/// Resident bytes an entity may cost besides its name's bytes.
const RSS_TARGET_BYTES_PER_ENTITY: f64 = 96.0;
const SNAPSHOT_REOPEN_TARGET_S: f64 = 0.3;

/// The `i`-th entity's name.
fn entity(i: u64) -> String {
    format!("account:{i}")
}

/// Writes one event for each of `ENTITIES` entities in atomic batches of
/// `BATCH_ITEMS`, and closes the store (no snapshot).
fn write_store(dir: &Path) -> Duration {
    let config = StoreConfig::new(dir).with_sync_every_n_events(ENTITIES as u32);
    let store = Store::open(config).expect("open store");
    let started = Instant::now();
    let mut next = 0;
    while next < ENTITIES {
        let end = (next + BATCH_ITEMS).min(ENTITIES);
        let items = (next..end)
            .map(|i| {
                let coord = Coordinate::new(entity(i), "bench").expect("valid coordinate");
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

/// The floor's file: each entity's name (u16 length) and payload (u32 length),
/// synced. Returns the file's length and the names' total bytes.
fn write_floor(path: &Path) -> (u64, u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create floor file"));
    let mut name_bytes = 0;
    for i in 0..ENTITIES {
        let name = entity(i);
        let json = serde_json::to_vec(&payload(i)).expect("encode payload");
        out.write_all(&(name.len() as u16).to_le_bytes())
            .and_then(|()| out.write_all(name.as_bytes()))
            .and_then(|()| out.write_all(&(json.len() as u32).to_le_bytes()))
            .and_then(|()| out.write_all(&json))
            .expect("write floor file");
        name_bytes += name.len() as u64;
    }
    out.into_inner()
        .expect("flush floor file")
        .sync_all()
        .expect("sync floor file");
    (
        std::fs::metadata(path).expect("floor metadata").len(),
        name_bytes,
    )
}

/// Reads the floor's file back, keeping the names: one buffer of their bytes
/// and the end offset of each.
fn read_floor(path: &Path) -> (Vec<u8>, Vec<u32>) {
    let bytes = std::fs::read(path).expect("read floor file");
    let mut names = Vec::new();
    let mut ends = Vec::new();
    let mut at = 0;
    let mut take = |n: usize| {
        let part = &bytes[at..at + n];
        at += n;
        part
    };
    while ends.len() < ENTITIES as usize {
        let len = u16::from_le_bytes(take(2).try_into().expect("2 bytes"));
        names.extend_from_slice(take(usize::from(len)));
        ends.push(names.len() as u32);
        let len = u32::from_le_bytes(take(4).try_into().expect("4 bytes"));
        take(len as usize);
    }
    names.shrink_to_fit();
    ends.shrink_to_fit();
    (names, ends)
}

/// A measuring child: the resident memory the first open (or read-back)
/// adds, then the times of `REOPENS` of them.
fn measure(what: &str) {
    let (mode, path) = what.split_once(':').expect("MODE:PATH");
    let path = Path::new(path);
    let config = StoreConfig::new(path).with_enable_mmap_index(mode == "snapshot");
    let mut times = Vec::with_capacity(REOPENS);
    for round in 0..REOPENS {
        let rss_before = proc_status_bytes("VmRSS");
        let started = Instant::now();
        let opened = match mode {
            "floor" => Err(read_floor(path)),
            _ => Ok(Store::open(config.clone()).expect("reopen store")),
        };
        times.push(started.elapsed().as_secs_f64());
        if round == 0 {
            println!("rss_bytes={}", proc_status_bytes("VmRSS") - rss_before);
            println!("rss_peak_bytes={}", proc_status_bytes("VmHWM"));
        }
        if let Ok(store) = opened {
            let stats = store.stats().expect("stats");
            assert_eq!(stats.entities, ENTITIES, "the reopened store lost entities");
            let recovery = store.diagnostics().recovery;
            assert_eq!(recovery.from_snapshot, mode == "snapshot", "{recovery:?}");
            store.close().expect("close store");
        }
    }
    let joined: Vec<String> = times.iter().map(|s| format!("{s:.4}")).collect();
    println!("reopen_s={}", joined.join(","));
}

/// One measuring child's figures: resident bytes per entity and the median
/// reopen time in seconds.
fn measured(mode: &str, path: &Path) -> (f64, f64) {
    let fields = child::run(MEASURE_ENV, format!("{mode}:{}", path.display()));
    let times = fields.numbers("reopen_s");
    println!(
        "{mode}: RSS +{:.0} bytes (peak {}), reopens {times:?} s",
        fields.number("rss_bytes"),
        fields.get("rss_peak_bytes"),
    );
    (
        fields.number("rss_bytes") / ENTITIES as f64,
        child::median(times),
    )
}

fn main() {
    if let Some(what) = std::env::var_os(MEASURE_ENV) {
        measure(what.to_str().expect("a UTF-8 measure argument"));
        return;
    }
    common::print_header(
        "entities",
        &format!("reopen times are the median of {REOPENS}"),
    );
    let dir = temp_dir();
    println!("write: {ENTITIES} entities of 1 event, append_batch x{BATCH_ITEMS}");
    let write = write_store(dir.path());
    println!("    {:.0} events/s in {write:.2?}", rate(ENTITIES, write));
    let floor_dir = temp_dir();
    let floor_file = floor_dir.path().join("entities.bin");
    let (floor_len, name_bytes) = write_floor(&floor_file);
    let name_avg = name_bytes as f64 / ENTITIES as f64;
    println!(
        "    segments {} bytes; plain file {floor_len} bytes; names {name_avg:.1} bytes on average",
        segment_bytes(dir.path())
    );

    let (floor_rss, floor_s) = measured("floor", &floor_file);
    let (scan_rss, scan_s) = measured("scan", dir.path());
    // One scan-based open with the snapshot turned on writes it at close.
    let mapped = StoreConfig::new(dir.path()).with_enable_mmap_index(true);
    Store::open(mapped)
        .expect("open to write the snapshot")
        .close()
        .expect("close");
    let (snapshot_rss, snapshot_s) = measured("snapshot", dir.path());

    let rss_target = RSS_TARGET_BYTES_PER_ENTITY + name_avg;
    let mut summary = common::Summary::default();
    summary.figure("write_1m_entities", rate(ENTITIES, write), "events/s");
    summary.figure("rss_per_entity_floor", floor_rss, "bytes/entity");
    summary.at_most(
        "rss_per_entity_after_scan",
        scan_rss,
        "bytes/entity",
        rss_target,
    );
    summary.at_most(
        "rss_per_entity_after_snapshot",
        snapshot_rss,
        "bytes/entity",
        rss_target,
    );
    summary.figure("reopen_floor", floor_s, "s");
    summary.at_most(
        "reopen_from_snapshot",
        snapshot_s,
        "s",
        SNAPSHOT_REOPEN_TARGET_S,
    );
    summary.figure("reopen_full_scan", scan_s, "s");
    summary.figure("snapshot_vs_floor", snapshot_s / floor_s, "x");
    summary.figure("scan_vs_floor", scan_s / floor_s, "x");
    summary.print();
}
