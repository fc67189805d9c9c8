//! Crypto-shredding, the API half: typed items with personal fields in clear
//! are sealed with their data subject's key on the calling thread, before the
//! writer sees them (so a new key is durable before its first event), reads
//! open them before a replay input decodes the payload, and
//! [`Store::forget`] destroys a subject's key. The keys and the cipher are in
//! `store::keys`; the walk over a payload's bytes in `schema::personal`.

use super::error::DecodeError;
use super::keys::{KeyId, SealError};
use super::ledger::SYSTEM_SCOPE;
use super::write::Route;
use super::{BatchAppendItem, ReadWrite, Store, StoreError};
use crate::coordinate::Coordinate;
use crate::event::{system, Codec, EventKind};
use crate::schema::KnownShape;

/// The entity whose stream records every `forget` (kind `system::ERASURE`).
pub const ERASURE_ENTITY: &str = "$batpak:erasure";

/// The payload of an erasure record: which key was destroyed. The subject's
/// name is not recorded, since it may itself identify the person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErasureRecord {
    /// The destroyed key's id, 32 hex digits.
    pub key_id: String,
}

impl Store<ReadWrite> {
    /// Seals the personal fields of a typed item that are still in clear.
    pub(crate) fn seal_item(&self, item: &mut BatchAppendItem) -> Result<(), StoreError> {
        let Some(subject) = item.payload.subject.take() else {
            return Ok(());
        };
        let Some(shape) = item.payload.shape.as_ref() else {
            return Ok(());
        };
        let sealed = self
            .shared
            .keys
            .seal(
                &shape.shape.fields,
                item.kind,
                &subject,
                &item.payload.bytes,
            )
            .map_err(|e| match e {
                SealError::KeyStore(source) => StoreError::KeyStore { source },
                SealError::Bytes(source) => StoreError::Unsealable { source },
            })?;
        item.payload.bytes = sealed;
        Ok(())
    }

    /// Forgets a data subject: destroys the key that sealed its personal
    /// fields, durably, before returning. Afterwards every read (typed reads,
    /// projections, aggregates, JSON views, also of backups and copies)
    /// gives those fields as [`Personal::Erased`](crate::schema::Personal);
    /// the events themselves and every other field stay. `false` when the
    /// subject had no key (nothing personal was written for it).
    ///
    /// A later event with personal fields for the same subject gets a new key;
    /// the erased values stay erased. The writer's events are not touched:
    /// compaction rewrites no payload, and none needs rewriting.
    ///
    /// A destroyed key is recorded as a library system event (kind
    /// `system::ERASURE`, entity `$batpak:erasure`, payload an
    /// [`ErasureRecord`] with the key id), so replicas and audits see it. The
    /// key is destroyed first: when the record cannot be written (a live
    /// visibility fence, a stopped writer), the error comes back, the data is
    /// erased all the same, and a later `forget` returns `false` and records
    /// nothing.
    pub fn forget(&self, subject: &str) -> Result<bool, StoreError> {
        self.check_writer()?;
        let destroyed = self
            .shared
            .keys
            .destroy(subject)
            .map_err(|source| StoreError::KeyStore { source })?;
        if destroyed {
            let record = ErasureRecord {
                key_id: KeyId::of(subject).to_hex(),
            };
            let coordinate = Coordinate::new(ERASURE_ENTITY, SYSTEM_SCOPE)?;
            let item = BatchAppendItem::system(coordinate, system::ERASURE, &record)?;
            self.append_one(item, Route::Plain)?;
        }
        Ok(destroyed)
    }
}

/// The payload bytes with its sealed personal fields opened (in clear, or
/// erased when the key is gone), when its shape has any.
pub(crate) fn open_payload(
    keys: &super::keys::KeyRing,
    shape: Option<&KnownShape>,
    codec: Codec,
    kind: EventKind,
    bytes: &[u8],
) -> Result<Option<Vec<u8>>, DecodeError> {
    match shape {
        Some(known) if known.personal && codec == Codec::Postcard => keys
            .open(&known.shape.fields, kind, bytes)
            .map(Some)
            .map_err(|e| match e {
                SealError::KeyStore(source) => DecodeError::KeyStore(source),
                SealError::Bytes(source) => DecodeError::Transcode(source),
            }),
        _ => Ok(None),
    }
}
