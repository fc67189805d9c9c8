//! The crate in `tests/downstream` is a user's crate: it sees only the public
//! API and checks its snapshots with `assert_snapshots!`. Here a temporary copy
//! of it must pass as committed, fail naming the rule after a breaking edit,
//! refuse a plain bless, and pass again after an allowed one. Every step runs
//! `cargo test` on the copy as a child process, over a target directory kept
//! between runs, so batpak is compiled for it once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A target directory beside this test binary's, stable across runs: the copy
/// lives at a new path each time, but its batpak dependency does not.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // The binary is `<target>/<profile>/deps/it-<hash>`.
    let target = exe.ancestors().nth(3).expect("target directory");
    target.join("downstream")
}

/// Copies a directory tree, leaving out build output.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let entry = entry.expect("directory entry");
        let (path, name) = (entry.path(), entry.file_name());
        if path.is_dir() {
            if name != "target" {
                copy_tree(&path, &to.join(&name));
            }
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy file");
        }
    }
}

/// Replaces `from` in the copy's file, which must contain it.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read file");
    assert!(text.contains(from), "`{from}` not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).expect("write file");
}

/// `cargo test` of the copy, with `BATPAK_BLESS` set to `bless` or unset.
fn cargo_test(copy: &Path, bless: Option<&str>) -> (bool, String) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("test")
        .arg("--manifest-path")
        .arg(copy.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("BATPAK_BLESS");
    if let Some(value) = bless {
        command.env("BATPAK_BLESS", value);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run cargo");
    let text = String::from_utf8_lossy(&stdout) + String::from_utf8_lossy(&stderr);
    (status.success(), text.into_owned())
}

#[test]
fn a_breaking_edit_fails_the_downstream_schema_test() {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let copy = tmp.path().join("downstream");
    copy_tree(&repo().join("tests/downstream"), &copy);
    let root = repo().display().to_string();
    assert!(
        !root.contains('\''),
        "the repository path must not contain a quote"
    );
    edit(
        &copy.join("Cargo.toml"),
        "path = \"../..\"",
        &format!("path = '{root}'"),
    );

    let (passed, output) = cargo_test(&copy, None);
    assert!(passed, "the committed downstream crate fails:\n{output}");

    // A raw byte becomes a varint: the old fixture still decodes (7 is 7 either
    // way), so only the rule engine sees that other bytes would not.
    let lib = copy.join("src/lib.rs");
    edit(&lib, "pub quantity: u8,", "pub quantity: u16,");
    let (passed, output) = cargo_test(&copy, None);
    assert!(!passed, "a breaking edit passes:\n{output}");
    assert!(
        output.contains("ItemAdded.item.quantity rule 6"),
        "{output}"
    );
    assert!(
        output.contains("`BATPAK_BLESS=allow-break cargo test -p downstream`"),
        "{output}"
    );

    let (passed, output) = cargo_test(&copy, Some("1"));
    assert!(!passed, "a plain bless accepts a break:\n{output}");
    assert!(output.contains("schema bless: refused"), "{output}");

    let (passed, output) = cargo_test(&copy, Some("allow-break"));
    assert!(passed, "an allowed break is refused:\n{output}");
    let (passed, output) = cargo_test(&copy, None);
    assert!(passed, "the check fails after an allowed break:\n{output}");
}
