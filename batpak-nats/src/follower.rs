//! The follower: builds a read replica from the stream an exporter writes.
//! The replica is a store opened with `Store::open_replica`; the follower
//! reads the stream with an ordered pull consumer from the message after the
//! replica's last event and hands the events to `Store::apply_replicated`,
//! which checks each against the replica's own chain before writing it.
//!
//! Resuming needs no state besides the replica's log: the stream holds each
//! committed event once, in commit order, from stream sequence 1, so the
//! replica's event count is the stream sequence of its last event. The
//! follower checks that (the message there must carry the replica's last
//! event: its global sequence and id) and starts after it; a replica of another stream, or a
//! stream purged since, is [`Error::StreamMismatch`].

use crate::error::{nats, Error, NatsOp};
use crate::message;
use crate::runtime::{self, Backoff};
use crate::StreamConfig;
use async_nats::jetstream::{self, consumer, stream};
use batpak_runtime::store::{ReadWrite, Store, Watermark};
use futures_util::{FutureExt, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How a follower runs.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// The stream.
    pub stream: StreamConfig,
    /// Events applied to the replica in one call at most.
    pub apply_events_max: usize,
    /// The longest wait between attempts while the server is unreachable.
    pub retry_backoff_max: Duration,
}

impl FollowConfig {
    /// Follows `stream`, applying up to 1,024 events at a time.
    pub fn new(stream: StreamConfig) -> Self {
        Self {
            stream,
            apply_events_max: 1024,
            retry_backoff_max: Duration::from_secs(2),
        }
    }
}

struct State {
    stop: AtomicBool,
    last_error: Mutex<Option<Arc<Error>>>,
}

/// A running follower; stops on [`Follower::stop`] or drop.
pub struct Follower {
    store: Arc<Store<ReadWrite>>,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl Follower {
    /// Starts following into `replica` (opened with `Store::open_replica`).
    pub fn start(replica: Arc<Store<ReadWrite>>, config: FollowConfig) -> Result<Self, Error> {
        let state = Arc::new(State {
            stop: AtomicBool::new(false),
            last_error: Mutex::new(None),
        });
        let rt = runtime::build()?;
        let worker = Worker {
            store: Arc::clone(&replica),
            state: Arc::clone(&state),
            config,
        };
        let thread = std::thread::Builder::new()
            .name("batpak-nats-follow".into())
            .spawn(move || rt.block_on(worker.run()))
            .map_err(Error::Spawn)?;
        Ok(Self {
            store: replica,
            state,
            thread: Some(thread),
        })
    }

    /// The primary's global sequence of the last event the replica applied.
    pub fn applied_sequence(&self) -> u64 {
        self.store.frontier().visible
    }

    /// Waits until the replica applied the primary's `sequence`; false on
    /// timeout.
    pub fn wait_applied(&self, sequence: u64, timeout: Duration) -> bool {
        self.store
            .wait_for(Watermark::Visible, sequence, timeout)
            .is_ok()
    }

    /// The last failure since the last success.
    pub fn last_error(&self) -> Option<Arc<Error>> {
        lock(&self.state.last_error).clone()
    }

    /// Stops following.
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

impl Drop for Follower {
    fn drop(&mut self) {
        self.halt();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Worker {
    store: Arc<Store<ReadWrite>>,
    state: Arc<State>,
    config: FollowConfig,
}

impl Worker {
    async fn run(self) {
        let mut backoff = Backoff::new(self.config.retry_backoff_max);
        while !self.stopping() {
            if let Err(e) = self.session(&mut backoff).await {
                *lock(&self.state.last_error) = Some(Arc::new(e));
                runtime::pause(backoff.step(), || self.stopping()).await;
            }
        }
    }

    fn stopping(&self) -> bool {
        self.state.stop.load(Ordering::Acquire)
    }

    async fn session(&self, backoff: &mut Backoff) -> Result<(), Error> {
        let ctx = runtime::connect(&self.config.stream, 1).await?;
        let stream = ctx
            .get_stream(&self.config.stream.stream)
            .await
            .map_err(nats(NatsOp::Stream))?;
        let start = self.resume_point(&stream).await?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ..Default::default()
            })
            .await
            .map_err(nats(NatsOp::Consume))?;
        let mut messages = consumer.messages().await.map_err(nats(NatsOp::Consume))?;
        backoff.reset();
        *lock(&self.state.last_error) = None;
        let mut chunk = Chunk::default();
        while !self.stopping() {
            let first = tokio::time::timeout(Duration::from_millis(50), messages.next()).await;
            let first = match first {
                Err(_) => continue,
                Ok(None) => return Ok(()),
                Ok(Some(m)) => m.map_err(nats(NatsOp::Consume))?,
            };
            chunk.push(&first)?;
            while chunk.events.len() < self.config.apply_events_max {
                match messages.next().now_or_never() {
                    Some(Some(m)) => chunk.push(&m.map_err(nats(NatsOp::Consume))?)?,
                    Some(None) | None => break,
                }
            }
            let (names, events) = chunk.take();
            self.store.apply_replicated(names, events)?;
        }
        Ok(())
    }

    /// The stream sequence to start at: the one after the replica's last
    /// event, checked against the stream.
    async fn resume_point(&self, stream: &stream::Stream) -> Result<u64, Error> {
        let count = self.store.stats()?.events;
        if count == 0 {
            return Ok(1);
        }
        let replica_sequence = self.store.frontier().visible;
        let last_id = self
            .store
            .replicated_events(replica_sequence.saturating_sub(1), 1)?
            .first()
            .map(|e| e.header.event_id.get());
        let (stream_holds, stream_id) = match stream.get_raw_message(count).await {
            Ok(msg) => {
                message::position_of(&msg.headers).map_or((0, None), |(s, _, id)| (s, Some(id)))
            }
            Err(_) => (0, None),
        };
        if stream_holds != replica_sequence || stream_id != last_id {
            return Err(Error::StreamMismatch {
                replica_sequence,
                stream_holds,
            });
        }
        Ok(count + 1)
    }
}

/// Events gathered for one `apply_replicated` call.
#[derive(Default)]
struct Chunk {
    names: Vec<batpak_runtime::store::ReplicatedName>,
    events: Vec<batpak_runtime::store::ReplicatedEvent>,
}

impl Chunk {
    fn push(&mut self, m: &jetstream::Message) -> Result<(), Error> {
        let stream_sequence = m.info().map_or(0, |i| i.stream_sequence);
        let decoded =
            message::decode(m.message.headers.as_ref(), &m.message.payload).map_err(|header| {
                Error::BadMessage {
                    stream_sequence,
                    header,
                }
            })?;
        self.names.extend(decoded.names);
        self.events.push(decoded.event);
        Ok(())
    }

    fn take(
        &mut self,
    ) -> (
        Vec<batpak_runtime::store::ReplicatedName>,
        Vec<batpak_runtime::store::ReplicatedEvent>,
    ) {
        (
            std::mem::take(&mut self.names),
            std::mem::take(&mut self.events),
        )
    }
}
