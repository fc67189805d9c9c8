//! The frame decoder (`store::log::frame`, through `batpak_runtime::fuzzing`)
//! on arbitrary bytes. The first input byte chooses what the rest is: bit 0
//! set, a frame body that gets a valid length word and CRC (so the body
//! parser runs on nearly every input); clear, the frame bytes as they are.
//! Decoding never panics; a decoded frame lies within the input, reads as
//! incomplete when cut short, and survives a round trip: re-encoding what was
//! decoded and decoding that gives the same fields (the event hash is
//! recomputed, the correlation bit follows the ids), and encoding is stable.
//! An event's hash is the same whether it is written lean (with or without
//! the stored hash) or as type 1.

#![no_main]

use batpak_runtime::fuzzing::{
    can_be_lean, decode_frame, encode_frame, seal_frame, Decoded, FrameValue,
};
use libfuzzer_sys::fuzz_target;

/// Flag bit of an event whose correlation id differs from its event id.
const HAS_CORRELATION: u8 = 1 << 5;

fn round_trip(value: &FrameValue) {
    let (encoded, hash) = encode_frame(value, "entity", "scope", &[7; 32]);
    let Decoded::Frame(again, extent) = decode_frame(&encoded) else {
        panic!("an encoded frame does not decode: {value:?}");
    };
    assert_eq!(extent, encoded.len());
    let mut expected = value.clone();
    if let (FrameValue::Event(ev), Some(hash)) = (&mut expected, hash) {
        ev.lean &= can_be_lean(ev);
        // A type-1 frame always stores the hash; a lean one when asked to.
        ev.hash = (!ev.lean || ev.hash.is_some()).then_some(hash);
        if ev.correlation_id == ev.event_id {
            ev.bits &= !HAS_CORRELATION;
        }
        // The other encodings of the same event have the same hash.
        let mut other = ev.clone();
        other.lean = !other.lean;
        let (_, other_hash) = encode_frame(&FrameValue::Event(other.clone()), "entity", "scope", &[7; 32]);
        assert_eq!(other_hash, Some(hash), "the hash depends on the encoding");
        other.lean = true;
        other.hash = other.hash.xor(Some(hash));
        let (_, other_hash) = encode_frame(&FrameValue::Event(other), "entity", "scope", &[7; 32]);
        assert_eq!(other_hash, Some(hash), "the hash depends on the encoding");
    }
    assert_eq!(again, expected, "the round trip changed the frame");
    let (twice, _) = encode_frame(&again, "entity", "scope", &[7; 32]);
    assert_eq!(twice, encoded, "encoding is not stable");
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let sealed;
    let bytes = if mode & 1 == 1 {
        match seal_frame(rest) {
            Some(frame) => {
                sealed = frame;
                &sealed[..]
            }
            None => return,
        }
    } else {
        rest
    };
    match decode_frame(bytes) {
        Decoded::Frame(value, extent) => {
            assert!(extent > 8 && extent <= bytes.len(), "extent {extent}");
            for cut in [0, 7, 8, extent - 1] {
                assert_eq!(
                    decode_frame(&bytes[..cut]),
                    Decoded::Incomplete,
                    "cut at {cut}"
                );
            }
            round_trip(&value);
        }
        Decoded::BadCrc(extent) => assert!(extent > 8 && extent <= bytes.len()),
        Decoded::Incomplete | Decoded::BadLength | Decoded::BadBody => {}
    }
    if mode & 1 == 1 {
        assert!(
            !matches!(
                decode_frame(bytes),
                Decoded::BadCrc(_) | Decoded::BadLength | Decoded::Incomplete
            ),
            "a sealed body fails its header"
        );
    }
});
