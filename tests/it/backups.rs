//! Backups: `Store::snapshot` is all or nothing. A child process copying a store
//! of many segments is SIGKILLed at random points of the copy; afterwards the
//! destination is missing (or still the empty directory it was) or a store
//! holding every event acknowledged before the snapshot was asked for, never a
//! store with part of the log.

use crate::support::{child_args, coord, say, spawn_gate, tempdir, Child, Rng, KIND_A};
use batpak::coordinate::Region;
use batpak::event::EventId;
use batpak::store::{AppendOptions, BatchAppendItem, CausationRef, Store, StoreConfig};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CHILD_TEST: &str = "backups::an_interrupted_snapshot_leaves_no_partial_store";

/// Round 0 copies to the end and measures the copy; the others kill it.
const ROUNDS: u64 = 12;
/// Small segments, so the copy is many files and a kill can land between them.
const SEGMENT_BYTES: u64 = 64 << 10;
/// The first round fills the store with this many batches of `BATCH_ITEMS`.
const FILL_BATCHES: usize = 40;
const BATCH_ITEMS: usize = 50;
/// Bytes of padding per event, about a kilobyte each.
const PAD_BYTES: usize = 1_000;

fn source_config(root: &Path) -> StoreConfig {
    StoreConfig::new(root.join("data"))
        .with_segment_max_bytes(SEGMENT_BYTES)
        .with_sync_every_n_events(1)
}

fn dest_of(root: &Path, round: u64) -> PathBuf {
    root.join(format!("backup-{round}"))
}

/// The child: appends (a fill in round 0, a few events later), printing one
/// line per acknowledged event, then asks for a snapshot and says when done.
fn append_then_snapshot(root: &Path, round: u64) {
    let store = Store::open(source_config(root)).expect("child open");
    let entity = coord("backed-up", "s");
    let pad = "x".repeat(PAD_BYTES);
    let batches = if round == 0 { FILL_BATCHES } else { 1 };
    let items = if round == 0 {
        BATCH_ITEMS
    } else {
        1 + round as usize
    };
    for b in 0..batches {
        let batch = (0..items)
            .map(|i| {
                let body = serde_json::json!({ "round": round, "b": b, "i": i, "pad": pad });
                BatchAppendItem::new(
                    entity.clone(),
                    KIND_A,
                    &body,
                    AppendOptions::new(),
                    CausationRef::None,
                )
                .expect("batch item")
            })
            .collect();
        for receipt in store.append_batch(batch).expect("child append") {
            if !say(&format!("ack {}", receipt.event_id)) {
                return;
            }
        }
    }
    say("snapshot");
    store
        .snapshot(dest_of(root, round))
        .expect("child snapshot");
    say("done");
    store.close().expect("child close");
}

/// What a round left at the destination.
#[derive(Debug, PartialEq, Eq)]
enum Left {
    /// No copy: the destination is missing, or still the empty directory it was.
    Nothing,
    /// The whole copy.
    Copy,
}

/// Checks the destination of a round against the events acknowledged so far.
fn check_dest(dest: &Path, was_empty_dir: bool, acknowledged: &[EventId], round: u64) -> Left {
    if !dest.exists() {
        assert!(
            !was_empty_dir,
            "round {round}: the empty destination vanished"
        );
        return Left::Nothing;
    }
    let empty = std::fs::read_dir(dest).expect("list dest").next().is_none();
    if empty {
        assert!(
            was_empty_dir,
            "round {round}: an empty destination appeared"
        );
        return Left::Nothing;
    }
    let copy = Store::open_read_only(StoreConfig::new(dest))
        .unwrap_or_else(|e| panic!("round {round}: the copy does not open: {e:?}"));
    let copied: Vec<EventId> = copy
        .query(&Region::all())
        .iter()
        .map(|e| e.event_id)
        .collect();
    assert!(
        copied == acknowledged,
        "round {round}: a partial copy, {} of {} acknowledged events",
        copied.len(),
        acknowledged.len()
    );
    let report = copy.verify().expect("verify the copy");
    assert!(report.is_clean(), "round {round}: {report:?}");
    assert_eq!(report.torn_tail, None, "round {round}: a torn copy");
    Left::Copy
}

/// Reads acknowledgements up to the child's "snapshot" line.
fn read_until_snapshot(child: &Child, acknowledged: &mut Vec<EventId>, round: u64) {
    loop {
        let line = child
            .next_line()
            .unwrap_or_else(|| panic!("round {round}: the child exited before its snapshot"));
        if line == "snapshot" {
            return;
        }
        let id = line
            .strip_prefix("ack ")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("round {round}: unparsable child line {line:?}"));
        acknowledged.push(id);
    }
}

#[test]
fn an_interrupted_snapshot_leaves_no_partial_store() {
    if let Some((root, round)) = child_args() {
        return append_then_snapshot(&root, round);
    }
    let _gate = spawn_gate();
    let root = tempdir();
    let mut rng = Rng::new(0xBAC_0001);
    let mut acknowledged = Vec::new();
    let mut copy_time = Duration::ZERO;
    let mut interrupted = 0;
    for round in 0..ROUNDS {
        let dest = dest_of(root.path(), round);
        // Every third destination exists as an empty directory, which the
        // copy may replace.
        let was_empty_dir = round % 3 == 2;
        if was_empty_dir {
            std::fs::create_dir(&dest).expect("create empty dest");
        }
        let child = Child::spawn(CHILD_TEST, root.path(), round);
        read_until_snapshot(&child, &mut acknowledged, round);
        let asked = Instant::now();
        let left = if round == 0 {
            assert_eq!(child.next_line().as_deref(), Some("done"));
            copy_time = asked.elapsed();
            let (status, _) = child.finish();
            assert!(status.success(), "round 0: {status}");
            check_dest(&dest, was_empty_dir, &acknowledged, round)
        } else {
            // Anywhere from before the copy starts to about when it ends.
            let fraction = rng.below(1_000) as f64 / 1_000.0;
            std::thread::sleep(copy_time.mul_f64(fraction));
            let rest = child.kill();
            let left = check_dest(&dest, was_empty_dir, &acknowledged, round);
            if left == Left::Nothing {
                assert!(
                    !rest.iter().any(|l| l == "done"),
                    "round {round}: the child said done, but there is no copy"
                );
                interrupted += 1;
            }
            left
        };
        eprintln!("round {round}: {left:?} after {copy_time:?} calibration");
    }
    assert!(
        interrupted > 0,
        "no kill landed inside a copy of {copy_time:?}"
    );
    // A killed copy may leave its staging directory, never under a name a
    // caller asked for.
    for entry in std::fs::read_dir(root.path()).expect("list root") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        let expected = name == "data"
            || name.starts_with("backup-")
            || (name.starts_with(".backup-") && name.contains(".partial-"));
        assert!(expected, "unexpected entry {name}");
    }
}
