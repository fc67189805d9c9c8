//! A family expanded by hand exactly as `#[derive(batpak::Event)]` and
//! `#[derive(batpak::Schema)]` expand it (with `crate::` for `::batpak::__private::`),
//! checked end to end: encode, decode through the upcast chain, JSON view, store.

use super::test_family::one_kind_family;
use super::*;
use crate::event::EventKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Player {
    Joined { name: String },
    Moved { x: i32, y: i32, z: i32 },
    Left,
    Tagged(String, u8),
    Kicked { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MovedV1 {
    x: i16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MovedV2 {
    x: i32,
    y: i32,
}

impl From<MovedV1> for MovedV2 {
    fn from(v: MovedV1) -> Self {
        MovedV2 {
            x: i32::from(v.x),
            y: 0,
        }
    }
}

impl From<MovedV2> for Player {
    fn from(v: MovedV2) -> Self {
        Player::Moved {
            x: v.x,
            y: v.y,
            z: 0,
        }
    }
}

// ---- what `#[derive(Schema)] struct MovedV1` generates ----
const _: () = {
    impl Schema for MovedV1 {
        fn shape() -> Shape {
            Shape::Struct {
                name: "MovedV1".into(),
                fields: Fields::Named(vec![Field {
                    name: "x".into(),
                    shape: <i16 as Schema>::shape(),
                }]),
            }
        }
    }
    impl Upcast for MovedV1 {
        const DEPTH: u16 = 0;
        fn decode_back(back: u16, bytes: &[u8]) -> Result<Self, SchemaError> {
            match back {
                0 => decode::<Self>(bytes),
                _ => <NoUpcast as Upcast>::decode_back(back - 1, bytes).map(|n| match n {}),
            }
        }
        fn shape_back(back: u16) -> Option<Shape> {
            match back {
                0 => Some(<Self as Schema>::shape()),
                _ => None,
            }
        }
    }
};

// ---- what `#[derive(Schema)] #[batpak(upcast_from = MovedV1)] struct MovedV2` generates ----
const _: () = {
    impl Schema for MovedV2 {
        fn shape() -> Shape {
            Shape::Struct {
                name: "MovedV2".into(),
                fields: Fields::Named(vec![
                    Field {
                        name: "x".into(),
                        shape: <i32 as Schema>::shape(),
                    },
                    Field {
                        name: "y".into(),
                        shape: <i32 as Schema>::shape(),
                    },
                ]),
            }
        }
    }
    impl Upcast for MovedV2 {
        const DEPTH: u16 = <MovedV1 as Upcast>::DEPTH + 1;
        fn decode_back(back: u16, bytes: &[u8]) -> Result<Self, SchemaError> {
            match back {
                0 => decode::<Self>(bytes),
                _ => <MovedV1 as Upcast>::decode_back(back - 1, bytes)
                    .map(<Self as From<MovedV1>>::from),
            }
        }
        fn shape_back(back: u16) -> Option<Shape> {
            match back {
                0 => Some(<Self as Schema>::shape()),
                _ => <MovedV1 as Upcast>::shape_back(back - 1),
            }
        }
    }
};

// ---- what `#[derive(Event)] #[batpak(category = 0x1)] enum Player` generates ----
// (Joined id 1; Moved id 2 version 3 upcast_from MovedV2; Left id 3; Tagged id 4;
// Kicked id 5 retired)
const _: () = {
    #[allow(dead_code)]
    impl Player {
        pub const JOINED: EventKind = EventKind::custom(0x1, 1);
        pub const MOVED: EventKind = EventKind::custom(0x1, 2);
        pub const LEFT: EventKind = EventKind::custom(0x1, 3);
        pub const TAGGED: EventKind = EventKind::custom(0x1, 4);
        pub const KICKED: EventKind = EventKind::custom(0x1, 5);
    }
    impl EventFamily for Player {
        const NAME: &'static str = "Player";
        const KINDS: &'static [KindInfo] = &[
            KindInfo {
                kind: Player::JOINED,
                variant: "Joined",
                version: 1,
                retired: false,
            },
            KindInfo {
                kind: Player::MOVED,
                variant: "Moved",
                version: 3,
                retired: false,
            },
            KindInfo {
                kind: Player::LEFT,
                variant: "Left",
                version: 1,
                retired: false,
            },
            KindInfo {
                kind: Player::TAGGED,
                variant: "Tagged",
                version: 1,
                retired: false,
            },
            KindInfo {
                kind: Player::KICKED,
                variant: "Kicked",
                version: 1,
                retired: true,
            },
        ];
        const KIND_LIST: &'static [EventKind] = &[
            Player::JOINED,
            Player::MOVED,
            Player::LEFT,
            Player::TAGGED,
            Player::KICKED,
        ];

        fn kind(&self) -> EventKind {
            match self {
                Player::Joined { .. } => Player::JOINED,
                Player::Moved { .. } => Player::MOVED,
                Player::Left => Player::LEFT,
                Player::Tagged(..) => Player::TAGGED,
                Player::Kicked { .. } => Player::KICKED,
            }
        }

        fn encode_fields(&self) -> Result<Vec<u8>, SchemaError> {
            match self {
                Player::Joined { name } => encode(&(name,)),
                Player::Moved { x, y, z } => encode(&(x, y, z)),
                Player::Left => encode(&()),
                Player::Tagged(f0, f1) => encode(&(f0, f1)),
                Player::Kicked { reason } => encode(&(reason,)),
            }
        }

        fn decode_fields(kind: EventKind, version: u16, bytes: &[u8]) -> Result<Self, SchemaError> {
            match kind {
                Player::JOINED if version == 1 => {
                    let (name,) = decode::<(String,)>(bytes)?;
                    Ok(Player::Joined { name })
                }
                Player::MOVED if version == 3 => {
                    let (x, y, z) = decode::<(i32, i32, i32)>(bytes)?;
                    Ok(Player::Moved { x, y, z })
                }
                Player::MOVED => decode_older::<MovedV2, Self>(Self::NAME, kind, 3, version, bytes),
                Player::LEFT if version == 1 => {
                    decode::<()>(bytes)?;
                    Ok(Player::Left)
                }
                Player::TAGGED if version == 1 => {
                    let (f0, f1) = decode::<(String, u8)>(bytes)?;
                    Ok(Player::Tagged(f0, f1))
                }
                Player::KICKED if version == 1 => {
                    let (reason,) = decode::<(String,)>(bytes)?;
                    Ok(Player::Kicked { reason })
                }
                Player::JOINED | Player::LEFT | Player::TAGGED | Player::KICKED => {
                    Err(SchemaError::UnknownVersion {
                        family: Self::NAME,
                        kind,
                        version,
                    })
                }
                _ => Err(SchemaError::UnknownKind {
                    family: Self::NAME,
                    kind,
                }),
            }
        }

        fn event_shapes() -> Vec<(EventKind, u16, EventShape)> {
            let mut out = Vec::new();
            let named = |fields: Vec<(&str, Shape)>| {
                Fields::Named(
                    fields
                        .into_iter()
                        .map(|(n, s)| Field {
                            name: n.into(),
                            shape: s,
                        })
                        .collect(),
                )
            };
            variant_history::<NoUpcast>(
                Self::NAME,
                Some("Joined"),
                Player::JOINED,
                1,
                named(vec![("name", <String as Schema>::shape())]),
                &mut out,
            );
            variant_history::<MovedV2>(
                Self::NAME,
                Some("Moved"),
                Player::MOVED,
                3,
                named(vec![
                    ("x", <i32 as Schema>::shape()),
                    ("y", <i32 as Schema>::shape()),
                    ("z", <i32 as Schema>::shape()),
                ]),
                &mut out,
            );
            variant_history::<NoUpcast>(
                Self::NAME,
                Some("Left"),
                Player::LEFT,
                1,
                Fields::Unit,
                &mut out,
            );
            variant_history::<NoUpcast>(
                Self::NAME,
                Some("Tagged"),
                Player::TAGGED,
                1,
                Fields::Tuple(vec![<String as Schema>::shape(), <u8 as Schema>::shape()]),
                &mut out,
            );
            variant_history::<NoUpcast>(
                Self::NAME,
                Some("Kicked"),
                Player::KICKED,
                1,
                named(vec![("reason", <String as Schema>::shape())]),
                &mut out,
            );
            out
        }
    }
};

fn samples() -> Vec<Player> {
    vec![
        Player::Joined { name: "ada".into() },
        Player::Moved {
            x: -5,
            y: 7,
            z: 1 << 20,
        },
        Player::Left,
        Player::Tagged("tag".into(), 200),
        Player::Kicked {
            reason: "afk".into(),
        },
    ]
}

#[test]
fn round_trip_and_json_view_match_serde() {
    let shapes = Player::event_shapes();
    for p in samples() {
        let bytes = p.encode_fields().unwrap();
        let info = Player::kind_info(p.kind()).unwrap();
        assert_eq!(
            Player::decode_fields(p.kind(), info.version, &bytes).unwrap(),
            p
        );
        let (_, _, shape) = shapes
            .iter()
            .find(|(k, v, _)| *k == p.kind() && *v == info.version)
            .unwrap();
        assert_eq!(
            json::event_to_json(shape, &bytes).unwrap(),
            serde_json::to_value(&p).unwrap()
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Player::decode_fields(p.kind(), info.version, &longer),
            Err(SchemaError::TrailingBytes { left: 1 })
        ));
    }
}

#[test]
fn old_versions_read_through_the_chain() {
    let v1 = encode(&MovedV1 { x: -3 }).unwrap();
    assert_eq!(
        Player::decode_fields(Player::MOVED, 1, &v1).unwrap(),
        Player::Moved { x: -3, y: 0, z: 0 }
    );
    let v2 = encode(&MovedV2 { x: 4, y: 5 }).unwrap();
    assert_eq!(
        Player::decode_fields(Player::MOVED, 2, &v2).unwrap(),
        Player::Moved { x: 4, y: 5, z: 0 }
    );
    assert!(matches!(
        Player::decode_fields(Player::MOVED, 4, &v2),
        Err(SchemaError::UnknownVersion { version: 4, .. })
    ));
    assert!(matches!(
        Player::decode_fields(Player::MOVED, 0, &v2),
        Err(SchemaError::UnknownVersion { version: 0, .. })
    ));
    let versions: Vec<u16> = Player::event_shapes()
        .iter()
        .filter(|(k, _, _)| *k == Player::MOVED)
        .map(|(_, v, _)| *v)
        .collect();
    assert_eq!(versions, vec![3, 2, 1]);
    let v1_shape = Player::event_shapes()
        .into_iter()
        .find(|(k, v, _)| *k == Player::MOVED && *v == 1)
        .unwrap()
        .2;
    assert_eq!(
        json::event_to_json(&v1_shape, &v1).unwrap(),
        serde_json::json!({"Moved": {"x": -3}})
    );
}

#[test]
fn typed_events_through_the_store() {
    use crate::coordinate::Coordinate;
    use crate::store::{Store, StoreConfig, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinate::new("player:1", "game").unwrap();
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        for p in samples().into_iter().filter(|p| p.kind() != Player::KICKED) {
            store.append_typed(&c, &p).unwrap();
        }
        assert!(matches!(
            store.append_typed(&c, &Player::Kicked { reason: "x".into() }),
            Err(StoreError::RetiredKind { .. })
        ));
        let first = store.stream("player:1")[0].event_id;
        assert_eq!(
            store.get(first).unwrap().unwrap().payload,
            serde_json::json!({"Joined": {"name": "ada"}})
        );
        store.close().unwrap();
    }
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let read: Vec<Player> = store
        .read_typed::<Player>("player:1")
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(read, samples()[..4].to_vec());
    assert_eq!(store.by_fact_typed::<Player>().len(), 4);
    assert_eq!(store.by_fact(Player::MOVED).len(), 1);
}

// A second type claiming to be `Player` but with another shape for `Joined` v1.
one_kind_family!(DriftedJoined, name = "Player", variant = Some("Joined"), kind = Player::JOINED, {
    name: String => Shape::String,
    level: u8 => Shape::U8,
});

// A different family that claims `Player`'s kind id.
one_kind_family!(Impostor, name = "Impostor", variant = None, kind = Player::JOINED, {
    name: String => Shape::String,
});

#[test]
fn the_ledger_refuses_drift_and_kind_conflicts_and_renders_json_alone() {
    use crate::coordinate::Coordinate;
    use crate::store::{Store, StoreConfig, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinate::new("player:1", "game").unwrap();
    let joined = Player::Joined { name: "ada".into() };
    {
        let store = Store::open(StoreConfig::new(dir.path())).unwrap();
        store.append_typed(&c, &joined).unwrap();
        store.close().unwrap();
    }
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    // The ledger alone renders the typed payload as JSON: nothing registered Player.
    let entry = store.stream("player:1")[0].clone();
    assert_eq!(
        store.get(entry.event_id).unwrap().unwrap().payload,
        serde_json::to_value(&joined).unwrap()
    );
    let ledger = store.schema_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!((ledger[0].0, ledger[0].1), (Player::JOINED, 1));

    let before = store.stats().unwrap().events;
    let drifted = DriftedJoined {
        name: "bob".into(),
        level: 3,
    };
    match store.append_typed(&c, &drifted) {
        Err(StoreError::SchemaDrift {
            kind,
            version,
            path,
            ..
        }) => {
            assert_eq!((kind, version), (Player::JOINED, 1));
            assert_eq!(path, "Joined.level");
        }
        other => panic!("expected SchemaDrift, got {other:?}"),
    }
    assert!(matches!(
        store.append_typed(&c, &Impostor { name: "eve".into() }),
        Err(StoreError::KindConflict { .. })
    ));
    assert_eq!(store.stats().unwrap().events, before, "nothing written");
    // Typed reads with the drifted type refuse instead of producing garbage.
    let reads = store.read_typed::<DriftedJoined>("player:1").unwrap();
    assert!(
        matches!(reads[0], Err(StoreError::SchemaDrift { .. })),
        "{:?}",
        reads[0]
    );
    // The right type still reads.
    let ok = store.read_typed::<Player>("player:1").unwrap();
    assert_eq!(ok[0].as_ref().unwrap().1, joined);
}

#[test]
fn a_cancelled_fence_forgets_its_ledger_entries() {
    use crate::coordinate::Coordinate;
    use crate::store::{Store, StoreConfig};
    let dir = tempfile::tempdir().unwrap();
    let c = Coordinate::new("x", "game").unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let fence = store.begin_visibility_fence().unwrap();
    let item = crate::store::BatchAppendItem::typed(
        c.clone(),
        &Impostor { name: "a".into() },
        crate::store::AppendOptions::new(),
    )
    .unwrap();
    let t = fence.submit_item(item).unwrap();
    fence.cancel().unwrap();
    assert!(t.wait().is_err());
    // Player may now claim the kind: the impostor's entry never committed.
    store
        .append_typed(&c, &Player::Joined { name: "p".into() })
        .unwrap();
    store.close().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let ledger = store.schema_ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].2.shape.family, "Player");
}

/// Random shapes and random bytes: the transcoder returns a value or a typed
/// error, never panics, and never loops on hostile lengths.
#[test]
fn the_transcoder_survives_random_shapes_and_bytes() {
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }
    fn shape(rng: &mut Rng, depth: u32) -> Shape {
        let leaf = [
            Shape::Bool,
            Shape::U8,
            Shape::U16,
            Shape::U32,
            Shape::U64,
            Shape::U128,
            Shape::I8,
            Shape::I32,
            Shape::I128,
            Shape::F32,
            Shape::F64,
            Shape::Char,
            Shape::String,
            Shape::Unit,
        ];
        if depth > 4 || rng.next().is_multiple_of(3) {
            return leaf[(rng.next() % leaf.len() as u64) as usize].clone();
        }
        let d = depth + 1;
        match rng.next() % 7 {
            0 => Shape::Option(Box::new(shape(rng, d))),
            1 => Shape::Seq(Box::new(shape(rng, d))),
            2 => Shape::Array(Box::new(shape(rng, d)), (rng.next() % 4) as usize),
            3 => Shape::Tuple((0..rng.next() % 4).map(|_| shape(rng, d)).collect()),
            4 => Shape::Map(Box::new(Shape::String), Box::new(shape(rng, d))),
            5 => Shape::Struct {
                name: "S".into(),
                fields: Fields::Named(
                    (0..rng.next() % 4)
                        .map(|i| Field {
                            name: format!("f{i}"),
                            shape: shape(rng, d),
                        })
                        .collect(),
                ),
            },
            _ => Shape::Enum {
                name: "E".into(),
                variants: (0..1 + rng.next() % 3)
                    .map(|i| VariantShape {
                        name: format!("V{i}"),
                        fields: Fields::Tuple(vec![shape(rng, d)]),
                    })
                    .collect(),
            },
        }
    }
    let mut rng = Rng(0x5EED_F00D);
    let mut decoded = 0;
    for _ in 0..20_000 {
        let s = shape(&mut rng, 0);
        let len = (rng.next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Half the time, start from a valid sample so deeper paths run too.
        if rng.next().is_multiple_of(2) {
            bytes = sample::sample(&Fields::Tuple(vec![s.clone()]));
            if !bytes.is_empty() && rng.next().is_multiple_of(2) {
                let i = (rng.next() % bytes.len() as u64) as usize;
                bytes[i] ^= 1 << (rng.next() % 8);
            }
        }
        if json::to_json(&s, &bytes).is_ok() {
            decoded += 1;
        }
    }
    assert!(decoded > 1000, "valid samples decode ({decoded})");
}

/// Found by the `transcoder` fuzz target: a sequence of zero-sized values
/// (`Vec<()>`, a vector of unit structs) at the end of a payload was refused,
/// because its length was capped by the bytes left, which its items never
/// use. postcard writes `vec![(), ()]` as the length alone.
#[test]
fn zero_sized_items_at_the_end_of_a_payload_transcode() {
    let unit_struct = Shape::Struct {
        name: "Tick".into(),
        fields: Fields::Unit,
    };
    for item in [Shape::Unit, unit_struct, Shape::Tuple(vec![])] {
        let seq = Shape::Seq(Box::new(item.clone()));
        let bytes = postcard::to_stdvec(&vec![(), (), ()]).unwrap();
        let one = json::to_json(&item, &[]).unwrap();
        assert_eq!(
            json::to_json(&seq, &bytes),
            Ok(serde_json::json!([one, one, one])),
            "{item:?}"
        );
    }
    let map = Shape::Map(Box::new(Shape::Unit), Box::new(Shape::Unit));
    assert_eq!(
        json::to_json(&map, &[1]),
        Ok(serde_json::json!({ "null": null }))
    );
}

/// Values that take no payload bytes are not bounded by the payload's
/// length: nested arrays of units in a shape, or a huge count of them on the
/// wire, once asked for billions of values. They are bounded by a budget.
#[test]
fn zero_sized_values_are_bounded() {
    let mut nested = Shape::Unit;
    for _ in 0..4 {
        nested = Shape::Array(Box::new(nested), 255);
    }
    let started = std::time::Instant::now();
    assert!(json::to_json(&nested, &[]).is_err());
    let huge = postcard::to_stdvec(&(1u64 << 40)).unwrap();
    assert!(json::to_json(&Shape::Seq(Box::new(Shape::Unit)), &huge).is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // What serde can write is inside the budget: [[[(); 32]; 32]; 32].
    let cube = Shape::Array(
        Box::new(Shape::Array(
            Box::new(Shape::Array(Box::new(Shape::Unit), 32)),
            32,
        )),
        32,
    );
    assert!(json::to_json(&cube, &[]).is_ok());
}

/// Found by the `transcoder` fuzz target: a varint longer than its type
/// allows shifted past 128 bits (a panic in debug builds, silently wrong
/// bits in release). Varints now end where postcard's do.
#[test]
fn overlong_varints_are_refused_like_postcard_refuses_them() {
    let mut long = vec![0xFF; 19];
    long.push(0x01);
    assert!(json::to_json(&Shape::U128, &long).is_err());
    let mut wide = vec![0xFF; 18];
    wide.push(0x04);
    assert!(json::to_json(&Shape::U128, &wide).is_err());
    assert!(json::to_json(&Shape::U16, &[0x80, 0x80, 0x80, 0x00]).is_err());
    for (shape, bytes) in [
        (Shape::U128, postcard::to_stdvec(&u128::MAX).unwrap()),
        (Shape::U16, postcard::to_stdvec(&u16::MAX).unwrap()),
        (Shape::I128, postcard::to_stdvec(&i128::MIN).unwrap()),
        (Shape::U64, postcard::to_stdvec(&u64::MAX).unwrap()),
    ] {
        assert!(json::to_json(&shape, &bytes).is_ok(), "{shape:?}");
    }
    for bytes in [&long, &wide] {
        assert!(postcard::from_bytes::<u128>(bytes).is_err());
    }
    assert!(postcard::from_bytes::<u16>(&[0x80, 0x80, 0x80, 0x00]).is_err());
}
