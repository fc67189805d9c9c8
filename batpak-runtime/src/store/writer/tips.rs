//! Reading chain tips back. The writer keeps the tips of the entities it
//! wrote lately (`names`); before an append it makes sure every entity the
//! append writes to has its tip there, reading it back when needed: the
//! entity's last event in the index gives its sequence, and a walk from it
//! (`store::log::chain`) its hash. The entity's next event then stores its
//! hash, so a tip read back again later walks no further than the events
//! written while it was known. An I/O error or a damaged frame refuses the append
//! before anything of it is written. The same pass notes each item's
//! coordinate ids, so writing the item needs no second lookup by name.

use super::names::Names;
use super::Writer;
use crate::store::error::StoreError;
use crate::store::index::Index;
use crate::store::locking;
use crate::store::log::chain;
use crate::store::log::reader::SegmentFiles;
use crate::store::log::recovery::Tip;
use crate::store::options::BatchAppendItem;
use std::collections::HashMap;

/// What validation learned about an item, for the write that follows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Known {
    /// Its coordinate's id and its entity's id, when the coordinate is defined.
    pub(super) ids: Option<(u32, u32)>,
    /// Its entity's chain tip before the command (`None` without events).
    pub(super) tip: Option<Tip>,
}

impl Known {
    /// Its entity's sequence before the command (0 without events).
    pub(super) fn sequence(&self) -> u64 {
        self.tip.map_or(0, |t| t.sequence)
    }
}

impl Writer {
    /// Loads the tip of every entity `items` append to and pushes what it
    /// learned about each item onto `known`.
    pub(super) fn load_tips(
        &mut self,
        items: &[BatchAppendItem],
        known: &mut Vec<Known>,
    ) -> Result<(), StoreError> {
        let index = locking::read(&self.shared.index);
        // The scopes of the entities new to the store that earlier items of
        // the command named.
        let mut new_entities: HashMap<&str, &str> = HashMap::new();
        for item in items {
            let c = &item.coordinate;
            let ids = index.coord_of(c.entity(), c.scope());
            let entity = ids.map(|(_, e)| e).or_else(|| index.entity_id(c.entity()));
            // One stream per entity name, in one scope: another scope is
            // refused, against the index and earlier items of the command.
            // A known coordinate needs no look at earlier items: one naming
            // its entity in another scope was refused against the index.
            let existing = match (ids, entity) {
                (Some(_), _) => None,
                (None, Some(e)) => index.scope_of_entity(e),
                (None, None) => {
                    let first = *new_entities.entry(c.entity()).or_insert(c.scope());
                    (first != c.scope()).then_some(first)
                }
            };
            if let Some(existing) = existing {
                return Err(StoreError::ScopeMismatch {
                    entity: c.entity().to_owned(),
                    existing: existing.to_owned(),
                    scope: c.scope().to_owned(),
                });
            }
            if let Some(floor) = entity.and_then(|e| index.floor(e)) {
                if floor.tombstone {
                    return Err(StoreError::Tombstoned {
                        entity: c.entity().to_owned(),
                    });
                }
            }
            let tip = match entity {
                Some(e) => load_tip(&index, &self.shared.files, &mut self.names, e)?,
                None => None,
            };
            known.push(Known { ids, tip });
        }
        Ok(())
    }
}

/// The tip of entity `entity` (an id): the one `names` knows, or else the one
/// read back into it from the entity's last record in `index` and that
/// event's frame in `files`; `None` when the entity has no event.
pub(super) fn load_tip(
    index: &Index,
    files: &SegmentFiles,
    names: &mut Names,
    entity: u32,
) -> Result<Option<Tip>, StoreError> {
    if let Some(tip) = names.tip(entity) {
        return Ok(Some(tip));
    }
    let events = index.entity_events(entity);
    let Some(&pos) = events.last() else {
        // A retention cut may have taken every event: the chain and the
        // sequences go on from the last one cut.
        let tip = index.floor(entity).map(|f| Tip {
            sequence: f.before - 1,
            hash: f.hash,
        });
        names.reset_tip(entity, tip);
        return Ok(tip);
    };
    let sequence = index.record(pos).entity_sequence();
    let hash = chain::hash_at(index, files, entity, events.len() - 1)?;
    let tip = Tip { sequence, hash };
    names.reset_tip(entity, Some(tip));
    Ok(Some(tip))
}

#[cfg(test)]
mod tests {
    use crate::coordinate::Coordinate;
    use crate::event::EventKind;
    use crate::store::{AppendOptions, BatchAppendItem, Store, StoreConfig};

    const KIND: EventKind = EventKind::custom(0x3, 1);

    /// More entities than the writer keeps tips of, so most appends read
    /// their tip back: CAS sees every entity's sequence and every chain stays
    /// intact, through cancelled fences, batches and reopens by scan and from
    /// the snapshot.
    #[test]
    fn tips_read_back_keep_sequences_and_chains() {
        let dir = tempfile::tempdir().unwrap();
        let coords: Vec<Coordinate> = (0..40)
            .map(|i| Coordinate::new(format!("e{i}"), "s").unwrap())
            .collect();
        for (round, snapshot) in [false, true, true].into_iter().enumerate() {
            let config = StoreConfig::new(dir.path()).with_enable_mmap_index(snapshot);
            let store = Store::open(config).unwrap();
            assert_eq!(store.diagnostics().recovery.from_snapshot, round == 2);
            let before = 2 * round as u64;
            for c in &coords {
                let cas = AppendOptions::new().with_cas(before);
                let receipt = store.append_with_options(c, KIND, &1, cas).unwrap();
                assert_eq!(receipt.entity_sequence, before + 1);
            }
            let fence = store.begin_visibility_fence().unwrap();
            for c in coords.iter().step_by(3) {
                let _ = fence.submit(c, KIND, &"cancelled").unwrap();
            }
            fence.cancel().unwrap();
            let items = coords
                .iter()
                .rev()
                .map(|c| BatchAppendItem::raw(c, KIND, &2, AppendOptions::new()).unwrap())
                .collect();
            for receipt in store.append_batch(items).unwrap() {
                assert_eq!(receipt.entity_sequence, before + 2);
            }
            assert!(store.verify().unwrap().is_clean());
            store.close().unwrap();
        }
    }

    /// Whether the frame of event `id` stores its hash.
    fn stores_hash(store: &Store, id: crate::event::EventId) -> bool {
        let index = crate::store::locking::read(&store.shared.index);
        let at = index
            .record(index.position_of(id.get()).unwrap())
            .location();
        let files = &store.shared.files;
        files
            .with_event(at, id.get(), |ev| ev.hash().is_some())
            .unwrap()
            .unwrap()
    }

    /// A tip read back from the log makes the entity's next event store its
    /// hash, so the next read-back finds one at once; with its tip known, the
    /// entity's next event stores none.
    #[test]
    fn the_event_after_a_read_back_tip_stores_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let coords: Vec<Coordinate> = (0..40)
            .map(|i| Coordinate::new(format!("e{i}"), "s").unwrap())
            .collect();
        for round in 0..3 {
            for c in &coords {
                store.append(c, KIND, &round).unwrap();
            }
        }
        // Thirty-nine other entities were written since: `e0`'s tip is gone.
        let read_back = store.append(&coords[0], KIND, &"read back").unwrap();
        let known = store.append(&coords[0], KIND, &"known").unwrap();
        assert_eq!(known.entity_sequence, 5);
        assert!(stores_hash(&store, read_back.event_id));
        assert!(!stores_hash(&store, known.event_id));
        assert!(store.verify().unwrap().is_clean());
    }
}
