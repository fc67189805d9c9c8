//! One event as one JetStream message: the subject (`subject`), headers
//! carrying every field of the event's frame, and the payload bytes as
//! stored. The header names and formats are listed in docs/scale-out.md;
//! this module is their only writer and reader.

use crate::subject::{decode_token, encode_token, event_subject};
use async_nats::HeaderMap;
use batpak_runtime::event::{
    Codec, CorrelationId, EventFlags, EventHeader, EventId, EventKind, IdempotencyKey,
};
use batpak_runtime::store::{ReplicatedEvent, ReplicatedName};
use bytes::Bytes;

pub(crate) const MSG_ID: &str = "Nats-Msg-Id";
pub(crate) const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";
pub(crate) const EVENT_ID: &str = "Batpak-Event-Id";
pub(crate) const SEQUENCE: &str = "Batpak-Sequence";
const ENTITY_SEQUENCE: &str = "Batpak-Entity-Sequence";
const ENTITY: &str = "Batpak-Entity";
const SCOPE: &str = "Batpak-Scope";
const COORDINATE: &str = "Batpak-Coordinate";
pub(crate) const COORDINATES: &str = "Batpak-Coordinates";
const NAMES: &str = "Batpak-Names";
const KIND: &str = "Batpak-Kind";
const SCHEMA_VERSION: &str = "Batpak-Schema-Version";
const CODEC: &str = "Batpak-Codec";
const FLAGS: &str = "Batpak-Flags";
const HASH: &str = "Batpak-Hash";
const CORRELATION: &str = "Batpak-Correlation-Id";
const CAUSATION: &str = "Batpak-Causation-Id";
const IDEMPOTENCY_KEY: &str = "Batpak-Idempotency-Key";

/// A message of the stream that is not one an exporter writes: which header
/// is missing or malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHeader(pub &'static str);

/// The message of `ev`: subject, headers, payload. `names` are coordinates
/// the primary defined before `ev` without a committed event (the replica
/// defines them too); `coordinates` is how many coordinates the stream has
/// defined through this message.
pub(crate) fn encode(
    prefix: &str,
    ev: &ReplicatedEvent,
    names: &[ReplicatedName],
    coordinates: u32,
) -> (String, HeaderMap, Bytes) {
    let h = &ev.header;
    let subject = event_subject(prefix, &ev.scope, &ev.entity, h.kind);
    let mut headers = HeaderMap::new();
    let id = hex128(h.event_id.get());
    headers.insert(MSG_ID, id.as_str());
    headers.insert(EVENT_ID, id.as_str());
    headers.insert(SEQUENCE, h.position.sequence.to_string().as_str());
    headers.insert(
        ENTITY_SEQUENCE,
        h.position.entity_sequence.to_string().as_str(),
    );
    headers.insert(ENTITY, encode_token(&ev.entity).as_str());
    headers.insert(SCOPE, encode_token(&ev.scope).as_str());
    headers.insert(COORDINATE, ev.coordinate_id.to_string().as_str());
    headers.insert(COORDINATES, coordinates.to_string().as_str());
    headers.insert(KIND, format!("{:04x}", h.kind.raw()).as_str());
    headers.insert(SCHEMA_VERSION, h.schema_version.to_string().as_str());
    headers.insert(CODEC, codec_name(h.codec));
    headers.insert(FLAGS, h.flags.0.to_string().as_str());
    headers.insert(HASH, hex(&h.content_hash).as_str());
    headers.insert(CORRELATION, hex128(h.correlation_id.get()).as_str());
    if let Some(c) = h.causation_id {
        headers.insert(CAUSATION, hex128(c.get()).as_str());
    }
    if let Some(k) = ev.idempotency_key {
        headers.insert(IDEMPOTENCY_KEY, hex128(k.get()).as_str());
    }
    if !names.is_empty() {
        let list: Vec<String> = names
            .iter()
            .map(|n| {
                let (e, s) = (encode_token(&n.entity), encode_token(&n.scope));
                format!("{}:{e}:{s}", n.coordinate_id)
            })
            .collect();
        headers.insert(NAMES, list.join(",").as_str());
    }
    (subject, headers, Bytes::copy_from_slice(&ev.payload))
}

/// A message decoded: the coordinates to define first, and the event.
pub(crate) struct Decoded {
    pub names: Vec<ReplicatedName>,
    pub event: ReplicatedEvent,
}

/// The event a message of the stream carries.
pub(crate) fn decode(headers: Option<&HeaderMap>, payload: &[u8]) -> Result<Decoded, BadHeader> {
    let headers = headers.ok_or(BadHeader(SEQUENCE))?;
    let get = |name: &'static str| headers.get(name).map(|v| v.as_str()).ok_or(BadHeader(name));
    let num = |name: &'static str| -> Result<u64, BadHeader> {
        get(name)?.parse().map_err(|_| BadHeader(name))
    };
    let id128 = |name: &'static str| -> Result<u128, BadHeader> {
        u128::from_str_radix(get(name)?, 16).map_err(|_| BadHeader(name))
    };
    let opt128 = |name: &'static str| match headers.get(name) {
        Some(_) => id128(name).map(Some),
        None => Ok(None),
    };
    let name = |header: &'static str| decode_token(get(header)?).ok_or(BadHeader(header));
    let event_id = id128(EVENT_ID)?;
    let kind = u16::from_str_radix(get(KIND)?, 16).map_err(|_| BadHeader(KIND))?;
    let codec = codec_of(get(CODEC)?).ok_or(BadHeader(CODEC))?;
    let flags = u8::try_from(num(FLAGS)?).map_err(|_| BadHeader(FLAGS))?;
    let hash = unhex32(get(HASH)?).ok_or(BadHeader(HASH))?;
    let small = |h: &'static str| -> Result<u32, BadHeader> {
        u32::try_from(num(h)?).map_err(|_| BadHeader(h))
    };
    let schema_version =
        u16::try_from(num(SCHEMA_VERSION)?).map_err(|_| BadHeader(SCHEMA_VERSION))?;
    let header = EventHeader {
        event_id: EventId::new(event_id),
        correlation_id: CorrelationId::new(id128(CORRELATION)?),
        causation_id: opt128(CAUSATION)?.map(EventId::new),
        timestamp_us: batpak_runtime::event::id::timestamp_us(event_id),
        position: batpak_runtime::event::EventPosition {
            sequence: num(SEQUENCE)?,
            entity_sequence: num(ENTITY_SEQUENCE)?,
        },
        kind: EventKind::from_raw(kind),
        schema_version,
        codec,
        flags: EventFlags(flags),
        content_hash: hash,
    };
    let event = ReplicatedEvent {
        header,
        coordinate_id: small(COORDINATE)?,
        entity: name(ENTITY)?,
        scope: name(SCOPE)?,
        idempotency_key: opt128(IDEMPOTENCY_KEY)?.map(IdempotencyKey::new),
        payload: payload.to_vec(),
    };
    let names = match headers.get(NAMES) {
        Some(list) => parse_names(list.as_str()).ok_or(BadHeader(NAMES))?,
        None => Vec::new(),
    };
    small(COORDINATES)?;
    Ok(Decoded { names, event })
}

/// The event id a message carries.
pub(crate) fn event_id_of(headers: &HeaderMap) -> Result<u128, BadHeader> {
    headers
        .get(EVENT_ID)
        .and_then(|v| u128::from_str_radix(v.as_str(), 16).ok())
        .ok_or(BadHeader(EVENT_ID))
}

/// The primary's sequence a message carries (the exporter's resume point).
pub(crate) fn sequence_of(headers: &HeaderMap) -> Result<(u64, u32), BadHeader> {
    let get = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .ok_or(BadHeader(name))
    };
    let coordinates = u32::try_from(get(COORDINATES)?).map_err(|_| BadHeader(COORDINATES))?;
    Ok((get(SEQUENCE)?, coordinates))
}

fn parse_names(list: &str) -> Option<Vec<ReplicatedName>> {
    list.split(',')
        .map(|item| {
            let mut parts = item.split(':');
            let id = parts.next()?.parse().ok()?;
            let entity = decode_token(parts.next()?)?;
            let scope = decode_token(parts.next()?)?;
            parts.next().is_none().then_some(ReplicatedName {
                coordinate_id: id,
                entity,
                scope,
            })
        })
        .collect()
}

fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::Json => "json",
        Codec::Postcard => "postcard",
        Codec::Bytes => "bytes",
    }
}

fn codec_of(name: &str) -> Option<Codec> {
    match name {
        "json" => Some(Codec::Json),
        "postcard" => Some(Codec::Postcard),
        "bytes" => Some(Codec::Bytes),
        _ => None,
    }
}

fn hex128(v: u128) -> String {
    format!("{v:032x}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
