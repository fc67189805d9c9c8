//! Crypto-shredding, the API half: typed items with personal fields in clear
//! are sealed with their data subject's key on the calling thread, before the
//! writer sees them (so a new key is durable before its first event), reads
//! open them before a replay input decodes the payload, and
//! [`Store::forget`] destroys a subject's key. The keys and the cipher are in
//! `store::keys`; the walk over a payload's bytes in `schema::personal`.

use super::error::DecodeError;
use super::keys::SealError;
use super::{BatchAppendItem, ReadWrite, Store, StoreError};
use crate::event::{Codec, EventKind};
use crate::schema::KnownShape;

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
    pub fn forget(&self, subject: &str) -> Result<bool, StoreError> {
        self.check_writer()?;
        self.shared
            .keys
            .destroy(subject)
            .map_err(|source| StoreError::KeyStore { source })
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
