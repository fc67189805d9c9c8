use super::*;

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_created_key_survives_reopen_and_a_destroyed_one_stays_gone() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let id = KeyId::of("user:1");
    let key = {
        let store = FileKeyStore::new(&keys_dir);
        assert!(store.get(id).unwrap().is_none());
        let key = store.get_or_create(id).unwrap();
        assert_eq!(store.get_or_create(id).unwrap(), key, "created once");
        key
    };
    let store = FileKeyStore::new(&keys_dir);
    assert_eq!(store.get(id).unwrap(), Some(key.clone()));
    assert_eq!(files(&keys_dir), vec![format!("{}.key", id.to_hex())]);
    assert!(store.destroy(id).unwrap());
    assert!(!store.destroy(id).unwrap());
    assert!(files(&keys_dir).is_empty(), "no file keeps the key's bytes");
    let store = FileKeyStore::new(&keys_dir);
    assert!(store.get(id).unwrap().is_none());
    // A new key under the same id is another key.
    assert_ne!(store.get_or_create(id).unwrap(), key);
}

#[test]
fn destroy_removes_a_leftover_temporary_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileKeyStore::new(dir.path());
    let id = KeyId::of("user:2");
    store.get_or_create(id).unwrap();
    let leftover = store.temporary(id);
    std::fs::write(&leftover, [9u8; KEY_FILE_BYTES]).unwrap();
    assert!(store.destroy(id).unwrap());
    assert!(files(dir.path()).is_empty());
}

#[test]
fn a_damaged_key_file_is_an_error_not_an_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileKeyStore::new(dir.path());
    let id = KeyId::of("user:3");
    store.get_or_create(id).unwrap();
    let path = store.path(id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(
        store.get(id).unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
}

mod through_the_store {
    use super::*;
    use crate::event::EventKind;
    use crate::schema::test_family::one_kind_family;
    use crate::schema::{Personal, Shape};
    use crate::store::log::io::faults::{Faults, FaultyIo};
    use crate::store::{AppendOptions, BatchAppendItem, Store, StoreConfig, StoreError};
    use std::sync::atomic::Ordering;

    one_kind_family!(Signup, name = "Signup", variant = None, kind = EventKind::custom(0x3, 1), {
        email: Personal<String> => Shape::Personal(Box::new(Shape::String)),
    });

    #[test]
    fn an_append_whose_key_cannot_be_made_durable_is_refused_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys-elsewhere");
        let faults = Faults::new(true);
        faults.rename_fails.store(true, Ordering::SeqCst);
        let keys = FileKeyStore::with_io(
            Arc::new(FaultyIo::new(Arc::clone(&faults), None)),
            keys_dir.clone(),
        );
        let config = StoreConfig::new(dir.path().join("data")).with_key_store(Arc::new(keys));
        let store = Store::open(config).unwrap();
        let coord = crate::coordinate::Coordinate::new("member:1", "club").unwrap();
        let event = Signup {
            email: Personal::from("ada@example.org".to_owned()),
        };
        let item = BatchAppendItem::typed(coord.clone(), &event, AppendOptions::new()).unwrap();
        match store.append_item(item) {
            Err(StoreError::KeyStore { .. }) => {}
            other => panic!("expected a key store error, got {other:?}"),
        }
        assert_eq!(store.stats().unwrap().events, 0, "nothing written");
        assert!(
            files(&keys_dir).is_empty(),
            "no copy of the unused key left"
        );
        // Once the key store works, the same append goes through and reads back.
        faults.armed.store(false, Ordering::SeqCst);
        let item = BatchAppendItem::typed(coord, &event, AppendOptions::new()).unwrap();
        store.append_item(item).unwrap();
        let read = store.read_typed::<Signup>("member:1").unwrap();
        assert_eq!(read[0].as_ref().unwrap().1, event);
        assert_eq!(files(&keys_dir).len(), 1);
    }
}
