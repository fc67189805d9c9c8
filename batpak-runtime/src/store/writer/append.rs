//! Staging appends: validate every item against the writer's state first (CAS,
//! idempotency, limits), then encode frames into the group buffer. The second
//! pass cannot fail, so a refused command leaves no trace.

use super::tips::Known;
use super::{names, Items, Pub, Reply, ReplyTo, Writer};
use crate::event::id::timestamp_us;
use crate::event::{EventId, IdempotencyKey};
use crate::store::error::{LogPosition, StoreError};
use crate::store::index::{Link, Record, RecordFields};
use crate::store::ledger;
use crate::store::locking;
use crate::store::log::frame::{self, bits, EventOut, TYPE_BATCH_BEGIN, TYPE_BATCH_COMMIT};
use crate::store::log::recovery::{content_digest, KeyUse, Tip};
use crate::store::options::{AppendReceipt, BatchAppendItem, CausationRef, DurabilityGate};

/// Upper bound of an event frame's bytes besides its payload.
pub(crate) const EVENT_OVERHEAD_BYTES: usize = 160;

/// What validation decided.
pub(super) enum Plan {
    /// Write the items; the digests of keyed items.
    Write(Vec<Option<[u8; 16]>>),
    /// Every key was used before for the same content: answer with the old receipts.
    Replay(Vec<AppendReceipt>),
}

impl Writer {
    /// Validates a whole append command, then writes it; the reply waits
    /// for the group (or the fence) it joins.
    pub(super) fn append(&mut self, items: Items, batch: bool, fenced: bool, reply: ReplyTo) {
        self.append_borrowed(&items, batch, fenced, reply);
        self.written.push(items);
    }

    /// [`append`](Self::append) of items the caller keeps and frees itself:
    /// the fast path's caller, on its own thread, so its items need neither
    /// a move into the group nor the recycler's bin.
    pub(super) fn append_borrowed(
        &mut self,
        items: &Items,
        batch: bool,
        fenced: bool,
        reply: ReplyTo,
    ) {
        #[cfg(test)]
        if items
            .as_slice()
            .iter()
            .any(|i| i.kind == super::combine::tests::PANIC_KIND)
        {
            panic!("injected panic while writing");
        }
        let receipts = self.plan_and_write(items.as_slice(), batch, fenced);
        let reply = Reply::Append(reply, receipts);
        match (&mut self.fence, fenced) {
            (Some(fence), true) if reply.is_ok() => fence.replies.push(reply),
            _ => self.group.replies.push(reply),
        }
    }

    /// Validates `items` completely, then encodes them; nothing is written
    /// when any check fails.
    fn plan_and_write(
        &mut self,
        items: &[BatchAppendItem],
        batch: bool,
        fenced: bool,
    ) -> Result<Receipts, StoreError> {
        self.check_mode(fenced)?;
        let digests = match self.validate(items)? {
            Plan::Replay(receipts) => return Ok(Receipts::Many(receipts)),
            Plan::Write(digests) => digests,
        };
        let entries = self.ledger_entries(items)?;
        self.load_tips(&entries, &mut Vec::new())?;
        if items
            .iter()
            .any(|i| i.options.gate == DurabilityGate::Durable)
        {
            self.group.force_sync = true;
        }
        self.maybe_rotate();
        let known = std::mem::take(&mut self.known);
        let receipts = if entries.is_empty() {
            self.write_items(items, &digests, &known, batch, fenced)
        } else {
            self.write_with_ledger(entries, items, digests, fenced)
        };
        self.known = known;
        Ok(receipts)
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
        fenced: bool,
    ) -> Receipts {
        let skip = entries.len();
        for item in items {
            if let Some(shape) = &item.payload.shape {
                self.shared.schemas.record(
                    item.kind,
                    item.payload.schema_version,
                    std::sync::Arc::clone(shape),
                );
                if let (true, Some(fence)) = (fenced, self.fence.as_mut()) {
                    let version = item.payload.schema_version;
                    fence.ledger.push((item.kind, version, shape.fingerprint));
                }
            }
        }
        let mut all = entries;
        // Rare (the first write of a kind and version), so cloning is fine.
        all.extend(items.iter().cloned().map(|mut item| {
            if let CausationRef::PriorItem(p) = item.options.causation {
                item.options.causation = CausationRef::PriorItem(p + skip);
            }
            item
        }));
        let mut all_digests = Vec::new();
        if !digests.is_empty() {
            all_digests = vec![None; skip];
            all_digests.extend(digests);
        }
        match self.write_items(&all, &all_digests, &[], true, fenced) {
            Receipts::Many(mut receipts) => {
                receipts.drain(..skip);
                Receipts::Many(receipts)
            }
            one => one,
        }
    }

    /// The correlation id of a stored event (its own id when it is a root or unknown).
    fn correlation_of(&self, event_id: u128) -> u128 {
        let index = locking::read(&self.shared.index);
        index
            .position_of(event_id)
            .map_or(event_id, |p| index.entry(p).correlation_id.get())
    }

    /// Resolves the item's coordinate (`ids` when validation found them),
    /// writing its name frame if this segment has not defined it yet.
    /// Returns (coordinate id, entity id).
    fn coord_id(&mut self, item: &BatchAppendItem, ids: Option<(u32, u32)>) -> (u32, u32) {
        let c = &item.coordinate;
        let (coord, entity) = ids.unwrap_or_else(|| names::Names::resolve(&self.shared.index, c));
        if self.names.define_in(coord, self.segment_id) {
            frame::put_name(&mut self.buf, coord, c.entity(), c.scope());
        }
        (coord, entity)
    }

    /// Encodes `items` into the group buffer (between batch markers when
    /// `batch` holds more than one), with what validation learned about each
    /// in `known` (if anything). A single item needs no vector at all.
    fn write_items(
        &mut self,
        items: &[BatchAppendItem],
        digests: &[Option<[u8; 16]>],
        known: &[Known],
        batch: bool,
        fenced: bool,
    ) -> Receipts {
        let now = self.config.clock.now_us();
        if let [item] = items {
            let stage = Stage {
                now,
                marked: false,
                fenced,
            };
            let digest = digests.first().and_then(Option::as_ref);
            let ids = known.first().and_then(|k| k.ids);
            // A single item's tip is the one validation loaded.
            let tip = known.first().map(|k| k.tip);
            let prior = Prior::default();
            let (receipt, _) = self.write_item(item, (ids, tip), digest, &prior, &stage);
            return Receipts::One(receipt);
        }
        let stage = Stage {
            now,
            marked: batch,
            fenced,
        };
        let batch_id = self.next_batch_id;
        if batch {
            self.next_batch_id += 1;
            frame::put_marker(
                &mut self.buf,
                TYPE_BATCH_BEGIN,
                batch_id,
                Some(items.len() as u64),
            );
        }
        let mut prior = Prior {
            receipts: Vec::with_capacity(items.len()),
            correlations: Vec::with_capacity(items.len()),
        };
        for (i, item) in items.iter().enumerate() {
            let digest = digests.get(i).and_then(Option::as_ref);
            let ids = known.get(i).and_then(|k| k.ids);
            // Tips run on from item to item: the writer's are current.
            let (receipt, correlation) = self.write_item(item, (ids, None), digest, &prior, &stage);
            prior.receipts.push(receipt);
            prior.correlations.push(correlation);
        }
        if batch {
            frame::put_marker(&mut self.buf, TYPE_BATCH_COMMIT, batch_id, None);
        }
        Receipts::Many(prior.receipts)
    }

    /// The (correlation, causation) of a new event `event_id`.
    fn links(
        &self,
        causation: CausationRef,
        event_id: u128,
        prior: &Prior,
    ) -> (u128, Option<u128>) {
        match causation {
            CausationRef::None => (event_id, None),
            CausationRef::Absolute(cause) => (self.correlation_of(cause.get()), Some(cause.get())),
            CausationRef::PriorItem(p) => (
                prior.correlations[p],
                Some(prior.receipts[p].event_id.get()),
            ),
            CausationRef::Reaction {
                correlation,
                causation,
            } => (correlation.get(), Some(causation.get())),
        }
    }

    /// Encodes one event frame and stages its publication; returns its receipt
    /// and correlation id.
    /// `found` holds the coordinate's ids and the entity's tip when the
    /// caller knows them.
    fn write_item(
        &mut self,
        item: &BatchAppendItem,
        found: (Option<(u32, u32)>, Option<Option<Tip>>),
        digest: Option<&[u8; 16]>,
        prior: &Prior,
        stage: &Stage,
    ) -> (AppendReceipt, u128) {
        let (ids, tip) = found;
        let (coord_id, entity) = self.coord_id(item, ids);
        let event_id = self.clock.next_id_at(stage.now);
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let (correlation_id, causation_id) = self.links(item.options.causation, event_id, prior);
        let prev = tip.unwrap_or_else(|| self.names.tip(entity));
        let prev_hash = prev.map_or([0; 32], |t| t.hash);
        let out = EventOut {
            bits: stage.bits(item),
            kind: item.kind,
            schema_version: item.payload.schema_version,
            sequence,
            event_id,
            coord_id,
            entity_sequence: prev.map_or(0, |t| t.sequence) + 1,
            correlation_id,
            causation_id,
            idempotency_key: item.options.idempotency_key.map(IdempotencyKey::get),
            entity: item.coordinate.entity(),
            scope: item.coordinate.scope(),
            payload: &item.payload.bytes,
        };
        let at = LogPosition {
            segment: self.segment_id,
            offset: self.segment_len + self.buf.len() as u64,
        };
        let encoding = self.encoding(entity, out.entity_sequence);
        let (record_bits, hash) = frame::put_event(&mut self.buf, &out, &prev_hash, encoding);
        self.names.set_tip(
            entity,
            Some(Tip {
                sequence: out.entity_sequence,
                hash,
            }),
        );
        let receipt = self.receipt(item, &out, hash, &prev_hash);
        if let (Some(key), Some(digest)) = (item.options.idempotency_key, digest) {
            let digest = *digest;
            self.keys.insert(key.get(), KeyUse { digest, receipt });
        }
        let record = Record::new(&RecordFields {
            event_id,
            sequence,
            at,
            coord: coord_id,
            entity_sequence: out.entity_sequence,
            kind: item.kind,
            bits: record_bits,
        });
        let link = (correlation_id != event_id || causation_id.is_some()).then_some(Link {
            position: 0,
            correlation_id,
            causation_id,
        });
        self.stage_publication(Pub { record, link }, entity, prev, item, stage.fenced);
        self.unsynced_events += 1;
        (receipt, correlation_id)
    }

    /// The receipt of a just encoded event, signed when the store signs.
    #[cfg_attr(not(feature = "signing"), allow(unused_variables))]
    fn receipt(
        &self,
        item: &BatchAppendItem,
        out: &EventOut<'_>,
        hash: [u8; 32],
        prev_hash: &[u8; 32],
    ) -> AppendReceipt {
        let receipt = AppendReceipt {
            event_id: EventId::new(out.event_id),
            sequence: out.sequence,
            entity_sequence: out.entity_sequence,
            timestamp_us: timestamp_us(out.event_id),
            content_hash: hash,
            signature: None,
        };
        #[cfg(feature = "signing")]
        if let Some(signer) = &self.config.signing_key {
            let message = crate::store::signing::receipt_message(
                &receipt,
                &item.coordinate,
                item.kind,
                prev_hash,
            );
            return AppendReceipt {
                signature: Some(signer.sign(&message)),
                ..receipt
            };
        }
        receipt
    }

    /// Queues an encoded event for publication: with the group, or with the
    /// live fence (which also remembers how to undo it if cancelled).
    fn stage_publication(
        &mut self,
        event: Pub,
        entity: u32,
        prev: Option<Tip>,
        item: &BatchAppendItem,
        fenced: bool,
    ) {
        match (&mut self.fence, fenced) {
            (Some(fence), true) => {
                fence.undo.push((entity, prev));
                if let Some(key) = item.options.idempotency_key {
                    fence.keys.push(key.get());
                }
                fence.publish.push(event);
            }
            _ => self.group.publish.push(event),
        }
    }
}

/// What an append answers: one receipt for a single append, every item's for
/// a batch.
pub(super) enum Receipts {
    One(AppendReceipt),
    Many(Vec<AppendReceipt>),
}

impl Receipts {
    /// The receipt of a single append.
    pub(super) fn into_one(self) -> AppendReceipt {
        match self {
            Receipts::One(receipt) => receipt,
            Receipts::Many(receipts) => match receipts.as_slice() {
                [receipt] => *receipt,
                _ => panic!("a single append produced {} receipts", receipts.len()),
            },
        }
    }

    /// The receipts of a batch.
    pub(super) fn into_many(self) -> Vec<AppendReceipt> {
        match self {
            Receipts::One(receipt) => vec![receipt],
            Receipts::Many(receipts) => receipts,
        }
    }
}

/// The items of a batch written so far (what `CausationRef::PriorItem` refers to).
#[derive(Default)]
struct Prior {
    receipts: Vec<AppendReceipt>,
    correlations: Vec<u128>,
}

/// How the items of one command are staged.
struct Stage {
    /// The clock reading shared by the command's events.
    now: u64,
    /// Between batch markers.
    marked: bool,
    /// Under a visibility fence.
    fenced: bool,
}

impl Stage {
    /// The frame's flag bits for `item`.
    fn bits(&self, item: &BatchAppendItem) -> u8 {
        let mut bits = item.payload.codec as u8;
        if self.marked {
            bits |= bits::BATCH;
        }
        if self.fenced {
            bits |= bits::FENCED;
        }
        if item.system {
            bits |= bits::SYSTEM;
        }
        bits
    }
}

/// The content digest an idempotency key is checked against.
pub(super) fn item_digest(item: &BatchAppendItem) -> [u8; 16] {
    let c = &item.coordinate;
    let p = &item.payload;
    content_digest(
        c.entity(),
        c.scope(),
        item.kind,
        p.codec,
        p.schema_version,
        &p.bytes,
    )
}
