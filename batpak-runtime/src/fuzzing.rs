//! Entry points for fuzz targets only (feature `fuzzing`, off by default).
//! The targets in `fuzz/` drive the store through its public API, but the
//! frame codec and the sealing of segment headers, frames and index snapshots
//! (which need the format's CRCs) are crate-private: these thin wrappers reach
//! them without changing them. Nothing here is a stable API.

use crate::event::EventKind;
use crate::store::log::{frame, segment, snapshot};
use crate::store::FRAME_BYTES_HARD_MAX;
use std::path::{Path, PathBuf};

/// A frame body as `frame` parsed it, owned (the crate's parse borrows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameValue {
    /// An event frame.
    Event(EventValue),
    /// A name definition.
    Name {
        /// The coordinate id it defines.
        coord_id: u32,
        /// The entity name.
        entity: String,
        /// The scope name.
        scope: String,
    },
    /// A batch or fence marker: its frame type (3 to 7), its id and, for a
    /// batch begin, its item count.
    Marker {
        /// The frame type byte.
        frame_type: u8,
        /// The batch or fence id.
        id: u64,
        /// The item count of a batch begin.
        items: Option<u64>,
    },
}

/// The fields of an event frame (docs/format.md, type 1 or lean).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct EventValue {
    pub bits: u8,
    pub kind: u16,
    pub schema_version: u16,
    pub sequence: u64,
    pub event_id: u128,
    pub coord_id: u32,
    pub entity_sequence: u64,
    pub correlation_id: u128,
    pub causation_id: Option<u128>,
    pub idempotency_key: Option<u128>,
    /// The stored hash; encoding a lean event stores one when this is
    /// `Some` (the value is recomputed, not copied).
    pub hash: Option<[u8; 32]>,
    /// Whether the frame is (or is to be written) lean.
    pub lean: bool,
    pub payload: Vec<u8>,
}

/// Whether [`encode_frame`] writes `ev` lean when asked to: it has no
/// idempotency key and its id is one the lean encoding can hold.
pub fn can_be_lean(ev: &EventValue) -> bool {
    let mut probe = Vec::new();
    let out = event_out(ev, "", "");
    frame::put_event(
        &mut probe,
        &out,
        &[0; 32],
        frame::Encoding::Lean { hash: true },
    );
    probe.get(8).is_some_and(|t| t & 0x80 != 0)
}

fn event_out<'a>(ev: &'a EventValue, entity: &'a str, scope: &'a str) -> frame::EventOut<'a> {
    frame::EventOut {
        bits: ev.bits,
        kind: EventKind::from_raw(ev.kind),
        schema_version: ev.schema_version,
        sequence: ev.sequence,
        event_id: ev.event_id,
        coord_id: ev.coord_id,
        entity_sequence: ev.entity_sequence,
        correlation_id: ev.correlation_id,
        causation_id: ev.causation_id,
        idempotency_key: ev.idempotency_key,
        entity,
        scope,
        payload: &ev.payload,
    }
}

/// What reading a frame from the start of a buffer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A valid frame and its extent (header included).
    Frame(FrameValue, usize),
    /// Fewer bytes than the header, or a body running past the end.
    Incomplete,
    /// The length word fails its check byte or exceeds the hard maximum.
    BadLength,
    /// The body fails its CRC; the frame's extent.
    BadCrc(usize),
    /// The body has a valid CRC but does not parse.
    BadBody,
}

/// Reads the frame at the start of `buf` as recovery does (the format's hard
/// maximum frame size).
pub fn decode_frame(buf: &[u8]) -> Decoded {
    use frame::{Frame, FrameRead};
    match frame::read_frame(buf, FRAME_BYTES_HARD_MAX) {
        FrameRead::Frame(parsed, extent) => {
            let marker = |frame_type, id, items| FrameValue::Marker {
                frame_type,
                id,
                items,
            };
            let value = match parsed {
                Frame::Event(ev) => FrameValue::Event(EventValue {
                    bits: ev.bits,
                    kind: ev.kind.raw(),
                    schema_version: ev.schema_version,
                    sequence: ev.sequence,
                    event_id: ev.event_id,
                    coord_id: ev.coord_id,
                    entity_sequence: ev.entity_sequence,
                    correlation_id: ev.correlation_id,
                    causation_id: ev.causation_id,
                    idempotency_key: ev.idempotency_key,
                    hash: ev.hash(),
                    lean: ev.lean(),
                    payload: ev.payload.to_vec(),
                }),
                Frame::Name {
                    coord_id,
                    entity,
                    scope,
                } => FrameValue::Name {
                    coord_id,
                    entity: entity.into(),
                    scope: scope.into(),
                },
                Frame::BatchBegin { batch_id, items } => {
                    marker(frame::TYPE_BATCH_BEGIN, batch_id, Some(items))
                }
                Frame::BatchCommit { batch_id } => marker(frame::TYPE_BATCH_COMMIT, batch_id, None),
                Frame::FenceBegin { fence_id } => marker(frame::TYPE_FENCE_BEGIN, fence_id, None),
                Frame::FenceCommit { fence_id } => marker(frame::TYPE_FENCE_COMMIT, fence_id, None),
                Frame::FenceCancel { fence_id } => marker(frame::TYPE_FENCE_CANCEL, fence_id, None),
            };
            Decoded::Frame(value, extent)
        }
        FrameRead::Incomplete => Decoded::Incomplete,
        FrameRead::BadLength => Decoded::BadLength,
        FrameRead::BadCrc(extent) => Decoded::BadCrc(extent),
        FrameRead::BadBody => Decoded::BadBody,
    }
}

/// Encodes `value` as the writer would (an event lean if it asks to be and
/// [`can_be_lean`]). An event's hash is computed (chained
/// on `prev_hash`, over `entity` and `scope`), not copied; its correlation,
/// causation and idempotency bits follow its fields. Returns the frame and,
/// for an event, its hash.
pub fn encode_frame(
    value: &FrameValue,
    entity: &str,
    scope: &str,
    prev_hash: &[u8; 32],
) -> (Vec<u8>, Option<[u8; 32]>) {
    let mut buf = Vec::new();
    let hash = match value {
        FrameValue::Event(ev) => {
            let out = event_out(ev, entity, scope);
            let encoding = match ev.lean {
                true => frame::Encoding::Lean {
                    hash: ev.hash.is_some(),
                },
                false => frame::Encoding::Full,
            };
            Some(frame::put_event(&mut buf, &out, prev_hash, encoding).1)
        }
        FrameValue::Name {
            coord_id,
            entity,
            scope,
        } => {
            frame::put_name(&mut buf, *coord_id, entity, scope);
            None
        }
        FrameValue::Marker {
            frame_type,
            id,
            items,
        } => {
            frame::put_marker(&mut buf, *frame_type, *id, *items);
            None
        }
    };
    (buf, hash)
}

/// A frame holding `body` as it is (its first byte is the frame type), with
/// a valid length word and CRC; `None` for an empty body or one longer than
/// the format allows.
pub fn seal_frame(body: &[u8]) -> Option<Vec<u8>> {
    if body.is_empty() || body.len() > FRAME_BYTES_HARD_MAX {
        return None;
    }
    let mut buf = vec![0; frame::FRAME_HEADER_BYTES];
    buf.extend_from_slice(body);
    frame::finish(&mut buf, 0);
    Some(buf)
}

/// A valid 32-byte header of segment `id` (no link to a predecessor).
pub fn segment_header(id: u64) -> [u8; 32] {
    segment::encode_header(id, segment::SegmentLinks::default())
}

/// The path of segment `id` in `dir`.
pub fn segment_path(dir: &Path, id: u64) -> PathBuf {
    segment::segment_path(dir, id)
}

/// The path of the index snapshot in `dir`.
pub fn snapshot_path(dir: &Path) -> PathBuf {
    snapshot::path(dir)
}

/// An index snapshot file holding `body` as it is, with a valid header (magic,
/// lengths, the head's CRC), so the snapshot parser runs on it.
pub fn seal_snapshot(body: &[u8]) -> Vec<u8> {
    snapshot::seal(body)
}

/// The body of an index snapshot file (what follows its header), if the file
/// is long enough to have one.
pub fn snapshot_body(file: &[u8]) -> Option<&[u8]> {
    file.get(snapshot::HEADER_BYTES..)
}
