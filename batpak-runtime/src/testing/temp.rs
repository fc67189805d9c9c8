//! [`TempStore`]: a read-write store in a fresh temporary directory that is
//! closed and removed when the value is dropped.

use crate::event::ManualClock;
use crate::store::{Store, StoreConfig, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Makes directory names unique within the process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A store in its own temporary directory, with a [`ManualClock`] so ids
/// and timestamps repeat from run to run. Derefs to the [`Store`].
#[derive(Debug)]
pub struct TempStore {
    store: Option<Store>,
    dir: PathBuf,
    clock: Arc<ManualClock>,
}

impl TempStore {
    /// A new store with the default configuration and a clock standing at
    /// 1,700,000,000 s after the epoch.
    pub fn new() -> Result<Self, StoreError> {
        Self::with_config(|c| c)
    }

    /// A new store whose configuration `configure` adjusts (the directory
    /// and the clock are the kit's).
    pub fn with_config(
        configure: impl FnOnce(StoreConfig) -> StoreConfig,
    ) -> Result<Self, StoreError> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("batpak-test-{}-{n}", std::process::id()));
        // A leftover of an earlier process with our pid holds nothing of ours.
        let _ = std::fs::remove_dir_all(&dir);
        let clock = Arc::new(ManualClock::new(1_700_000_000_000_000));
        let config = configure(StoreConfig::new(&dir)).with_clock(clock.clone());
        let config = StoreConfig {
            data_dir: dir.clone(),
            ..config
        };
        let store = Store::open(config)?;
        Ok(Self {
            store: Some(store),
            dir,
            clock,
        })
    }

    /// The store's clock: advance it to move time for the next writes.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The store's directory (removed on drop).
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl std::ops::Deref for TempStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        self.store.as_ref().expect("the store lives until drop")
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let _ = store.close();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
