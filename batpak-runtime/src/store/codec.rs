//! Payload encoding: raw payloads are stored as JSON; typed payloads as postcard
//! (decoded to JSON through their schema descriptor). The codec travels in the frame.

use super::error::StoreError;
use super::options::EncodedPayload;
use crate::event::{Codec, StoredPayload};
use serde::Serialize;

/// Encodes a raw payload as JSON.
pub(crate) fn encode_json<P: Serialize + ?Sized>(
    payload: &P,
) -> Result<EncodedPayload, StoreError> {
    let bytes = serde_json::to_vec(payload).map_err(|e| StoreError::Serialize {
        message: e.to_string(),
    })?;
    Ok(EncodedPayload {
        codec: Codec::Json,
        schema_version: 0,
        bytes,
        shape: None,
    })
}

/// Decodes any stored payload into a JSON value.
pub(crate) fn to_json_value(payload: StoredPayload<'_>) -> Result<serde_json::Value, StoreError> {
    let fail = |message: String| StoreError::Decode {
        event_id: 0,
        message,
    };
    match payload.codec {
        Codec::Json => serde_json::from_slice(payload.bytes).map_err(|e| fail(e.to_string())),
        Codec::Bytes => Ok(serde_json::Value::Array(
            payload
                .bytes
                .iter()
                .map(|b| serde_json::Value::from(*b))
                .collect(),
        )),
        Codec::Postcard => match payload.shape {
            Some(known) => crate::schema::json::event_to_json(&known.shape, payload.bytes)
                .map_err(|e| fail(e.to_string())),
            None => Err(fail(format!(
                "no schema descriptor known for postcard payload of kind {:?} version {}",
                payload.kind, payload.schema_version
            ))),
        },
    }
}
