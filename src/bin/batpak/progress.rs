//! Progress lines for long operations: a short phase line on stderr with the
//! time elapsed since the command started, only when stderr is a terminal, so
//! pipes, scripts and tests see nothing.

use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// At most one counting line per this interval.
const TICK: Duration = Duration::from_secs(1);

/// Where progress lines go, if anywhere.
pub(crate) struct Progress {
    sink: Option<RefCell<Box<dyn Write>>>,
    start: Instant,
    last: Cell<Instant>,
}

impl Progress {
    /// Lines on stderr when it is a terminal; silence otherwise.
    pub fn on_stderr() -> Self {
        let stderr = std::io::stderr();
        let sink: Option<Box<dyn Write>> = if stderr.is_terminal() {
            Some(Box::new(stderr))
        } else {
            None
        };
        Self::to(sink)
    }

    /// Lines into `sink` (`None`: silence).
    pub fn to(sink: Option<Box<dyn Write>>) -> Self {
        let now = Instant::now();
        Self {
            sink: sink.map(RefCell::new),
            start: now,
            last: Cell::new(now),
        }
    }

    /// Starts (or finishes) a phase: one line naming it.
    pub fn phase(&self, what: &str) {
        let Some(sink) = &self.sink else { return };
        let now = Instant::now();
        self.last.set(now);
        let elapsed = now.duration_since(self.start).as_secs_f64();
        // A progress line that cannot be written is not worth failing for.
        let _ = writeln!(sink.borrow_mut(), "batpak: [{elapsed:7.2}s] {what}");
    }

    /// Within a long loop: `done` of `total` items, at most once a second.
    pub fn tick(&self, what: &str, done: usize, total: usize) {
        if self.sink.is_some() && self.last.get().elapsed() >= TICK {
            self.phase(&format!("{what}: {done}/{total}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn phase_lines_carry_the_elapsed_time() {
        let out = Shared::default();
        let progress = Progress::to(Some(Box::new(out.clone())));
        progress.phase("opening data");
        progress.tick("verifying", 1, 2); // within a second of the last line: quiet
        let text = String::from_utf8(out.0.borrow().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.starts_with("batpak: ["), "{text}");
        assert!(text.trim_end().ends_with("s] opening data"), "{text}");
    }

    #[test]
    fn silence_writes_nothing() {
        let progress = Progress::to(None);
        progress.phase("opening");
        progress.tick("verifying", 1, 2);
    }
}
