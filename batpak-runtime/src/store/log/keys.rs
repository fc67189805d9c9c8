//! The default key store: one file per data key, `keys/<key id hex>.key` in
//! the data directory, 40 bytes (a 4-byte magic, the 32-byte key, a CRC32 of
//! those 36). All through the log's IO seam.
//!
//! A key is created by writing a temporary file, syncing it, renaming it into
//! place and syncing the directory, so a key is durable before the first event
//! sealed with it is written. A key is destroyed by overwriting the file's
//! bytes with zeros and syncing them, then removing the file and syncing the
//! directory; a temporary file an interrupted creation left behind is removed
//! with it. Backups (`Store::snapshot`) copy segments only, never `keys/`:
//! keys need a backup of their own, and destroying a key erases the data in
//! every backup too.

use super::io::{create_temporary, LogIo, StdIo};
use crate::store::keys::{DataKey, KeyId, KeyStore};
use crate::store::locking;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The first bytes of a key file.
const MAGIC: &[u8; 4] = b"BPK1";
/// Bytes of a key file.
const KEY_FILE_BYTES: usize = 4 + DataKey::LEN + 4;

/// A durable key store of one file per key in a directory (by default
/// `keys/` in the data directory). Put the directory elsewhere, and back it
/// up on its own schedule, with [`FileKeyStore::new`].
pub struct FileKeyStore {
    io: Arc<dyn LogIo>,
    dir: PathBuf,
    /// Creations and destructions take turns, so two threads never create
    /// two different keys under one id.
    turns: Mutex<()>,
}

impl fmt::Debug for FileKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKeyStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl FileKeyStore {
    /// A key store in `dir`, created on the first key.
    pub fn new(dir: impl AsRef<Path>) -> Self {
        Self::with_io(Arc::new(StdIo), dir.as_ref().to_path_buf())
    }

    pub(crate) fn with_io(io: Arc<dyn LogIo>, dir: PathBuf) -> Self {
        FileKeyStore {
            io,
            dir,
            turns: Mutex::new(()),
        }
    }

    /// The default directory of a store's keys.
    pub(crate) fn default_dir(data_dir: &Path) -> PathBuf {
        data_dir.join("keys")
    }

    /// The directory the keys live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: KeyId) -> PathBuf {
        self.dir.join(format!("{}.key", id.to_hex()))
    }

    fn temporary(&self, id: KeyId) -> PathBuf {
        self.dir.join(format!("{}.key.tmp", id.to_hex()))
    }

    fn read(&self, id: KeyId) -> io::Result<Option<DataKey>> {
        let path = self.path(id);
        let bytes = match self.io.read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let damaged = || io::Error::new(io::ErrorKind::InvalidData, "damaged key file");
        if bytes.len() != KEY_FILE_BYTES || &bytes[..4] != MAGIC {
            return Err(damaged());
        }
        let crc = u32::from_le_bytes(bytes[36..40].try_into().map_err(|_| damaged())?);
        if crc32fast::hash(&bytes[..36]) != crc {
            return Err(damaged());
        }
        let key: [u8; 32] = bytes[4..36].try_into().map_err(|_| damaged())?;
        Ok(Some(DataKey::from_bytes(key)))
    }

    fn create(&self, id: KeyId) -> io::Result<DataKey> {
        let key = DataKey::generate()?;
        let mut bytes = Vec::with_capacity(KEY_FILE_BYTES);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&bytes).to_le_bytes());
        let fresh =
            matches!(self.io.list(&self.dir), Err(e) if e.kind() == io::ErrorKind::NotFound);
        self.io.create_dir_all(&self.dir)?;
        if let Some(parent) = self.dir.parent().filter(|_| fresh) {
            // The directory's name must be durable before a key in it is.
            self.io.sync_dir(parent)?;
        }
        let tmp = self.temporary(id);
        let mut file = create_temporary(&*self.io, &tmp)?;
        let written = file.write_all(&bytes).and_then(|()| file.sync_all());
        bytes.fill(0);
        written?;
        drop(file);
        if let Err(e) = self.io.rename(&tmp, &self.path(id)) {
            // The key was never used: leave no copy of it behind.
            let _ = self.shred(&tmp);
            return Err(e);
        }
        self.io.sync_dir(&self.dir)?;
        Ok(key)
    }

    /// Overwrites `path` with zeros, syncs, removes it; `false` when absent.
    fn shred(&self, path: &Path) -> io::Result<bool> {
        let len = match self.io.len(path) {
            Ok(len) => len,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let zeros = vec![0; usize::try_from(len).unwrap_or(KEY_FILE_BYTES)];
        self.io.write_at(path, 0, &zeros, true)?;
        self.io.remove(path)?;
        Ok(true)
    }
}

impl KeyStore for FileKeyStore {
    fn get(&self, id: KeyId) -> io::Result<Option<DataKey>> {
        self.read(id)
    }

    fn get_or_create(&self, id: KeyId) -> io::Result<DataKey> {
        let _turn = locking::lock(&self.turns);
        match self.read(id)? {
            Some(key) => Ok(key),
            None => self.create(id),
        }
    }

    fn destroy(&self, id: KeyId) -> io::Result<bool> {
        let _turn = locking::lock(&self.turns);
        let leftover = self.shred(&self.temporary(id))?;
        let existed = self.shred(&self.path(id))?;
        if existed || leftover {
            self.io.sync_dir(&self.dir)?;
        }
        Ok(existed)
    }
}

#[cfg(test)]
mod tests;
