//! Measuring in a fresh process: the bench binary runs itself again with an
//! environment variable naming what to measure, so that memory the allocator
//! kept from an earlier phase does not pollute the baseline. The child prints
//! `key=value` lines; the parent reads them back.

use std::path::Path;
use std::process::{Command, Stdio};

/// A memory figure of this process from /proc/self/status (`VmRSS`: resident
/// now, `VmHWM`: resident at peak).
pub fn proc_status_bytes(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .expect("memory line in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("memory value in kB");
    kib * 1024
}

/// Runs this bench binary again with `env` set to `value` and returns the
/// `key=value` lines it printed.
pub fn run(env: &str, value: impl AsRef<Path>) -> Fields {
    let exe = std::env::current_exe().expect("path of this bench binary");
    let output = Command::new(exe)
        .env(env, value.as_ref())
        .stderr(Stdio::inherit())
        .output()
        .expect("run measuring process");
    assert!(
        output.status.success(),
        "measuring process failed: {}",
        output.status
    );
    Fields(
        String::from_utf8(output.stdout)
            .expect("utf-8 output")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// The `key=value` lines of a measuring process.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The value of `key`; panics when the child did not report it.
    pub fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("measuring process did not report `{key}`"))
    }

    /// The value of `key` as a number.
    pub fn number(&self, key: &str) -> f64 {
        self.get(key).parse().expect("a number")
    }

    /// The value of `key` as a comma-separated list of numbers.
    pub fn numbers(&self, key: &str) -> Vec<f64> {
        self.get(key)
            .split(',')
            .map(|v| v.parse().expect("a number"))
            .collect()
    }
}

/// The median of `values` (the upper median of an even count).
pub fn median(mut values: Vec<f64>) -> f64 {
    assert!(!values.is_empty(), "median of no values");
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
