//! Retention: `truncate_before`, `tombstone` and the age and count policies
//! cut events out of every read at once and out of the files at the next
//! compaction; the kept chain still verifies; sequences go on; a SIGKILL
//! anywhere in such a compaction loses no event the cut keeps.

use crate::support::{
    child_args, coord, open, say, spawn_gate, store_gate, tempdir, Child, Rng, KIND_A, KIND_B,
};
use batpak::coordinate::Region;
use batpak::event::{EventId, ManualClock};
use batpak::store::{
    AppendOptions, BatchAppendItem, CausationRef, RetentionPolicy, Store, StoreConfig, StoreError,
};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Small segments, so a store is many files and most cut events are sealed.
const SEGMENT_BYTES: u64 = 16 << 10;

fn config(dir: &Path) -> StoreConfig {
    StoreConfig::new(dir)
        .with_sync_every_n_events(1)
        .with_segment_max_bytes(SEGMENT_BYTES)
}

/// A batch item.
fn item(
    c: &batpak::coordinate::Coordinate,
    kind: batpak::event::EventKind,
    payload: &serde_json::Value,
) -> BatchAppendItem {
    BatchAppendItem::new(
        c.clone(),
        kind,
        payload,
        AppendOptions::new(),
        CausationRef::None,
    )
    .expect("batch item")
}

/// A payload that names its event, so a raw scan of the files finds it.
fn body(entity: &str, i: u64) -> serde_json::Value {
    serde_json::json!({ "marker": format!("<{entity}#{i}>"), "pad": "p".repeat(120) })
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Total bytes of the files under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    files_under(dir)
        .iter()
        .map(|p| std::fs::metadata(p).expect("metadata").len())
        .sum()
}

/// Whether any file under `dir` holds `needle`.
fn found_in_files(dir: &Path, needle: &str) -> bool {
    files_under(dir).iter().any(|p| {
        let bytes = std::fs::read(p).expect("read file");
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

/// The bytes of the frame at `entry` on disk: 8 bytes of length word and
/// CRC, then the body whose length is the low 24 bits of the length word
/// (docs/format.md, "Frame").
fn frame_bytes(dir: &Path, entry: &batpak::store::IndexEntry) -> u64 {
    let path = dir.join(format!("{:020}.bpk", entry.frame.segment));
    let file = std::fs::read(path).expect("read segment");
    let at = entry.frame.offset as usize;
    let word = u32::from_le_bytes(file[at..at + 4].try_into().expect("four bytes"));
    8 + u64::from(word & 0x00FF_FFFF)
}

#[test]
fn truncate_and_tombstone_cut_reads_at_once_and_compaction_frees_their_bytes() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    let user1 = coord("user:1", "app");
    let user2 = coord("user:2", "app");
    let keep = coord("keep", "app");
    // user:1 and user:2 interleaved in batches (a cut takes part of a batch
    // and compaction rewrites its begin marker), then single appends.
    for i in 1..=30 {
        let items = vec![
            item(&user1, KIND_A, &body("user:1", i)),
            item(&user2, KIND_B, &body("user:2", i)),
            item(&keep, KIND_A, &body("keep", i)),
        ];
        store.append_batch(items).unwrap();
    }
    for i in 31..=60 {
        store.append(&user1, KIND_A, &body("user:1", i)).unwrap();
    }
    // Enough kept events after the cut ones that every cut event is sealed.
    for i in 31..=200 {
        store.append(&keep, KIND_A, &body("keep", i)).unwrap();
    }
    let all_before = store.stream("user:1");
    assert_eq!(all_before.len(), 60);

    let mut cursor = store.cursor_guaranteed(&Region::entity("user:1"));
    assert_eq!(cursor.poll(5).len(), 5);
    let cut = store.truncate_before("user:1", 41).unwrap();
    // A cursor already past some cut events goes on at the first kept one.
    let pulled = cursor.poll(100);
    assert_eq!(pulled.len(), 20);
    assert_eq!(pulled[0].entity_sequence, 41);
    assert_eq!((cut.before, cut.events_cut, cut.tombstone), (41, 40, false));
    let stream = store.stream("user:1");
    assert_eq!(stream.len(), 20);
    assert_eq!(stream[0].entity_sequence, 41);
    assert_eq!(store.count(&Region::entity("user:1")), 20);
    assert_eq!(store.query(&Region::entity("user:1")).len(), 20);
    assert!(store.get(all_before[0].event_id).unwrap().is_none());
    assert_eq!(store.retention("user:1").unwrap().before, 41);
    // An earlier floor changes nothing; a floor past the end is refused.
    assert!(matches!(
        store.truncate_before("user:1", 30),
        Err(StoreError::InvalidRetention { .. })
    ));
    assert!(matches!(
        store.truncate_before("user:1", 62),
        Err(StoreError::InvalidRetention { .. })
    ));
    assert!(matches!(
        store.truncate_before("$batpak:schema-ledger", 2),
        Err(StoreError::InvalidRetention { .. })
    ));

    let user2_before = store.stream("user:2");
    let tomb = store.tombstone("user:2").unwrap();
    assert_eq!(
        (tomb.before, tomb.events_cut, tomb.tombstone),
        (31, 30, true)
    );
    assert!(store.stream("user:2").is_empty());
    assert!(matches!(
        store.append(&user2, KIND_A, &1),
        Err(StoreError::Tombstoned { .. })
    ));
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.truncated_entities, stats.tombstoned_entities),
        (2, 1)
    );

    // The cut events' frames, measured on disk before compaction.
    let cut_entries: Vec<_> = all_before[..40].iter().chain(&user2_before).collect();
    let cut_bytes: u64 = cut_entries.iter().map(|e| frame_bytes(dir.path(), e)).sum();
    let before = bytes_under(dir.path());
    let report = store.compact().unwrap();
    let after = bytes_under(dir.path());
    assert_eq!(report.events_cut, 70, "{report:?}");
    assert!(
        before - after >= cut_bytes,
        "the directory shrank by {} bytes, the cut events took {cut_bytes}",
        before - after
    );
    eprintln!(
        "cut {} events of {cut_bytes} frame bytes; the directory shrank by {} bytes",
        report.events_cut,
        before - after
    );
    for i in 1..=40 {
        assert!(!found_in_files(dir.path(), &format!("<user:1#{i}>")));
    }
    for i in 1..=30 {
        assert!(!found_in_files(dir.path(), &format!("<user:2#{i}>")));
    }
    assert!(found_in_files(dir.path(), "<user:1#41>"));
    assert!(found_in_files(dir.path(), "<keep#1>"));
    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{report:?}");

    // A backup taken now opens with the same reads and a clean chain.
    let backup = tempdir();
    let dest = backup.path().join("copy");
    store.snapshot(&dest).unwrap();
    {
        let copy = Store::open_read_only(StoreConfig::new(&dest)).unwrap();
        assert_eq!(copy.stream("user:1").len(), 20);
        assert!(copy.stream("user:2").is_empty());
        assert_eq!(copy.retention("user:2").map(|r| r.tombstone), Some(true));
        assert!(copy.verify().unwrap().is_clean());
    }
    // Sequences go on after the cut; the kept chain verifies after reopening,
    // by scan and from the index snapshot, and the tombstone holds.
    let next = store.append(&user1, KIND_A, &body("user:1", 61)).unwrap();
    assert_eq!(next.entity_sequence, 61);
    store.close().unwrap();
    for snapshot in [false, true, true] {
        let store = open(config(dir.path()).with_enable_mmap_index(snapshot));
        let stream = store.stream("user:1");
        assert_eq!(stream.len(), 21);
        assert_eq!(stream[0].entity_sequence, 41);
        assert_eq!(store.stream("keep").len(), 200);
        assert!(store.stream("user:2").is_empty());
        assert!(matches!(
            store.append(&user2, KIND_A, &1),
            Err(StoreError::Tombstoned { .. })
        ));
        assert!(store.verify().unwrap().is_clean());
        store.close().unwrap();
    }
}

#[test]
fn cutting_a_whole_stream_keeps_the_name_and_its_sequences() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    let e = coord("short-lived", "s");
    for i in 1..=5 {
        store.append(&e, KIND_A, &body("short-lived", i)).unwrap();
    }
    let cut = store.truncate_before("short-lived", 6).unwrap();
    assert_eq!(cut.events_cut, 5);
    assert!(store.stream("short-lived").is_empty());
    // The active segment holds the cut events: compaction seals it first.
    store.compact().unwrap();
    assert!(!found_in_files(dir.path(), "<short-lived#3>"));
    store.close().unwrap();
    let store = open(config(dir.path()));
    let cas = AppendOptions::new().with_cas(5);
    let receipt = store.append_with_options(&e, KIND_A, &1, cas).unwrap();
    assert_eq!(receipt.entity_sequence, 6);
    assert!(store.verify().unwrap().is_clean());
    store.close().unwrap();
}

#[test]
fn a_read_only_store_stops_serving_a_cut_after_refresh() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    let e = coord("followed", "s");
    for i in 1..=10 {
        store.append(&e, KIND_A, &body("followed", i)).unwrap();
    }
    let reader = Store::open_read_only(config(dir.path())).unwrap();
    assert_eq!(reader.stream("followed").len(), 10);
    store.truncate_before("followed", 8).unwrap();
    reader.refresh().unwrap();
    assert_eq!(reader.stream("followed").len(), 3);
    assert_eq!(reader.retention("followed").unwrap().before, 8);
    // The writer cuts more and compacts before the reader looks again.
    for i in 11..=400 {
        store.append(&e, KIND_A, &body("followed", i)).unwrap();
    }
    store.truncate_before("followed", 300).unwrap();
    store.compact().unwrap();
    reader.refresh().unwrap();
    let stream = reader.stream("followed");
    assert_eq!(stream.len(), 101);
    for entry in &stream {
        let event = reader.get(entry.event_id).unwrap().unwrap();
        let marker = format!("<followed#{}>", entry.entity_sequence);
        assert_eq!(event.payload["marker"], marker.as_str());
    }
    assert!(reader.verify().unwrap().is_clean());
    store.close().unwrap();
}

/// Events at controlled times: an age policy over a category of names and
/// a count policy over a scope cut exactly the events past them.
#[test]
fn age_and_count_policies_cut_exactly_the_events_past_them() {
    let _gate = store_gate();
    let dir = tempdir();
    const HOUR_US: u64 = 3_600_000_000;
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_US));
    let policies = |c: StoreConfig| {
        c.with_clock(clock.clone())
            .with_retention_policy(
                RetentionPolicy::new(Region::entity_under("session"))
                    .with_max_age(Duration::from_secs(24 * 3600)),
            )
            .with_retention_policy(RetentionPolicy::new(Region::scope("metrics")).with_max_count(3))
    };
    let store = open(policies(config(dir.path())));
    let session = coord("session:a", "web");
    let old_session = coord("session:b", "web");
    let unrelated = coord("sessions-log", "web");
    let gauge = coord("gauge", "metrics");
    // One event an hour for 48 hours on session:a, sessions-log and gauge;
    // session:b only in the first 10 hours.
    for hour in 0..48 {
        store.append(&session, KIND_A, &hour).unwrap();
        store.append(&unrelated, KIND_A, &hour).unwrap();
        store.append(&gauge, KIND_A, &hour).unwrap();
        if hour < 10 {
            store.append(&old_session, KIND_A, &hour).unwrap();
        }
        clock.advance(HOUR_US);
    }
    // Now is hour 48: events of hours 24..48 are at most 24 hours old.
    let report = store.compact().unwrap();
    let hours = |entity: &str| -> Vec<u64> {
        store
            .stream(entity)
            .iter()
            .map(|e| {
                store
                    .get(e.event_id)
                    .unwrap()
                    .unwrap()
                    .payload
                    .as_u64()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(hours("session:a"), (24..48).collect::<Vec<_>>());
    assert_eq!(hours("session:b"), Vec::<u64>::new());
    assert_eq!(hours("sessions-log"), (0..48).collect::<Vec<_>>());
    assert_eq!(hours("gauge"), vec![45, 46, 47]);
    assert_eq!(report.events_cut, 24 + 10 + 45, "{report:?}");
    assert_eq!(store.stats().unwrap().retention_policies, 2);
    // A second compaction at the same instant cuts nothing more.
    assert_eq!(store.compact().unwrap().events_cut, 0);
    // Session b's next event follows its last one.
    let next = store.append(&old_session, KIND_A, &48).unwrap();
    assert_eq!(next.entity_sequence, 11);
    assert!(store.verify().unwrap().is_clean());
    store.close().unwrap();
}

const KILL_TEST: &str = "retention::a_killed_retention_compaction_never_loses_a_kept_event";
const KILL_ROUNDS: u64 = 21;

/// Builds the store every round starts from: many segments of three
/// entities, in batches, fences (one cancelled) and single appends, then
/// cuts. Returns the ids and markers of the kept events and the markers of
/// the cut ones.
fn build_template(dir: &Path) -> (Vec<(EventId, String)>, Vec<String>) {
    let store = open(config(dir));
    let names = ["acct:1", "acct:2", "acct:3"];
    let coords: Vec<_> = names.iter().map(|n| coord(n, "bank")).collect();
    for round in 0..150u64 {
        let items = coords
            .iter()
            .zip(names)
            .map(|(c, n)| item(c, KIND_A, &body(n, 2 * round)))
            .collect();
        store.append_batch(items).unwrap();
        let fence = store.begin_visibility_fence().unwrap();
        for (c, n) in coords.iter().zip(names) {
            let _ = fence.submit(c, KIND_A, &body(n, 2 * round + 1)).unwrap();
        }
        if round % 7 == 3 {
            fence.cancel().unwrap();
        } else {
            fence.commit().unwrap();
        }
    }
    let cut_markers: Vec<String> = ["acct:1", "acct:2"]
        .iter()
        .flat_map(|n| {
            store
                .stream(n)
                .iter()
                .filter(|e| n == &"acct:2" || e.entity_sequence < 50)
                .map(|e| store.get(e.event_id).unwrap().unwrap().payload["marker"].to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    store.truncate_before("acct:1", 50).unwrap();
    store.tombstone("acct:2").unwrap();
    let kept = names
        .iter()
        .flat_map(|n| store.stream(n))
        .map(|e| {
            let marker = store.get(e.event_id).unwrap().unwrap().payload["marker"].to_string();
            (e.event_id, marker)
        })
        .collect();
    store.close().unwrap();
    (kept, cut_markers)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The child: opens the round's store, compacts, says done.
fn compact_child(dir: &Path) {
    let store = Store::open(config(dir)).expect("child open");
    say("compacting");
    store.compact().expect("child compact");
    say("done");
    store.close().expect("child close");
}

#[test]
fn a_killed_retention_compaction_never_loses_a_kept_event() {
    if let Some((dir, _)) = child_args() {
        return compact_child(&dir);
    }
    let _gate = spawn_gate();
    let root = tempdir();
    let template = root.path().join("template");
    let (kept, cut_markers) = build_template(&template);
    assert!(!kept.is_empty() && !cut_markers.is_empty());
    let mut rng = Rng::new(0x5E7E_0001);
    let mut calibration = Duration::ZERO;
    let mut interrupted = 0;
    for round in 0..KILL_ROUNDS {
        let dir = root.path().join(format!("round-{round}"));
        copy_dir(&template, &dir);
        let child = Child::spawn(KILL_TEST, &dir, round);
        assert_eq!(child.next_line().as_deref(), Some("compacting"));
        let started = Instant::now();
        if round == 0 {
            assert_eq!(child.next_line().as_deref(), Some("done"));
            calibration = started.elapsed();
            assert!(child.finish().0.success());
        } else {
            let fraction = rng.below(1_000) as f64 / 1_000.0;
            std::thread::sleep(calibration.mul_f64(fraction));
            let rest = child.kill();
            if !rest.iter().any(|l| l == "done") {
                interrupted += 1;
            }
        }
        // Reopen: every kept event is there with its payload, no cut one is
        // served, and the chains verify.
        let store = open(config(&dir));
        for (id, marker) in &kept {
            let event = store
                .get(*id)
                .unwrap()
                .unwrap_or_else(|| panic!("round {round}: kept event {marker} lost"));
            assert_eq!(&event.payload["marker"].to_string(), marker);
        }
        assert!(store.stream("acct:2").is_empty());
        assert!(store
            .stream("acct:1")
            .iter()
            .all(|e| e.entity_sequence >= 50));
        let report = store.verify().unwrap();
        assert_eq!(report.first_break, None, "round {round}: {report:?}");
        // Finishing the compaction removes every cut byte.
        store.compact().unwrap();
        assert!(store.verify().unwrap().first_break.is_none());
        store.close().unwrap();
        for marker in &cut_markers {
            let needle = marker.trim_matches('"');
            assert!(
                !found_in_files(&dir, needle),
                "round {round}: {needle} still on disk"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    eprintln!(
        "{interrupted} of {} kills landed inside a compaction of {calibration:?}",
        KILL_ROUNDS - 1
    );
    assert!(
        interrupted > 0,
        "no kill landed inside a compaction of {calibration:?}"
    );
}

/// Policies recorded in the log hold for every process that compacts the
/// store, after reopening too; the latest set replaces the one before.
#[test]
fn policies_recorded_in_the_log_hold_after_reopening() {
    let _gate = store_gate();
    let dir = tempdir();
    const MINUTE_US: u64 = 60_000_000;
    let clock = Arc::new(ManualClock::new(100_000 * MINUTE_US));
    let store = open(config(dir.path()).with_clock(clock.clone()));
    let stale = RetentionPolicy::new(Region::all()).with_max_count(1);
    store.set_retention_policies(&[stale]).unwrap();
    let by_count = RetentionPolicy::new(Region::entity_prefix("log-")).with_max_count(5);
    let by_age = RetentionPolicy::new(Region::entity("audit:x").with_scope("ops"))
        .with_max_age(Duration::from_secs(600));
    store
        .set_retention_policies(&[by_count.clone(), by_age.clone()])
        .unwrap();
    assert!(matches!(
        store.set_retention_policies(&[RetentionPolicy::new(Region::all().with_kind(KIND_A))]),
        Err(StoreError::InvalidRetention { .. })
    ));
    for minute in 0..20 {
        store
            .append(&coord("log-a", "ops"), KIND_A, &minute)
            .unwrap();
        store
            .append(&coord("audit:x", "ops"), KIND_A, &minute)
            .unwrap();
        store
            .append(&coord("other", "ops"), KIND_A, &minute)
            .unwrap();
        clock.advance(MINUTE_US);
    }
    store.close().unwrap();
    let store = open(config(dir.path()).with_clock(clock.clone()));
    assert_eq!(store.retention_policies().unwrap(), vec![by_count, by_age]);
    assert_eq!(store.stats().unwrap().retention_policies, 2);
    store.compact().unwrap();
    let first = |entity: &str| store.stream(entity)[0].entity_sequence;
    assert_eq!(store.stream("log-a").len(), 5);
    assert_eq!(first("log-a"), 16);
    // Now is minute 20: minutes 10..20 are at most ten minutes old.
    assert_eq!(first("audit:x"), 11);
    assert_eq!(store.stream("other").len(), 20);
    assert!(store.verify().unwrap().is_clean());
    store.close().unwrap();
}
