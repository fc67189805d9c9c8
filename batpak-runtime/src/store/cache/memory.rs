//! [`MemoryCache`]: projection states kept in this process, within a byte
//! budget, the least recently used given up first.

use super::{CacheKey, ProjectionCache};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// A projection cache in memory: no files, gone with the process. It keeps
/// at most `budget` bytes of states (keys included); a new state pushes out
/// the least recently read or written ones, and a state larger than the
/// whole budget is not kept. With it, [`Store::load`](crate::store::Store::load)
/// and `execute` fold only the events after the cached state instead of
/// the whole stream, for aggregates in use lately.
///
/// ```
/// use batpak_runtime::prelude::*;
/// use batpak_runtime::store::MemoryCache;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let store = Store::open(StoreConfig::new(dir.path()))?
///     .with_projection_cache(Box::new(MemoryCache::new(64 << 20)));
/// # store.close()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryCache {
    budget: usize,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    /// Each key's bytes and the tick it was last used at.
    entries: HashMap<CacheKey, (Vec<u8>, u64)>,
    /// Keys by the tick they were last used at, oldest first.
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    bytes: usize,
}

/// What an entry counts against the budget.
fn cost(key: &CacheKey, bytes: &[u8]) -> usize {
    key.projection.len() + key.entity.len() + bytes.len()
}

impl Lru {
    /// Marks `key`'s entry as used now.
    fn touch(&mut self, key: &CacheKey) {
        self.tick += 1;
        let tick = self.tick;
        if let Some((_, used)) = self.entries.get_mut(key) {
            self.order.remove(used);
            *used = tick;
            self.order.insert(tick, key.clone());
        }
    }

    fn remove(&mut self, key: &CacheKey) {
        if let Some((bytes, used)) = self.entries.remove(key) {
            self.order.remove(&used);
            self.bytes -= cost(key, &bytes);
        }
    }
}

impl MemoryCache {
    /// A cache that keeps at most `budget` bytes of states.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(Lru::default()),
        }
    }

    /// The bytes of states (and their keys) it keeps now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // A panic elsewhere while holding the lock leaves a consistent map.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ProjectionCache for MemoryCache {
    fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
        let mut lru = self.lock();
        let bytes = lru.entries.get(key)?.0.clone();
        lru.touch(key);
        Some(bytes)
    }

    fn put(&self, key: &CacheKey, bytes: &[u8]) {
        let mut lru = self.lock();
        lru.remove(key);
        let size = cost(key, bytes);
        if size > self.budget {
            return;
        }
        while lru.bytes + size > self.budget {
            let Some(oldest) = lru.order.values().next().cloned() else {
                break;
            };
            lru.remove(&oldest);
        }
        // Tick 0 is never in `order` (ticks start at 1): `touch` files it.
        lru.entries.insert(key.clone(), (bytes.to_vec(), 0));
        lru.touch(key);
        lru.bytes += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(entity: &str) -> CacheKey {
        CacheKey {
            projection: "p",
            version: 1,
            entity: entity.into(),
        }
    }

    /// Entries come back as put; over the budget the least recently used
    /// go first (a read counts as a use); a state over the whole budget is
    /// not kept; replacing an entry counts only its new size.
    #[test]
    fn keeps_the_most_recently_used_within_its_budget() {
        let per = cost(&key("a"), &[0; 99]);
        let cache = MemoryCache::new(3 * per);
        for e in ["a", "b", "c"] {
            cache.put(&key(e), &[e.as_bytes()[0]; 99]);
        }
        assert_eq!(cache.bytes(), 3 * per);
        assert_eq!(cache.get(&key("a")), Some(vec![b'a'; 99]));
        cache.put(&key("d"), &[b'd'; 99]);
        assert_eq!(cache.get(&key("b")), None, "b was the least recently used");
        assert!(cache.get(&key("a")).is_some() && cache.get(&key("c")).is_some());
        cache.put(&key("c"), &[b'C'; 99]);
        assert_eq!(cache.bytes(), 3 * per);
        assert_eq!(cache.get(&key("c")), Some(vec![b'C'; 99]));
        cache.put(&key("huge"), &vec![0; 4 * per]);
        assert_eq!(cache.get(&key("huge")), None);
        assert_eq!(cache.bytes(), 3 * per, "nothing was pushed out for it");
    }
}
