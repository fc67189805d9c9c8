//! Sealed segments check themselves: a lost segment file, a sealed segment cut
//! (even exactly at a frame boundary) or grown, and an index snapshot that
//! records more than the directory holds are typed errors naming the segment,
//! never a log that silently misses events. Version 1 directories, which carry
//! no links, keep opening, and compaction's shorter rewrites keep checking.

use crate::support::{
    config, coord, copy_dir, file_len, frame_extent, newest_segment, open, segment_header,
    segment_name, segments, store_gate, tempdir, KIND_A, KIND_B, SEGMENT_HEADER_BYTES,
};
use batpak::coordinate::Region;
use batpak::store::{CorruptionKind, LogPosition, Store, StoreConfig, StoreError};
use std::path::{Path, PathBuf};

/// Appends `n` events over three entities and closes the store.
fn fill(config: StoreConfig, n: u64) {
    let store = open(config);
    for i in 0..n {
        let entity = ["e-0", "e-1", "e-2"][(i % 3) as usize];
        let body = serde_json::json!({ "i": i, "pad": "y".repeat(100 + (i % 7) as usize * 13) });
        store
            .append(&coord(entity, "s"), KIND_A, &body)
            .expect("append");
    }
    store.close().expect("close");
}

/// Small segments, so a few dozen events span several of them.
fn rotating(dir: &Path) -> StoreConfig {
    config(dir).with_segment_max_bytes(4096)
}

/// A store of 60 events over at least three segments.
fn rotated(config: StoreConfig) -> u64 {
    let dir = config.data_dir.clone();
    fill(config, 60);
    let newest = newest_segment(&dir).0;
    assert!(newest >= 3, "the store spans several segments");
    newest
}

/// `config` for another data directory.
fn moved(config: &StoreConfig, dir: &Path) -> StoreConfig {
    let mut config = config.clone();
    config.data_dir = dir.to_path_buf();
    config
}

fn path_of(dir: &Path, id: u64) -> PathBuf {
    dir.join(segment_name(id))
}

/// The offsets at which the frames of a segment file start.
fn frame_starts(path: &Path) -> Vec<u64> {
    let bytes = std::fs::read(path).expect("read segment");
    let mut at = SEGMENT_HEADER_BYTES;
    let mut starts = Vec::new();
    while at < bytes.len() {
        starts.push(at as u64);
        at += frame_extent(&bytes[at..]);
    }
    assert_eq!(at, bytes.len(), "the segment ends at a frame boundary");
    starts
}

/// Cuts a segment file to `len` bytes.
fn cut(path: &Path, len: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open segment");
    file.set_len(len).expect("cut segment");
}

fn is_error<T>(result: Result<T, &StoreError>, at: LogPosition, kind: CorruptionKind) -> bool {
    matches!(result, Err(StoreError::Corrupt { at: a, kind: k }) if *a == at && *k == kind)
}

/// Both a read-write and a read-only open refuse `config`'s directory with
/// this error.
fn expect_refused(config: &StoreConfig, at: LogPosition, kind: CorruptionKind) {
    let rw = Store::open(config.clone());
    assert!(is_error(rw.as_ref(), at, kind), "{rw:?}");
    drop(rw);
    let ro = Store::open_read_only(config.clone());
    assert!(is_error(ro.as_ref(), at, kind), "read-only: {ro:?}");
}

fn count(config: StoreConfig) -> usize {
    let store = Store::open_read_only(config).expect("open read-only");
    assert!(store.verify().expect("verify").is_clean());
    store.query(&Region::all()).len()
}

#[test]
fn a_missing_middle_segment_is_a_typed_error() {
    let _gate = store_gate();
    for mmap in [false, true] {
        let dir = tempdir();
        let config = rotating(dir.path()).with_enable_mmap_index(mmap);
        rotated(config.clone());
        // A read-only store opened before the loss: `verify` finds it.
        let before = Store::open_read_only(config.clone()).expect("open read-only");
        std::fs::remove_file(path_of(dir.path(), 2)).expect("remove segment 2");
        let at = LogPosition {
            segment: 2,
            offset: 0,
        };
        let kind = CorruptionKind::MissingSegment;
        assert!(
            is_error(before.verify().as_ref(), at, kind),
            "verify, mmap {mmap}"
        );
        drop(before);
        expect_refused(&config, at, kind);
    }
}

#[test]
fn a_missing_first_segment_is_a_typed_error() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = rotating(dir.path());
    rotated(config.clone());
    std::fs::remove_file(path_of(dir.path(), 1)).expect("remove segment 1");
    let at = LogPosition {
        segment: 1,
        offset: 0,
    };
    expect_refused(&config, at, CorruptionKind::MissingSegment);
}

#[test]
fn a_sealed_segment_cut_at_a_frame_boundary_is_a_typed_error() {
    let _gate = store_gate();
    for mmap in [false, true] {
        let dir = tempdir();
        let config = rotating(dir.path()).with_enable_mmap_index(mmap);
        rotated(config.clone());
        let path = path_of(dir.path(), 2);
        let full = file_len(&path);
        let starts = frame_starts(&path);
        let bytes = std::fs::read(&path).expect("read");
        let before = Store::open_read_only(config.clone()).expect("open read-only");
        // The last frame, then all but the first, then every frame.
        let cuts = [
            starts[starts.len() - 1],
            starts[1],
            SEGMENT_HEADER_BYTES as u64,
        ];
        let expected = |len| {
            let at = LogPosition {
                segment: 2,
                offset: len,
            };
            let kind = CorruptionKind::SegmentLength {
                expected: full,
                actual: len,
            };
            (at, kind)
        };
        for len in cuts {
            std::fs::write(&path, &bytes).expect("restore");
            cut(&path, len);
            let (at, kind) = expected(len);
            assert!(
                is_error(before.verify().as_ref(), at, kind),
                "verify, cut at {len}"
            );
        }
        drop(before);
        for len in cuts {
            std::fs::write(&path, &bytes).expect("restore");
            cut(&path, len);
            let (at, kind) = expected(len);
            expect_refused(&config, at, kind);
        }
    }
}

#[test]
fn a_sealed_segment_that_grew_is_a_typed_error() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = rotating(dir.path());
    rotated(config.clone());
    let path = path_of(dir.path(), 1);
    let full = file_len(&path);
    // A whole valid frame (a copy of the segment's first) appended after the
    // seal: every frame checks, only the recorded length can tell.
    let bytes = std::fs::read(&path).expect("read");
    let first = &bytes
        [SEGMENT_HEADER_BYTES..SEGMENT_HEADER_BYTES + frame_extent(&bytes[SEGMENT_HEADER_BYTES..])];
    let mut grown = bytes.clone();
    grown.extend_from_slice(first);
    std::fs::write(&path, &grown).expect("write");
    let at = LogPosition {
        segment: 1,
        offset: full,
    };
    let kind = CorruptionKind::SegmentLength {
        expected: full,
        actual: grown.len() as u64,
    };
    expect_refused(&config, at, kind);
}

#[test]
fn a_snapshot_recording_more_than_the_directory_holds_is_a_typed_error() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = rotating(dir.path()).with_enable_mmap_index(true);
    let newest = rotated(config.clone());

    // The newest segment has no successor whose link could tell; the
    // snapshot's exact length does.
    let work = tempdir();
    copy_dir(dir.path(), work.path());
    let path = path_of(work.path(), newest);
    let full = file_len(&path);
    let last = *frame_starts(&path).last().expect("a frame");
    cut(&path, last);
    let at = LogPosition {
        segment: newest,
        offset: last,
    };
    let kind = CorruptionKind::SegmentLength {
        expected: full,
        actual: last,
    };
    expect_refused(&moved(&config, work.path()), at, kind);

    // A listed segment that does not exist at all.
    let work = tempdir();
    copy_dir(dir.path(), work.path());
    std::fs::remove_file(path_of(work.path(), newest)).expect("remove newest");
    let at = LogPosition {
        segment: newest,
        offset: 0,
    };
    let config = moved(&config, work.path());
    expect_refused(&config, at, CorruptionKind::MissingSegment);
}

#[test]
fn a_snapshot_older_than_the_log_covers_its_part_and_the_rest_is_scanned() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = rotating(dir.path()).with_enable_mmap_index(true);
    rotated(config.clone());
    let snap = dir.path().join("index.snap");
    let old = std::fs::read(&snap).expect("snapshot written at close");
    let store = open(config.clone());
    for i in 0..40 {
        store
            .append(&coord("later", "s"), KIND_B, &i)
            .expect("append");
    }
    store.close().expect("close");
    std::fs::write(&snap, old).expect("put the old snapshot back");
    let scanned = open(config.clone().with_enable_mmap_index(false));
    let reference: Vec<_> = scanned.query(&Region::all());
    scanned.close().expect("close");
    let store = open(config);
    let report = store.diagnostics().recovery;
    assert!(report.from_snapshot, "{report:?}");
    assert!(report.snapshot_resumed_at.is_some());
    assert_eq!(store.query(&Region::all()), reference);
    assert_eq!(reference.len(), 100);
    assert_eq!(store.stream("later").len(), 40);
    assert!(store.verify().expect("verify").is_clean());
}

/// Rewrites every segment header of `dir` as format version 1 (no links), as
/// an older build wrote them.
fn downgrade(dir: &Path) {
    for (id, path) in segments(dir) {
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[..SEGMENT_HEADER_BYTES].copy_from_slice(&segment_header(id));
        std::fs::write(&path, bytes).expect("write");
    }
}

#[test]
fn a_version_1_directory_opens_and_its_next_segment_links_back() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = rotating(dir.path());
    let old_newest = rotated(config.clone());
    downgrade(dir.path());
    assert_eq!(count(config.clone()), 60);

    // The writer continues the active version 1 segment (with type-1 event
    // frames only, which a version 1 reader can read), then rotates into
    // current segments, whose first one records its final length and whose
    // event frames are lean.
    let continued_from = file_len(&path_of(dir.path(), old_newest));
    let store = open(config.clone());
    assert_eq!(store.query(&Region::all()).len(), 60);
    for i in 0..60 {
        store
            .append(&coord("later", "s"), KIND_B, &i)
            .expect("append");
    }
    store.close().expect("close");
    assert_eq!(count(config.clone()), 120);
    let next = std::fs::read(path_of(dir.path(), old_newest + 1)).expect("next segment");
    assert_eq!(u32::from_le_bytes(next[8..12].try_into().unwrap()), 3);
    let link = u32::from_le_bytes(next[12..16].try_into().unwrap());
    let sealed = path_of(dir.path(), old_newest);
    let types = |path: &Path| {
        let bytes = std::fs::read(path).expect("read segment");
        frame_starts(path)
            .into_iter()
            .filter(|at| path != sealed || *at >= continued_from)
            .map(|at| bytes[at as usize + 8])
            .collect::<Vec<_>>()
    };
    // (Its frames from before the reopen are this build's, lean: only the
    // header was made version 1.)
    assert!(!types(&sealed).is_empty());
    assert!(types(&sealed).iter().all(|t| *t < 0x80));
    assert!(types(&path_of(dir.path(), old_newest + 1))
        .iter()
        .any(|t| *t >= 0x80));
    assert_eq!(u64::from(link), file_len(&sealed));

    // So a version 1 segment followed by a version 2 one is checked.
    let last = *frame_starts(&sealed).last().expect("a frame");
    cut(&sealed, last);
    let at = LogPosition {
        segment: old_newest,
        offset: last,
    };
    let kind = CorruptionKind::SegmentLength {
        expected: u64::from(link),
        actual: last,
    };
    expect_refused(&config, at, kind);
}

/// A store whose segment 1 holds a cancelled fence followed by more events
/// (enough to fill it: segment 2 exists), closed with an index snapshot.
fn with_cancelled_fence(config: StoreConfig) {
    let store_dir = config.data_dir.clone();
    let store = open(config);
    let e = coord("e-0", "s");
    store.append(&e, KIND_A, &"before").expect("append");
    let fence = store.begin_visibility_fence().expect("begin");
    let _tickets: Vec<_> = (0..5)
        .map(|i| fence.submit(&e, KIND_B, &i).expect("fenced submit"))
        .collect();
    store.sync().expect("sync");
    fence.cancel().expect("cancel");
    for i in 0..100 {
        let body = format!("{i:>60}");
        store.append(&e, KIND_A, &body).expect("append");
    }
    store.close().expect("close");
    assert!(path_of(&store_dir, 2).exists(), "segment 1 is sealed");
}

#[test]
fn a_compacted_segment_records_its_own_length() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = rotating(dir.path()).with_enable_mmap_index(true);
    with_cancelled_fence(config.clone());
    let snap = dir.path().join("index.snap");
    assert!(snap.exists());
    let path = path_of(dir.path(), 1);
    let before = file_len(&path);

    let store = open(config.clone());
    let report = store.compact().expect("compact");
    assert_eq!(report.segments_rewritten, 1);
    assert!(
        !snap.exists(),
        "a snapshot recording the old length is removed"
    );
    // A copy taken now is what a crash right after the compaction leaves.
    let crashed = tempdir();
    copy_dir(dir.path(), crashed.path());
    store.close().expect("close");

    let after = file_len(&path_of(crashed.path(), 1));
    assert!(after < before);
    let header = std::fs::read(path_of(crashed.path(), 1)).expect("read");
    assert_eq!(
        u64::from(u32::from_le_bytes(header[24..28].try_into().unwrap())),
        after
    );
    let crashed_config = moved(&config, crashed.path());
    assert_eq!(count(crashed_config.clone()), 101);
    assert_eq!(count(config.clone()), 101);
    let reopened = open(config);
    assert!(reopened.diagnostics().recovery.from_snapshot);
    drop(reopened);

    // The rewritten segment, cut at a frame boundary, is caught against its
    // own length.
    let last = *frame_starts(&path_of(crashed.path(), 1))
        .last()
        .expect("a frame");
    cut(&path_of(crashed.path(), 1), last);
    let at = LogPosition {
        segment: 1,
        offset: last,
    };
    let kind = CorruptionKind::SegmentLength {
        expected: after,
        actual: last,
    };
    expect_refused(&crashed_config, at, kind);
}
