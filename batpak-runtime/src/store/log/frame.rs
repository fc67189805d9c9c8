//! Frames: the unit of the segment log. A frame is an 8-byte header (a 24-bit body
//! length guarded by a check byte, then a CRC32 of the body) followed by the body,
//! whose first byte says what it holds. docs/format.md is the normative byte map;
//! this module is its only implementation, for writing and for reading.

mod event;

pub(crate) use event::{event_bits, put_event, Encoding, EventFrame, EventOut};

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

    pub(crate) fn array32_ref(&mut self) -> Option<&'a [u8; 32]> {
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
        t if t == TYPE_EVENT || t & event::LEAN != 0 => {
            Frame::Event(event::parse_event(&mut r, body, t)?)
        }
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

#[cfg(test)]
mod tests;
