//! What `verify` proves about cut streams. Compaction removes the start of
//! a cut entity's stream, so the entity's first event in the log has no
//! predecessor there; its retention record holds that predecessor's hash.
//! After the scan has checked every chain it can follow, this checks:
//!
//! - each entity whose first event in the log has sequence `s > 1`: some
//!   retention record of the entity has `before >= s` (else the start is
//!   missing: a break); if one has `before == s`, the event's hash is
//!   recomputed from that record's hash (a mismatch is a break). With
//!   `before > s` the event is itself cut (compaction has not reached it
//!   yet) and the next check covers the chain from it. The chain is
//!   followed from the record's hash to the first frame that stores a hash
//!   (`store::log::chain`), which must match; with none after the start, there
//!   is nothing on disk to check the record against.
//! - each retention record whose event `before - 1` is still in the log:
//!   that event's hash equals the record's.
//!
//! Together: the kept part of every chain is proven from its record's hash.

use super::RetentionRecord;
use crate::event::system;
use crate::store::log::chain;
use crate::store::log::frame::Frame;
use crate::store::log::reader::SegmentFiles;
use crate::store::log::recovery::{ChainBreak, Recovered};
use crate::store::StoreError;
use std::collections::HashMap;

/// The first break among cut streams' starts and records (see the module
/// docs), if any.
pub(crate) fn check(
    rec: &Recovered,
    files: &SegmentFiles,
) -> Result<Option<ChainBreak>, StoreError> {
    let index = &rec.index;
    let mut records: HashMap<String, Vec<([u8; 32], u64, ChainBreak)>> = HashMap::new();
    for pos in index.kind_positions(system::RETENTION) {
        let r = index.record(pos);
        let at = r.location();
        let parsed = files.with_frame(at, |frame| match frame {
            Frame::Event(ev) => Some(RetentionRecord::parse(ev.payload, at)),
            _ => None,
        })?;
        let Some(record) = parsed.transpose()? else {
            continue;
        };
        let here = ChainBreak {
            at,
            event_id: r.event_id(),
            sequence_gap: false,
        };
        let hash = record.hash().unwrap_or([0; 32]);
        records
            .entry(record.entity)
            .or_default()
            .push((hash, record.before, here));
    }
    let mut breaks = Vec::new();
    for start in &rec.chain_starts {
        let gap = ChainBreak {
            at: start.at,
            event_id: start.event_id,
            sequence_gap: true,
        };
        let cuts = records.get(&start.entity).map_or(&[][..], Vec::as_slice);
        if !cuts.iter().any(|(_, before, _)| *before >= start.sequence) {
            breaks.push(gap);
            continue;
        }
        let Some((hash, _, _)) = cuts.iter().find(|(_, before, _)| *before == start.sequence)
        else {
            continue;
        };
        let Some(entity) = index.entity_id(&start.entity) else {
            continue;
        };
        let i = chain::list_index(index, entity, start.sequence);
        if chain::walk_to_stored(index, files, entity, i, *hash)? == Some(false) {
            breaks.push(ChainBreak {
                sequence_gap: false,
                ..gap
            });
        }
    }
    for (entity, cuts) in &records {
        for (hash, before, here) in cuts {
            let Some(id) = index.entity_id(entity) else {
                continue;
            };
            let Some(found) = chain::hash_of_sequence(index, files, id, before - 1)? else {
                continue;
            };
            if found != *hash {
                breaks.push(*here);
            }
        }
    }
    Ok(breaks.into_iter().min_by_key(|b| b.at))
}
