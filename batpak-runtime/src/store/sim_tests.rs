//! The seeded crash-point simulation: workloads over the public API run on a
//! simulated disk ([`SimIo`]) that fails at one operation, the power is cut,
//! and the store reopened over what the disk kept must hold every durable
//! acknowledged event and nothing torn or never attempted (see `check`).
//!
//! Each script of a workload is first run without a fault to count its
//! operations; then it runs once per operation with the fault there. Every
//! failure names its seed and crash point: `BATPAK_SIM_SEED=<seed>` replays a
//! whole run, and `BATPAK_SIM_POINT=<workload>/<script>/<point>` only that
//! point; `BATPAK_SIM_TRACE=1` then prints the script, what the store
//! answered and every operation (with `--nocapture`).

mod check;
mod run;
mod workload;

use crate::store::log::io::sim::{Fault, Fired, SimIo, SimRng};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use workload::{Profile, Workload};

/// The seed without `BATPAK_SIM_SEED`.
const DEFAULT_SEED: u64 = 0x0BA7_9A4C_0005_1A11;

/// The base seed: `BATPAK_SIM_SEED` (decimal or `0x` hex) or the default.
fn base_seed() -> u64 {
    let Ok(text) = std::env::var("BATPAK_SIM_SEED") else {
        return DEFAULT_SEED;
    };
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("BATPAK_SIM_SEED={text} is not a number"))
}

/// FNV-1a of `text`: mixes a label into a seed.
fn label_hash(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Which fault each point of a sweep gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The power is cut at the point: that operation and all later ones fail.
    Crash,
    /// One operation from the point fails (`ENOSPC` or `EIO`); the power is
    /// cut after the workload.
    Once,
}

/// The figures of a sweep.
#[derive(Debug, Default)]
struct Totals {
    points: u64,
    acked: u64,
    copies: u64,
    failures: Vec<String>,
}

/// How the fault went, for failure messages.
fn describe(fired: Option<Fired>) -> String {
    match fired {
        Some(f) => format!(
            "[{:?} on {} failed at op {} with errno {}]",
            f.what,
            f.path.display(),
            f.op,
            f.errno
        ),
        None => "[no fault fired]".into(),
    }
}

/// A fresh directory for one run, in memory where there is a tmpfs: the
/// check reopens with the real file system, whose fsyncs on a disk would
/// take most of the run's time.
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("batpak-sim-")
        .tempdir_in(base)
        .expect("a temporary directory")
}

/// Runs `workload` with `fault`, cuts the power and checks what is left.
fn run_point(
    seed: u64,
    workload: &Workload,
    fault: Fault,
    label: &str,
) -> (u64, Result<check::Checked, String>) {
    let root = scratch_dir();
    let mut rng = SimRng::derive(seed, &[label_hash(label)]);
    let io = Arc::new(SimIo::new(root.path(), fault, rng.next_u64()));
    let tracing = std::env::var_os("BATPAK_SIM_TRACE").is_some();
    if tracing {
        io.start_trace();
    }
    let rec = run::execute(workload, &io, root.path(), fault);
    if tracing {
        println!(
            "{label}: {workload:#?}\n{rec:#?}\n{}",
            io.trace().join("\n")
        );
    }
    let ops = io.ops();
    let fired = io.fired();
    if let Err(e) = io.power_loss(&mut rng) {
        return (ops, Err(format!("power loss: {e}")));
    }
    let checked = check::check(workload, root.path(), &rec);
    (ops, checked.map_err(|e| format!("{} {e}", describe(fired))))
}

/// Counts the operations of a fault-free run of `workload` (twice, so that
/// a script that does not repeat itself shows), and checks that run too.
fn count_ops(seed: u64, workload: &Workload, label: &str) -> Result<u64, String> {
    let (ops, checked) = run_point(seed, workload, Fault::None, label);
    checked?;
    let (again, _) = run_point(seed, workload, Fault::None, label);
    if again != ops {
        return Err(format!("not deterministic: {ops} operations, then {again}"));
    }
    Ok(ops)
}

/// Runs every crash point of `scripts` scripts of `profile`.
fn sweep(profile: Profile, scripts: u64, kind: Kind) {
    let seed = base_seed();
    let only = std::env::var("BATPAK_SIM_POINT").ok();
    let start = Instant::now();
    let mut totals = Totals::default();
    for script in 0..scripts {
        let label = format!("{}/{script}", profile.name);
        if only
            .as_ref()
            .is_some_and(|o| !o.starts_with(&format!("{label}/")))
        {
            continue;
        }
        let mut rng = SimRng::derive(seed, &[label_hash(&label)]);
        let workload = Workload::generate(profile, &mut rng);
        match count_ops(seed, &workload, &label) {
            Ok(ops) => sweep_script(seed, &workload, &label, ops, kind, &mut totals),
            Err(e) => totals.failures.push(format!(
                "BATPAK_SIM_SEED={seed} {label} without a fault: {e}"
            )),
        }
    }
    println!(
        "sim {}: seed {seed}, {} crash points, {} acknowledged events checked, {} snapshots checked, {} failures, {:.1} s",
        profile.name,
        totals.points,
        totals.acked,
        totals.copies,
        totals.failures.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        totals.failures.is_empty(),
        "{} of {} crash points failed (replay: BATPAK_SIM_SEED=<seed> BATPAK_SIM_POINT=<point>):\n{}",
        totals.failures.len(),
        totals.points,
        totals.failures.join("\n")
    );
}

/// Runs every crash point `0..ops` of one script.
fn sweep_script(
    seed: u64,
    workload: &Workload,
    label: &str,
    ops: u64,
    kind: Kind,
    totals: &mut Totals,
) {
    let only = std::env::var("BATPAK_SIM_POINT").ok();
    for point in 0..ops {
        let label = format!("{label}/{point}");
        if only.as_ref().is_some_and(|o| *o != label) {
            continue;
        }
        let fault = match kind {
            Kind::Crash => Fault::Crash { at: point },
            Kind::Once => Fault::Once { at: point },
        };
        totals.points += 1;
        match run_point(seed, workload, fault, &label).1 {
            Ok(checked) => {
                totals.acked += checked.acked;
                totals.copies += checked.copies;
            }
            Err(e) => totals.failures.push(format!(
                "BATPAK_SIM_SEED={seed} BATPAK_SIM_POINT={label} (of {ops}): {e}"
            )),
        }
    }
}

/// Appends and batches over many small segments, with syncs and reopens.
const APPENDS: Profile = Profile {
    name: "appends",
    segment_max_bytes: 4096,
    every_n_events: 1,
    mmap_index: false,
    steps: 14,
    weights: [5, 3, 0, 1, 0, 0, 1],
};

/// Fences committed, cancelled and dropped, and compactions that reclaim
/// the cancelled ones from sealed segments.
const FENCES: Profile = Profile {
    name: "fences",
    segment_max_bytes: 4096,
    every_n_events: 1,
    mmap_index: false,
    steps: 14,
    weights: [3, 1, 4, 0, 2, 0, 1],
};

/// Snapshots, closes that save the index snapshot, reopens that load it,
/// and compactions that remove it.
const MAINTENANCE: Profile = Profile {
    name: "maintenance",
    segment_max_bytes: 4096,
    every_n_events: 1,
    mmap_index: true,
    steps: 14,
    weights: [3, 2, 1, 0, 1, 2, 2],
};

/// A sync every 4 events: acknowledged events are durable only after a
/// sync, yet what survives must be a prefix of them.
const RELAXED: Profile = Profile {
    name: "relaxed",
    segment_max_bytes: 4096,
    every_n_events: 4,
    mmap_index: true,
    steps: 14,
    weights: [4, 2, 1, 2, 1, 1, 1],
};

/// Everything, for one-shot faults.
const MIXED: Profile = Profile {
    name: "mixed",
    segment_max_bytes: 4096,
    every_n_events: 1,
    mmap_index: true,
    steps: 14,
    weights: [3, 2, 2, 1, 1, 1, 1],
};

/// Scripts per sweep; each runs a crash point per operation. Together the
/// sweeps run over 10,000 crash points.
const SCRIPTS: u64 = 30;

/// Scripts of the maintenance sweep: its points cost about twice as much
/// (snapshot copies to open and verify, index snapshots to write).
const MAINTENANCE_SCRIPTS: u64 = 20;

#[test]
fn sim_appends_batches_and_rotation() {
    sweep(APPENDS, SCRIPTS, Kind::Crash);
}

#[test]
fn sim_fences_and_compaction() {
    sweep(FENCES, SCRIPTS, Kind::Crash);
}

#[test]
fn sim_snapshots_index_and_close() {
    sweep(MAINTENANCE, MAINTENANCE_SCRIPTS, Kind::Crash);
}

#[test]
fn sim_relaxed_sync_cadence() {
    sweep(RELAXED, SCRIPTS, Kind::Crash);
}

#[test]
fn sim_one_shot_enospc_and_eio() {
    sweep(MIXED, SCRIPTS, Kind::Once);
}
