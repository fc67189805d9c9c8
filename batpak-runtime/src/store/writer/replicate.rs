//! A replica's writes: its primary's committed events, written with the
//! primary's ids, sequences, coordinate ids and hashes. Like an append, a
//! call is checked whole before anything of it is encoded: each event must
//! come after the replica's last (sequence and id), name its coordinate as
//! the primary did, continue its entity's sequence, and its hash must follow
//! the entity's chain as the replica holds it. So a replica whose `verify()`
//! is clean holds the primary's chain, byte for byte in every hashed field.
//!
//! Several events go between batch markers, so a crash of the replica never
//! leaves part of a call visible after recovery. The primary's flag bits are
//! kept as they were (the hash covers them): recovery does not tie the batch
//! and fence bits to markers.

use super::tips::load_tip;
use super::{Done, Pub, Reply, Writer};
use crate::event::id::is_clock_id;
use crate::store::error::{LogPosition, ReplicaProblem, StoreError};
use crate::store::index::{Index, Link, Record, RecordFields, ENTITY_SEQUENCE_MAX};
use crate::store::ledger::{self, LEDGER_KIND};
use crate::store::locking;
use crate::store::log::frame::{self, EventOut, COUNTER_MAX, TYPE_BATCH_BEGIN, TYPE_BATCH_COMMIT};
use crate::store::log::recovery::{content_digest, KeyUse, Tip};
use crate::store::options::{AppendReceipt, ReplicatedEvent, ReplicatedName};
use std::collections::{BTreeMap, HashMap};

use super::append::EVENT_OVERHEAD_BYTES;

impl Writer {
    /// Makes this writer a replica's: user writes are refused from now on.
    pub(crate) fn into_replica(mut self) -> Self {
        self.replica = true;
        self
    }

    /// Checks `events` (and the coordinates `names` defines first) whole,
    /// then writes them; the reply waits for the group.
    pub(super) fn replicate(
        &mut self,
        names: Vec<ReplicatedName>,
        events: Vec<ReplicatedEvent>,
        reply: Done,
    ) {
        let result = self.check_replicated(&names, &events).map(|tips| {
            self.write_replicated(&names, &events, &tips);
        });
        self.group.replies.push(Reply::Done(reply, result));
    }

    /// Every check of a call before anything of it is written; returns each
    /// event's entity tip before it (sequence and hash of the previous one).
    fn check_replicated(
        &mut self,
        names: &[ReplicatedName],
        events: &[ReplicatedEvent],
    ) -> Result<Vec<Option<Tip>>, StoreError> {
        let refuse = |sequence, reason| StoreError::ReplicaRefused { sequence, reason };
        if self.failure.is_some() {
            return Err(self.failure_error());
        }
        if !self.replica {
            return Err(refuse(0, ReplicaProblem::NotAReplica));
        }
        if events.len() > self.config.batch_items_max {
            return Err(StoreError::BatchTooLarge {
                items: events.len(),
                bytes: events.iter().map(|e| e.payload.len()).sum(),
            });
        }
        let index = locking::read(&self.shared.index);
        check_coordinates(&index, names, events)?;
        let mut last_sequence = self.next_sequence - 1;
        let mut last_id = self.clock.last();
        let mut running: HashMap<&str, Option<Tip>> = HashMap::new();
        let mut tips = Vec::with_capacity(events.len());
        let mut scratch = Vec::new();
        for ev in events {
            let h = &ev.header;
            let sequence = h.position.sequence;
            let id = h.event_id.get();
            if sequence <= last_sequence || id <= last_id {
                return Err(refuse(sequence, ReplicaProblem::NotAfter));
            }
            let entity_sequence = h.position.entity_sequence;
            let size = ev.payload.len() + EVENT_OVERHEAD_BYTES;
            if !is_clock_id(id)
                || sequence > COUNTER_MAX
                || entity_sequence > ENTITY_SEQUENCE_MAX
                || size > self.config.frame_max_bytes
            {
                return Err(refuse(sequence, ReplicaProblem::Format));
            }
            let tip = match running.get(ev.entity.as_str()) {
                Some(tip) => *tip,
                None => match index.entity_id(&ev.entity) {
                    Some(e) => load_tip(&index, &self.shared.files, &mut self.names, e)?,
                    None => None,
                },
            };
            if entity_sequence != tip.map_or(0, |t| t.sequence) + 1 {
                return Err(refuse(sequence, ReplicaProblem::EntitySequence));
            }
            let prev_hash = tip.map_or([0; 32], |t| t.hash);
            scratch.clear();
            let full = frame::Encoding::Full;
            let (_, hash) = frame::put_event(&mut scratch, &event_out(ev), &prev_hash, full);
            if hash != ev.content_hash {
                return Err(refuse(sequence, ReplicaProblem::Hash));
            }
            if h.kind == LEDGER_KIND
                && ledger::parse_entry(
                    &ev.payload,
                    LogPosition {
                        segment: 0,
                        offset: 0,
                    },
                )
                .is_err()
            {
                return Err(refuse(sequence, ReplicaProblem::Ledger));
            }
            tips.push(tip);
            running.insert(
                &ev.entity,
                Some(Tip {
                    sequence: entity_sequence,
                    hash,
                }),
            );
            (last_sequence, last_id) = (sequence, id);
        }
        Ok(tips)
    }

    /// Encodes a checked call: names, then events (between batch markers
    /// when there are several), staged for publication with the group.
    fn write_replicated(
        &mut self,
        names: &[ReplicatedName],
        events: &[ReplicatedEvent],
        tips: &[Option<Tip>],
    ) {
        self.maybe_rotate();
        let count = locking::read(&self.shared.index).coord_count();
        let mut new_coords: BTreeMap<u32, (&str, &str)> = BTreeMap::new();
        for n in names.iter().filter(|n| n.coordinate_id >= count) {
            new_coords.insert(n.coordinate_id, (&n.entity, &n.scope));
        }
        for e in events.iter().filter(|e| e.coordinate_id >= count) {
            new_coords.insert(e.coordinate_id, (&e.entity, &e.scope));
        }
        // In id order, as the index and recovery define them.
        for (id, (entity, scope)) in new_coords {
            self.define_replicated(id, entity, scope);
        }
        let batch = (events.len() > 1).then(|| {
            let id = self.next_batch_id;
            self.next_batch_id += 1;
            frame::put_marker(
                &mut self.buf,
                TYPE_BATCH_BEGIN,
                id,
                Some(events.len() as u64),
            );
            id
        });
        for (ev, tip) in events.iter().zip(tips) {
            self.write_replicated_event(ev, *tip);
        }
        if let Some(id) = batch {
            frame::put_marker(&mut self.buf, TYPE_BATCH_COMMIT, id, None);
        }
    }

    /// Defines coordinate `id` in the index (when new) and in the active
    /// segment (when this segment has no name frame for it yet); returns
    /// its entity's id.
    fn define_replicated(&mut self, id: u32, entity: &str, scope: &str) -> u32 {
        let entity_id = {
            let mut index = locking::write(&self.shared.index);
            let defined = index.define_name(id, entity, scope);
            assert!(defined, "a checked coordinate {id} failed to define");
            index.entity_of(id)
        };
        if self.names.define_in(id, self.segment_id) {
            frame::put_name(&mut self.buf, id, entity, scope);
        }
        entity_id
    }

    fn write_replicated_event(&mut self, ev: &ReplicatedEvent, prev: Option<Tip>) {
        let entity = self.define_replicated(ev.coordinate_id, &ev.entity, &ev.scope);
        let out = event_out(ev);
        let at = LogPosition {
            segment: self.segment_id,
            offset: self.segment_len + self.buf.len() as u64,
        };
        let prev_hash = prev.map_or([0; 32], |t| t.hash);
        let encoding = self.encoding(entity, out.entity_sequence);
        let (record_bits, hash) = frame::put_event(&mut self.buf, &out, &prev_hash, encoding);
        assert_eq!(hash, ev.content_hash, "a checked hash changed");
        let tip = Tip {
            sequence: out.entity_sequence,
            hash,
        };
        self.names.set_tip(entity, Some(tip));
        self.next_sequence = out.sequence + 1;
        self.clock = crate::event::id::IdClock::resume_after(out.event_id);
        if let Some(key) = out.idempotency_key {
            let receipt = AppendReceipt {
                event_id: ev.header.event_id,
                sequence: out.sequence,
                entity_sequence: out.entity_sequence,
                timestamp_us: ev.header.timestamp_us,
                content_hash: hash,
                signature: None,
            };
            let h = &ev.header;
            let digest = content_digest(
                &ev.entity,
                &ev.scope,
                h.kind,
                h.codec,
                h.schema_version,
                &ev.payload,
            );
            self.keys.insert(key, KeyUse { digest, receipt });
        }
        if ev.header.kind == LEDGER_KIND {
            if let Ok(entry) = ledger::parse_entry(&ev.payload, at) {
                ledger::record(&self.shared.schemas, entry);
            }
        }
        let record = Record::new(&RecordFields {
            event_id: out.event_id,
            sequence: out.sequence,
            at,
            coord: out.coord_id,
            entity_sequence: out.entity_sequence,
            kind: out.kind,
            bits: record_bits,
        });
        let link =
            (out.correlation_id != out.event_id || out.causation_id.is_some()).then_some(Link {
                position: 0,
                correlation_id: out.correlation_id,
                causation_id: out.causation_id,
            });
        self.group.publish.push(Pub { record, link });
        self.unsynced_events += 1;
    }
}

/// Every coordinate `names` and `events` name is the index's with the same
/// names, or new; and the new ones continue the index's ids without a gap.
fn check_coordinates(
    index: &Index,
    names: &[ReplicatedName],
    events: &[ReplicatedEvent],
) -> Result<(), StoreError> {
    let refuse = |sequence| StoreError::ReplicaRefused {
        sequence,
        reason: ReplicaProblem::Coordinate,
    };
    // Coordinates this call defines, by id, beyond the index's: together
    // they must continue its ids without a gap.
    let count = index.coord_count();
    let mut new_coords: BTreeMap<u32, (&str, &str)> = BTreeMap::new();
    let all = names
        .iter()
        .map(|n| (n.coordinate_id, n.entity.as_str(), n.scope.as_str(), 0))
        .chain(events.iter().map(|e| {
            let sequence = e.header.position.sequence;
            (
                e.coordinate_id,
                e.entity.as_str(),
                e.scope.as_str(),
                sequence,
            )
        }));
    for (id, entity, scope, sequence) in all {
        let known = match id < count {
            true => index.names_of(id) == (entity, scope),
            false => *new_coords.entry(id).or_insert((entity, scope)) == (entity, scope),
        };
        if !known {
            return Err(refuse(sequence));
        }
    }
    let dense = new_coords.keys().zip(count..).all(|(id, want)| *id == want);
    if !dense {
        return Err(refuse(0));
    }
    Ok(())
}

/// The frame fields of a replicated event.
fn event_out(ev: &ReplicatedEvent) -> EventOut<'_> {
    let h = &ev.header;
    EventOut {
        bits: frame::event_bits(h.codec, h.flags),
        kind: h.kind,
        schema_version: h.schema_version,
        sequence: h.position.sequence,
        event_id: h.event_id.get(),
        coord_id: ev.coordinate_id,
        entity_sequence: h.position.entity_sequence,
        correlation_id: h.correlation_id.get(),
        causation_id: h.causation_id.map(|c| c.get()),
        idempotency_key: ev.idempotency_key.map(|k| k.get()),
        entity: &ev.entity,
        scope: &ev.scope,
        payload: &ev.payload,
    }
}
