//! Hash chains during a scan that checks them (`Store::verify`): each
//! entity's tip as the scan reaches it, by entity id. Other scans keep none:
//! the writer finds a tip from the entity's last event in the index.

use super::Tip;
use crate::store::log::frame::{chain_hash, EventFrame};

/// Chain tips by entity id.
#[derive(Debug, Default)]
pub(super) struct Tips(Vec<Option<Tip>>);

impl Tips {
    /// Sets the tip of entity `entity`.
    pub(super) fn set(&mut self, entity: u32, tip: Option<Tip>) {
        let i = entity as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        self.0[i] = tip;
    }

    /// Moves entity `entity`'s tip (its names are `names`) to `ev`. Returns
    /// the previous tip, and whether `ev` breaks the chain: `Some(true)` for an
    /// entity sequence that does not follow, `Some(false)` for a hash that
    /// does not.
    pub(super) fn follow(
        &mut self,
        entity: u32,
        names: (&str, &str),
        ev: &EventFrame<'_>,
    ) -> (Option<Tip>, Option<bool>) {
        let prev = self.0.get(entity as usize).copied().flatten();
        let prev_hash = prev.map_or([0; 32], |t| t.hash);
        let expected = chain_hash(&prev_hash, ev.hashed_header, names.0, names.1, ev.payload);
        let sequence_gap = ev.entity_sequence != prev.map_or(0, |t| t.sequence) + 1;
        let broken = (expected != ev.hash || sequence_gap).then_some(sequence_gap);
        let tip = Tip {
            sequence: ev.entity_sequence,
            hash: ev.hash,
        };
        self.set(entity, Some(tip));
        (prev, broken)
    }
}
