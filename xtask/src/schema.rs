//! `cargo xtask schema ...` over `schemas/`: one JSON snapshot per family and
//! golden fixtures `schemas/<family>/<variant>.v<N>.bin`, written once by
//! `bless` and never rewritten. The engine is `batpak::schema::check`.

use batpak::event::EventKind;
use batpak::schema::{check as run_check, sample, Catalog, FamilySnapshot, Report, Verdict};
use std::fs;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, String>;

fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).join("schemas")
}

fn committed() -> Result<Catalog> {
    let mut catalog = Catalog::new();
    let dir = root();
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(catalog);
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
    {
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let snap =
            FamilySnapshot::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        catalog = catalog.with_snapshot(snap);
    }
    Ok(catalog)
}

fn print(report: &Report, all: bool) {
    for f in &report.findings {
        if all || f.verdict != Verdict::Ok {
            println!("{f}");
        }
    }
}

fn fixture_path(family: &str, variant: &str, version: u16) -> PathBuf {
    root()
        .join(family)
        .join(format!("{variant}.v{version}.bin"))
}

/// Decodes every golden fixture with today's types; returns the failures.
fn check_fixtures(old: &Catalog, today: &Catalog) -> Vec<String> {
    let mut failures = Vec::new();
    for fam in old.families() {
        for k in &fam.kinds {
            for v in &k.versions {
                let path = fixture_path(&fam.family, &k.variant, v.version);
                let Ok(bytes) = fs::read(&path) else { continue };
                let kind = EventKind::from_raw((u16::from(fam.category) << 12) | k.id);
                if let Some(Err(e)) = today.decode(&fam.family, kind, v.version, &bytes) {
                    failures.push(format!(
                        "BREAK  fixture {} no longer decodes: {e}",
                        path.display()
                    ));
                }
            }
        }
    }
    failures
}

pub fn dump() -> Result<bool> {
    for fam in crate::catalog::today().families() {
        print!("{}", fam.to_json());
    }
    Ok(true)
}

pub fn check() -> Result<bool> {
    let old = committed()?;
    let today = crate::catalog::today();
    let report = run_check(&old, &today);
    print(&report, false);
    let fixtures = check_fixtures(&old, &today);
    for line in &fixtures {
        println!("{line}");
    }
    let ok = report.passes() && fixtures.is_empty();
    let breaks = report.failures().count() + fixtures.len();
    println!(
        "schema check: {} families, {} findings, {breaks} breaking: {}",
        today.families().count(),
        report.findings.len(),
        if ok { "ok" } else { "FAILED" }
    );
    Ok(ok)
}

pub fn diff() -> Result<bool> {
    let report = run_check(&committed()?, &crate::catalog::today());
    print(&report, true);
    Ok(true)
}

/// Today's snapshot of a family plus tombstones for kinds the old one had.
fn merged(today: &FamilySnapshot, old: Option<&FamilySnapshot>) -> FamilySnapshot {
    let mut out = today.clone();
    if let Some(old) = old {
        for k in old
            .kinds
            .iter()
            .filter(|k| !today.kinds.iter().any(|n| n.id == k.id))
        {
            let mut tomb = k.clone();
            tomb.removed = true;
            tomb.retired = true;
            out.kinds.push(tomb);
        }
        out.kinds.sort_by_key(|k| k.id);
    }
    out
}

pub fn bless(allow_break: bool) -> Result<bool> {
    let old = committed()?;
    let today = crate::catalog::today();
    let report = run_check(&old, &today);
    if !report.passes() && !allow_break {
        print(&report, false);
        println!("schema bless: refused, the change breaks old data (pass --allow-break if no data was ever written)");
        return Ok(false);
    }
    let dir = root();
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = 0;
    for fam in today.families() {
        let snap = merged(fam, old.family(&fam.family));
        let path = dir.join(format!("{}.json", fam.family));
        let text = snap.to_json();
        if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
        for k in snap.kinds.iter().filter(|k| !k.removed) {
            for v in &k.versions {
                let kind = EventKind::from_raw((u16::from(snap.category) << 12) | k.id);
                let bytes = sample::sample(&v.shape.fields);
                // Only typed families have a decoder (and postcard fixtures).
                let Some(decoded) = today.decode(&fam.family, kind, v.version, &bytes) else {
                    continue;
                };
                let path = fixture_path(&fam.family, &k.variant, v.version);
                if path.exists() {
                    continue;
                }
                decoded.map_err(|e| {
                    format!(
                        "sample for {} v{} does not decode: {e}",
                        k.variant, v.version
                    )
                })?;
                fs::create_dir_all(path.parent().unwrap_or(&dir)).map_err(|e| e.to_string())?;
                fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                written += 1;
            }
        }
    }
    println!("schema bless: snapshots up to date, {written} new fixture(s)");
    Ok(true)
}
