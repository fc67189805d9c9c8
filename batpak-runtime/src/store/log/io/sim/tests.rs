//! The simulated disk keeps its own promises: synced bytes and synced names
//! survive every power loss, unsynced ones survive in whole sectors or not
//! at all (or as garbage), a rename is never lost both ways, and faults fire
//! where they are told to.

use super::{Fault, SimIo, SimRng};
use crate::store::log::io::LogIo;
use std::path::Path;

/// Power losses tried per property.
const TRIES: u64 = 64;

/// `len` bytes of a recognisable pattern.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ salt)
        .collect()
}

/// Runs `setup` on a fresh disk, cuts the power with seed `seed` and returns
/// the directory for inspection.
fn after_loss(seed: u64, fault: Fault, setup: impl Fn(&SimIo, &Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let io = SimIo::new(dir.path(), fault, seed);
    setup(&io, dir.path());
    io.power_loss(&mut SimRng::new(seed)).unwrap();
    dir
}

#[test]
fn synced_bytes_survive_and_the_unsynced_tail_tears_at_sectors() {
    let synced = pattern(700, 1);
    let unsynced = pattern(2000, 2);
    let mut outcomes = std::collections::HashSet::new();
    for seed in 0..TRIES {
        let dir = after_loss(seed, Fault::None, |io, root| {
            let mut f = io.create_new(&root.join("f")).unwrap();
            f.write_all(&synced).unwrap();
            f.sync_data().unwrap();
            io.sync_dir(root).unwrap();
            f.write_all(&unsynced).unwrap();
        });
        let bytes = std::fs::read(dir.path().join("f")).unwrap();
        assert_eq!(bytes[..synced.len()], synced[..], "seed {seed}");
        assert!(bytes.len() <= synced.len() + unsynced.len(), "seed {seed}");
        let kept = bytes[synced.len()..]
            .iter()
            .zip(&unsynced)
            .take_while(|(a, b)| a == b)
            .count();
        let cut = synced.len() + kept;
        assert!(
            cut.is_multiple_of(512) || kept == 0 || kept == unsynced.len() || bytes.len() > cut,
            "seed {seed}: cut at {cut}"
        );
        outcomes.insert(bytes.len());
    }
    assert!(outcomes.len() > 2, "too few outcomes: {outcomes:?}");
}

#[test]
fn a_name_is_durable_only_after_its_directory_sync() {
    let (mut vanished, mut kept) = (0, 0);
    for seed in 0..TRIES {
        let dir = after_loss(seed, Fault::None, |io, root| {
            io.create_dir_all(&root.join("d")).unwrap();
            io.sync_dir(root).unwrap();
            let mut f = io.create_new(&root.join("d/synced")).unwrap();
            f.sync_all().unwrap();
            io.sync_dir(&root.join("d")).unwrap();
            io.create_new(&root.join("d/unsynced")).unwrap();
        });
        assert!(dir.path().join("d/synced").exists(), "seed {seed}");
        match dir.path().join("d/unsynced").exists() {
            true => kept += 1,
            false => vanished += 1,
        }
    }
    assert!(vanished > 0 && kept > 0, "{vanished} vanished, {kept} kept");
}

#[test]
fn an_unsynced_rename_leaves_one_name_with_its_content() {
    for seed in 0..TRIES {
        let dir = after_loss(seed, Fault::None, |io, root| {
            for (name, salt) in [("old", 1), ("tmp", 2)] {
                let mut f = io.create_new(&root.join(name)).unwrap();
                f.write_all(&pattern(100, salt)).unwrap();
                f.sync_all().unwrap();
            }
            io.sync_dir(root).unwrap();
            io.rename(&root.join("tmp"), &root.join("old")).unwrap();
        });
        let old = std::fs::read(dir.path().join("old")).unwrap();
        let tmp = std::fs::read(dir.path().join("tmp"));
        match tmp {
            Ok(tmp) => {
                assert_eq!(old, pattern(100, 1), "seed {seed}");
                assert_eq!(tmp, pattern(100, 2), "seed {seed}");
            }
            Err(_) => assert_eq!(old, pattern(100, 2), "seed {seed}"),
        }
    }
}

#[test]
fn positioned_writes_are_durable_with_sync_and_torn_without() {
    for seed in 0..TRIES {
        let dir = after_loss(seed, Fault::None, |io, root| {
            io.write_at(&root.join("w"), 0, &pattern(1024, 1), true)
                .unwrap();
            io.sync_dir(root).unwrap();
            io.write_at(&root.join("w"), 0, &pattern(1024, 2), false)
                .unwrap();
        });
        let bytes = std::fs::read(dir.path().join("w")).unwrap();
        assert_eq!(bytes.len(), 1024, "seed {seed}");
        let new = bytes
            .iter()
            .zip(pattern(1024, 2))
            .take_while(|(a, b)| **a == *b)
            .count();
        assert!([0, 512, 1024].contains(&new), "seed {seed}: {new}");
        assert_eq!(bytes[new..], pattern(1024, 1)[new..], "seed {seed}");
    }
}

#[test]
fn a_crash_fails_every_later_operation_and_a_one_shot_fault_one() {
    let dir = tempfile::tempdir().unwrap();
    let io = SimIo::new(dir.path(), Fault::Crash { at: 2 }, 7);
    io.create_dir_all(&dir.path().join("a")).unwrap();
    io.list(dir.path()).unwrap();
    assert_eq!(io.list(dir.path()).unwrap_err().raw_os_error(), Some(5));
    assert!(io.create_dir_all(&dir.path().join("b")).is_err());
    assert_eq!(io.fired().unwrap().op, 2);

    let dir = tempfile::tempdir().unwrap();
    let io = SimIo::new(dir.path(), Fault::Once { at: 1 }, 7);
    let mut f = io.create_new(&dir.path().join("f")).unwrap();
    io.list(dir.path()).unwrap();
    let short = f.write_all(&pattern(100, 1)).unwrap_err();
    assert_eq!(short.raw_os_error(), Some(28));
    assert_eq!(std::fs::read(dir.path().join("f")).unwrap().len(), 50);
    f.write_all(&pattern(10, 1)).unwrap();
    assert_eq!(io.fired().unwrap().op, 2);
}

#[test]
fn pages_a_failed_sync_dropped_never_reach_the_disk() {
    for seed in 0..TRIES {
        let dir = after_loss(seed, Fault::Once { at: 3 }, |io, root| {
            let mut f = io.create_new(&root.join("f")).unwrap();
            io.sync_dir(root).unwrap();
            f.write_all(&pattern(600, 1)).unwrap();
            assert!(f.sync_data().is_err());
            f.write_all(&pattern(100, 2)).unwrap();
            f.sync_data().unwrap();
        });
        let bytes = std::fs::read(dir.path().join("f")).unwrap();
        assert_eq!(bytes.len(), 700, "seed {seed}");
        assert!(bytes[..600].iter().all(|b| *b == 0), "seed {seed}");
        assert_eq!(bytes[600..], pattern(100, 2)[..], "seed {seed}");
    }
}
