//! Subjects and the token encoding of names. A stream's subjects are
//! `<prefix>.<scope>.<entity>.<kind>`: consumers filter by scope, entity
//! and kind with NATS wildcards (`batpak.shop.*.1001`, `batpak.*.cart~3A1.>`).
//!
//! Entity and scope names may hold any character, but a subject token may
//! not hold `.`, `*`, `>` or whitespace. A token keeps the ASCII letters,
//! digits, `_` and `-` of a name and writes every other byte of its UTF-8 as
//! `~` and two uppercase hex digits (`cart:1` is `cart~3A1`, `~` itself is
//! `~7E`), so the encoding is injective, ASCII and reversible. The kind is
//! its packed 16 bits as four lowercase hex digits (category first).

use batpak_runtime::event::EventKind;

/// `name` as a subject token (see the module's docs).
pub fn encode_token(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push('~');
            out.push_str(&format!("{b:02X}"));
        }
    }
    out
}

/// The name a token encodes; `None` for a token [`encode_token`] cannot
/// have written.
pub fn decode_token(token: &str) -> Option<String> {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'~' => {
                let hex = token.get(i + 1..i + 3)?;
                let b = u8::from_str_radix(hex, 16).ok()?;
                if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || hex != format!("{b:02X}")
                {
                    return None;
                }
                out.push(b);
                i += 3;
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// The kind's subject token: its packed form as four hex digits.
pub fn kind_token(kind: EventKind) -> String {
    format!("{:04x}", kind.raw())
}

/// The subject of an event on `scope`/`entity` of `kind` under `prefix`.
pub fn event_subject(prefix: &str, scope: &str, entity: &str, kind: EventKind) -> String {
    format!(
        "{prefix}.{}.{}.{}",
        encode_token(scope),
        encode_token(entity),
        kind_token(kind)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_stay_subject_safe() {
        for name in [
            "cart:1",
            "a.b*c>d e",
            "~7E",
            "ünïcode",
            "plain-name_1",
            "$batpak:schema-ledger",
        ] {
            let token = encode_token(name);
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'~'));
            assert_eq!(decode_token(&token).as_deref(), Some(name));
        }
        assert_eq!(encode_token("cart:1"), "cart~3A1");
        // Only the canonical spelling decodes, so a name has one token.
        assert_eq!(decode_token("cart~3a1"), None);
        assert_eq!(decode_token("~61"), None);
        assert_eq!(decode_token("a.b"), None);
    }

    #[test]
    fn subjects_have_four_tokens_after_the_prefix() {
        let kind = EventKind::from_raw(0x1001);
        assert_eq!(
            event_subject("batpak", "shop", "cart:1", kind),
            "batpak.shop.cart~3A1.1001"
        );
    }
}
