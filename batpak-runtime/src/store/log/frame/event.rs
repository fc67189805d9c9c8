//! Event frames, in their two encodings (docs/format.md): type 1 spells
//! every field out; a lean frame (type byte `0x80 | flags`, segment format
//! 3) folds the flags into the type byte, stores the event id as its
//! timestamp and counter, and may leave its chain hash out (the writer
//! stores it at checkpoints: `store::log::chain`). Both encodings have the same
//! fields and the same chained hash: the hash is taken over the type-1
//! encoding of the header (the "canonical header") whichever encoding is
//! on disk, so choosing one never changes a chain.

use super::{begin, bits, counter, finish, put_varint, BodyReader, TYPE_EVENT};
use crate::event::id::{compose, is_clock_id, timestamp_us, COUNTER_MASK};
use crate::event::{
    Codec, CorrelationId, EventFlags, EventHeader, EventId, EventKind, EventPosition,
};

/// The type byte of a lean event frame has this bit set; its other seven
/// bits are the event's flags (as type 1's flag byte, without bit 7: an
/// event with an idempotency key is written as type 1).
pub(crate) const LEAN: u8 = 0x80;

/// Timestamps (µs) a lean frame can hold: 7 bytes, past the year 4000.
const LEAN_TIMESTAMP_LIMIT: u64 = 1 << 56;

/// Bytes of the longest canonical header: type, flags, kind, a 3-byte
/// schema version, a 10-byte sequence, the id, a 5-byte coordinate id, a
/// 10-byte entity sequence and three optional ids.
const CANONICAL_MAX: usize = 1 + 1 + 2 + 3 + 10 + 16 + 5 + 10 + 3 * 16;

/// An event frame as parsed from disk; borrows the segment bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventFrame<'a> {
    pub bits: u8,
    pub kind: EventKind,
    pub schema_version: u16,
    pub sequence: u64,
    pub event_id: u128,
    pub coord_id: u32,
    pub entity_sequence: u64,
    pub correlation_id: u128,
    pub causation_id: Option<u128>,
    pub idempotency_key: Option<u128>,
    /// The stored chain hash, borrowed (see [`EventFrame::hash`]).
    stored_hash: Option<&'a [u8; 32]>,
    /// A type-1 frame's body bytes before the hash field: its canonical
    /// header as written. `None` for a lean frame, whose canonical header is
    /// encoded again from its fields when a hash is checked.
    written_header: Option<&'a [u8]>,
    pub payload: &'a [u8],
}

impl EventFrame<'_> {
    /// The event's chain hash, when the frame stores it (type 1 always
    /// does; a lean frame at its entity's checkpoints).
    pub(crate) fn hash(&self) -> Option<[u8; 32]> {
        self.stored_hash.copied()
    }

    /// Whether the frame is lean (else type 1).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) fn lean(&self) -> bool {
        self.written_header.is_none()
    }

    /// The payload's codec (checked when the frame was parsed).
    pub(crate) fn codec(&self) -> Codec {
        Codec::from_raw(self.bits & bits::CODEC_MASK).unwrap_or(Codec::Bytes)
    }

    /// The event flags the frame's bits stand for.
    pub(crate) fn flags(&self) -> EventFlags {
        let mut flags = 0;
        for (bit, flag) in [
            (bits::SYSTEM, EventFlags::SYSTEM),
            (bits::BATCH, EventFlags::BATCH),
            (bits::FENCED, EventFlags::FENCED),
        ] {
            if self.bits & bit != 0 {
                flags |= flag;
            }
        }
        EventFlags(flags)
    }

    /// The event's header as the public API shows it.
    pub(crate) fn header(&self) -> EventHeader {
        EventHeader {
            event_id: EventId::new(self.event_id),
            correlation_id: CorrelationId::new(self.correlation_id),
            causation_id: self.causation_id.map(EventId::new),
            timestamp_us: timestamp_us(self.event_id),
            position: EventPosition {
                sequence: self.sequence,
                entity_sequence: self.entity_sequence,
            },
            kind: self.kind,
            schema_version: self.schema_version,
            codec: self.codec(),
            flags: self.flags(),
        }
    }

    /// The hash this event has when its entity's previous visible event has
    /// hash `prev` and its coordinate is `(entity, scope)`: what
    /// [`EventFrame::hash`] must be where the frame stores it.
    pub(crate) fn chain_hash(&self, prev: &[u8; 32], entity: &str, scope: &str) -> [u8; 32] {
        match self.written_header {
            Some(header) => chain_hash(prev, header, entity, scope, self.payload),
            None => {
                let out = EventOut {
                    bits: self.bits,
                    kind: self.kind,
                    schema_version: self.schema_version,
                    sequence: self.sequence,
                    event_id: self.event_id,
                    coord_id: self.coord_id,
                    entity_sequence: self.entity_sequence,
                    correlation_id: self.correlation_id,
                    causation_id: self.causation_id,
                    idempotency_key: self.idempotency_key,
                    entity,
                    scope,
                    payload: self.payload,
                };
                let canonical = Canonical::of(&out);
                chain_hash(prev, canonical.bytes(), entity, scope, self.payload)
            }
        }
    }
}

/// The flag byte (codec and flag bits) of an event with `codec` and
/// `flags`, as [`put_event`] takes it: the inverse of
/// [`EventFrame::codec`] and [`EventFrame::flags`]. A replica rebuilds its
/// primary's frames from these.
pub(crate) fn event_bits(codec: Codec, flags: EventFlags) -> u8 {
    let mut b = codec as u8;
    for (bit, flag) in [
        (bits::SYSTEM, EventFlags::SYSTEM),
        (bits::BATCH, EventFlags::BATCH),
        (bits::FENCED, EventFlags::FENCED),
    ] {
        if flags.contains(flag) {
            b |= bit;
        }
    }
    b
}

/// Parses an event body after its type byte `type_byte` (type 1, or
/// lean when its top bit is set). The fields are checked before the frame
/// is built: building it first and passing it through a check doubled the
/// cost of a parse (43 against 90 ns a frame, measured).
pub(super) fn parse_event<'a>(
    r: &mut BodyReader<'a>,
    body: &'a [u8],
    type_byte: u8,
) -> Option<EventFrame<'a>> {
    let lean = type_byte & LEAN != 0;
    let bits = if lean { type_byte & !LEAN } else { r.u8()? };
    let kind = EventKind::from_raw(r.u16()?);
    let schema = r.varint()?;
    // A lean frame's schema varint carries whether the hash is stored.
    let (schema, stores_hash) = if lean {
        (schema >> 1, schema & 1 == 1)
    } else {
        (schema, true)
    };
    let schema_version = u16::try_from(schema).ok()?;
    let sequence = counter(r)?;
    let event_id = if lean { lean_id(r)? } else { r.u128()? };
    let coord_id = u32::try_from(r.varint()?).ok()?;
    let entity_sequence = r.varint()?;
    let (correlation_id, causation_id, idempotency_key) = links(r, bits, event_id)?;
    let written_header = (!lean).then(|| &body[..r.pos()]);
    let stored_hash = match stores_hash {
        true => Some(r.array32_ref()?),
        false => None,
    };
    Codec::from_raw(bits & bits::CODEC_MASK)?;
    let valid = sequence != 0
        && entity_sequence != 0
        && is_clock_id(event_id)
        && entity_sequence <= crate::store::index::ENTITY_SEQUENCE_MAX;
    if !valid {
        return None;
    }
    Some(EventFrame {
        bits,
        kind,
        schema_version,
        sequence,
        event_id,
        coord_id,
        entity_sequence,
        correlation_id,
        causation_id,
        idempotency_key,
        stored_hash,
        written_header,
        payload: r.rest(),
    })
}

/// A lean frame's event id: its 7-byte timestamp and its counter.
fn lean_id(r: &mut BodyReader<'_>) -> Option<u128> {
    let ts = r.bytes(7)?;
    let timestamp = u64::from_le_bytes([ts[0], ts[1], ts[2], ts[3], ts[4], ts[5], ts[6], 0]);
    let count = r.varint().filter(|c| u128::from(*c) <= COUNTER_MASK)?;
    Some(compose(timestamp, count))
}

/// The correlation id, causation id and idempotency key the flag `bits`
/// say follow.
fn links(
    r: &mut BodyReader<'_>,
    bits: u8,
    event_id: u128,
) -> Option<(u128, Option<u128>, Option<u128>)> {
    let correlation_id = if bits & bits::HAS_CORRELATION != 0 {
        r.u128()?
    } else {
        event_id
    };
    let causation_id = if bits & bits::HAS_CAUSATION != 0 {
        Some(r.u128()?)
    } else {
        None
    };
    let idempotency_key = if bits & bits::HAS_IDEMPOTENCY != 0 {
        Some(r.u128()?)
    } else {
        None
    };
    Some((correlation_id, causation_id, idempotency_key))
}

/// The fields of an event frame to be written.
pub(crate) struct EventOut<'a> {
    pub bits: u8,
    pub kind: EventKind,
    pub schema_version: u16,
    pub sequence: u64,
    pub event_id: u128,
    pub coord_id: u32,
    pub entity_sequence: u64,
    pub correlation_id: u128,
    pub causation_id: Option<u128>,
    pub idempotency_key: Option<u128>,
    pub entity: &'a str,
    pub scope: &'a str,
    pub payload: &'a [u8],
}

/// An event's canonical header: its type-1 body bytes before the hash.
struct Canonical {
    bytes: [u8; CANONICAL_MAX],
    len: usize,
    /// The flag byte in it.
    flag_bits: u8,
}

impl Canonical {
    fn of(f: &EventOut<'_>) -> Self {
        let mut flag_bits =
            f.bits & !(bits::HAS_CORRELATION | bits::HAS_CAUSATION | bits::HAS_IDEMPOTENCY);
        if f.correlation_id != f.event_id {
            flag_bits |= bits::HAS_CORRELATION;
        }
        if f.causation_id.is_some() {
            flag_bits |= bits::HAS_CAUSATION;
        }
        if f.idempotency_key.is_some() {
            flag_bits |= bits::HAS_IDEMPOTENCY;
        }
        let mut c = Self {
            bytes: [0; CANONICAL_MAX],
            len: 0,
            flag_bits,
        };
        c.put(&[TYPE_EVENT, flag_bits]);
        c.put(&f.kind.raw().to_le_bytes());
        c.varint(u64::from(f.schema_version));
        c.varint(f.sequence);
        c.put(&f.event_id.to_le_bytes());
        c.varint(u64::from(f.coord_id));
        c.varint(f.entity_sequence);
        if flag_bits & bits::HAS_CORRELATION != 0 {
            c.put(&f.correlation_id.to_le_bytes());
        }
        for id in [f.causation_id, f.idempotency_key].into_iter().flatten() {
            c.put(&id.to_le_bytes());
        }
        c
    }

    fn put(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.put(&[(v as u8) | 0x80]);
            v >>= 7;
        }
        self.put(&[v as u8]);
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The chained hash of an event: blake3 over the previous hash of its entity, the
/// canonical header, the coordinate names and the payload.
pub(crate) fn chain_hash(
    prev: &[u8; 32],
    hashed_header: &[u8],
    entity: &str,
    scope: &str,
    payload: &[u8],
) -> [u8; 32] {
    // The hash of the concatenation: short inputs (most events) are gathered
    // on the stack and hashed in one call, which skips the incremental
    // hasher's setup and buffering; longer ones stream through it. Two
    // sizes, so the common short event does not zero a kilobyte.
    let (entity_len, scope_len) = (
        (entity.len() as u32).to_le_bytes(),
        (scope.len() as u32).to_le_bytes(),
    );
    let parts = [
        prev.as_slice(),
        hashed_header,
        &entity_len,
        entity.as_bytes(),
        &scope_len,
        scope.as_bytes(),
        payload,
    ];
    match parts.iter().map(|p| p.len()).sum::<usize>() {
        total if total <= 256 => hash_gathered::<256>(&parts),
        total if total <= 1024 => hash_gathered::<1024>(&parts),
        _ => {
            let mut h = blake3::Hasher::new();
            for part in parts {
                h.update(part);
            }
            *h.finalize().as_bytes()
        }
    }
}

/// The blake3 hash of `parts` concatenated in an `N`-byte stack buffer
/// (they fit).
fn hash_gathered<const N: usize>(parts: &[&[u8]]) -> [u8; 32] {
    let mut buf = [0u8; N];
    let mut at = 0;
    for part in parts {
        buf[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    *blake3::hash(&buf[..at]).as_bytes()
}

/// How [`put_event`] may encode an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Type 1 (a segment of an older format version).
    Full,
    /// Lean when the event can be, with its hash or without.
    Lean {
        /// Whether the frame stores the event's hash.
        hash: bool,
    },
}

/// Appends an event frame to `buf`, lean when `encoding` asks for it and
/// the event can be (it has no idempotency key and a timestamp below 2^56
/// µs), and returns `(canonical flag byte, event hash)`. A type-1 frame
/// always stores the hash.
pub(crate) fn put_event(
    buf: &mut Vec<u8>,
    ev: &EventOut<'_>,
    prev_hash: &[u8; 32],
    encoding: Encoding,
) -> (u8, [u8; 32]) {
    let canonical = Canonical::of(ev);
    let hash = chain_hash(
        prev_hash,
        canonical.bytes(),
        ev.entity,
        ev.scope,
        ev.payload,
    );
    let timestamp = timestamp_us(ev.event_id);
    let flag_bits = canonical.flag_bits;
    let counter = (ev.event_id & COUNTER_MASK) as u64;
    let lean = encoding != Encoding::Full
        && ev.idempotency_key.is_none()
        && timestamp < LEAN_TIMESTAMP_LIMIT
        && compose(timestamp, counter) == ev.event_id;
    if lean {
        let start = begin(buf, LEAN | flag_bits);
        buf.extend_from_slice(&ev.kind.raw().to_le_bytes());
        let store_hash = encoding == Encoding::Lean { hash: true };
        put_varint(
            buf,
            (u64::from(ev.schema_version) << 1) | u64::from(store_hash),
        );
        put_varint(buf, ev.sequence);
        buf.extend_from_slice(&timestamp.to_le_bytes()[..7]);
        put_varint(buf, counter);
        put_varint(buf, u64::from(ev.coord_id));
        put_varint(buf, ev.entity_sequence);
        if flag_bits & bits::HAS_CORRELATION != 0 {
            buf.extend_from_slice(&ev.correlation_id.to_le_bytes());
        }
        if let Some(c) = ev.causation_id {
            buf.extend_from_slice(&c.to_le_bytes());
        }
        if store_hash {
            buf.extend_from_slice(&hash);
        }
        buf.extend_from_slice(ev.payload);
        finish(buf, start);
    } else {
        // The canonical header is type 1's body up to the hash, type byte
        // included.
        let start = begin(buf, TYPE_EVENT);
        buf.extend_from_slice(&canonical.bytes()[1..]);
        buf.extend_from_slice(&hash);
        buf.extend_from_slice(ev.payload);
        finish(buf, start);
    }
    (flag_bits, hash)
}
