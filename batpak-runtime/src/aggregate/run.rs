//! `Store::load` and `Store::execute`: the fold with the projection cache, and
//! the decide / gate / append-with-CAS / retry loop.

use super::{Aggregate, ExecuteError, ExecuteOptions, Executed, Loaded};
use crate::coordinate::Coordinate;
use crate::schema::EventFamily;
use crate::store::replay::{ReplayInput, TypedInput};
use crate::store::{
    AppendOptions, AppendReceipt, BatchAppendItem, CacheKey, ReadWrite, Store, StoreError,
    Watermark,
};

/// Keys looked up per round trip when replaying an idempotent command.
const KEYS_PER_LOOKUP: usize = 16;

/// What the projection cache keeps for an aggregate.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cached<A> {
    /// Global sequence of the last event folded into `state`.
    position: u64,
    /// The entity's retention floor when `state` was folded (see
    /// `Store::truncate_before`): a state from before a cut is not served.
    #[serde(default)]
    floor: u64,
    state: A,
}

/// The idempotency key of the `item`-th event of a command keyed `key`:
/// a hash, so the keys of different commands never collide.
fn item_key(key: u128, item: usize) -> u128 {
    let mut h = blake3::Hasher::new();
    h.update(b"batpak execute item key");
    h.update(&key.to_le_bytes());
    h.update(&(item as u64).to_le_bytes());
    let mut out = [0; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    u128::from_le_bytes(out)
}

/// Sleeps a random time below `BACKOFF_BASE` × 2^attempt (capped at
/// `BACKOFF_MAX`): contending callers that all lost the same race retry at
/// different moments instead of colliding again.
fn backoff(attempt: u32) {
    use std::hash::{BuildHasher, Hasher};
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempt.min(16))
        .min(BACKOFF_MAX);
    // A per-call random number without a dependency: std's hasher keys are
    // random per process and thread.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let nanos = ceiling.as_nanos() as u64;
    std::thread::sleep(std::time::Duration::from_nanos(h.finish() % nanos.max(1)));
}

/// The longest a retry waits for the conflicting write to become visible
/// (it never does when it sits in a live visibility fence).
const VISIBLE_WAIT_MAX: std::time::Duration = std::time::Duration::from_millis(50);

/// The first retry's pause is below this.
const BACKOFF_BASE: std::time::Duration = std::time::Duration::from_micros(50);
/// No pause is longer than this.
const BACKOFF_MAX: std::time::Duration = std::time::Duration::from_millis(20);

impl<M> Store<M> {
    /// Folds the entity's events of `A`'s family into `A` and returns it
    /// with the entity sequence it reflects (see [`Loaded`]). With a
    /// projection cache, resumes from the cached state and folds only the
    /// events after it. A family the log's schema ledger refuses is an error.
    pub fn load<A: Aggregate>(&self, entity: &str) -> Result<Loaded<A>, StoreError> {
        self.check_families(TypedInput::<A::Event>::family_checks())?;
        let key = CacheKey {
            projection: std::any::type_name::<A>(),
            version: A::cache_version(),
            entity: entity.to_owned(),
        };
        let floor = self.retention_floor(entity);
        let cached: Option<Cached<A>> = self
            .cached(&key)
            .and_then(|bytes| serde_json::from_slice::<Cached<A>>(&bytes).ok())
            .filter(|c| c.floor == floor);
        let (mut state, after) = cached.map_or((A::default(), 0), |c| (c.state, c.position));
        let (entries, sequence) =
            self.entity_tail(entity, after, <A::Event as EventFamily>::KIND_LIST);
        for (i, entry) in entries.iter().enumerate() {
            self.prefetch_frame_ahead(&entries, i);
            let event = self.read_entry::<TypedInput<A::Event>>(entry)?;
            state.apply(&event.payload);
        }
        if let Some(last) = entries.last() {
            let record = Cached {
                position: last.sequence,
                floor,
                state,
            };
            if let Ok(bytes) = serde_json::to_vec(&record) {
                self.cache_put(&key, &bytes);
            }
            state = record.state;
        }
        Ok(Loaded { state, sequence })
    }
}

impl Store<ReadWrite> {
    /// Executes `command` on the aggregate at `coordinate` with the default
    /// [`ExecuteOptions`]; see [`Store::execute_with`].
    pub fn execute<A: Aggregate>(
        &self,
        coordinate: &Coordinate,
        command: &A::Command,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_with::<A>(coordinate, command, &ExecuteOptions::new())
    }

    /// Loads the aggregate, lets it decide, runs the gates over the decided
    /// events and appends them as one atomic batch that expects the entity
    /// sequence the state was loaded at (compare-and-swap). When another
    /// write to the entity got there first, loads and decides again, up to
    /// `options.retries_max` times. With an idempotency key, a command whose
    /// events were written before returns their receipts (`replayed`) and the
    /// current state, deciding nothing.
    pub fn execute_with<A: Aggregate>(
        &self,
        coordinate: &Coordinate,
        command: &A::Command,
        options: &ExecuteOptions<'_, A::Event>,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.register_family::<A::Event>();
        let entity = coordinate.entity();
        // Commands on one entity from this process queue here; the CAS and
        // the retries below are for writes that took another path.
        let _turn = self.lock_entity(entity);
        for attempt in 0..=options.retries_max {
            if let Some(key) = options.idempotency_key {
                if let Some(receipts) = self.earlier_receipts(key)? {
                    let loaded = self.load::<A>(entity)?;
                    return Ok(Executed {
                        receipts,
                        state: loaded.state,
                        sequence: loaded.sequence,
                        retries: attempt,
                        replayed: true,
                    });
                }
            }
            let loaded = self.load::<A>(entity)?;
            let events = loaded
                .state
                .handle(command)
                .map_err(ExecuteError::Rejected)?;
            if let Some(gates) = options.gates {
                for event in &events {
                    gates.evaluate(event).map_err(ExecuteError::Denied)?;
                }
            }
            match self.append_decided(coordinate, &events, loaded.sequence, options) {
                Ok(receipts) => {
                    let mut state = loaded.state;
                    for event in &events {
                        state.apply(event);
                    }
                    let sequence = receipts
                        .last()
                        .map_or(loaded.sequence, |r| r.entity_sequence);
                    return Ok(Executed {
                        receipts,
                        state,
                        sequence,
                        retries: attempt,
                        replayed: false,
                    });
                }
                // Another writer got there first (or, with a key, wrote this
                // very command): load and decide again, after a pause that
                // spreads contending callers apart.
                Err(StoreError::SequenceConflict { .. })
                | Err(StoreError::IdempotencyConflict { .. }) => {
                    // The write that got there first may not be visible
                    // yet: wait for it, or the next load decides on the
                    // same stale state and conflicts again.
                    let written = self.frontier().written;
                    let _ = self.wait_for(Watermark::Visible, written, VISIBLE_WAIT_MAX);
                    backoff(attempt);
                }
                Err(e) => return Err(ExecuteError::Store(e)),
            }
        }
        Err(ExecuteError::Conflict {
            attempts: options.retries_max + 1,
        })
    }

    /// Appends a command's events as one batch expecting `sequence`.
    fn append_decided<E: EventFamily>(
        &self,
        coordinate: &Coordinate,
        events: &[E],
        sequence: u64,
        options: &ExecuteOptions<'_, E>,
    ) -> Result<Vec<AppendReceipt>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let items = events
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let mut opts = AppendOptions::new().with_cas(sequence + i as u64);
                if let Some(key) = options.idempotency_key {
                    opts = opts.with_idempotency(item_key(key, i));
                }
                BatchAppendItem::typed(coordinate.clone(), event, opts)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.append_batch(items)
    }

    /// The receipts of the command keyed `key`, if its events were written.
    fn earlier_receipts(&self, key: u128) -> Result<Option<Vec<AppendReceipt>>, StoreError> {
        let mut receipts = Vec::new();
        loop {
            let start = receipts.len();
            let keys = (start..start + KEYS_PER_LOOKUP)
                .map(|i| item_key(key, i))
                .collect();
            let found = self.receipts_for_keys(keys)?;
            let more = found.iter().all(Option::is_some);
            receipts.extend(found.into_iter().map_while(|r| r));
            if !more {
                break;
            }
        }
        Ok((!receipts.is_empty()).then_some(receipts))
    }
}
