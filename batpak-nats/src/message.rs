//! One event as one JetStream message: the subject (`subject`), headers
//! carrying every field of the event's frame, and the payload bytes as
//! stored. The header names and formats are listed in docs/scale-out.md;
//! this module is their only writer and reader.

use crate::subject::{decode_token, encode_token, kind_token};
use async_nats::HeaderMap;
use batpak_runtime::event::{
    Codec, CorrelationId, EventFlags, EventHeader, EventId, EventKind, IdempotencyKey,
};
use batpak_runtime::store::{ReplicatedEvent, ReplicatedName};
use bytes::Bytes;

pub(crate) const MSG_ID: &str = "Nats-Msg-Id";
pub(crate) const EXPECTED_LAST_SEQUENCE: &str = "Nats-Expected-Last-Sequence";
/// The one header with the event's metadata, `key=value` pairs joined by
/// `;`. One header rather than one per field: headers cost the client and
/// the server per message (on loopback, 17 headers publish at about 30,000
/// messages/s, 3 at about 75,000).
pub(crate) const EVENT: &str = "Batpak-Event";

/// A message of the stream that is not one an exporter writes: the header
/// or `Batpak-Event` field that is missing or malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHeader(pub &'static str);

/// The message of `ev`: subject, headers, payload. `names` are coordinates
/// the primary defined before `ev` without a committed event (the replica
/// defines them too); `coordinates` is how many coordinates the stream has
/// defined through this message.
pub(crate) fn encode(
    prefix: &str,
    ev: ReplicatedEvent,
    names: &[ReplicatedName],
    coordinates: u32,
    tokens: &mut Tokens,
) -> (String, HeaderMap, Bytes) {
    use std::fmt::Write;
    let h = &ev.header;
    let (entity, scope) = tokens.of(&ev);
    let subject = format!("{prefix}.{scope}.{entity}.{}", kind_token(h.kind));
    let id = h.event_id.get();
    let mut meta = String::with_capacity(320);
    meta.push_str("id=");
    push_hex(&mut meta, &id.to_be_bytes());
    // Writing to a String cannot fail.
    let _ = write!(
        meta,
        ";seq={};eseq={};entity={};scope={};coord={};coords={coordinates};\
         kind={:04x};v={};codec={};flags={};hash=",
        h.position.sequence,
        h.position.entity_sequence,
        entity,
        scope,
        ev.coordinate_id,
        h.kind.raw(),
        h.schema_version,
        codec_name(h.codec),
        h.flags.0,
    );
    push_hex(&mut meta, &ev.content_hash);
    meta.push_str(";corr=");
    push_hex(&mut meta, &h.correlation_id.get().to_be_bytes());
    if let Some(c) = h.causation_id {
        meta.push_str(";cause=");
        push_hex(&mut meta, &c.get().to_be_bytes());
    }
    if let Some(k) = ev.idempotency_key {
        meta.push_str(";key=");
        push_hex(&mut meta, &k.get().to_be_bytes());
    }
    for (i, n) in names.iter().enumerate() {
        let sep = if i == 0 { ";names=" } else { "," };
        let (e, s) = (encode_token(&n.entity), encode_token(&n.scope));
        let _ = write!(meta, "{sep}{}:{e}:{s}", n.coordinate_id);
    }
    let mut headers = HeaderMap::new();
    headers.insert(MSG_ID, &meta[3..35]);
    headers.insert(EVENT, meta);
    (subject, headers, Bytes::from(ev.payload))
}

/// The subject tokens of the coordinates an exporter has published, by
/// coordinate id: a name is encoded once, not once per event. Bounded: it
/// starts over past [`Tokens::MAX`] coordinates.
#[derive(Debug, Default)]
pub(crate) struct Tokens(std::collections::HashMap<u32, (String, String)>);

impl Tokens {
    const MAX: usize = 65_536;

    /// The entity and scope tokens of `ev`'s coordinate.
    fn of(&mut self, ev: &ReplicatedEvent) -> (&str, &str) {
        if self.0.len() >= Self::MAX && !self.0.contains_key(&ev.coordinate_id) {
            self.0.clear();
        }
        let (entity, scope) = self
            .0
            .entry(ev.coordinate_id)
            .or_insert_with(|| (encode_token(&ev.entity), encode_token(&ev.scope)));
        (entity, scope)
    }
}

/// Appends `bytes` as lowercase hex digits (a table lookup per nibble: the
/// exporter writes 96 or more digits per event).
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// A message decoded: the coordinates to define first, and the event.
pub(crate) struct Decoded {
    pub names: Vec<ReplicatedName>,
    pub event: ReplicatedEvent,
}

/// The fields of a `Batpak-Event` header.
struct Fields<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Fields<'a> {
    fn of(headers: Option<&'a HeaderMap>) -> Result<Self, BadHeader> {
        let meta = headers
            .and_then(|h| h.get(EVENT))
            .ok_or(BadHeader(EVENT))?
            .as_str();
        let pairs = meta
            .split(';')
            .map(|pair| pair.split_once('=').ok_or(BadHeader(EVENT)))
            .collect::<Result<_, _>>()?;
        Ok(Self(pairs))
    }

    fn opt(&self, key: &'static str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn get(&self, key: &'static str) -> Result<&'a str, BadHeader> {
        self.opt(key).ok_or(BadHeader(key))
    }

    fn num<T: std::str::FromStr>(&self, key: &'static str) -> Result<T, BadHeader> {
        self.get(key)?.parse().map_err(|_| BadHeader(key))
    }

    fn hex128(&self, key: &'static str) -> Result<u128, BadHeader> {
        u128::from_str_radix(self.get(key)?, 16).map_err(|_| BadHeader(key))
    }

    fn opt_hex128(&self, key: &'static str) -> Result<Option<u128>, BadHeader> {
        self.opt(key).map(|_| self.hex128(key)).transpose()
    }

    fn name(&self, key: &'static str) -> Result<String, BadHeader> {
        decode_token(self.get(key)?).ok_or(BadHeader(key))
    }
}

/// The event a message of the stream carries.
pub(crate) fn decode(headers: Option<&HeaderMap>, payload: &[u8]) -> Result<Decoded, BadHeader> {
    let f = Fields::of(headers)?;
    let event_id = f.hex128("id")?;
    let kind = u16::from_str_radix(f.get("kind")?, 16).map_err(|_| BadHeader("kind"))?;
    let header = EventHeader {
        event_id: EventId::new(event_id),
        correlation_id: CorrelationId::new(f.hex128("corr")?),
        causation_id: f.opt_hex128("cause")?.map(EventId::new),
        timestamp_us: batpak_runtime::event::id::timestamp_us(event_id),
        position: batpak_runtime::event::EventPosition {
            sequence: f.num("seq")?,
            entity_sequence: f.num("eseq")?,
        },
        kind: EventKind::from_raw(kind),
        schema_version: f.num("v")?,
        codec: codec_of(f.get("codec")?).ok_or(BadHeader("codec"))?,
        flags: EventFlags(f.num("flags")?),
    };
    let event = ReplicatedEvent {
        header,
        content_hash: unhex32(f.get("hash")?).ok_or(BadHeader("hash"))?,
        coordinate_id: f.num("coord")?,
        entity: f.name("entity")?,
        scope: f.name("scope")?,
        idempotency_key: f.opt_hex128("key")?.map(IdempotencyKey::new),
        payload: payload.to_vec(),
    };
    let names = match f.opt("names") {
        Some(list) => parse_names(list).ok_or(BadHeader("names"))?,
        None => Vec::new(),
    };
    Ok(Decoded { names, event })
}

/// What the exporter resumes from: the global sequence a message carries,
/// how many coordinates the stream has defined through it, and its event id.
pub(crate) fn position_of(headers: &HeaderMap) -> Result<(u64, u32, u128), BadHeader> {
    let f = Fields::of(Some(headers))?;
    Ok((f.num("seq")?, f.num("coords")?, f.hex128("id")?))
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
