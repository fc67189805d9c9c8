//! Reading chain tips back. The writer keeps the tips of the entities it
//! wrote lately (`names`); before an append it makes sure every entity the
//! append writes to has its tip there, reading it back when needed: the
//! entity's last event in the index gives its sequence, and that event's
//! frame gives its hash. An I/O error or a damaged frame refuses the append
//! before anything of it is written.

use super::Writer;
use crate::store::error::{CorruptionKind, StoreError};
use crate::store::locking;
use crate::store::log::recovery::Tip;
use crate::store::options::BatchAppendItem;

impl Writer {
    /// Loads the tip of every entity `items` append to, and pushes onto
    /// `before` each item's entity sequence before the command (0 for an
    /// entity without events).
    pub(super) fn load_tips(
        &mut self,
        items: &[BatchAppendItem],
        before: &mut Vec<u64>,
    ) -> Result<(), StoreError> {
        for item in items {
            let tip = self.load_tip(item.coordinate.entity())?;
            before.push(tip.map_or(0, |t| t.sequence));
        }
        Ok(())
    }

    /// The tip of the entity named `entity`, read back into `names` unless
    /// it is there; `None` when the entity has no event.
    fn load_tip(&mut self, entity: &str) -> Result<Option<Tip>, StoreError> {
        let last = {
            let index = locking::read(&self.shared.index);
            let Some(id) = index.entity_id(entity) else {
                return Ok(None);
            };
            if self.names.has_tip(id) {
                return Ok(self.names.tip(id));
            }
            match index.entity_events(id).last() {
                Some(&pos) => (id, *index.record(pos)),
                None => return Ok(None),
            }
        };
        let (id, record) = last;
        let at = record.location();
        let sequence = record.entity_sequence();
        let hash = self
            .shared
            .files
            .with_event(at, record.event_id(), |ev| {
                (ev.entity_sequence == sequence).then_some(ev.hash)
            })?
            .flatten()
            .ok_or(StoreError::Corrupt {
                at,
                kind: CorruptionKind::BadBody,
            })?;
        let tip = Tip { sequence, hash };
        self.names.set_tip(id, Some(tip));
        Ok(Some(tip))
    }
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
}
