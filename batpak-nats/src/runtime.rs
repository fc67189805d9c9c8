//! The private async side: one tokio runtime per exporter or follower. The
//! follower's has one worker thread for the client's connection tasks, and
//! its own thread drives its loop with `block_on`, so its blocking store
//! calls never stall the connection. The exporter's runs everything on the
//! exporter's thread: its loop blocks only briefly (reading the store, or
//! waiting at most 20 ms for new events with nothing in flight), and a
//! publish then reaches the connection without waking another thread, which
//! took the export rate on this 2-core machine from about 63k to about 99k
//! events/s.

use crate::error::{nats, Error, NatsOp};
use crate::StreamConfig;
use async_nats::jetstream;
use std::time::Duration;

/// The runtime a worker owns.
pub(crate) fn build() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("batpak-nats-io")
        .enable_io()
        .enable_time()
        .build()
        .map_err(Error::Spawn)
}

/// A runtime whose one thread is the caller's: the exporter's loop and the
/// client's connection tasks take turns on it, so a publish hands its
/// message to the connection without waking another thread.
pub(crate) fn build_inline() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(Error::Spawn)
}

/// A JetStream context on `config.url`, or the connection's error.
pub(crate) async fn connect(
    config: &StreamConfig,
    ack_in_flight_max: usize,
) -> Result<jetstream::Context, Error> {
    let options = async_nats::ConnectOptions::new()
        .connection_timeout(config.request_timeout)
        .request_timeout(Some(config.request_timeout));
    let servers: Vec<&str> = config.url.split(',').map(str::trim).collect();
    let client = tokio::time::timeout(config.request_timeout, options.connect(servers))
        .await
        .map_err(nats(NatsOp::Connect))?
        .map_err(nats(NatsOp::Connect))?;
    Ok(jetstream::ContextBuilder::new()
        .timeout(config.request_timeout)
        .max_ack_inflight(ack_in_flight_max.max(1))
        .build(client))
}

/// Backoff between attempts: doubling from 20 ms up to `max`.
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            next: Duration::from_millis(20),
            max,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.next = Duration::from_millis(20);
    }

    /// The wait before the next attempt.
    pub(crate) fn step(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }
}

/// Waits `wait` (a backoff step) in slices of at most 10 ms, returning early
/// once `stopping` says so.
pub(crate) async fn pause(wait: Duration, stopping: impl Fn() -> bool) {
    let until = std::time::Instant::now() + wait;
    while !stopping() && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10).min(wait)).await;
    }
}
