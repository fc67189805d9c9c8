//! Damaged data directories: a torn tail is cut and reported, a damaged older
//! frame is a typed error naming its position, unrelated files are ignored, and
//! no directory content makes the store panic.

use crate::support::{
    child_args, config, coord, copy_dir, durable_mark, file_len, frame, frame_extent,
    newest_segment, open, payload, put_varint, restore_durable_mark, say, segment_header,
    segment_name, segments, spawn_gate, store_gate, tempdir, verify_intact, Child, Rng, KIND_A,
    KIND_B, SEGMENT_HEADER_BYTES,
};
use batpak::coordinate::Region;
use batpak::event::EventId;
use batpak::store::{CorruptionKind, LogPosition, Store, StoreConfig, StoreError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// A store of `n` events over three entities, closed; returns their ids in order.
fn filled(config: StoreConfig, n: u64) -> Vec<EventId> {
    let store = open(config);
    let ids = (0..n)
        .map(|i| {
            let entity = ["e-0", "e-1", "e-2"][(i % 3) as usize];
            let body =
                serde_json::json!({ "i": i, "pad": "y".repeat(100 + (i % 7) as usize * 13) });
            store
                .append(&coord(entity, "s"), KIND_A, &body)
                .expect("append")
                .event_id
        })
        .collect();
    store.close().expect("close");
    ids
}

fn visible_ids<M>(store: &Store<M>) -> Vec<EventId> {
    store
        .query(&Region::all())
        .iter()
        .map(|e| e.event_id)
        .collect()
}

#[test]
fn torn_last_append_is_cut_at_every_offset() {
    let _gate = store_gate();
    let dir = tempdir();
    let ids = filled(config(dir.path()), 12);
    let (segment, path) = newest_segment(dir.path());
    let append_start = file_len(&path);
    let mark = durable_mark(dir.path());

    // The last append defines a new name, so it writes a name frame and an event frame.
    let store = open(config(dir.path()));
    let last = store
        .append(
            &coord("late", "s"),
            KIND_B,
            &serde_json::json!({ "pad": "z".repeat(60) }),
        )
        .expect("last append");
    let last_frame = store.stream("late")[0].frame;
    store.close().expect("close");
    let full = std::fs::read(&path).expect("read segment");
    assert_eq!(last_frame.segment, segment);
    let event_start = last_frame.offset as usize;
    assert!(
        event_start > append_start as usize,
        "a name frame comes first"
    );
    assert_eq!(event_start + frame_extent(&full[event_start..]), full.len());

    for cut in append_start as usize..full.len() {
        let work = tempdir();
        copy_dir(dir.path(), work.path());
        std::fs::write(work.path().join(segment_name(segment)), &full[..cut]).expect("cut");
        restore_durable_mark(work.path(), &mark);
        let store = open(config(work.path()));

        let torn_at = if cut < event_start {
            append_start as usize
        } else {
            event_start
        };
        let expected = (cut != append_start as usize && cut != event_start).then(|| {
            let at = LogPosition {
                segment,
                offset: torn_at as u64,
            };
            (at, (cut - torn_at) as u64)
        });
        let tail = store.diagnostics().recovery.truncated_tail;
        assert_eq!(
            tail.as_ref().map(|t| (t.at, t.bytes)),
            expected,
            "cut {cut}"
        );
        if let Some(tail) = &tail {
            let kept = std::fs::read(tail.quarantine.as_ref().expect("quarantined"));
            assert_eq!(kept.expect("read"), &full[torn_at..cut], "cut {cut}");
        }
        assert_eq!(visible_ids(&store), ids, "cut {cut}");
        assert!(
            store.get(last.event_id).expect("get").is_none(),
            "cut {cut}"
        );
        let kept = if expected.is_some() { torn_at } else { cut };
        assert_eq!(
            file_len(&work.path().join(segment_name(segment))),
            kept as u64
        );

        let again = store
            .append(&coord("late", "s"), KIND_B, &"again")
            .expect("append after the cut");
        assert_eq!(again.entity_sequence, 1, "cut {cut}");
        store.close().expect("close");
        let store = open(config(work.path()));
        assert_eq!(store.stream("late").len(), 1, "cut {cut}");
        assert_eq!(store.diagnostics().recovery.truncated_tail, None);
        let kept = verify_intact(&store);
        assert_eq!(kept.len(), usize::from(expected.is_some()), "cut {cut}");
    }
}

#[test]
fn unsynced_group_left_as_a_prefix_and_zeros_is_cut() {
    let _gate = store_gate();
    let dir = tempdir();
    let ids = filled(config(dir.path()), 9);
    let (segment, path) = newest_segment(dir.path());
    let group_start = file_len(&path) as usize;
    let mark = durable_mark(dir.path());
    // One batch is one group: one `write`, then one `fdatasync`.
    let store = open(config(dir.path()));
    let items = (0..4)
        .map(|i| {
            batpak::store::BatchAppendItem::new(
                coord(["e-0", "e-1"][i % 2], "s"),
                KIND_B,
                &serde_json::json!({ "item": i, "pad": "q".repeat(30) }),
                batpak::store::AppendOptions::new(),
                batpak::store::CausationRef::None,
            )
            .expect("item")
        })
        .collect();
    store.append_batch(items).expect("batch");
    store.close().expect("close");
    let full = std::fs::read(&path).expect("read segment");

    // An OS crash before the `fdatasync` may leave any prefix of the group on
    // disk with zeros in place of the rest, the file already at its full size.
    let mut refused = Vec::new();
    for kept in group_start..full.len() {
        let work = tempdir();
        copy_dir(dir.path(), work.path());
        let mut image = full[..kept].to_vec();
        image.resize(full.len(), 0);
        std::fs::write(work.path().join(segment_name(segment)), &image).expect("image");
        restore_durable_mark(work.path(), &mark);
        let store = match Store::open(config(work.path())) {
            Ok(store) => store,
            Err(e) => {
                refused.push((kept - group_start, e));
                continue;
            }
        };
        let tail = store.diagnostics().recovery.truncated_tail;
        if kept == group_start {
            // Nothing of the group reached the disk: zeros from a frame
            // boundary on hold nothing, and are cut without a report (as
            // the space mapped appends reserve is; docs/format.md).
            assert!(tail.is_none(), "kept {kept}: {tail:?}");
            assert_eq!(
                file_len(&work.path().join(segment_name(segment))),
                kept as u64
            );
        } else {
            let start = LogPosition {
                segment,
                offset: group_start as u64,
            };
            assert_eq!(tail.expect("reported").at, start, "kept {kept}");
        }
        assert_eq!(visible_ids(&store), ids, "kept {kept}");
        store
            .append(&coord("e-2", "s"), KIND_A, &"after")
            .expect("append");
    }
    assert!(
        refused.is_empty(),
        "{} of {} group prefixes followed by zeros do not open (bytes kept, error): {:?}",
        refused.len(),
        full.len() - group_start,
        refused.iter().take(3).collect::<Vec<_>>()
    );
}

/// Flips one byte at `at` of a copy of `dir`'s segment `segment`; returns the copy.
fn flipped_copy(dir: &Path, segment: u64, at: usize, mask: u8) -> tempfile::TempDir {
    let work = tempdir();
    copy_dir(dir, work.path());
    let path = work.path().join(segment_name(segment));
    let mut bytes = std::fs::read(&path).expect("read segment");
    bytes[at] ^= mask;
    std::fs::write(&path, &bytes).expect("write segment");
    work
}

#[test]
fn damaged_older_frame_is_a_typed_error_at_its_position() {
    let _gate = store_gate();
    let dir = tempdir();
    let cfg = |d: &Path| config(d).with_segment_max_bytes(4096);
    let ids = filled(cfg(dir.path()), 80);
    let store = Store::open_read_only(cfg(dir.path())).expect("read-only open");
    let entries = store.query(&Region::all());
    drop(store);
    assert_eq!(entries.len(), ids.len());
    let newest = newest_segment(dir.path()).0;
    assert!(newest >= 3, "the store rotated");
    // An event in the oldest segment, and one in the newest that is not its last frame.
    let in_newest: Vec<_> = entries
        .iter()
        .filter(|e| e.frame.segment == newest)
        .collect();
    let targets = [entries[3].frame, in_newest[in_newest.len() / 2].frame];

    for target in targets {
        let path = dir.path().join(segment_name(target.segment));
        let bytes = std::fs::read(&path).expect("read segment");
        let start = target.offset as usize;
        let extent = frame_extent(&bytes[start..]);
        assert!(
            start + extent < bytes.len(),
            "the target is not the last frame"
        );
        let cases = [
            (0, CorruptionKind::BadLength),
            (2, CorruptionKind::BadLength),
            (3, CorruptionKind::BadLength),
            (4, CorruptionKind::BadCrc),
            (7, CorruptionKind::BadCrc),
            (8, CorruptionKind::BadCrc),
            (extent / 2, CorruptionKind::BadCrc),
            (extent - 1, CorruptionKind::BadCrc),
        ];
        for (delta, kind) in cases {
            for mask in [0x01, 0x80] {
                let work = flipped_copy(dir.path(), target.segment, start + delta, mask);
                let damaged = std::fs::read(work.path().join(segment_name(target.segment)))
                    .expect("read damaged");
                let expected = LogPosition {
                    segment: target.segment,
                    offset: target.offset,
                };
                match Store::open(cfg(work.path())) {
                    Err(StoreError::Corrupt { at, kind: got }) => {
                        assert_eq!(at, expected, "byte {delta} mask {mask:#x}");
                        assert_eq!(got, kind, "byte {delta} mask {mask:#x}");
                    }
                    other => panic!("byte {delta} mask {mask:#x}: {other:?}"),
                }
                match Store::open_read_only(cfg(work.path())) {
                    Err(StoreError::Corrupt { at, .. }) => assert_eq!(at, expected),
                    other => panic!("read-only, byte {delta}: {other:?}"),
                }
                let after = std::fs::read(work.path().join(segment_name(target.segment)))
                    .expect("read after open");
                assert_eq!(after, damaged, "a failed open must not repair anything");
            }
        }
    }
}

#[test]
fn damage_under_an_open_store_is_never_served() {
    let _gate = store_gate();
    let dir = tempdir();
    filled(config(dir.path()), 10);
    let store = open(config(dir.path()));
    let entries = store.query(&Region::all());
    let target = entries[4].clone();
    let (_, path) = newest_segment(dir.path());
    let mut bytes = std::fs::read(&path).expect("read segment");
    let start = target.frame.offset as usize;
    let last_byte = start + frame_extent(&bytes[start..]) - 1;
    bytes[last_byte] ^= 0x20;
    std::fs::write(&path, &bytes).expect("damage the payload on disk");

    match store.get(target.event_id) {
        Err(StoreError::Corrupt { at, kind }) => {
            assert_eq!(at, target.frame);
            assert_eq!(kind, CorruptionKind::BadCrc);
        }
        other => panic!("damaged event served: {other:?}"),
    }
    match store.verify() {
        Err(StoreError::Corrupt { at, .. }) => assert_eq!(at, target.frame),
        other => panic!("verify missed the damage: {other:?}"),
    }
    assert_eq!(payload(&store, entries[5].event_id)["i"], 5);
}

/// A store spanning several segments; returns its ids and newest segment id.
fn rotated(dir: &Path) -> (Vec<EventId>, u64) {
    let ids = filled(config(dir).with_segment_max_bytes(4096), 60);
    let newest = newest_segment(dir).0;
    assert!(newest >= 3);
    (ids, newest)
}

fn expect_corrupt_header(dir: &Path, segment: u64) {
    let expected = LogPosition { segment, offset: 0 };
    match Store::open(config(dir)) {
        Err(StoreError::Corrupt { at, kind }) => {
            assert_eq!(at, expected);
            assert_eq!(kind, CorruptionKind::BadSegmentHeader);
        }
        other => panic!("segment {segment}: {other:?}"),
    }
    match Store::open_read_only(config(dir)) {
        Err(StoreError::Corrupt { at, .. }) => assert_eq!(at, expected),
        other => panic!("read-only, segment {segment}: {other:?}"),
    }
}

#[test]
fn unrelated_files_are_ignored() {
    let _gate = store_gate();
    let dir = tempdir();
    let (ids, _) = rotated(dir.path());
    let mut rng = Rng::new(7);
    let foreign: Vec<(&str, Vec<u8>)> = vec![
        ("notes.txt", b"shopping list\n".to_vec()),
        ("empty", Vec::new()),
        ("garbage.bin", rng.bytes(1000)),
        ("1.bpk", rng.bytes(64)),
        ("000000000000000000001.bpk", segment_header(1).to_vec()),
        ("00000000000000000002.bpk.bak", rng.bytes(64)),
        ("0000000000000000000x.bpk", rng.bytes(64)),
        ("00000000000000000009.BPK", rng.bytes(64)),
        ("99999999999999999999.bpk", rng.bytes(64)),
    ];
    for (name, bytes) in &foreign {
        std::fs::write(dir.path().join(name), bytes).expect("write foreign file");
    }
    let store = open(config(dir.path()));
    assert_eq!(visible_ids(&store), ids);
    assert_eq!(store.diagnostics().recovery.truncated_tail, None);
    store
        .append(&coord("e-0", "s"), KIND_A, &"after")
        .expect("append");
    store.close().expect("close");
    let store = open(config(dir.path()));
    assert_eq!(store.query(&Region::all()).len(), ids.len() + 1);
    assert!(store.verify().expect("verify").is_clean());
    for (name, bytes) in &foreign {
        let now = std::fs::read(dir.path().join(name)).expect("foreign file kept");
        assert_eq!(&now, bytes, "{name} was modified");
    }
}

#[test]
fn segment_named_files_with_bad_headers_are_corrupt() {
    let _gate = store_gate();
    let dir = tempdir();
    let (ids, newest) = rotated(dir.path());
    let mut rng = Rng::new(11);
    let cases: Vec<(u64, Vec<u8>)> = vec![
        // Newest, full-length garbage header.
        (newest + 4, rng.bytes(64)),
        // Oldest (id 0 sorts first), full-length garbage.
        (0, rng.bytes(SEGMENT_HEADER_BYTES)),
        // A valid header of another segment.
        (newest + 4, segment_header(newest + 3).to_vec()),
        // A header of the right id but another format version.
        (newest + 4, {
            let mut h = segment_header(newest + 4);
            h[8] = 2;
            h.to_vec()
        }),
        // Shorter than a header, but not the newest file: not a crash artefact.
        (0, rng.bytes(10)),
        (0, Vec::new()),
    ];
    for (id, bytes) in cases {
        let work = tempdir();
        copy_dir(dir.path(), work.path());
        let path = work.path().join(segment_name(id));
        std::fs::write(&path, &bytes).expect("write bad segment");
        expect_corrupt_header(work.path(), id);
        assert_eq!(std::fs::read(&path).expect("still there"), bytes);
    }
    // The original directory is fine.
    let store = open(config(dir.path()));
    assert_eq!(visible_ids(&store), ids);
}

#[test]
fn short_newest_segment_is_a_torn_creation_and_removed() {
    let _gate = store_gate();
    let dir = tempdir();
    let (ids, newest) = rotated(dir.path());
    // A prefix of the header, or a whole header's worth of zeros or junk: a
    // power cut before the new header's fsync may leave any of them.
    let mut rng = Rng::new(0x5E6);
    let images: Vec<Vec<u8>> = vec![
        Vec::new(),
        segment_header(newest + 1)[..1].to_vec(),
        segment_header(newest + 1)[..31].to_vec(),
        vec![0; SEGMENT_HEADER_BYTES],
        rng.bytes(SEGMENT_HEADER_BYTES),
    ];
    for image in images {
        let len = image.len();
        let work = tempdir();
        copy_dir(dir.path(), work.path());
        let path = work.path().join(segment_name(newest + 1));
        std::fs::write(&path, &image).expect("write short");

        let read_only = Store::open_read_only(config(work.path())).expect("read-only open");
        assert_eq!(
            read_only.diagnostics().recovery.torn_tail_ignored,
            Some(LogPosition {
                segment: newest + 1,
                offset: 0
            })
        );
        drop(read_only);
        assert!(path.exists(), "read-only opens remove nothing");

        let store = open(config(work.path()));
        assert_eq!(visible_ids(&store), ids);
        let tail = store
            .diagnostics()
            .recovery
            .truncated_tail
            .expect("reported");
        assert_eq!(
            tail.at,
            LogPosition {
                segment: newest + 1,
                offset: 0
            }
        );
        assert_eq!(tail.bytes, len as u64);
        assert!(!path.exists(), "the torn creation is removed");
        store
            .append(&coord("e-1", "s"), KIND_A, &"after")
            .expect("append");
        store.close().expect("close");
        let store = open(config(work.path()));
        assert_eq!(store.query(&Region::all()).len(), ids.len() + 1);
    }
}

/// A segment header followed by one CRC-valid name frame defining `coord_id`.
fn name_frame_segment(coord_id: u64) -> Vec<u8> {
    let mut body = vec![2u8];
    put_varint(&mut body, coord_id);
    for name in ["e", "s"] {
        put_varint(&mut body, name.len() as u64);
        body.extend_from_slice(name.as_bytes());
    }
    let mut bytes = segment_header(1).to_vec();
    bytes.extend_from_slice(&frame(&body));
    bytes
}

const HUGE_NAME_TEST: &str = "corruption::name_frame_with_a_huge_coordinate_id_is_a_typed_error";

#[test]
fn name_frame_with_a_huge_coordinate_id_is_a_typed_error() {
    // The open runs in a child process: if recovery allocates a table as large as
    // the coordinate id, the allocation aborts the process instead of failing.
    if let Some((dir, _)) = child_args() {
        let outcome = match Store::open(config(&dir)) {
            Ok(_) => "ok".to_owned(),
            Err(StoreError::Corrupt { at, .. }) => format!("corrupt {} {}", at.segment, at.offset),
            Err(e) => format!("other {e:?}"),
        };
        say(&outcome);
        return;
    }
    let _gate = spawn_gate();
    let dir = tempdir();
    std::fs::write(
        dir.path().join(segment_name(1)),
        name_frame_segment(u64::from(u32::MAX)),
    )
    .expect("write segment");
    let child = Child::spawn(HUGE_NAME_TEST, dir.path(), 0);
    let line = child.next_line();
    let (status, _) = child.finish();
    assert!(
        status.success(),
        "opening the store killed the process: {status}"
    );
    assert_eq!(
        line.as_deref(),
        Some(format!("corrupt 1 {SEGMENT_HEADER_BYTES}").as_str()),
        "a name frame with coordinate id {} must be refused as corrupt",
        u32::MAX
    );
}

/// Builds a store, renumbers its only segment to `id` (file name and header),
/// then checks that the store either refuses the directory with a typed error
/// or serves it fully: reads, appends to old and new entities, and reopens.
fn renumbered_segment_is_served_or_refused(id: u64) -> Result<&'static str, String> {
    let dir = tempdir();
    let ids = filled(config(dir.path()), 5);
    let old = dir.path().join(segment_name(1));
    let mut bytes = std::fs::read(&old).expect("read segment");
    bytes[..SEGMENT_HEADER_BYTES].copy_from_slice(&segment_header(id));
    std::fs::write(dir.path().join(segment_name(id)), &bytes).expect("write renumbered");
    std::fs::remove_file(&old).expect("remove original");

    let run = || -> Result<&'static str, String> {
        let Ok(store) = Store::open(config(dir.path())) else {
            return Ok("refused");
        };
        for (i, id) in ids.iter().enumerate() {
            let body = store.get(*id).map_err(|e| format!("get {i}: {e:?}"))?;
            if body.map(|e| e.payload["i"].clone()) != Some(serde_json::json!(i)) {
                return Err(format!("event {i} reads back wrong"));
            }
        }
        for entity in ["e-0", "new"] {
            store
                .append(&coord(entity, "s"), KIND_B, &"after")
                .map_err(|e| format!("append to {entity}: {e:?}"))?;
        }
        store.close().map_err(|e| format!("close: {e:?}"))?;
        let store = Store::open(config(dir.path()))
            .map_err(|e| format!("the store accepted appends and then does not reopen: {e:?}"))?;
        if store.query(&Region::all()).len() != ids.len() + 2 {
            return Err("events changed across reopen".into());
        }
        Ok("served")
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| Err("panicked".into()))
}

#[test]
fn segment_ids_beyond_u32_are_served_or_refused() {
    let _gate = store_gate();
    let id = u64::from(u32::MAX) + 2;
    if let Err(broken) = renumbered_segment_is_served_or_refused(id) {
        panic!("segment {id}: {broken}");
    }
}

#[test]
fn segment_id_zero_is_served_or_refused() {
    let _gate = store_gate();
    if let Err(broken) = renumbered_segment_is_served_or_refused(0) {
        panic!("segment 0: {broken}");
    }
}

// ---------------------------------------------------------------------------
// Property: no directory content makes `Store::open` panic.

const PROPERTY_ROUNDS: u64 = 500;

fn random_name(rng: &mut Rng) -> (String, u64) {
    let id = match rng.below(10) {
        0..=4 => rng.below(6),
        5 => rng.range(u64::from(u32::MAX) - 1, u64::from(u32::MAX) + 1),
        6 => rng.next_u64(),
        7 => return ("notes.txt".to_owned(), rng.below(4)),
        8 => return (format!("{:x}.bpk", rng.next_u64()), rng.below(4)),
        _ => return (format!("{:020}.tmp", rng.below(4)), rng.below(4)),
    };
    (segment_name(id), id)
}

/// Random frames: CRC-valid with random bodies, or slices of real frames.
fn random_frames(rng: &mut Rng, real: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.range(1, 6) {
        if rng.chance(1, 2) {
            let mut body = vec![rng.range(1, 8) as u8];
            let n = rng.below(60) as usize;
            body.extend(rng.bytes(n));
            out.extend(frame(&body));
        } else {
            let frames = &real[SEGMENT_HEADER_BYTES..];
            let a = rng.below(frames.len() as u64) as usize;
            let b = a + rng.below((frames.len() - a) as u64 + 1) as usize;
            out.extend_from_slice(&frames[a..b]);
        }
    }
    out
}

fn random_content(rng: &mut Rng, id: u64, real: &[u8]) -> Vec<u8> {
    let header = |rng: &mut Rng| {
        let hid = if rng.chance(7, 8) { id } else { rng.below(6) };
        segment_header(hid).to_vec()
    };
    let mut bytes = match rng.below(8) {
        0 => Vec::new(),
        1 => {
            let n = rng.below(300) as usize;
            rng.bytes(n)
        }
        2 => {
            let mut b = header(rng);
            let n = rng.below(200) as usize;
            b.extend(rng.bytes(n));
            b
        }
        3 | 4 => {
            let mut b = header(rng);
            b.extend_from_slice(&real[SEGMENT_HEADER_BYTES..]);
            b
        }
        5 | 6 => {
            let mut b = header(rng);
            b.extend(random_frames(rng, real));
            b
        }
        _ => real.to_vec(),
    };
    if !bytes.is_empty() && rng.chance(1, 3) {
        let cut = rng.below(bytes.len() as u64 + 1) as usize;
        bytes.truncate(cut);
    }
    for _ in 0..rng.below(3) {
        if !bytes.is_empty() {
            let at = rng.below(bytes.len() as u64) as usize;
            bytes[at] ^= 1 << rng.below(8);
        }
    }
    bytes
}

/// Opens `dir`; if it opens, reads everything, appends, closes and reopens.
/// Returns what broke an invariant other than "no panic".
fn exercise(dir: &Path) -> Result<&'static str, String> {
    let store = match Store::open(config(dir)) {
        Ok(store) => store,
        Err(_) => return Ok("refused"),
    };
    let entries = store.query(&Region::all());
    for e in &entries {
        // A typed error is fine; a panic is not.
        let _ = store.get(e.event_id);
    }
    let _ = store.verify();
    let receipt = store
        .append(&coord("fuzz", "s"), KIND_A, &"probe")
        .map_err(|e| format!("append on an opened store failed: {e:?}"))?;
    store.close().map_err(|e| format!("close failed: {e:?}"))?;
    let store = Store::open(config(dir))
        .map_err(|e| format!("a store that opened and appended does not reopen: {e:?}"))?;
    if store.get(receipt.event_id).ok().flatten().is_none() {
        return Err("the probe append was lost".into());
    }
    if store.query(&Region::all()).len() != entries.len() + 1 {
        return Err("events changed across close and reopen".into());
    }
    Ok("opened")
}

#[test]
fn random_directories_never_panic() {
    let _gate = store_gate();
    let real_dir = tempdir();
    filled(config(real_dir.path()), 6);
    let real = std::fs::read(segments(real_dir.path())[0].1.clone()).expect("real segment");

    let mut rng = Rng::new(0xF022_0001);
    let mut opened = 0;
    let mut failures = Vec::new();
    for round in 0..PROPERTY_ROUNDS {
        let dir = tempdir();
        if rng.chance(1, 3) {
            copy_dir(real_dir.path(), dir.path());
        }
        let mut files = Vec::new();
        for _ in 0..rng.range(1, 4) {
            let (name, id) = random_name(&mut rng);
            let bytes = random_content(&mut rng, id, &real);
            std::fs::write(dir.path().join(&name), &bytes).expect("write file");
            files.push((name, bytes.len()));
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| exercise(dir.path())));
        match outcome {
            Ok(Ok("opened")) => opened += 1,
            Ok(Ok(_)) => {}
            Ok(Err(broken)) => failures.push(format!("round {round}, files {files:?}: {broken}")),
            Err(_) => failures.push(format!("round {round}, files {files:?}: panicked")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {PROPERTY_ROUNDS} rounds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(opened > 0, "some random directories must open");
}
