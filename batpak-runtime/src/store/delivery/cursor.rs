//! Cursors: pull every visible event of a region in commit order, exactly once
//! per cursor, never skipping one. Events behind a live fence are not visible yet
//! and get higher sequences than anything visible, so a cursor simply waits for
//! them; a committed fence's events are delivered, a cancelled fence's never are.
//!
//! A cursor worker runs a cursor on its own thread, hands batches to a handler,
//! persists its position after each batch when it has a checkpoint id (the
//! handler then sees an [`AtLeastOnce`] witness: after a crash the last
//! unacknowledged batch is delivered again), and restarts after a handler panic
//! as its [`RestartPolicy`] says.

use crate::coordinate::Region;
use crate::store::error::{IoOp, StoreError};
use crate::store::index::IndexEntry;
use crate::store::log::checkpoint;
use crate::store::{frontier::Watermark, ReadWrite, Store};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A pull cursor over a region.
#[derive(Debug)]
pub struct Cursor<'a, M = ReadWrite> {
    store: &'a Store<M>,
    region: Region,
    position: u64,
}

impl<'a, M> Cursor<'a, M> {
    /// The same cursor resumed after global sequence `position` (e.g. a
    /// checkpoint the application kept).
    pub fn after(mut self, position: u64) -> Self {
        self.position = position;
        self
    }

    /// The global sequence of the last event delivered (0 before the first).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Up to `max` next events, in commit order; empty when caught up.
    pub fn poll(&mut self, max: usize) -> Vec<IndexEntry> {
        let entries = {
            let index = crate::store::locking::read(&self.store.shared.index);
            let positions = index.region_positions_after(&self.region, self.position, max);
            index.entries(positions)
        };
        if let Some(last) = entries.last() {
            self.position = last.sequence;
        }
        let visible = self.store.shared.frontier.get().visible;
        crate::store::observe::cursor_lag(visible.saturating_sub(self.position));
        entries
    }

    /// Like [`Cursor::poll`], but waits up to `timeout` for something to arrive.
    pub fn poll_wait(&mut self, max: usize, timeout: Duration) -> Vec<IndexEntry> {
        let batch = self.poll(max);
        if !batch.is_empty() {
            return batch;
        }
        let visible = self.store.frontier().visible;
        let _ = self
            .store
            .shared
            .frontier
            .wait(Watermark::Visible, visible + 1, timeout);
        self.poll(max)
    }
}

impl<M> Store<M> {
    /// A cursor that starts before the first event (see [`Cursor::after`] to
    /// resume from a position).
    pub fn cursor_guaranteed(&self, region: &Region) -> Cursor<'_, M> {
        Cursor {
            store: self,
            region: region.clone(),
            position: 0,
        }
    }
}

/// What the handler wants next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorWorkerAction {
    /// Acknowledge the batch and keep going.
    Continue,
    /// Acknowledge the batch and stop.
    Stop,
    /// Stop without acknowledging the batch: it is delivered again next time.
    StopWithRollback,
}

/// What to do when the handler panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Stop the worker; `stop_and_join` reports the panic.
    #[default]
    Never,
    /// Deliver the same batch again, at most `max_restarts` times, waiting
    /// `backoff` in between.
    Restart {
        /// Most restarts before giving up.
        max_restarts: u32,
        /// Wait before each restart.
        backoff: Duration,
    },
}

/// Witness handed to handlers of checkpointed workers: a batch may be delivered
/// again after a crash, so handling must be idempotent.
#[derive(Debug)]
pub struct AtLeastOnce {
    checkpoint_id: String,
}

impl AtLeastOnce {
    /// The worker's checkpoint id.
    pub fn checkpoint_id(&self) -> &str {
        &self.checkpoint_id
    }
}

/// Settings of a cursor worker. Start from `CursorWorkerConfig::default()` and
/// set the fields you need (more may be added).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CursorWorkerConfig {
    /// Most events per handler call.
    pub batch_size: usize,
    /// Longest wait for new events before polling again (a bounded wait on the
    /// visibility watermark, not a blind sleep).
    pub idle_sleep: Duration,
    /// What to do when the handler panics.
    pub restart: RestartPolicy,
    /// Persist the position under this id (in `<data_dir>/checkpoints/`).
    pub checkpoint_id: Option<String>,
}

impl Default for CursorWorkerConfig {
    fn default() -> Self {
        Self {
            batch_size: 256,
            idle_sleep: Duration::from_millis(50),
            restart: RestartPolicy::Never,
            checkpoint_id: None,
        }
    }
}

impl CursorWorkerConfig {
    /// Sets the most events per handler call.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets the longest wait for new events.
    pub fn with_idle_sleep(mut self, idle_sleep: Duration) -> Self {
        self.idle_sleep = idle_sleep;
        self
    }

    /// Sets what happens when the handler panics.
    pub fn with_restart(mut self, restart: RestartPolicy) -> Self {
        self.restart = restart;
        self
    }

    /// Persists the position under `id` (in `<data_dir>/checkpoints/`).
    pub fn with_checkpoint_id(mut self, id: impl Into<String>) -> Self {
        self.checkpoint_id = Some(id.into());
        self
    }
}

/// A running cursor worker.
#[derive(Debug)]
pub struct CursorWorkerHandle {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<(), StoreError>>,
}

impl CursorWorkerHandle {
    /// Asks the worker to stop after its current batch and waits for it; the
    /// worker's `Arc<Store>` is released when this returns.
    pub fn stop_and_join(self) -> Result<(), StoreError> {
        self.stop.store(true, Ordering::Release);
        self.thread.join().unwrap_or(Err(StoreError::WriterStopped))
    }

    /// Whether the worker thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}

/// A worker's persisted position: where it lives, the witness its handler is
/// given, and the position loaded at start.
struct Checkpoint {
    path: PathBuf,
    witness: AtLeastOnce,
    position: u64,
}

impl Checkpoint {
    fn open(store: &Store, id: &str, region: &Region) -> Result<Self, StoreError> {
        let path = checkpoint_path(store, id)?;
        let position = load_checkpoint(store, &path, id, region)?;
        Ok(Checkpoint {
            path,
            witness: AtLeastOnce {
                checkpoint_id: id.to_owned(),
            },
            position,
        })
    }
}

fn checkpoint_path(store: &Store, id: &str) -> Result<PathBuf, StoreError> {
    crate::coordinate::validate_name(id, crate::coordinate::NamePart::Entity)?;
    Ok(store
        .config()
        .data_dir
        .join("checkpoints")
        .join(format!("{id}.ckpt")))
}

fn region_tag(region: &Region) -> [u8; 16] {
    let mut out = [0; 16];
    out.copy_from_slice(&blake3::hash(format!("{region:?}").as_bytes()).as_bytes()[..16]);
    out
}

/// Loads a checkpoint: `Ok(0)` when there is none or it is unreadable (start
/// over: at-least-once), an error when it belongs to another region.
fn load_checkpoint(
    store: &Store,
    path: &Path,
    id: &str,
    region: &Region,
) -> Result<u64, StoreError> {
    match checkpoint::load(&*store.shared.io, path) {
        None => Ok(0),
        Some((tag, _)) if tag != region_tag(region) => Err(StoreError::CheckpointMismatch {
            checkpoint_id: id.to_owned(),
        }),
        Some((_, position)) => Ok(position),
    }
}

impl Store<ReadWrite> {
    /// Starts a worker thread that feeds batches of `region` to `handler`; see
    /// the module docs.
    pub fn cursor_worker<F>(
        self: &Arc<Self>,
        region: &Region,
        config: CursorWorkerConfig,
        mut handler: F,
    ) -> Result<CursorWorkerHandle, StoreError>
    where
        F: FnMut(&[IndexEntry], &Store, Option<&AtLeastOnce>) -> CursorWorkerAction
            + Send
            + 'static,
    {
        self.spawn_worker(region, config, move |batch, store, witness| {
            Ok(handler(batch, store, witness))
        })
    }

    /// The worker loop behind `cursor_worker` and `react_typed`: a handler error
    /// stops the worker without advancing its checkpoint.
    pub(crate) fn spawn_worker<F>(
        self: &Arc<Self>,
        region: &Region,
        config: CursorWorkerConfig,
        handler: F,
    ) -> Result<CursorWorkerHandle, StoreError>
    where
        F: FnMut(
                &[IndexEntry],
                &Store,
                Option<&AtLeastOnce>,
            ) -> Result<CursorWorkerAction, StoreError>
            + Send
            + 'static,
    {
        let checkpoint = match &config.checkpoint_id {
            Some(id) => Some(Checkpoint::open(self, id, region)?),
            None => None,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let store = Arc::clone(self);
        let region = region.clone();
        let worker_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("batpak-cursor".into())
            .spawn(move || {
                let worker = Worker {
                    store: &store,
                    region: &region,
                    checkpoint: checkpoint.as_ref(),
                    config: &config,
                    stop: &worker_stop,
                };
                worker.run(handler)
            })
            .map_err(|e| StoreError::io(IoOp::Spawn, &self.config().data_dir, e))?;
        Ok(CursorWorkerHandle { stop, thread })
    }
}

/// What a worker thread borrows while it runs: kept apart from
/// `spawn_worker` so the loop reads without the thread setup around it.
struct Worker<'a> {
    store: &'a Store,
    region: &'a Region,
    checkpoint: Option<&'a Checkpoint>,
    config: &'a CursorWorkerConfig,
    stop: &'a AtomicBool,
}

impl Worker<'_> {
    /// Feeds batches to `handler` until asked to stop, the handler stops, fails
    /// or panics past the restart policy; the checkpoint is saved after each
    /// acknowledged batch.
    fn run<F>(&self, mut handler: F) -> Result<(), StoreError>
    where
        F: FnMut(
            &[IndexEntry],
            &Store,
            Option<&AtLeastOnce>,
        ) -> Result<CursorWorkerAction, StoreError>,
    {
        let start = self.checkpoint.map_or(0, |c| c.position);
        let mut cursor = self.store.cursor_guaranteed(self.region).after(start);
        let batch_size = self.config.batch_size.max(1);
        let mut restarts = 0;
        while !self.stop.load(Ordering::Acquire) {
            let before = cursor.position();
            let batch = cursor.poll_wait(batch_size, self.config.idle_sleep);
            if batch.is_empty() {
                continue;
            }
            let witness = self.checkpoint.map(|c| &c.witness);
            let call = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                handler(&batch, self.store, witness)
            }));
            let action = match (call, self.config.restart) {
                (Ok(action), _) => action?,
                (
                    Err(_),
                    RestartPolicy::Restart {
                        max_restarts,
                        backoff,
                    },
                ) if restarts < max_restarts => {
                    restarts += 1;
                    cursor.position = before;
                    std::thread::park_timeout(backoff);
                    continue;
                }
                (Err(_), _) => return Err(StoreError::HandlerPanicked),
            };
            if action == CursorWorkerAction::StopWithRollback {
                return Ok(());
            }
            if let Some(c) = self.checkpoint {
                let io = &*self.store.shared.io;
                checkpoint::save(io, &c.path, region_tag(self.region), cursor.position())?;
            }
            if action == CursorWorkerAction::Stop {
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
