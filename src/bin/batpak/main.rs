//! `batpak`: inspect a data directory from the command line. It opens the store
//! read-only (no lock, so it runs beside a writer; it never writes a byte) and
//! renders events as JSON through the directory's own schema ledger, so it
//! needs none of the application's types.
//!
//! ```text
//! batpak info DIR
//! batpak tail DIR [--entity E] [--kind K] [-n N]
//! batpak verify DIR
//! batpak schema DIR
//! batpak schema check DIR --against SNAPSHOTS
//! ```
//!
//! Exit codes: 0 success; 1 the store could not be read, or problems were
//! found (`verify`, `schema check`); 2 usage errors.

mod schema;

use batpak::coordinate::Region;
use batpak::event::EventKind;
use batpak::store::{CorruptionKind, ReadOnly, Store, StoreConfig, StoreError};
use std::collections::BTreeMap;
use std::process::ExitCode;

const USAGE: &str = "\
usage: batpak <command> DIR [options]

commands:
  info DIR                                 segments, events, entities, kinds, versions, size
  tail DIR [--entity E] [--kind K] [-n N]  the last N events (default 10) as JSON lines
  verify DIR                               check every frame, hash chain and ledger entry
  schema DIR                               the families and versions the log describes
  schema check DIR --against SNAPSHOTS     whether this release's snapshots (a schemas/
                                           directory) read every (kind, version) the log holds
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("info") => with_store(&args, info),
        Some("tail") => with_store(&args, tail),
        Some("verify") => with_store(&args, verify),
        Some("schema") if args.get(1).map(String::as_str) == Some("check") => {
            with_store(&args[1..], schema::check)
        }
        Some("schema") => with_store(&args, schema::list),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(Failure::Usage("expected a command".into())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("batpak: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Store(e)) => {
            eprintln!("batpak: {}", explain(&e));
            ExitCode::from(1)
        }
        Err(Failure::Problems(n)) => {
            eprintln!("batpak: {n} problem(s) found");
            ExitCode::from(1)
        }
    }
}

pub(crate) enum Failure {
    Usage(String),
    Store(StoreError),
    Problems(usize),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

fn explain(e: &StoreError) -> String {
    match e {
        StoreError::Io { source, path, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            format!("{} does not exist", path.display())
        }
        StoreError::Corrupt {
            at,
            kind: kind @ (CorruptionKind::MissingSegment | CorruptionKind::SegmentLength { .. }),
        } => format!(
            "segment {} is missing or incomplete ({kind:?}): events it held are lost; restore it from a backup",
            at.segment
        ),
        StoreError::Corrupt { at, kind } => {
            format!(
                "the data is corrupt at {at} ({kind:?}); it was durable, so no open cuts it: \
                 restore a backup, or, for damage in the newest segment, open with \
                 RecoveryMode::Salvage to cut the log there (the cut bytes are kept in quarantine/)"
            )
        }
        other => other.to_string(),
    }
}

pub(crate) type Args<'a> = &'a [String];

fn with_store(
    args: Args<'_>,
    f: fn(&Store<ReadOnly>, Args<'_>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let dir = args
        .get(1)
        .ok_or_else(|| Failure::Usage("missing DIR".into()))?;
    let store = Store::open_read_only(StoreConfig::new(dir))?;
    f(&store, &args[2..])
}

fn hex(id: impl Into<u128>) -> String {
    format!("{:032x}", id.into())
}

pub(crate) fn kind_name(kind: EventKind) -> String {
    format!("{:#06x}", kind.raw())
}

fn parse_kind(s: &str) -> Result<EventKind, Failure> {
    let raw = s
        .strip_prefix("0x")
        .map_or_else(
            || s.parse::<u16>().ok(),
            |h| u16::from_str_radix(h, 16).ok(),
        )
        .ok_or_else(|| Failure::Usage(format!("bad kind `{s}`, expected e.g. 0x1001")))?;
    Ok(EventKind::from_raw(raw))
}

fn info(store: &Store<ReadOnly>, _args: Args<'_>) -> Result<(), Failure> {
    let stats = store.stats()?;
    let mut kinds: BTreeMap<u16, u64> = BTreeMap::new();
    for e in store.query(&Region::all()) {
        *kinds.entry(e.kind.raw()).or_default() += 1;
    }
    println!("segments: {}", stats.segments);
    println!("bytes:    {}", stats.segment_bytes);
    println!(
        "events:   {} ({} library system events)",
        stats.events, stats.system_events
    );
    println!("entities: {}", stats.entities);
    println!("kinds:");
    let ledger = store.schema_ledger();
    for (kind, count) in &kinds {
        let versions: Vec<String> = ledger
            .iter()
            .filter(|(k, _, _)| k.raw() == *kind)
            .map(|(_, v, s)| {
                format!(
                    "v{v} {}",
                    s.shape.variant.as_deref().unwrap_or(&s.shape.family)
                )
            })
            .collect();
        let label = if versions.is_empty() {
            "raw".to_owned()
        } else {
            versions.join(", ")
        };
        println!("  {:#06x}: {count} events ({label})", kind);
    }
    let report = store.diagnostics().recovery;
    if let Some(at) = report.torn_tail_ignored {
        println!("note: a torn tail at {at} was left alone (read-only); the next read-write open cuts it");
    }
    Ok(())
}

fn tail(store: &Store<ReadOnly>, args: Args<'_>) -> Result<(), Failure> {
    let mut region = Region::all();
    let mut n = 10usize;
    let mut i = 0;
    while i < args.len() {
        let value = args
            .get(i + 1)
            .ok_or_else(|| Failure::Usage(format!("{} needs a value", args[i])))?;
        match args[i].as_str() {
            "--entity" => {
                region = Region {
                    entity: Region::entity(value).entity,
                    ..region
                }
            }
            "--kind" => region = region.with_kind(parse_kind(value)?),
            "-n" => {
                n = value
                    .parse()
                    .map_err(|_| Failure::Usage(format!("bad count `{value}`")))?
            }
            other => return Err(Failure::Usage(format!("unknown option `{other}`"))),
        }
        i += 2;
    }
    let names = ledger_names(store);
    let entries = store.query(&region);
    let mut problems = 0;
    for entry in &entries[entries.len().saturating_sub(n)..] {
        // An event that does not render is reported in its place; the rest
        // still print.
        let event = match store.get(entry.event_id) {
            Ok(Some(event)) => event,
            Ok(None) => continue,
            Err(e) => {
                problems += 1;
                let line = serde_json::json!({
                    "sequence": entry.sequence,
                    "event_id": hex(entry.event_id),
                    "kind": kind_name(entry.kind),
                    "error": e.to_string(),
                });
                println!("{line}");
                continue;
            }
        };
        let schema = names.get(&(entry.kind.raw(), event.header.schema_version));
        let line = serde_json::json!({
            "sequence": entry.sequence,
            "event_id": hex(entry.event_id),
            "entity": entry.coordinate.entity(),
            "scope": entry.coordinate.scope(),
            "entity_sequence": entry.entity_sequence,
            "kind": kind_name(entry.kind),
            "version": event.header.schema_version,
            "timestamp_us": entry.timestamp_us,
            "correlation_id": hex(entry.correlation_id),
            "causation_id": entry.causation_id.map(hex),
            "schema": schema,
            "payload": event.payload,
        });
        println!("{line}");
    }
    if problems > 0 {
        return Err(Failure::Problems(problems));
    }
    Ok(())
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
        let shape = &known.shape;
        let names = match &shape.variant {
            Some(variant) => format!("{}::{variant}", shape.family),
            None => shape.family.clone(),
        };
        out.insert(
            key,
            serde_json::json!({ "names": names, "revisions": revisions + 1 }),
        );
    }
    out
}

/// The batches and fences a cut leaves unfinished, as a sentence tail.
fn unfinished(units: &[batpak::store::UnfinishedUnit]) -> String {
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

fn verify(store: &Store<ReadOnly>, _args: Args<'_>) -> Result<(), Failure> {
    let report = store.verify()?;
    println!(
        "segments: {}, frames: {}, events: {}",
        report.segments, report.frames, report.events
    );
    let mut problems = 0;
    if let Some(b) = report.first_break {
        problems += 1;
        println!(
            "chain break at {} (event {}){}",
            b.at,
            hex(b.event_id),
            if b.sequence_gap { ": sequence gap" } else { "" }
        );
    }
    if let Some(cut) = &report.pending_cut {
        problems += 1;
        println!(
            "torn tail at {}: the next read-write open cuts {} bytes (kept in quarantine/){}",
            cut.at,
            cut.bytes,
            unfinished(&cut.unfinished)
        );
    }
    for q in &report.quarantined {
        problems += 1;
        println!(
            "quarantine: {} ({} bytes cut at {}): {}; remove the file once reviewed",
            q.file.display(),
            q.bytes,
            q.at,
            q.note
        );
    }
    // Every event renders through the ledger (typed ones need their ledger entry).
    for entry in store.query(&Region::all()) {
        if let Err(e) = store.get(entry.event_id) {
            problems += 1;
            println!("event {} at {}: {}", hex(entry.event_id), entry.frame, e);
        }
    }
    if problems > 0 {
        return Err(Failure::Problems(problems));
    }
    println!("ok: every frame, chain and ledger entry checks out");
    Ok(())
}
