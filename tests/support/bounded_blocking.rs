//! `blocking(name, f)`: run a closure that may block on a named thread and fail
//! the test if it does not finish within a bound, instead of hanging the suite.

use std::time::Duration;

/// How long a blocking step may take before the test fails.
pub const BLOCKING_BOUND: Duration = Duration::from_secs(2);

/// Runs `f` on a thread called `name` and returns its value; panics if it takes
/// longer than [`BLOCKING_BOUND`] or panics itself.
pub fn blocking<T, F>(name: &str, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap_or_else(|e| panic!("could not spawn blocking step {name}: {e}"));
    match rx.recv_timeout(BLOCKING_BOUND) {
        Ok(value) => {
            let _ = handle.join();
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("blocking step {name} did not finish within {BLOCKING_BOUND:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("blocking step {name} panicked")
        }
    }
}
