//! `Store::snapshot`: a consistent copy of the store in another directory. The
//! writer syncs and then copies every segment while it holds off other
//! commands, so the copy is exactly the log at one point of its history; a
//! fence still open at that point stays hidden in the copy, as after a crash.
//! The log's copy (`log::backup`) stages the files beside the destination and
//! renames them into place once durable, so the destination never holds part
//! of a copy.

use super::writer::Command;
use super::{ReadWrite, Store, StoreError};
use std::path::Path;

impl Store<ReadWrite> {
    /// Writes a consistent copy of the store into `dest` (which must not exist
    /// or be empty): everything visible or durable when the call is handled,
    /// openable with `Store::open` or `Store::open_read_only`. Writes wait
    /// while the files are copied.
    ///
    /// The copy appears at `dest` whole or not at all. An error leaves `dest`
    /// as it was; so does a crash during the copy, which may leave a hidden
    /// staging directory `.<name>.partial-<pid>-<n>` beside it to remove.
    pub fn snapshot(&self, dest: impl AsRef<Path>) -> Result<(), StoreError> {
        let dest = dest.as_ref().to_path_buf();
        self.control(|reply| Command::Backup { dest, reply })
    }
}
