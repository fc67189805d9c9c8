//! `Store::compact`: reclaims the space of writes that can never become
//! visible (the frames of cancelled visibility fences). The writer runs the
//! log's rewrite (`log::compact`) between two commands.

pub use super::log::compact::CompactReport;
use super::writer::Command;
use super::{ReadWrite, Store, StoreError};

impl Store<ReadWrite> {
    /// Removes discarded writes (cancelled visibility fences) from sealed
    /// segments; see the module docs. Writes wait while segments are rewritten.
    pub fn compact(&self) -> Result<CompactReport, StoreError> {
        let (reply, rx) = flume::bounded(1);
        self.send(Command::Compact { reply })?;
        rx.recv().unwrap_or(Err(StoreError::WriterStopped))
    }
}

#[cfg(test)]
mod tests;
