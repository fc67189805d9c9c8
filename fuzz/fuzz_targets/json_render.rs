//! The JSON lane and the JSON renderer (`Store::get`, what the inspector's
//! `tail` prints). The first input byte chooses the mode:
//!
//! - 0: the rest is JSON text; a value `serde_json` parses is appended as a raw
//!   payload and must read back, read-write and then read-only, exactly as
//!   `serde_json` reads the bytes it wrote.
//! - 1: the next byte's low bits are a codec and the rest is a payload, written
//!   straight into a segment (so it need not be valid JSON); `get` must agree
//!   with `serde_json` on a JSON payload, render bytes as an array of numbers,
//!   and refuse a postcard payload without a shape with a typed error.
//! - 2: a chunk is the JSON of a schema ledger entry and the rest a postcard
//!   payload of the kind and version it names; `get` must agree with the
//!   transcoder run on the entry's shape.
//!
//! Nothing may panic or hang.

#![no_main]

use batpak_fuzz::{exercise, Bytes, Scratch, INPUT_BYTES_MAX};
use batpak_runtime::coordinate::Coordinate;
use batpak_runtime::event::{Codec, EventKind};
use batpak_runtime::fuzzing::{encode_frame, segment_header, segment_path, EventValue, FrameValue};
use batpak_runtime::schema::json::event_to_json;
use batpak_runtime::store::ledger::{LedgerEntry, LEDGER_ENTITY, LEDGER_KIND, SYSTEM_SCOPE};
use batpak_runtime::store::{ReadOnly, Store, StoreConfig, StoreError};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const KIND: EventKind = EventKind::custom(0x1, 1);
/// Flag bit of a library system event.
const SYSTEM: u8 = 1 << 2;

fn append_and_read(text: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(text) else {
        return;
    };
    let dir = Scratch::new("json_render");
    let config = StoreConfig::new(dir.path());
    let store = Store::open(config.clone()).expect("an empty directory opens");
    let coordinate = Coordinate::new("fuzz:json", "fuzz").expect("a valid coordinate");
    let Ok(receipt) = store.append(&coordinate, KIND, &value) else {
        return;
    };
    let written = serde_json::to_vec(&value).expect("a value serializes");
    let expected: Value =
        serde_json::from_slice(&written).expect("serde_json reads its own output");
    let read = store
        .get(receipt.event_id)
        .expect("an appended event reads back");
    assert_eq!(
        read.expect("an appended event is visible").payload,
        expected
    );
    store.close().expect("the store closes");
    let store = Store::open_read_only(config).expect("the log opens read-only");
    let read = store
        .get(receipt.event_id)
        .expect("the event reads back read-only");
    assert_eq!(read.expect("the event is visible").payload, expected);
}

/// The frame of the first event of coordinate `coord_id`, at global
/// `sequence` (its id is derived from it).
fn event(
    coord_id: u32,
    sequence: u64,
    bits: u8,
    kind: u16,
    version: u16,
    payload: &[u8],
) -> FrameValue {
    let event_id = 0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(sequence);
    FrameValue::Event(EventValue {
        bits,
        kind,
        schema_version: version,
        sequence,
        event_id,
        coord_id,
        entity_sequence: 1,
        correlation_id: event_id,
        causation_id: None,
        idempotency_key: None,
        // Odd sequences are written lean, every third of those without its
        // hash: a file holds every encoding.
        hash: (sequence % 3 != 0).then_some([0; 32]),
        lean: sequence % 2 == 1,
        payload: payload.to_vec(),
    })
}

fn name(coord_id: u32, entity: &str, scope: &str) -> FrameValue {
    FrameValue::Name {
        coord_id,
        entity: entity.into(),
        scope: scope.into(),
    }
}

/// Writes segment 1 holding `frames` (each an entity's first event) and opens
/// it read-only.
fn open_with(dir: &Scratch, frames: &[FrameValue]) -> Result<Store<ReadOnly>, StoreError> {
    let mut file = segment_header(1).to_vec();
    let mut names = std::collections::HashMap::new();
    for frame in frames {
        if let FrameValue::Name {
            coord_id,
            entity,
            scope,
        } = frame
        {
            names.insert(*coord_id, (entity.clone(), scope.clone()));
        }
        let (entity, scope) = match frame {
            FrameValue::Event(ev) => names.get(&ev.coord_id).cloned().unwrap_or_default(),
            _ => Default::default(),
        };
        file.extend(encode_frame(frame, &entity, &scope, &[0; 32]).0);
    }
    std::fs::write(segment_path(dir.path(), 1), file).expect("the segment can be written");
    Store::open_read_only(StoreConfig::new(dir.path()))
}

fn raw_payload(codec: u8, payload: &[u8]) {
    let dir = Scratch::new("json_render");
    let frames = [
        name(0, "fuzz:raw", "fuzz"),
        event(0, 1, codec, KIND.raw(), 0, payload),
    ];
    let Ok(store) = open_with(&dir, &frames) else {
        assert!(Codec::from_raw(codec).is_none(), "a valid frame is refused");
        return;
    };
    let FrameValue::Event(ev) = &frames[1] else {
        unreachable!()
    };
    let read = store.get(ev.event_id);
    match Codec::from_raw(codec) {
        Some(Codec::Json) => match serde_json::from_slice::<Value>(payload) {
            Ok(expected) => assert_eq!(
                read.expect("valid JSON reads").expect("visible").payload,
                expected
            ),
            Err(_) => assert!(matches!(read, Err(StoreError::Decode { .. })), "{read:?}"),
        },
        Some(Codec::Bytes) => {
            let expected = Value::Array(payload.iter().map(|b| Value::from(*b)).collect());
            assert_eq!(
                read.expect("bytes read").expect("visible").payload,
                expected
            );
        }
        Some(Codec::Postcard) => {
            assert!(matches!(read, Err(StoreError::Decode { .. })), "{read:?}")
        }
        None => panic!("an invalid codec was accepted"),
    }
    exercise(&store);
}

fn typed_payload(entry: &[u8], payload: &[u8]) {
    let parsed = serde_json::from_slice::<LedgerEntry>(entry).ok();
    let (kind, version) = parsed
        .as_ref()
        .map_or((KIND.raw(), 1), |e| (e.kind, e.version));
    let dir = Scratch::new("json_render");
    let frames = [
        name(0, LEDGER_ENTITY, SYSTEM_SCOPE),
        event(
            0,
            1,
            Codec::Json as u8 | SYSTEM,
            LEDGER_KIND.raw(),
            0,
            entry,
        ),
        name(1, "fuzz:typed", "fuzz"),
        event(1, 2, Codec::Postcard as u8, kind, version, payload),
    ];
    let Ok(store) = open_with(&dir, &frames) else {
        return;
    };
    let FrameValue::Event(ev) = &frames[3] else {
        unreachable!()
    };
    let read = store.get(ev.event_id);
    // With several entries for one (kind, version) the newest wins; here
    // there is one, so the store must render exactly what the transcoder does.
    if let (Some(parsed), true) = (&parsed, kind != LEDGER_KIND.raw()) {
        match event_to_json(&parsed.shape, payload) {
            Ok(expected) => assert_eq!(
                read.expect("the payload transcodes")
                    .expect("visible")
                    .payload,
                expected
            ),
            Err(_) => assert!(read.is_err(), "{read:?}"),
        }
    }
    exercise(&store);
}

fuzz_target!(|data: &[u8]| {
    if data.len() > INPUT_BYTES_MAX {
        return;
    }
    let mut b = Bytes::new(data);
    match b.u8() % 3 {
        0 => append_and_read(b.rest()),
        1 => {
            let codec = b.u8() & 0b11;
            raw_payload(codec, b.rest());
        }
        _ => {
            let entry = b.chunk();
            typed_payload(entry, b.rest());
        }
    }
});
