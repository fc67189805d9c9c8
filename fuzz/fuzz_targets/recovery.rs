//! Recovery of a random data directory: up to three segment files and an index
//! snapshot made from the input (`RecoveryInput`: raw bytes, or frame bodies
//! given valid CRCs so the commit protocol itself is explored), opened
//! read-only, then read-write (which repairs), then reopened. Every open,
//! read and `verify` must return `Ok` or a typed `Err`. Two checks besides:
//! a read-only and a read-write open that both succeed show the same events,
//! and a directory a read-write open scanned (and repaired) opens again with
//! those events plus the one appended. (An index snapshot that parses is
//! trusted, so after opening from one only the first property holds; the
//! `snapshot` target explores those.)

#![no_main]

use batpak_fuzz::{exercise, RecoveryInput, Scratch, INPUT_BYTES_MAX};
use batpak_runtime::coordinate::Coordinate;
use batpak_runtime::event::EventKind;
use batpak_runtime::store::{Store, StoreConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > INPUT_BYTES_MAX {
        return;
    }
    let input = RecoveryInput::parse(data);
    let dir = Scratch::new("recovery");
    input.write_into(&dir);
    let config =
        StoreConfig::new(dir.path()).with_enable_mmap_index(input.has(RecoveryInput::MMAP_INDEX));

    let read_only = Store::open_read_only(config.clone()).map(|store| exercise(&store));
    let Ok(store) = Store::open(config.clone()) else {
        return;
    };
    let events = exercise(&store);
    if let Ok(seen) = read_only {
        assert_eq!(seen, events, "read-only and read-write opens disagree");
    }
    let scanned = !store.diagnostics().recovery.from_snapshot;
    let coordinate = Coordinate::new("fuzz:entity", "fuzz").expect("a valid coordinate");
    let appended = store
        .append(&coordinate, EventKind::custom(0x1, 1), &"after recovery")
        .is_ok();
    if store.close().is_err() {
        return;
    }
    let reopened = Store::open(config);
    if scanned {
        let store = reopened.expect("a repaired directory opens again");
        let again = exercise(&store);
        assert_eq!(
            again,
            events + usize::from(appended),
            "the reopened log differs"
        );
    }
});
