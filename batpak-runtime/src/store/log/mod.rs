//! The log engine: everything that touches the files of a data directory.
//! Frames and their byte format (`frame`), segment files (`segment`), the
//! file-system seam every write goes through (`io`), the directory lock
//! (`lock`), the open-time scan and repair (`recovery`), the index snapshot
//! (`snapshot`) and the read-only view of the log prefix it covers (`prefix`), reading frames back by position (`reader`), chain hashes
//! computed from the frames that store them (`chain`), compaction's
//! rewrite (`compact`), backup's copy (`backup`), cursor-worker checkpoints
//! (`checkpoint`), the default key store of personal data (`keys`), the durable watermark (`watermark`) and the quarantine that
//! keeps what a repair cuts (`quarantine`). It knows nothing of the writer thread or the `Store` API
//! above it.

pub(crate) mod backup;
pub(crate) mod chain;
pub(crate) mod checkpoint;
pub(crate) mod compact;
pub(crate) mod frame;
pub(crate) mod io;
pub(crate) mod keys;
pub(crate) mod lock;
pub(crate) mod prefix;
pub(crate) mod quarantine;
pub(crate) mod reader;
pub(crate) mod recovery;
pub(crate) mod segment;
pub(crate) mod snapshot;
pub(crate) mod watermark;
