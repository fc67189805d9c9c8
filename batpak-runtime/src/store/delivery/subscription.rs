//! Lossy push subscriptions. Each subscription has a bounded channel; the writer
//! publishes an event, then offers a [`Notification`] to every subscription whose
//! region matches with a non-blocking send. A subscriber that falls behind loses
//! the notifications that do not fit in its channel (never the writer's time) and
//! can see how many with [`Subscription::dropped`]. When the store closes, the
//! channel closes and `recv` returns `None`. For delivery without loss, use a cursor.

pub use crate::store::writer::notify::Notification;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A lossy subscription to a region.
#[derive(Debug)]
pub struct Subscription {
    rx: flume::Receiver<Notification>,
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    /// The user's end of a subscription the writer feeds.
    pub(crate) fn new(rx: flume::Receiver<Notification>, dropped: Arc<AtomicU64>) -> Self {
        Self { rx, dropped }
    }

    /// Waits for the next notification; `None` once the store has closed.
    pub fn recv(&self) -> Option<Notification> {
        self.rx.recv().ok()
    }

    /// Waits at most `timeout` for the next notification.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Notification> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// The next notification if one is waiting.
    pub fn try_recv(&self) -> Option<Notification> {
        self.rx.try_recv().ok()
    }

    /// Notifications lost so far because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Whether the store closed this subscription.
    pub fn is_closed(&self) -> bool {
        self.rx.is_disconnected() && self.rx.is_empty()
    }

    /// Turns the subscription into a pipeline of filters, maps and folds.
    pub fn ops(self) -> SubscriptionOps {
        SubscriptionOps {
            sub: self,
            stages: Vec::new(),
            remaining: None,
        }
    }
}

type FilterFn = Box<dyn FnMut(&Notification) -> bool + Send>;
type MapFn = Box<dyn FnMut(Notification) -> Notification + Send>;

enum Stage {
    Filter(FilterFn),
    Map(MapFn),
}

/// A subscription with stages applied in order on each `recv`.
pub struct SubscriptionOps {
    sub: Subscription,
    stages: Vec<Stage>,
    remaining: Option<usize>,
}

impl std::fmt::Debug for SubscriptionOps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionOps")
            .field("stages", &self.stages.len())
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl SubscriptionOps {
    /// Keeps only notifications for which `pred` is true.
    pub fn filter(mut self, pred: impl FnMut(&Notification) -> bool + Send + 'static) -> Self {
        self.stages.push(Stage::Filter(Box::new(pred)));
        self
    }

    /// Transforms each notification.
    pub fn map(mut self, f: impl FnMut(Notification) -> Notification + Send + 'static) -> Self {
        self.stages.push(Stage::Map(Box::new(f)));
        self
    }

    /// Ends after `n` notifications.
    pub fn take(mut self, n: usize) -> Self {
        self.remaining = Some(self.remaining.map_or(n, |r| r.min(n)));
        self
    }

    /// Folds notifications into a state; each `recv` yields what `f` returns and
    /// `None` from `f` ends the fold.
    pub fn scan<S, F>(self, init: S, f: F) -> ScanSubscriptionOps<S, F>
    where
        F: FnMut(&mut S, &Notification) -> Option<S>,
    {
        ScanSubscriptionOps {
            ops: self,
            state: init,
            f,
            done: false,
        }
    }

    /// Notifications lost so far because the channel was full.
    pub fn dropped(&self) -> u64 {
        self.sub.dropped()
    }

    /// Waits for the next notification that passes every stage; `None` when the
    /// store closed or `take` is exhausted.
    pub fn recv(&mut self) -> Option<Notification> {
        if self.remaining == Some(0) {
            return None;
        }
        'next: loop {
            let mut n = self.sub.recv()?;
            for stage in &mut self.stages {
                match stage {
                    Stage::Filter(pred) => {
                        if !pred(&n) {
                            continue 'next;
                        }
                    }
                    Stage::Map(f) => n = f(n),
                }
            }
            if let Some(r) = &mut self.remaining {
                *r -= 1;
            }
            return Some(n);
        }
    }
}

/// A subscription folded into a state by [`SubscriptionOps::scan`].
pub struct ScanSubscriptionOps<S, F> {
    ops: SubscriptionOps,
    state: S,
    f: F,
    done: bool,
}

impl<S: std::fmt::Debug, F> std::fmt::Debug for ScanSubscriptionOps<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanSubscriptionOps")
            .field("state", &self.state)
            .field("done", &self.done)
            .finish()
    }
}

impl<S, F> ScanSubscriptionOps<S, F>
where
    F: FnMut(&mut S, &Notification) -> Option<S>,
{
    /// Waits for the next notification and returns the folded value.
    pub fn recv(&mut self) -> Option<S> {
        if self.done {
            return None;
        }
        let n = self.ops.recv()?;
        let out = (self.f)(&mut self.state, &n);
        self.done = out.is_none();
        out
    }

    /// The current state.
    pub fn state(&self) -> &S {
        &self.state
    }
}
