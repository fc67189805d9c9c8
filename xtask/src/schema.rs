//! `cargo xtask schema ...`: the arguments and the printing. The snapshot
//! directory `schemas/`, its golden fixtures and the rule engine belong to
//! `batpak::schema::Snapshots`, the same entry point a user's xtask calls.

use batpak::schema::{BlessMode, SnapshotError, Snapshots};
use std::path::Path;

fn snapshots() -> Snapshots {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate::catalog::today(manifest.parent().unwrap_or(manifest).join("schemas"))
}

/// Runs `cargo xtask schema <args>`: `Some(passed)`, or `None` for arguments
/// it does not know.
pub fn run(args: &[&str]) -> Result<Option<bool>, SnapshotError> {
    let passed = match args {
        ["dump"] => {
            print!("{}", snapshots().dump());
            true
        }
        ["check"] => {
            let report = snapshots().check()?;
            println!("{report}");
            report.passes()
        }
        ["diff"] => {
            println!("{}", snapshots().diff()?);
            true
        }
        ["bless"] => bless(BlessMode::RefuseBreaks)?,
        ["bless", "--allow-break"] => bless(BlessMode::AllowBreaks)?,
        _ => return Ok(None),
    };
    Ok(Some(passed))
}

fn bless(mode: BlessMode) -> Result<bool, SnapshotError> {
    let report = snapshots().bless(mode)?;
    println!("{report}");
    Ok(!report.refused)
}
