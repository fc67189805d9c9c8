//! batpak beyond one machine. An [`Exporter`] publishes every committed
//! event of a store, in commit order, exactly once, to a NATS JetStream
//! stream; a [`Follower`] builds a read replica (a store opened with
//! `Store::open_replica`) from that stream, in another process or on
//! another machine. docs/scale-out.md describes the topology, the
//! guarantees, the subjects and headers, and how to promote a replica.
//!
//! The API is sync, like the rest of batpak: each exporter and follower
//! runs on a thread of its own, and the NATS client (`async-nats`) runs on
//! a private tokio runtime with one worker that only this crate sees.

mod error;
mod exporter;
mod follower;
mod message;
mod runtime;
pub mod subject;

pub use error::{Error, NatsOp};
pub use exporter::{ExportConfig, Exporter};
pub use follower::{FollowConfig, Follower};
pub use message::BadHeader;

use std::time::Duration;

/// Where the stream lives: shared by the exporter's and the follower's
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// The server (or servers, comma-separated), e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// The stream's name.
    pub stream: String,
    /// The first token of every subject (`<prefix>.<scope>.<entity>.<kind>`).
    pub subject_prefix: String,
    /// Replicas of the stream when the exporter creates it (1, or 3 on a
    /// cluster of three).
    pub replicas: usize,
    /// How long a connection attempt or a request may take.
    pub request_timeout: Duration,
}

impl StreamConfig {
    /// Stream `stream` on `url`, subjects under `batpak`, one replica.
    pub fn new(url: impl Into<String>, stream: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: stream.into(),
            subject_prefix: "batpak".into(),
            replicas: 1,
            request_timeout: Duration::from_secs(5),
        }
    }

    /// Subjects under `prefix` instead of `batpak`.
    pub fn with_subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.subject_prefix = prefix.into();
        self
    }

    /// `replicas` copies of the stream (set when the exporter creates it).
    pub fn with_replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }
}
