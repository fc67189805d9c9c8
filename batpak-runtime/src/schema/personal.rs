//! Personal data in typed payloads. [`Personal<T>`] is what a user declares
//! (`#[batpak(personal)]`) and matches on: the value, or
//! [`Personal::Erased`] once the data subject's key is gone. Its wire form is a
//! tag and a body, and the store never writes the clear form: it finds each
//! personal field's bytes by the payload's shape (`rewrite`, the same walk
//! the JSON transcoder makes) and seals them before the writer frames them,
//! then opens them after a read, before the payload is decoded.
//!
//! | tag | body | where it exists |
//! |---|---|---|
//! | 0 (`TAG_VALUE`) | the value's postcard bytes | in memory only: what `Serialize` writes and `Deserialize` reads |
//! | 1 (`TAG_ERASED`) | nothing | an erased value (its key is gone), or one written as `Erased` |
//! | 2 (`TAG_SEALED`) | a length, then the sealed value | on disk |
//!
//! A sealed value that reaches `Deserialize` (a payload read without the
//! store's help) decodes as `Erased`, never as garbage.

use super::json::{Reader, TranscodeError, DEPTH_MAX};
use super::{Fields, Schema, Shape};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use super::shape::{TAG_ERASED, TAG_SEALED, TAG_VALUE};

/// A personal field of an event: declare it with `#[batpak(personal)]`. The
/// store encrypts it with its data subject's key; after
/// [`Store::forget`](crate::store::Store::forget) reads return `Erased`.
///
/// ```
/// use batpak_runtime::schema::Personal;
///
/// let email = Personal::from("ada@example.com".to_owned());
/// match &email {
///     Personal::Value(address) => assert!(address.contains('@')),
///     Personal::Erased => unreachable!("a new value is never erased"),
/// }
/// assert_eq!(Personal::<String>::Erased.value(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Personal<T> {
    /// The value.
    Value(T),
    /// The value was erased: its data subject was forgotten.
    Erased,
}

impl<T> Personal<T> {
    /// The value, unless erased.
    pub fn value(&self) -> Option<&T> {
        match self {
            Personal::Value(v) => Some(v),
            Personal::Erased => None,
        }
    }

    /// The value, unless erased.
    pub fn into_value(self) -> Option<T> {
        match self {
            Personal::Value(v) => Some(v),
            Personal::Erased => None,
        }
    }

    /// Whether the value was erased.
    pub fn is_erased(&self) -> bool {
        matches!(self, Personal::Erased)
    }
}

impl<T> From<T> for Personal<T> {
    fn from(value: T) -> Self {
        Personal::Value(value)
    }
}

impl<T: Schema> Schema for Personal<T> {
    fn shape() -> Shape {
        Shape::Personal(Box::new(T::shape()))
    }
}

impl<T: Serialize> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Personal::Value(v) => {
                serializer.serialize_newtype_variant("Personal", u32::from(TAG_VALUE), "value", v)
            }
            Personal::Erased => {
                serializer.serialize_unit_variant("Personal", u32::from(TAG_ERASED), "erased")
            }
        }
    }
}

/// Every form `Deserialize` accepts, in tag order.
#[derive(Deserialize)]
#[serde(rename = "Personal", rename_all = "snake_case")]
enum Wire<T> {
    Value(T),
    Erased,
    // Read only to be skipped: without its key, a sealed value is erased.
    Sealed(#[allow(dead_code)] Vec<u8>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Wire::<T>::deserialize(deserializer)? {
            Wire::Value(v) => Personal::Value(v),
            Wire::Erased | Wire::Sealed(_) => Personal::Erased,
        })
    }
}

/// One personal field met by [`rewrite`], in wire order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot<'a> {
    /// The value in clear: its postcard bytes (after the tag).
    Clear(&'a [u8]),
    /// An erased value.
    Erased,
    /// A sealed value (after the tag and length).
    Sealed(&'a [u8]),
}

/// Why [`rewrite`] stopped.
#[derive(Debug)]
pub(crate) enum RewriteError<E> {
    /// The bytes do not follow the shape.
    Bytes(TranscodeError),
    /// The caller's function failed.
    Slot(E),
}

impl<E> From<TranscodeError> for RewriteError<E> {
    fn from(e: TranscodeError) -> Self {
        RewriteError::Bytes(e)
    }
}

/// What [`rewrite`] hands each personal field to: its ordinal, what is there,
/// and the output to write its replacement (tag included) into.
pub(crate) type SlotFn<'f, E> = dyn FnMut(u32, Slot<'_>, &mut Vec<u8>) -> Result<(), E> + 'f;

/// Copies an event payload of `fields` into `out`, handing each personal
/// field to `f` (with its ordinal among the payload's personal fields) to
/// write its replacement, tag included; every other byte is copied as is.
/// Every byte must be consumed.
pub(crate) fn rewrite<E>(
    fields: &Fields,
    bytes: &[u8],
    out: &mut Vec<u8>,
    f: &mut SlotFn<'_, E>,
) -> Result<(), RewriteError<E>> {
    let mut walk = Walk {
        r: Reader::new(bytes),
        copied: 0,
        ordinal: 0,
        out,
        f,
    };
    walk.fields(fields, 0)?;
    if walk.r.pos != bytes.len() {
        return Err(RewriteError::Bytes(TranscodeError {
            offset: walk.r.pos,
            expected: "the end of the payload",
        }));
    }
    walk.out.extend_from_slice(&bytes[walk.copied..]);
    Ok(())
}

struct Walk<'a, 'o, E> {
    r: Reader<'a>,
    /// Bytes before this offset are in `out` already.
    copied: usize,
    ordinal: u32,
    out: &'o mut Vec<u8>,
    f: &'o mut SlotFn<'o, E>,
}

impl<E> Walk<'_, '_, E> {
    fn fields(&mut self, fields: &Fields, depth: usize) -> Result<(), RewriteError<E>> {
        for shape in fields.shapes() {
            self.value(shape, depth)?;
        }
        Ok(())
    }

    fn value(&mut self, shape: &Shape, depth: usize) -> Result<(), RewriteError<E>> {
        if depth > DEPTH_MAX {
            return Ok(self.r.fail("less nesting")?);
        }
        let d = depth + 1;
        let start = self.r.pos;
        match shape {
            Shape::Bool | Shape::U8 | Shape::I8 => {
                self.r.byte()?;
            }
            Shape::U16 | Shape::I16 => {
                self.r.varint(16)?;
            }
            Shape::U32 | Shape::I32 => {
                self.r.varint(32)?;
            }
            Shape::U64 | Shape::I64 | Shape::Usize | Shape::Isize => {
                self.r.varint(64)?;
            }
            Shape::U128 | Shape::I128 => {
                self.r.varint(128)?;
            }
            Shape::F32 => {
                self.r.take(4)?;
            }
            Shape::F64 => {
                self.r.take(8)?;
            }
            Shape::Char | Shape::String => {
                let n = self.r.len()?;
                self.r.take(n)?;
            }
            Shape::Unit => {}
            Shape::Option(inner) => match self.r.byte()? {
                0 => {}
                1 => self.value(inner, d)?,
                _ => return Ok(self.r.fail("an option tag")?),
            },
            Shape::Seq(item) => {
                let n = self.r.items()?;
                for _ in 0..n {
                    self.value(item, d)?;
                }
            }
            Shape::Array(item, n) => {
                for _ in 0..*n {
                    self.value(item, d)?;
                }
            }
            Shape::Tuple(items) => {
                for item in items {
                    self.value(item, d)?;
                }
            }
            Shape::Map(k, v) => {
                let n = self.r.items()?;
                for _ in 0..n {
                    self.value(k, d)?;
                    self.value(v, d)?;
                }
            }
            Shape::Struct { fields, .. } => self.fields(fields, d)?,
            Shape::Enum { variants, .. } => {
                let at = self.r.varint(32)?;
                let Some(variant) = usize::try_from(at).ok().and_then(|i| variants.get(i)) else {
                    return Ok(self.r.fail("a known variant index")?);
                };
                self.fields(&variant.fields, d)?;
            }
            Shape::Personal(inner) => self.personal(start, inner, d)?,
            Shape::Opaque(_) => {
                return Ok(self
                    .r
                    .fail("a shape the schema describes (this field is opaque)")?)
            }
        }
        if self.r.pos == start {
            self.r.zero_sized()?;
        }
        Ok(())
    }

    fn personal(
        &mut self,
        start: usize,
        inner: &Shape,
        depth: usize,
    ) -> Result<(), RewriteError<E>> {
        let bytes = self.r.bytes;
        let slot = match u8::try_from(self.r.varint(32)?) {
            Ok(TAG_VALUE) => {
                let from = self.r.pos;
                // A personal value inside a personal value is sealed once, as a whole.
                self.skip_inner(inner, depth)?;
                Slot::Clear(&bytes[from..self.r.pos])
            }
            Ok(TAG_ERASED) => Slot::Erased,
            Ok(TAG_SEALED) => {
                let n = self.r.len()?;
                Slot::Sealed(self.r.take(n)?)
            }
            _ => return Ok(self.r.fail("a personal field's tag")?),
        };
        self.out.extend_from_slice(&bytes[self.copied..start]);
        (self.f)(self.ordinal, slot, self.out).map_err(RewriteError::Slot)?;
        self.ordinal += 1;
        self.copied = self.r.pos;
        Ok(())
    }

    /// Walks a personal value's body without handing its own personal
    /// fields out (they are part of the sealed whole).
    fn skip_inner(&mut self, inner: &Shape, depth: usize) -> Result<(), RewriteError<E>> {
        let mut nothing = |_: u32, _: Slot<'_>, _: &mut Vec<u8>| Ok::<(), E>(());
        let mut scratch = Vec::new();
        let mut nested = Walk {
            r: Reader::new(self.r.bytes),
            copied: self.r.pos,
            ordinal: 0,
            out: &mut scratch,
            f: &mut nothing,
        };
        nested.r.pos = self.r.pos;
        nested.value(inner, depth)?;
        self.r.pos = nested.r.pos;
        Ok(())
    }
}

/// Writes a varint (postcard's LEB128) of `n`.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod tests;
