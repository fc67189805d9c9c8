//! Payload encoding: raw payloads are stored as JSON; typed payloads as postcard
//! (decoded to JSON through their schema descriptor). The codec travels in the frame.

use super::error::{DecodeError, StoreError};
use super::registry::FamilyCheck;
use crate::event::{Codec, EventKind};
use crate::schema::KnownShape;
use serde::Serialize;
use std::sync::Arc;

/// A payload encoded for the log, with what the frame records about it.
#[derive(Debug, Clone)]
pub(crate) struct EncodedPayload {
    pub codec: Codec,
    pub schema_version: u16,
    pub bytes: Vec<u8>,
    /// The shape of a typed payload (checked against the schema ledger).
    pub shape: Option<Arc<KnownShape>>,
    /// The judgement of a typed payload's family against the ledger.
    pub family: Option<FamilyCheck>,
    /// The data subject whose key seals the payload's personal fields in
    /// clear (`None`: none are, or they are sealed already).
    pub subject: Option<Box<str>>,
}

/// A payload as stored, before a replay input decodes it.
#[derive(Debug, Clone, Copy)]
pub struct StoredPayload<'a> {
    /// The event's kind.
    pub kind: EventKind,
    /// The schema version it was written with.
    pub schema_version: u16,
    /// Its encoding.
    pub codec: Codec,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// The shape of a postcard payload, when the store knows it (the shape the
    /// log recorded for this kind and version, if any).
    pub shape: Option<&'a KnownShape>,
}

/// Deepest nesting of arrays and objects a JSON payload may have: what
/// `serde_json` reads back (its recursion limit is 128), so nothing is written
/// that a read could not decode.
pub const JSON_DEPTH_MAX: usize = 127;

/// The deepest nesting of arrays and objects in JSON `bytes` (strings skipped).
fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Encodes a raw payload as JSON, refusing one nested deeper than a read can
/// decode ([`JSON_DEPTH_MAX`]).
pub(crate) fn encode_json<P: Serialize + ?Sized>(
    payload: &P,
) -> Result<EncodedPayload, StoreError> {
    // Room for a typical event up front: growing from empty would copy a
    // short payload four or five times.
    let mut bytes = Vec::with_capacity(128);
    serde_json::to_writer(&mut bytes, payload)
        .map_err(|source| StoreError::Serialize { source })?;
    // Valid JSON nests at most one level per two bytes (an opening and a
    // closing bracket), so a short payload needs no scan.
    let depth = if bytes.len() <= 2 * JSON_DEPTH_MAX {
        0
    } else {
        json_depth(&bytes)
    };
    if depth > JSON_DEPTH_MAX {
        return Err(StoreError::PayloadTooDeep {
            depth,
            max: JSON_DEPTH_MAX,
        });
    }
    Ok(EncodedPayload {
        codec: Codec::Json,
        schema_version: 0,
        bytes,
        shape: None,
        family: None,
        subject: None,
    })
}

/// Decodes any stored payload into a JSON value.
pub(crate) fn to_json_value(payload: StoredPayload<'_>) -> Result<serde_json::Value, DecodeError> {
    match payload.codec {
        Codec::Json => serde_json::from_slice(payload.bytes).map_err(DecodeError::Json),
        Codec::Bytes => Ok(serde_json::Value::Array(
            payload
                .bytes
                .iter()
                .map(|b| serde_json::Value::from(*b))
                .collect(),
        )),
        Codec::Postcard => match payload.shape {
            Some(known) => crate::schema::json::event_to_json(&known.shape, payload.bytes)
                .map_err(DecodeError::Transcode),
            None => Err(DecodeError::NoShape {
                kind: payload.kind,
                version: payload.schema_version,
            }),
        },
    }
}
