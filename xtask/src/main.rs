//! `cargo xtask`: repository chores. Today: the schema snapshot commands.

mod catalog;
mod schema;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command>

Commands:
  schema dump                   print today's snapshots (JSON) without writing
  schema check                  compare schemas/ with today's types; non-zero on a break
                                or when schemas/ holds no snapshot yet
  schema bless [--allow-break]  rewrite schemas/ from today's types (refuses a break
                                unless --allow-break) and add missing golden fixtures
  schema diff                   every finding, including safe changes
  help                          this message
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        [] | ["help" | "--help" | "-h"] => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        ["schema", rest @ ..] => schema::run(rest),
        _ => Ok(None),
    };
    match result {
        Ok(Some(true)) => ExitCode::SUCCESS,
        Ok(Some(false)) => ExitCode::from(1),
        Ok(None) => {
            eprintln!("unknown command `{}`\n\n{HELP}", words.join(" "));
            ExitCode::from(2)
        }
        Err(e) => {
            eprint!("xtask: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprint!(": {s}");
                source = s.source();
            }
            eprintln!();
            ExitCode::from(2)
        }
    }
}
