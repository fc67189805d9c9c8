//! `Store::compact`: reclaims the space of writes that can never become
//! visible (the frames of cancelled visibility fences) and of events a
//! retention cut took out of reads. The retention policies are applied
//! first; the writer runs the log's rewrite (`log::compact`) between two
//! commands.

pub use super::log::compact::CompactReport;
use super::writer::Command;
use super::{ReadWrite, Store, StoreError};

impl Store<ReadWrite> {
    /// Applies the retention policies ([`Store::apply_retention`]), then
    /// removes discarded writes (cancelled visibility fences) and the events
    /// below retention floors from the log's files. The active segment is
    /// sealed first when it holds such events, so every cut event's bytes go.
    /// Writes wait while segments are rewritten.
    pub fn compact(&self) -> Result<CompactReport, StoreError> {
        self.apply_retention()?;
        let (reply, rx) = flume::bounded(1);
        self.send(Command::Compact { reply })?;
        rx.recv().unwrap_or(Err(StoreError::WriterStopped))
    }
}

#[cfg(test)]
mod tests;
