//! Transcoding postcard bytes to JSON through a shape, without the Rust type:
//! the same JSON `serde_json::to_value` gives for the value (externally tagged
//! enum variants, newtypes transparent, map keys as strings). Never panics.

use super::{EventShape, Fields, Shape, VariantShape};
use serde_json::{Map, Value};

/// Why bytes did not transcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscodeError {
    /// Byte offset where decoding failed.
    pub offset: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl std::fmt::Display for TranscodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.offset)
    }
}

impl std::error::Error for TranscodeError {}

/// Most nesting the transcoder follows (bounds recursion on hostile input).
pub(super) const DEPTH_MAX: usize = 64;

/// Most values of one payload that take no bytes (units, unit structs, empty
/// tuples, arrays of them). Every other value uses a byte, so the payload's
/// length bounds them; these only this budget, which nested arrays of units
/// in a shape or a huge count on the wire would otherwise exhaust by the
/// billion. What serde writes (arrays of at most 32 items) fits easily.
const ZERO_SIZED_VALUES_MAX: usize = 1 << 16;

pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    zero_sized_left: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            bytes,
            pos: 0,
            zero_sized_left: ZERO_SIZED_VALUES_MAX,
        }
    }

    pub(super) fn fail<T>(&self, expected: &'static str) -> Result<T, TranscodeError> {
        Err(TranscodeError {
            offset: self.pos,
            expected,
        })
    }

    pub(super) fn byte(&mut self) -> Result<u8, TranscodeError> {
        let b = *self.bytes.get(self.pos).ok_or(TranscodeError {
            offset: self.pos,
            expected: "a byte",
        })?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&[u8], TranscodeError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return self.fail("more bytes");
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// A LEB128 varint of at most `max_bits` bits in at most
    /// ceil(`max_bits` / 7) bytes, as postcard reads them.
    pub(super) fn varint(&mut self, max_bits: u32) -> Result<u128, TranscodeError> {
        let mut out: u128 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift >= max_bits {
                return self.fail("a shorter varint");
            }
            let bits = u128::from(b & 0x7F);
            // Past bit 121 only some of the seven bits fit a u128.
            if shift > 121 && bits >> (128 - shift) != 0 {
                return self.fail("a varint in range");
            }
            out |= bits << shift;
            if b & 0x80 == 0 {
                if max_bits < 128 && out >> max_bits != 0 {
                    return self.fail("a varint in range");
                }
                return Ok(out);
            }
            shift += 7;
        }
    }

    pub(super) fn f32(&mut self) -> Result<f32, TranscodeError> {
        let b = self.take(4)?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn f64(&mut self) -> Result<f64, TranscodeError> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }

    /// A length-prefixed UTF-8 string; on invalid UTF-8 the error points at
    /// the string's first byte, not past it.
    pub(super) fn string(&mut self) -> Result<String, TranscodeError> {
        let n = self.len()?;
        let start = self.pos;
        match std::str::from_utf8(self.take(n)?) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => {
                self.pos = start;
                self.fail("UTF-8")
            }
        }
    }

    /// A string's length: at most the bytes left.
    pub(super) fn len(&mut self) -> Result<usize, TranscodeError> {
        self.count(0)
    }

    /// A sequence's or map's length: every item takes a byte or, zero-sized,
    /// one of the budget, so a count beyond both cannot be right.
    pub(super) fn items(&mut self) -> Result<usize, TranscodeError> {
        self.count(self.zero_sized_left)
    }

    fn count(&mut self, beyond_bytes: usize) -> Result<usize, TranscodeError> {
        let n = self.varint(64)?;
        let room = self.bytes.len().saturating_sub(self.pos) + beyond_bytes;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= room)
            .map_or_else(|| self.fail("a length that fits the payload"), Ok)
    }

    /// Spends the budget of a value that took no bytes.
    pub(super) fn zero_sized(&mut self) -> Result<(), TranscodeError> {
        match self.zero_sized_left.checked_sub(1) {
            Some(left) => {
                self.zero_sized_left = left;
                Ok(())
            }
            None => self.fail("fewer values that take no bytes"),
        }
    }
}

fn unzigzag(v: u128) -> i128 {
    ((v >> 1) as i128) ^ -((v & 1) as i128)
}

fn number_u(v: u128) -> Value {
    u64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from)
}

fn number_i(v: i128) -> Value {
    i64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from)
}

/// JSON numbers cannot hold NaN or the infinities: those become `null`, as
/// `serde_json` writes them.
fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

fn value(r: &mut Reader<'_>, shape: &Shape, depth: usize) -> Result<Value, TranscodeError> {
    if depth > DEPTH_MAX {
        return r.fail("less nesting");
    }
    let d = depth + 1;
    let start = r.pos;
    let out = match shape {
        Shape::Bool => match r.byte()? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            _ => return r.fail("a bool byte"),
        },
        Shape::U8 => Value::from(r.byte()?),
        Shape::I8 => Value::from(r.byte()? as i8),
        Shape::U16 => number_u(r.varint(16)?),
        Shape::U32 => number_u(r.varint(32)?),
        Shape::U64 | Shape::Usize => number_u(r.varint(64)?),
        Shape::U128 => number_u(r.varint(128)?),
        Shape::I16 => number_i(unzigzag(r.varint(16)?)),
        Shape::I32 => number_i(unzigzag(r.varint(32)?)),
        Shape::I64 | Shape::Isize => number_i(unzigzag(r.varint(64)?)),
        Shape::I128 => number_i(unzigzag(r.varint(128)?)),
        Shape::F32 => float(f64::from(r.f32()?)),
        Shape::F64 => float(r.f64()?),
        Shape::Char | Shape::String => Value::String(r.string()?),
        Shape::Unit => Value::Null,
        Shape::Option(inner) => match r.byte()? {
            0 => Value::Null,
            1 => value(r, inner, d)?,
            _ => return r.fail("an option tag"),
        },
        Shape::Seq(item) => {
            let n = r.items()?;
            items_value(r, item, n, d)?
        }
        Shape::Array(item, n) => items_value(r, item, *n, d)?,
        Shape::Tuple(items) => Value::Array(
            items
                .iter()
                .map(|s| value(r, s, d))
                .collect::<Result<_, _>>()?,
        ),
        Shape::Map(k, v) => map_value(r, k, v, d)?,
        Shape::Struct { fields, .. } => fields_value(r, fields, d)?,
        Shape::Enum { variants, .. } => enum_value(r, variants, d)?,
        Shape::Personal(inner) => personal_value(r, inner, d)?,
        Shape::Opaque(_) => return r.fail("a shape the schema describes (this field is opaque)"),
    };
    if r.pos == start {
        r.zero_sized()?;
    }
    Ok(out)
}

/// A personal field as `serde_json` writes a `Personal<T>`: `{"value": v}`
/// in clear, `"erased"` once its key is gone, and `"sealed"` for a value
/// still encrypted (read without its key store): never the ciphertext.
fn personal_value(
    r: &mut Reader<'_>,
    inner: &Shape,
    depth: usize,
) -> Result<Value, TranscodeError> {
    use super::shape::{TAG_ERASED, TAG_SEALED, TAG_VALUE};
    match u8::try_from(r.varint(32)?) {
        Ok(TAG_VALUE) => {
            let mut out = Map::new();
            out.insert("value".to_owned(), value(r, inner, depth)?);
            Ok(Value::Object(out))
        }
        Ok(TAG_ERASED) => Ok(Value::String("erased".to_owned())),
        Ok(TAG_SEALED) => {
            let n = r.len()?;
            r.take(n)?;
            Ok(Value::String("sealed".to_owned()))
        }
        _ => r.fail("a personal field's tag"),
    }
}

/// `n` values of one shape, for sequences (length on the wire) and arrays
/// (length in the shape).
fn items_value(
    r: &mut Reader<'_>,
    item: &Shape,
    n: usize,
    depth: usize,
) -> Result<Value, TranscodeError> {
    let mut out = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        out.push(value(r, item, depth)?);
    }
    Ok(Value::Array(out))
}

/// A map as a JSON object, whose keys are strings: any other key is written
/// as its JSON text.
fn map_value(
    r: &mut Reader<'_>,
    k: &Shape,
    v: &Shape,
    depth: usize,
) -> Result<Value, TranscodeError> {
    let n = r.items()?;
    let mut out = Map::new();
    for _ in 0..n {
        let key = match value(r, k, depth)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        out.insert(key, value(r, v, depth)?);
    }
    Ok(Value::Object(out))
}

fn enum_value(
    r: &mut Reader<'_>,
    variants: &[VariantShape],
    depth: usize,
) -> Result<Value, TranscodeError> {
    let at = r.varint(32)?;
    let Some(variant) = usize::try_from(at).ok().and_then(|i| variants.get(i)) else {
        return r.fail("a known variant index");
    };
    tagged(&variant.name, &variant.fields, r, depth)
}

fn fields_value(
    r: &mut Reader<'_>,
    fields: &Fields,
    depth: usize,
) -> Result<Value, TranscodeError> {
    Ok(match fields {
        Fields::Unit => Value::Null,
        Fields::Tuple(items) if items.len() == 1 => value(r, &items[0], depth)?,
        Fields::Tuple(items) => Value::Array(
            items
                .iter()
                .map(|s| value(r, s, depth))
                .collect::<Result<_, _>>()?,
        ),
        Fields::Named(fields) => {
            let mut out = Map::new();
            for f in fields {
                out.insert(f.name.clone(), value(r, &f.shape, depth)?);
            }
            Value::Object(out)
        }
    })
}

fn tagged(
    name: &str,
    fields: &Fields,
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<Value, TranscodeError> {
    if matches!(fields, Fields::Unit) {
        return Ok(Value::String(name.to_owned()));
    }
    let inner = fields_value(r, fields, depth)?;
    let mut out = Map::new();
    out.insert(name.to_owned(), inner);
    Ok(Value::Object(out))
}

/// Transcodes one event payload; every byte must be consumed.
pub fn event_to_json(shape: &EventShape, bytes: &[u8]) -> Result<Value, TranscodeError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        zero_sized_left: ZERO_SIZED_VALUES_MAX,
    };
    let out = match &shape.variant {
        Some(variant) => tagged(variant, &shape.fields, &mut r, 0)?,
        None => fields_value(&mut r, &shape.fields, 0)?,
    };
    if r.pos != bytes.len() {
        return r.fail("the end of the payload");
    }
    Ok(out)
}

/// Transcodes a value of one shape; every byte must be consumed.
pub fn to_json(shape: &Shape, bytes: &[u8]) -> Result<Value, TranscodeError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        zero_sized_left: ZERO_SIZED_VALUES_MAX,
    };
    let out = value(&mut r, shape, 0)?;
    if r.pos != bytes.len() {
        return r.fail("the end of the payload");
    }
    Ok(out)
}
