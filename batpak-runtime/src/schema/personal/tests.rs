use super::*;
use crate::schema::{encode, Field};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Signup {
    id: u32,
    email: Personal<String>,
    tags: Vec<Personal<u16>>,
    note: String,
}

fn fields() -> Fields {
    let field = |name: &str, shape| Field {
        name: name.into(),
        shape,
    };
    Fields::Named(vec![
        field("id", Shape::U32),
        field("email", <Personal<String>>::shape()),
        field("tags", <Vec<Personal<u16>>>::shape()),
        field("note", Shape::String),
    ])
}

fn sample() -> Signup {
    Signup {
        id: 7,
        email: Personal::from("ada@example.com".to_owned()),
        tags: vec![Personal::from(300), Personal::Erased],
        note: "clear".into(),
    }
}

/// Replaces every value in clear by a fake sealed body and back.
fn seal_fake(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    rewrite(&fields(), bytes, &mut out, &mut |_, slot, out| {
        match slot {
            Slot::Clear(clear) => {
                out.push(TAG_SEALED);
                put_varint(out, clear.len() as u64);
                out.extend(clear.iter().map(|b| b ^ 0xFF));
            }
            Slot::Erased => out.push(TAG_ERASED),
            Slot::Sealed(_) => unreachable!("nothing is sealed yet"),
        }
        Ok::<(), ()>(())
    })
    .expect("walks");
    out
}

#[test]
fn rewrite_finds_every_personal_field_in_order() {
    let bytes = encode(&sample()).expect("encodes");
    let mut seen = Vec::new();
    let mut out = Vec::new();
    rewrite(&fields(), &bytes, &mut out, &mut |ordinal, slot, out| {
        seen.push((ordinal, format!("{slot:?}")));
        match slot {
            Slot::Clear(clear) => {
                out.push(TAG_VALUE);
                out.extend_from_slice(clear);
            }
            _ => out.push(TAG_ERASED),
        }
        Ok::<(), ()>(())
    })
    .expect("walks");
    assert_eq!(out, bytes, "an identity rewrite copies every byte");
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2], (2, "Erased".to_owned()));
}

#[test]
fn sealed_bytes_hold_no_clear_value_and_decode_as_erased() {
    let bytes = encode(&sample()).expect("encodes");
    let sealed = seal_fake(&bytes);
    assert!(!sealed.windows(15).any(|w| w == b"ada@example.com"));
    assert!(sealed.windows(5).any(|w| w == b"clear"));
    let read: Signup = crate::schema::decode(&sealed).expect("sealed decodes");
    assert_eq!(read.email, Personal::Erased);
    assert_eq!(read.tags, vec![Personal::Erased, Personal::Erased]);
    assert_eq!((read.id, read.note.as_str()), (7, "clear"));
}

#[test]
fn json_views_show_markers_never_ciphertext() {
    let bytes = encode(&sample()).expect("encodes");
    let shape = crate::schema::EventShape {
        family: "Signup".into(),
        variant: None,
        fields: fields(),
    };
    let clear = crate::schema::json::event_to_json(&shape, &bytes).expect("clear");
    assert_eq!(clear, serde_json::to_value(sample()).expect("serde"));
    let sealed = crate::schema::json::event_to_json(&shape, &seal_fake(&bytes)).expect("sealed");
    assert_eq!(sealed["email"], "sealed");
    assert_eq!(sealed["tags"], serde_json::json!(["sealed", "erased"]));
}

#[test]
fn a_payload_that_does_not_follow_its_shape_is_refused() {
    let mut bytes = encode(&sample()).expect("encodes");
    bytes.push(0);
    let mut out = Vec::new();
    let walked = rewrite(&fields(), &bytes, &mut out, &mut |_, _, _| Ok::<(), ()>(()));
    assert!(matches!(walked, Err(RewriteError::Bytes(_))));
    let unknown_tag = [7, 9];
    let walked = rewrite(&fields(), &unknown_tag, &mut out, &mut |_, _, _| {
        Ok::<(), ()>(())
    });
    assert!(matches!(walked, Err(RewriteError::Bytes(_))));
}
