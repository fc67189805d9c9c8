//! Workloads: a store configuration and a script of steps over the public
//! API (appends, batches, fences, rotation, compaction, snapshots, close and
//! reopen), generated from a seed, so one seed names the same script on every
//! run and every machine.

use crate::store::log::io::sim::SimRng;
use crate::store::StoreConfig;
use std::path::Path;

/// Largest payload padding: with the smallest segments (4 KiB), a few dozen
/// events rotate.
const PAD_MAX: u64 = 300;

/// Most items of a batch.
const BATCH_ITEMS_MAX: u64 = 6;

/// Most parts of a fence.
const FENCE_PARTS_MAX: u64 = 3;

/// Entities the events spread over.
const ENTITIES: u64 = 3;

/// How a fence ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FenceEnd {
    /// `commit()`.
    Commit,
    /// `cancel()`.
    Cancel,
    /// The fence is dropped (which cancels it).
    Drop,
}

/// Events written in one call: on entity `e{coord}`, each payload padded by
/// `pad` bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Part {
    pub(super) coord: u8,
    pub(super) items: u8,
    pub(super) pad: u16,
}

/// One step of a script.
#[derive(Debug, Clone)]
pub(super) enum Step {
    /// `append` of one event.
    Append(Part),
    /// `append_batch`.
    Batch(Part),
    /// A visibility fence: each part a `submit` (one item) or a
    /// `submit_batch`, then its end.
    Fence { parts: Vec<Part>, end: FenceEnd },
    /// `sync()`.
    Sync,
    /// `compact()`.
    Compact,
    /// `snapshot(dest)` into a new directory.
    Snapshot,
    /// `close()`, then open again over the same disk.
    Reopen,
}

/// What a workload exercises: the configuration, and how often each step
/// comes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Profile {
    /// Names the workload in reports and replays.
    pub(super) name: &'static str,
    /// Segment rotation size.
    pub(super) segment_max_bytes: u64,
    /// The sync cadence.
    pub(super) every_n_events: u32,
    /// Whether the store keeps an index snapshot.
    pub(super) mmap_index: bool,
    /// Steps per script.
    pub(super) steps: usize,
    /// Weights of append, batch, fence, sync, compact, snapshot, reopen.
    pub(super) weights: [u64; 7],
}

/// A script to run.
#[derive(Debug, Clone)]
pub(super) struct Workload {
    pub(super) profile: Profile,
    pub(super) steps: Vec<Step>,
}

impl Workload {
    /// A script of `profile` drawn from `rng`.
    pub(super) fn generate(profile: Profile, rng: &mut SimRng) -> Self {
        let total: u64 = profile.weights.iter().sum();
        let steps = (0..profile.steps)
            .map(|_| {
                let mut pick = rng.below(total);
                let mut kind = 0;
                while pick >= profile.weights[kind] {
                    pick -= profile.weights[kind];
                    kind += 1;
                }
                step(kind, rng)
            })
            .collect();
        Self { profile, steps }
    }

    /// The store configuration for data directory `dir`.
    pub(super) fn config(&self, dir: &Path) -> StoreConfig {
        StoreConfig::new(dir)
            .with_segment_max_bytes(self.profile.segment_max_bytes)
            .with_sync_every_n_events(self.profile.every_n_events)
            .with_enable_mmap_index(self.profile.mmap_index)
    }
}

/// A part of up to `items_max` items.
fn part(rng: &mut SimRng, items_max: u64) -> Part {
    Part {
        coord: rng.below(ENTITIES) as u8,
        items: 1 + rng.below(items_max) as u8,
        pad: rng.below(PAD_MAX) as u16,
    }
}

/// The step of kind `kind` (an index into the weights).
fn step(kind: usize, rng: &mut SimRng) -> Step {
    match kind {
        0 => Step::Append(part(rng, 1)),
        1 => Step::Batch(Part {
            items: 2 + rng.below(BATCH_ITEMS_MAX - 1) as u8,
            ..part(rng, 1)
        }),
        2 => Step::Fence {
            parts: (0..1 + rng.below(FENCE_PARTS_MAX))
                .map(|_| part(rng, 3))
                .collect(),
            end: match rng.below(4) {
                0 | 1 => FenceEnd::Commit,
                2 => FenceEnd::Cancel,
                _ => FenceEnd::Drop,
            },
        },
        3 => Step::Sync,
        4 => Step::Compact,
        5 => Step::Snapshot,
        _ => Step::Reopen,
    }
}
