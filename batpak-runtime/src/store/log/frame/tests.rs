use super::event::chain_hash;
use super::*;
use crate::event::Codec;
use crate::event::EventKind;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn sample_event(payload: &[u8]) -> EventOut<'_> {
    EventOut {
        bits: Codec::Json as u8,
        kind: EventKind::custom(1, 7),
        schema_version: 0,
        sequence: 42,
        event_id: 0x0123_4567_89AB_7123_8123_4567_89AB_CDEF,
        coord_id: 3,
        entity_sequence: 9,
        correlation_id: 77,
        causation_id: Some(78),
        idempotency_key: None,
        entity: "e",
        scope: "s",
        payload,
    }
}

#[test]
fn event_frame_round_trips() {
    let mut buf = Vec::new();
    let (flag_bits, hash) = put_event(
        &mut buf,
        &sample_event(b"{\"a\":1}"),
        &[0; 32],
        Encoding::Full,
    );
    assert_eq!(flag_bits & bits::HAS_CAUSATION, bits::HAS_CAUSATION);
    let FrameRead::Frame(Frame::Event(ev), extent) = read_frame(&buf, 1 << 20) else {
        panic!("frame did not parse");
    };
    assert_eq!(extent, buf.len());
    assert_eq!(ev.sequence, 42);
    assert_eq!(ev.entity_sequence, 9);
    assert_eq!(ev.correlation_id, 77);
    assert_eq!(ev.causation_id, Some(78));
    assert_eq!(ev.idempotency_key, None);
    assert_eq!(ev.payload, b"{\"a\":1}");
    assert_eq!(ev.hash(), Some(hash));
    assert_eq!(ev.chain_hash(&[0; 32], "e", "s"), hash);
}

#[test]
fn every_truncation_is_incomplete_and_every_flip_is_detected() {
    let mut buf = Vec::new();
    put_event(
        &mut buf,
        &sample_event(b"payload bytes"),
        &[0; 32],
        Encoding::Full,
    );
    for cut in 0..buf.len() {
        assert!(
            matches!(read_frame(&buf[..cut], 1 << 20), FrameRead::Incomplete),
            "cut {cut}"
        );
    }
    for i in 0..buf.len() {
        for bit in 0..8 {
            let mut bad = buf.clone();
            bad[i] ^= 1 << bit;
            match read_frame(&bad, 1 << 20) {
                FrameRead::Frame(..) => panic!("flip at {i} bit {bit} went unnoticed"),
                FrameRead::Incomplete => assert!(i < 4, "only a length flip may look incomplete"),
                _ => {}
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut state = 0xDEAD_BEEF;
    for round in 0..20_000 {
        let len = (splitmix(&mut state) % 300) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| splitmix(&mut state) as u8).collect();
        if round % 2 == 0 && len >= FRAME_HEADER_BYTES {
            // Give half the inputs a valid length word and CRC so the body parser runs.
            let body_len = len - FRAME_HEADER_BYTES;
            if body_len > 0 {
                let crc = crc32fast::hash(&bytes[FRAME_HEADER_BYTES..]);
                bytes[..4].copy_from_slice(&len_word(body_len).to_le_bytes());
                bytes[4..8].copy_from_slice(&crc.to_le_bytes());
                bytes[8] = (splitmix(&mut state) % 9) as u8;
            }
        }
        let _ = read_frame(&bytes, 1 << 20);
    }
}

#[test]
fn markers_and_names_round_trip() {
    let mut buf = Vec::new();
    put_marker(&mut buf, TYPE_BATCH_BEGIN, 5, Some(3));
    put_name(&mut buf, 12, "player:1", "game");
    let FrameRead::Frame(
        Frame::BatchBegin {
            batch_id: 5,
            items: 3,
        },
        n,
    ) = read_frame(&buf, 1 << 20)
    else {
        panic!("batch begin");
    };
    let FrameRead::Frame(
        Frame::Name {
            coord_id: 12,
            entity: "player:1",
            scope: "game",
        },
        _,
    ) = read_frame(&buf[n..], 1 << 20)
    else {
        panic!("name");
    };
}

/// Found by the `recovery` fuzz target: an event id outside the clock's
/// layout (here its version nibble) parsed, and the writer's clock, resuming
/// after it, produced a smaller id and its assertion stopped the writer. A
/// sequence, batch or fence id with no room after it did the same to
/// recovery's arithmetic. Such frames do not parse.
#[test]
fn ids_and_counters_the_writer_cannot_follow_do_not_parse() {
    let good = sample_event(b"1");
    // Whether the event parses back, written as type 1 and asked lean
    // (the two agree).
    let ok = |ev: &EventOut<'_>| {
        let parses = [Encoding::Full, Encoding::Lean { hash: false }].map(|encoding| {
            let mut buf = Vec::new();
            put_event(&mut buf, ev, &[0; 32], encoding);
            matches!(read_frame(&buf, 1 << 20), FrameRead::Frame(..))
        });
        assert_eq!(parses[0], parses[1]);
        parses[0]
    };
    assert!(ok(&good));
    for event_id in [
        0,
        u128::MAX,
        good.event_id | 0xF << 76,
        good.event_id | 0b11 << 62,
    ] {
        assert!(
            !ok(&EventOut {
                event_id,
                ..sample_event(b"1")
            }),
            "{event_id:#x}"
        );
    }
    assert!(ok(&EventOut {
        sequence: COUNTER_MAX,
        ..sample_event(b"1")
    }));
    assert!(!ok(&EventOut {
        sequence: COUNTER_MAX + 1,
        ..sample_event(b"1")
    }));
    for frame_type in [
        TYPE_BATCH_BEGIN,
        TYPE_BATCH_COMMIT,
        TYPE_FENCE_BEGIN,
        TYPE_FENCE_CANCEL,
    ] {
        let items = (frame_type == TYPE_BATCH_BEGIN).then_some(1);
        for (id, parses) in [
            (COUNTER_MAX, true),
            (COUNTER_MAX + 1, false),
            (u64::MAX, false),
        ] {
            let mut buf = Vec::new();
            put_marker(&mut buf, frame_type, id, items);
            let read = read_frame(&buf, 1 << 20);
            assert_eq!(
                matches!(read, FrameRead::Frame(..)),
                parses,
                "{frame_type} {id}"
            );
        }
    }
}

/// The one-shot path for short inputs and the streaming path for long ones
/// hash the same concatenation, so a frame's hash never depends on its size.
#[test]
fn chain_hash_is_the_hash_of_the_concatenation_at_every_size() {
    let prev = [7u8; 32];
    // Payloads of 206 and 207 bytes put the whole at 256 and 257 bytes.
    for len in [0usize, 1, 63, 64, 150, 206, 207, 500, 900, 1024, 1025, 5000] {
        let payload: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let header = [1u8, 2, 3, 4, 5];
        let mut whole = Vec::new();
        whole.extend_from_slice(&prev);
        whole.extend_from_slice(&header);
        whole.extend_from_slice(&4u32.to_le_bytes());
        whole.extend_from_slice(b"ab:1");
        whole.extend_from_slice(&1u32.to_le_bytes());
        whole.extend_from_slice(b"s");
        whole.extend_from_slice(&payload);
        let expected = *blake3::hash(&whole).as_bytes();
        assert_eq!(
            chain_hash(&prev, &header, "ab:1", "s", &payload),
            expected,
            "len {len}"
        );
    }
}

/// A lean frame carries the same fields and the same hash as type 1, in
/// 9 fewer bytes for an id with a small counter, and 32 fewer again
/// without its stored hash (which a reader computes from the chain); an
/// event with an idempotency key stays type 1.
#[test]
fn lean_frames_round_trip_with_the_type_1_hash() {
    let event_id = crate::event::id::compose(1_764_000_000_123_456, 5);
    let ev = EventOut {
        event_id,
        correlation_id: event_id,
        causation_id: Some(event_id - 1),
        bits: Codec::Bytes as u8 | bits::BATCH,
        ..sample_event(b"opaque")
    };
    fn parse(buf: &[u8]) -> EventFrame<'_> {
        match read_frame(buf, 1 << 20) {
            FrameRead::Frame(Frame::Event(ev), extent) => {
                assert_eq!(extent, buf.len());
                ev
            }
            other => panic!("frame did not parse: {other:?}"),
        }
    }
    let encode = |encoding| {
        let mut buf = Vec::new();
        let out = put_event(&mut buf, &ev, &[3; 32], encoding);
        (buf, out)
    };
    let (full, (full_bits, full_hash)) = encode(Encoding::Full);
    let (lean, lean_out) = encode(Encoding::Lean { hash: true });
    let (bare, bare_out) = encode(Encoding::Lean { hash: false });
    assert_eq!(lean_out, (full_bits, full_hash));
    assert_eq!(bare_out, (full_bits, full_hash));
    assert_eq!(lean.len() + 9, full.len());
    assert_eq!(bare.len() + 32, lean.len());
    assert_eq!(lean[FRAME_HEADER_BYTES], event::LEAN | full_bits);
    let (a, b, c) = (parse(&full), parse(&lean), parse(&bare));
    assert!(!a.lean() && b.lean() && c.lean());
    for other in [b, c] {
        assert_eq!(
            (a.bits, a.kind, a.schema_version, a.sequence, a.event_id),
            (
                other.bits,
                other.kind,
                other.schema_version,
                other.sequence,
                other.event_id
            )
        );
        assert_eq!(
            (
                a.coord_id,
                a.entity_sequence,
                a.correlation_id,
                a.causation_id
            ),
            (
                other.coord_id,
                other.entity_sequence,
                other.correlation_id,
                other.causation_id
            )
        );
        assert_eq!(a.payload, other.payload);
        assert_eq!(other.header().event_id.get(), event_id);
        assert_eq!(other.chain_hash(&[3; 32], "e", "s"), full_hash);
        assert_ne!(other.chain_hash(&[4; 32], "e", "s"), full_hash);
    }
    assert_eq!(
        (a.hash(), b.hash(), c.hash()),
        (Some(full_hash), Some(full_hash), None)
    );

    let keyed = EventOut {
        idempotency_key: Some(9),
        ..ev
    };
    let mut buf = Vec::new();
    put_event(&mut buf, &keyed, &[0; 32], Encoding::Lean { hash: false });
    assert_eq!(buf[FRAME_HEADER_BYTES], TYPE_EVENT);
    assert_eq!(parse(&buf).idempotency_key, Some(9));
    assert!(parse(&buf).hash().is_some());
}
