//! What a scan reports: [`RecoveryReport`] (what the last open found and
//! did), the tail it cut or would cut, and the first break of a hash chain.

use crate::store::error::LogPosition;

/// What recovery cut off the end of the newest segment (or, in a read-only
/// open or `verify`, would cut on the next read-write open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    /// Where the cut was made.
    pub at: LogPosition,
    /// How many bytes were dropped.
    pub bytes: u64,
    /// The quarantine file keeping the cut bytes (`None` when they were all
    /// zeros, or nothing was cut yet).
    pub quarantine: Option<std::path::PathBuf>,
    /// Batches and fences whose end marker the cut removed, or which the cut
    /// left open: their events never became visible.
    pub unfinished: Vec<UnfinishedUnit>,
    /// The cut lies before the durable watermark: bytes an `fdatasync` had
    /// covered were given up (`RecoveryMode::Salvage` only).
    pub salvaged: bool,
}

/// A batch or fence a cut left without its end marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnfinishedUnit {
    /// A fence (else a batch).
    pub fence: bool,
    /// Its id in the log.
    pub id: u64,
    /// Where its begin marker is.
    pub began: LogPosition,
    /// Its events before the cut.
    pub events: u64,
}

/// What the last open found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files read.
    pub segments: usize,
    /// Frames read.
    pub frames: u64,
    /// Bytes of segment files the scan read. An open from a snapshot reads
    /// the newest segment's header and only what follows the snapshot.
    pub bytes_read: u64,
    /// Events visible after recovery.
    pub events: u64,
    /// A torn tail (or unfinished batch) cut off the newest segment, if any.
    pub truncated_tail: Option<TruncatedTail>,
    /// A torn tail found but left alone because the store was opened read-only.
    pub torn_tail_ignored: Option<LogPosition>,
    /// What the next read-write open would cut, when this scan did not repair.
    pub pending_cut: Option<TruncatedTail>,
    /// The durable watermark the scan found: damage before it is an error.
    pub durable_mark: Option<LogPosition>,
    /// Events of batches that never committed, dropped.
    pub discarded_batch_events: u64,
    /// Events of fences that were cancelled or never committed, kept hidden.
    pub discarded_fence_events: u64,
    /// A fence was still open at the end of the log (the writer crashed inside it).
    pub unterminated_fence: bool,
    /// The index came from the snapshot file instead of a scan.
    pub from_snapshot: bool,
    /// Why an index snapshot present on disk was not used, if it was not.
    pub snapshot_rejected: Option<String>,
    /// Where the scan started when the index snapshot covered only the log
    /// before it (the log grew after the snapshot was written).
    pub snapshot_resumed_at: Option<LogPosition>,
}

/// The first place where a hash chain or sequence does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBreak {
    /// Where the offending frame is.
    pub at: LogPosition,
    /// The offending event.
    pub event_id: u128,
    /// The entity sequence is not its predecessor's plus one.
    pub sequence_gap: bool,
}
