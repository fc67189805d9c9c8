//! The payload of a retention record ([`system::RETENTION`](crate::event::system::RETENTION)).

use crate::store::error::{CorruptionKind, LogPosition, StoreError};
use crate::store::index::Floor;
use serde::{Deserialize, Serialize};

/// What a retention record says (its JSON payload): from which entity
/// sequence on `entity`'s stream is kept, and the hash the kept chain
/// starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRecord {
    /// The entity cut.
    pub entity: String,
    /// Events with an entity sequence below this one are cut.
    pub before: u64,
    /// The hash of event `before - 1`, lowercase hex (64 digits): the
    /// `prev` of the first kept event's hash, from which `verify` proves
    /// the kept chain after compaction removed the rest.
    pub hash_at_cut: String,
    /// The entity was tombstoned.
    pub tombstone: bool,
    /// Why: `truncate_before N`, `tombstone`, or the policy that cut.
    pub reason: String,
}

impl RetentionRecord {
    pub(crate) fn new(entity: &str, floor: &Floor, reason: &str) -> Self {
        Self {
            entity: entity.to_owned(),
            before: floor.before,
            hash_at_cut: floor.hash.iter().map(|b| format!("{b:02x}")).collect(),
            tombstone: floor.tombstone,
            reason: reason.to_owned(),
        }
    }

    /// The record in the payload of the event at `at`.
    pub(crate) fn parse(payload: &[u8], at: LogPosition) -> Result<Self, StoreError> {
        let bad = StoreError::Corrupt {
            at,
            kind: CorruptionKind::BadBody,
        };
        let record: Self = serde_json::from_slice(payload).map_err(|_| bad)?;
        if record.before == 0 || record.hash().is_none() {
            return Err(StoreError::Corrupt {
                at,
                kind: CorruptionKind::BadBody,
            });
        }
        Ok(record)
    }

    /// The hash at the cut as bytes, `None` if it is not 64 hex digits.
    pub fn hash(&self) -> Option<[u8; 32]> {
        let digits = self.hash_at_cut.as_bytes();
        if digits.len() != 64 {
            return None;
        }
        let mut out = [0; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks(2)) {
            let text = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(text, 16).ok()?;
        }
        Some(out)
    }

    pub(crate) fn floor(&self) -> Floor {
        Floor {
            before: self.before,
            hash: self.hash().unwrap_or([0; 32]),
            tombstone: self.tombstone,
        }
    }
}
