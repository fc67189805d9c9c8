//! `cargo xtask`: repository chores. Schema commands arrive with the schema work.

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command>

Commands:
  help    print this message

Planned:
  schema dump | check | bless | diff   (schema snapshots in schemas/)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command `{other}`\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}
