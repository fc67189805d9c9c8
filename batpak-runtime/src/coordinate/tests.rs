use super::*;

#[test]
fn rejects_bad_names_with_typed_errors() {
    assert!(matches!(
        Coordinate::new("", "s"),
        Err(CoordinateError::Empty {
            part: NamePart::Entity
        })
    ));
    assert!(matches!(
        Coordinate::new("e", ""),
        Err(CoordinateError::Empty {
            part: NamePart::Scope
        })
    ));
    assert!(matches!(
        Coordinate::new("a\0b", "s"),
        Err(CoordinateError::ControlCharacter { offset: 1, .. })
    ));
    assert!(matches!(
        Coordinate::new("a/b", "s"),
        Err(CoordinateError::PathLike { .. })
    ));
    assert!(matches!(
        Coordinate::new("e", "x..y"),
        Err(CoordinateError::PathLike {
            part: NamePart::Scope
        })
    ));
    let long = "x".repeat(NAME_BYTES_MAX + 1);
    assert!(matches!(
        Coordinate::new(&long, "s"),
        Err(CoordinateError::TooLong { len, .. }) if len == NAME_BYTES_MAX + 1
    ));
    assert!(Coordinate::new("x".repeat(NAME_BYTES_MAX), "s").is_ok());
}

#[test]
fn region_filters_combine() {
    let k1 = EventKind::custom(1, 1);
    let k2 = EventKind::custom(2, 1);
    let r = Region::entity_prefix("player:")
        .with_scope("game")
        .with_kind(k1);
    assert!(r.matches("player:1", "game", k1));
    assert!(!r.matches("player:1", "game", k2));
    assert!(!r.matches("team:1", "game", k1));
    assert!(!r.matches("player:1", "lobby", k1));
    assert!(Region::all().with_category(2).matches("a", "b", k2));
    assert!(!Region::all().with_category(2).matches("a", "b", k1));
    assert!(Region::entity("a").matches("a", "z", k1));
    assert!(!Region::entity("a").matches("ab", "z", k1));
}

#[test]
fn user_regions_leave_out_system_events() {
    let user = EventKind::custom(1, 1);
    let ledger = crate::event::system::LEDGER;
    assert!(Region::all().matches("a", "b", ledger));
    assert!(!Region::user_events().matches("a", "b", ledger));
    assert!(Region::user_events().matches("a", "b", user));
    assert!(!Region::entity("a").without_system_events().matches(
        "a",
        "b",
        crate::event::system::DENIAL
    ));
}

#[test]
fn invisible_and_bidi_characters_are_refused_where_they_stand() {
    for (name, offset, character) in [
        ("user\u{202E}42", 4, '\u{202E}'),
        ("\u{200B}user", 0, '\u{200B}'),
        ("us\u{FEFF}er", 2, '\u{FEFF}'),
        ("a\u{2066}b", 1, '\u{2066}'),
    ] {
        assert_eq!(
            Coordinate::new(name, "s"),
            Err(CoordinateError::InvisibleCharacter {
                part: NamePart::Entity,
                offset,
                character
            }),
            "{name:?}"
        );
        assert!(matches!(
            Coordinate::new("e", name),
            Err(CoordinateError::InvisibleCharacter {
                part: NamePart::Scope,
                ..
            })
        ));
    }
    // Visible non-ASCII letters stay allowed, and names are not normalized:
    // composed and decomposed forms are two names.
    let composed = Coordinate::new("caf\u{E9}", "s").unwrap();
    let decomposed = Coordinate::new("cafe\u{301}", "s").unwrap();
    assert_ne!(composed, decomposed);
}

#[test]
fn reserved_names_are_recognised() {
    assert!(Coordinate::new("$batpak:schema-ledger", "x")
        .unwrap()
        .is_reserved());
    assert!(Coordinate::new("x", "$batpak").unwrap().is_reserved());
    assert!(!Coordinate::new("batpak", "x").unwrap().is_reserved());
}
