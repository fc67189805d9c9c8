//! `Store::snapshot`: a consistent copy of the store in another directory. The
//! writer syncs and then copies every segment while it holds off other
//! commands, so the copy is exactly the log at one point of its history; a
//! fence still open at that point stays hidden in the copy, as after a crash.

use super::writer::Command;
use super::{ReadWrite, Store, StoreError};
use std::path::Path;

impl Store<ReadWrite> {
    /// Writes a consistent copy of the store into `dest` (which must not exist
    /// or be empty): everything visible or durable when the call is handled,
    /// openable with `Store::open` or `Store::open_read_only`. Writes wait
    /// while the files are copied.
    pub fn snapshot(&self, dest: impl AsRef<Path>) -> Result<(), StoreError> {
        let dest = dest.as_ref().to_path_buf();
        self.control(|reply| Command::Backup { dest, reply })
    }
}
