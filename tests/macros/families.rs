//! Derived families through the store: every field type round-trips across a
//! reopen, the JSON view equals serde's, and the generated kind table, constants
//! and decoder behave as the runtime's hand-expanded family does.

use crate::compile_pass::{
    Deposited, Empty, Everything, Keywords, Marker, Meters, Pair, Ping, Point, Renamed, Shape,
    Stamp, Wide, Wide45, Wrapped,
};
use batpak::event::EventId;
use batpak::prelude::*;
use batpak::schema::{decode, encode, EventFamily, Field, Fields, SchemaError, VariantShape};
use batpak::store::StoreError;
use batpak::Schema;
use std::collections::{BTreeMap, HashMap};

fn point(x: i64, y: i64) -> Point {
    Point { x, y }
}

fn keywords() -> Keywords {
    Keywords {
        r#type: "kind".into(),
        r#match: true,
        move_count: 7,
        original: -8,
    }
}

/// Values of every variant form and field type, within JSON's number range.
fn everything() -> Vec<Everything> {
    vec![
        Everything::Unit,
        Everything::Newtype(u128::from(u64::MAX)),
        Everything::Tuple(-5, Some("t".into()), vec![0, 1, 255]),
        Everything::Tuple(i128::from(i64::MIN), None, vec![]),
        Everything::Named {
            r#type: "named".into(),
            r#match: Some(Box::new(point(-1, 2))),
            list: vec![
                Shape::Dot,
                Shape::Circle(1.5),
                Shape::Segment(point(0, 0), point(3, -4)),
                Shape::Rect {
                    corner: point(1, 1),
                    size: (2, 3),
                },
                Shape::Nothing {},
                Shape::Nil(),
            ],
            array: [1, 2, 300, u16::MAX],
            tuple: (true, 'ß', Marker),
            map: BTreeMap::from([
                ("a".to_owned(), Pair(1, "one".into())),
                ("b".to_owned(), Pair(2, String::new())),
            ]),
            hash: HashMap::from([(1, Meters(0.25)), (70_000, Meters(-2.5))]),
            boxed: "boxed".into(),
            big: 1 << 60,
            small: -128,
            empty: Empty {},
            keywords: keywords(),
            wrapped: Wrapped { inner: 42 },
        },
        Everything::EmptyNamed {},
        Everything::EmptyTuple(),
    ]
}

fn wide() -> Wide {
    Wide {
        f00: 0,
        f01: 1,
        f02: 2,
        f03: 3,
        f04: 4,
        f05: 5,
        f06: 6,
        f07: 7,
        f08: 8,
        f09: 9,
        f10: 10,
        f11: 11,
        f12: 12,
        f13: 13,
        f14: 14,
        f15: 15,
        f16: 16,
        f17: "seventeen".into(),
    }
}

fn renamed() -> Vec<Renamed> {
    vec![
        Renamed::PlayerJoined {
            first_name: "ada".into(),
        },
        Renamed::PlayerLeft,
        Renamed::Scored { points: 3 },
    ]
}

/// Appends each value, checks its JSON view at once, and returns the receipts' ids.
fn append_all<F>(store: &Store, coordinate: &Coordinate, values: &[F]) -> Vec<EventId>
where
    F: EventFamily + serde::Serialize + std::fmt::Debug,
{
    values
        .iter()
        .map(|value| {
            let receipt = store.append_typed(coordinate, value).unwrap();
            let event = store.get(receipt.event_id).unwrap().unwrap();
            assert_eq!(event.header.kind, value.kind());
            assert_eq!(
                event.payload,
                serde_json::to_value(value).unwrap(),
                "JSON view of {value:?}"
            );
            receipt.event_id
        })
        .collect()
}

fn read_all<F: EventFamily>(store: &Store, entity: &str) -> Vec<F> {
    store
        .read_typed::<F>(entity)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().1)
        .collect()
}

#[test]
fn every_field_type_round_trips_through_a_reopen_and_the_json_view_matches_serde() {
    let dir = tempfile::tempdir().unwrap();
    let c = |entity: &str| Coordinate::new(entity, "macros").unwrap();
    let deposits = vec![
        Deposited {
            cents: 500,
            r#ref: Some("inv-1".into()),
        },
        Deposited {
            cents: 0,
            r#ref: None,
        },
    ];
    let ids = {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        let ids = append_all(&store, &c("thing:1"), &everything());
        append_all(&store, &c("account:1"), &deposits);
        append_all(&store, &c("ping:1"), &[Ping {}]);
        append_all(&store, &c("wide:1"), &[wide()]);
        append_all(&store, &c("renamed:1"), &renamed());
        store.close().unwrap();
        ids
    };
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(read_all::<Everything>(&store, "thing:1"), everything());
    assert_eq!(read_all::<Deposited>(&store, "account:1"), deposits);
    assert_eq!(read_all::<Ping>(&store, "ping:1"), vec![Ping {}]);
    assert_eq!(read_all::<Wide>(&store, "wide:1"), vec![wide()]);
    assert_eq!(read_all::<Renamed>(&store, "renamed:1"), renamed());
    // After the reopen, the ledger alone renders the JSON view.
    for (id, value) in ids.iter().zip(everything()) {
        assert_eq!(
            store.get(*id).unwrap().unwrap().payload,
            serde_json::to_value(&value).unwrap()
        );
    }
    store.close().unwrap();
}

#[test]
fn values_beyond_json_numbers_round_trip() {
    let values = vec![
        Everything::Newtype(u128::MAX),
        Everything::Tuple(i128::MIN, None, vec![]),
        Everything::Tuple(i128::MAX, Some(String::new()), vec![7; 300]),
    ];
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinate::new("big:1", "macros").unwrap();
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        for v in &values {
            store.append_typed(&c, v).unwrap();
        }
        store.close().unwrap();
    }
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    assert_eq!(read_all::<Everything>(&store, "big:1"), values);
    store.close().unwrap();
}

#[test]
fn the_kind_table_is_in_id_order_whatever_the_declaration_order() {
    assert_eq!(Wide45::KINDS.len(), 45);
    let ids: Vec<u16> = Wide45::KIND_LIST.iter().map(|k| k.type_id()).collect();
    assert_eq!(ids, (0..45).collect::<Vec<u16>>());
    assert_eq!(Wide45::STEP7, EventKind::custom(0x7, 7));
    assert_eq!(Wide45::Step44.kind(), Wide45::STEP44);
    assert_eq!(Wide45::KINDS[3].variant, "Step3");
    for (info, kind) in Wide45::KINDS.iter().zip(Wide45::KIND_LIST) {
        assert_eq!(info.kind, *kind);
        assert_eq!((info.version, info.retired), (1, false));
    }
    assert_eq!(Wide45::NAME, "Wide45");

    let ids: Vec<u16> = Everything::KIND_LIST.iter().map(|k| k.type_id()).collect();
    assert_eq!(ids, vec![0, 3, 4, 5, 6, 7, 0xFFF]);
    assert_eq!(Everything::NEWTYPE, EventKind::custom(0x2, 0xFFF));
    let old = Everything::kind_info(Everything::OLD).unwrap();
    assert_eq!((old.variant, old.retired), ("Old", true));
    assert_eq!(Deposited::KIND, EventKind::custom(0x4, 9));
    assert_eq!(Deposited::KINDS.len(), 1);
    assert_eq!(Deposited::KINDS[0].variant, "Deposited");
}

#[test]
fn a_retired_kind_reads_but_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinate::new("thing:2", "macros").unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let old = Everything::Old {
        note: "gone".into(),
    };
    assert!(matches!(
        store.append_typed(&c, &old),
        Err(StoreError::RetiredKind { kind }) if kind == Everything::OLD
    ));
    let bytes = encode(&("gone",)).unwrap();
    assert_eq!(
        Everything::decode_fields(Everything::OLD, 1, &bytes).unwrap(),
        old
    );
    store.close().unwrap();
}

#[test]
fn decoding_refuses_trailing_bytes_unknown_kinds_and_unknown_versions() {
    for value in everything()
        .into_iter()
        .chain([Everything::Newtype(u128::MAX)])
    {
        let kind = value.kind();
        let bytes = value.encode_fields().unwrap();
        assert_eq!(Everything::decode_fields(kind, 1, &bytes).unwrap(), value);
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Everything::decode_fields(kind, 1, &longer),
            Err(SchemaError::TrailingBytes { left: 1 })
        ));
        assert!(matches!(
            Everything::decode_fields(kind, 2, &bytes),
            Err(SchemaError::UnknownVersion { version: 2, .. })
        ));
    }
    assert!(matches!(
        Everything::decode_fields(EventKind::custom(0x2, 1), 1, &[]),
        Err(SchemaError::UnknownKind {
            family: "Everything",
            ..
        })
    ));
    assert!(matches!(
        Deposited::decode_fields(Everything::UNIT, 1, &[]),
        Err(SchemaError::UnknownKind { .. })
    ));
}

#[test]
fn a_family_of_more_than_sixteen_fields_writes_one_flat_tuple() {
    let w = wide();
    let flat = encode(&(
        (w.f00, w.f01, w.f02, w.f03, w.f04, w.f05, w.f06, w.f07),
        (w.f08, w.f09, w.f10, w.f11, w.f12, w.f13, w.f14, w.f15),
        (w.f16, &w.f17),
    ))
    .unwrap();
    assert_eq!(w.encode_fields().unwrap(), flat);
    assert_eq!(encode(&w).unwrap(), flat, "serde's own struct encoding");
    assert_eq!(decode::<Wide>(&flat).unwrap(), w);
}

#[test]
fn event_shapes_carry_serde_names_and_declaration_order() {
    let shapes = Renamed::event_shapes();
    let variants: Vec<Option<String>> = shapes.iter().map(|(_, _, s)| s.variant.clone()).collect();
    assert_eq!(
        variants,
        vec![
            Some("player_joined".into()),
            Some("left".into()),
            Some("scored".into())
        ]
    );
    let Fields::Named(fields) = &shapes[0].2.fields else {
        panic!("named fields expected");
    };
    assert_eq!(fields[0].name, "firstName");

    let shapes = Everything::event_shapes();
    let named = shapes
        .iter()
        .find(|(k, _, _)| *k == Everything::NAMED)
        .unwrap();
    let Fields::Named(fields) = &named.2.fields else {
        panic!("named fields expected");
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "type", "match", "list", "array", "tuple", "map", "hash", "boxed", "big", "small",
            "empty", "keywords", "wrapped"
        ]
    );
    assert_eq!(Deposited::event_shapes()[0].2.variant, None);
    assert_eq!(shapes.len(), Everything::KINDS.len());
}

#[test]
fn schema_shapes_describe_nested_types_as_serde_writes_them() {
    let field = |name: &str, shape| Field {
        name: name.into(),
        shape,
    };
    let point = batpak::schema::Shape::Struct {
        name: "Point".into(),
        fields: Fields::Named(vec![
            field("x", batpak::schema::Shape::I64),
            field("y", batpak::schema::Shape::I64),
        ]),
    };
    assert_eq!(Point::shape(), point);
    assert_eq!(
        Pair::shape(),
        batpak::schema::Shape::Struct {
            name: "Pair".into(),
            fields: Fields::Tuple(vec![
                batpak::schema::Shape::U8,
                batpak::schema::Shape::String
            ]),
        }
    );
    assert_eq!(
        Marker::shape(),
        batpak::schema::Shape::Struct {
            name: "Marker".into(),
            fields: Fields::Unit,
        }
    );
    assert_eq!(Wrapped::shape(), batpak::schema::Shape::U64);
    let batpak::schema::Shape::Enum { name, variants } = Shape::shape() else {
        panic!("an enum shape expected");
    };
    assert_eq!(name, "Shape");
    assert_eq!(
        variants[2],
        VariantShape {
            name: "Segment".into(),
            fields: Fields::Tuple(vec![point.clone(), point]),
        }
    );
    let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["Dot", "Circle", "Segment", "Rect", "Nothing", "Nil"]
    );
    let batpak::schema::Shape::Struct {
        fields: Fields::Named(fields),
        ..
    } = Keywords::shape()
    else {
        panic!("a struct shape expected");
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["type", "match", "moveCount", "renamed"]);
    assert_eq!(
        Stamp::shape(),
        batpak::schema::Shape::Struct {
            name: "Stamp".into(),
            fields: Fields::Named(vec![
                field("at", batpak::schema::Shape::Opaque("u64".into())),
                field("zone", batpak::schema::Shape::String),
            ]),
        }
    );
}
