//! `cargo xtask`: repository chores. Today: the schema snapshot commands.

mod catalog;
mod schema;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command>

Commands:
  schema dump                   print today's snapshots (JSON) without writing
  schema check                  compare schemas/ with today's types; non-zero on a break
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
        ["schema", "dump"] => schema::dump(),
        ["schema", "check"] => schema::check(),
        ["schema", "bless"] => schema::bless(false),
        ["schema", "bless", "--allow-break"] => schema::bless(true),
        ["schema", "diff"] => schema::diff(),
        _ => {
            eprintln!("unknown command `{}`\n\n{HELP}", words.join(" "));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
    }
}
