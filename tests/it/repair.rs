//! Repairs never erase acknowledged events (issue 12, findings 1 and 7): damage
//! before the durable watermark is a typed error, not a torn tail; a salvage
//! is explicit, keeps what it cuts in the quarantine and names the batches and
//! fences it cut short; garbage past the last synced byte is a torn tail.

use crate::support::{
    config, coord, copy_dir, newest_segment, open, set_durable_mark, store_gate, tempdir,
    verify_intact, Rng, KIND_A, KIND_B,
};
use batpak::store::{
    AppendOptions, BatchAppendItem, CausationRef, CorruptionKind, RecoveryMode, Store, StoreConfig,
    StoreError,
};
use std::path::Path;
use std::process::Command;

fn small_segments(dir: &Path) -> StoreConfig {
    config(dir).with_segment_max_bytes(4096)
}

/// The finding's store: 20 appends, then a fence of 100 submits spanning
/// segments, committed; closed.
fn fenced_store(dir: &Path) {
    let store = open(small_segments(dir));
    for i in 0..20 {
        store
            .append(&coord("plain", "s"), KIND_A, &i)
            .expect("append");
    }
    let fence = store.begin_visibility_fence().expect("begin");
    let tickets: Vec<_> = (0..100)
        .map(|i| {
            let body = serde_json::json!({ "i": i, "pad": "f".repeat(40) });
            fence
                .submit(&coord("fenced", "s"), KIND_B, &body)
                .expect("submit")
        })
        .collect();
    fence.commit().expect("commit");
    for t in tickets {
        t.wait().expect("acknowledged at the commit");
    }
    store.close().expect("close");
}

/// A committed 50-item batch after one plain append; closed.
fn batch_store(dir: &Path) {
    let store = open(config(dir));
    store
        .append(&coord("plain", "s"), KIND_A, &0)
        .expect("append");
    let items = (0..50)
        .map(|i| {
            BatchAppendItem::new(
                coord("batched", "s"),
                KIND_B,
                &i,
                AppendOptions::new(),
                CausationRef::None,
            )
            .expect("item")
        })
        .collect();
    store.append_batch(items).expect("batch");
    store.close().expect("close");
}

fn flip(path: &Path, at: usize, mask: u8) {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= mask;
    std::fs::write(path, bytes).expect("write");
}

fn expect_corrupt<M>(result: Result<Store<M>, StoreError>) -> CorruptionKind {
    match result {
        Err(StoreError::Corrupt { kind, .. }) => kind,
        Err(e) => panic!("expected Corrupt, got {e:?}"),
        Ok(_) => panic!("a damaged durable frame opened as a torn tail"),
    }
}

fn batpak_verify(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_batpak"))
        .arg("verify")
        .arg(dir)
        .output()
        .expect("run batpak verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_flipped_fence_commit_is_an_error_and_a_salvage_says_what_it_cut() {
    let _gate = store_gate();
    let dir = tempdir();
    fenced_store(dir.path());
    let (segment, path) = newest_segment(dir.path());
    assert!(segment > 1, "the fence spans segments");
    let len = std::fs::metadata(&path).expect("len").len() as usize;
    flip(&path, len - 1, 0x01);

    // Every kind of open refuses, and so does the inspector, before any repair.
    let (code, text) = batpak_verify(dir.path());
    assert_ne!(code, 0, "batpak verify passed a damaged store: {text}");
    assert!(text.contains("Salvage"), "the error names the fix: {text}");
    expect_corrupt(Store::open_read_only(small_segments(dir.path())));
    expect_corrupt(Store::open(small_segments(dir.path())));
    let untouched = std::fs::metadata(&path).expect("len").len() as usize;
    assert_eq!(untouched, len, "a refused open cut nothing");

    // The explicit salvage cuts at the damage and says so.
    let store = open(small_segments(dir.path()).with_recovery(RecoveryMode::Salvage));
    let tail = store
        .diagnostics()
        .recovery
        .truncated_tail
        .expect("the cut is reported");
    assert!(tail.salvaged);
    let fence = tail.unfinished.iter().find(|u| u.fence).expect("the fence");
    assert_eq!(fence.events, 100);
    let kept = std::fs::read(tail.quarantine.as_ref().expect("quarantine")).expect("read");
    assert_eq!(kept.len() as u64, tail.bytes);
    assert_eq!(store.stream("plain").len(), 20);
    let next = store
        .append(&coord("plain", "s"), KIND_A, &20)
        .expect("append");
    assert!(
        next.sequence > 120,
        "sequence {} was used before",
        next.sequence
    );
    let report = store.verify().expect("verify");
    assert!(!report.is_clean(), "verify reports the quarantined cut");
    assert!(report.quarantined[0].note.contains("fence"), "{report:?}");
    drop(store);
    let (code, text) = batpak_verify(dir.path());
    assert_ne!(code, 0, "batpak verify passed a salvaged store: {text}");
    assert!(text.contains("quarantine"), "{text}");
}

#[test]
fn a_flipped_batch_commit_is_an_error_and_the_batch_stays() {
    let _gate = store_gate();
    let dir = tempdir();
    batch_store(dir.path());
    let (_, path) = newest_segment(dir.path());
    let len = std::fs::metadata(&path).expect("len").len() as usize;
    flip(&path, len - 1, 0x01);
    expect_corrupt(Store::open(config(dir.path())));
    flip(&path, len - 1, 0x01);
    let store = open(config(dir.path()));
    assert_eq!(store.stream("batched").len(), 50, "the batch is whole");
    assert!(store.verify().expect("verify").is_clean());
}

#[test]
fn no_single_flip_in_the_last_frame_erases_an_acknowledged_event() {
    let _gate = store_gate();
    let dir = tempdir();
    fenced_store(dir.path());
    let (_, path) = newest_segment(dir.path());
    let len = std::fs::metadata(&path).expect("len").len() as usize;
    let mut rng = Rng::new(0xF11B);
    for trial in 0..40 {
        let work = tempdir();
        copy_dir(dir.path(), work.path());
        let at = len - 1 - rng.below(12) as usize;
        let mask = 1 << rng.below(8);
        let (_, work_path) = newest_segment(work.path());
        flip(&work_path, at, mask);
        match Store::open(small_segments(work.path())) {
            Err(StoreError::Corrupt { .. }) => {}
            Err(e) => panic!("trial {trial}: {e:?}"),
            Ok(store) => {
                let visible = store.stream("plain").len() + store.stream("fenced").len();
                assert_eq!(visible, 120, "trial {trial}: flip at {at} lost events");
            }
        }
    }
}

/// A store whose last group was written but whose watermark (the last sync)
/// stops before it, with `tail` in place of the group's bytes: what a power
/// cut before that group's fsync may leave.
fn power_cut_image(dir: &Path, tail: impl FnOnce(&[u8]) -> Vec<u8>) -> (u64, u64) {
    let store = open(config(dir));
    for i in 0..10 {
        store.append(&coord("e", "s"), KIND_A, &i).expect("append");
    }
    store.close().expect("close");
    let (segment, path) = newest_segment(dir);
    let synced = std::fs::metadata(&path).expect("len").len();
    let store = open(config(dir));
    store
        .append(
            &coord("e", "s"),
            KIND_A,
            &serde_json::json!({ "pad": "g".repeat(900) }),
        )
        .expect("the group that never synced");
    store.close().expect("close");
    let bytes = std::fs::read(&path).expect("read");
    let mut image = bytes[..synced as usize].to_vec();
    image.extend(tail(&bytes[synced as usize..]));
    std::fs::write(&path, image).expect("write image");
    set_durable_mark(dir, segment, synced);
    (segment, synced)
}

#[test]
fn garbage_after_the_last_synced_byte_is_a_torn_tail() {
    let _gate = store_gate();
    let mut rng = Rng::new(0x6A5B);
    for cut in 0..20 {
        let dir = tempdir();
        let keep = rng.below(600) as usize;
        let garbage = 1 + rng.below(2000) as usize;
        let mut noise = Rng::new(cut);
        let (segment, synced) = power_cut_image(dir.path(), |group| {
            let mut t = group[..keep.min(group.len())].to_vec();
            t.extend((0..garbage).map(|_| noise.below(256) as u8));
            t
        });
        let store = Store::open(config(dir.path()))
            .unwrap_or_else(|e| panic!("power cut {cut}: the open failed: {e:?}"));
        assert_eq!(store.stream("e").len(), 10, "power cut {cut}");
        let tail = store
            .diagnostics()
            .recovery
            .truncated_tail
            .expect("the cut is reported");
        assert_eq!((tail.at.segment, tail.at.offset), (segment, synced));
        assert!(!tail.salvaged);
        store
            .append(&coord("e", "s"), KIND_A, &"after")
            .expect("append");
        assert_eq!(
            verify_intact(&store).len(),
            1,
            "power cut {cut}: bytes kept"
        );
    }
}

#[test]
fn a_newest_segment_shorter_than_its_watermark_is_lost_data() {
    let _gate = store_gate();
    let dir = tempdir();
    batch_store(dir.path());
    let (segment, path) = newest_segment(dir.path());
    let bytes = std::fs::read(&path).expect("read");
    // Cut exactly at a frame boundary: every remaining frame checks.
    let store = Store::open_read_only(config(dir.path())).expect("open");
    let last = store.stream("batched")[0].frame.offset as usize;
    drop(store);
    std::fs::write(&path, &bytes[..last]).expect("cut");
    match Store::open(config(dir.path())) {
        Err(StoreError::Corrupt { at, kind }) => {
            assert_eq!(at.segment, segment);
            assert!(
                matches!(kind, CorruptionKind::SegmentLength { .. }),
                "{kind:?}"
            );
        }
        other => panic!("a cut below the watermark opened: {:?}", other.map(|_| ())),
    }
}
