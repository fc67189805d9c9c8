//! `batpak info DIR`: segments, size, events, entities, and every kind with
//! its name, event count and the versions the ledger records.

use crate::kinds::{hex, Kinds};
use crate::progress::Progress;
use crate::{cli, print_json, Failure};
use batpak::coordinate::Region;
use batpak::event::EventKind;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) fn run(args: &[String], progress: &Progress) -> Result<(), Failure> {
    let parsed = cli::parse(args, &[])?;
    let store = cli::open(&parsed.dir, progress)?;
    let stats = store.stats()?;
    progress.phase("counting events by kind");
    let mut counts: BTreeMap<u16, u64> = BTreeMap::new();
    for e in store.query(&Region::all()) {
        *counts.entry(e.kind.raw()).or_default() += 1;
    }
    let mut versions: BTreeMap<u16, BTreeSet<u16>> = BTreeMap::new();
    for (kind, version, _) in store.schema_ledger() {
        versions.entry(kind.raw()).or_default().insert(version);
    }
    let names = Kinds::of(&store);
    let torn_tail = store.diagnostics().recovery.torn_tail_ignored;

    let kinds: Vec<serde_json::Value> = counts
        .iter()
        .map(|(raw, count)| {
            let kind = EventKind::from_raw(*raw);
            json!({
                "kind": hex(kind),
                "name": names.name(kind),
                "system": kind.is_reserved(),
                "events": count,
                "versions": versions.get(raw).map(|v| v.iter().collect::<Vec<_>>()),
            })
        })
        .collect();
    if parsed.json {
        print_json(&json!({
            "dir": parsed.dir,
            "segments": stats.segments,
            "bytes": stats.segment_bytes,
            "events": stats.events,
            "system_events": stats.system_events,
            "entities": stats.entities,
            "kinds": kinds,
            "torn_tail_ignored": torn_tail.map(|at| at.to_string()),
        }));
        return Ok(());
    }
    println!("segments: {}", stats.segments);
    println!("bytes:    {}", stats.segment_bytes);
    println!(
        "events:   {} ({} library system events)",
        stats.events, stats.system_events
    );
    println!("entities: {}", stats.entities);
    println!("kinds:");
    for (raw, count) in &counts {
        let kind = EventKind::from_raw(*raw);
        let detail = match versions.get(raw) {
            _ if kind.is_reserved() => "library".to_owned(),
            Some(v) => v
                .iter()
                .map(|v| format!("v{v}"))
                .collect::<Vec<_>>()
                .join(", "),
            None => "raw JSON".to_owned(),
        };
        println!("  {}: {count} events ({detail})", names.hex_and_name(kind));
    }
    if let Some(at) = torn_tail {
        println!("note: a torn tail at {at} was left alone (read-only); the next read-write open cuts it");
    }
    Ok(())
}
