//! Batch throughput: atomic `append_batch` in batches of 256, `submit` of every
//! event before waiting on any ticket versus one blocking `append` after another,
//! and a plain-file floor writing the same frames in 256-frame chunks with one
//! fsync per chunk, all measured in the same run.

#[path = "common/mod.rs"]
mod common;

use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef};
use common::{
    coordinates, median_by, open_store, payload, plain_file_floor, rate, temp_dir, Run, KIND,
    REPEATS,
};
use std::time::Instant;

const ENTITIES: usize = 1_000;
const EVENTS: u64 = 200_000;
const BATCH_ITEMS: u64 = 256;
const EVERY_N_EVENTS: u32 = 1_000;
const BATCH_TARGET_PER_S: f64 = 500_000.0;
const BATCH_FLOOR_TARGET_PCT: f64 = 65.0;
const SUBMIT_TARGET_RATIO: f64 = 2.0;

fn coord(coords: &[Coordinate], i: u64) -> &Coordinate {
    &coords[i as usize % coords.len()]
}

/// `EVENTS` events in atomic batches of `BATCH_ITEMS`; building the items
/// (which encodes the JSON payloads) is part of the timed work.
fn run_batches(coords: &[Coordinate]) -> Run {
    let (dir, store) = open_store(EVERY_N_EVENTS);
    let started = Instant::now();
    let mut next = 0;
    while next < EVENTS {
        let end = (next + BATCH_ITEMS).min(EVENTS);
        let items = (next..end)
            .map(|i| {
                let opts = AppendOptions::new();
                BatchAppendItem::new(
                    coord(coords, i).clone(),
                    KIND,
                    &payload(i),
                    opts,
                    CausationRef::None,
                )
                .expect("batch item")
            })
            .collect();
        store.append_batch(items).expect("append batch");
        next = end;
    }
    Run::finish(&dir, store, EVENTS, started.elapsed())
}

/// `EVENTS` tickets submitted first, then waited on in order.
fn run_submit(coords: &[Coordinate]) -> Run {
    let (dir, store) = open_store(EVERY_N_EVENTS);
    let started = Instant::now();
    let tickets: Vec<_> = (0..EVENTS)
        .map(|i| {
            store
                .submit(coord(coords, i), KIND, &payload(i))
                .expect("submit")
        })
        .collect();
    for ticket in tickets {
        ticket.wait().expect("ticket");
    }
    Run::finish(&dir, store, EVENTS, started.elapsed())
}

/// `EVENTS` blocking appends, one after another.
fn run_append(coords: &[Coordinate]) -> Run {
    let (dir, store) = open_store(EVERY_N_EVENTS);
    let started = Instant::now();
    for i in 0..EVENTS {
        store
            .append(coord(coords, i), KIND, &payload(i))
            .expect("append");
    }
    Run::finish(&dir, store, EVENTS, started.elapsed())
}

fn main() {
    common::print_header(
        "batch",
        &format!("each is the median of {REPEATS} interleaved runs"),
    );
    let coords = coordinates(ENTITIES);
    let floor_dir = temp_dir();
    println!("{EVENTS} events over {ENTITIES} entities, every_n_events = {EVERY_N_EVENTS}");
    println!(
        "floor: the same frame sizes, {BATCH_ITEMS} frames per write_all, sync_data per write"
    );
    let (mut batches, mut floors, mut submits, mut appends) = (vec![], vec![], vec![], vec![]);
    for rep in 1..=REPEATS {
        let batch = run_batches(&coords);
        let frame = batch.frame_bytes();
        let floor = plain_file_floor(floor_dir.path(), EVENTS, frame, BATCH_ITEMS, BATCH_ITEMS);
        let submit = run_submit(&coords);
        let append = run_append(&coords);
        println!(
            "    run {rep}: append_batch x{BATCH_ITEMS} {:.0} events/s ({frame} bytes/event), floor {:.0} frames/s, submit+wait {:.0} events/s, blocking append {:.0} events/s",
            batch.per_s(),
            rate(EVENTS, floor),
            submit.per_s(),
            append.per_s()
        );
        batches.push(batch);
        floors.push(floor);
        submits.push(submit);
        appends.push(append);
    }
    let batch = median_by(batches, Run::per_s);
    let floor_per_s = rate(EVENTS, median_by(floors, |d| d.as_secs_f64()));
    let submit = median_by(submits, Run::per_s);
    let append = median_by(appends, Run::per_s);

    let mut summary = common::Summary::default();
    summary.at_least(
        "batch_append",
        batch.per_s(),
        "events/s",
        BATCH_TARGET_PER_S,
    );
    summary.figure("batch_floor", floor_per_s, "frames/s");
    summary.at_least(
        "batch_vs_floor",
        100.0 * batch.per_s() / floor_per_s,
        "%",
        BATCH_FLOOR_TARGET_PCT,
    );
    summary.figure("frame_bytes_avg", batch.frame_bytes() as f64, "bytes/event");
    summary.figure("submit_then_wait", submit.per_s(), "events/s");
    summary.figure("blocking_append", append.per_s(), "events/s");
    summary.at_least(
        "submit_vs_blocking_append",
        submit.per_s() / append.per_s(),
        "x",
        SUBMIT_TARGET_RATIO,
    );
    summary.print();
}
