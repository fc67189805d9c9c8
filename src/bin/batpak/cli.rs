//! The command line every command shares: one DIR, options that take a value
//! (each at most once, before or after DIR) and the `--json` switch; and the
//! read-only open of DIR, with progress lines.

use crate::progress::Progress;
use crate::Failure;
use batpak::store::{ReadOnly, Store, StoreConfig};

/// A command's arguments once parsed.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The data directory.
    pub dir: String,
    /// `--json` was given.
    pub json: bool,
    /// `-f` / `--follow` was given (`tail`).
    pub follow: bool,
    values: Vec<(&'static str, String)>,
}

impl Parsed {
    /// The value given to `flag`, if it was given.
    pub fn value(&self, flag: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(f, _)| *f == flag)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `flag` as a count, or `default` when it was not given.
    pub fn count(&self, flag: &str, default: usize) -> Result<usize, Failure> {
        match self.value(flag) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| Failure::Usage(format!("bad count `{v}` for {flag}"))),
        }
    }
}

/// Parses `args` (what follows the command): exactly one DIR, `--json`, and
/// the options in `flags`, each of which takes a value.
pub(crate) fn parse(args: &[String], flags: &[&'static str]) -> Result<Parsed, Failure> {
    let mut dir = None;
    let mut json = false;
    let mut follow = false;
    let mut values: Vec<(&'static str, String)> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--json" {
            json = true;
        } else if arg == "-f" || arg == "--follow" {
            follow = true;
        } else if let Some(flag) = flags.iter().find(|f| **f == arg) {
            let value = rest
                .next()
                .ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))?;
            if values.iter().any(|(f, _)| f == flag) {
                return Err(Failure::Usage(format!("{flag} is given twice")));
            }
            values.push((flag, value.clone()));
        } else if arg.starts_with('-') && arg.len() > 1 {
            return Err(Failure::Usage(format!("unknown option `{arg}`")));
        } else if dir.is_none() {
            dir = Some(arg.clone());
        } else {
            return Err(Failure::Usage(format!("unexpected argument `{arg}`")));
        }
    }
    let dir = dir.ok_or_else(|| Failure::Usage("missing DIR".into()))?;
    Ok(Parsed {
        dir,
        json,
        follow,
        values,
    })
}

/// Opens `dir` read-only, saying so on the progress line.
pub(crate) fn open(dir: &str, progress: &Progress) -> Result<Store<ReadOnly>, Failure> {
    progress.phase(&format!(
        "opening {dir} (reading segments, rebuilding the index)"
    ));
    let store = Store::open_read_only(StoreConfig::new(dir))?;
    progress.phase(&format!("opened {dir}"));
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_go_before_or_after_dir() {
        let p = parse(&args(&["--kind", "A::B", "data", "--json"]), &["--kind"]).unwrap();
        assert_eq!(p.dir, "data");
        assert!(p.json);
        assert_eq!(p.value("--kind"), Some("A::B"));
        assert_eq!(p.value("-n"), None);
    }

    #[test]
    fn bad_command_lines_are_usage_errors() {
        for bad in [
            &["data", "--kind"][..],
            &["data", "--kind", "a", "--kind", "b"],
            &["data", "--frob"],
            &["data", "more"],
            &[],
        ] {
            assert!(
                matches!(parse(&args(bad), &["--kind"]), Err(Failure::Usage(_))),
                "{bad:?}"
            );
        }
        let p = parse(&args(&["data", "-n", "x"]), &["-n"]).unwrap();
        assert!(matches!(p.count("-n", 10), Err(Failure::Usage(_))));
    }
}
