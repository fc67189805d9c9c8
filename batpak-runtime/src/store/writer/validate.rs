//! Validating an append before anything of it is written: the writer's
//! mode (failed, fenced, replica), the size limits, idempotency keys (a
//! repeat of the same content replays the old receipts) and expected
//! sequences (CAS).

use super::append::{item_digest, Plan, EVENT_OVERHEAD_BYTES};
use super::tips::Known;
use super::Writer;
use crate::store::error::{BatchProblem, StoreError};
use crate::store::index::ENTITY_SEQUENCE_MAX;
use crate::store::options::{BatchAppendItem, CausationRef};
use std::collections::HashMap;

impl Writer {
    pub(super) fn check_mode(&self, fenced: bool) -> Result<(), StoreError> {
        if self.failure.is_some() {
            return Err(self.failure_error());
        }
        if self.replica {
            return Err(StoreError::Replica);
        }
        match (self.fence.is_some(), fenced) {
            (true, false) => Err(StoreError::VisibilityFenceActive),
            (false, true) => Err(StoreError::VisibilityFenceCancelled),
            _ => Ok(()),
        }
    }

    /// Every check of a command before anything of it is written: limits,
    /// idempotency keys, CAS expectations and batch-internal causation. The
    /// chain tips of the entities it writes to are loaded on the way.
    pub(super) fn validate(&mut self, items: &[BatchAppendItem]) -> Result<Plan, StoreError> {
        self.check_limits(items)?;
        let keys = self.check_keys(items)?;
        if let Plan::Replay(_) = keys {
            return Ok(keys);
        }
        // The vector is the writer's, so a single append allocates none.
        let mut known = std::mem::take(&mut self.known);
        known.clear();
        let checked = self
            .load_tips(items, &mut known)
            .and_then(|()| self.check_sequences(items, &known));
        self.known = known;
        checked.map(|()| keys)
    }

    /// The batch's item count and bytes, and each frame's size.
    pub(super) fn check_limits(&self, items: &[BatchAppendItem]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Err(StoreError::InvalidBatch {
                item: 0,
                reason: BatchProblem::Empty,
            });
        }
        let bytes: usize = items.iter().map(|i| i.payload.bytes.len()).sum();
        if items.len() > self.config.batch_items_max || bytes > self.config.batch_bytes_max {
            return Err(StoreError::BatchTooLarge {
                items: items.len(),
                bytes,
            });
        }
        for item in items {
            let size = item.payload.bytes.len() + EVENT_OVERHEAD_BYTES;
            if size > self.config.frame_max_bytes {
                return Err(StoreError::PayloadTooLarge {
                    bytes: size,
                    max: self.config.frame_max_bytes,
                });
            }
        }
        Ok(())
    }

    /// Idempotency: all items keyed or none, no key twice, and either every key
    /// used before for the same content (a replay) or none.
    pub(super) fn check_keys(&self, items: &[BatchAppendItem]) -> Result<Plan, StoreError> {
        let bad = |item, reason| StoreError::InvalidBatch { item, reason };
        let keyed = items
            .iter()
            .filter(|i| i.options.idempotency_key.is_some())
            .count();
        if keyed != 0 && keyed != items.len() {
            let first = items
                .iter()
                .position(|i| i.options.idempotency_key.is_none());
            return Err(bad(first.unwrap_or(0), BatchProblem::MixedIdempotency));
        }
        // Digests only exist for keyed items; an unkeyed command allocates none.
        let mut digests = Vec::new();
        let mut replay = Vec::new();
        let mut first_new = None;
        for (i, item) in items.iter().enumerate() {
            let Some(key) = item.options.idempotency_key else {
                continue;
            };
            if items[..i]
                .iter()
                .any(|p| p.options.idempotency_key == Some(key))
            {
                return Err(bad(i, BatchProblem::DuplicateKey));
            }
            let digest = item_digest(item);
            match self.keys.get(&key.get()) {
                Some(used) if used.digest != digest => {
                    return Err(StoreError::IdempotencyConflict { key })
                }
                Some(used) => replay.push(used.receipt),
                None => {
                    first_new.get_or_insert(i);
                }
            }
            digests.push(Some(digest));
        }
        if keyed > 0 && replay.len() == items.len() {
            return Ok(Plan::Replay(replay));
        }
        if let (false, Some(item)) = (replay.is_empty(), first_new) {
            return Err(StoreError::IdempotencyPartialReplay { item });
        }
        Ok(Plan::Write(digests))
    }

    /// CAS expectations against each entity's running sequence (from its
    /// sequence before the command, in `known`), the bound on entity
    /// sequences, and causation that only points at earlier items.
    pub(super) fn check_sequences(
        &self,
        items: &[BatchAppendItem],
        known: &[Known],
    ) -> Result<(), StoreError> {
        let single = items.len() == 1;
        let mut running: HashMap<&str, u64> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let entity = item.coordinate.entity();
            let current = match running.get(entity) {
                Some(n) => *n,
                None => known[i].sequence(),
            };
            if let Some(expected) = item.options.expected_sequence {
                if expected != current {
                    return Err(StoreError::SequenceConflict {
                        entity: entity.to_owned(),
                        expected,
                        actual: current,
                    });
                }
            }
            if current >= ENTITY_SEQUENCE_MAX {
                return Err(StoreError::EntitySequenceExhausted {
                    entity: entity.to_owned(),
                });
            }
            if !single {
                running.insert(entity, current + 1);
            }
            if let CausationRef::PriorItem(p) = item.options.causation {
                if p >= i {
                    return Err(StoreError::InvalidBatch {
                        item: i,
                        reason: BatchProblem::ForwardCausation,
                    });
                }
            }
        }
        Ok(())
    }
}
