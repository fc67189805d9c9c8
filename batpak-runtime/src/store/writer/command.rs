//! The closed set of commands the writer thread takes: everything that can
//! change a store, in one place, with the reply channels callers wait on.

use crate::store::error::StoreError;
use crate::store::log::compact::CompactReport;
use crate::store::options::{AppendReceipt, BatchAppendItem, ReplicatedEvent, ReplicatedName};
use flume::Sender;

/// Reply channel of an append.
pub(crate) enum ReplyTo {
    One(Sender<Result<AppendReceipt, StoreError>>),
    /// A blocking caller's reply slot (`slot`): no channel per call.
    Slot(super::slot::SlotSender),
    Many(Sender<Result<Vec<AppendReceipt>, StoreError>>),
}

/// The items of an append: one inline (single appends, the common case, without
/// a vector allocation per call) or a batch.
pub(crate) enum Items {
    One(BatchAppendItem),
    Many(Vec<BatchAppendItem>),
}

impl Items {
    pub(crate) fn as_slice(&self) -> &[BatchAppendItem] {
        match self {
            Items::One(item) => std::slice::from_ref(item),
            Items::Many(items) => items,
        }
    }
}

/// Reply channel of a control command.
pub(crate) type Done = Sender<Result<(), StoreError>>;

/// Reply channel of an idempotency-key lookup: per key, the receipt of the
/// event it was first used for.
pub(crate) type KeysReply = Sender<Result<Vec<Option<AppendReceipt>>, StoreError>>;

/// Everything that can change a store, in one place.
// A single append travels inline (no box): commands sit in the mailbox's ring
// buffer, so the size costs a copy, while a box would cost an allocation per
// append.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    /// Append one event (`batch == false`) or an atomic batch.
    Append {
        items: Items,
        batch: bool,
        fenced: bool,
        reply: ReplyTo,
    },
    /// Write and fsync everything accepted so far.
    Sync { reply: Done },
    /// Start a visibility fence.
    BeginFence { reply: Done },
    /// Publish the fence's writes.
    CommitFence { reply: Done },
    /// Discard the fence's writes.
    CancelFence { reply: Done },
    /// Sync, then copy every segment into another directory.
    Backup {
        dest: std::path::PathBuf,
        reply: Done,
    },
    /// Rewrite sealed segments without their discarded writes.
    Compact {
        reply: Sender<Result<CompactReport, StoreError>>,
    },
    /// Look up idempotency keys (answered with the group, after its sync).
    Keys { keys: Vec<u128>, reply: KeysReply },
    /// Write a primary's committed events into a replica, with their ids,
    /// sequences and hashes (answered with the group, after its sync).
    Replicate {
        names: Vec<ReplicatedName>,
        events: Vec<ReplicatedEvent>,
        reply: Done,
    },
    /// Cancel any live fence, sync, stop.
    Shutdown { reply: Done },
    /// Makes the writer panic (fault injection for unit tests).
    #[cfg(test)]
    Crash,
    /// Has the writer save an index snapshot before its next command, as
    /// after a rotation (unit tests).
    #[cfg(test)]
    SnapshotSoon,
}
