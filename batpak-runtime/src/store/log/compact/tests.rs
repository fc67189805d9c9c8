//! Compaction must not move recovery's resume point: the sequences and event
//! ids of dropped frames are never given out again, not even after a reopen.

use super::super::recovery::{scan, ScanOptions};
use crate::coordinate::{Coordinate, Region};
use crate::event::{EventId, EventKind};
use crate::store::config::IndexTopology;
use crate::store::{Store, StoreConfig, StoreError};
use std::path::Path;

const K: EventKind = EventKind::custom(0x7, 1);

/// The smallest segment the configuration allows, so a few events rotate.
const SEGMENT_BYTES: u64 = 4096;

/// A fenced payload: three of them, after five small appends, fill one segment.
const LARGE_PAYLOAD_BYTES: usize = 1300;

fn config(dir: &Path) -> StoreConfig {
    StoreConfig::new(dir)
        .with_segment_max_bytes(SEGMENT_BYTES)
        .with_sync_every_n_events(1)
}

/// The writer's resume point as recovery computes it from the files alone:
/// (next sequence, last event id).
fn resume_point(dir: &Path) -> (u64, u128) {
    let opts = ScanOptions {
        repair: false,
        check_chains: false,
        topology: IndexTopology::default(),
        salvage: false,
        follow: false,
    };
    let seed = scan(dir, opts).unwrap().seed;
    (seed.next_sequence, seed.last_event_id)
}

fn segment_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".bpk")
        })
        .count()
}

/// Five appends, then a fence of three large events (sequences 6 to 8) that is
/// cancelled wholly inside segment 1; an empty fence rotates to segment 2
/// without giving out a sequence. Compacting must not let a reopened store
/// hand out sequence 6 (or an id below the cancelled events') again.
#[test]
fn compaction_never_gives_a_cancelled_fences_sequences_again() {
    let dir = tempfile::tempdir().unwrap();
    let a = Coordinate::new("a", "s").unwrap();
    let store = Store::open(config(dir.path())).unwrap();
    for i in 0..5 {
        assert_eq!(store.append(&a, K, &i).unwrap().sequence, i + 1);
    }
    let fence = store.begin_visibility_fence().unwrap();
    let tickets: Vec<_> = (0..3)
        .map(|i| {
            let payload = format!("{i}{}", "x".repeat(LARGE_PAYLOAD_BYTES));
            fence.submit(&a, K, &payload).unwrap()
        })
        .collect();
    fence.cancel().unwrap();
    for ticket in tickets {
        assert!(matches!(
            ticket.wait(),
            Err(StoreError::VisibilityFenceCancelled)
        ));
    }
    assert_eq!(segment_count(dir.path()), 1, "the fence fits in segment 1");
    // Segment 1 is full: the next fence begins segment 2, sealing segment 1.
    store.begin_visibility_fence().unwrap().cancel().unwrap();
    assert_eq!(segment_count(dir.path()), 2, "segment 1 is sealed");
    store.close().unwrap();
    let (next_sequence, last_id) = resume_point(dir.path());
    assert_eq!(next_sequence, 9);

    let store = Store::open(config(dir.path())).unwrap();
    let report = store.compact().unwrap();
    store.close().unwrap();
    assert_eq!(resume_point(dir.path()), (9, last_id));
    let store = Store::open(config(dir.path())).unwrap();
    let ninth = store.append(&a, K, &"after").unwrap();
    assert_eq!(ninth.sequence, 9);
    assert!(ninth.event_id.get() > last_id);
    // The cancelled fence held the log's last event, so it stayed; now that a
    // later event carries the resume point, it goes.
    assert_eq!(report, super::CompactReport::default());
    let before = std::fs::metadata(dir.path().join(format!("{:020}.bpk", 1)))
        .unwrap()
        .len();
    let report = store.compact().unwrap();
    let after = std::fs::metadata(dir.path().join(format!("{:020}.bpk", 1)))
        .unwrap()
        .len();
    assert_eq!(report.segments_rewritten, 1);
    assert_eq!(report.events_dropped, 3);
    assert_eq!(report.bytes_reclaimed, before - after);
    assert!(report.bytes_reclaimed > 3 * LARGE_PAYLOAD_BYTES as u64);
    store.close().unwrap();
    assert_eq!(resume_point(dir.path()), (10, ninth.event_id.get()));

    let store = Store::open(config(dir.path())).unwrap();
    let tenth = store.append(&a, K, &"later").unwrap();
    assert_eq!(tenth.sequence, 10);
    assert!(tenth.event_id > ninth.event_id);
    let sequences: Vec<u64> = store.stream("a").iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, [1, 2, 3, 4, 5, 9, 10]);
    assert!(store.verify().unwrap().is_clean());
}

/// SplitMix64, so a failing history replays from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Cancels a fence of large events, then rotates with empty fences (which
/// give out no sequence), so the log's last event sits in a sealed segment.
fn end_with_a_cancelled_fence_in_a_sealed_segment(store: &Store, dir: &Path) {
    let coord = Coordinate::new("last", "s").unwrap();
    let fence = store.begin_visibility_fence().unwrap();
    for i in 0..2 {
        let payload = format!("{i}{}", "x".repeat(LARGE_PAYLOAD_BYTES));
        let _ = fence.submit(&coord, K, &payload).unwrap();
    }
    fence.cancel().unwrap();
    let segments = segment_count(dir);
    while segment_count(dir) == segments {
        store.begin_visibility_fence().unwrap().cancel().unwrap();
    }
}

/// Histories of appends, committed and cancelled fences over small segments,
/// with a compaction at the end: the resume point and the visible events are
/// the same before and after, and the hash chains still verify.
#[test]
fn compaction_keeps_the_resume_point_over_random_histories() {
    let mut dropped = 0;
    for seed in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = Rng(seed);
        let store = Store::open(config(dir.path())).unwrap();
        for step in 0..(20 + rng.below(30)) {
            let coord = Coordinate::new(format!("e{}", rng.below(3)), "s").unwrap();
            let pad = "x".repeat(rng.below(900) as usize);
            match rng.below(4) {
                0 | 1 => {
                    store.append(&coord, K, &format!("{step}{pad}")).unwrap();
                }
                fenced => {
                    let fence = store.begin_visibility_fence().unwrap();
                    for i in 0..rng.below(4) {
                        let _ = fence
                            .submit(&coord, K, &format!("{step} {i}{pad}"))
                            .unwrap();
                    }
                    if fenced == 2 {
                        fence.cancel().unwrap();
                    } else {
                        fence.commit().unwrap();
                    }
                }
            }
        }
        if rng.below(2) == 0 {
            end_with_a_cancelled_fence_in_a_sealed_segment(&store, dir.path());
        }
        store.close().unwrap();
        let resume = resume_point(dir.path());
        let store = Store::open(config(dir.path())).unwrap();
        let visible: Vec<EventId> = store
            .query(&Region::all())
            .iter()
            .map(|e| e.event_id)
            .collect();
        dropped += store.compact().unwrap().events_dropped;
        store.close().unwrap();
        assert_eq!(resume_point(dir.path()), resume, "seed {seed}");
        let store = Store::open(config(dir.path())).unwrap();
        let after: Vec<EventId> = store
            .query(&Region::all())
            .iter()
            .map(|e| e.event_id)
            .collect();
        assert_eq!(after, visible, "seed {seed}");
        assert!(store.verify().unwrap().is_clean(), "seed {seed}");
    }
    assert!(dropped > 0, "the histories left nothing to compact");
}
