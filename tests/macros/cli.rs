//! Running the `batpak` inspector binary from the inspector tests.

use std::process::{Command, Output};

/// Runs `batpak` with `args` and returns what it printed and its status.
pub fn batpak(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_batpak"))
        .args(args)
        .output()
        .expect("run the batpak binary")
}

/// The standard output of a run that must have succeeded.
pub fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}
