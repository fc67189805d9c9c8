//! The opaque-bytes lane (issue 13, item 4): bytes stored as given, single and
//! batched, read back unchanged without any decoding, across a reopen.

use crate::support::{config, coord, open, store_gate, tempdir, KIND_A};
use batpak::store::replay::RawBytesInput;
use batpak::store::{AppendOptions, BatchAppendItem};

#[test]
fn bytes_round_trip_single_and_batched_across_a_reopen() {
    let _gate = store_gate();
    let dir = tempdir();
    let blobs: Vec<Vec<u8>> = vec![vec![], vec![0, 159, 146, 150], (0..=255).collect()];
    let store = open(config(dir.path()));
    let c = coord("blob:1", "files");
    let one = store
        .append_bytes(&c, KIND_A, &blobs[2], AppendOptions::new().with_cas(0))
        .expect("append bytes");
    let items = blobs[..2]
        .iter()
        .map(|b| BatchAppendItem::bytes(c.clone(), KIND_A, b.clone(), AppendOptions::new()))
        .collect::<Result<Vec<_>, _>>()
        .expect("items");
    let batch = store.append_batch(items).expect("batch");
    store.close().expect("close");

    let store = open(config(dir.path()));
    let read = |id| {
        store
            .get_as::<RawBytesInput>(id)
            .expect("get")
            .expect("visible")
            .payload
    };
    assert_eq!(read(one.event_id), blobs[2]);
    assert_eq!(read(batch[0].event_id), blobs[0]);
    assert_eq!(read(batch[1].event_id), blobs[1]);
    // Rendered without the application's types: bytes become a JSON array.
    let json = store.get(batch[1].event_id).expect("get").expect("visible");
    assert_eq!(json.payload, serde_json::json!([0, 159, 146, 150]));
    assert!(store.verify().expect("verify").is_clean());
}
