//! Replication, the API half: a primary reads its committed events with
//! every field their frames hold ([`Store::replicated_events`]), and a
//! replica (a store opened with [`Store::open_replica`]) writes them with the
//! primary's ids, sequences, coordinate ids and hashes
//! ([`Store::apply_replicated`]). The transport between the two is the
//! caller's (`batpak-nats` uses a NATS JetStream stream). The writer's half,
//! which checks each event against the replica's chain before writing it,
//! is `writer::replicate`.
//!
//! A replica serves every read, projection, subscription and cursor like any
//! store, and refuses user writes with [`StoreError::Replica`]. It is
//! promoted by closing it and opening its directory with [`Store::open`]:
//! its log is an ordinary log.

use super::log::chain;
use super::log::frame::EventFrame;
use super::read::read_event;
use super::writer::Command;
use super::CorruptionKind;
use super::StdIo;
use super::{locking, ReadWrite, ReplicatedEvent, ReplicatedName, Store, StoreConfig, StoreError};
use crate::event::IdempotencyKey;
use std::collections::HashMap;
use std::sync::Arc;

impl Store<ReadWrite> {
    /// Opens (creating if needed) the store in `config.data_dir` as a replica
    /// of another store: like [`Store::open`], but its writer takes only
    /// [`Store::apply_replicated`]; appends, batches and fences are refused
    /// with [`StoreError::Replica`]. Reads, projections, subscriptions,
    /// cursors, `verify`, backups and compaction work as on any store.
    pub fn open_replica(config: StoreConfig) -> Result<Self, StoreError> {
        Self::start(config, Arc::new(StdIo), true)
    }

    /// Writes a primary's committed events into this replica, in the
    /// primary's commit order, after defining the coordinates `names` lists
    /// (see [`Store::coordinate_names`]). The call is checked whole first:
    /// every event must follow the replica's last one and its entity's chain
    /// (same sequences, same hash), else nothing is written and the answer is
    /// [`StoreError::ReplicaRefused`]. Several events become visible
    /// together, also after a crash. Returns once they are visible (and
    /// durable, per the sync cadence).
    pub fn apply_replicated(
        &self,
        names: Vec<ReplicatedName>,
        events: Vec<ReplicatedEvent>,
    ) -> Result<(), StoreError> {
        if names.is_empty() && events.is_empty() {
            return Ok(());
        }
        let cuts = events
            .iter()
            .any(|e| e.header.kind == crate::event::system::RETENTION);
        self.control(|reply| Command::Replicate {
            names,
            events,
            reply,
        })?;
        if cuts {
            // The primary cut streams: take the cut events out here too.
            super::retention::load(&self.shared.index, &self.shared.files)?;
        }
        Ok(())
    }
}

impl<M> Store<M> {
    /// Up to `max` visible events with a global sequence above
    /// `after_sequence`, in commit order, with every field their frames hold:
    /// what a replica needs to write the same frames. System events (the
    /// schema ledger's among them) are included.
    pub fn replicated_events(
        &self,
        after_sequence: u64,
        max: usize,
    ) -> Result<Vec<ReplicatedEvent>, StoreError> {
        let wanted: Vec<_> = {
            let index = locking::read(&self.shared.index);
            let start = index.count_through(after_sequence);
            (start..index.len() as u32)
                .take(max)
                .map(|p| {
                    let r = index.record(p);
                    let (entity, scope) = index.names_of(r.coord());
                    let entity_id = index.entity_of(r.coord());
                    let at = (r.location(), r.event_id());
                    (
                        at,
                        entity_id,
                        r.entity_sequence(),
                        entity.to_owned(),
                        scope.to_owned(),
                    )
                })
                .collect()
        };
        // Hashes are chained along the way, per entity; an entity's first
        // event here is found by a walk (`store::log::chain`) unless its frame
        // stores its hash or it starts its chain.
        let mut tips: HashMap<u32, (u64, [u8; 32])> = HashMap::new();
        let mut out = Vec::with_capacity(wanted.len());
        for ((at, event_id), entity_id, sequence, entity, scope) in wanted {
            let prev = match tips.get(&entity_id) {
                _ if sequence == 1 => Some([0; 32]),
                Some((s, hash)) if s + 1 == sequence => Some(*hash),
                _ => None,
            };
            let (mut event, hash) =
                read_event(&self.shared, at, event_id, |ev: &EventFrame<'_>| {
                    let hash = ev
                        .hash()
                        .or_else(|| prev.map(|p| ev.chain_hash(&p, &entity, &scope)));
                    let event = ReplicatedEvent {
                        header: ev.header(),
                        content_hash: hash.unwrap_or([0; 32]),
                        coordinate_id: ev.coord_id,
                        entity: entity.clone(),
                        scope: scope.clone(),
                        idempotency_key: ev.idempotency_key.map(IdempotencyKey::new),
                        payload: ev.payload.to_vec(),
                    };
                    (event, hash)
                })?;
            event.content_hash = match hash {
                Some(hash) => hash,
                None => {
                    let index = locking::read(&self.shared.index);
                    chain::hash_of_sequence(&index, &self.shared.files, entity_id, sequence)?
                        .ok_or(StoreError::Corrupt {
                            at,
                            kind: CorruptionKind::BadBody,
                        })?
                }
            };
            tips.insert(entity_id, (sequence, event.content_hash));
            out.push(event);
        }
        Ok(out)
    }

    /// The names of coordinates `ids` (those the store knows): for a
    /// replication transport that sees a coordinate id skipped (first used
    /// by a cancelled fence) and must hand it to the replica.
    pub fn coordinate_names(&self, ids: std::ops::Range<u32>) -> Vec<ReplicatedName> {
        let index = locking::read(&self.shared.index);
        let end = ids.end.min(index.coord_count());
        (ids.start..end)
            .map(|id| {
                let (entity, scope) = index.names_of(id);
                ReplicatedName {
                    coordinate_id: id,
                    entity: entity.to_owned(),
                    scope: scope.to_owned(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
