//! Projection caches: a [`ProjectionCache`] stores a projection's serialized
//! state under a [`CacheKey`]; [`NoCache`] stores nothing; [`NativeCache`] keeps
//! one file per key, replaced atomically (write to a temporary file, rename). A
//! cache entry is only an optimisation: a corrupt, truncated or foreign entry is
//! a miss, never a wrong state (each entry carries its key and a CRC).
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
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &out).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}
