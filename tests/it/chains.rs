//! Chain hashes that most frames do not store (docs/format.md, lean event
//! frames): a frame stores its event's hash at every 64th event of its
//! entity and at its entity's first event in each segment, and every other
//! hash is computed from the nearest stored one. Each receipt's hash is the
//! one `content_hash` computes, before and after a reopen (which reads the
//! writer's tips back through the walk), across segments, a cancelled
//! fence, a batch and a retention cut with compaction. An edit between two
//! stored hashes is a chain break at the next one; an edit after the last
//! one is caught by the receipt.

use crate::support::{coord, crc32, open, store_gate, tempdir};
use batpak::event::EventKind;
use batpak::store::{AppendOptions, AppendReceipt, BatchAppendItem, Store, StoreConfig};
use std::path::Path;

const KIND: EventKind = EventKind::custom(0x2, 9);

fn config(dir: &Path, segment_bytes: u64) -> StoreConfig {
    StoreConfig::new(dir)
        .with_sync_every_n_events(1)
        .with_segment_max_bytes(segment_bytes)
}

/// Every receipt's hash is the one the store computes for its event.
fn assert_hashes(store: &Store, receipts: &[AppendReceipt]) {
    for r in receipts {
        assert_eq!(
            store.content_hash(r.event_id).expect("hash"),
            Some(r.content_hash),
            "event {}",
            r.sequence
        );
    }
}

#[test]
fn receipts_hashes_are_computed_back_across_segments_fences_reopens_and_cuts() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = config(dir.path(), 8192);
    let (a, b) = (coord("acct-a", "s"), coord("acct-b", "s"));
    let mut receipts = Vec::new();
    let store = open(config.clone());
    for i in 0..150u64 {
        let c = if i % 5 == 4 { &b } else { &a };
        receipts.push(store.append(c, KIND, &format!("{i:>30}")).expect("append"));
        if i == 70 {
            // Events of `a` that never become visible: the chain goes on
            // from the event before them.
            let fence = store.begin_visibility_fence().expect("fence");
            for j in 0..3 {
                let _ = fence.submit(&a, KIND, &j).expect("fenced submit");
            }
            fence.cancel().expect("cancel");
        }
    }
    let items = (0..20)
        .map(|i| BatchAppendItem::bytes(a.clone(), KIND, vec![i; 10], AppendOptions::new()))
        .collect::<Result<Vec<_>, _>>()
        .expect("items");
    receipts.extend(store.append_batch(items).expect("batch"));
    assert!(crate::support::segments(dir.path()).len() >= 2);
    assert_hashes(&store, &receipts);
    store.close().expect("close");

    // A new process: the writer's tips are read back through the walk, so
    // the next events chain on the right hashes.
    let store = open(config.clone());
    assert_hashes(&store, &receipts);
    let next = (0..70)
        .map(|i| store.append(&a, KIND, &i).expect("append after reopen"))
        .collect::<Vec<_>>();
    assert_eq!(next[0].entity_sequence, 141);
    receipts.extend(next);
    assert_hashes(&store, &receipts);
    assert!(store.verify().expect("verify").is_clean());

    // A cut and the compaction that drops the cut events: the kept chain
    // starts from the retention record's hash.
    store.truncate_before("acct-a", 100).expect("cut");
    store.compact().expect("compact");
    let kept: Vec<_> = receipts
        .iter()
        .filter(|r| store.get(r.event_id).expect("get").is_some())
        .copied()
        .collect();
    assert!(kept.len() < receipts.len());
    assert_hashes(&store, &kept);
    let after = store.append(&a, KIND, &"after the cut").expect("append");
    assert_hashes(&store, &[after]);
    assert!(store.verify().expect("verify").is_clean());
    store.close().expect("close");
    let store = open(config);
    assert_hashes(&store, &kept);
    assert!(store.verify().expect("verify").is_clean());
}

/// Changes one byte of the payload of the event whose frame starts at
/// `offset` of segment `path`, and fixes the frame's CRC: damage only the
/// chain can show.
fn edit_payload(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).expect("read segment");
    let at = offset as usize;
    let extent = crate::support::frame_extent(&bytes[at..]);
    // The payload is the frame's last bytes: a JSON string, so the byte
    // before its closing quote is a character of it.
    bytes[at + extent - 2] ^= 1;
    let crc = crc32(&bytes[at + 8..at + extent]);
    bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(path, bytes).expect("write segment");
}

#[test]
fn an_edit_breaks_the_chain_at_the_next_stored_hash_and_after_the_last_the_receipt() {
    let _gate = store_gate();
    let dir = tempdir();
    let config = config(dir.path(), 64 << 20);
    let a = coord("ledger", "s");
    let store = open(config.clone());
    let receipts: Vec<_> = (0..70u64)
        .map(|i| {
            store
                .append(&a, KIND, &format!("entry {i:>4}"))
                .expect("append")
        })
        .collect();
    let frames: Vec<_> = store.stream("ledger").iter().map(|e| e.frame).collect();
    store.close().expect("close");
    let segment = crate::support::newest_segment(dir.path()).1;

    // Event 10 stores no hash; event 64 is the next that does.
    edit_payload(&segment, frames[9].offset);
    let store = open(config.clone());
    let report = store.verify().expect("verify");
    let first = report.first_break.expect("the edit is a break");
    assert_eq!(first.event_id, receipts[63].event_id.get());
    assert!(!first.sequence_gap);
    assert_ne!(
        store.content_hash(receipts[9].event_id).expect("hash"),
        Some(receipts[9].content_hash)
    );
    store.close().expect("close");
    edit_payload(&segment, frames[9].offset);

    // Event 66 is after the last stored hash: nothing on disk disagrees
    // with it, but its receipt does.
    edit_payload(&segment, frames[65].offset);
    let store = open(config);
    assert!(store.verify().expect("verify").is_clean());
    assert_ne!(
        store.content_hash(receipts[65].event_id).expect("hash"),
        Some(receipts[65].content_hash)
    );
    assert_hashes(&store, &receipts[..65]);
}
