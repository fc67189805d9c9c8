//! What the derives implement: [`Schema`] for payload types, [`Upcast`] for the
//! version chain of a shape, [`EventFamily`] for an event enum or struct, and
//! [`Apply`] for projections. Plus the postcard helpers generated code calls.

use super::{EventShape, Fields, Shape};
use crate::event::EventKind;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

/// A type whose shape is known (derived with `#[derive(batpak::Schema)]` or built in).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no batpak schema",
    label = "no `batpak::Schema` for this type",
    note = "derive `batpak::Schema` on it (payload fields need a known shape)"
)]
pub trait Schema {
    /// The type's shape.
    fn shape() -> Shape;
}

/// Why a typed payload could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaError {
    /// postcard failed to encode the value.
    Encode {
        /// postcard's error.
        source: postcard::Error,
    },
    /// The bytes do not decode as the expected shape.
    Decode {
        /// postcard's error.
        source: postcard::Error,
    },
    /// An upcast chain was asked for a version behind its oldest shape.
    NoOlderVersion,
    /// The bytes decoded but some were left over: the shape does not match.
    TrailingBytes {
        /// Bytes left.
        left: usize,
    },
    /// The family has no such kind.
    UnknownKind {
        /// The family.
        family: &'static str,
        /// The kind.
        kind: EventKind,
    },
    /// The kind exists, but this version cannot be read (no upcast chain reaches it).
    UnknownVersion {
        /// The family.
        family: &'static str,
        /// The kind.
        kind: EventKind,
        /// The version on disk.
        version: u16,
    },
    /// The variant is retired: it may be read but no longer written.
    Retired {
        /// The family.
        family: &'static str,
        /// The kind.
        kind: EventKind,
    },
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Encode { source } => write!(f, "encode failed: {source}"),
            Self::Decode { source } => write!(f, "decode failed: {source}"),
            Self::NoOlderVersion => write!(f, "no older version in the upcast chain"),
            Self::TrailingBytes { left } => write!(f, "{left} bytes left after decoding"),
            Self::UnknownKind { family, kind } => write!(f, "{family} has no kind {kind:?}"),
            Self::UnknownVersion {
                family,
                kind,
                version,
            } => {
                write!(f, "{family} cannot read kind {kind:?} version {version}")
            }
            Self::Retired { family, kind } => write!(f, "{family} kind {kind:?} is retired"),
        }
    }
}

impl std::error::Error for SchemaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Encode { source } | Self::Decode { source } => Some(source),
            _ => None,
        }
    }
}

/// Encodes with postcard.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, SchemaError> {
    postcard::to_allocvec(value).map_err(|source| SchemaError::Encode { source })
}

/// Decodes with postcard, requiring every byte to be consumed.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, SchemaError> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(bytes).map_err(|source| SchemaError::Decode { source })?;
    if !rest.is_empty() {
        return Err(SchemaError::TrailingBytes { left: rest.len() });
    }
    Ok(value)
}

/// A shape with a history: the derive implements it for every `Schema` type;
/// with `#[batpak(upcast_from = Older)]` the chain continues into `Older`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an older version of an event",
    label = "not a `batpak::Schema` type",
    note = "derive `batpak::Schema` on it"
)]
pub trait Upcast: Sized {
    /// How many older shapes stand behind this one.
    const DEPTH: u16;

    /// Decodes bytes written `back` versions before this shape (0 = this shape)
    /// and upgrades them through `From` to this type.
    fn decode_back(back: u16, bytes: &[u8]) -> Result<Self, SchemaError>;

    /// The shape `back` versions before this one.
    fn shape_back(back: u16) -> Option<Shape>;
}

/// One kind of a family, as listed in its `const` kind table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind.
    pub kind: EventKind,
    /// The variant's name (the type's name for a struct family).
    pub variant: &'static str,
    /// The version written today.
    pub version: u16,
    /// Read-only: no longer written.
    pub retired: bool,
}

/// An event family: an enum whose variants are kinds, or a struct that is one kind.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a batpak event family",
    label = "not an event family",
    note = "derive `batpak::Event` on the type"
)]
pub trait EventFamily: Sized + 'static {
    /// The family's type name.
    const NAME: &'static str;
    /// Every kind of the family with its variant, version and retirement, in id order.
    const KINDS: &'static [KindInfo];
    /// Every kind of the family, in the same order as `KINDS`.
    const KIND_LIST: &'static [EventKind];

    /// The kind of this value.
    fn kind(&self) -> EventKind;

    /// The data subject whose key seals this value's personal fields: the
    /// `#[batpak(subject)]` field, or `None` for the entity of the event's
    /// coordinate.
    fn subject(&self) -> Option<String> {
        None
    }

    /// Encodes the value's fields with postcard (kind and version travel in the header).
    fn encode_fields(&self) -> Result<Vec<u8>, SchemaError>;

    /// Decodes the fields of `kind` written as `version`, through the upcast chain.
    fn decode_fields(kind: EventKind, version: u16, bytes: &[u8]) -> Result<Self, SchemaError>;

    /// The shape of every readable (kind, version).
    fn event_shapes() -> Vec<(EventKind, u16, EventShape)>;

    /// The table entry of `kind`.
    fn kind_info(kind: EventKind) -> Option<&'static KindInfo> {
        Self::KINDS.iter().find(|k| k.kind == kind)
    }

    /// Every kind of the family (retired ones included: they may still be read).
    fn kinds() -> Vec<EventKind> {
        Self::KIND_LIST.to_vec()
    }
}

/// The shapes of family `F` by (kind, version), computed once per process.
pub fn family_shapes<F: EventFamily>(
) -> std::sync::Arc<std::collections::HashMap<(u16, u16), std::sync::Arc<super::KnownShape>>> {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Arc, OnceLock, RwLock};
    type Table = HashMap<(u16, u16), Arc<super::KnownShape>>;
    static CACHE: OnceLock<RwLock<HashMap<TypeId, Arc<Table>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(t) = cache
        .read()
        .ok()
        .and_then(|c| c.get(&TypeId::of::<F>()).cloned())
    {
        return t;
    }
    let table: Table = F::event_shapes()
        .into_iter()
        .map(|(k, v, s)| ((k.raw(), v), Arc::new(super::KnownShape::new(s))))
        .collect();
    let table = Arc::new(table);
    if let Ok(mut c) = cache.write() {
        c.insert(TypeId::of::<F>(), Arc::clone(&table));
    }
    table
}

/// Shapes of a variant's history: today's `fields` at `version`, then the
/// upcast chain of `Older` for the versions below it.
pub fn variant_history<Older: Upcast>(
    family: &str,
    variant: Option<&str>,
    kind: EventKind,
    version: u16,
    fields: Fields,
    out: &mut Vec<(EventKind, u16, EventShape)>,
) {
    let shape = |fields| EventShape {
        family: family.to_owned(),
        variant: variant.map(str::to_owned),
        fields,
    };
    out.push((kind, version, shape(fields)));
    for back in 0..=Older::DEPTH {
        let Some(v) = version.checked_sub(back + 1).filter(|v| *v > 0) else {
            break;
        };
        if let Some(older) = Older::shape_back(back) {
            out.push((kind, v, shape(super::fields_of(older))));
        }
    }
}

/// Decodes a version older than today's through `Older`'s chain and converts.
pub fn decode_older<Older: Upcast, F: From<Older>>(
    family: &'static str,
    kind: EventKind,
    current: u16,
    version: u16,
    bytes: &[u8],
) -> Result<F, SchemaError> {
    let back = current
        .checked_sub(version)
        .and_then(|d| d.checked_sub(1))
        .filter(|b| *b <= Older::DEPTH && version > 0)
        .ok_or(SchemaError::UnknownVersion {
            family,
            kind,
            version,
        })?;
    Older::decode_back(back, bytes).map(F::from)
}

/// A chain end for variants without `upcast_from`.
#[derive(Debug)]
pub enum NoUpcast {}

impl Upcast for NoUpcast {
    const DEPTH: u16 = 0;

    fn decode_back(_back: u16, _bytes: &[u8]) -> Result<Self, SchemaError> {
        Err(SchemaError::NoOlderVersion)
    }

    fn shape_back(_back: u16) -> Option<Shape> {
        None
    }
}

/// Folds one family's events into a projection state (implemented by users for
/// `#[derive(batpak::Projection)]` states).
#[diagnostic::on_unimplemented(
    message = "`{Self}` folds `{F}` events but does not implement `batpak::Apply<{F}>`",
    label = "missing `impl batpak::Apply<{F}> for {Self}`"
)]
pub trait Apply<F: EventFamily> {
    /// Folds one event.
    fn apply(&mut self, event: &F, meta: &crate::event::EventMeta);
}
