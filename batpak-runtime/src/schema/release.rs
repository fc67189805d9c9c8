//! The release check on disk, in one entry point a user's xtask or test calls:
//! [`Snapshots`] names a directory and today's families, reads the committed
//! snapshots (`DIR/<family>.json`), runs the rule engine ([`check`]), decodes
//! every golden fixture (`DIR/<family>/<variant>.v<N>.bin`) with today's types,
//! and blesses: rewrites the snapshots from today's types and writes the
//! fixtures still missing. A kind that vanished from the code stays in its
//! family's snapshot as a tombstone, so its id is never handed out again.
//!
//! A fixture is written once and never rewritten, with one exception: a break
//! blessed on purpose ([`BlessMode::AllowBreaks`], "no data was ever written")
//! replaces the fixtures that no longer decode, since the bytes they hold were
//! never written for real and would otherwise fail every later check.

mod report;

pub use report::{
    BlessCommands, BlessReport, CheckOutcome, CheckReport, FixtureFailure, SnapshotError, BLESS_ENV,
};

use super::catalog::{Catalog, FamilySnapshot};
use super::check::check;
use super::family::EventFamily;
use super::sample::sample;
use crate::event::EventKind;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Today's event families and the directory holding their committed snapshots.
///
/// ```text
/// let snapshots = batpak::schema::Snapshots::new("schemas")
///     .family::<Cart>()
///     .family::<Stock>();
/// let report = snapshots.check()?; // or bless(BlessMode::RefuseBreaks), diff(), dump()
/// println!("{report}");
/// ```
#[derive(Debug, Clone)]
pub struct Snapshots {
    dir: PathBuf,
    today: Catalog,
    commands: BlessCommands,
}

/// Whether [`Snapshots::bless`] may record a change that breaks old data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlessMode {
    /// Write nothing when the check finds a break.
    RefuseBreaks,
    /// Write anyway: for data that was never written anywhere.
    AllowBreaks,
}

/// The kind with `id` in `category`.
fn kind_of(category: u8, id: u16) -> EventKind {
    EventKind::from_raw((u16::from(category) << 12) | id)
}

/// Today's snapshot of a family plus tombstones for the kinds the old one had,
/// tombstones included, so a removed id stays reserved across blesses.
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

/// Old families with live kinds whose name is gone, each with the new family
/// (also absent from the snapshots, same category) that holds all their ids:
/// Rust type renames without a stable name, a break (rule 24) that only an
/// allowed break records.
fn renames<'a>(old: &'a Catalog, today: &'a Catalog) -> Vec<(&'a FamilySnapshot, &'a str)> {
    let live = |o: &'a FamilySnapshot| o.kinds.iter().filter(|k| !k.removed);
    let gone = old.families().filter(|o| today.family(&o.family).is_none());
    gone.filter(|o| live(o).next().is_some())
        .filter_map(|o| {
            let target = today.families().find(|n| {
                old.family(&n.family).is_none()
                    && n.category == o.category
                    && live(o).all(|k| n.kinds.iter().any(|nk| nk.id == k.id))
            })?;
            Some((o, target.family.as_str()))
        })
        .collect()
}

/// Reads a file, `None` when it does not exist.
fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, SnapshotError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SnapshotError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    let dir = path.parent().unwrap_or(path);
    fs::create_dir_all(dir).map_err(|source| SnapshotError::Write {
        path: dir.to_owned(),
        source,
    })?;
    fs::write(path, bytes).map_err(|source| SnapshotError::Write {
        path: path.to_owned(),
        source,
    })
}

impl Snapshots {
    /// No families yet, snapshots in `dir`, fix texts naming the xtask's commands.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            today: Catalog::new(),
            commands: BlessCommands::default(),
        }
    }

    /// Adds family `F` as the code defines it today.
    pub fn family<F: EventFamily>(mut self) -> Self {
        self.today = self.today.with::<F>();
        self
    }

    /// Adds a family described by hand, without a Rust type (like the library's
    /// own [`system_families`](super::system_families)): compared by the rules,
    /// but without golden fixtures, since nothing here can decode them.
    pub fn family_snapshot(mut self, snapshot: FamilySnapshot) -> Self {
        self.today = self.today.with_snapshot(snapshot);
        self
    }

    /// Sets the commands that messages name for blessing.
    pub fn commands(mut self, commands: BlessCommands) -> Self {
        self.commands = commands;
        self
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Today's snapshots as JSON, one document per family in name order;
    /// nothing is read or written.
    pub fn dump(&self) -> String {
        self.today.families().map(FamilySnapshot::to_json).collect()
    }

    /// Compares the committed snapshots and fixtures with today's types.
    pub fn check(&self) -> Result<CheckReport, SnapshotError> {
        self.compare(false).map(|(_, report)| report)
    }

    /// Like [`check`](Self::check), but the report displays every finding,
    /// the safe ones too.
    pub fn diff(&self) -> Result<CheckReport, SnapshotError> {
        self.compare(true).map(|(_, report)| report)
    }

    /// Rewrites the snapshots from today's types (keeping removed kinds as
    /// tombstones) and writes the missing fixtures. With
    /// [`BlessMode::RefuseBreaks`], a break (a failing finding or fixture)
    /// writes nothing and the report says it was refused. A family whose Rust
    /// type was renamed (rule 24, so only with [`BlessMode::AllowBreaks`])
    /// moves: its old snapshot file is removed and its fixture directory takes
    /// the new name, so the next check compares it under that name.
    pub fn bless(&self, mode: BlessMode) -> Result<BlessReport, SnapshotError> {
        let (old, check) = self.compare(false)?;
        let mut out = BlessReport {
            refused: check.breaks() > 0 && mode == BlessMode::RefuseBreaks,
            check,
            snapshots: Vec::new(),
            fixtures: Vec::new(),
            replaced: Vec::new(),
            moved: Vec::new(),
        };
        if out.refused {
            return Ok(out);
        }
        let renames = renames(&old, &self.today);
        for (o, new) in &renames {
            self.move_family(&o.family, new, &mut out)?;
        }
        for today in self.today.families() {
            let renamed = renames.iter().find(|(_, n)| *n == today.family);
            let prior = old.family(&today.family).or(renamed.map(|(o, _)| *o));
            let snap = merged(today, prior);
            self.write_snapshot(&snap, &mut out)?;
            self.write_fixtures(&snap, mode, &mut out)?;
        }
        // Only an allowed break can remove a whole family (otherwise it is a
        // rule 22 break); its kinds become tombstones so their ids stay taken.
        let gone = old.families().filter(|o| {
            self.today.family(&o.family).is_none() && !renames.iter().any(|(r, _)| r == o)
        });
        for o in gone.filter(|o| o.kinds.iter().any(|k| !k.removed)) {
            let empty = FamilySnapshot {
                kinds: Vec::new(),
                ..o.clone()
            };
            self.write_snapshot(&merged(&empty, Some(o)), &mut out)?;
        }
        Ok(out)
    }

    /// Runs the blessing or the check a test asks for through [`BLESS_ENV`]
    /// (`1`: bless, refusing breaks; `allow-break`: bless a break too; unset,
    /// empty or `0`: check). Meant for tests; `assert_snapshots!` in the
    /// `batpak` crate calls it.
    ///
    /// # Panics
    ///
    /// When the check fails or finds no snapshot, when a bless is refused, when
    /// the directory cannot be read or written, or on an unknown value of the
    /// variable. The message has one line per finding, each naming its rule
    /// and fix.
    #[track_caller]
    pub fn assert(&self) {
        let value = std::env::var(BLESS_ENV).unwrap_or_default();
        let mode = match value.as_str() {
            "" | "0" => None,
            "1" => Some(BlessMode::RefuseBreaks),
            "allow-break" => Some(BlessMode::AllowBreaks),
            other => panic!("unknown {BLESS_ENV} value `{other}`, expected `1` or `allow-break`"),
        };
        let fail = |e: SnapshotError| -> ! {
            let source = std::error::Error::source(&e).map(|s| format!(": {s}"));
            panic!("schema snapshots: {e}{}", source.unwrap_or_default())
        };
        match mode {
            None => {
                let report = self.check().unwrap_or_else(|e| fail(e));
                assert!(report.passes(), "{report}");
                println!("{report}");
            }
            Some(mode) => {
                let report = self.bless(mode).unwrap_or_else(|e| fail(e));
                assert!(!report.refused, "{report}");
                println!("{report}");
            }
        }
    }

    fn fixture_path(&self, family: &str, variant: &str, version: u16) -> PathBuf {
        let file = format!("{variant}.v{version}.bin");
        self.dir.join(family).join(file)
    }

    /// Reads `DIR/*.json` in name order; also returns how many files there were.
    fn committed(&self) -> Result<(Catalog, usize), SnapshotError> {
        let read_err = |source| SnapshotError::Read {
            path: self.dir.clone(),
            source,
        };
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Catalog::new(), 0)),
            Err(e) => return Err(read_err(e)),
        };
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry.map_err(read_err)?.path();
            if path.extension().is_some_and(|x| x == "json") && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        let mut catalog = Catalog::new();
        for path in &paths {
            let text = fs::read_to_string(path).map_err(|source| SnapshotError::Read {
                path: path.clone(),
                source,
            })?;
            let snap = FamilySnapshot::from_json(&text).map_err(|source| SnapshotError::Parse {
                path: path.clone(),
                source,
            })?;
            if catalog.family(&snap.family).is_some() {
                let (path, family) = (path.clone(), snap.family);
                return Err(SnapshotError::Duplicate { path, family });
            }
            catalog = catalog.with_snapshot(snap);
        }
        Ok((catalog, paths.len()))
    }

    /// The committed catalog and its comparison with today's.
    fn compare(&self, every: bool) -> Result<(Catalog, CheckReport), SnapshotError> {
        let (old, snapshots) = self.committed()?;
        let report = CheckReport {
            dir: self.dir.clone(),
            snapshots,
            families: self.today.families().count(),
            report: check(&old, &self.today),
            fixtures: self.check_fixtures(&old)?,
            every,
            commands: self.commands.clone(),
        };
        Ok((old, report))
    }

    /// Decodes every fixture of a kind the snapshots still hold with today's
    /// types. Tombstones are skipped: their kinds are gone on purpose.
    fn check_fixtures(&self, old: &Catalog) -> Result<Vec<FixtureFailure>, SnapshotError> {
        let mut failures = Vec::new();
        for fam in old.families() {
            for k in fam.kinds.iter().filter(|k| !k.removed) {
                for v in &k.versions {
                    let path = self.fixture_path(&fam.family, &k.variant, v.version);
                    let Some(bytes) = read_if_exists(&path)? else {
                        continue;
                    };
                    let kind = kind_of(fam.category, k.id);
                    if let Some(Err(error)) =
                        self.today.decode(&fam.family, kind, v.version, &bytes)
                    {
                        failures.push(FixtureFailure {
                            path,
                            family: fam.family.clone(),
                            variant: k.variant.clone(),
                            version: v.version,
                            error,
                        });
                    }
                }
            }
        }
        Ok(failures)
    }

    /// Moves a renamed family: removes its old snapshot file (today's is
    /// written under the new name) and renames its fixture directory, unless
    /// one of the new name exists already.
    fn move_family(
        &self,
        from: &str,
        to: &str,
        out: &mut BlessReport,
    ) -> Result<(), SnapshotError> {
        let json = self.dir.join(format!("{from}.json"));
        fs::remove_file(&json).map_err(|source| SnapshotError::Write {
            path: json.clone(),
            source,
        })?;
        out.moved.push((json, self.dir.join(format!("{to}.json"))));
        let (old_dir, new_dir) = (self.dir.join(from), self.dir.join(to));
        if old_dir.is_dir() && !new_dir.exists() {
            fs::rename(&old_dir, &new_dir).map_err(|source| SnapshotError::Write {
                path: new_dir.clone(),
                source,
            })?;
            out.moved.push((old_dir, new_dir));
        }
        Ok(())
    }

    fn write_snapshot(
        &self,
        snap: &FamilySnapshot,
        out: &mut BlessReport,
    ) -> Result<(), SnapshotError> {
        let path = self.dir.join(format!("{}.json", snap.family));
        let text = snap.to_json();
        let current = read_if_exists(&path)?;
        if current.as_deref() != Some(text.as_bytes()) {
            write(&path, text.as_bytes())?;
            out.snapshots.push(path);
        }
        Ok(())
    }

    /// Writes the fixture of every live (kind, version) of a typed family that
    /// has none; with [`BlessMode::AllowBreaks`], also replaces one that no
    /// longer decodes.
    fn write_fixtures(
        &self,
        snap: &FamilySnapshot,
        mode: BlessMode,
        out: &mut BlessReport,
    ) -> Result<(), SnapshotError> {
        let decode =
            |kind, version, bytes: &[u8]| self.today.decode(&snap.family, kind, version, bytes);
        for k in snap.kinds.iter().filter(|k| !k.removed) {
            let kind = kind_of(snap.category, k.id);
            for v in &k.versions {
                let bytes = sample(&v.shape.fields);
                // Only typed families have a decoder, and so fixtures.
                let Some(decoded) = decode(kind, v.version, &bytes) else {
                    continue;
                };
                let path = self.fixture_path(&snap.family, &k.variant, v.version);
                let replace = match read_if_exists(&path)? {
                    None => false,
                    Some(old)
                        if mode == BlessMode::AllowBreaks
                            && matches!(decode(kind, v.version, &old), Some(Err(_))) =>
                    {
                        true
                    }
                    Some(_) => continue,
                };
                decoded.map_err(|source| SnapshotError::Sample {
                    family: snap.family.clone(),
                    variant: k.variant.clone(),
                    version: v.version,
                    source,
                })?;
                write(&path, &bytes)?;
                let list = if replace {
                    &mut out.replaced
                } else {
                    &mut out.fixtures
                };
                list.push(path);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
