//! What the release check reports: [`CheckReport`] and [`BlessReport`], whose
//! `Display` is what a terminal or a failing test shows, [`BlessCommands`],
//! the commands those messages name, and [`SnapshotError`] for a directory that
//! cannot be read or written. Every fix text must work as written where
//! it is read, so the bless command the rule engine names is rewritten here.

use crate::schema::check::{Finding, Report};
use crate::schema::compare::Verdict;
use crate::schema::family::SchemaError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The bless command the rule engine names in its fix texts: an xtask's. The
/// release layer rewrites it to the command that works where the report is read
/// (a test helper blesses through a variable, another xtask may differ).
const ENGINE_BLESS: &str = "`cargo xtask schema bless --allow-break`";

/// The environment variable [`Snapshots::assert`] reads: `1` blesses,
/// `allow-break` blesses a break too.
///
/// [`Snapshots::assert`]: crate::schema::Snapshots::assert
pub const BLESS_ENV: &str = "BATPAK_BLESS";

/// How messages name the commands that bless, so every fix text works as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlessCommands {
    /// Blesses a change that breaks nothing (and creates the first snapshots).
    pub bless: String,
    /// Blesses a break (for data that was never written anywhere).
    pub allow_break: String,
}

impl BlessCommands {
    /// The commands of an xtask: `cargo xtask schema bless [--allow-break]`.
    pub fn xtask() -> Self {
        Self {
            bless: "cargo xtask schema bless".into(),
            allow_break: "cargo xtask schema bless --allow-break".into(),
        }
    }

    /// The commands of a test calling [`Snapshots::assert`] in `package`:
    /// `BATPAK_BLESS=1 cargo test -p <package>`, and `allow-break` for a break.
    ///
    /// [`Snapshots::assert`]: crate::schema::Snapshots::assert
    pub fn env(package: &str) -> Self {
        Self {
            bless: format!("{BLESS_ENV}=1 cargo test -p {package}"),
            allow_break: format!("{BLESS_ENV}=allow-break cargo test -p {package}"),
        }
    }
}

impl Default for BlessCommands {
    fn default() -> Self {
        Self::xtask()
    }
}

/// A golden fixture that today's types no longer decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureFailure {
    /// The fixture file.
    pub path: PathBuf,
    /// The family.
    pub family: String,
    /// The variant.
    pub variant: String,
    /// The version the fixture was written as.
    pub version: u16,
    /// Why it does not decode.
    pub error: SchemaError,
}

impl fmt::Display for FixtureFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BREAK  fixture {} no longer decodes: {}",
            self.path.display(),
            self.error
        )
    }
}

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Today's types read everything the snapshots describe.
    Pass,
    /// Some finding or fixture breaks.
    Fail,
    /// The directory holds no snapshot yet: nothing was compared, which is not a
    /// pass. Bless to create the first snapshots.
    NoSnapshots,
}

/// The result of [`Snapshots::check`] or [`Snapshots::diff`]. Its `Display`
/// prints one line per finding (every finding for a diff, all but the safe
/// ones for a check), one per failing fixture, then a summary line.
///
/// [`Snapshots::check`]: crate::schema::Snapshots::check
/// [`Snapshots::diff`]: crate::schema::Snapshots::diff
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub(super) dir: PathBuf,
    pub(super) snapshots: usize,
    pub(super) families: usize,
    pub(super) report: Report,
    pub(super) fixtures: Vec<FixtureFailure>,
    pub(super) every: bool,
    pub(super) commands: BlessCommands,
}

impl CheckReport {
    /// What the check concluded.
    pub fn outcome(&self) -> CheckOutcome {
        if self.snapshots == 0 {
            CheckOutcome::NoSnapshots
        } else if self.report.passes() && self.fixtures.is_empty() {
            CheckOutcome::Pass
        } else {
            CheckOutcome::Fail
        }
    }

    /// Whether the check passed (an empty directory does not).
    pub fn passes(&self) -> bool {
        self.outcome() == CheckOutcome::Pass
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every finding of the rule engine, safe ones included, with fix texts
    /// naming the bless command that works where this report is read.
    pub fn findings(&self) -> Vec<Finding> {
        self.report
            .findings
            .iter()
            .map(|f| self.render(f))
            .collect()
    }

    /// Whether some finding has this rule and verdict.
    pub fn has(&self, rule: u8, verdict: Verdict) -> bool {
        self.report.has(rule, verdict)
    }

    /// The golden fixtures that no longer decode.
    pub fn fixtures(&self) -> &[FixtureFailure] {
        &self.fixtures
    }

    /// How many findings and fixtures break.
    pub fn breaks(&self) -> usize {
        self.report.failures().count() + self.fixtures.len()
    }

    fn render(&self, finding: &Finding) -> Finding {
        let mut out = finding.clone();
        let command = format!("`{}`", self.commands.allow_break);
        out.fix = out.fix.replace(ENGINE_BLESS, &command);
        out
    }

    /// Writes the breaking lines only, each after `prefix`.
    fn write_breaks(&self, f: &mut fmt::Formatter<'_>, prefix: &str) -> fmt::Result {
        for finding in self.report.failures() {
            writeln!(f, "{prefix}{}", self.render(finding))?;
        }
        for fixture in &self.fixtures {
            writeln!(f, "{prefix}{fixture}; fix: {}", self.fixture_fix())?;
        }
        Ok(())
    }

    fn fixture_fix(&self) -> String {
        format!(
            "make today's types read it again, or run `{}` if this change is intended and no \
             data was ever written",
            self.commands.allow_break
        )
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.report.findings.iter();
        for finding in shown.filter(|x| self.every || x.verdict != Verdict::Ok) {
            writeln!(f, "{}", self.render(finding))?;
        }
        for fixture in &self.fixtures {
            writeln!(f, "{fixture}; fix: {}", self.fixture_fix())?;
        }
        let verdict = match self.outcome() {
            CheckOutcome::NoSnapshots => {
                let (dir, bless) = (self.dir.display(), &self.commands.bless);
                return write!(f, "no snapshots in {dir}: run `{bless}` to create them");
            }
            CheckOutcome::Pass => "ok",
            CheckOutcome::Fail => "FAILED",
        };
        write!(
            f,
            "schema check: {} families, {} findings, {} breaking: {verdict}",
            self.families,
            self.report.findings.len(),
            self.breaks()
        )
    }
}

/// The result of [`Snapshots::bless`](crate::schema::Snapshots::bless).
#[derive(Debug, Clone)]
#[must_use = "a bless may have been refused"]
pub struct BlessReport {
    /// The comparison made before writing: the breaks refused, or allowed.
    pub check: CheckReport,
    /// Refused: the change breaks old data and the mode refuses breaks.
    /// Nothing was written then.
    pub refused: bool,
    /// Snapshot files written (only those whose text changed).
    pub snapshots: Vec<PathBuf>,
    /// Fixtures written for the first time.
    pub fixtures: Vec<PathBuf>,
    /// Fixtures rewritten because an allowed break left them undecodable.
    pub replaced: Vec<PathBuf>,
    /// Renamed families: their old snapshot file, superseded by the new one,
    /// and their fixture directory, moved to the new name (from, to).
    pub moved: Vec<(PathBuf, PathBuf)>,
}

impl fmt::Display for BlessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.refused {
            self.check.write_breaks(f, "")?;
            return write!(
                f,
                "schema bless: refused, the change breaks old data (run `{}` if no data was \
                 ever written)",
                self.check.commands.allow_break
            );
        }
        self.check.write_breaks(f, "allowed: ")?;
        for path in &self.snapshots {
            writeln!(f, "wrote {}", path.display())?;
        }
        for path in &self.replaced {
            writeln!(f, "replaced {}", path.display())?;
        }
        for (from, to) in &self.moved {
            writeln!(f, "moved {} to {}", from.display(), to.display())?;
        }
        write!(
            f,
            "schema bless: snapshots up to date, {} new fixture(s)",
            self.fixtures.len()
        )?;
        if !self.replaced.is_empty() {
            write!(f, ", {} replaced", self.replaced.len())?;
        }
        Ok(())
    }
}

/// Why the snapshot directory could not be read or written. Findings of the
/// check are not errors: they are in the [`CheckReport`].
#[derive(Debug)]
#[non_exhaustive]
pub enum SnapshotError {
    /// A directory or file could not be read.
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A directory or file could not be written.
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A `.json` file in the directory is not a family snapshot.
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// Two snapshot files describe the same family.
    Duplicate {
        /// The second file read (files are read in name order).
        path: PathBuf,
        /// The family both describe.
        family: String,
    },
    /// The sample payload generated from today's shape does not decode with
    /// today's type, so no fixture can be written: the type's serialization
    /// differs from its shape (a hand-written `Serialize`, rule 16).
    Sample {
        /// The family.
        family: String,
        /// The variant.
        variant: String,
        /// The version.
        version: u16,
        /// The cause.
        source: SchemaError,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, .. } => write!(f, "cannot read {}", path.display()),
            Self::Write { path, .. } => write!(f, "cannot write {}", path.display()),
            Self::Parse { path, .. } => write!(f, "{} is not a family snapshot", path.display()),
            Self::Duplicate { path, family } => write!(
                f,
                "{} describes family `{family}`, which another snapshot describes too",
                path.display()
            ),
            Self::Sample {
                family,
                variant,
                version,
                ..
            } => write!(
                f,
                "the sample payload of {family}::{variant} v{version} does not decode with \
                 today's type; its serialization differs from its shape (rule 16)"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } | Self::Write { source, .. } => Some(source),
            Self::Parse { source, .. } => Some(source),
            Self::Sample { source, .. } => Some(source),
            Self::Duplicate { .. } => None,
        }
    }
}
