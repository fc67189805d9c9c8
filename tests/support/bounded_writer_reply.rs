//! `writer_reply(receiver, label)`: wait a bounded time for the writer's answer
//! on a ticket's channel, failing the test instead of hanging.

use batpak::store::StoreError;
use std::time::Duration;

/// How long the writer may take to answer.
pub const WRITER_REPLY_BOUND: Duration = Duration::from_secs(2);

/// Receives the writer's result for `label`; panics if none arrives within
/// [`WRITER_REPLY_BOUND`] or the writer hung up without answering.
pub fn writer_reply<T>(
    receiver: &flume::Receiver<Result<T, StoreError>>,
    label: &str,
) -> Result<T, StoreError> {
    match receiver.recv_timeout(WRITER_REPLY_BOUND) {
        Ok(result) => result,
        Err(flume::RecvTimeoutError::Timeout) => {
            panic!("{label}: no writer reply within {WRITER_REPLY_BOUND:?}")
        }
        Err(flume::RecvTimeoutError::Disconnected) => {
            panic!("{label}: the writer dropped the reply channel without answering")
        }
    }
}
