//! Awkward shapes that must derive and compile without a single warning
//! (serde's `test_gen.rs` idea): every variant form, nested schema types of every
//! form, keyword field names, a wide family, collection fields, a version chain,
//! serde renames, more fields than serde's tuples hold, stable family names,
//! cache versions, projections over several families, and a module without the
//! prelude.

#![deny(warnings)]
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A nested struct with named fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct Point {
    pub x: i64,
    pub y: i64,
}

/// A nested newtype.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct Meters(pub f64);

/// A nested tuple struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct Pair(pub u8, pub String);

/// A nested unit struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct Marker;

/// A nested struct without fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct Empty {}

/// A nested enum with every variant form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub enum Shape {
    Dot,
    Circle(f32),
    Segment(Point, Point),
    Rect { corner: Point, size: (u32, u32) },
    Nothing {},
    Nil(),
}

/// Keywords as field names, and serde renames the shape must carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
#[serde(rename_all = "camelCase")]
pub struct Keywords {
    pub r#type: String,
    pub r#match: bool,
    pub move_count: u16,
    #[serde(rename = "renamed")]
    pub original: i8,
}

/// A transparent wrapper: its shape is its field's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
#[serde(transparent)]
pub struct Wrapped {
    pub inner: u64,
}

/// A field serde writes `with` functions the derive cannot see: opaque.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct Stamp {
    #[serde(with = "as_text")]
    pub at: u64,
    pub zone: String,
}

/// Writes a `u64` as text.
pub mod as_text {
    /// Serializes `value` as a string.
    pub fn serialize<S: serde::Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    /// Reads a string back into a `u64`.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Every field type the store must carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x2)]
pub enum Everything {
    #[batpak(id = 0)]
    Unit,
    #[batpak(id = 0xFFF)]
    Newtype(u128),
    #[batpak(id = 7)]
    Tuple(i128, Option<String>, Vec<u8>),
    #[batpak(id = 3)]
    Named {
        r#type: String,
        r#match: Option<Box<Point>>,
        list: Vec<Shape>,
        array: [u16; 4],
        tuple: (bool, char, Marker),
        map: BTreeMap<String, Pair>,
        hash: HashMap<u32, Meters>,
        boxed: Box<str>,
        big: u128,
        small: i8,
        empty: Empty,
        keywords: Keywords,
        wrapped: Wrapped,
    },
    #[batpak(id = 4)]
    EmptyNamed {},
    #[batpak(id = 5)]
    EmptyTuple(),
    #[batpak(id = 6, retired)]
    Old { note: String },
}

/// Three versions: today's fields, read back from `MovedV2` and `MovedV1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x3)]
pub enum Chain {
    #[batpak(id = 1, version = 3, upcast_from = MovedV2)]
    Moved { x: i32, y: i32, z: i32 },
}

/// Version 1 of `Chain::Moved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct MovedV1 {
    pub x: i16,
}

/// Version 2 of `Chain::Moved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
#[batpak(upcast_from = MovedV1)]
pub struct MovedV2 {
    pub x: i32,
    pub y: i32,
}

impl From<MovedV1> for MovedV2 {
    fn from(v: MovedV1) -> Self {
        MovedV2 {
            x: i32::from(v.x),
            y: 0,
        }
    }
}

impl From<MovedV2> for Chain {
    fn from(v: MovedV2) -> Self {
        Chain::Moved {
            x: v.x,
            y: v.y,
            z: 0,
        }
    }
}

/// An event struct: one kind, a constant named `KIND`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x4, id = 9)]
pub struct Deposited {
    pub cents: u64,
    pub r#ref: Option<String>,
}

/// An event struct without fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x4, id = 10)]
pub struct Ping {}

/// A versioned event struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x4, id = 11, version = 2, upcast_from = PongV1)]
pub struct Pong {
    pub count: u32,
}

/// Version 1 of `Pong`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
pub struct PongV1 {}

impl From<PongV1> for Pong {
    fn from(_: PongV1) -> Self {
        Pong { count: 0 }
    }
}

/// More fields than serde implements tuples for (16): nested tuples on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x4, id = 12)]
pub struct Wide {
    pub f00: u8,
    pub f01: u8,
    pub f02: u8,
    pub f03: u8,
    pub f04: u8,
    pub f05: u8,
    pub f06: u8,
    pub f07: u8,
    pub f08: u8,
    pub f09: u8,
    pub f10: u8,
    pub f11: u8,
    pub f12: u8,
    pub f13: u8,
    pub f14: u8,
    pub f15: u8,
    pub f16: u8,
    pub f17: String,
}

/// Renames on a family: the JSON view must show serde's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x5)]
#[serde(rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum Renamed {
    #[batpak(id = 1)]
    PlayerJoined { first_name: String },
    #[batpak(id = 2)]
    #[serde(rename = "left")]
    PlayerLeft,
    #[batpak(id = 3)]
    #[serde(rename_all = "UPPERCASE")]
    Scored { points: u32 },
}

/// Deprecated variants must not make the generated code warn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x5)]
pub enum WithDeprecated {
    #[batpak(id = 100)]
    #[deprecated = "use Current"]
    Legacy,
    #[batpak(id = 101)]
    Current,
}

/// A projection narrowed to some variants.
#[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Everything, variants(Unit, Named))]
pub struct Narrow {
    pub seen: u64,
}

impl batpak::Apply<Everything> for Narrow {
    fn apply(&mut self, _: &Everything, _: &batpak::EventMeta) {
        self.seen += 1;
    }
}

/// A projection over a struct family, named by path.
#[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = self::Deposited)]
pub struct Balance(pub u64);

impl batpak::Apply<Deposited> for Balance {
    fn apply(&mut self, event: &Deposited, _: &batpak::EventMeta) {
        self.0 += event.cents;
    }
}

/// A family whose stable name is not its Rust name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(name = "Cart", category = 0x9)]
pub enum ShoppingCart {
    #[batpak(id = 1)]
    Added { sku: String },
    #[batpak(id = 2)]
    Removed { sku: String },
}

/// A stable name on an event struct, using every character a name may hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x9, id = 3, name = "shop.Checked-Out_2")]
pub struct CheckedOut {
    pub total: u64,
}

/// A projection whose cached states are bumped by hand.
#[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = ShoppingCart, cache_version = 2)]
pub struct CartSize(pub u64);

impl batpak::Apply<ShoppingCart> for CartSize {
    fn apply(&mut self, event: &ShoppingCart, _: &batpak::EventMeta) {
        match event {
            ShoppingCart::Added { .. } => self.0 += 1,
            ShoppingCart::Removed { .. } => self.0 = self.0.saturating_sub(1),
        }
    }
}

/// A projection over three families, one of them named by path, at the
/// largest cache version.
#[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(
    events = ShoppingCart,
    events = self::Deposited,
    events = CheckedOut,
    cache_version = 4294967295
)]
pub struct Till {
    pub items: u64,
    pub cents: u64,
    pub closed: bool,
}

impl batpak::Apply<ShoppingCart> for Till {
    fn apply(&mut self, _: &ShoppingCart, _: &batpak::EventMeta) {
        self.items += 1;
    }
}

impl batpak::Apply<Deposited> for Till {
    fn apply(&mut self, event: &Deposited, _: &batpak::EventMeta) {
        self.cents += event.cents;
    }
}

impl batpak::Apply<CheckedOut> for Till {
    fn apply(&mut self, _: &CheckedOut, _: &batpak::EventMeta) {
        self.closed = true;
    }
}

/// Generated code names only `::batpak::__private` paths.
#[no_implicit_prelude]
pub mod without_prelude {
    /// A nested type.
    #[derive(::serde::Serialize, ::serde::Deserialize, ::batpak::Schema)]
    pub enum Inner {
        A(u8),
        B { b: ::std::string::String },
    }

    /// A family.
    #[derive(::serde::Serialize, ::serde::Deserialize, ::batpak::Event)]
    #[batpak(category = 0x6)]
    pub enum Family {
        #[batpak(id = 1)]
        One(Inner),
        #[batpak(id = 2, version = 2, upcast_from = Inner)]
        Two { x: ::std::vec::Vec<u8> },
        #[batpak(id = 3)]
        Three,
    }

    impl ::std::convert::From<Inner> for Family {
        fn from(inner: Inner) -> Self {
            Family::One(inner)
        }
    }

    /// A projection.
    #[derive(
        ::std::default::Default, ::serde::Serialize, ::serde::Deserialize, ::batpak::Projection,
    )]
    #[batpak(events = Family)]
    pub struct Count {
        n: u32,
    }

    impl ::batpak::Apply<Family> for Count {
        fn apply(&mut self, _: &Family, _: &::batpak::EventMeta) {
            self.n += 1;
        }
    }

    /// A family with a stable name.
    #[derive(::serde::Serialize, ::serde::Deserialize, ::batpak::Event)]
    #[batpak(category = 0x6, id = 4, name = "Other")]
    pub struct Another {}

    /// A projection over two families.
    #[derive(
        ::std::default::Default, ::serde::Serialize, ::serde::Deserialize, ::batpak::Projection,
    )]
    #[batpak(events = Family, events = Another, cache_version = 1)]
    pub struct Both {
        n: u32,
    }

    impl ::batpak::Apply<Family> for Both {
        fn apply(&mut self, _: &Family, _: &::batpak::EventMeta) {
            self.n += 1;
        }
    }

    impl ::batpak::Apply<Another> for Both {
        fn apply(&mut self, _: &Another, _: &::batpak::EventMeta) {
            self.n += 2;
        }
    }
}

/// A family of 45 variants, declared out of id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x7)]
pub enum Wide45 {
    #[batpak(id = 44)]
    Step44,
    #[batpak(id = 43)]
    Step43,
    #[batpak(id = 42)]
    Step42,
    #[batpak(id = 41)]
    Step41,
    #[batpak(id = 40)]
    Step40,
    #[batpak(id = 39)]
    Step39,
    #[batpak(id = 38)]
    Step38,
    #[batpak(id = 37)]
    Step37,
    #[batpak(id = 36)]
    Step36,
    #[batpak(id = 35)]
    Step35,
    #[batpak(id = 34)]
    Step34,
    #[batpak(id = 33)]
    Step33,
    #[batpak(id = 32)]
    Step32,
    #[batpak(id = 31)]
    Step31,
    #[batpak(id = 30)]
    Step30,
    #[batpak(id = 29)]
    Step29,
    #[batpak(id = 28)]
    Step28,
    #[batpak(id = 27)]
    Step27,
    #[batpak(id = 26)]
    Step26,
    #[batpak(id = 25)]
    Step25,
    #[batpak(id = 24)]
    Step24,
    #[batpak(id = 23)]
    Step23,
    #[batpak(id = 22)]
    Step22,
    #[batpak(id = 21)]
    Step21,
    #[batpak(id = 20)]
    Step20,
    #[batpak(id = 19)]
    Step19,
    #[batpak(id = 18)]
    Step18,
    #[batpak(id = 17)]
    Step17,
    #[batpak(id = 16)]
    Step16,
    #[batpak(id = 15)]
    Step15,
    #[batpak(id = 14)]
    Step14,
    #[batpak(id = 13)]
    Step13,
    #[batpak(id = 12)]
    Step12,
    #[batpak(id = 11)]
    Step11,
    #[batpak(id = 10)]
    Step10,
    #[batpak(id = 9)]
    Step9,
    #[batpak(id = 8)]
    Step8,
    #[batpak(id = 7)]
    Step7,
    #[batpak(id = 6)]
    Step6,
    #[batpak(id = 5)]
    Step5,
    #[batpak(id = 4)]
    Step4,
    #[batpak(id = 3)]
    Step3,
    #[batpak(id = 2)]
    Step2,
    #[batpak(id = 1)]
    Step1,
    #[batpak(id = 0)]
    Step0,
}

/// Families and schema types in a private module, with private fields.
mod private {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, batpak::Schema)]
    struct Hidden {
        secret: u8,
    }

    #[derive(Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x8)]
    enum Quiet {
        #[batpak(id = 1)]
        Once(u8),
    }

    mod a {
        #[derive(serde::Serialize, serde::Deserialize, batpak::Event)]
        #[batpak(category = 0x8, id = 2)]
        pub(super) struct Stock {}
    }

    mod b {
        #[derive(serde::Serialize, serde::Deserialize, batpak::Event)]
        #[batpak(category = 0x8, id = 3, name = "OtherStock")]
        pub(super) struct Stock {}
    }

    /// A public projection over private families, two of them ending in the
    /// same name.
    #[derive(Default, Serialize, Deserialize, batpak::Projection)]
    #[batpak(events = Quiet, events = a::Stock, events = b::Stock)]
    pub struct Seen(u8);

    impl batpak::Apply<Quiet> for Seen {
        fn apply(&mut self, _: &Quiet, _: &batpak::EventMeta) {}
    }

    impl batpak::Apply<a::Stock> for Seen {
        fn apply(&mut self, _: &a::Stock, _: &batpak::EventMeta) {}
    }

    impl batpak::Apply<b::Stock> for Seen {
        fn apply(&mut self, _: &b::Stock, _: &batpak::EventMeta) {}
    }
}

/// Personal data: a personal field inside a nested schema type, in a tuple
/// variant, a struct family whose subject is an integer field, and an enum
/// where only some variants name a subject.
pub mod personal {
    use batpak::Personal;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
    pub struct Contact {
        #[batpak(personal)]
        pub phone: Personal<String>,
        pub country: String,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x7, id = 1)]
    pub struct Opened {
        #[batpak(subject)]
        pub account: u64,
        #[batpak(personal)]
        pub holder: Personal<String>,
        pub contact: Contact,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x7)]
    pub enum Ledger {
        #[batpak(id = 2)]
        Noted(
            #[batpak(subject)] String,
            #[batpak(personal)] Personal<Vec<u8>>,
        ),
        #[batpak(id = 3)]
        Plain { amount: i64 },
    }
}
