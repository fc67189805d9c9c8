//! A store an older build wrote (tests/fixtures/format2: segment format 2,
//! type-1 frames that all store their hash) opened by this build: every
//! event reads back with the hash its receipt carried, `verify` is clean,
//! an idempotent append replays its receipt, new events continue the old
//! active segment with type-1 frames only (so the older build could still
//! read it) and go lean in the format 3 segments after it, and a compaction
//! of the cut events keeps every hash.

use crate::support::{coord, copy_dir, open, segments, store_gate, tempdir};
use batpak::event::{EventId, EventKind};
use batpak::store::{AppendOptions, Store, StoreConfig};
use std::path::Path;

const KIND: EventKind = EventKind::custom(0x2, 7);

/// A receipt the older build returned.
struct Old {
    event_id: EventId,
    sequence: u64,
    entity_sequence: u64,
    hash: [u8; 32],
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn receipts() -> Vec<Old> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format2/receipts.txt");
    std::fs::read_to_string(path)
        .expect("read receipts")
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            Old {
                event_id: EventId::new(u128::from_str_radix(f[0], 16).expect("id")),
                sequence: f[1].parse().expect("sequence"),
                entity_sequence: f[2].parse().expect("entity sequence"),
                hash: unhex(f[3]).try_into().expect("32 bytes"),
            }
        })
        .collect()
}

/// The frame type bytes of segment `path` from byte `from` on.
fn frame_types(path: &Path, from: u64) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("read segment");
    let mut at = 32;
    let mut types = Vec::new();
    while at < bytes.len() {
        if at as u64 >= from {
            types.push(bytes[at + 8]);
        }
        at += crate::support::frame_extent(&bytes[at..]);
    }
    types
}

/// Every old event is there with its receipt's hash, except those cut.
fn assert_old_events(store: &Store, old: &[Old]) {
    let mut cut = 0;
    for r in old {
        let Some(event) = store.get(r.event_id).expect("get") else {
            cut += 1;
            continue;
        };
        assert_eq!(event.header.position.sequence, r.sequence);
        assert_eq!(event.header.position.entity_sequence, r.entity_sequence);
        assert_eq!(store.content_hash(r.event_id).expect("hash"), Some(r.hash));
    }
    // acct-a's events 1 to 9 are below its retention floor.
    assert_eq!(cut, 9);
}

#[test]
fn a_format_2_store_is_read_verified_continued_and_compacted() {
    let _gate = store_gate();
    let dir = tempdir();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format2/store");
    copy_dir(&fixture, dir.path());
    let config = StoreConfig::new(dir.path())
        .with_segment_max_bytes(4096)
        .with_sync_every_n_events(1);
    let old = receipts();
    assert_eq!(old.len(), 96);
    let old_active = segments(dir.path()).last().expect("a segment").clone();
    let old_len = crate::support::file_len(&old_active.1);

    let store = open(config.clone());
    assert_old_events(&store, &old);
    assert!(store.verify().expect("verify").is_clean());
    let keyed = AppendOptions::new().with_idempotency(42);
    let replay = store
        .append_with_options(&coord("acct-b", "legacy"), KIND, &"keyed", keyed)
        .expect("replayed append");
    assert_eq!(replay.event_id, old[90].event_id);
    assert_eq!(replay.content_hash, old[90].hash);

    let new: Vec<_> = (0..150u64)
        .map(|i| {
            let c = coord(["acct-a", "acct-b"][(i % 2) as usize], "legacy");
            store.append(&c, KIND, &i).expect("append")
        })
        .collect();
    for r in &new {
        assert_eq!(
            store.content_hash(r.event_id).expect("hash"),
            Some(r.content_hash)
        );
    }
    store.close().expect("close");

    // The old active segment went on with type-1 frames only; the segments
    // after it are format 3, with lean frames.
    let continued = frame_types(&old_active.1, old_len);
    assert!(!continued.is_empty());
    assert!(continued.iter().all(|t| *t < 0x80), "{continued:?}");
    let later = segments(dir.path());
    let (id, path) = later.last().expect("a segment");
    assert!(*id > old_active.0);
    let header = std::fs::read(path).expect("read");
    assert_eq!(u32::from_le_bytes(header[8..12].try_into().unwrap()), 3);
    assert!(frame_types(path, 0).iter().any(|t| *t >= 0x80));

    let store = open(config);
    assert_old_events(&store, &old);
    assert!(store.verify().expect("verify").is_clean());
    let report = store.compact().expect("compact");
    assert!(report.events_cut > 0, "{report:?}");
    assert_old_events(&store, &old);
    for r in &new {
        assert_eq!(
            store.content_hash(r.event_id).expect("hash"),
            Some(r.content_hash)
        );
    }
    assert!(store.verify().expect("verify").is_clean());
}
