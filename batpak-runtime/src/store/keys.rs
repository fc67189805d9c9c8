//! Crypto-shredding: the data keys of personal fields. A [`KeyStore`] keeps
//! one 256-bit key per data subject, found by its [`KeyId`]; the store seals
//! each personal field with its subject's key (XChaCha20-Poly1305, a random
//! 24-byte nonce per field) before the writer frames it, and opens it after a
//! read. Destroying a key ([`Store::forget`](super::Store::forget)) erases
//! every value sealed with it, in the log, its backups and its copies.
//!
//! A sealed field is `[format 1][key id: 16][nonce: 24][ciphertext + tag]`.
//! The associated data binds it to its subject's key id, the event's kind and
//! the field's ordinal in the payload, so a ciphertext moved to another
//! subject, kind or field does not open.
//!
//! The default key store is `store::log::keys::FileKeyStore`, one file per key
//! in `keys/` of the data directory; an operator plugs a KMS in by
//! implementing [`KeyStore`] ([`StoreConfig::with_key_store`](super::StoreConfig::with_key_store)).

use super::locking;
use crate::event::EventKind;
use crate::schema::json::TranscodeError;
use crate::schema::personal::{self, RewriteError, Slot, TAG_ERASED, TAG_SEALED, TAG_VALUE};
use crate::schema::Fields;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The identity of a data subject's key: the first 16 bytes of a blake3
/// key derivation over the subject's name. Logs and key files carry only
/// this, never the subject's name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 16]);

impl KeyId {
    /// The key id of `subject`.
    pub fn of(subject: &str) -> Self {
        let derived = blake3::derive_key(
            "batpak 2026 personal data subject key id",
            subject.as_bytes(),
        );
        let mut id = [0; 16];
        id.copy_from_slice(&derived[..16]);
        KeyId(id)
    }

    /// The id as 32 lowercase hex digits (the file key store's file name).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

/// A 256-bit data key. Its bytes are overwritten when it is dropped, and
/// `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// Bytes of a key.
    pub const LEN: usize = 32;

    /// A new key from the operating system's CSPRNG.
    pub fn generate() -> io::Result<Self> {
        let mut key = [0; 32];
        getrandom::fill(&mut key).map_err(io::Error::other)?;
        Ok(DataKey(key))
    }

    /// A key from its bytes (what a key store kept).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DataKey(bytes)
    }

    /// The key's bytes, for a key store to keep.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        for b in &mut self.0 {
            // SAFETY: `b` is a valid, aligned reference into our own array.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Where data keys live. Implementations must be durable: `get_or_create`
/// returns only once a new key would survive a crash (the store seals with it
/// and acknowledges the event after that), and `destroy` only once the key is
/// gone for good. Only the store's own process calls `get_or_create` and
/// `destroy`, through one store at a time; `get` may be called from any
/// thread.
pub trait KeyStore: Send + Sync + fmt::Debug {
    /// The key `id`, if it exists.
    fn get(&self, id: KeyId) -> io::Result<Option<DataKey>>;

    /// The key `id`, created (durably) if it does not exist.
    fn get_or_create(&self, id: KeyId) -> io::Result<DataKey>;

    /// Destroys the key `id` durably; `false` when there was none.
    fn destroy(&self, id: KeyId) -> io::Result<bool>;
}

/// Most data keys a store keeps in memory; past it the cache is emptied.
const CACHED_KEYS_MAX: usize = 4096;

/// A key store with the keys this process used lately kept in memory (one
/// lookup per subject instead of one per event), and the sealing and opening
/// of payloads.
pub(crate) struct KeyRing {
    store: Arc<dyn KeyStore>,
    /// Keys by id; `None` for a key known to be missing, kept only by a
    /// read-write store, whose process alone creates keys (a read-only store
    /// asks again, since a writer in another process may create one).
    cache: RwLock<HashMap<KeyId, Option<Arc<XChaCha20Poly1305>>>>,
    remember_missing: bool,
    /// Counts destructions, so a lookup that raced one does not put the
    /// destroyed key back into the cache.
    destroyed: AtomicU64,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Bytes a sealed field has besides its ciphertext: format, key id, nonce, tag.
const SEALED_OVERHEAD: usize = 1 + 16 + 24 + 16;
/// The only sealed format so far.
const SEALED_FORMAT: u8 = 1;

/// Why a payload could not be sealed or opened.
#[derive(Debug)]
pub(crate) enum SealError {
    /// The payload's bytes do not follow its shape.
    Bytes(TranscodeError),
    /// The key store failed.
    KeyStore(io::Error),
}

impl From<RewriteError<io::Error>> for SealError {
    fn from(e: RewriteError<io::Error>) -> Self {
        match e {
            RewriteError::Bytes(e) => SealError::Bytes(e),
            RewriteError::Slot(e) => SealError::KeyStore(e),
        }
    }
}

fn aad(id: KeyId, kind: EventKind, ordinal: u32) -> [u8; 22] {
    let mut out = [0; 22];
    out[..16].copy_from_slice(&id.0);
    out[16..18].copy_from_slice(&kind.raw().to_le_bytes());
    out[18..].copy_from_slice(&ordinal.to_le_bytes());
    out
}

impl KeyRing {
    /// A ring over `store`; `read_write` when this process is the one that
    /// creates and destroys keys.
    pub(crate) fn new(store: Arc<dyn KeyStore>, read_write: bool) -> Self {
        KeyRing {
            store,
            cache: RwLock::new(HashMap::new()),
            remember_missing: read_write,
            destroyed: AtomicU64::new(0),
        }
    }

    fn cipher(&self, id: KeyId, create: bool) -> io::Result<Option<Arc<XChaCha20Poly1305>>> {
        match locking::read(&self.cache).get(&id) {
            Some(Some(c)) => return Ok(Some(Arc::clone(c))),
            Some(None) if !create => return Ok(None),
            _ => {}
        }
        let epoch = self.destroyed.load(Ordering::Acquire);
        let key = if create {
            Some(self.store.get_or_create(id)?)
        } else {
            self.store.get(id)?
        };
        let cipher = key.map(|key| Arc::new(XChaCha20Poly1305::new(key.as_bytes().into())));
        if cipher.is_some() || self.remember_missing {
            let mut cache = locking::write(&self.cache);
            if self.destroyed.load(Ordering::Acquire) != epoch {
                return Ok(cipher);
            }
            if cache.len() >= CACHED_KEYS_MAX {
                cache.clear();
            }
            cache.insert(id, cipher.clone());
        }
        Ok(cipher)
    }

    /// Destroys `subject`'s key durably and forgets it here.
    pub(crate) fn destroy(&self, subject: &str) -> io::Result<bool> {
        let id = KeyId::of(subject);
        // Out of the cache first: no read may use the key once destroy begins.
        self.destroyed.fetch_add(1, Ordering::AcqRel);
        locking::write(&self.cache).remove(&id);
        let existed = self.store.destroy(id);
        // Again: a lookup that began before the count moved is not cached,
        // but one may have finished in between.
        self.destroyed.fetch_add(1, Ordering::AcqRel);
        locking::write(&self.cache).remove(&id);
        existed
    }

    /// The payload with every personal field in clear sealed with `subject`'s
    /// key (created durably if needed). Erased and sealed fields stay as
    /// they are.
    pub(crate) fn seal(
        &self,
        fields: &Fields,
        kind: EventKind,
        subject: &str,
        bytes: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let id = KeyId::of(subject);
        let mut cipher = None;
        let mut out = Vec::with_capacity(bytes.len() + 2 * SEALED_OVERHEAD);
        personal::rewrite(fields, bytes, &mut out, &mut |ordinal, slot, out| {
            match slot {
                Slot::Clear(clear) => {
                    if cipher.is_none() {
                        cipher = self.cipher(id, true)?;
                    }
                    let c = cipher.as_ref().ok_or_else(|| io::Error::other("no key"))?;
                    let mut nonce = [0u8; 24];
                    getrandom::fill(&mut nonce).map_err(io::Error::other)?;
                    let aad = aad(id, kind, ordinal);
                    let sealed = c
                        .encrypt(
                            XNonce::from_slice(&nonce),
                            Payload {
                                msg: clear,
                                aad: &aad,
                            },
                        )
                        .map_err(|_| io::Error::other("sealing failed"))?;
                    out.push(TAG_SEALED);
                    personal::put_varint(out, (SEALED_OVERHEAD - 16 + sealed.len()) as u64);
                    out.push(SEALED_FORMAT);
                    out.extend_from_slice(&id.0);
                    out.extend_from_slice(&nonce);
                    out.extend_from_slice(&sealed);
                }
                Slot::Erased => out.push(TAG_ERASED),
                Slot::Sealed(blob) => {
                    out.push(TAG_SEALED);
                    personal::put_varint(out, blob.len() as u64);
                    out.extend_from_slice(blob);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The payload with every sealed field opened: in clear when its key
    /// exists, erased when the key is gone (or the field does not open with
    /// it: a key made again for a forgotten subject is another key).
    pub(crate) fn open(
        &self,
        fields: &Fields,
        kind: EventKind,
        bytes: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(bytes.len());
        personal::rewrite(fields, bytes, &mut out, &mut |ordinal, slot, out| {
            match slot {
                Slot::Clear(clear) => {
                    out.push(TAG_VALUE);
                    out.extend_from_slice(clear);
                }
                Slot::Erased => out.push(TAG_ERASED),
                Slot::Sealed(blob) => match self.open_one(kind, ordinal, blob)? {
                    Some(clear) => {
                        out.push(TAG_VALUE);
                        out.extend_from_slice(&clear);
                    }
                    None => out.push(TAG_ERASED),
                },
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn open_one(&self, kind: EventKind, ordinal: u32, blob: &[u8]) -> io::Result<Option<Vec<u8>>> {
        if blob.len() < SEALED_OVERHEAD || blob[0] != SEALED_FORMAT {
            return Ok(None);
        }
        let mut id = [0; 16];
        id.copy_from_slice(&blob[1..17]);
        let id = KeyId(id);
        let Some(cipher) = self.cipher(id, false)? else {
            return Ok(None);
        };
        let aad = aad(id, kind, ordinal);
        let nonce = XNonce::from_slice(&blob[17..41]);
        Ok(cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &blob[41..],
                    aad: &aad,
                },
            )
            .ok())
    }
}

#[cfg(test)]
mod tests;
