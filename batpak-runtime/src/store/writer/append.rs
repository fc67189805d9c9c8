//! Staging appends: validate every item against the writer's state first (CAS,
//! idempotency, limits), then encode frames into the group buffer. The second
//! pass cannot fail, so a refused command leaves no trace.

use super::{Pub, Reply, ReplyTo, Writer};
use crate::event::id::timestamp_us;
use crate::store::error::{BatchProblem, StoreError};
use crate::store::index::{Link, Record};
use crate::store::ledger;
use crate::store::locking;
use crate::store::log::frame::{self, bits, EventOut, TYPE_BATCH_BEGIN, TYPE_BATCH_COMMIT};
use crate::store::log::recovery::{content_digest, KeyUse, Tip};
use crate::store::options::{AppendReceipt, BatchAppendItem, CausationRef, DurabilityGate};
use std::collections::HashMap;

/// Upper bound of an event frame's bytes besides its payload.
pub(crate) const EVENT_OVERHEAD_BYTES: usize = 160;

/// What validation decided.
enum Plan {
    /// Write the items; the digests of keyed items.
    Write(Vec<Option<[u8; 16]>>),
    /// Every key was used before for the same content: answer with the old receipts.
    Replay(Vec<AppendReceipt>),
}

impl Writer {
    pub(super) fn append(
        &mut self,
        items: super::Items,
        reaction: Option<(u128, u128)>,
        batch: bool,
        fenced: bool,
        reply: ReplyTo,
    ) {
        let result = self
            .check_mode(fenced)
            .and_then(|()| self.validate(items.as_slice()));
        let plan = match result {
            Ok(plan) => plan,
            Err(e) => {
                self.group.replies.push(Reply::Append(reply, Err(e)));
                return;
            }
        };
        let receipts = match plan {
            Plan::Replay(receipts) => receipts,
            Plan::Write(digests) => {
                let entries = match self.ledger_entries(items.as_slice()) {
                    Ok(entries) => entries,
                    Err(e) => {
                        self.group.replies.push(Reply::Append(reply, Err(e)));
                        return;
                    }
                };
                if items
                    .as_slice()
                    .iter()
                    .any(|i| i.options.gate == DurabilityGate::Durable)
                {
                    self.group.force_sync = true;
                }
                self.maybe_rotate();
                if entries.is_empty() {
                    self.write_items(items.as_slice(), &digests, reaction, batch, fenced)
                } else {
                    self.write_with_ledger(entries, items.as_slice(), digests, reaction, fenced)
                }
            }
        };
        self.written.push(items);
        let reply = Reply::Append(reply, Ok(receipts));
        match (&mut self.fence, fenced) {
            (Some(fence), true) => fence.replies.push(reply),
            _ => self.group.replies.push(reply),
        }
    }

    fn check_mode(&self, fenced: bool) -> Result<(), StoreError> {
        if self.failure.is_some() {
            return Err(self.failure_error());
        }
        match (self.fence.is_some(), fenced) {
            (true, false) => Err(StoreError::VisibilityFenceActive),
            (false, true) => Err(StoreError::VisibilityFenceCancelled),
            _ => Ok(()),
        }
    }

    fn validate(&self, items: &[BatchAppendItem]) -> Result<Plan, StoreError> {
        let bad = |item, reason| StoreError::InvalidBatch { item, reason };
        if items.is_empty() {
            return Err(bad(0, BatchProblem::Empty));
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
            let c = &item.coordinate;
            let p = &item.payload;
            let digest = content_digest(
                c.entity(),
                c.scope(),
                item.kind,
                p.codec,
                p.schema_version,
                &p.bytes,
            );
            match self.keys.get(&key) {
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
        let cas = items.iter().any(|i| i.options.expected_sequence.is_some());
        let mut running: HashMap<&str, u64> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            if cas {
                let entity = item.coordinate.entity();
                let current = *running
                    .entry(entity)
                    .or_insert_with(|| self.names.sequence_of(entity));
                if let Some(expected) = item.options.expected_sequence {
                    if expected != current {
                        return Err(StoreError::SequenceConflict {
                            entity: entity.to_owned(),
                            expected,
                            actual: current,
                        });
                    }
                }
                running.insert(entity, current + 1);
            }
            if let CausationRef::PriorItem(p) = item.causation {
                if p >= i {
                    return Err(bad(i, BatchProblem::ForwardCausation));
                }
            }
        }
        Ok(Plan::Write(digests))
    }

    /// The ledger entries this command must carry: one per (kind, version) of
    /// its typed items that the log has not described yet. Refuses drift and
    /// kind conflicts before anything is written.
    fn ledger_entries(
        &self,
        items: &[BatchAppendItem],
    ) -> Result<Vec<BatchAppendItem>, StoreError> {
        let mut seen: Vec<(u16, u16)> = Vec::new();
        let mut entries = Vec::new();
        for item in items {
            let key = (item.kind.raw(), item.payload.schema_version);
            if seen.contains(&key)
                || !ledger::check(&self.shared.schemas, item.kind, &item.payload)?
            {
                continue;
            }
            seen.push(key);
            if let Some(shape) = &item.payload.shape {
                entries.push(ledger::entry_item(
                    item.kind,
                    item.payload.schema_version,
                    shape,
                )?);
            }
        }
        Ok(entries)
    }

    /// Writes the ledger entries and the items as one atomic batch; answers with
    /// the items' receipts only.
    fn write_with_ledger(
        &mut self,
        entries: Vec<BatchAppendItem>,
        items: &[BatchAppendItem],
        digests: Vec<Option<[u8; 16]>>,
        reaction: Option<(u128, u128)>,
        fenced: bool,
    ) -> Vec<AppendReceipt> {
        let skip = entries.len();
        for item in items {
            if let Some(shape) = &item.payload.shape {
                self.shared.schemas.record(
                    item.kind,
                    item.payload.schema_version,
                    std::sync::Arc::clone(shape),
                );
                if let (true, Some(fence)) = (fenced, self.fence.as_mut()) {
                    fence.ledger.push((item.kind, item.payload.schema_version));
                }
            }
        }
        let mut all = entries;
        // Rare (the first write of a kind and version), so cloning is fine.
        all.extend(items.iter().cloned().map(|mut item| {
            if let CausationRef::PriorItem(p) = item.causation {
                item.causation = CausationRef::PriorItem(p + skip);
            }
            item
        }));
        let mut all_digests = Vec::new();
        if !digests.is_empty() {
            all_digests = vec![None; skip];
            all_digests.extend(digests);
        }
        let mut receipts = self.write_items(&all, &all_digests, reaction, true, fenced);
        receipts.drain(..skip);
        receipts
    }

    /// The correlation id of a stored event (its own id when it is a root or unknown).
    fn correlation_of(&self, event_id: u128) -> u128 {
        let index = locking::read(&self.shared.index);
        index
            .position_of(event_id)
            .map_or(event_id, |p| index.entry(p).correlation_id)
    }

    /// Resolves the item's coordinate, writing its name frame if this segment
    /// has not defined it yet. Returns (coordinate id, entity index).
    fn coord_id(&mut self, item: &BatchAppendItem) -> (u32, u32) {
        let c = &item.coordinate;
        let r = self.names.resolve(c);
        if r.new {
            self.new_names.push(r.coord);
        }
        if self.names.define_in(r.coord, self.segment_id) {
            frame::put_name(&mut self.buf, r.coord, c.entity(), c.scope());
        }
        (r.coord, r.entity)
    }

    fn write_items(
        &mut self,
        items: &[BatchAppendItem],
        digests: &[Option<[u8; 16]>],
        reaction: Option<(u128, u128)>,
        batch: bool,
        fenced: bool,
    ) -> Vec<AppendReceipt> {
        let marked = batch && items.len() > 1;
        let batch_id = self.next_batch_id;
        if marked {
            self.next_batch_id += 1;
            frame::put_marker(
                &mut self.buf,
                TYPE_BATCH_BEGIN,
                batch_id,
                Some(items.len() as u64),
            );
        }
        let now = crate::event::id::now_us();
        let mut receipts: Vec<AppendReceipt> = Vec::with_capacity(items.len());
        let mut correlations: Vec<u128> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let digest = digests.get(i).and_then(Option::as_ref);
            let (coord_id, entity) = self.coord_id(item);
            let event_id = self.clock.next_id_at(now);
            let sequence = self.next_sequence;
            self.next_sequence += 1;
            let reaction = reaction.filter(|_| !item.system);
            let (correlation_id, causation_id) = match (reaction, item.causation) {
                (Some((corr, cause)), _) => (corr, Some(cause)),
                (None, CausationRef::None) => (event_id, None),
                (None, CausationRef::Absolute(cause)) => (self.correlation_of(cause), Some(cause)),
                (None, CausationRef::PriorItem(p)) => (correlations[p], Some(receipts[p].event_id)),
            };
            let prev = self.names.tip(entity);
            let mut flag_bits = item.payload.codec as u8;
            if marked {
                flag_bits |= bits::BATCH;
            }
            if fenced {
                flag_bits |= bits::FENCED;
            }
            if item.system {
                flag_bits |= bits::SYSTEM;
            }
            let out = EventOut {
                bits: flag_bits,
                kind: item.kind,
                schema_version: item.payload.schema_version,
                sequence,
                event_id,
                coord_id,
                entity_sequence: prev.map_or(0, |t| t.sequence) + 1,
                correlation_id,
                causation_id,
                idempotency_key: item.options.idempotency_key,
                entity: item.coordinate.entity(),
                scope: item.coordinate.scope(),
                payload: &item.payload.bytes,
            };
            let offset = self.segment_len + self.buf.len() as u64;
            let (record_bits, hash) =
                frame::put_event(&mut self.buf, &out, &prev.map_or([0; 32], |t| t.hash));
            let tip = Tip {
                sequence: out.entity_sequence,
                hash,
            };
            self.names.set_tip(entity, Some(tip));
            let receipt = AppendReceipt {
                event_id,
                sequence,
                entity_sequence: out.entity_sequence,
                timestamp_us: timestamp_us(event_id),
                content_hash: hash,
                signature: None,
            };
            #[cfg(feature = "signing")]
            let receipt = match &self.config.signing_key {
                Some(signer) => {
                    let prev_hash = prev.map_or([0; 32], |t| t.hash);
                    let message = crate::store::signing::receipt_message(
                        &receipt,
                        &item.coordinate,
                        item.kind,
                        &prev_hash,
                    );
                    AppendReceipt {
                        signature: Some(signer.sign(&message)),
                        ..receipt
                    }
                }
                None => receipt,
            };
            if let (Some(key), Some(digest)) = (item.options.idempotency_key, digest) {
                self.keys.insert(
                    key,
                    KeyUse {
                        digest: *digest,
                        receipt,
                    },
                );
            }
            let record = Record::new(
                event_id,
                sequence,
                self.segment_id,
                offset,
                coord_id,
                out.entity_sequence,
                item.kind,
                record_bits,
            );
            let link = (correlation_id != event_id || causation_id.is_some()).then_some(Link {
                position: 0,
                correlation_id,
                causation_id,
            });
            let event = Pub { record, link };
            match (&mut self.fence, fenced) {
                (Some(fence), true) => {
                    fence.undo.push((entity, prev));
                    if let Some(key) = item.options.idempotency_key {
                        fence.keys.push(key);
                    }
                    fence.publish.push(event);
                }
                _ => self.group.publish.push(event),
            }
            self.unsynced_events += 1;
            correlations.push(correlation_id);
            receipts.push(receipt);
        }
        if marked {
            frame::put_marker(&mut self.buf, TYPE_BATCH_COMMIT, batch_id, None);
        }
        receipts
    }
}
