//! The writer: the only code that mutates segment files. It takes closed
//! [`Command`]s from a bounded channel, drains whatever is queued into one group,
//! writes the group's frames with one `write` and (per the sync cadence) one
//! `fdatasync`, publishes the group's events to the index, notifies subscribers and
//! only then answers the callers. Fenced writes are written at once but published
//! when their fence commits. Its state sits behind one mutex (`combine`): the
//! writer thread runs the groups, and an append that finds the writer idle
//! runs as a group of one on the caller's thread.

mod append;
pub(crate) mod combine;
pub(crate) mod command;
mod disk;
mod fence;
pub(crate) mod handoff;
mod maintain;
mod names;
pub(crate) mod notify;
mod recycle;
mod replicate;
pub(crate) mod shared;
pub(crate) mod slot;
mod tips;
mod validate;

use crate::event::id::IdClock;
use crate::store::config::StoreConfig;
use crate::store::error::{IoOp, StoreError};
use crate::store::index::{Link, Record};
use crate::store::locking;
use crate::store::log::backup::copy_segments;
use crate::store::log::frame::{self, TYPE_FENCE_CANCEL};
use crate::store::log::io::LogFile;
use crate::store::log::recovery::{KeyUse, WriterSeed};
use crate::store::log::segment;
use crate::store::log::watermark::{self, Mark, MarkWriter};
use crate::store::observe;
use crate::store::options::AppendReceipt;
use append::Receipts;
pub(crate) use command::{Command, Done, Items, KeysReply, ReplyTo};
use fence::Fence;
use flume::Receiver;
use shared::Shared;
use std::collections::HashMap;
use std::sync::Arc;

enum Reply {
    Append(ReplyTo, Result<Receipts, StoreError>),
    Done(Done, Result<(), StoreError>),
    Keys(KeysReply, Result<Vec<Option<AppendReceipt>>, StoreError>),
}

impl Reply {
    fn is_ok(&self) -> bool {
        match self {
            Reply::Append(_, r) => r.is_ok(),
            Reply::Done(_, r) => r.is_ok(),
            Reply::Keys(_, r) => r.is_ok(),
        }
    }

    fn send(self) {
        if let Reply::Append(_, Err(e)) = &self {
            if e.schema_rule().is_some() {
                crate::store::observe::schema_refused(e);
            }
        }
        // A caller that stopped waiting dropped its receiver; nothing to do then.
        match self {
            Reply::Append(ReplyTo::One(tx), r) => {
                let _ = tx.send(r.map(Receipts::into_one));
            }
            Reply::Append(ReplyTo::Slot(tx), r) => tx.send(r.map(Receipts::into_one)),
            Reply::Append(ReplyTo::Many(tx), r) => {
                let _ = tx.send(r.map(Receipts::into_many));
            }
            Reply::Done(tx, r) => {
                let _ = tx.send(r);
            }
            Reply::Keys(tx, r) => {
                let _ = tx.send(r);
            }
        }
    }

    fn fail(self, err: impl Fn() -> StoreError) -> Self {
        match self {
            Reply::Append(to, _) => Reply::Append(to, Err(err())),
            Reply::Done(to, _) => Reply::Done(to, Err(err())),
            Reply::Keys(to, _) => Reply::Keys(to, Err(err())),
        }
    }
}

struct Pub {
    record: Record,
    link: Option<Link>,
}

#[derive(Default)]
struct Group {
    publish: Vec<Pub>,
    replies: Vec<Reply>,
    force_sync: bool,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    config: StoreConfig,
    /// The active segment, opened through the store's `LogIo`.
    file: Box<dyn LogFile>,
    segment_id: u64,
    segment_len: u64,
    /// Whether event frames may be lean: the active segment's header is of
    /// the current format version (an older one is continued in its own).
    lean_frames: bool,
    /// The active segment's length at its last successful sync (or as the
    /// open found it): what a failed write or sync cuts it back to.
    synced_len: u64,
    buf: Vec<u8>,
    clock: IdClock,
    next_sequence: u64,
    /// The highest sequence whose frame reached the OS (the frontier's
    /// `written`, kept here so the write path need not lock the frontier to
    /// read it).
    written_through: u64,
    names: names::Names,
    /// What validation learned about the items of the command at hand.
    known: Vec<tips::Known>,
    keys: HashMap<u128, KeyUse>,
    next_batch_id: u64,
    next_fence_id: u64,
    fence: Option<Fence>,
    unsynced_events: u64,
    unsynced_bytes: bool,
    last_group_len: usize,
    /// Items written in this group, handed back to callers to free.
    written: Vec<Items>,
    group: Group,
    failure: Option<(IoOp, std::io::ErrorKind, String)>,
    /// Records how far the log is durable after each sync (`durable.mark`).
    mark: MarkWriter,
    /// A replica's writer: refuses user writes, takes `Command::Replicate`.
    replica: bool,
    /// A rotation made an index snapshot due (`enable_mmap_index`): saved
    /// before the next group that finds no fence live.
    snapshot_due: bool,
    /// The last sequence the latest index snapshot covered (0 when the open
    /// found none covering the whole log: the first rotation saves one).
    snapshot_sequence: u64,
}

/// Marks the writer as stopped however its thread ends (return or panic).
struct ExitGuard(Arc<Shared>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.frontier.writer_stopped();
        self.0.subscribers.close_all();
    }
}

impl Writer {
    /// Prepares the writer from recovered state; creates the first segment of a
    /// new store and seals a fence the previous process left open.
    pub(crate) fn new(shared: Arc<Shared>, seed: WriterSeed) -> Result<Self, StoreError> {
        let config = shared.config.clone();
        let dir = config.data_dir.clone();
        let dir = &dir;
        let io = &*shared.io;
        let (segment_id, segment_len, file, lean_frames) = match seed.active_segment {
            Some((id, len)) => (
                id,
                len,
                segment::open_append(io, dir, id)?,
                segment::holds_lean_frames(io, dir, id)?,
            ),
            None => (
                1,
                segment::SEGMENT_HEADER_BYTES,
                segment::create_segment(io, dir, 1, None)?,
                true,
            ),
        };
        let mut seed = seed;
        let names = names::Names::from_seed(&mut seed);
        let mark = MarkWriter::resume(watermark::load(io, dir)?);
        let covered = {
            let report = locking::lock(&shared.report);
            report.from_snapshot && report.snapshot_resumed_at.is_none()
        };
        let mut writer = Self {
            config,
            file,
            segment_id,
            segment_len,
            lean_frames,
            synced_len: segment_len,
            buf: Vec::with_capacity(64 << 10),
            clock: IdClock::resume_after(seed.last_event_id),
            next_sequence: seed.next_sequence,
            written_through: shared.frontier.get().written,
            names,
            known: Vec::new(),
            keys: seed.keys,
            next_batch_id: seed.next_batch_id,
            next_fence_id: seed.next_fence_id,
            fence: None,
            unsynced_events: 0,
            // Bytes a crashed process left may be in the page cache only: the
            // first sync covers them before a watermark claims them.
            unsynced_bytes: seed.active_segment.is_some(),
            last_group_len: 1,
            written: Vec::new(),
            group: Group::default(),
            failure: None,
            mark,
            replica: false,
            snapshot_due: false,
            snapshot_sequence: if covered { seed.next_sequence - 1 } else { 0 },
            shared,
        };
        writer.map_appends();
        if let Some(fence_id) = seed.unterminated_fence {
            frame::put_marker(&mut writer.buf, TYPE_FENCE_CANCEL, fence_id, None);
            writer.group.force_sync = true;
            writer.flush();
            if let Some((op, kind, msg)) = writer.failure.take() {
                return Err(StoreError::io(
                    op,
                    dir.clone(),
                    std::io::Error::new(kind, msg),
                ));
            }
        }
        Ok(writer)
    }

    /// Carries out a group of commands the writer thread took from the
    /// mailbox; `true` when it held the shutdown (the writer is done: what is
    /// still queued is refused).
    fn serve_group(&mut self, commands: &mut Vec<Command>, rx: &Receiver<Command>) -> bool {
        observe::queue_depth(rx.len());
        self.maybe_snapshot();
        let mut shutdown = None;
        for command in commands.drain(..) {
            if shutdown.is_some() {
                refuse(command, || StoreError::StoreClosed);
                continue;
            }
            match command {
                Command::Shutdown { reply } => shutdown = Some(reply),
                other => self.handle(other),
            }
        }
        if let Some(reply) = shutdown {
            self.shutdown(reply);
            while let Ok(c) = rx.try_recv() {
                refuse(c, || StoreError::StoreClosed);
            }
            return true;
        }
        self.flush();
        false
    }

    /// Every handle dropped without close, and the first part of a close:
    /// cancel a live fence, write, cut reserved space, sync, record the mark.
    fn finish(&mut self) {
        self.cancel_fence_if_live();
        self.group.force_sync = true;
        self.write_buf();
        self.trim_file();
        self.flush();
        self.record_mark(true);
    }

    /// Records that the active segment is durable up to its current length;
    /// `sync` makes the record itself durable (close). Only called after a
    /// sync that covered every byte written, and never after a failure.
    fn record_mark(&mut self, sync: bool) {
        if self.failure.is_some() || self.unsynced_bytes {
            return;
        }
        let mark = Mark {
            segment: self.segment_id,
            len: self.segment_len,
        };
        let (io, dir) = (&*self.shared.io, &self.config.data_dir);
        // A failed record would only leave an older mark (a wider window for
        // torn tails), but an I/O error anywhere in the directory means the
        // disk can no longer be trusted: stop, as after a failed sync. The
        // group's data is durable; its callers hear of the failure, which
        // the commit protocol allows ("after the fdatasync, before the
        // answer").
        if let Err(e) = self.mark.record(io, dir, mark, sync) {
            self.fail(IoOp::Sync, &e);
        }
    }

    /// Takes what is queued into the group. When every group is fsynced and the
    /// last group had several producers' commands, waits a little (bounded by
    /// `handoff::GATHER_BUDGET`) for as many again: one fsync then serves them all,
    /// which is what makes per-event-fsync throughput grow with producers.
    fn gather(&mut self, rx: &Receiver<Command>, commands: &mut Vec<Command>, max: usize) {
        let drain = |commands: &mut Vec<Command>| {
            while commands.len() < max {
                match rx.try_recv() {
                    Ok(c) => commands.push(c),
                    Err(_) => break,
                }
            }
        };
        drain(commands);
        let target = self.last_group_len.min(max);
        if self.config.sync.every_n_events == 1 && commands.len() < target {
            let start = std::time::Instant::now();
            while commands.len() < target && start.elapsed() < handoff::GATHER_BUDGET {
                std::thread::yield_now();
                drain(commands);
            }
        }
        self.last_group_len = commands.len();
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Append {
                items,
                batch,
                fenced,
                reply,
            } => self.append(items, batch, fenced, reply),
            Command::Sync { reply } => {
                self.group.force_sync = true;
                self.group.replies.push(Reply::Done(reply, Ok(())));
            }
            Command::BeginFence { reply } => self.begin_fence(reply),
            Command::CommitFence { reply } => self.commit_fence(reply),
            Command::CancelFence { reply } => self.cancel_fence(reply),
            Command::Backup { dest, reply } => {
                let _span = observe::span("batpak.backup");
                let timer = observe::Timer::start();
                let result = self.after_sync(|w| {
                    let (io, dir) = (&*w.shared.io, &w.config.data_dir);
                    copy_segments(io, dir, &dest, w.segment_id, w.segment_len)
                });
                observe::snapshot_done("backup", result.is_ok(), timer.elapsed());
                let _ = reply.send(result);
            }
            Command::Compact { reply } => {
                let _span = observe::span("batpak.compact");
                let timer = observe::Timer::start();
                let result = self.compact();
                if let Ok(r) = &result {
                    let (segments, events) = (r.segments_rewritten, r.events_dropped);
                    observe::compacted(segments, r.bytes_reclaimed, events, timer.elapsed());
                }
                let _ = reply.send(result);
            }
            Command::Keys { keys, reply } => {
                let found = keys
                    .iter()
                    .map(|k| self.keys.get(k).map(|used| used.receipt))
                    .collect();
                self.group.replies.push(Reply::Keys(reply, Ok(found)));
            }
            Command::Replicate {
                names,
                events,
                reply,
            } => self.replicate(names, events, reply),
            Command::Shutdown { reply } => self.shutdown(reply),
            #[cfg(test)]
            Command::Crash => panic!("injected writer crash"),
            #[cfg(test)]
            Command::SnapshotSoon => self.snapshot_due = true,
        }
    }

    fn shutdown(&mut self, reply: Done) {
        self.finish();
        let result = match &self.failure {
            Some(_) => Err(StoreError::WriterStopped),
            None => {
                if self.config.enable_mmap_index {
                    // Best effort: without it, the next open scans.
                    let _ = self.save_snapshot();
                }
                Ok(())
            }
        };
        let _ = reply.send(result);
    }

    /// Ends a group: write, sync per cadence, publish, notify, reply.
    fn flush(&mut self) {
        let bytes = self.buf.len() as u64;
        let events = (self.next_sequence - 1).saturating_sub(self.written_through);
        // Announced with the publication below (one frontier update per
        // group), unless a sync comes first: it may raise the durable mark
        // only up to the written one.
        let mut written = self.write_out();
        let mut fsync = None;
        if self.group.force_sync
            || self.unsynced_events >= u64::from(self.config.sync.every_n_events)
        {
            self.announce(written.take());
            let timer = observe::Timer::start();
            self.sync_file();
            fsync = Some(timer.elapsed());
        }
        if self.failure.is_none() && bytes > 0 {
            observe::group_committed(self.last_group_len, events, bytes, fsync);
        }
        // The group's vectors keep their capacity from group to group.
        self.group.force_sync = false;
        let mut replies = std::mem::take(&mut self.group.replies);
        let mut events = std::mem::take(&mut self.group.publish);
        if self.failure.is_some() {
            self.announce(written.take());
            for reply in replies.drain(..) {
                reply.fail(|| self.failure_error()).send();
            }
        } else {
            self.publish(&mut events, &mut written);
            self.announce(written.take());
            for reply in replies.drain(..) {
                reply.send();
            }
        }
        events.clear();
        self.group.replies = replies;
        self.group.publish = events;
        self.shared.recycler.park(&mut self.written);
    }

    /// Publishes `events` to the index and raises the visible mark, with
    /// the written mark when `written` holds one to announce (taken then).
    fn publish(&mut self, events: &mut Vec<Pub>, written: &mut Option<u64>) {
        if events.is_empty() {
            return;
        }
        let notify = !self.shared.subscribers.is_empty();
        let mut entries = Vec::new();
        let visible = {
            let mut index = locking::write(&self.shared.index);
            for p in events.drain(..) {
                index.push(p.record, p.link);
                if notify {
                    entries.push(index.entry(index.len() as u32 - 1));
                }
            }
            index.last_sequence()
        };
        let written = written.take();
        self.shared.frontier.advance(|f| {
            if let Some(written) = written {
                set_written(f, written);
            }
            f.visible = visible;
        });
        if self.fence.is_none() {
            self.names.age_tips();
        }
        if notify && !entries.is_empty() {
            self.shared.subscribers.notify(&entries);
        }
    }
}

/// Raises the accepted and written marks of `f` to `written`.
fn set_written(f: &mut crate::store::frontier::Frontier, written: u64) {
    f.accepted = written;
    f.written = written;
}

/// Why the writer stops on an index whose mapped base is `Unusable`.
const BASE_UNUSABLE: &str =
    "the index snapshot's image is damaged and could not be rebuilt from the log";

/// Answers a command the writer will not carry out.
fn refuse(command: Command, error: impl Fn() -> StoreError) {
    match command {
        Command::Append { reply, .. } => Reply::Append(reply, Err(error())).send(),
        Command::Sync { reply }
        | Command::BeginFence { reply }
        | Command::CommitFence { reply }
        | Command::CancelFence { reply }
        | Command::Backup { reply, .. }
        | Command::Replicate { reply, .. }
        | Command::Shutdown { reply } => Reply::Done(reply, Err(error())).send(),
        Command::Compact { reply } => {
            let _ = reply.send(Err(error()));
        }
        Command::Keys { reply, .. } => Reply::Keys(reply, Err(error())).send(),
        #[cfg(test)]
        Command::Crash | Command::SnapshotSoon => {}
    }
}
