//! The combining write path. The writer's state lives behind one mutex that
//! the writer thread and callers share: a caller whose blocking append
//! (`append*`, which waits for its answer at once) finds nothing queued and
//! the writer idle carries its own command out, on its own thread,
//! through exactly the code the writer thread runs (validate, encode, write,
//! sync per cadence, publish, notify, answer). Everything else (control
//! commands, submitted writes, whose callers pipeline them and which the
//! writer groups into one write, and appends that find the writer busy or
//! commands queued) goes
//! through the mailbox to the writer thread, which takes whatever is queued
//! into one group as before. While producers share fsyncs (the writer
//! thread's groups hold several commands), appends that need an fsync of
//! their own (`every_n_events = 1`, a `Durable` gate) go to the writer
//! thread, so they keep sharing them.
//!
//! There is still one writer: whoever holds the mutex. What the fast path
//! saves is the round trip to another thread, two scheduler wake-ups per
//! append, which capped a single producer at a fraction of the disk's rate.
//!
//! Order: a command sent to the mailbox counts as `pending` from before it is
//! sent until the writer has carried it out (under the mutex). The fast path
//! runs only when, holding the mutex, it sees nothing pending, so a caller's
//! earlier submitted command is always carried out before its later append.

use super::{command::Command, handoff, refuse, Writer};
use crate::store::error::StoreError;
use crate::store::options::DurabilityGate;
use crate::store::writer::shared::Shared;
use flume::{Receiver, Sender};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

/// The writer's state, shared by the writer thread and callers.
pub(crate) struct Combiner {
    /// `None` once the writer stopped (shutdown, or a panic while writing).
    writer: Mutex<Option<Writer>>,
    /// Commands sent to the mailbox and not yet carried out.
    pending: AtomicUsize,
    /// The writer thread's last group held more than one command: producers
    /// are sharing fsyncs.
    sharing: AtomicBool,
    shared: Arc<Shared>,
    /// Appends carried out on their callers' threads (tests check both paths).
    #[cfg(test)]
    ran_here: AtomicUsize,
}

impl Combiner {
    /// Wraps `writer`; it runs from now on under the combiner's mutex.
    pub(crate) fn new(writer: Writer) -> Arc<Self> {
        let shared = Arc::clone(&writer.shared);
        Arc::new(Self {
            writer: Mutex::new(Some(writer)),
            pending: AtomicUsize::new(0),
            sharing: AtomicBool::new(false),
            shared,
            #[cfg(test)]
            ran_here: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Writer>> {
        // A panic while writing is caught before it can unwind through the
        // guard; should one poison it anyway, the state is `None` or whole.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Carries `command` out on the calling thread when it is an append,
    /// nothing is queued and the writer is idle; else hands it back.
    fn try_run(&self, command: Command) -> Option<Command> {
        if !self.may_run_here(&command) || self.pending.load(Ordering::SeqCst) != 0 {
            return Some(command);
        }
        let mut guard = match self.writer.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::WouldBlock | TryLockError::Poisoned(_)) => return Some(command),
        };
        if self.pending.load(Ordering::SeqCst) != 0 {
            return Some(command);
        }
        let Some(writer) = guard.as_mut() else {
            // Stopped: the writer thread answers it.
            return Some(command);
        };
        let Command::Append {
            items,
            batch,
            fenced,
            reply,
        } = command
        else {
            return Some(command);
        };
        #[cfg(test)]
        self.ran_here.fetch_add(1, Ordering::SeqCst);
        // The items stay here and are freed on this thread, which made them.
        let ran = catch_unwind(AssertUnwindSafe(|| {
            writer.last_group_len = 1;
            writer.maybe_snapshot();
            writer.append_borrowed(&items, batch, fenced, reply);
            writer.flush();
        }));
        if ran.is_err() {
            // The command's reply channel went down with the writer's state:
            // its caller hears `WriterStopped`.
            self.stop(&mut guard);
        }
        drop(guard);
        drop(items);
        None
    }

    /// Whether `command` may take the fast path: an append, and one that
    /// needs no fsync of its own unless producers are not sharing fsyncs
    /// right now. While the writer thread's groups hold several commands, an
    /// append that syncs (every event synced, or a `Durable` gate) goes to
    /// it, so the producers queued behind one fsync share the next: a caller
    /// syncing alone on its own thread would halve that sharing. A lone
    /// producer keeps the fast path.
    fn may_run_here(&self, command: &Command) -> bool {
        let Command::Append { items, .. } = command else {
            return false;
        };
        let syncs_alone = self.shared.config.sync.every_n_events == 1
            || items
                .as_slice()
                .iter()
                .any(|i| i.options.gate == DurabilityGate::Durable);
        !syncs_alone || !self.sharing.load(Ordering::Relaxed)
    }

    /// Drops the writer's state after a panic and refuses writes from now on.
    fn stop(&self, guard: &mut MutexGuard<'_, Option<Writer>>) {
        guard.take();
        writer_died(&self.shared);
    }
}

/// Marks the store as having no writer: later writes are refused at once,
/// waiters on the frontier and subscribers are released.
fn writer_died(shared: &Shared) {
    shared.frontier.writer_stopped();
    shared.subscribers.close_all();
    shared.fence_active.store(false, Ordering::Release);
}

/// The store handle's way to the writer: the mailbox, and the fast path.
pub(crate) struct Mailbox {
    tx: Sender<Command>,
    combiner: Arc<Combiner>,
}

impl Mailbox {
    /// A mailbox over `tx` for the writer in `combiner`.
    pub(crate) fn new(tx: Sender<Command>, combiner: Arc<Combiner>) -> Self {
        Self { tx, combiner }
    }

    /// Carries `command` out at once (with `here`: an append whose caller
    /// waits for it, when possible) or queues it, retrying for `budget` while
    /// the mailbox is full before blocking. Submitted writes are always
    /// queued: the writer groups what a caller pipelines into one write.
    pub(crate) fn send(
        &self,
        command: Command,
        budget: Duration,
        here: bool,
    ) -> Result<(), StoreError> {
        let command = if here {
            match self.combiner.try_run(command) {
                Some(command) => command,
                None => return Ok(()),
            }
        } else {
            command
        };
        self.combiner.pending.fetch_add(1, Ordering::SeqCst);
        handoff::send(&self.tx, command, budget).map_err(|_| {
            self.combiner.pending.fetch_sub(1, Ordering::SeqCst);
            StoreError::WriterStopped
        })
    }

    /// Commands queued and not yet taken by the writer thread.
    pub(crate) fn len(&self) -> usize {
        self.tx.len()
    }
}

/// The writer thread's body: takes what is queued into groups and carries
/// them out under the combiner's mutex. If writing panics, the state is
/// dropped and the thread stays alive as a refuser: every queued and later
/// command is answered `WriterStopped` until the store shuts down, so no
/// ticket ever hangs.
pub(crate) fn run(combiner: Arc<Combiner>, rx: Receiver<Command>) {
    let _guard = super::ExitGuard(Arc::clone(&combiner.shared));
    let mut commands = Vec::new();
    while let Ok(first) = handoff::recv(&rx, handoff::COMMAND_POLL) {
        commands.push(first);
        let mut guard = combiner.lock();
        let Some(writer) = guard.as_mut() else {
            let taken = commands.len();
            let shutdown = refuse_all(&mut commands);
            combiner.pending.fetch_sub(taken, Ordering::SeqCst);
            if shutdown {
                return;
            }
            continue;
        };
        let max = writer.config.group_commands_max;
        writer.gather(&rx, &mut commands, max);
        let taken = commands.len();
        combiner.sharing.store(taken > 1, Ordering::Relaxed);
        let served = catch_unwind(AssertUnwindSafe(|| writer.serve_group(&mut commands, &rx)));
        // Whatever the group did not reach went down with it (a panic):
        // dropping the commands answers their callers `WriterStopped`.
        commands.clear();
        combiner.pending.fetch_sub(taken, Ordering::SeqCst);
        match served {
            Ok(false) => {}
            Ok(true) => {
                guard.take();
                // What the group drained after the shutdown is counted too.
                combiner.pending.store(0, Ordering::SeqCst);
                return;
            }
            Err(_) => combiner.stop(&mut guard),
        }
    }
    // Every handle dropped without close: cancel a live fence and sync.
    let mut guard = combiner.lock();
    if let Some(mut writer) = guard.take() {
        let _ = catch_unwind(AssertUnwindSafe(|| writer.finish()));
    }
}

/// Answers every command of a group `WriterStopped`; whether one of them
/// was the shutdown.
fn refuse_all(commands: &mut Vec<Command>) -> bool {
    let mut shutdown = false;
    for command in commands.drain(..) {
        shutdown |= matches!(command, Command::Shutdown { .. });
        refuse(command, || StoreError::WriterStopped);
    }
    shutdown
}

#[cfg(test)]
pub(crate) mod tests;
