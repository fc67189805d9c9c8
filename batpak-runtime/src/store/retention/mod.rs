//! Retention: cutting the start of an entity's stream. `truncate_before`
//! and `tombstone` (and the policies of [`policy`], applied by `compact`)
//! record each cut as a library system event ([`system::RETENTION`]) on
//! the entity's retention stream (`$batpak:retention:<entity>`, same scope),
//! then raise the entity's floor in the index, which takes the cut events
//! out of every read at once. Compaction removes their frames later. Opens,
//! read-only refreshes and `verify` read the records back (`load`), so a
//! cut survives crashes and travels with the log. docs/retention.md has the
//! rules.

mod logged;
mod policy;
mod record;
pub(crate) mod verify;

#[cfg(test)]
mod tests;

pub use record::RetentionRecord;

use super::index::{Floor, Index};
use super::log::frame::Frame;
use super::log::reader::SegmentFiles;
use super::write::Route;
use super::{AppendReceipt, BatchAppendItem, ReadWrite, Store, StoreError};
use crate::coordinate::{Coordinate, RESERVED_PREFIX};
use crate::event::system;
use std::sync::RwLock;

/// What a retention cut did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionCut {
    /// The entity.
    pub entity: String,
    /// Its stream now starts at this entity sequence (for a tombstone, one
    /// past its last event).
    pub before: u64,
    /// Whether the entity was tombstoned.
    pub tombstone: bool,
    /// Visible events the cut took out of reads.
    pub events_cut: u64,
    /// The receipt of the retention record (on the entity's retention stream).
    pub receipt: AppendReceipt,
}

/// An entity's retention state (see [`Store::retention`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityRetention {
    /// Events with an entity sequence below this one are cut.
    pub before: u64,
    /// The hash of event `before - 1`, where the kept hash chain starts.
    pub hash_at_cut: [u8; 32],
    /// The entity was tombstoned: no event is served and none is taken.
    pub tombstone: bool,
}

/// One cut to record: the entity's coordinate, its new floor and why.
pub(crate) struct Planned {
    pub coordinate: Coordinate,
    pub floor: Floor,
    pub reason: String,
}

impl<M> Store<M> {
    /// `entity`'s retention state, `None` when nothing of it was ever cut.
    pub fn retention(&self, entity: &str) -> Option<EntityRetention> {
        let index = super::locking::read(&self.shared.index);
        let floor = index.floor(index.entity_id(entity)?)?;
        Some(EntityRetention {
            before: floor.before,
            hash_at_cut: floor.hash,
            tombstone: floor.tombstone,
        })
    }

    /// The entity's floor as projection caches record it (0 without one).
    pub(crate) fn retention_floor(&self, entity: &str) -> u64 {
        self.retention(entity)
            .map_or(0, |r| if r.tombstone { u64::MAX } else { r.before })
    }
}

impl Store<ReadWrite> {
    /// Cuts `entity`'s events with an entity sequence below `before`: reads,
    /// streams, queries, counts, cursors and projections stop serving them
    /// when this returns, and [`compact`](Store::compact) removes their
    /// bytes. The cut is recorded durably (a retention record, synced)
    /// before it takes effect. Sequences are never given out again: the
    /// entity's next event follows its last one, cut or not, and its hash
    /// chain goes on from the record's hash. `before` may be one past the
    /// last event (everything goes, the name stays usable); a `before` at or
    /// below an earlier cut changes nothing and is answered with that cut.
    ///
    /// Errors: `InvalidRetention` for a library name, an unknown entity,
    /// `before` of 0 or 1, or past the last event + 1; `Tombstoned`;
    /// `VisibilityFenceActive` while a fence is live.
    pub fn truncate_before(&self, entity: &str, before: u64) -> Result<RetentionCut, StoreError> {
        let _turn = self.lock_entity(entity);
        let planned = {
            let index = super::locking::read(&self.shared.index);
            let Some(planned) = plan_cut(&index, &self.shared.files, entity, before, false)? else {
                return Err(invalid(entity, "`before` is at or below the entity's cut"));
            };
            planned
        };
        let mut cuts = self.record_cuts(vec![Planned {
            reason: format!("truncate_before {before}"),
            ..planned
        }])?;
        Ok(cuts.remove(0))
    }

    /// Cuts every event of `entity` and refuses every later write to it
    /// (`StoreError::Tombstoned`, on every write path, after reopening too):
    /// a tombstoned name is never used again, so no reader can mistake a new
    /// stream for the old one. Writes racing the tombstone are either
    /// refused or cut with the rest. Recorded durably like
    /// [`truncate_before`](Store::truncate_before).
    pub fn tombstone(&self, entity: &str) -> Result<RetentionCut, StoreError> {
        let _turn = self.lock_entity(entity);
        // Refuse new writes first, then let everything already accepted land,
        // so the record's floor covers every event the entity will have.
        let marked = {
            let mut index = super::locking::write(&self.shared.index);
            let id = index
                .entity_id(entity)
                .filter(|_| !entity.starts_with(RESERVED_PREFIX))
                .ok_or_else(|| invalid(entity, "no such entity"))?;
            if index.floor(id).is_some_and(|f| f.tombstone) {
                return Err(StoreError::Tombstoned {
                    entity: entity.to_owned(),
                });
            }
            let previous = index.floor(id).copied();
            index.mark_tombstone(id);
            (id, previous)
        };
        let result = self.sync().and_then(|()| {
            let index = super::locking::read(&self.shared.index);
            let tip = index.entity_tip(entity);
            plan_cut(&index, &self.shared.files, entity, tip + 1, true)
        });
        let planned = match result {
            Ok(Some(planned)) => planned,
            Ok(None) => {
                // Nothing new to cut (an earlier cut took everything): the
                // tombstone still needs its record.
                let index = super::locking::read(&self.shared.index);
                let floor = index.floor(marked.0).copied().unwrap_or(Floor {
                    before: 1,
                    hash: [0; 32],
                    tombstone: true,
                });
                Planned {
                    coordinate: coordinate_of(&index, marked.0),
                    floor: Floor {
                        tombstone: true,
                        ..floor
                    },
                    reason: String::new(),
                }
            }
            Err(e) => {
                super::locking::write(&self.shared.index).restore_floor(marked.0, marked.1);
                return Err(e);
            }
        };
        let planned = Planned {
            reason: "tombstone".to_owned(),
            ..planned
        };
        match self.record_cuts(vec![planned]) {
            Ok(mut cuts) => Ok(cuts.remove(0)),
            Err(e) => {
                super::locking::write(&self.shared.index).restore_floor(marked.0, marked.1);
                Err(e)
            }
        }
    }

    /// Records `cuts` (one atomic batch of retention records, synced), then
    /// raises the floors and takes the cut events out of the index.
    pub(crate) fn record_cuts(&self, cuts: Vec<Planned>) -> Result<Vec<RetentionCut>, StoreError> {
        let items = cuts
            .iter()
            .map(|c| {
                let record = RetentionRecord::new(c.coordinate.entity(), &c.floor, &c.reason);
                BatchAppendItem::system(c.coordinate.retention(), system::RETENTION, &record)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let receipts = self.append_many(items, Route::Plain)?;
        self.sync()?;
        let mut index = super::locking::write(&self.shared.index);
        // Raise every floor, then rebuild the lists once for all of them.
        let visible_before: Vec<usize> = cuts
            .iter()
            .map(|cut| {
                let entity = cut.coordinate.entity();
                if let Some(id) = index.entity_id(entity) {
                    index.raise_floor(id, cut.floor);
                }
                index.entity_positions(entity).len()
            })
            .collect();
        index.cut_below_floors();
        let out = cuts
            .into_iter()
            .zip(receipts)
            .zip(visible_before)
            .map(|((cut, receipt), before)| {
                let entity = cut.coordinate.entity();
                let events_cut = (before - index.entity_positions(entity).len()) as u64;
                RetentionCut {
                    entity: entity.to_owned(),
                    before: cut.floor.before,
                    tombstone: cut.floor.tombstone,
                    events_cut,
                    receipt,
                }
            })
            .collect();
        Ok(out)
    }
}

fn invalid(entity: &str, reason: &'static str) -> StoreError {
    StoreError::InvalidRetention {
        entity: entity.to_owned(),
        reason,
    }
}

/// The entity's coordinate (its first, and only, scope).
fn coordinate_of(index: &Index, entity: u32) -> Coordinate {
    index.coordinate(index.first_coord_of(entity))
}

/// Plans cutting `entity` below `before`: `None` when its floor is already
/// there. Computes the hash of event `before - 1` (`store::log::chain`).
pub(crate) fn plan_cut(
    index: &Index,
    files: &SegmentFiles,
    entity: &str,
    before: u64,
    tombstone: bool,
) -> Result<Option<Planned>, StoreError> {
    let id = index
        .entity_id(entity)
        .filter(|_| !entity.starts_with(RESERVED_PREFIX))
        .ok_or_else(|| invalid(entity, "no such entity"))?;
    let floor = index.floor(id).copied();
    if floor.is_some_and(|f| f.tombstone) && !tombstone {
        return Err(StoreError::Tombstoned {
            entity: entity.to_owned(),
        });
    }
    let tip = index.entity_tip(entity);
    if before < 2 {
        return Err(invalid(entity, "`before` must be at least 2"));
    }
    if before > tip + 1 {
        return Err(invalid(
            entity,
            "`before` is past the entity's last event + 1",
        ));
    }
    if floor.is_some_and(|f| before <= f.before) {
        return Ok(None);
    }
    let hash = super::log::chain::hash_of_sequence(index, files, id, before - 1)?
        .ok_or_else(|| invalid(entity, "the event before the cut is not in the index"))?;
    Ok(Some(Planned {
        coordinate: coordinate_of(index, id),
        floor: Floor {
            before,
            hash,
            tombstone,
        },
        reason: String::new(),
    }))
}

/// Reads every retention record of the visible log, raises the floors they
/// set and takes the cut events out of the index (after an open's scan or
/// snapshot, and after a read-only refresh that read new records).
pub(crate) fn load(index: &RwLock<Index>, files: &SegmentFiles) -> Result<(), StoreError> {
    let locations: Vec<_> = {
        let index = super::locking::read(index);
        index
            .kind_positions(system::RETENTION)
            .into_iter()
            .map(|p| index.entry(p).frame)
            .collect()
    };
    let mut records = Vec::with_capacity(locations.len());
    for at in locations {
        let record = files.with_frame(at, |frame| match frame {
            Frame::Event(ev) => Some(RetentionRecord::parse(ev.payload, at)),
            _ => None,
        })?;
        if let Some(record) = record {
            records.push(record?);
        }
    }
    let mut index = super::locking::write(index);
    for record in records {
        if let Some(id) = index.entity_id(&record.entity) {
            index.raise_floor(id, record.floor());
        }
    }
    index.cut_below_floors();
    Ok(())
}
