//! What the store tells an operator's dashboards: `tracing` events and spans
//! (cargo feature `tracing`) and metrics through the `metrics` facade (cargo
//! feature `metrics`). Every function here is a no-op without its feature,
//! and takes plain numbers so the call sites cost nothing then; a [`Timer`]
//! reads the clock only when a feature is on.
//!
//! Names (all under `batpak.`): histograms `append.seconds`, `fsync.seconds`,
//! `group.commands`, `group.events`; counters `events.written`,
//! `bytes.written`, `segments.rotated`, `compactions`, `writer.failures`,
//! `schema.refusals`, `subscriber.dropped`; gauges `writer.queue`,
//! `cursor.lag`. Tracing targets: `batpak::open`, `batpak::writer`,
//! `batpak::maintenance`, `batpak::schema`.

use std::time::Duration;

/// Measures a duration when a feature wants it; reads no clock otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timer(#[allow(dead_code)] Option<std::time::Instant>);

impl Timer {
    /// Starts (when a feature is on).
    #[inline]
    pub(crate) fn start() -> Self {
        Self(cfg!(any(feature = "tracing", feature = "metrics")).then(std::time::Instant::now))
    }

    /// The time since `start`, zero when no feature is on.
    #[inline]
    pub(crate) fn elapsed(self) -> Duration {
        self.0.map_or(Duration::ZERO, |t| t.elapsed())
    }
}

/// A `tracing` span around a long operation (open, compaction, backup),
/// entered until the guard drops; nothing without the feature.
#[cfg(feature = "tracing")]
pub(crate) type Span = tracing::span::EnteredSpan;
/// A `tracing` span around a long operation; nothing without the feature.
#[cfg(not(feature = "tracing"))]
#[derive(Debug)]
pub(crate) struct Span;

/// Enters the span `name` (`batpak.open`, `batpak.compact`, `batpak.backup`).
#[inline]
pub(crate) fn span(name: &'static str) -> Span {
    #[cfg(feature = "tracing")]
    {
        tracing::info_span!(target: "batpak", "operation", name).entered()
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = name;
        Span
    }
}

/// A store finished opening.
#[inline]
pub(crate) fn opened(
    read_only: bool,
    segments: usize,
    events: u64,
    cut_bytes: Option<u64>,
    from_snapshot: bool,
    took: Duration,
) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "batpak::open",
        read_only,
        segments,
        events,
        cut_bytes,
        from_snapshot,
        seconds = took.as_secs_f64(),
        "store opened"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (read_only, segments, events, cut_bytes, from_snapshot, took);
}

/// The writer ended a group: `commands` commands, `events` events and
/// `bytes` bytes written, and the fsync's duration if it synced.
#[inline]
pub(crate) fn group_committed(commands: usize, events: u64, bytes: u64, fsync: Option<Duration>) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "batpak::writer",
        commands,
        events,
        bytes,
        fsync_seconds = fsync.map(|d| d.as_secs_f64()),
        "group committed"
    );
    #[cfg(feature = "metrics")]
    {
        metrics::histogram!("batpak.group.commands").record(commands as f64);
        metrics::histogram!("batpak.group.events").record(events as f64);
        metrics::counter!("batpak.events.written").increment(events);
        metrics::counter!("batpak.bytes.written").increment(bytes);
        if let Some(d) = fsync {
            metrics::histogram!("batpak.fsync.seconds").record(d.as_secs_f64());
        }
    }
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = (commands, events, bytes, fsync);
}

/// Commands waiting in the writer's channel when it took a group.
#[inline]
pub(crate) fn queue_depth(queued: usize) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("batpak.writer.queue").set(queued as f64);
    #[cfg(not(feature = "metrics"))]
    let _ = queued;
}

/// A caller's append (or batch) was answered after `took`.
#[inline]
pub(crate) fn append_answered(took: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("batpak.append.seconds").record(took.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = took;
}

/// The writer started segment `segment`.
#[inline]
pub(crate) fn rotated(segment: u64) {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "batpak::writer", segment, "segment rotated");
    #[cfg(feature = "metrics")]
    metrics::counter!("batpak.segments.rotated").increment(1);
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = segment;
}

/// A compaction rewrote `segments` segments, giving back `bytes`.
#[inline]
pub(crate) fn compacted(segments: u64, bytes: u64, events: u64, took: Duration) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "batpak::maintenance",
        segments,
        bytes_reclaimed = bytes,
        events_dropped = events,
        seconds = took.as_secs_f64(),
        "compaction done"
    );
    #[cfg(feature = "metrics")]
    metrics::counter!("batpak.compactions").increment(1);
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = (segments, bytes, events, took);
}

/// A backup (`snapshot(dest)`) or the index snapshot at close finished.
#[inline]
pub(crate) fn snapshot_done(what: &'static str, ok: bool, took: Duration) {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "batpak::maintenance", what, ok, seconds = took.as_secs_f64(), "snapshot done");
    #[cfg(not(feature = "tracing"))]
    let _ = (what, ok, took);
}

/// The writer stopped after an I/O error.
#[inline]
pub(crate) fn writer_failed(op: &dyn std::fmt::Debug, error: &std::io::Error) {
    #[cfg(feature = "tracing")]
    tracing::error!(target: "batpak::writer", op = ?op, %error, "writer stopped after an I/O error");
    #[cfg(feature = "metrics")]
    metrics::counter!("batpak.writer.failures").increment(1);
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = (op, error);
}

/// A write was refused because its schema drifted from the log's ledger.
#[inline]
pub(crate) fn schema_refused(error: &dyn std::fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "batpak::schema", %error, "write refused by the schema ledger");
    #[cfg(feature = "metrics")]
    metrics::counter!("batpak.schema.refusals").increment(1);
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = error;
}

/// A lossy subscriber missed `n` notifications (its channel was full).
#[inline]
pub(crate) fn subscriber_dropped(n: u64) {
    #[cfg(feature = "metrics")]
    metrics::counter!("batpak.subscriber.dropped").increment(n);
    #[cfg(not(feature = "metrics"))]
    let _ = n;
}

/// A cursor is `lag` events behind the visible log.
#[inline]
pub(crate) fn cursor_lag(lag: u64) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("batpak.cursor.lag").set(lag as f64);
    #[cfg(not(feature = "metrics"))]
    let _ = lag;
}
