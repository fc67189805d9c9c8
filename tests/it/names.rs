//! Names on every public write path: the library's reserved entity
//! (`$batpak:schema-ledger`) is refused for application events, raw or typed,
//! single, batched, fenced, staged, reactions and gate records alike, and
//! nothing is written.

use batpak::coordinate::{CoordinateError, NamePart};
use batpak::gate::{Denial, DenialCode, FnGate, GateSet};
use batpak::prelude::*;
use batpak::store::{BatchAppendItem, CausationRef};

const KIND: EventKind = EventKind::custom(0x3, 7);

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
#[batpak(category = 0x3)]
enum Note {
    #[batpak(id = 8)]
    Written { text: String },
}

fn refused<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(
            result,
            Err(StoreError::InvalidCoordinate(CoordinateError::Reserved {
                part: NamePart::Entity
            }))
        ),
        "{result:?}"
    );
}

#[test]
fn reserved_entities_are_refused_on_every_write_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let ledger = Coordinate::new("$batpak:schema-ledger", "$batpak").unwrap();
    let mine = Coordinate::new("note:1", "app").unwrap();
    let root = store.append(&mine, KIND, &"root").unwrap();
    let before = store.stats().unwrap();
    let note = Note::Written { text: "x".into() };

    refused(store.append(&ledger, KIND, &"x"));
    refused(store.append_with_options(&ledger, KIND, &"x", AppendOptions::new()));
    refused(store.submit(&ledger, KIND, &"x"));
    refused(store.try_submit(&ledger, KIND, &"x"));
    refused(store.submit_reaction(&ledger, KIND, &"x", root.event_id, root.event_id));
    refused(store.append_typed(&ledger, &note));
    refused(store.append_bytes(&ledger, KIND, b"x", AppendOptions::new()));
    refused(BatchAppendItem::bytes(
        ledger.clone(),
        KIND,
        b"x".to_vec(),
        AppendOptions::new(),
    ));
    refused(BatchAppendItem::new(
        ledger.clone(),
        KIND,
        &"x",
        AppendOptions::new(),
        CausationRef::None,
    ));
    refused(BatchAppendItem::typed(
        ledger.clone(),
        &note,
        AppendOptions::new(),
    ));
    let mut outbox = store.outbox();
    refused(outbox.stage(ledger.clone(), KIND, &"x"));
    {
        let fence = store.begin_visibility_fence().unwrap();
        refused(fence.submit(&ledger, KIND, &"x"));
        fence.cancel().unwrap();
    }
    let gates: GateSet<u32> = GateSet::new().with(FnGate::new("never", |_: &u32| {
        Err(Denial::new(DenialCode::new("no"), "never"))
    }));
    let rejection = gates.evaluate(&1).unwrap_err();
    refused(store.append_denial(&ledger, KIND, &rejection));

    let after = store.stats().unwrap();
    assert_eq!(after.events, before.events, "nothing was written");
    store.close().unwrap();
}

/// An entity is one stream in one scope: a second scope is a typed error,
/// from the index and within one batch, also after a reopen, and writes
/// nothing.
#[test]
fn an_entity_lives_in_one_scope() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let in_a = Coordinate::new("user:1", "a").unwrap();
    let in_b = Coordinate::new("user:1", "b").unwrap();
    store.append(&in_a, KIND, &1).unwrap();
    let mismatch = |r: Result<_, StoreError>| match r {
        Err(StoreError::ScopeMismatch {
            entity,
            existing,
            scope,
        }) => (entity, existing, scope),
        other => panic!("expected ScopeMismatch, got {other:?}"),
    };
    let (entity, existing, scope) = mismatch(store.append(&in_b, KIND, &2).map(|_| ()));
    assert_eq!(
        (entity.as_str(), existing.as_str(), scope.as_str()),
        ("user:1", "a", "b")
    );
    let fresh_a = Coordinate::new("user:2", "a").unwrap();
    let fresh_b = Coordinate::new("user:2", "b").unwrap();
    let item = |c: &Coordinate| {
        BatchAppendItem::new(
            c.clone(),
            KIND,
            &0,
            AppendOptions::new(),
            CausationRef::None,
        )
        .unwrap()
    };
    mismatch(
        store
            .append_batch(vec![item(&fresh_a), item(&fresh_b)])
            .map(|_| ()),
    );
    assert_eq!(
        store.entity_sequence("user:2"),
        0,
        "the batch wrote nothing"
    );
    store.close().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    mismatch(store.append(&in_b, KIND, &3).map(|_| ()));
    assert_eq!(store.stream("user:1").len(), 1);
    store
        .append(&in_a, KIND, &4)
        .expect("its own scope still works");
}
