//! `batpak verify DIR`: every frame's CRC, every entity's hash chain, torn
//! tails waiting for a cut, quarantined bytes waiting for review, and whether
//! every event renders through the ledger. Problems found: exit code 1.

use crate::kinds::{hex, Kinds};
use crate::progress::Progress;
use crate::{cli, hex_id, print_json, Failure};
use batpak::coordinate::Region;
use batpak::store::UnfinishedUnit;
use serde_json::{json, Value};

/// One problem, as a sentence and as JSON.
struct Problem {
    text: String,
    json: Value,
}

pub(crate) fn run(args: &[String], progress: &Progress) -> Result<(), Failure> {
    let parsed = cli::parse(args, &[])?;
    let store = cli::open(&parsed.dir, progress)?;
    progress.phase("verifying every frame and hash chain");
    let report = store.verify()?;
    let mut problems = Vec::new();
    if let Some(b) = &report.first_break {
        problems.push(Problem {
            text: format!(
                "chain break at {} (event {}){}",
                b.at,
                hex_id(b.event_id),
                if b.sequence_gap { ": sequence gap" } else { "" }
            ),
            json: json!({
                "problem": "chain_break",
                "at": b.at.to_string(),
                "event_id": hex_id(b.event_id),
                "sequence_gap": b.sequence_gap,
            }),
        });
    }
    if let Some(cut) = &report.pending_cut {
        problems.push(Problem {
            text: format!(
                "torn tail at {}: the next read-write open cuts {} bytes (kept in quarantine/){}",
                cut.at,
                cut.bytes,
                unfinished(&cut.unfinished)
            ),
            json: json!({
                "problem": "torn_tail",
                "at": cut.at.to_string(),
                "bytes": cut.bytes,
                "unfinished": cut.unfinished.iter().map(|u| json!({
                    "unit": if u.fence { "fence" } else { "batch" },
                    "id": u.id,
                    "began": u.began.to_string(),
                    "events": u.events,
                })).collect::<Vec<_>>(),
            }),
        });
    }
    for q in &report.quarantined {
        problems.push(Problem {
            text: format!(
                "quarantine: {} ({} bytes cut at {}): {}; remove the file once reviewed",
                q.file.display(),
                q.bytes,
                q.at,
                q.note
            ),
            json: json!({
                "problem": "quarantine",
                "file": q.file.display().to_string(),
                "bytes": q.bytes,
                "at": q.at.to_string(),
                "note": q.note,
            }),
        });
    }
    // Every event renders through the ledger (typed ones need their ledger entry).
    let kinds = Kinds::of(&store);
    let entries = store.query(&Region::all());
    progress.phase(&format!(
        "rendering all {} events through the ledger",
        entries.len()
    ));
    for (i, entry) in entries.iter().enumerate() {
        progress.tick("rendering", i, entries.len());
        if let Err(e) = store.get(entry.event_id) {
            problems.push(Problem {
                text: format!(
                    "event {} ({}) at {}: {}",
                    hex_id(entry.event_id),
                    kinds.label(entry.kind),
                    entry.frame,
                    e
                ),
                json: json!({
                    "problem": "unreadable_event",
                    "event_id": hex_id(entry.event_id),
                    "kind": hex(entry.kind),
                    "kind_name": kinds.name(entry.kind),
                    "at": entry.frame.to_string(),
                    "error": e.to_string(),
                }),
            });
        }
    }
    progress.phase("verified");
    if parsed.json {
        print_json(&json!({
            "ok": problems.is_empty(),
            "segments": report.segments,
            "frames": report.frames,
            "events": report.events,
            "problems": problems.iter().map(|p| &p.json).collect::<Vec<_>>(),
        }));
    } else {
        println!(
            "segments: {}, frames: {}, events: {}",
            report.segments, report.frames, report.events
        );
        for p in &problems {
            println!("{}", p.text);
        }
        if problems.is_empty() {
            println!("ok: every frame, chain and ledger entry checks out");
        }
    }
    match problems.len() {
        0 => Ok(()),
        n => Err(Failure::Problems(n)),
    }
}

/// The batches and fences a cut leaves unfinished, as a sentence tail.
fn unfinished(units: &[UnfinishedUnit]) -> String {
    units
        .iter()
        .map(|u| {
            format!(
                "; it leaves {} {} (begun at {}, {} events) unfinished",
                if u.fence { "fence" } else { "batch" },
                u.id,
                u.began,
                u.events
            )
        })
        .collect()
}
