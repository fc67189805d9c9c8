//! The descriptor data model: the [`Shape`] of a payload type as postcard sees it
//! (plus the names JSON views need), the [`EventShape`] of one (kind, version),
//! and their canonical encoding and fingerprint.

use serde::{Deserialize, Serialize};

/// A named field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// Its shape.
    pub shape: Shape,
}

/// The fields of a struct, an enum variant or an event variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fields {
    /// No fields.
    Unit,
    /// Positional fields; one positional field is a newtype (transparent).
    Tuple(Vec<Shape>),
    /// Named fields in declaration order.
    Named(Vec<Field>),
}

impl Fields {
    /// The field shapes in wire order.
    pub fn shapes(&self) -> Vec<&Shape> {
        match self {
            Fields::Unit => Vec::new(),
            Fields::Tuple(items) => items.iter().collect(),
            Fields::Named(fields) => fields.iter().map(|f| &f.shape).collect(),
        }
    }
}

/// A variant of an enum inside a payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VariantShape {
    /// The variant's name.
    pub name: String,
    /// Its fields.
    pub fields: Fields,
}

/// The wire tag of a personal value in clear (`Shape::Personal`).
pub const TAG_VALUE: u8 = 0;
/// The wire tag of an erased personal value.
pub const TAG_ERASED: u8 = 1;
/// The wire tag of a sealed personal value.
pub const TAG_SEALED: u8 = 2;

/// The shape of a payload type. Integers keep width and sign because postcard
/// encodes them differently; collections keep their element shapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `bool`: one byte.
    Bool,
    /// `u8`: one raw byte.
    U8,
    /// `u16`: varint.
    U16,
    /// `u32`: varint.
    U32,
    /// `u64`: varint.
    U64,
    /// `u128`: varint.
    U128,
    /// `usize`: varint, platform width (reported by the checker).
    Usize,
    /// `i8`: one raw byte.
    I8,
    /// `i16`: zigzag varint.
    I16,
    /// `i32`: zigzag varint.
    I32,
    /// `i64`: zigzag varint.
    I64,
    /// `i128`: zigzag varint.
    I128,
    /// `isize`: zigzag varint, platform width.
    Isize,
    /// `f32`: 4 bytes.
    F32,
    /// `f64`: 8 bytes.
    F64,
    /// `char`: a UTF-8 string of one character.
    Char,
    /// `String`, `Box<str>`, `Cow<str>`: length-prefixed UTF-8.
    String,
    /// `()`: nothing.
    Unit,
    /// `Option<T>`: a tag byte, then the value.
    Option(Box<Shape>),
    /// `Vec<T>`, sets, `VecDeque<T>`: length-prefixed items.
    Seq(Box<Shape>),
    /// `[T; N]`: N items, no length.
    Array(Box<Shape>, usize),
    /// Tuples: items in order, no length.
    Tuple(Vec<Shape>),
    /// Maps: length-prefixed key/value pairs.
    Map(Box<Shape>, Box<Shape>),
    /// A user struct.
    Struct {
        /// The type's name.
        name: String,
        /// Its fields.
        fields: Fields,
    },
    /// A user enum: the variant's position as a varint, then its fields.
    Enum {
        /// The type's name.
        name: String,
        /// Variants in declaration order.
        variants: Vec<VariantShape>,
    },
    /// A personal field (`Personal<T>`, `#[batpak(personal)]`): a tag, then
    /// the value in clear (0, only in memory), nothing (1, erased) or the
    /// length-prefixed sealed value (2, what the store writes). See
    /// `schema::personal`.
    Personal(Box<Shape>),
    /// A field whose encoding the derive cannot see (`#[serde(with)]` or a
    /// hand-written `Serialize`): opaque, reported by the checker.
    Opaque(String),
}

/// The shape of one (kind, version) of an event family.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventShape {
    /// The family's type name.
    pub family: String,
    /// The variant's name, `None` for a struct family.
    pub variant: Option<String>,
    /// The fields written for this version.
    pub fields: Fields,
}

impl Shape {
    /// Whether a personal field lies anywhere inside this shape.
    pub fn has_personal(&self) -> bool {
        match self {
            Shape::Personal(_) => true,
            Shape::Option(s) | Shape::Seq(s) | Shape::Array(s, _) => s.has_personal(),
            Shape::Tuple(items) => items.iter().any(Shape::has_personal),
            Shape::Map(k, v) => k.has_personal() || v.has_personal(),
            Shape::Struct { fields, .. } => fields.has_personal(),
            Shape::Enum { variants, .. } => variants.iter().any(|v| v.fields.has_personal()),
            _ => false,
        }
    }
}

impl Fields {
    /// Whether a personal field lies anywhere inside these fields.
    pub fn has_personal(&self) -> bool {
        self.shapes().into_iter().any(Shape::has_personal)
    }
}

impl EventShape {
    /// The canonical encoding: compact JSON in declaration order (our own types
    /// serialize their fields in a fixed order).
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A stable fingerprint: the first 16 bytes of blake3 over the canonical encoding.
    pub fn fingerprint(&self) -> [u8; 16] {
        let mut out = [0; 16];
        out.copy_from_slice(&blake3::hash(&self.canonical()).as_bytes()[..16]);
        out
    }

    /// The fingerprint as 32 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A shape with its fingerprint computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownShape {
    /// The shape.
    pub shape: EventShape,
    /// `shape.fingerprint()`.
    pub fingerprint: [u8; 16],
    /// Whether the shape holds a personal field (the store seals and opens
    /// only payloads that do).
    pub personal: bool,
}

impl KnownShape {
    /// Computes the fingerprint of `shape`.
    pub fn new(shape: EventShape) -> Self {
        let fingerprint = shape.fingerprint();
        let personal = shape.fields.has_personal();
        Self {
            shape,
            fingerprint,
            personal,
        }
    }
}
