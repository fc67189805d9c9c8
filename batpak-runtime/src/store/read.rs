//! The read API shared by read-write and read-only stores: point reads, streams,
//! queries over the index, the frontier, statistics, diagnostics and `verify`.

use super::frontier::Watermark;
use super::index::{Index, IndexEntry};
use super::locking;
use super::log::frame::EventFrame;
use super::log::io::StdIo;
use super::log::quarantine::{self, QuarantinedCut};
use super::log::reader::SegmentFiles;
use super::log::recovery::{self, ChainBreak, RecoveryReport, TruncatedTail};
use super::log::segment;
use super::replay::{JsonValueInput, ReplayInput, StoredPayload};
use super::writer::shared::Shared;
use super::{CorruptionKind, DecodeError, Frontier, LogPosition, Store, StoreError};
use crate::coordinate::Region;
use crate::event::{Codec, CorrelationId, Event, EventHeader, EventId, EventKind};
use std::time::Duration;

/// What `verify` checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Segment files read.
    pub segments: usize,
    /// Frames whose CRC was checked.
    pub frames: u64,
    /// Visible events whose chain was checked.
    pub events: u64,
    /// The first event whose hash or entity sequence does not follow its predecessor.
    pub first_break: Option<ChainBreak>,
    /// A torn tail seen but not repaired (a read-only or concurrent verify).
    pub torn_tail: Option<LogPosition>,
    /// What the next read-write open would cut at that torn tail, and the
    /// batches and fences the cut would leave unfinished.
    pub pending_cut: Option<TruncatedTail>,
    /// Bytes earlier repairs cut and kept in `quarantine/`, waiting for an
    /// operator's review (who removes the files once done).
    pub quarantined: Vec<QuarantinedCut>,
}

impl VerifyReport {
    /// Whether every frame and chain checked out, no torn tail waits for a
    /// cut and no earlier cut waits in the quarantine.
    pub fn is_clean(&self) -> bool {
        self.first_break.is_none() && self.pending_cut.is_none() && self.quarantined.is_empty()
    }
}

/// Sizes of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Visible events, the library's system events included.
    pub events: u64,
    /// Of those, the library's own system events (schema ledger, denials,
    /// bypasses).
    pub system_events: u64,
    /// Entities with at least one name in the index.
    pub entities: u64,
    /// Segment files.
    pub segments: u64,
    /// Bytes of all segment files, including the space an open store with
    /// mapped appends reserves past its last frame (up to 4 MiB; cut at
    /// close).
    pub segment_bytes: u64,
    /// Entities whose stream a retention cut shortened (tombstoned ones
    /// included).
    pub truncated_entities: u64,
    /// Of those, the tombstoned ones.
    pub tombstoned_entities: u64,
    /// Retention policies `compact` applies: those recorded in the log and
    /// those of `StoreConfig`.
    pub retention_policies: u64,
}

/// What the store knows about its own health.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    /// What the last open found and repaired.
    pub recovery: RecoveryReport,
    /// The watermarks now.
    pub frontier: Frontier,
    /// Whether the writer thread has stopped (closed, failed or panicked).
    pub writer_stopped: bool,
    /// Where a read-only store reads on from at its next refresh (`None` in
    /// a read-write store).
    pub follow_position: Option<LogPosition>,
    /// The last error of a read-only store's background refresh, if the
    /// refresh after it has not succeeded yet.
    pub follow_error: Option<String>,
    /// Whether the index's part mapped from the snapshot matched its stored
    /// checksums so far (`Intact` also without a snapshot), was rebuilt from
    /// the log after a block did not, or could not be rebuilt.
    pub index_base: super::index::BaseState,
}

/// Runs `f` on the frame of event `event_id`, which its index entry placed
/// at `at`, checked and parsed once. When the frame there is not the event
/// (compaction moved it), the index is asked where it lives now, once. The
/// index of a read-only store cannot learn that from the writer, which lives
/// in another process: it first finds the segment's frames again
/// ([`SegmentFiles::relocate`](super::log::reader::SegmentFiles::relocate)).
pub(crate) fn read_event<R>(
    shared: &Shared,
    at: LogPosition,
    event_id: u128,
    mut f: impl FnMut(&EventFrame<'_>) -> R,
) -> Result<R, StoreError> {
    let first = shared.files.with_event(at, event_id, &mut f);
    if let Ok(Some(found)) = first {
        return Ok(found);
    }
    let located = || {
        let index = locking::read(&shared.index);
        index
            .position_of(event_id)
            .map(|p| index.record(p).location())
    };
    if shared.read_only {
        let segment = located().unwrap_or(at).segment;
        shared.files.relocate(segment, &shared.index)?;
    }
    let moved = |now: LogPosition| StoreError::Corrupt {
        at: now,
        kind: CorruptionKind::BadBody,
    };
    match located() {
        Some(now) if now != at || shared.read_only => {
            shared.files.with_event(now, event_id, f)?.ok_or(moved(now))
        }
        _ => first?.ok_or(moved(at)),
    }
}

impl<M> Store<M> {
    fn index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        locking::read(&self.shared.index)
    }

    /// The chained hash of the visible event with this id: the
    /// `content_hash` its [`AppendReceipt`](super::AppendReceipt) carried,
    /// `None` for an event the store does not show. It is computed from the
    /// log (most frames do not store it, docs/format.md): from the nearest
    /// frame that does, at most 63 events of the same entity back, so a
    /// call costs up to 64 frame reads and hashes.
    ///
    /// ```
    /// # use batpak_runtime::prelude::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(StoreConfig::new(dir.path()))?;
    /// let coordinate = Coordinate::new("account-1", "bank")?;
    /// let kind = EventKind::custom(1, 1);
    /// let receipt = store.append(&coordinate, kind, &"opened")?;
    /// assert_eq!(store.content_hash(receipt.event_id)?, Some(receipt.content_hash));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn content_hash(
        &self,
        event_id: impl Into<EventId>,
    ) -> Result<Option<[u8; 32]>, StoreError> {
        let index = self.index();
        let Some(pos) = index.position_of(event_id.into().get()) else {
            return Ok(None);
        };
        let record = index.record(pos);
        let entity = index.entity_of(record.coord());
        let sequence = record.entity_sequence();
        super::log::chain::hash_of_sequence(&index, &self.shared.files, entity, sequence)
    }

    /// The event with this id decoded to JSON, if it is visible.
    pub fn get(
        &self,
        event_id: impl Into<EventId>,
    ) -> Result<Option<Event<serde_json::Value>>, StoreError> {
        self.get_as::<JsonValueInput>(event_id)
    }

    /// The event with this id, its payload decoded by replay input `I`.
    pub fn get_as<I: ReplayInput>(
        &self,
        event_id: impl Into<EventId>,
    ) -> Result<Option<Event<I::Payload>>, StoreError> {
        let entry = {
            let index = self.index();
            match index.position_of(event_id.into().get()) {
                Some(p) => index.entry(p),
                None => return Ok(None),
            }
        };
        self.read_entry::<I>(&entry).map(Some)
    }

    /// Reads and decodes the event an index entry points at.
    pub fn read_entry<I: ReplayInput>(
        &self,
        entry: &IndexEntry,
    ) -> Result<Event<I::Payload>, StoreError> {
        for family in I::family_checks() {
            family.run(&self.shared.schemas, Some(entry.kind))?;
        }
        let read = |ev: &EventFrame<'_>| self.decode_frame::<I>(ev);
        let (header, payload) = read_event(&self.shared, entry.frame, entry.event_id.get(), read)?;
        let payload = payload.map_err(|e| e.at_event(header.event_id))?;
        Ok(Event {
            header,
            coordinate: entry.coordinate.clone(),
            payload,
        })
    }

    /// Decodes an event frame's header, and its payload with `I`.
    fn decode_frame<I: ReplayInput>(
        &self,
        ev: &EventFrame<'_>,
    ) -> (EventHeader, Result<I::Payload, DecodeError>) {
        let header = ev.header();
        let shape = match header.codec {
            Codec::Postcard if I::USES_SHAPES => {
                self.shared.schemas.shape(ev.kind, ev.schema_version)
            }
            _ => None,
        };
        let opened = super::personal::open_payload(
            &self.shared.keys,
            shape.as_deref(),
            header.codec,
            ev.kind,
            ev.payload,
        );
        let payload = opened.and_then(|opened| {
            I::decode(StoredPayload {
                kind: ev.kind,
                schema_version: ev.schema_version,
                codec: header.codec,
                bytes: opened.as_deref().unwrap_or(ev.payload),
                shape: shape.as_deref(),
            })
        });
        (header, payload)
    }

    /// Every visible event of an entity, in order.
    pub fn stream(&self, entity: &str) -> Vec<IndexEntry> {
        let index = self.index();
        index.entries(index.entity_positions(entity).iter())
    }

    /// Every visible event of a scope, in commit order.
    pub fn by_scope(&self, scope: &str) -> Vec<IndexEntry> {
        let index = self.index();
        let positions = index.scope_positions(scope);
        index.entries(positions)
    }

    /// Every visible event of a kind, in commit order.
    pub fn by_fact(&self, kind: EventKind) -> Vec<IndexEntry> {
        let index = self.index();
        let positions = index.kind_positions(kind);
        index.entries(positions)
    }

    /// Every visible event in a region, in commit order.
    pub fn query(&self, region: &Region) -> Vec<IndexEntry> {
        let index = self.index();
        let positions = index.region_positions(region);
        index.entries(positions)
    }

    /// Every visible event of a causal tree (root first), in commit order.
    pub fn correlated(&self, correlation_id: impl Into<CorrelationId>) -> Vec<IndexEntry> {
        let index = self.index();
        let positions = index.correlation_positions(correlation_id.into().get());
        index.entries(positions)
    }

    /// The chain from an event back to the root of its causal tree, following
    /// causation ids (the event first, the root last), at most `limit` entries.
    /// Empty when the event is not visible.
    pub fn walk_ancestors(&self, event_id: impl Into<EventId>, limit: usize) -> Vec<IndexEntry> {
        let index = self.index();
        match index.position_of(event_id.into().get()) {
            Some(p) => {
                let chain = index.ancestors(p, limit);
                index.entries(chain)
            }
            None => Vec::new(),
        }
    }

    /// Every event caused directly or transitively by `event_id`, in commit
    /// order, at most `limit`.
    pub fn descendants(&self, event_id: impl Into<EventId>, limit: usize) -> Vec<IndexEntry> {
        let index = self.index();
        let positions = index.descendants(event_id.into().get(), limit);
        index.entries(positions)
    }

    /// The entity sequence of the entity's last visible event (its first
    /// event is 1), or 0 when it has none: exactly what
    /// [`AppendOptions::with_cas`](super::AppendOptions::with_cas) expects for
    /// the next append to follow it. Answered from the index, without
    /// building the stream.
    pub fn entity_sequence(&self, entity: &str) -> u64 {
        self.index().entity_tip(entity)
    }

    /// A number that grows whenever the entity gains a visible event; `None` for
    /// an entity with no visible events.
    pub fn entity_generation(&self, entity: &str) -> Option<u64> {
        self.index()
            .entity_len(entity)
            .filter(|&n| n > 0)
            .map(|n| n as u64)
    }

    /// Every (kind, version) the log's schema ledger describes, with its shape.
    pub fn schema_ledger(&self) -> Vec<(EventKind, u16, crate::schema::KnownShape)> {
        self.shared
            .schemas
            .logged_entries()
            .into_iter()
            .map(|(k, v, s)| (k, v, (*s).clone()))
            .collect()
    }

    /// A lossy push subscription to `region`; see
    /// [`Subscription`](super::delivery::subscription::Subscription) for what it may lose.
    pub fn subscribe_lossy(&self, region: &Region) -> super::delivery::subscription::Subscription {
        let (rx, dropped) = self
            .shared
            .subscribers
            .add(region.clone(), self.shared.config.subscription_capacity);
        super::delivery::subscription::Subscription::new(rx, dropped)
    }

    /// The watermarks now.
    pub fn frontier(&self) -> Frontier {
        self.shared.frontier.get()
    }

    /// Waits until global sequence `point` reaches watermark `mark`, at most
    /// `timeout`. Waiting for `Durable` asks the writer to sync if needed.
    pub fn wait_for(
        &self,
        mark: Watermark,
        point: u64,
        timeout: Duration,
    ) -> Result<Frontier, StoreError> {
        if mark == Watermark::Durable && self.frontier().durable < point {
            if let Some(tx) = &self.tx {
                // Nobody waits for the sync's own answer: the frontier says when.
                let (reply, _rx) = flume::bounded(1);
                let _ = tx.send(
                    super::writer::Command::Sync { reply },
                    Duration::ZERO,
                    false,
                );
            }
        }
        self.shared.frontier.wait(mark, point, timeout)
    }

    /// Counts of events, entities, segments and bytes.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let (events, system_events, entities, truncated, tombstoned) = {
            let index = self.index();
            let system = index.system_event_count();
            let floors = || index.floors().filter(|(_, f)| f.before > 1 || f.tombstone);
            (
                index.len() as u64,
                system as u64,
                index.entity_count() as u64,
                floors().count() as u64,
                floors().filter(|(_, f)| f.tombstone).count() as u64,
            )
        };
        let dir = &self.shared.config.data_dir;
        let ids = segment::list_segments(dir)?;
        let mut bytes = 0;
        for id in &ids {
            let path = segment::segment_path(dir, *id);
            bytes += self
                .shared
                .io
                .len(&path)
                .map_err(|e| StoreError::io(super::IoOp::Read, &path, e))?;
        }
        Ok(StoreStats {
            events,
            system_events,
            entities,
            segments: ids.len() as u64,
            segment_bytes: bytes,
            truncated_entities: truncated,
            tombstoned_entities: tombstoned,
            retention_policies: self.retention_policies()?.len() as u64,
        })
    }

    /// Recovery report, watermarks and writer state.
    pub fn diagnostics(&self) -> Diagnostics {
        Diagnostics {
            recovery: locking::lock(&self.shared.report).clone(),
            frontier: self.frontier(),
            writer_stopped: self.shared.frontier.is_writer_stopped(),
            follow_position: locking::lock(&self.shared.follower)
                .as_ref()
                .map(|f| f.position()),
            follow_error: locking::lock(&self.shared.follow_error).clone(),
            index_base: self.index().base_state(),
        }
    }

    /// Reads every segment, checks every frame's CRC and recomputes every entity's
    /// hash chain. A corrupt frame is an error naming its position; a broken chain
    /// is reported as the first [`ChainBreak`], a torn tail as the cut the next
    /// read-write open would make, and earlier cuts kept in the quarantine
    /// are listed: any of them makes the report not clean.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let config = &self.shared.config;
        let rec = recovery::scan(
            &config.data_dir,
            recovery::ScanOptions {
                repair: false,
                check_chains: true,
                topology: super::IndexTopology::minimal(),
                salvage: false,
                follow: false,
            },
        )?;
        let files = SegmentFiles::positioned(&config.data_dir);
        let cut_break = super::retention::verify::check(&rec, &files)?;
        let first_break = [rec.chain_break, cut_break]
            .into_iter()
            .flatten()
            .min_by_key(|b| b.at);
        Ok(VerifyReport {
            segments: rec.report.segments,
            frames: rec.report.frames,
            events: rec.report.events,
            first_break,
            torn_tail: rec.report.torn_tail_ignored,
            pending_cut: rec.report.pending_cut,
            quarantined: quarantine::list(&StdIo, &config.data_dir)?,
        })
    }
}

#[cfg(feature = "signing")]
impl<M> Store<M> {
    /// Checks a receipt against the stored event and this store's verifying
    /// key: the event must exist with the receipt's sequence and hash, and the
    /// signature must cover its coordinate, kind and previous hash.
    pub fn verify_receipt(&self, receipt: &super::AppendReceipt) -> Result<bool, StoreError> {
        let Some(signer) = &self.config().signing_key else {
            return Ok(false);
        };
        let Some(event) = self.get_as::<super::replay::RawBytesInput>(receipt.event_id)? else {
            return Ok(false);
        };
        if event.header.position.sequence != receipt.sequence
            || self.content_hash(receipt.event_id)? != Some(receipt.content_hash)
        {
            return Ok(false);
        }
        let prev = {
            let index = self.index();
            let Some(entity) = index.entity_id(event.coordinate.entity()) else {
                return Ok(false);
            };
            let sequence = event.header.position.entity_sequence;
            super::log::chain::hash_before(&index, &self.shared.files, entity, sequence)?
        };
        Ok(super::verify_receipt(
            receipt,
            &event.coordinate,
            event.header.kind,
            &prev,
            &signer.verifying_key(),
        ))
    }
}
