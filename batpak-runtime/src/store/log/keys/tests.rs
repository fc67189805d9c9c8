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
