//! Hash chains during a scan that checks them (`Store::verify`): each
//! entity's tip as the scan reaches it, by entity id. Other scans keep none:
//! the writer finds a tip from the entity's last event in the index.
//!
//! Each event's hash is computed from its predecessor's and checked where
//! the frame stores one (`store::log::chain`). A chain whose start is not known
//! (below) has an unknown hash until a frame that stores one.
//!
//! An entity whose first event in the log has a sequence above 1 lost its
//! start to a retention cut and compaction: its predecessor's hash is in a
//! retention record later in the log, so such an event is kept as a
//! [`ChainStart`] for the store to check against the records after the scan.

use crate::store::error::LogPosition;
use crate::store::log::frame::EventFrame;

/// An entity's first event in the log, when its sequence is above 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStart {
    /// Where its frame is.
    pub at: LogPosition,
    /// The event.
    pub event_id: u128,
    /// Its entity.
    pub entity: String,
    /// Its entity sequence.
    pub sequence: u64,
    entity_id: u32,
}

/// An entity's last event as the scan reached it: its entity sequence and,
/// when known, its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChainTip {
    sequence: u64,
    hash: Option<[u8; 32]>,
}

/// Chain tips by entity id.
#[derive(Debug, Default)]
pub(super) struct Tips {
    tips: Vec<Option<ChainTip>>,
    pub(super) starts: Vec<ChainStart>,
}

impl Tips {
    /// Sets the tip of entity `entity` (a rollback to none forgets the
    /// chain start it had).
    pub(super) fn set(&mut self, entity: u32, tip: Option<ChainTip>) {
        let i = entity as usize;
        if self.tips.len() <= i {
            self.tips.resize(i + 1, None);
        }
        self.tips[i] = tip;
        if tip.is_none() {
            self.starts.retain(|s| s.entity_id != entity);
        }
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
        at: LogPosition,
    ) -> (Option<ChainTip>, Option<bool>) {
        let prev = self.tips.get(entity as usize).copied().flatten();
        if prev.is_none() && ev.entity_sequence > 1 {
            let tip = ChainTip {
                sequence: ev.entity_sequence,
                hash: ev.hash(),
            };
            self.set(entity, Some(tip));
            self.starts.push(ChainStart {
                at,
                event_id: ev.event_id,
                entity: names.0.to_owned(),
                sequence: ev.entity_sequence,
                entity_id: entity,
            });
            return (prev, None);
        }
        // An unknown predecessor hash leaves this one unknown too, unless
        // the frame stores it.
        let expected = match prev {
            None => Some(ev.chain_hash(&[0; 32], names.0, names.1)),
            Some(ChainTip { hash, .. }) => hash.map(|h| ev.chain_hash(&h, names.0, names.1)),
        };
        let sequence_gap = ev.entity_sequence != prev.map_or(0, |t| t.sequence) + 1;
        let mismatch = matches!((expected, ev.hash()), (Some(e), Some(s)) if e != s);
        let broken = (mismatch || sequence_gap).then_some(sequence_gap);
        let tip = ChainTip {
            sequence: ev.entity_sequence,
            hash: ev.hash().or(expected),
        };
        self.set(entity, Some(tip));
        (prev, broken)
    }
}
