//! Append throughput with blocking `Store::append`: group sync (an fsync every
//! 1,000 events) and per-event fsync with one and with eight producers, each
//! against a plain-file floor of the same frame sizes and fsync cadence measured
//! in the same run.

#[path = "common/mod.rs"]
mod common;

use batpak::prelude::*;
use common::{
    coordinates, median_by, payload, plain_file_floor, process_cpu, rate, temp_dir, Run, KIND,
    REPEATS,
};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const ENTITIES: usize = 1_000;
const GROUP_SYNC_EVENTS: u64 = 200_000;
const GROUP_SYNC_EVERY_N: u32 = 1_000;
const FSYNC_EVENTS: u64 = 2_000;
const PRODUCERS: u64 = 8;
const HANDOFF_ROUND_TRIPS: u64 = 50_000;
const GROUP_SYNC_TARGET_PER_S: f64 = 200_000.0;
const FSYNC_FLOOR_TARGET_PCT: f64 = 90.0;
/// Issue 14: single appends at least half the plain file's rate.
const GROUP_SYNC_FLOOR_TARGET_PCT: f64 = 50.0;
const PRODUCER_SCALING_TARGET: f64 = 4.0;

/// `producers` threads share one store; each appends `events / producers`
/// events with blocking `append`, spreading them over every entity. With
/// `writes`, the store writes every group instead of appending through a
/// shared map (`StoreConfig::with_mapped_appends(false)`; mapped appends
/// are the default on Linux).
fn run_store(
    events: u64,
    producers: u64,
    every_n_events: u32,
    coords: &Arc<Vec<Coordinate>>,
    writes: bool,
) -> Run {
    let dir = temp_dir();
    let mut config = StoreConfig::new(dir.path()).with_sync_every_n_events(every_n_events);
    if writes {
        config = config.with_mapped_appends(false);
    }
    let store = Store::open(config).expect("open store");
    let store = Arc::new(store);
    let per_thread = events / producers;
    let start = Arc::new(Barrier::new(producers as usize + 1));
    let threads: Vec<_> = (0..producers)
        .map(|t| {
            let (store, coords, start) =
                (Arc::clone(&store), Arc::clone(coords), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                for i in t * per_thread..(t + 1) * per_thread {
                    let coord = &coords[i as usize % coords.len()];
                    store.append(coord, KIND, &payload(i)).expect("append");
                }
            })
        })
        .collect();
    let cpu = process_cpu();
    start.wait();
    let started = Instant::now();
    for thread in threads {
        thread.join().expect("producer thread");
    }
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu);
    let store = Arc::into_inner(store).expect("producers are done");
    let mut run = Run::finish(&dir, store, per_thread * producers, elapsed);
    run.cpu = Some(cpu);
    run
}

/// Blocking request/reply round trips to a second thread over flume channels,
/// with no I/O and no work: the ceiling of any blocking call answered by a
/// writer thread, such as one producer's `append`.
fn handoff_round_trips(round_trips: u64) -> Duration {
    let (tx, rx) = flume::bounded::<flume::Sender<u64>>(1);
    let server = std::thread::spawn(move || {
        while let Ok(reply) = rx.recv() {
            let _ = reply.send(0);
        }
    });
    let started = Instant::now();
    for _ in 0..round_trips {
        let (reply, answer) = flume::bounded(1);
        tx.send(reply).expect("server alive");
        answer.recv().expect("server answers");
    }
    let elapsed = started.elapsed();
    drop(tx);
    server.join().expect("server thread");
    elapsed
}

fn main() {
    common::print_header(
        "append",
        &format!("each is the median of {REPEATS} interleaved runs"),
    );
    let coords = Arc::new(coordinates(ENTITIES));
    let floor_dir = temp_dir();
    let secs = |d: &Duration| d.as_secs_f64();

    println!("(a) group sync: {GROUP_SYNC_EVENTS} appends over {ENTITIES} entities, 1 producer, every_n_events = {GROUP_SYNC_EVERY_N}");
    println!(
        "    floor: the same frame sizes, write_all per frame, sync_data per {GROUP_SYNC_EVERY_N}"
    );
    println!("    writes: the same store with StoreConfig::with_mapped_appends(false)");
    let (mut groups, mut group_floors, mut floor_cpus) = (Vec::new(), Vec::new(), Vec::new());
    let mut write_groups = Vec::new();
    for rep in 1..=REPEATS {
        let group = run_store(GROUP_SYNC_EVENTS, 1, GROUP_SYNC_EVERY_N, &coords, false);
        let writes = run_store(GROUP_SYNC_EVENTS, 1, GROUP_SYNC_EVERY_N, &coords, true);
        let every = u64::from(GROUP_SYNC_EVERY_N);
        let floor_cpu = process_cpu();
        let floor = plain_file_floor(
            floor_dir.path(),
            GROUP_SYNC_EVENTS,
            group.frame_bytes(),
            1,
            every,
        );
        let floor_cpu = process_cpu().saturating_sub(floor_cpu);
        let floor_cpu_us = floor_cpu.as_secs_f64() * 1e6 / GROUP_SYNC_EVENTS as f64;
        println!(
            "    run {rep}: store {:.0} events/s in {:.2?} ({} segment bytes, {} bytes/event, {:.2} us CPU/event); floor {:.0} frames/s in {floor:.2?} ({floor_cpu_us:.2} us CPU/frame)",
            group.per_s(),
            group.elapsed,
            group.segment_bytes,
            group.frame_bytes(),
            group.cpu_us_per_event().unwrap_or(f64::NAN),
            rate(GROUP_SYNC_EVENTS, floor)
        );
        println!(
            "           writes {:.0} events/s in {:.2?} ({} segment bytes, {:.2} us CPU/event)",
            writes.per_s(),
            writes.elapsed,
            writes.segment_bytes,
            writes.cpu_us_per_event().unwrap_or(f64::NAN),
        );
        write_groups.push(writes);
        groups.push(group);
        group_floors.push(floor);
        floor_cpus.push(floor_cpu_us);
    }
    floor_cpus.sort_by(f64::total_cmp);
    let floor_cpu_us = floor_cpus[floor_cpus.len() / 2];
    let group = median_by(groups, Run::per_s);
    let writes = median_by(write_groups, Run::per_s);
    let group_floor_per_s = rate(GROUP_SYNC_EVENTS, median_by(group_floors, secs));
    let handoff = handoff_round_trips(HANDOFF_ROUND_TRIPS);
    let handoff_per_s = rate(HANDOFF_ROUND_TRIPS, handoff);
    println!("    thread handoff ceiling: {handoff_per_s:.0} round trips/s ({HANDOFF_ROUND_TRIPS} blocking flume request/reply pairs, no I/O)");

    println!(
        "(b) per-event fsync: {FSYNC_EVENTS} appends over {ENTITIES} entities, every_n_events = 1"
    );
    println!("    floor: the same frame sizes, write_all + sync_data per frame, 1 thread");
    let (mut ones, mut manys, mut fsync_floors) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 1..=REPEATS {
        let one = run_store(FSYNC_EVENTS, 1, 1, &coords, false);
        let many = run_store(FSYNC_EVENTS, PRODUCERS, 1, &coords, false);
        let floor = plain_file_floor(floor_dir.path(), FSYNC_EVENTS, one.frame_bytes(), 1, 1);
        println!(
            "    run {rep}: 1 producer {:.0} events/s, {PRODUCERS} producers {:.0} events/s, floor {:.0} frames/s ({}-byte frames)",
            one.per_s(),
            many.per_s(),
            rate(FSYNC_EVENTS, floor),
            one.frame_bytes()
        );
        ones.push(one);
        manys.push(many);
        fsync_floors.push(floor);
    }
    let one = median_by(ones, Run::per_s);
    let many = median_by(manys, Run::per_s);
    let fsync_floor_per_s = rate(FSYNC_EVENTS, median_by(fsync_floors, secs));

    let mut summary = common::Summary::default();
    summary.at_least(
        "group_sync_append",
        group.per_s(),
        "events/s",
        GROUP_SYNC_TARGET_PER_S,
    );
    summary.figure("group_sync_floor", group_floor_per_s, "frames/s");
    summary.at_least(
        "group_sync_vs_floor",
        100.0 * group.per_s() / group_floor_per_s,
        "%",
        GROUP_SYNC_FLOOR_TARGET_PCT,
    );
    summary.figure(
        "group_sync_cpu_per_event",
        group.cpu_us_per_event().unwrap_or(f64::NAN),
        "us",
    );
    summary.figure("group_sync_writes_append", writes.per_s(), "events/s");
    summary.figure(
        "group_sync_writes_vs_floor",
        100.0 * writes.per_s() / group_floor_per_s,
        "%",
    );
    summary.figure(
        "group_sync_writes_cpu_per_event",
        writes.cpu_us_per_event().unwrap_or(f64::NAN),
        "us",
    );
    summary.figure("group_sync_floor_cpu_per_frame", floor_cpu_us, "us");
    summary.figure("thread_handoff_ceiling", handoff_per_s, "round trips/s");
    summary.figure("frame_bytes_avg", group.frame_bytes() as f64, "bytes/event");
    summary.figure("fsync_append_1_producer", one.per_s(), "events/s");
    summary.figure("fsync_append_8_producers", many.per_s(), "events/s");
    summary.figure("fsync_floor", fsync_floor_per_s, "frames/s");
    summary.at_least(
        "fsync_1_producer_vs_floor",
        100.0 * one.per_s() / fsync_floor_per_s,
        "%",
        FSYNC_FLOOR_TARGET_PCT,
    );
    summary.at_least(
        "fsync_8_vs_1_producers",
        many.per_s() / one.per_s(),
        "x",
        PRODUCER_SCALING_TARGET,
    );
    summary.print();
}
