//! `batpak`: inspect a data directory from the command line. It opens the store
//! read-only (no lock, so it runs beside a writer; it never writes a byte) and
//! renders events as JSON through the directory's own schema ledger, so it
//! needs none of the application's types. `docs/inspector.md` describes every
//! command.
//!
//! This module dispatches commands and owns the usage text and exit codes;
//! each command lives in a module of its own (`info`, `tail`, `verify`,
//! `schema`, `graph`), over shared argument parsing (`cli`), kind naming
//! (`kinds`) and progress lines (`progress`).

mod cli;
mod graph;
mod info;
mod kinds;
mod progress;
mod schema;
mod tail;
mod verify;

use batpak::store::{CorruptionKind, StoreError};
use progress::Progress;
use std::process::ExitCode;

const USAGE: &str = "\
usage: batpak <command> DIR [options]

commands:
  info DIR                                 segments, events, entities, kinds, versions, size
  tail DIR [--entity E] [--kind K] [-n N] [-f]
                                           the last N events (default 10) as JSON lines;
                                           -f: then follow the live log (Ctrl-C stops)
  verify DIR                               check every frame, hash chain and ledger entry
  schema DIR                               the families and versions the log describes
  schema check DIR --against SNAPSHOTS     whether this release's snapshots (a schemas/
                                           directory) read every (kind, version) the log holds
  graph DIR --event ID                     the event's causes back to the root and every
                                           event it set off
  graph DIR --correlation ID               every event of one causal tree
      [--format dot|mermaid] [--svg FILE] [--limit N]
                                           DOT (default) or Mermaid text; --svg renders
                                           the DOT with graphviz `dot` into FILE

options:
  --json         one JSON document on stdout (tail: one JSON object a line, as always)
  --kind K       a kind by name (Cart::CheckedOut, batpak::Denial), hex (0x1001) or decimal
  ID             an event id as `tail` prints it: 32 hex digits (a 0x prefix is allowed)
  -h, --help     this text
  -V, --version  the version

exit codes:
  0  success
  1  the store could not be read, or problems were found (verify, schema check,
     tail on events that do not render), or a requested event or tool is missing
  2  usage error (unknown command or option, bad value)

Progress lines go to stderr, and only when stderr is a terminal.
";

/// The commands `main` dispatches.
const COMMANDS: [&str; 5] = ["info", "tail", "verify", "schema", "graph"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let progress = Progress::on_stderr();
    let known = args
        .first()
        .map(String::as_str)
        .filter(|c| COMMANDS.contains(c));
    let result = match args.first().map(String::as_str) {
        Some("info") => info::run(&args[1..], &progress),
        Some("tail") => tail::run(&args[1..], &progress),
        Some("verify") => verify::run(&args[1..], &progress),
        Some("schema") if args.get(1).map(String::as_str) == Some("check") => {
            schema::check(&args[2..], &progress)
        }
        Some("schema") => schema::list(&args[1..], &progress),
        Some("graph") => graph::run(&args[1..], &progress),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("-V" | "--version") => {
            println!("batpak {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(Failure::Usage(format!("unknown command `{other}`"))),
        None => Err(Failure::Usage("expected a command".into())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("batpak: {}", failure.message());
            if let Failure::Usage(_) = failure {
                // The whole text when there was no command to run; a pointer
                // to it when a command's own arguments were wrong.
                if known.is_some() {
                    eprintln!("(`batpak --help` lists the commands, options and exit codes)");
                } else {
                    eprintln!("\n{USAGE}");
                }
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Why a command failed; each maps to one exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A bad command line (exit 2).
    Usage(String),
    /// The store could not be opened or read (exit 1).
    Store(StoreError),
    /// The command ran and found this many problems (exit 1).
    Problems(usize),
    /// Something the command needed is missing or failed: an event, a tool (exit 1).
    Failed(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Store(_) | Failure::Problems(_) | Failure::Failed(_) => 1,
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Usage(msg) | Failure::Failed(msg) => msg.clone(),
            Failure::Store(e) => explain(e),
            Failure::Problems(n) => format!("{n} problem(s) found"),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// A store error as an operator reads it: what happened and what to do.
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

/// An event id as `tail` prints it: 32 lowercase hex digits.
pub(crate) fn hex_id(id: impl Into<u128>) -> String {
    format!("{:032x}", id.into())
}

/// Prints one JSON document on stdout.
pub(crate) fn print_json(doc: &serde_json::Value) {
    // Serializing a `Value` cannot fail (its map keys are strings).
    println!(
        "{}",
        serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string())
    );
}
