//! The index snapshot parser (`store::log::snapshot`): the reference log's two
//! segments (`fuzz/fixtures/snapshot/`, written by the seed generator) and an
//! `index.snap` made from the input. The first input byte's bit 0 set: the
//! rest is a snapshot body, given a valid header and CRC so the parser runs on
//! it; clear: the rest is the whole file. Bit 1 set: after the read-only open,
//! a read-write open too, an append, a close (which writes a new snapshot) and
//! a reopen. The segment table must name both segments at their exact lengths
//! for the body to be used, which the seeds (real snapshots of that log) do.
//! A snapshot that parses is trusted for the index, so every read must still
//! end in `Ok` or a typed error, whatever positions and ids it claims.

#![no_main]

use batpak_fuzz::{exercise, Scratch, INPUT_BYTES_MAX};
use batpak_runtime::coordinate::Coordinate;
use batpak_runtime::event::EventKind;
use batpak_runtime::fuzzing::{seal_snapshot, segment_path, snapshot_path};
use batpak_runtime::store::{Store, StoreConfig};
use libfuzzer_sys::fuzz_target;

const SEGMENTS: [&[u8]; 2] = [
    include_bytes!("../fixtures/snapshot/00000000000000000001.bpk"),
    include_bytes!("../fixtures/snapshot/00000000000000000002.bpk"),
];

fuzz_target!(|data: &[u8]| {
    if data.len() > INPUT_BYTES_MAX {
        return;
    }
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let dir = Scratch::new("snapshot");
    for (i, segment) in SEGMENTS.iter().enumerate() {
        std::fs::write(segment_path(dir.path(), i as u64 + 1), segment)
            .expect("the segment can be written");
    }
    let snapshot = if mode & 1 == 1 {
        seal_snapshot(rest)
    } else {
        rest.to_vec()
    };
    std::fs::write(snapshot_path(dir.path()), snapshot).expect("the snapshot can be written");
    let config = StoreConfig::new(dir.path()).with_enable_mmap_index(true);

    if let Ok(store) = Store::open_read_only(config.clone()) {
        exercise(&store);
    }
    if mode & 2 == 0 {
        return;
    }
    let Ok(store) = Store::open(config.clone()) else {
        return;
    };
    exercise(&store);
    let coordinate = Coordinate::new("fuzz:entity", "fuzz").expect("a valid coordinate");
    let _ = store.append(&coordinate, EventKind::custom(0x1, 1), &"after a snapshot");
    if store.close().is_ok() {
        if let Ok(store) = Store::open(config) {
            exercise(&store);
            let _ = store.close();
        }
    }
});
