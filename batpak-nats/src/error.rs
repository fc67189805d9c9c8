//! The crate's one error type.

use crate::message::BadHeader;
use batpak_runtime::store::StoreError;

/// What went wrong; `source()` chains to the store's or the client's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The local store refused or failed.
    Store(StoreError),
    /// A NATS operation failed (the exporter and follower retry these).
    Nats {
        /// Which operation.
        op: NatsOp,
        /// The client's error.
        source: async_nats::Error,
    },
    /// A message of the stream lacks a header an exporter writes, or has a
    /// malformed one.
    BadMessage {
        /// The message's sequence in the stream.
        stream_sequence: u64,
        /// The header.
        header: BadHeader,
    },
    /// The replica's log does not match the stream: the message at the
    /// replica's event count is not the replica's last event (another
    /// sequence or id: a replica of another stream, or a purged stream).
    StreamMismatch {
        /// The replica's last event's sequence.
        replica_sequence: u64,
        /// What the stream holds there (0 when the message is missing).
        stream_holds: u64,
    },
    /// The stream's last message is not an event of the exported store (the
    /// store's event at that sequence has another id, or none is there): a
    /// stream of another store, or a store restored from an older backup.
    /// Export it to a new stream.
    ForeignStream {
        /// The global sequence the stream's last message carries.
        sequence: u64,
    },
    /// The thread or runtime could not be started.
    Spawn(std::io::Error),
}

/// A NATS operation, for [`Error::Nats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NatsOp {
    /// Connecting to the server.
    Connect,
    /// Creating or looking up the stream.
    Stream,
    /// Reading a message of the stream.
    Get,
    /// Publishing or awaiting an ack.
    Publish,
    /// Creating or reading a consumer.
    Consume,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "the store failed: {e}"),
            Self::Nats { op, source } => write!(f, "nats {op:?} failed: {source}"),
            Self::BadMessage {
                stream_sequence,
                header,
            } => write!(
                f,
                "stream message {stream_sequence} has no valid {} header: not written by an exporter",
                header.0
            ),
            Self::StreamMismatch {
                replica_sequence,
                stream_holds,
            } => write!(
                f,
                "the replica's last event (sequence {replica_sequence}) is not where the stream has it \
                 (the stream holds sequence {stream_holds} there): follow the stream it was built from"
            ),
            Self::ForeignStream { sequence } => write!(
                f,
                "the stream's last message (sequence {sequence}) is not this store's event: \
                 export to a new stream"
            ),
            Self::Spawn(e) => write!(f, "could not start the worker: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            Self::Nats { source, .. } => Some(source.as_ref()),
            Self::Spawn(e) => Some(e),
            Self::BadMessage { .. } | Self::StreamMismatch { .. } | Self::ForeignStream { .. } => {
                None
            }
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Wraps a client error as [`Error::Nats`] for `op`.
pub(crate) fn nats<E: Into<async_nats::Error>>(op: NatsOp) -> impl FnOnce(E) -> Error {
    move |e| Error::Nats {
        op,
        source: e.into(),
    }
}
