//! Shared pieces of the plain bench harnesses: the workload (coordinates and
//! ~80-byte JSON payloads), the plain-file floors each figure is measured against,
//! and the header and summary lines every bench prints.

// Each bench binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod child;
pub mod reads;

use batpak::prelude::*;
use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// The event kind every bench appends.
pub const KIND: EventKind = EventKind::custom(0x1, 1);

/// The payload of every bench event; its JSON encoding is about 80 bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    pub seq: u64,
    pub account: u32,
    pub amount_cents: i64,
    pub memo: &'static str,
}

/// The `i`-th payload of a run.
pub fn payload(i: u64) -> Payload {
    Payload {
        seq: i,
        account: (i % 10_007) as u32,
        amount_cents: (i as i64 * 7919) % 1_000_000 - 500_000,
        memo: "deposit via batpak",
    }
}

/// `n` coordinates `account:0` .. `account:{n-1}` in scope `bench`.
pub fn coordinates(n: usize) -> Vec<Coordinate> {
    (0..n)
        .map(|i| Coordinate::new(format!("account:{i}"), "bench").expect("valid coordinate"))
        .collect()
}

/// A fresh directory under the system temp dir.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::TempDir::new().expect("create temp dir")
}

/// Bytes of all segment files (`*.bpk`) in `dir`.
pub fn segment_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("list data dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "bpk"))
        .map(|e| e.metadata().expect("segment metadata").len())
        .sum()
}

/// Opens a fresh store in a new temp dir with the given fsync cadence.
pub fn open_store(every_n_events: u32) -> (tempfile::TempDir, Store) {
    let dir = temp_dir();
    let config = StoreConfig::new(dir.path()).with_sync_every_n_events(every_n_events);
    let store = Store::open(config).expect("open store");
    (dir, store)
}

/// The CPU time this process has used so far, all threads (live and
/// exited) together, from /proc/self/stat (user + system, in the kernel's
/// 100 Hz clock ticks: 10 ms resolution, so measure runs of a second or so).
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // The command name may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime) are 11 and 12 after the name.
    let ticks = |i: usize| fields[i].parse::<u64>().expect("a tick count");
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// One timed run of a store.
pub struct Run {
    pub elapsed: Duration,
    pub events: u64,
    pub segment_bytes: u64,
    /// CPU time the process used during the run, when measured.
    pub cpu: Option<Duration>,
}

impl Run {
    /// Checks that `events` are in the store, closes it and measures its segments.
    pub fn finish(dir: &tempfile::TempDir, store: Store, events: u64, elapsed: Duration) -> Self {
        assert_eq!(store.stats().expect("stats").events, events);
        store.close().expect("close store");
        Self {
            elapsed,
            events,
            segment_bytes: segment_bytes(dir.path()),
            cpu: None,
        }
    }

    /// Events per second.
    pub fn per_s(&self) -> f64 {
        rate(self.events, self.elapsed)
    }

    /// CPU microseconds per event, when the run measured CPU time.
    pub fn cpu_us_per_event(&self) -> Option<f64> {
        self.cpu
            .map(|cpu| cpu.as_secs_f64() * 1e6 / self.events as f64)
    }

    /// Average on-disk bytes per event (segment headers, name frames and batch
    /// markers included).
    pub fn frame_bytes(&self) -> usize {
        (self.segment_bytes as f64 / self.events as f64).round() as usize
    }
}

/// Every figure is the median of this many interleaved repetitions: the machine
/// is shared, so single runs swing by 2x.
pub const REPEATS: usize = 3;

/// The median of `runs` by `key` (the upper median of an even count).
pub fn median_by<T>(mut runs: Vec<T>, key: impl Fn(&T) -> f64) -> T {
    assert!(!runs.is_empty(), "median of no runs");
    runs.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

/// Events per second.
pub fn rate(events: u64, elapsed: Duration) -> f64 {
    events as f64 / elapsed.as_secs_f64()
}

/// The floor of an append path: `frames` frames of `frame_bytes` bytes each,
/// written `frames_per_write` at a time with `write_all` into a plain file in
/// `dir`, with `sync_data` after every `frames_per_sync` frames (and at the end).
/// Returns the elapsed time.
pub fn plain_file_floor(
    dir: &Path,
    frames: u64,
    frame_bytes: usize,
    frames_per_write: u64,
    frames_per_sync: u64,
) -> Duration {
    let path = dir.join("floor.bin");
    let mut file = File::create(&path).expect("create floor file");
    let chunk = vec![0x5a_u8; frame_bytes * frames_per_write as usize];
    let started = Instant::now();
    let mut written = 0;
    let mut unsynced = 0;
    while written < frames {
        let n = frames_per_write.min(frames - written);
        file.write_all(&chunk[..frame_bytes * n as usize])
            .expect("write floor file");
        written += n;
        unsynced += n;
        if unsynced >= frames_per_sync || written == frames {
            file.sync_data().expect("sync floor file");
            unsynced = 0;
        }
    }
    let elapsed = started.elapsed();
    drop(file);
    std::fs::remove_file(&path).expect("remove floor file");
    elapsed
}

/// Prints the bench's name and the machine facts the figures depend on.
pub fn print_header(bench: &str, repeats: &str) {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("== batpak bench `{bench}` ==");
    println!(
        "machine: nproc {nproc}, {} {}, temp dir {}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::env::temp_dir().display()
    );
    println!("figures are indicative (the machine is shared); {repeats}");
}

/// Lines of the final summary block.
#[derive(Default)]
pub struct Summary {
    lines: Vec<String>,
}

impl Summary {
    /// A figure with no target of its own.
    pub fn figure(&mut self, name: &str, value: f64, unit: &str) {
        self.lines
            .push(format!("{name}: {} {unit}", fmt_num(value)));
    }

    /// A fact that is not a number.
    pub fn fact(&mut self, name: &str, value: impl std::fmt::Display) {
        self.lines.push(format!("{name}: {value}"));
    }

    /// A figure that should be at least `target`.
    pub fn at_least(&mut self, name: &str, value: f64, unit: &str, target: f64) {
        self.with_target(name, value, unit, target, ">=", value >= target);
    }

    /// A figure that should be at most `target`.
    pub fn at_most(&mut self, name: &str, value: f64, unit: &str, target: f64) {
        self.with_target(name, value, unit, target, "<=", value <= target);
    }

    fn with_target(&mut self, name: &str, value: f64, unit: &str, target: f64, op: &str, ok: bool) {
        let verdict = if ok { "PASS" } else { "FAIL" };
        self.lines.push(format!(
            "{name}: {} {unit} ({:.2}x of target {op} {} {unit}, {verdict})",
            fmt_num(value),
            value / target,
            fmt_num(target),
        ));
    }

    /// Prints the block.
    pub fn print(&self) {
        println!("-- summary --");
        for line in &self.lines {
            println!("{line}");
        }
    }
}

/// Large numbers without decimals, small ones with two.
fn fmt_num(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
