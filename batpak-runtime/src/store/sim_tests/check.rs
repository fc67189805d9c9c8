//! Judges what a power loss left against what the run recorded: the store
//! reopens over the real file system; every acknowledged event that was
//! durable is there, unchanged; every visible event was attempted, and each
//! append, batch and fence is visible whole or not at all (a cancelled fence
//! never); the store takes a new append and `verify` is clean (but for
//! quarantined torn tails); and every
//! snapshot that succeeded opens with everything acknowledged before it,
//! while one that failed left no partial copy under its name.

use super::run::{coordinate, payload, Outcome, Record, SnapshotTry, KIND};
use super::workload::Workload;
use crate::coordinate::Region;
use crate::event::EventId;
use crate::store::{Store, StoreConfig};
use std::collections::HashMap;
use std::path::Path;

/// The visible events, by (unit, item): their id and sequence.
type Visible = HashMap<(usize, usize), (EventId, u64)>;

/// What a check verified.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Checked {
    /// Acknowledged events found intact.
    pub(super) acked: u64,
    /// Snapshot destinations judged.
    pub(super) copies: u64,
}

/// Checks the data directory `root/data` and the snapshots against `rec`.
pub(super) fn check(workload: &Workload, root: &Path, rec: &Record) -> Result<Checked, String> {
    let reopened = match rec.opened_after_fault {
        0 => String::new(),
        n => format!("(reopened {n}x after the fault) "),
    };
    check_all(workload, root, rec).map_err(|e| format!("{reopened}{e}"))
}

fn check_all(workload: &Workload, root: &Path, rec: &Record) -> Result<Checked, String> {
    if let Some(v) = rec.violations.first() {
        return Err(v.clone());
    }
    let config = workload.config(&root.join("data"));
    let store = Store::open(config).map_err(|e| format!("reopen failed: {e}"))?;
    let visible = visible(&store, rec)?;
    check_units(rec, rec.units.len(), &visible)?;
    let acked = check_acked(rec, &visible)?;
    check_usable(&store)?;
    store
        .close()
        .map_err(|e| format!("close after the check: {e}"))?;
    let mut copies = 0;
    for snap in &rec.snapshots {
        check_snapshot(rec, snap)?;
        copies += 1;
    }
    Ok(Checked { acked, copies })
}

/// Every visible event, traced back to the item that wrote it; an error for
/// one nobody attempted, one whose content or coordinate changed, or one
/// visible twice.
fn visible<M>(store: &Store<M>, rec: &Record) -> Result<Visible, String> {
    let mut out = Visible::new();
    for entry in store.query(&Region::all()) {
        let event = store
            .get(entry.event_id)
            .map_err(|e| format!("reading event {}: {e}", entry.sequence))?
            .ok_or_else(|| format!("indexed event {} unreadable", entry.sequence))?;
        let field = |name: &str| event.payload[name].as_u64().map(|v| v as usize);
        let (Some(unit), Some(index)) = (field("u"), field("i")) else {
            return Err(format!("event never attempted: {}", event.payload));
        };
        let item = rec
            .units
            .get(unit)
            .and_then(|u| u.items.get(index))
            .filter(|item| item.sent)
            .ok_or_else(|| format!("event never sent is visible: {}", event.payload))?;
        if event.payload != payload(unit, index, item.pad)
            || entry.coordinate != coordinate(item.coord)
            || entry.kind != KIND
        {
            return Err(format!("event {unit}/{index} changed: {}", event.payload));
        }
        if out
            .insert((unit, index), (entry.event_id, entry.sequence))
            .is_some()
        {
            return Err(format!("event {unit}/{index} visible twice"));
        }
    }
    Ok(out)
}

/// Each unit visible whole or not at all, a cancelled fence not at all, and
/// none from `units` on.
fn check_units(rec: &Record, units: usize, visible: &Visible) -> Result<(), String> {
    if let Some((unit, item)) = visible.keys().find(|(unit, _)| *unit >= units) {
        return Err(format!("event {unit}/{item} visible, attempted later"));
    }
    for (id, unit) in rec.units.iter().enumerate() {
        let sent = unit.items.iter().filter(|i| i.sent).count();
        let seen = (0..unit.items.len())
            .filter(|i| visible.contains_key(&(id, *i)))
            .count();
        let whole = seen == 0 || seen == sent;
        if unit.outcome == Outcome::Hidden && seen > 0 {
            return Err(format!("cancelled fence {id}: {seen} events visible"));
        }
        if !whole {
            return Err(format!(
                "{} {id} ({:?}) torn: {seen} of {sent} events visible",
                unit.what, unit.outcome
            ));
        }
    }
    Ok(())
}

/// Every durable acknowledged event visible with its receipt's id and
/// sequence; the visible ones a prefix of the acknowledged ones in commit
/// order. Returns how many acknowledged events were found.
fn check_acked(rec: &Record, visible: &Visible) -> Result<u64, String> {
    let mut found = 0;
    for (n, ack) in rec.acked.iter().enumerate() {
        match visible.get(&(ack.unit, ack.item)) {
            Some((id, sequence)) => {
                if *id != ack.receipt.event_id || *sequence != ack.receipt.sequence {
                    return Err(format!(
                        "acknowledged event {}/{} (sequence {}) came back as sequence {sequence}",
                        ack.unit, ack.item, ack.receipt.sequence
                    ));
                }
                found += 1;
            }
            None if n < rec.durable => {
                return Err(format!(
                    "acknowledged event {}/{} (sequence {}) lost: {} of {} durable acknowledged events visible",
                    ack.unit,
                    ack.item,
                    ack.receipt.sequence,
                    found,
                    rec.durable
                ));
            }
            None => {}
        }
    }
    let mut by_sequence: Vec<_> = rec.acked.iter().collect();
    by_sequence.sort_by_key(|a| a.receipt.sequence);
    let shown = |a: &&super::run::Ack| visible.contains_key(&(a.unit, a.item));
    if let Some(gap) = by_sequence.iter().position(|a| !shown(a)) {
        if let Some(later) = by_sequence[gap..].iter().find(|a| shown(a)) {
            return Err(format!(
                "acknowledged sequence {} lost but {} visible",
                by_sequence[gap].receipt.sequence, later.receipt.sequence
            ));
        }
    }
    Ok(found)
}

/// The reopened store takes a new append and verifies clean, but for the
/// torn tails its open cut, which wait in the quarantine (never a salvage:
/// a power loss damages only bytes past the durable watermark).
fn check_usable(store: &Store) -> Result<(), String> {
    store
        .append(&coordinate(0), KIND, &"after the power loss")
        .map_err(|e| format!("append after reopen: {e}"))?;
    let report = store.verify().map_err(|e| format!("verify: {e}"))?;
    let torn_tails_only = report
        .quarantined
        .iter()
        .all(|q| !q.note.contains("Salvage"));
    if report.first_break.is_some() || report.pending_cut.is_some() || !torn_tails_only {
        return Err(format!("verify not clean: {report:?}"));
    }
    Ok(())
}

/// A snapshot that succeeded opens holding everything acknowledged before
/// it, unchanged, and nothing torn or attempted later; one that failed left
/// its destination missing, unopenable, or (a failure after the rename)
/// such a copy.
fn check_snapshot(rec: &Record, snap: &SnapshotTry) -> Result<(), String> {
    if !snap.ok && !snap.dest.exists() {
        return Ok(());
    }
    let copy = match Store::open_read_only(StoreConfig::new(&snap.dest)) {
        Ok(copy) => copy,
        Err(_) if !snap.ok => return Ok(()),
        Err(e) => {
            let name = snap.dest.display();
            return Err(format!("snapshot {name} succeeded but does not open: {e}"));
        }
    };
    let how = if snap.ok { "succeeded" } else { "failed" };
    let name = format!("snapshot {} {how}", snap.dest.display());
    let held = visible(&copy, rec).map_err(|e| format!("{name}: {e}"))?;
    check_units(rec, snap.units_before, &held).map_err(|e| format!("{name}: {e}"))?;
    for ack in &rec.acked[..snap.acked_before] {
        let receipt = (ack.receipt.event_id, ack.receipt.sequence);
        if held.get(&(ack.unit, ack.item)) != Some(&receipt) {
            return Err(format!(
                "{name}: acknowledged event {}/{} (sequence {}) missing or changed",
                ack.unit, ack.item, ack.receipt.sequence
            ));
        }
    }
    let report = copy.verify().map_err(|e| format!("{name}: {e}"))?;
    if !report.is_clean() {
        return Err(format!("{name}: verify not clean: {report:?}"));
    }
    Ok(())
}
