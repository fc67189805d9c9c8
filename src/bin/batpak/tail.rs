//! `batpak tail DIR [--entity E] [--kind K] [-n N] [-f]`: the last N events,
//! one JSON object a line (with or without `--json`), payloads rendered
//! through the log's own schema ledger; with `-f`, then every event the
//! writer commits, as it commits.

use crate::kinds::{hex, shape_name, Kinds};
use crate::progress::Progress;
use crate::{cli, hex_id, Failure};
use batpak::coordinate::Region;
use batpak::store::{IndexEntry, ReadOnly, Store};
use serde_json::json;
use std::collections::BTreeMap;

pub(crate) fn run(args: &[String], progress: &Progress) -> Result<(), Failure> {
    let parsed = cli::parse(args, &["--entity", "--kind", "-n"])?;
    let n = parsed.count("-n", 10)?;
    let store = cli::open(&parsed.dir, progress)?;
    let kinds = Kinds::of(&store);
    let mut region = Region::all();
    if let Some(entity) = parsed.value("--entity") {
        region = Region {
            entity: Region::entity(entity).entity,
            ..region
        };
    }
    if let Some(kind) = parsed.value("--kind") {
        region = region.with_kind(kinds.parse(kind)?);
    }
    let mut schemas = ledger_names(&store);
    let entries = store.query(&region);
    let last = &entries[entries.len().saturating_sub(n)..];
    progress.phase(&format!("rendering {} events", last.len()));
    let mut problems = 0;
    for (i, entry) in last.iter().enumerate() {
        progress.tick("rendering", i, last.len());
        problems += print(&store, &kinds, &schemas, entry);
    }
    if parsed.follow {
        // Follow the log as the writer commits (the read-only store takes no
        // lock, so the writer runs on); stop with Ctrl-C.
        let after = entries.last().map_or(0, |e| e.sequence);
        let mut cursor = store.cursor_guaranteed(&region).after(after);
        loop {
            if store.refresh()? > 0 {
                let kinds = Kinds::of(&store);
                schemas = ledger_names(&store);
                // A line that does not render says why in its place.
                for entry in cursor.poll(usize::MAX) {
                    print(&store, &kinds, &schemas, &entry);
                }
                if std::io::Write::flush(&mut std::io::stdout()).is_err() {
                    // The reader of our output went away: nothing left to do.
                    return Ok(());
                }
            }
            std::thread::sleep(FOLLOW_POLL);
        }
    }
    if problems > 0 {
        return Err(Failure::Problems(problems));
    }
    Ok(())
}

/// How often `tail -f` looks for new events.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Prints one event as a JSON line; returns 1 when it did not render (the
/// line then says why), else 0.
fn print(
    store: &Store<ReadOnly>,
    kinds: &Kinds,
    schemas: &BTreeMap<(u16, u16), serde_json::Value>,
    entry: &IndexEntry,
) -> usize {
    let mut event = match store.get(entry.event_id) {
        Ok(Some(event)) => event,
        Ok(None) => return 0,
        Err(e) => {
            let line = json!({
                "sequence": entry.sequence,
                "event_id": hex_id(entry.event_id),
                "kind": hex(entry.kind),
                "kind_name": kinds.name(entry.kind),
                "error": e.to_string(),
            });
            println!("{line}");
            return 1;
        }
    };
    kinds.annotate_payload(entry.kind, &mut event.payload);
    let schema = schemas.get(&(entry.kind.raw(), event.header.schema_version));
    let line = json!({
        "sequence": entry.sequence,
        "event_id": hex_id(entry.event_id),
        "entity": entry.coordinate.entity(),
        "scope": entry.coordinate.scope(),
        "entity_sequence": entry.entity_sequence,
        "kind": hex(entry.kind),
        "kind_name": kinds.name(entry.kind),
        "version": event.header.schema_version,
        "timestamp_us": entry.timestamp_us,
        "correlation_id": hex_id(entry.correlation_id),
        "causation_id": entry.causation_id.map(hex_id),
        "schema": schema,
        "payload": event.payload,
    });
    println!("{line}");
    0
}

/// For each typed (kind, version): the names its JSON is rendered with (the
/// newest revision the ledger recorded) and how many revisions there are.
fn ledger_names(store: &Store<ReadOnly>) -> BTreeMap<(u16, u16), serde_json::Value> {
    let mut out: BTreeMap<(u16, u16), serde_json::Value> = BTreeMap::new();
    for (kind, version, known) in store.schema_ledger() {
        let key = (kind.raw(), version);
        let revisions = out
            .get(&key)
            .and_then(|v| v["revisions"].as_u64())
            .unwrap_or(0);
        out.insert(
            key,
            json!({ "names": shape_name(&known.shape), "revisions": revisions + 1 }),
        );
    }
    out
}
