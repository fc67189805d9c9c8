//! The exporter: a worker that publishes every committed event of a store,
//! in commit order, to a JetStream stream, exactly once and without gaps.
//!
//! The stream itself is the checkpoint that counts. On every (re)start the
//! exporter reads the stream's last message, whose `Batpak-Event` header
//! names the last event published (its sequence and id, which must be this
//! store's), and continues with the next committed event after it. Each publish carries `Nats-Expected-Last-Sequence` (the
//! stream sequence the previous event got or will get), so the server
//! refuses a publish that does not directly follow what the stream holds:
//! after a lost ack, a crash or a server restart, everything published out
//! of order is refused and the exporter resumes from the stream's state.
//! `Nats-Msg-Id` (the event id) makes the server drop a duplicate within its
//! dedup window besides. Publishes are pipelined (up to `in_flight_max`
//! awaiting their acks, awaited in order); the local checkpoint file, when
//! configured, records the last acked sequence after the acks, for `lag`
//! before a connection is up.
//!
//! The store is never held up: it commits locally whatever the server does,
//! and the exporter retries with a doubling backoff; [`Exporter::lag`] and
//! the `batpak.nats.export.lag` gauge (feature `metrics`) show how far
//! behind it is.

use crate::error::{nats, Error, NatsOp};
use crate::message::{self, EXPECTED_LAST_SEQUENCE};
use crate::runtime::{self, Backoff};
use crate::StreamConfig;
use async_nats::jetstream::{self, context::PublishAckFuture, stream};
use batpak_runtime::store::{ReplicatedName, Store, Watermark};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How an exporter runs.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// The stream.
    pub stream: StreamConfig,
    /// Publishes awaiting their ack at most.
    pub in_flight_max: usize,
    /// Events read from the store at a time.
    pub read_events_max: usize,
    /// The longest wait between attempts while the server is unreachable.
    pub retry_backoff_max: Duration,
    /// A file recording the last acked sequence (outside the store's data
    /// directory; optional: the stream is the checkpoint that counts).
    pub checkpoint: Option<PathBuf>,
}

impl ExportConfig {
    /// Exports to `stream` with 16,384 publishes in flight.
    pub fn new(stream: StreamConfig) -> Self {
        Self {
            stream,
            in_flight_max: 16384,
            read_events_max: 1024,
            retry_backoff_max: Duration::from_secs(2),
            checkpoint: None,
        }
    }

    /// Records the last acked sequence in `path`.
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }
}

/// What the exporter's thread and its handle share.
struct State {
    /// The global sequence of the last event the stream acked.
    acked: AtomicU64,
    stop: AtomicBool,
    /// The last failure, cleared by the next success.
    last_error: Mutex<Option<Arc<Error>>>,
    changed: Condvar,
    changed_lock: Mutex<()>,
}

/// A running exporter; stops on [`Exporter::stop`] or drop.
pub struct Exporter<M: 'static = batpak_runtime::store::ReadWrite> {
    store: Arc<Store<M>>,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl<M: 'static> Exporter<M>
where
    Store<M>: Send + Sync,
{
    /// Starts exporting `store` (a read-write store, or a read-only one that
    /// follows its writer with `StoreConfig::with_follow_interval`).
    pub fn start(store: Arc<Store<M>>, config: ExportConfig) -> Result<Self, Error> {
        let acked = config.checkpoint.as_deref().map_or(0, read_checkpoint);
        let state = Arc::new(State {
            acked: AtomicU64::new(acked),
            stop: AtomicBool::new(false),
            last_error: Mutex::new(None),
            changed: Condvar::new(),
            changed_lock: Mutex::new(()),
        });
        let rt = runtime::build_inline()?;
        let worker = Worker {
            store: Arc::clone(&store),
            state: Arc::clone(&state),
            config,
        };
        let thread = std::thread::Builder::new()
            .name("batpak-nats-export".into())
            .spawn(move || rt.block_on(worker.run()))
            .map_err(Error::Spawn)?;
        Ok(Self {
            store,
            state,
            thread: Some(thread),
        })
    }

    /// The global sequence of the last event the stream acknowledged.
    pub fn acked_sequence(&self) -> u64 {
        self.state.acked.load(Ordering::Acquire)
    }

    /// How far the stream is behind the store: global sequences committed
    /// (visible) but not acked. Cancelled fences leave sequences no event
    /// takes, so this may count a few more than the events in between; 0
    /// means every committed event is in the stream.
    pub fn lag(&self) -> u64 {
        let visible = self.store.frontier().visible;
        visible.saturating_sub(self.acked_sequence())
    }

    /// The last failure (connection, publish) since the last success.
    pub fn last_error(&self) -> Option<Arc<Error>> {
        lock(&self.state.last_error).clone()
    }

    /// Waits until the stream acked `sequence` (or later); false on timeout.
    pub fn wait_acked(&self, sequence: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.state.changed_lock);
        while self.acked_sequence() < sequence {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            guard = match self.state.changed.wait_timeout(guard, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// Stops the exporter after the acks in flight (or their timeout).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl<M: 'static> Drop for Exporter<M> {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Worker<M: 'static> {
    store: Arc<Store<M>>,
    state: Arc<State>,
    config: ExportConfig,
}

/// Where the stream stands: its last stream sequence, the last event's
/// global sequence in it, and how many coordinates it has defined.
#[derive(Debug, Clone, Copy)]
struct Position {
    stream_sequence: u64,
    sequence: u64,
    coordinates: u32,
}

impl<M: 'static> Worker<M> {
    async fn run(self) {
        let mut backoff = Backoff::new(self.config.retry_backoff_max);
        while !self.stopping() {
            let result = self.session(&mut backoff).await;
            if let Err(e) = result {
                *lock(&self.state.last_error) = Some(Arc::new(e));
                #[cfg(feature = "metrics")]
                metrics::counter!("batpak.nats.export.retries").increment(1);
                runtime::pause(backoff.step(), || self.stopping()).await;
            }
        }
    }

    fn stopping(&self) -> bool {
        self.state.stop.load(Ordering::Acquire)
    }

    /// One connection: find where the stream stands, then publish until an
    /// error or stop.
    async fn session(&self, backoff: &mut Backoff) -> Result<(), Error> {
        let ctx = runtime::connect(&self.config.stream, self.config.in_flight_max).await?;
        let mut stream = self.stream(&ctx).await?;
        let (position, last_id) = last_position(&mut stream).await?;
        self.check_ours(position.sequence, last_id)?;
        self.acked(position.sequence);
        backoff.reset();
        *lock(&self.state.last_error) = None;
        self.publish_from(&ctx, position).await
    }

    /// That the stream's last message is this store's event `sequence`.
    fn check_ours(&self, sequence: u64, event_id: Option<u128>) -> Result<(), Error> {
        let Some(event_id) = event_id else {
            return Ok(());
        };
        let ours = self
            .store
            .replicated_events(sequence.saturating_sub(1), 1)?;
        match ours.first() {
            Some(ev)
                if ev.header.position.sequence == sequence
                    && ev.header.event_id.get() == event_id =>
            {
                Ok(())
            }
            _ => Err(Error::ForeignStream { sequence }),
        }
    }

    /// The stream, created when missing.
    async fn stream(&self, ctx: &jetstream::Context) -> Result<stream::Stream, Error> {
        let s = &self.config.stream;
        let config = stream::Config {
            name: s.stream.clone(),
            subjects: vec![format!("{}.>", s.subject_prefix)],
            num_replicas: s.replicas,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        ctx.get_or_create_stream(config)
            .await
            .map_err(nats(NatsOp::Stream))
    }

    /// Publishes committed events after `from` until an error or stop.
    async fn publish_from(&self, ctx: &jetstream::Context, from: Position) -> Result<(), Error> {
        let prefix = &self.config.stream.subject_prefix;
        let mut next = from;
        // (global sequence, expected stream sequence, ack)
        let mut in_flight: VecDeque<(u64, u64, PublishAckFuture)> = VecDeque::new();
        let mut tokens = message::Tokens::default();
        loop {
            if self.stopping() {
                return self.drain(&mut in_flight, 0).await;
            }
            let room = self.config.in_flight_max.saturating_sub(in_flight.len());
            let events = match room {
                0 => Vec::new(),
                n => self
                    .store
                    .replicated_events(next.sequence, n.min(self.config.read_events_max))?,
            };
            if events.is_empty() {
                if in_flight.is_empty() {
                    self.wait_for_events(next.sequence);
                    continue;
                }
                // Nothing new to send: settle the acks in flight.
                self.drain(&mut in_flight, 0).await?;
                continue;
            }
            for ev in events {
                let names = self.skipped_names(&next, ev.coordinate_id);
                next.coordinates = next.coordinates.max(ev.coordinate_id + 1);
                let sequence = ev.header.position.sequence;
                let (subject, mut headers, payload) =
                    message::encode(prefix, ev, &names, next.coordinates, &mut tokens);
                headers.insert(
                    EXPECTED_LAST_SEQUENCE,
                    next.stream_sequence.to_string().as_str(),
                );
                let ack = ctx
                    .publish_with_headers(subject, headers, payload)
                    .await
                    .map_err(nats(NatsOp::Publish))?;
                next.stream_sequence += 1;
                next.sequence = sequence;
                in_flight.push_back((next.sequence, next.stream_sequence, ack));
            }
            // Keep the pipeline full: settle only what exceeds half the window.
            self.drain(&mut in_flight, self.config.in_flight_max / 2)
                .await?;
        }
    }

    /// The coordinates the primary defined between what the stream has and
    /// `coordinate` (first used by cancelled fences).
    fn skipped_names(&self, at: &Position, coordinate: u32) -> Vec<ReplicatedName> {
        match coordinate > at.coordinates {
            true => self.store.coordinate_names(at.coordinates..coordinate),
            false => Vec::new(),
        }
    }

    /// Blocks briefly until an event after `sequence` is visible.
    fn wait_for_events(&self, sequence: u64) {
        let _ = self
            .store
            .wait_for(Watermark::Visible, sequence + 1, Duration::from_millis(20));
    }

    /// Awaits acks in order until at most `keep` are in flight.
    async fn drain(
        &self,
        in_flight: &mut VecDeque<(u64, u64, PublishAckFuture)>,
        keep: usize,
    ) -> Result<(), Error> {
        let mut last = None;
        while in_flight.len() > keep {
            let Some((sequence, stream_sequence, ack)) = in_flight.pop_front() else {
                break;
            };
            let ack = ack.await.map_err(nats(NatsOp::Publish))?;
            if ack.duplicate || ack.sequence != stream_sequence {
                // The stream does not hold what this session assumed:
                // start again from its state.
                return Err(Error::Nats {
                    op: NatsOp::Publish,
                    source: format!(
                        "ack for stream sequence {} (duplicate: {}), expected {stream_sequence}",
                        ack.sequence, ack.duplicate
                    )
                    .into(),
                });
            }
            last = Some(sequence);
        }
        if let Some(sequence) = last {
            self.acked(sequence);
        }
        Ok(())
    }

    /// Records that the stream holds everything through `sequence`.
    fn acked(&self, sequence: u64) {
        self.state.acked.store(sequence, Ordering::Release);
        if let Some(path) = &self.config.checkpoint {
            write_checkpoint(path, sequence);
        }
        #[cfg(feature = "metrics")]
        {
            let visible = self.store.frontier().visible;
            metrics::gauge!("batpak.nats.export.lag").set(visible.saturating_sub(sequence) as f64);
        }
        let _guard = lock(&self.state.changed_lock);
        self.state.changed.notify_all();
    }
}

/// Where the stream stands, from its last message, and that message's
/// event id (`None` for an empty stream).
async fn last_position(stream: &mut stream::Stream) -> Result<(Position, Option<u128>), Error> {
    let info = stream.info().await.map_err(nats(NatsOp::Stream))?;
    let last = info.state.last_sequence;
    if last == 0 {
        let empty = Position {
            stream_sequence: 0,
            sequence: 0,
            coordinates: 0,
        };
        return Ok((empty, None));
    }
    let msg = stream
        .get_raw_message(last)
        .await
        .map_err(nats(NatsOp::Get))?;
    let bad = |header| Error::BadMessage {
        stream_sequence: last,
        header,
    };
    let (sequence, coordinates, event_id) = message::position_of(&msg.headers).map_err(bad)?;
    let position = Position {
        stream_sequence: last,
        sequence,
        coordinates,
    };
    Ok((position, Some(event_id)))
}

fn read_checkpoint(path: &std::path::Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Replaces the checkpoint (temporary file and rename; no fsync: the stream
/// is the checkpoint that counts, this one only answers `lag` early).
fn write_checkpoint(path: &std::path::Path, sequence: u64) {
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, sequence.to_string()).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}
