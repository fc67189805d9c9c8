//! Projection caches: a [`ProjectionCache`] stores a projection's serialized
//! state under a [`CacheKey`]; [`NoCache`] stores nothing; [`MemoryCache`]
//! keeps states in this process within a byte budget; [`NativeCache`] keeps
//! one file per key, replaced whole: written to a temporary file of its own,
//! the old entry removed, the new one renamed into place. A reader between the
//! two steps misses. Renaming over the old entry instead would be atomic, but
//! on ext4 a rename that replaces a file starts writeback of the new one
//! (`auto_da_alloc`): ~200 µs against ~50 µs, most of an incremental
//! projection's time. A cache entry is only an optimisation: a missing,
//! corrupt, truncated or foreign entry is a miss, never a wrong state (each
//! entry carries its key and a CRC).
//!
//! The key's `version` is the projection's `EventSourced::schema_version`. A
//! derived projection computes it from its state's shape, so adding or
//! retyping a field already moves its entries aside; a fold that changes over
//! the same fields must be bumped by hand with
//! `#[batpak(cache_version = N)]`, which the derive combines into the version,
//! so a state cached under another `cache_version` is never served again. A
//! hand-written `EventSourced` bumps its `schema_version` itself.

use super::error::{IoOp, StoreError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

mod memory;
pub use memory::MemoryCache;

/// Numbers the temporary files of this process's cache writes, so that two
/// threads writing the same key never share one.
static WRITES: AtomicU64 = AtomicU64::new(0);

/// Identifies one cached projection state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The projection's Rust type name.
    pub projection: &'static str,
    /// The projection's declared schema/cache version.
    pub version: u32,
    /// The entity projected.
    pub entity: String,
}

impl CacheKey {
    fn canonical(&self) -> String {
        format!(
            "{}\u{1}{}\u{1}{}",
            self.projection, self.version, self.entity
        )
    }
}

/// Where projection states are kept between calls (and, for a file cache,
/// between processes).
pub trait ProjectionCache: Send + Sync + std::fmt::Debug {
    /// The bytes stored under `key`, if any.
    fn get(&self, key: &CacheKey) -> Option<Vec<u8>>;
    /// Stores `bytes` under `key`; failures are ignored (a cache may forget).
    fn put(&self, key: &CacheKey, bytes: &[u8]);

    /// Whether the cache stores anything at all; when it does not, projections
    /// skip serializing their state for it.
    fn is_enabled(&self) -> bool {
        true
    }
}

/// A cache that never remembers anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCache;

impl ProjectionCache for NoCache {
    fn get(&self, _key: &CacheKey) -> Option<Vec<u8>> {
        None
    }

    fn put(&self, _key: &CacheKey, _bytes: &[u8]) {}

    fn is_enabled(&self) -> bool {
        false
    }
}

const ENTRY_MAGIC: &[u8; 4] = b"BPKC";

/// One file per key in a directory of its own.
#[derive(Debug, Clone)]
pub struct NativeCache {
    dir: PathBuf,
}

impl NativeCache {
    /// A cache in `dir` (created if missing).
    pub fn new(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(IoOp::CreateDir, dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        let hash = blake3::hash(key.canonical().as_bytes());
        self.dir.join(format!("{}.cache", &hash.to_hex()[..32]))
    }
}

impl ProjectionCache for NativeCache {
    fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let canonical = key.canonical();
        let head = 4 + 4 + 4;
        if bytes.len() < head || &bytes[..4] != ENTRY_MAGIC {
            return None;
        }
        let key_len = u32::from_le_bytes(bytes[4..8].try_into().ok()?) as usize;
        let crc = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
        let body = &bytes[head..];
        if crc32fast::hash(body) != crc
            || body.len() < key_len
            || &body[..key_len] != canonical.as_bytes()
        {
            return None;
        }
        Some(body[key_len..].to_vec())
    }

    fn put(&self, key: &CacheKey, bytes: &[u8]) {
        let canonical = key.canonical();
        let mut body = Vec::with_capacity(canonical.len() + bytes.len());
        body.extend_from_slice(canonical.as_bytes());
        body.extend_from_slice(bytes);
        let mut out = Vec::with_capacity(12 + body.len());
        out.extend_from_slice(ENTRY_MAGIC);
        out.extend_from_slice(&(canonical.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        let path = self.path(key);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        if std::fs::write(&tmp, &out).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        // A failed removal (mostly: no entry yet) leaves the rename to replace it.
        let _ = std::fs::remove_file(&path);
        if std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CacheKey {
        CacheKey {
            projection: "p",
            version: 1,
            entity: "e".into(),
        }
    }

    /// Writers replacing one entry while readers read it: a read is a miss
    /// or one whole written value, never a mix; no temporary file is left.
    #[test]
    fn concurrent_replacements_are_read_whole_or_missed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = NativeCache::new(dir.path()).unwrap();
        let value = |w: u8, i: u8| vec![w; 64 + usize::from(i) * 7];
        std::thread::scope(|s| {
            for w in 0..3u8 {
                let cache = &cache;
                s.spawn(move || (0..100).for_each(|i| cache.put(&key(), &value(w, i))));
            }
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..300 {
                        if let Some(v) = cache.get(&key()) {
                            let i = (v.len() - 64) / 7;
                            assert!(v.len() >= 64 && (v.len() - 64) % 7 == 0);
                            assert_eq!(v, value(v[0], i as u8), "a mixed entry was served");
                        }
                    }
                });
            }
        });
        cache.put(&key(), b"last");
        assert_eq!(cache.get(&key()).as_deref(), Some(&b"last"[..]));
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 1, "temporary files were left behind");
    }
}
