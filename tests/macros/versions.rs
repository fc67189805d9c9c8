//! The version chain: events written by an older release (here, version 1 of
//! `Chain` as that release declared it) read back as today's version 3 through
//! `MovedV2` and `MovedV1`.

use crate::compile_pass::{Chain, MovedV1, MovedV2, Pong, PongV1};
use batpak::prelude::*;
use batpak::schema::{encode, EventFamily, SchemaError};

/// `Chain` as the first release declared it: same family name, category and id.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x3)]
    pub enum Chain {
        #[batpak(id = 1)]
        Moved { x: i16 },
    }
}

#[test]
fn an_event_written_as_version_1_reads_back_as_version_3() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinate::new("mover:1", "macros").unwrap();
    let old_id = {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let receipt = store.append_typed(&c, &v1::Chain::Moved { x: -3 }).unwrap();
        store.close().unwrap();
        receipt.event_id
    };
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let event = store.get(old_id).unwrap().unwrap();
    assert_eq!(event.header.schema_version, 1);
    assert_eq!(event.payload, serde_json::json!({"Moved": {"x": -3}}));
    store
        .append_typed(&c, &Chain::Moved { x: 1, y: 2, z: 3 })
        .unwrap();
    let read: Vec<(u16, Chain)> = store
        .read_typed::<Chain>("mover:1")
        .unwrap()
        .into_iter()
        .map(|r| {
            let (meta, value) = r.unwrap();
            (meta.header.schema_version, value)
        })
        .collect();
    assert_eq!(
        read,
        vec![
            (1, Chain::Moved { x: -3, y: 0, z: 0 }),
            (3, Chain::Moved { x: 1, y: 2, z: 3 }),
        ]
    );
    store.close().unwrap();
}

#[test]
fn every_older_version_decodes_through_the_chain() {
    let v1 = encode(&MovedV1 { x: i16::MIN }).unwrap();
    assert_eq!(
        Chain::decode_fields(Chain::MOVED, 1, &v1).unwrap(),
        Chain::Moved {
            x: i32::from(i16::MIN),
            y: 0,
            z: 0
        }
    );
    let v2 = encode(&MovedV2 { x: 4, y: 5 }).unwrap();
    assert_eq!(
        Chain::decode_fields(Chain::MOVED, 2, &v2).unwrap(),
        Chain::Moved { x: 4, y: 5, z: 0 }
    );
    for version in [0, 4] {
        assert!(matches!(
            Chain::decode_fields(Chain::MOVED, version, &v2),
            Err(SchemaError::UnknownVersion { version: v, .. }) if v == version
        ));
    }
    assert_eq!(Chain::kind_info(Chain::MOVED).unwrap().version, 3);
    let versions: Vec<u16> = Chain::event_shapes().iter().map(|(_, v, _)| *v).collect();
    assert_eq!(versions, vec![3, 2, 1]);
    assert_eq!(
        Chain::event_shapes()[2].2,
        v1::Chain::event_shapes()[0].2,
        "version 1 keeps the shape the first release wrote"
    );
}

#[test]
fn a_struct_family_upcasts_too() {
    let v1 = encode(&PongV1 {}).unwrap();
    assert_eq!(
        Pong::decode_fields(Pong::KIND, 1, &v1).unwrap(),
        Pong { count: 0 }
    );
    let v2 = Pong { count: 9 }.encode_fields().unwrap();
    assert_eq!(
        Pong::decode_fields(Pong::KIND, 2, &v2).unwrap(),
        Pong { count: 9 }
    );
    let versions: Vec<u16> = Pong::event_shapes().iter().map(|(_, v, _)| *v).collect();
    assert_eq!(versions, vec![2, 1]);
}

#[test]
fn upcast_depth_counts_the_older_shapes() {
    use batpak::schema::Upcast;
    assert_eq!(<MovedV1 as Upcast>::DEPTH, 0);
    assert_eq!(<MovedV2 as Upcast>::DEPTH, 1);
    assert_eq!(
        <MovedV2 as Upcast>::shape_back(1),
        Some(<MovedV1 as batpak::Schema>::shape())
    );
    assert_eq!(<MovedV2 as Upcast>::shape_back(2), None);
}
