//! `batpak info DIR`: segments, size, events, entities, every kind with its
//! name, event count and the versions the ledger records, and the retention
//! cuts the log records (entity, where its stream starts, why).

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
    let cuts = retention_cuts(&store)?;
    let policies: Vec<serde_json::Value> = store
        .logged_retention_policies()?
        .iter()
        .map(|p| {
            json!({
                "entity": format!("{:?}", p.region.entity),
                "scope": p.region.scope.as_deref(),
                "max_age_s": p.max_age.map(|d| d.as_secs_f64()),
                "max_count": p.max_count,
            })
        })
        .collect();

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
            "truncated_entities": stats.truncated_entities,
            "tombstoned_entities": stats.tombstoned_entities,
            "retention": cuts,
            "retention_policies": policies,
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
    if !cuts.is_empty() {
        println!(
            "retention: {} entities cut ({} tombstoned)",
            stats.truncated_entities, stats.tombstoned_entities
        );
        for cut in &cuts {
            let state = if cut["tombstone"] == true {
                "tombstoned".to_owned()
            } else {
                format!("starts at {}", cut["before"])
            };
            let entity = cut["entity"].as_str().unwrap_or_default();
            let reason = cut["reason"].as_str().unwrap_or_default();
            println!("  {entity}: {state} ({reason})");
        }
    }
    if !policies.is_empty() {
        println!("retention policies (recorded in the log):");
        for p in &policies {
            println!("  {p}");
        }
    }
    if let Some(at) = torn_tail {
        println!("note: a torn tail at {at} was left alone (read-only); the next read-write open cuts it");
    }
    Ok(())
}

/// The latest retention record of each cut entity, as JSON objects.
fn retention_cuts(
    store: &batpak::store::Store<batpak::store::ReadOnly>,
) -> Result<Vec<serde_json::Value>, Failure> {
    let region = Region::all().with_kind(batpak::event::system::RETENTION);
    let mut latest: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for entry in store.query(&region) {
        let Some(event) = store.get(entry.event_id)? else {
            continue;
        };
        let record: batpak::store::RetentionRecord = serde_json::from_value(event.payload)
            .map_err(|e| Failure::Failed(format!("a retention record does not parse: {e}")))?;
        latest.insert(
            record.entity.clone(),
            json!({
                "entity": record.entity,
                "before": record.before,
                "tombstone": record.tombstone,
                "reason": record.reason,
                "hash_at_cut": record.hash_at_cut,
            }),
        );
    }
    Ok(latest.into_values().collect())
}
