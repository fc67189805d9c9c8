use super::*;
use crate::schema::{encode, Field, Personal, Schema, Shape};
use std::sync::Mutex;

/// An in-memory key store.
#[derive(Debug, Default)]
struct MemoryKeys(Mutex<HashMap<KeyId, [u8; 32]>>);

impl KeyStore for MemoryKeys {
    fn get(&self, id: KeyId) -> io::Result<Option<DataKey>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(&id)
            .map(|k| DataKey::from_bytes(*k)))
    }
    fn get_or_create(&self, id: KeyId) -> io::Result<DataKey> {
        let mut keys = self.0.lock().unwrap();
        let key = keys
            .entry(id)
            .or_insert_with(|| *DataKey::generate().unwrap().as_bytes());
        Ok(DataKey::from_bytes(*key))
    }
    fn destroy(&self, id: KeyId) -> io::Result<bool> {
        Ok(self.0.lock().unwrap().remove(&id).is_some())
    }
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Profile {
    name: Personal<String>,
    city: String,
}

fn fields() -> Fields {
    Fields::Named(vec![
        Field {
            name: "name".into(),
            shape: <Personal<String>>::shape(),
        },
        Field {
            name: "city".into(),
            shape: Shape::String,
        },
    ])
}

fn ring() -> KeyRing {
    KeyRing::new(Arc::new(MemoryKeys::default()), true)
}

const KIND: EventKind = EventKind::custom(0x1, 1);

fn profile(name: &str) -> Vec<u8> {
    encode(&Profile {
        name: Personal::from(name.to_owned()),
        city: "Lisbon".into(),
    })
    .unwrap()
}

#[test]
fn sealed_fields_open_with_their_key_and_hide_the_value() {
    let ring = ring();
    let sealed = ring
        .seal(&fields(), KIND, "user:1", &profile("Grace Hopper"))
        .unwrap();
    assert!(!sealed.windows(5).any(|w| w == b"Grace"));
    let opened = ring.open(&fields(), KIND, &sealed).unwrap();
    let read: Profile = crate::schema::decode(&opened).unwrap();
    assert_eq!(read.name, Personal::from("Grace Hopper".to_owned()));
    // Two seals of one value differ: every field has its own nonce.
    let again = ring
        .seal(&fields(), KIND, "user:1", &profile("Grace Hopper"))
        .unwrap();
    assert_ne!(sealed, again);
}

#[test]
fn destroying_the_key_erases_only_that_subject() {
    let ring = ring();
    let first = ring
        .seal(&fields(), KIND, "user:1", &profile("Ada"))
        .unwrap();
    let second = ring
        .seal(&fields(), KIND, "user:2", &profile("Alan"))
        .unwrap();
    assert!(ring.destroy("user:1").unwrap());
    assert!(!ring.destroy("user:1").unwrap(), "gone already");
    let read = |bytes: &[u8]| -> Profile {
        crate::schema::decode(&ring.open(&fields(), KIND, bytes).unwrap()).unwrap()
    };
    assert_eq!(read(&first).name, Personal::Erased);
    assert_eq!(read(&first).city, "Lisbon");
    assert_eq!(read(&second).name, Personal::from("Alan".to_owned()));
    // A new key for the forgotten subject does not bring old values back.
    ring.seal(&fields(), KIND, "user:1", &profile("Ada again"))
        .unwrap();
    assert_eq!(read(&first).name, Personal::Erased);
}

#[test]
fn a_sealed_field_does_not_open_under_another_kind_or_subject() {
    let ring = ring();
    let sealed = ring
        .seal(&fields(), KIND, "user:1", &profile("Ada"))
        .unwrap();
    let other_kind = ring
        .open(&fields(), EventKind::custom(0x1, 2), &sealed)
        .unwrap();
    let read: Profile = crate::schema::decode(&other_kind).unwrap();
    assert_eq!(read.name, Personal::Erased);
    // The key id inside names user:1; swapping in user:2's id breaks the tag.
    let mut swapped = sealed.clone();
    let at = swapped
        .windows(16)
        .position(|w| w == KeyId::of("user:1").0)
        .unwrap();
    ring.seal(&fields(), KIND, "user:2", &profile("x")).unwrap();
    swapped[at..at + 16].copy_from_slice(&KeyId::of("user:2").0);
    let read: Profile =
        crate::schema::decode(&ring.open(&fields(), KIND, &swapped).unwrap()).unwrap();
    assert_eq!(read.name, Personal::Erased);
}

#[test]
fn key_ids_do_not_spell_the_subject() {
    let id = KeyId::of("ada@example.com");
    assert_ne!(id, KeyId::of("alan@example.com"));
    assert!(!id.to_hex().contains("ada"));
    assert_eq!(format!("{:?}", DataKey::from_bytes([7; 32])), "DataKey(..)");
}
