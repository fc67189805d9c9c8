//! `batpak schema`: the log's own schema ledger, listed or checked against a
//! release's committed snapshots (without the application's types).

use crate::kinds::{hex, shape_name, Kinds};
use crate::progress::Progress;
use crate::{cli, print_json, Failure};
use batpak::event::EventKind;
use batpak::schema::{check_log, Catalog, Coverage, FamilySnapshot, LoggedKind};
use batpak::store::{ReadOnly, Store};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// `batpak schema DIR`: the families and versions the log's ledger describes.
pub(crate) fn list(args: &[String], progress: &Progress) -> Result<(), Failure> {
    let parsed = cli::parse(args, &[])?;
    let store = cli::open(&parsed.dir, progress)?;
    // Family -> one entry per (kind, version, revision), in ledger order.
    let mut families: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (kind, version, known) in store.schema_ledger() {
        let variant = known
            .shape
            .variant
            .clone()
            .unwrap_or_else(|| known.shape.family.clone());
        families
            .entry(known.shape.family.clone())
            .or_default()
            .push(json!({
                "variant": variant,
                "name": shape_name(&known.shape),
                "kind": hex(kind),
                "version": version,
                "fingerprint": known.shape.fingerprint_hex(),
            }));
    }
    if parsed.json {
        let families: Vec<Value> = families
            .into_iter()
            .map(|(family, kinds)| json!({ "family": family, "kinds": kinds }))
            .collect();
        print_json(&json!({ "families": families }));
        return Ok(());
    }
    if families.is_empty() {
        println!("no typed events: the log holds raw (JSON) payloads only");
    }
    for (family, kinds) in families {
        println!("{family}");
        for k in kinds {
            println!(
                "  {} {} v{} {}",
                k["variant"].as_str().unwrap_or_default(),
                k["kind"].as_str().unwrap_or_default(),
                k["version"],
                k["fingerprint"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// `batpak schema check DIR --against SNAPSHOTS`: whether the release whose
/// snapshots are in SNAPSHOTS reads every (kind, version) the log holds.
pub(crate) fn check(args: &[String], progress: &Progress) -> Result<(), Failure> {
    let parsed = cli::parse(args, &["--against"])?;
    let against = parsed
        .value("--against")
        .map(Path::new)
        .ok_or_else(|| Failure::Usage("expected `--against SNAPSHOTS`".into()))?;
    let release = read_snapshots(against)?;
    let store = cli::open(&parsed.dir, progress)?;
    let kinds = Kinds::of(&store);
    let log = logged_kinds(&store);
    let empty = release.families().next().is_none();
    let findings = if empty {
        Vec::new()
    } else {
        check_log(&log, &release, Coverage::Release)
    };
    if parsed.json {
        print_json(&json!({
            "ok": !empty && findings.is_empty(),
            "against": against.display().to_string(),
            "snapshots": !empty,
            "checked": log.len(),
            "findings": findings.iter().map(|(kind, f)| json!({
                "kind": hex(*kind),
                "name": kinds.name(*kind),
                "verdict": format!("{:?}", f.verdict).to_lowercase(),
                "family": f.family,
                "variant": f.variant,
                "version": f.version,
                "path": f.path,
                "rule": f.rule,
                "message": f.message,
                "fix": f.fix,
                "text": f.to_string(),
            })).collect::<Vec<_>>(),
        }));
    } else if empty {
        println!(
            "no snapshots in {}: bless them first (`cargo xtask schema bless`)",
            against.display()
        );
    } else {
        for (_, finding) in &findings {
            println!("{finding}");
        }
        if findings.is_empty() {
            println!(
                "ok: the snapshots in {} read all {} (kind, version) the log holds",
                against.display(),
                log.len()
            );
        }
    }
    if empty {
        return Err(Failure::Problems(1));
    }
    match findings.len() {
        0 => Ok(()),
        n => Err(Failure::Problems(n)),
    }
}

/// The log's ledger as the schema check reads it: revisions by (kind, version).
fn logged_kinds(store: &Store<ReadOnly>) -> Vec<LoggedKind> {
    let mut log: BTreeMap<(u16, u16), LoggedKind> = BTreeMap::new();
    for (kind, version, known) in store.schema_ledger() {
        log.entry((kind.raw(), version))
            .or_insert_with(|| LoggedKind {
                kind: EventKind::from_raw(kind.raw()),
                version,
                revisions: Vec::new(),
            })
            .revisions
            .push(known.shape);
    }
    log.into_values().collect()
}

/// Every `*.json` family snapshot in `dir`.
fn read_snapshots(dir: &Path) -> Result<Catalog, Failure> {
    let unreadable = |what: String| Failure::Usage(format!("{}: {what}", dir.display()));
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(e.to_string()))?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut catalog = Catalog::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
        let snapshot = FamilySnapshot::from_json(&text)
            .map_err(|e| unreadable(format!("{}: {e}", path.display())))?;
        catalog = catalog.with_snapshot(snapshot);
    }
    Ok(catalog)
}
