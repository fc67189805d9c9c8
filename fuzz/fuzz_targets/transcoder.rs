//! The schema transcoder (`schema::json::event_to_json`, what renders typed
//! payloads as JSON from the log's ledger alone): an arbitrary shape read from
//! the input (`batpak_fuzz::shape`), then arbitrary payload bytes. It must
//! return a value or a typed error, never panic, never hang; and the sample
//! payload `schema::sample` makes for a shape it can describe must transcode.

#![no_main]

use batpak_fuzz::shape::read_event_shape;
use batpak_fuzz::{Bytes, INPUT_BYTES_MAX};
use batpak_runtime::schema::json::event_to_json;
use batpak_runtime::schema::{sample, Fields, Shape};
use libfuzzer_sys::fuzz_target;

/// Largest sample payload checked (arrays multiply).
const SAMPLE_ITEMS_MAX: u64 = 1 << 16;

/// Whether the sample of `shape` must transcode, and roughly how many values
/// it holds: an opaque field or an enum without variants cannot be sampled,
/// and nesting past the transcoder's bound is refused by design.
fn sampleable(shape: &Shape, depth: usize) -> Option<u64> {
    if depth > 60 {
        return None;
    }
    let d = depth + 1;
    match shape {
        Shape::Opaque(_) => None,
        Shape::Option(inner) | Shape::Seq(inner) => sampleable(inner, d).map(|n| n + 1),
        Shape::Array(item, n) => sampleable(item, d)?.checked_mul(*n as u64 + 1),
        Shape::Tuple(items) => items
            .iter()
            .try_fold(1, |acc, s| Some(acc + sampleable(s, d)?)),
        Shape::Map(k, v) => Some(1 + sampleable(k, d)? + sampleable(v, d)?),
        Shape::Struct { fields, .. } => fields_sampleable(fields, d),
        Shape::Enum { variants, .. } => fields_sampleable(&variants.last()?.fields, d),
        _ => Some(1),
    }
    .filter(|n| *n <= SAMPLE_ITEMS_MAX)
}

/// [`sampleable`] for a field list: the bound applies to the whole list too,
/// since the transcoder's budget of zero-sized values covers the whole payload.
fn fields_sampleable(fields: &Fields, depth: usize) -> Option<u64> {
    fields
        .shapes()
        .into_iter()
        .try_fold(1, |acc, s| Some(acc + sampleable(s, depth)?))
        .filter(|n| *n <= SAMPLE_ITEMS_MAX)
}

fuzz_target!(|data: &[u8]| {
    if data.len() > INPUT_BYTES_MAX {
        return;
    }
    let mut b = Bytes::new(data);
    let shape = read_event_shape(&mut b);
    let payload = b.rest();
    let _ = event_to_json(&shape, payload);
    if fields_sampleable(&shape.fields, 0).is_some() {
        let bytes = sample::sample(&shape.fields);
        if let Err(e) = event_to_json(&shape, &bytes) {
            panic!("the sample of {shape:?} does not transcode: {e}");
        }
    }
});
