//! Mapped appends (`StoreConfig::with_mapped_appends`, Linux): the active
//! segment is written through a shared map with zeros reserved ahead of its
//! end. What a crash of the process leaves of that space, readers take for
//! the end of the log and the next read-write open cuts without a report;
//! sealed segments and closed stores are exactly as long as their frames,
//! and readers see what plain writes would show.

use crate::support::{config, coord, copy_dir, file_len, newest_segment, open, payload, tempdir};
use crate::support::{segments, verify_intact, KIND_A, KIND_B};
use batpak::coordinate::Region;
use batpak::event::EventId;
use batpak::store::{Store, StoreConfig};
use std::path::Path;

fn mapped(dir: &Path) -> StoreConfig {
    // Small segments, so the appends cross several seals.
    config(dir)
        .with_sync_every_n_events(50)
        .with_segment_max_bytes(64 << 10)
        .with_mapped_appends(true)
}

/// Appends `n` events of mixed sizes over four entities; their ids and payloads.
fn fill(store: &Store, n: u64, tag: &str) -> Vec<(EventId, serde_json::Value)> {
    (0..n)
        .map(|i| {
            let body = serde_json::json!({ "tag": tag, "i": i, "pad": "p".repeat((i * 97 % 900) as usize) });
            let kind = if i % 3 == 0 { KIND_B } else { KIND_A };
            let c = coord(&format!("acct-{}", i % 4), "mapped");
            (store.append(&c, kind, &body).expect("append").event_id, body)
        })
        .collect()
}

fn assert_holds<M>(store: &Store<M>, events: &[(EventId, serde_json::Value)]) {
    for (id, body) in events {
        assert_eq!(&payload(store, *id), body);
    }
    assert_eq!(store.query(&Region::all()).len(), events.len());
}

/// The newest segment of a closed store ends with a frame, not with
/// reserved zeros (sealed segments' exact lengths are `verify`'s to check,
/// against their links).
fn assert_exact(dir: &Path) {
    let (_, newest) = newest_segment(dir);
    let bytes = std::fs::read(&newest).expect("read the newest segment");
    assert_ne!(
        bytes.last(),
        Some(&0),
        "{} ends in reserved zeros",
        newest.display()
    );
}

#[test]
fn a_crash_leaves_reserved_zeros_that_readers_skip_and_the_next_open_cuts() {
    let dir = tempdir();
    let store = open(mapped(dir.path()));
    let mut events = fill(&store, 400, "before");
    store.sync().expect("sync");
    assert!(segments(dir.path()).len() > 2, "the appends crossed seals");
    // What a killed process leaves: the files as the page cache holds them,
    // the active segment with its reserved space.
    let crashed = tempdir();
    copy_dir(dir.path(), crashed.path());
    let (_, newest) = newest_segment(crashed.path());
    let bytes = std::fs::read(&newest).expect("read the newest segment");
    let zeros = bytes.iter().rev().take_while(|b| **b == 0).count();
    assert!(
        zeros > 4096,
        "space is reserved past the frames ({zeros} zeros)"
    );
    let frames_end = (bytes.len() - zeros) as u64;
    store.close().expect("close");

    // A reader takes the zeros for the end of the log: nothing to cut.
    let reader = Store::open_read_only(config(crashed.path())).expect("read-only open");
    let recovery = reader.diagnostics().recovery;
    assert!(recovery.torn_tail_ignored.is_none(), "{recovery:?}");
    assert!(recovery.pending_cut.is_none(), "{recovery:?}");
    assert!(reader.verify().expect("verify").is_clean());
    assert_holds(&reader, &events);
    drop(reader);

    // A read-write open (here without the option) cuts them: they hold
    // nothing, so there is nothing to report or keep.
    let store = open(config(crashed.path()).with_mapped_appends(false));
    let recovery = store.diagnostics().recovery;
    assert!(recovery.truncated_tail.is_none(), "{recovery:?}");
    assert_eq!(file_len(&newest), frames_end, "the open cut the zeros off");
    assert_holds(&store, &events);
    assert!(verify_intact(&store).is_empty(), "nothing was quarantined");
    events.extend(fill(&store, 50, "after"));
    store.close().expect("close");
    assert_exact(crashed.path());

    let store = open(mapped(crashed.path()));
    assert_holds(&store, &events);
    assert!(verify_intact(&store).is_empty());
}

#[test]
fn closed_stores_end_at_their_frames_and_readers_follow_a_mapped_writer() {
    let dir = tempdir();
    let store = open(mapped(dir.path()));
    let mut events = fill(&store, 300, "first");
    store.sync().expect("sync");
    // The live store's own check reads its reserved space as the end.
    assert!(store.verify().expect("verify").is_clean());
    // A read-only store opened beside the live writer reads the reserved
    // space as the end of the log, not as a torn tail.
    let reader = Store::open_read_only(mapped(dir.path())).expect("read-only open");
    let recovery = reader.diagnostics().recovery;
    assert!(recovery.torn_tail_ignored.is_none(), "{recovery:?}");
    assert_eq!(reader.query(&Region::all()).len(), events.len());
    events.extend(fill(&store, 200, "second"));
    store.close().expect("close");
    assert_exact(dir.path());
    reader.refresh().expect("refresh");
    assert_holds(&reader, &events);
    drop(reader);

    // Reopened, mapped again: the writer appends after the frames.
    let store = open(mapped(dir.path()));
    events.extend(fill(&store, 100, "third"));
    store.close().expect("close");
    assert_exact(dir.path());
    let store = open(config(dir.path()).with_enable_mmap_index(true));
    assert_holds(&store, &events);
    assert!(verify_intact(&store).is_empty());
}

/// Compaction after a retention cut reads the active segment up to its
/// frames, not into the reserved space after them.
#[test]
fn compaction_after_a_cut_reads_the_active_segment_up_to_its_frames() {
    let dir = tempdir();
    let store = open(mapped(dir.path()));
    let old = fill(&store, 200, "old");
    let cut = store.truncate_before("acct-0", 30).expect("cut");
    assert_eq!(cut.events_cut, 29);
    let report = store.compact().expect("compact beside reserved space");
    assert_eq!(report.events_cut, 29, "{report:?}");
    let kept: Vec<_> = old
        .into_iter()
        .filter(|(id, _)| store.get(*id).expect("get").is_some())
        .collect();
    assert_eq!(kept.len(), 200 - 29);
    for (id, body) in &kept {
        assert_eq!(&payload(&store, *id), body);
    }
    assert_eq!(store.stream("acct-0").len(), 50 - 29);
    assert!(verify_intact(&store).is_empty());
    store.close().expect("close");
    assert_exact(dir.path());
}
