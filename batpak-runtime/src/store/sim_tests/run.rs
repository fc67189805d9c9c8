//! Runs a workload against a store over a [`SimIo`] and records what was
//! attempted, what the store acknowledged and what it refused; `check` then
//! judges the disk a power loss left against this record.
//!
//! Every item's payload names it (`{"u": unit, "i": item, "p": padding}`), so
//! an event found after the power loss is traced back to the call that wrote
//! it, acknowledged or not.

use super::workload::{FenceEnd, Part, Step, Workload};
use crate::coordinate::Coordinate;
use crate::event::EventKind;
use crate::store::log::io::sim::{Fault, Fired, SimIo};
use crate::store::{
    AppendOptions, AppendReceipt, AppendTicket, BatchAppendItem, BatchAppendTicket, Store,
    StoreError,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The kind of every event of the simulation.
pub(super) const KIND: EventKind = EventKind::custom(0x3, 1);

/// The coordinate of entity number `coord`.
pub(super) fn coordinate(coord: u8) -> Coordinate {
    Coordinate::new(format!("e{coord}"), "s").expect("a valid coordinate")
}

/// The payload of item `item` of unit `unit`.
pub(super) fn payload(unit: usize, item: usize, pad: u16) -> serde_json::Value {
    serde_json::json!({"u": unit, "i": item, "p": "x".repeat(pad as usize)})
}

/// An attempted item.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) coord: u8,
    pub(super) pad: u16,
    /// Whether it reached the writer (a refused submit never does).
    pub(super) sent: bool,
}

/// What the store answered for a unit (one call, or a whole fence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Every item acknowledged.
    Acked,
    /// An error: all of its items may be visible, or none.
    Unknown,
    /// A cancelled or dropped fence: none of its items may ever be visible.
    Hidden,
}

/// One append, batch or fence.
#[derive(Debug)]
pub(super) struct Unit {
    pub(super) what: &'static str,
    pub(super) items: Vec<Item>,
    pub(super) outcome: Outcome,
}

/// An acknowledged event.
#[derive(Debug, Clone)]
pub(super) struct Ack {
    pub(super) unit: usize,
    pub(super) item: usize,
    pub(super) receipt: AppendReceipt,
}

/// A `snapshot(dest)` call.
#[derive(Debug)]
pub(super) struct SnapshotTry {
    pub(super) dest: PathBuf,
    pub(super) ok: bool,
    /// Acknowledged events before the call (a prefix of `Record::acked`).
    pub(super) acked_before: usize,
    /// Units attempted before the call (a prefix of `Record::units`).
    pub(super) units_before: usize,
}

/// Everything a run did.
#[derive(Debug, Default)]
pub(super) struct Record {
    pub(super) units: Vec<Unit>,
    /// In acknowledgement order.
    pub(super) acked: Vec<Ack>,
    /// How many of `acked` are known durable (acknowledged with a sync per
    /// event, or before a successful `sync`, `compact`, `snapshot`, `close`).
    pub(super) durable: usize,
    pub(super) snapshots: Vec<SnapshotTry>,
    /// Broken promises seen while running (an acknowledgement the store
    /// could not have made durable).
    pub(super) violations: Vec<String>,
    /// Stores opened after the fault fired (over what the page cache shows).
    pub(super) opened_after_fault: u32,
}

/// Steps run after a crash fired.
const STEPS_AFTER_CRASH: usize = 3;

/// A fenced submit's ticket.
enum Ticket {
    One(AppendTicket),
    Many(BatchAppendTicket),
}

/// The run in progress.
struct Ctx<'a> {
    workload: &'a Workload,
    io: &'a Arc<SimIo>,
    root: &'a Path,
    data: PathBuf,
    fault: Fault,
    /// The operation count when the current store was opened: a fault
    /// before it hit an earlier store, and this one may acknowledge.
    opened_at: u64,
    rec: Record,
}

/// Runs `workload` with its data directory `root/data` over `io`, whose
/// fault is `fault`, and drops the store at the end (a process exit, not a
/// `close`).
pub(super) fn execute(workload: &Workload, io: &Arc<SimIo>, root: &Path, fault: Fault) -> Record {
    let mut ctx = Ctx {
        workload,
        io,
        root,
        data: root.join("data"),
        fault,
        opened_at: 0,
        rec: Record::default(),
    };
    let mut store = ctx.open();
    let mut after_crash = 0;
    for step in &workload.steps {
        if matches!(fault, Fault::Crash { .. }) && io.fired().is_some() {
            // Every later operation fails: a few more steps show that the
            // store acknowledges nothing, the rest would show nothing new.
            after_crash += 1;
            if after_crash > STEPS_AFTER_CRASH {
                break;
            }
        }
        if matches!(step, Step::Reopen) {
            store = ctx.reopen(store.take());
            continue;
        }
        match &store {
            Some(s) => ctx.step(s, step),
            None => break,
        }
    }
    drop(store);
    ctx.rec
}

impl Ctx<'_> {
    fn open(&mut self) -> Option<Store> {
        self.opened_at = self.io.ops();
        let io: Arc<SimIo> = Arc::clone(self.io);
        let store = Store::open_with_io(self.workload.config(&self.data), io).ok();
        if store.is_some() && self.io.fired().is_some() {
            self.rec.opened_after_fault += 1;
        }
        store
    }

    fn reopen(&mut self, store: Option<Store>) -> Option<Store> {
        if store?.close().is_ok() {
            self.rec.durable = self.rec.acked.len();
        }
        self.open()
    }

    fn step(&mut self, store: &Store, step: &Step) {
        match step {
            Step::Append(part) => self.append(store, *part),
            Step::Batch(part) => self.batch(store, *part),
            Step::Fence { parts, end } => self.fence(store, parts, *end),
            Step::Sync => {
                let ok = store.sync().is_ok();
                self.synced(ok);
            }
            Step::Compact => {
                let ok = store.compact().is_ok();
                self.synced(ok);
            }
            Step::Snapshot => self.snapshot(store),
            Step::Reopen => unreachable!("handled by execute"),
        }
    }

    /// A call that syncs everything before it returned `ok`.
    fn synced(&mut self, ok: bool) {
        if ok {
            self.rec.durable = self.rec.acked.len();
        }
    }

    /// Whether the store must refuse every acknowledgement after `fired`: a
    /// crash fails every later operation, and a failed write or sync of a
    /// segment stops the writer for good (a store opened afterwards may go
    /// on).
    fn must_refuse(&self, fired: &Option<Fired>) -> bool {
        let Some(f) = fired.as_ref().filter(|f| f.op >= self.opened_at) else {
            return false;
        };
        let segment = f.path.parent() == Some(self.data.as_path())
            && f.path.extension().is_some_and(|e| e == "bpk");
        matches!(self.fault, Fault::Crash { .. }) || (f.what.touches_content() && segment)
    }

    /// A new unit of `parts`' items, none sent yet.
    fn unit(&mut self, what: &'static str, parts: &[Part]) -> usize {
        let items = parts
            .iter()
            .flat_map(|p| {
                (0..p.items).map(|_| Item {
                    coord: p.coord,
                    pad: p.pad,
                    sent: false,
                })
            })
            .collect();
        self.rec.units.push(Unit {
            what,
            items,
            outcome: Outcome::Unknown,
        });
        self.rec.units.len() - 1
    }

    /// The batch items `first..first + part.items` of `unit`, marked sent.
    fn items(&mut self, unit: usize, first: usize, part: Part) -> Vec<BatchAppendItem> {
        (first..first + part.items as usize)
            .map(|i| {
                self.rec.units[unit].items[i].sent = true;
                let p = payload(unit, i, part.pad);
                BatchAppendItem::raw(&coordinate(part.coord), KIND, &p, AppendOptions::new())
                    .expect("a serializable payload")
            })
            .collect()
    }

    /// `unit` was acknowledged with `receipts`. Its last operation is the
    /// write or sync that made it durable, so a fault before or during the
    /// call that stops the writer must have failed it.
    fn acked(&mut self, unit: usize, receipts: Vec<AppendReceipt>) {
        if self.must_refuse(&self.io.fired()) {
            let what = self.rec.units[unit].what;
            self.rec
                .violations
                .push(format!("unit {unit} ({what}) acknowledged after the fault"));
        }
        for (item, receipt) in receipts.into_iter().enumerate() {
            self.rec.acked.push(Ack {
                unit,
                item,
                receipt,
            });
        }
        self.rec.units[unit].outcome = Outcome::Acked;
        if self.workload.profile.every_n_events == 1 {
            self.rec.durable = self.rec.acked.len();
        }
    }

    /// `unit` failed with `e`; `before` is the fault before the call. A call
    /// that met the fault itself must name the failed operation.
    fn failed(&mut self, unit: usize, before: &Option<Fired>, e: &StoreError) {
        let met = before.is_none() && self.io.fired().is_some();
        if met && !matches!(e, StoreError::Io { .. }) {
            let what = self.rec.units[unit].what;
            let msg = format!("unit {unit} ({what}) met the fault but failed with {e:?}");
            self.rec.violations.push(msg);
        }
    }

    fn append(&mut self, store: &Store, part: Part) {
        let unit = self.unit("append", &[part]);
        self.rec.units[unit].items[0].sent = true;
        let p = payload(unit, 0, part.pad);
        let before = self.io.fired();
        match store.append(&coordinate(part.coord), KIND, &p) {
            Ok(receipt) => self.acked(unit, vec![receipt]),
            Err(e) => self.failed(unit, &before, &e),
        }
    }

    fn batch(&mut self, store: &Store, part: Part) {
        let unit = self.unit("batch", &[part]);
        let items = self.items(unit, 0, part);
        let before = self.io.fired();
        match store.append_batch(items) {
            Ok(receipts) => self.acked(unit, receipts),
            Err(e) => self.failed(unit, &before, &e),
        }
    }

    fn fence(&mut self, store: &Store, parts: &[Part], end: FenceEnd) {
        let unit = self.unit("fence", parts);
        let Ok(fence) = store.begin_visibility_fence() else {
            return;
        };
        let mut tickets = Vec::new();
        let mut first = 0;
        for part in parts {
            let items = self.items(unit, first, *part);
            let ticket = if part.items == 1 {
                let item = items.into_iter().next().expect("one item");
                fence.submit_item(item).map(Ticket::One)
            } else {
                fence.submit_batch(items).map(Ticket::Many)
            };
            match ticket {
                Ok(t) => tickets.push(t),
                Err(_) => (first..first + part.items as usize)
                    .for_each(|i| self.rec.units[unit].items[i].sent = false),
            }
            first += part.items as usize;
            // Each part in its own group, so every run groups the same way
            // and a crash point names the same operation.
            let _ = store.sync();
        }
        match end {
            FenceEnd::Commit => {
                if fence.commit().is_ok() {
                    self.committed(unit, tickets);
                }
            }
            FenceEnd::Cancel => {
                let _ = fence.cancel();
                self.rec.units[unit].outcome = Outcome::Hidden;
            }
            FenceEnd::Drop => {
                drop(fence);
                self.rec.units[unit].outcome = Outcome::Hidden;
            }
        }
    }

    /// The fence `unit` committed: every ticket must resolve with receipts.
    fn committed(&mut self, unit: usize, tickets: Vec<Ticket>) {
        let mut receipts = Vec::new();
        for ticket in tickets {
            let answer = match ticket {
                Ticket::One(t) => t.wait().map(|r| vec![r]),
                Ticket::Many(t) => t.wait(),
            };
            match answer {
                Ok(r) => receipts.extend(r),
                Err(e) => {
                    let msg = format!("fence {unit} committed but a ticket failed: {e}");
                    self.rec.violations.push(msg);
                    return;
                }
            }
        }
        self.acked(unit, receipts);
    }

    fn snapshot(&mut self, store: &Store) {
        let n = self.rec.snapshots.len();
        let dest = self.root.join("backups").join(format!("b{n}"));
        // Only a fault before the call: its best-effort syncs of directories
        // above the destination may meet one and still succeed.
        let fired = self.io.fired();
        let acked_before = self.rec.acked.len();
        let units_before = self.rec.units.len();
        let ok = store.snapshot(&dest).is_ok();
        if ok && self.must_refuse(&fired) {
            let msg = format!("snapshot {n} succeeded after the fault");
            self.rec.violations.push(msg);
        }
        self.synced(ok);
        self.rec.snapshots.push(SnapshotTry {
            dest,
            ok,
            acked_before,
            units_before,
        });
    }
}
