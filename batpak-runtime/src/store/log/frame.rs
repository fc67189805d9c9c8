//! Frames: the unit of the segment log. A frame is an 8-byte header (a 24-bit body
//! length guarded by a check byte, then a CRC32 of the body) followed by the body,
//! whose first byte says what it holds. docs/format.md is the normative byte map;
//! this module is its only implementation, for writing and for reading.

use crate::event::id::{is_clock_id, timestamp_us};
use crate::event::{
    Codec, CorrelationId, EventFlags, EventHeader, EventId, EventKind, EventPosition,
};

/// Bytes before a frame's body.
pub const FRAME_HEADER_BYTES: usize = 8;

const LEN_CHECK_SALT: u8 = 0x5A;

pub(crate) const TYPE_EVENT: u8 = 1;
pub(crate) const TYPE_NAME: u8 = 2;
pub(crate) const TYPE_BATCH_BEGIN: u8 = 3;
pub(crate) const TYPE_BATCH_COMMIT: u8 = 4;
pub(crate) const TYPE_FENCE_BEGIN: u8 = 5;
pub(crate) const TYPE_FENCE_COMMIT: u8 = 6;
pub(crate) const TYPE_FENCE_CANCEL: u8 = 7;

/// Largest global sequence, batch id or fence id a frame may carry: the writer
/// continues after the highest of each, so each leaves it room.
pub(crate) const COUNTER_MAX: u64 = (1 << 63) - 1;

/// Bits of an event frame's flag byte.
pub(crate) mod bits {
    pub const CODEC_MASK: u8 = 0b11;
    pub const SYSTEM: u8 = 1 << 2;
    pub const BATCH: u8 = 1 << 3;
    pub const FENCED: u8 = 1 << 4;
    pub const HAS_CORRELATION: u8 = 1 << 5;
    pub const HAS_CAUSATION: u8 = 1 << 6;
    pub const HAS_IDEMPOTENCY: u8 = 1 << 7;
}

fn len_word(len: usize) -> u32 {
    debug_assert!(len > 0 && len < (1 << 24));
    let b = (len as u32).to_le_bytes();
    let check = b[0] ^ b[1] ^ b[2] ^ LEN_CHECK_SALT;
    (len as u32) | (u32::from(check) << 24)
}

fn parse_len_word(word: u32) -> Option<usize> {
    let b = word.to_le_bytes();
    let len = (word & 0x00FF_FFFF) as usize;
    (b[3] == b[0] ^ b[1] ^ b[2] ^ LEN_CHECK_SALT && len > 0).then_some(len)
}

/// The whole extent (header and body) of the frame whose header starts `buf`,
/// when its length word checks out and the body is at most `frame_max_bytes`;
/// lets a reader map exactly one frame before parsing it.
pub(crate) fn frame_extent(buf: &[u8], frame_max_bytes: usize) -> Option<usize> {
    let header = buf.get(..4)?;
    let word = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let len = parse_len_word(word)?;
    (len <= frame_max_bytes).then_some(FRAME_HEADER_BYTES + len)
}

#[cfg(test)]
thread_local! {
    /// CRC computations on this thread, so tests can count them per read.
    pub(crate) static CRC_CHECKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Writes a LEB128 varint.
pub(crate) fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// A cursor over a frame body that never panics on malformed input.
pub(crate) struct BodyReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BodyReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.bytes(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    pub(crate) fn u128(&mut self) -> Option<u128> {
        self.bytes(16)
            .and_then(|b| b.try_into().ok())
            .map(u128::from_le_bytes)
    }

    pub(crate) fn array32(&mut self) -> Option<[u8; 32]> {
        self.bytes(32).and_then(|b| b.try_into().ok())
    }

    pub(crate) fn varint(&mut self) -> Option<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            out |= u64::from(byte & 0x7F).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(out);
            }
        }
        None
    }

    pub(crate) fn str(&mut self) -> Option<&'a str> {
        let len = usize::try_from(self.varint()?).ok()?;
        std::str::from_utf8(self.bytes(len)?).ok()
    }
}

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
    pub hash: [u8; 32],
    /// The body bytes before the hash field; part of the hash input.
    pub hashed_header: &'a [u8],
    pub payload: &'a [u8],
}

impl EventFrame<'_> {
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
            content_hash: self.hash,
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

/// A parsed frame body.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Frame<'a> {
    Event(EventFrame<'a>),
    Name {
        coord_id: u32,
        entity: &'a str,
        scope: &'a str,
    },
    BatchBegin {
        batch_id: u64,
        items: u64,
    },
    BatchCommit {
        batch_id: u64,
    },
    FenceBegin {
        fence_id: u64,
    },
    FenceCommit {
        fence_id: u64,
    },
    FenceCancel {
        fence_id: u64,
    },
}

/// The outcome of reading a frame at some offset of a buffer.
#[derive(Debug)]
pub(crate) enum FrameRead<'a> {
    /// A whole, valid frame and the bytes it occupies (header included).
    Frame(Frame<'a>, usize),
    /// Fewer bytes than the header, or a valid header whose body runs past the end.
    Incomplete,
    /// The length word fails its check byte.
    BadLength,
    /// The body fails its CRC; `usize` is the frame's full extent.
    // The extent is for the fuzz targets' checks.
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    BadCrc(usize),
    /// The body has a valid CRC but does not parse.
    BadBody,
}

/// Reads one frame from the start of `buf`. Never panics.
pub(crate) fn read_frame(buf: &[u8], frame_max_bytes: usize) -> FrameRead<'_> {
    let Some(header) = buf.get(..FRAME_HEADER_BYTES) else {
        return FrameRead::Incomplete;
    };
    let word = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let Some(len) = parse_len_word(word) else {
        return FrameRead::BadLength;
    };
    if len > frame_max_bytes {
        return FrameRead::BadLength;
    }
    let extent = FRAME_HEADER_BYTES + len;
    let Some(body) = buf.get(FRAME_HEADER_BYTES..extent) else {
        return FrameRead::Incomplete;
    };
    #[cfg(test)]
    CRC_CHECKS.with(|n| n.set(n.get() + 1));
    if crc32fast::hash(body) != crc {
        return FrameRead::BadCrc(extent);
    }
    match parse_body(body) {
        Some(frame) => FrameRead::Frame(frame, extent),
        None => FrameRead::BadBody,
    }
}

fn parse_body(body: &[u8]) -> Option<Frame<'_>> {
    let mut r = BodyReader::new(body);
    let frame = match r.u8()? {
        TYPE_EVENT => Frame::Event(parse_event(&mut r, body)?),
        TYPE_NAME => {
            let coord_id = u32::try_from(r.varint()?).ok()?;
            let entity = r.str()?;
            let scope = r.str()?;
            Frame::Name {
                coord_id,
                entity,
                scope,
            }
        }
        TYPE_BATCH_BEGIN => Frame::BatchBegin {
            batch_id: counter(&mut r)?,
            items: r.varint()?,
        },
        TYPE_BATCH_COMMIT => Frame::BatchCommit {
            batch_id: counter(&mut r)?,
        },
        TYPE_FENCE_BEGIN => Frame::FenceBegin {
            fence_id: counter(&mut r)?,
        },
        TYPE_FENCE_COMMIT => Frame::FenceCommit {
            fence_id: counter(&mut r)?,
        },
        TYPE_FENCE_CANCEL => Frame::FenceCancel {
            fence_id: counter(&mut r)?,
        },
        _ => return None,
    };
    if !matches!(frame, Frame::Event(_)) && !r.rest().is_empty() {
        return None;
    }
    Some(frame)
}

/// A varint of at most [`COUNTER_MAX`].
fn counter(r: &mut BodyReader<'_>) -> Option<u64> {
    r.varint().filter(|v| *v <= COUNTER_MAX)
}

fn parse_event<'a>(r: &mut BodyReader<'a>, body: &'a [u8]) -> Option<EventFrame<'a>> {
    let bits = r.u8()?;
    Codec::from_raw(bits & bits::CODEC_MASK)?;
    let kind = EventKind::from_raw(r.u16()?);
    let schema_version = u16::try_from(r.varint()?).ok()?;
    let sequence = counter(r)?;
    let event_id = r.u128()?;
    let coord_id = u32::try_from(r.varint()?).ok()?;
    let entity_sequence = r.varint()?;
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
    let hashed_header = &body[..r.pos()];
    let hash = r.array32()?;
    if sequence == 0 || entity_sequence == 0 || !is_clock_id(event_id) {
        return None;
    }
    if entity_sequence > crate::store::index::ENTITY_SEQUENCE_MAX {
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
        hash,
        hashed_header,
        payload: r.rest(),
    })
}

/// Starts a frame in `buf`: reserves the header; returns the frame's start offset.
fn begin(buf: &mut Vec<u8>, frame_type: u8) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    buf.push(frame_type);
    start
}

/// Fills in the header of the frame that starts at `start` and runs to the end of `buf`.
pub(crate) fn finish(buf: &mut [u8], start: usize) {
    let body_len = buf.len() - start - FRAME_HEADER_BYTES;
    let crc = crc32fast::hash(&buf[start + FRAME_HEADER_BYTES..]);
    buf[start..start + 4].copy_from_slice(&len_word(body_len).to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Appends a marker frame (batch or fence) to `buf`.
pub(crate) fn put_marker(buf: &mut Vec<u8>, frame_type: u8, id: u64, items: Option<u64>) {
    let start = begin(buf, frame_type);
    put_varint(buf, id);
    if let Some(items) = items {
        put_varint(buf, items);
    }
    finish(buf, start);
}

/// Appends a name-definition frame to `buf`.
pub(crate) fn put_name(buf: &mut Vec<u8>, coord_id: u32, entity: &str, scope: &str) {
    let start = begin(buf, TYPE_NAME);
    put_varint(buf, u64::from(coord_id));
    put_varint(buf, entity.len() as u64);
    buf.extend_from_slice(entity.as_bytes());
    put_varint(buf, scope.len() as u64);
    buf.extend_from_slice(scope.as_bytes());
    finish(buf, start);
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

/// The chained hash of an event: blake3 over the previous hash of its entity, the
/// header bytes before the hash field, the coordinate names and the payload.
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

/// Appends an event frame to `buf` and returns `(flag byte as written, event hash)`.
pub(crate) fn put_event(
    buf: &mut Vec<u8>,
    ev: &EventOut<'_>,
    prev_hash: &[u8; 32],
) -> (u8, [u8; 32]) {
    let mut flag_bits =
        ev.bits & !(bits::HAS_CORRELATION | bits::HAS_CAUSATION | bits::HAS_IDEMPOTENCY);
    if ev.correlation_id != ev.event_id {
        flag_bits |= bits::HAS_CORRELATION;
    }
    if ev.causation_id.is_some() {
        flag_bits |= bits::HAS_CAUSATION;
    }
    if ev.idempotency_key.is_some() {
        flag_bits |= bits::HAS_IDEMPOTENCY;
    }
    let start = begin(buf, TYPE_EVENT);
    buf.push(flag_bits);
    buf.extend_from_slice(&ev.kind.raw().to_le_bytes());
    put_varint(buf, u64::from(ev.schema_version));
    put_varint(buf, ev.sequence);
    buf.extend_from_slice(&ev.event_id.to_le_bytes());
    put_varint(buf, u64::from(ev.coord_id));
    put_varint(buf, ev.entity_sequence);
    if flag_bits & bits::HAS_CORRELATION != 0 {
        buf.extend_from_slice(&ev.correlation_id.to_le_bytes());
    }
    if let Some(c) = ev.causation_id {
        buf.extend_from_slice(&c.to_le_bytes());
    }
    if let Some(k) = ev.idempotency_key {
        buf.extend_from_slice(&k.to_le_bytes());
    }
    let hashed_header = &buf[start + FRAME_HEADER_BYTES..];
    let hash = chain_hash(prev_hash, hashed_header, ev.entity, ev.scope, ev.payload);
    buf.extend_from_slice(&hash);
    buf.extend_from_slice(ev.payload);
    finish(buf, start);
    (flag_bits, hash)
}

#[cfg(test)]
mod tests;
