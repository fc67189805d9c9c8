//! The one policy for poisoned locks: a lock is poisoned only when a thread
//! panicked while holding it, which is a bug in the store. Going on could
//! publish half-applied state or acknowledge writes that were never
//! published, so every lock of the store is taken through these functions,
//! which fail loudly (panic) instead. A panic on the writer thread turns into
//! `WriterStopped` for every caller (see `writer::Writer::run`).

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

const POISONED: &str = "a store lock is poisoned: a thread panicked while holding it";

/// Takes `lock` for reading.
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().expect(POISONED)
}

/// Takes `lock` for writing.
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().expect(POISONED)
}

/// Takes `mutex`.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().expect(POISONED)
}

/// Takes `mutex` even when poisoned. Only for the cleanup paths that run
/// after a panic (closing subscriptions, marking the writer stopped, releasing
/// the directory lock): their work is right whatever state the panic left, and
/// failing there would leave callers waiting forever.
pub(crate) fn lock_for_cleanup<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Stripes of [`EntityLocks`].
const ENTITY_STRIPES: usize = 64;

/// Mutexes striped by entity name: `Store::execute` holds an entity's stripe
/// across load, decide and append, so commands on one entity from this
/// process queue instead of racing each other's compare-and-swap.
#[derive(Debug)]
pub(crate) struct EntityLocks([Mutex<()>; ENTITY_STRIPES]);

impl Default for EntityLocks {
    fn default() -> Self {
        Self(std::array::from_fn(|_| Mutex::new(())))
    }
}

impl EntityLocks {
    /// Takes the stripe of `entity`.
    pub(crate) fn lock(&self, entity: &str) -> MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        entity.hash(&mut h);
        lock(&self.0[h.finish() as usize % ENTITY_STRIPES])
    }
}
