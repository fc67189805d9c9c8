//! Size of a store of 1,000,000 events: resident memory of the open store per
//! event, bytes on disk against a plain length-prefixed file of the same payloads,
//! and the time of a reopen that rebuilds the index by a full scan.
//!
//! Then the open from the index snapshot, which uses the index in place (a
//! mapped base): its time in a fresh process beside the floor of reading the
//! plain length-prefixed file start to end in the same run, the resident
//! memory it adds to the process's baseline, the first read of a
//! 1,000-event entity after it, and the same open of a second store of
//! 1,000,000 distinct entities (one event each).
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
/// Set to the data directory in the child process that measures the open
/// from the index snapshot.
const SNAPSHOT_DIR_ENV: &str = "BATPAK_BENCH_SIZE_SNAPSHOT_DIR";
/// The entity with 1,000 events: every 1,000th event of the run.
const HOT_ENTITY: &str = "hot:0";
const HOT_EVERY: u64 = 1_000;
/// The second data set: this many entities of one event each.
const DISTINCT_ENTITIES: usize = 1_000_000;
const SNAPSHOT_OPEN_TARGET_MS: f64 = 20.0;
const SNAPSHOT_RSS_TARGET_MIB: f64 = 16.0;
const DISTINCT_OPEN_TARGET_MS: f64 = 50.0;
const RSS_TARGET_BYTES_PER_EVENT: f64 = 64.0;
const DISK_TARGET_RATIO: f64 = 2.0;
const REOPEN_TARGET_S: f64 = 2.0;
const MIB: f64 = 1024.0 * 1024.0;

/// Writes `EVENTS` events in atomic batches of `BATCH_ITEMS` and closes the store.
/// Every `HOT_EVERY`th event goes to `HOT_ENTITY` (with `hot`), so one
/// entity has 1,000 events. With `mapped`, the close writes the index snapshot.
fn write_store(dir: &Path, coords: &[Coordinate], hot: bool, mapped: bool) -> Duration {
    let config = StoreConfig::new(dir)
        .with_sync_every_n_events(EVERY_N_EVENTS)
        .with_enable_mmap_index(mapped);
    let store = Store::open(config).expect("open store");
    let hot_coord = Coordinate::new(HOT_ENTITY, "bench").expect("valid coordinate");
    let started = Instant::now();
    let mut next = 0;
    while next < EVENTS {
        let end = (next + BATCH_ITEMS).min(EVENTS);
        let items = (next..end)
            .map(|i| {
                let coord = if hot && i % HOT_EVERY == HOT_EVERY - 1 {
                    hot_coord.clone()
                } else {
                    coords[i as usize % coords.len()].clone()
                };
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

/// Where the plain length-prefixed file of the store in `dir` goes (beside it,
/// so the measuring process finds it).
fn floor_path(dir: &Path) -> std::path::PathBuf {
    dir.with_extension("floor")
}

/// The floor of bytes on disk: every payload as a 4-byte length and its JSON.
fn plain_file_bytes(path: &Path) -> (u64, u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create floor file"));
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
    let len = std::fs::metadata(path).expect("floor metadata").len();
    (len, payload_bytes)
}

/// The floor of a scan: the plain length-prefixed file read start to end,
/// record by record. Returns the records read and the elapsed time.
fn scan_plain_file(path: &Path) -> (u64, Duration) {
    use std::io::{BufReader, Read};
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(path).expect("open"));
    let mut payload = Vec::with_capacity(256);
    let mut records = 0;
    let mut len = [0u8; 4];
    while reader.read_exact(&mut len).is_ok() {
        payload.resize(u32::from_le_bytes(len) as usize, 0);
        reader.read_exact(&mut payload).expect("a whole record");
        records += 1;
    }
    (records, started.elapsed())
}

/// The child process measuring the open from the index snapshot: baseline
/// RSS, a timed open, RSS after it, the first and second read of the
/// 1,000-event entity (when the store has one), the floor's scan, then two
/// more timed opens; prints `key=value` lines.
fn measure_snapshot(dir: &Path) {
    let mapped = || StoreConfig::new(dir).with_enable_mmap_index(true);
    let rss_before = proc_status_bytes("VmRSS");
    let mut open_ms = Vec::with_capacity(REOPENS);
    for round in 0..REOPENS {
        let started = Instant::now();
        let store = Store::open(mapped()).expect("open from the snapshot");
        open_ms.push(started.elapsed().as_secs_f64() * 1e3);
        if round == 0 {
            let rss_after = proc_status_bytes("VmRSS");
            println!("snap_rss_before_bytes={rss_before}");
            println!("snap_rss_after_bytes={rss_after}");
            println!("snap_used={}", store.diagnostics().recovery.from_snapshot);
            println!("snap_events={}", store.stats().expect("stats").events);
            let started = Instant::now();
            let stream = store.stream(HOT_ENTITY);
            let first = started.elapsed().as_secs_f64() * 1e3;
            let started = Instant::now();
            let again = store.stream(HOT_ENTITY);
            let second = started.elapsed().as_secs_f64() * 1e3;
            assert_eq!(stream, again);
            println!("hot_events={}", stream.len());
            println!("first_read_ms={first:.3}");
            println!("second_read_ms={second:.3}");
            println!("snap_rss_after_read_bytes={}", proc_status_bytes("VmRSS"));
            let floor = floor_path(dir);
            if floor.exists() {
                let (records, took) = scan_plain_file(&floor);
                assert_eq!(records, EVENTS, "the floor file holds every payload");
                println!("floor_scan_ms={:.1}", took.as_secs_f64() * 1e3);
            }
        }
        store.close().expect("close store");
    }
    let joined: Vec<String> = open_ms.iter().map(|ms| format!("{ms:.1}")).collect();
    println!("snap_open_ms={}", joined.join(","));
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
    if let Some(dir) = std::env::var_os(SNAPSHOT_DIR_ENV) {
        measure_snapshot(Path::new(&dir));
        return;
    }
    common::print_header("size", &format!("reopen time is the median of {REOPENS}"));
    let coords = coordinates(ENTITIES);
    let dir = temp_dir();
    println!("write: {EVENTS} events over {ENTITIES} entities, append_batch x{BATCH_ITEMS}, every_n_events = {EVERY_N_EVENTS}");
    let write = write_store(dir.path(), &coords, true, false);
    println!("    {:.0} events/s in {write:.2?}", rate(EVENTS, write));
    let disk = segment_bytes(dir.path());
    let floor_file = floor_path(dir.path());
    let (floor, payload_bytes) = plain_file_bytes(&floor_file);
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

    // The open from the snapshot in a fresh process (the scan child above
    // wrote the snapshot), with the page cache dropped first where this
    // process may (root): the open and the floor's scan then read from disk.
    let cold = drop_page_cache();
    let snap = child::run(SNAPSHOT_DIR_ENV, dir.path());
    std::fs::remove_file(&floor_file).expect("remove the floor file");
    assert_eq!(snap.get("snap_used"), "true", "the snapshot is used");
    assert_eq!(snap.number("snap_events") as u64, EVENTS);
    assert_eq!(snap.number("hot_events") as u64, EVENTS / HOT_EVERY);
    let snap_opens = snap.numbers("snap_open_ms");
    let snap_rss = snap.number("snap_rss_after_bytes") - snap.number("snap_rss_before_bytes");
    let snap_rss_read =
        snap.number("snap_rss_after_read_bytes") - snap.number("snap_rss_before_bytes");
    println!(
        "open from the snapshot (fresh process, page cache {}): {snap_opens:?} ms (first is cold in the process); RSS +{:.1} MiB after the open, +{:.1} MiB after the first read; plain-file scan floor {} ms",
        if cold { "dropped" } else { "warm: not root, could not drop it" },
        snap_rss / MIB,
        snap_rss_read / MIB,
        snap.get("floor_scan_ms"),
    );
    println!(
        "first read of a {}-event entity after the open: {} ms (second {} ms)",
        snap.get("hot_events"),
        snap.get("first_read_ms"),
        snap.get("second_read_ms"),
    );

    // The second data set: 1,000,000 entities of one event each, its
    // snapshot written by the writing store's close.
    drop(coords);
    let distinct_dir = temp_dir();
    let distinct_coords = coordinates(DISTINCT_ENTITIES);
    let write_distinct = write_store(distinct_dir.path(), &distinct_coords, false, true);
    drop(distinct_coords);
    println!("write: {EVENTS} events over {DISTINCT_ENTITIES} entities in {write_distinct:.2?}");
    let cold_distinct = drop_page_cache();
    let distinct = child::run(SNAPSHOT_DIR_ENV, distinct_dir.path());
    assert_eq!(distinct.get("snap_used"), "true", "the snapshot is used");
    let distinct_opens = distinct.numbers("snap_open_ms");
    let distinct_rss =
        distinct.number("snap_rss_after_bytes") - distinct.number("snap_rss_before_bytes");
    println!(
        "open from the snapshot, {DISTINCT_ENTITIES} entities (fresh process, page cache {}): {distinct_opens:?} ms; RSS +{:.1} MiB",
        if cold_distinct { "dropped" } else { "warm" },
        distinct_rss / MIB
    );

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
    summary.at_most(
        "snapshot_open_cold",
        snap_opens[0],
        "ms",
        SNAPSHOT_OPEN_TARGET_MS,
    );
    summary.figure("floor_scan", snap.number("floor_scan_ms"), "ms");
    summary.at_most(
        "snapshot_open_vs_floor_scan",
        snap_opens[0] / snap.number("floor_scan_ms"),
        "x",
        0.1,
    );
    summary.fact("page_cache_dropped", cold);
    summary.at_most(
        "snapshot_open_rss",
        snap_rss / MIB,
        "MiB",
        SNAPSHOT_RSS_TARGET_MIB,
    );
    summary.figure("first_read_1000", snap.number("first_read_ms"), "ms");
    summary.at_most(
        "snapshot_open_1m_entities",
        distinct_opens[0],
        "ms",
        DISTINCT_OPEN_TARGET_MS,
    );
    summary.fact("recovery.from_snapshot", fields.get("from_snapshot"));
    summary.print();
}

/// Writes dirty pages back and drops the page cache; `false` when this
/// process may not (it is not root), and the figures are warm.
fn drop_page_cache() -> bool {
    let synced = std::process::Command::new("sync")
        .status()
        .is_ok_and(|s| s.success());
    synced && std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}
