use super::*;

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
        event_id: 0x0123_4567_89AB_CDEF_0123_4567_89AB_CDEF,
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
    let (flag_bits, hash) = put_event(&mut buf, &sample_event(b"{\"a\":1}"), &[0; 32]);
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
    assert_eq!(ev.hash, hash);
    assert_eq!(
        chain_hash(&[0; 32], ev.hashed_header, "e", "s", ev.payload),
        hash
    );
}

#[test]
fn every_truncation_is_incomplete_and_every_flip_is_detected() {
    let mut buf = Vec::new();
    put_event(&mut buf, &sample_event(b"payload bytes"), &[0; 32]);
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
