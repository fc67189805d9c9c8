//! `batpak schema`: the log's own schema ledger, listed or checked against a
//! release's committed snapshots (without the application's types).

use super::{kind_name, Args, Failure};
use batpak::event::EventKind;
use batpak::schema::{check_log, Catalog, Coverage, FamilySnapshot, LoggedKind};
use batpak::store::{ReadOnly, Store};
use std::collections::BTreeMap;
use std::path::Path;

/// `batpak schema DIR`: the families and versions the log's ledger describes.
pub(crate) fn list(store: &Store<ReadOnly>, _args: Args<'_>) -> Result<(), Failure> {
    let mut families: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (kind, version, known) in store.schema_ledger() {
        let variant = known
            .shape
            .variant
            .clone()
            .unwrap_or_else(|| known.shape.family.clone());
        families
            .entry(known.shape.family.clone())
            .or_default()
            .push(format!(
                "  {variant} {} v{version} {}",
                kind_name(kind),
                known.shape.fingerprint_hex()
            ));
    }
    if families.is_empty() {
        println!("no typed events: the log holds raw (JSON) payloads only");
    }
    for (family, lines) in families {
        println!("{family}");
        for line in lines {
            println!("{line}");
        }
    }
    Ok(())
}

/// `batpak schema check DIR --against SNAPSHOTS`: whether the release whose
/// snapshots are in SNAPSHOTS reads every (kind, version) the log holds.
pub(crate) fn check(store: &Store<ReadOnly>, args: Args<'_>) -> Result<(), Failure> {
    let against = match args {
        [flag, dir] if flag == "--against" => Path::new(dir),
        _ => return Err(Failure::Usage("expected `--against SNAPSHOTS`".into())),
    };
    let release = read_snapshots(against)?;
    if release.families().next().is_none() {
        println!(
            "no snapshots in {}: bless them first (`cargo xtask schema bless`)",
            against.display()
        );
        return Err(Failure::Problems(1));
    }
    let log = logged_kinds(store);
    let findings = check_log(&log, &release, Coverage::Release);
    for (_, finding) in &findings {
        println!("{finding}");
    }
    if !findings.is_empty() {
        return Err(Failure::Problems(findings.len()));
    }
    println!(
        "ok: the snapshots in {} read all {} (kind, version) the log holds",
        against.display(),
        log.len()
    );
    Ok(())
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
