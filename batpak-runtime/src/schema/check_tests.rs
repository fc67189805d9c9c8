//! One test per row of docs/schema-evolution.md: a pair of snapshots (old, new) and the
//! verdict the checker must give. Row 15 is enforced by the derives at compile
//! time (see the trybuild suite), so it has no pair here.

use super::*;
use crate::schema::catalog::VersionSnapshot;
use crate::schema::{EventShape, Field, Fields, Shape, VariantShape};

fn named(fields: &[(&str, Shape)]) -> Fields {
    Fields::Named(
        fields
            .iter()
            .map(|(n, s)| Field {
                name: (*n).into(),
                shape: s.clone(),
            })
            .collect(),
    )
}

struct K {
    id: u16,
    variant: &'static str,
    version: u16,
    retired: bool,
    removed: bool,
    versions: Vec<(u16, Fields)>,
}

fn k(id: u16, variant: &'static str, fields: Fields) -> K {
    K {
        id,
        variant,
        version: 1,
        retired: false,
        removed: false,
        versions: vec![(1, fields)],
    }
}

fn fam(name: &str, category: u8, kinds: Vec<K>) -> FamilySnapshot {
    FamilySnapshot {
        family: name.into(),
        category,
        kinds: kinds
            .into_iter()
            .map(|k| KindSnapshot {
                id: k.id,
                kind: format!("{:#06x}", (u16::from(category) << 12) | k.id),
                variant: k.variant.into(),
                version: k.version,
                retired: k.retired,
                removed: k.removed,
                versions: k
                    .versions
                    .into_iter()
                    .map(|(version, fields)| {
                        let shape = EventShape {
                            family: name.into(),
                            variant: Some(k.variant.into()),
                            fields,
                        };
                        VersionSnapshot {
                            version,
                            fingerprint: shape.fingerprint_hex(),
                            shape,
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn run(old: Vec<FamilySnapshot>, new: Vec<FamilySnapshot>) -> Report {
    let o = old.into_iter().fold(Catalog::new(), Catalog::with_snapshot);
    let n = new.into_iter().fold(Catalog::new(), Catalog::with_snapshot);
    check(&o, &n)
}

/// Checks one changed field of a one-variant family.
fn field_change(old: Fields, new: Fields) -> Report {
    run(
        vec![fam("P", 1, vec![k(1, "Moved", old)])],
        vec![fam("P", 1, vec![k(1, "Moved", new)])],
    )
}

fn one(s: Shape) -> Fields {
    named(&[("x", s)])
}

fn assert_finding(r: &Report, rule: u8, verdict: Verdict) {
    assert!(
        r.has(rule, verdict),
        "expected rule {rule} {verdict:?}, got:\n{}",
        lines(r)
    );
}

fn lines(r: &Report) -> String {
    r.findings.iter().map(|f| format!("{f}\n")).collect()
}

#[test]
fn rule_01_adding_a_field_breaks() {
    let old = named(&[("x", Shape::I32)]);
    let r = field_change(
        old.clone(),
        named(&[
            ("x", Shape::I32),
            ("y", Shape::Option(Box::new(Shape::I32))),
        ]),
    );
    assert_finding(&r, 1, Verdict::Break);
    assert!(!r.passes());
    let r = field_change(old, named(&[("w", Shape::I32), ("x", Shape::I32)]));
    assert_finding(&r, 1, Verdict::Break);
    let f = r.failures().next().unwrap();
    assert_eq!(
        (
            f.family.as_str(),
            f.variant.as_str(),
            f.version,
            f.path.as_str()
        ),
        ("P", "Moved", Some(1), "Moved.w")
    );
    assert!(
        f.fix.contains("version = 2, upcast_from = MovedV1"),
        "{}",
        f.fix
    );
}

#[test]
fn rule_02_removing_a_field_breaks_silently_when_last() {
    let old = named(&[("x", Shape::I32), ("y", Shape::I32)]);
    assert_finding(
        &field_change(old.clone(), named(&[("x", Shape::I32)])),
        2,
        Verdict::Silent,
    );
    assert_finding(
        &field_change(old, named(&[("y", Shape::I32)])),
        2,
        Verdict::Break,
    );
}

#[test]
fn rule_03_reordering_breaks_silently_for_equal_types() {
    let r = field_change(
        named(&[("x", Shape::U32), ("y", Shape::U32)]),
        named(&[("y", Shape::U32), ("x", Shape::U32)]),
    );
    assert_finding(&r, 3, Verdict::Silent);
    let r = field_change(
        named(&[("x", Shape::U32), ("s", Shape::String)]),
        named(&[("s", Shape::String), ("x", Shape::U32)]),
    );
    assert_finding(&r, 3, Verdict::Break);
}

#[test]
fn rule_04_renaming_a_field_is_info() {
    let r = field_change(one(Shape::U32), named(&[("renamed", Shape::U32)]));
    assert_finding(&r, 4, Verdict::Info);
    assert!(r.passes());
}

#[test]
fn rule_05_widening_integers_is_ok() {
    for (a, b) in [
        (Shape::U16, Shape::U32),
        (Shape::U32, Shape::U64),
        (Shape::U64, Shape::U128),
        (Shape::I16, Shape::I64),
    ] {
        let r = field_change(one(a), one(b));
        assert_finding(&r, 5, Verdict::Ok);
        assert!(r.passes());
    }
}

#[test]
fn rule_06_byte_to_varint_narrowing_sign_and_float_changes_break() {
    for (a, b) in [
        (Shape::U8, Shape::U16),
        (Shape::U32, Shape::U16),
        (Shape::I32, Shape::U32),
        (Shape::F32, Shape::F64),
        (Shape::I32, Shape::F64),
    ] {
        assert_finding(&field_change(one(a), one(b)), 6, Verdict::Break);
    }
}

#[test]
fn rule_07_string_and_bytes_warn() {
    let r = field_change(one(Shape::String), one(Shape::Seq(Box::new(Shape::U8))));
    assert_finding(&r, 7, Verdict::Warn);
    assert!(r.passes());
}

#[test]
fn rule_08_wrappers_and_struct_tuple_are_ok() {
    let newtype = Shape::Struct {
        name: "Meters".into(),
        fields: Fields::Tuple(vec![Shape::U32]),
    };
    let r = field_change(one(Shape::U32), one(newtype));
    assert_finding(&r, 8, Verdict::Ok);
    assert!(r.passes());
    let as_struct = Shape::Struct {
        name: "Pos".into(),
        fields: named(&[("a", Shape::I32), ("b", Shape::I32)]),
    };
    let r = field_change(
        one(as_struct),
        one(Shape::Tuple(vec![Shape::I32, Shape::I32])),
    );
    assert_finding(&r, 8, Verdict::Ok);
    assert!(r.passes());
}

#[test]
fn rule_09_arrays_and_vecs_break() {
    let r = field_change(
        one(Shape::Array(Box::new(Shape::U8), 4)),
        one(Shape::Seq(Box::new(Shape::U8))),
    );
    assert_finding(&r, 9, Verdict::Break);
}

#[test]
fn rule_10_option_wrapping_breaks() {
    assert_finding(
        &field_change(one(Shape::U32), one(Shape::Option(Box::new(Shape::U32)))),
        10,
        Verdict::Break,
    );
}

fn payload_enum(variants: &[(&str, Fields)]) -> Shape {
    Shape::Enum {
        name: "Color".into(),
        variants: variants
            .iter()
            .map(|(n, f)| VariantShape {
                name: (*n).into(),
                fields: f.clone(),
            })
            .collect(),
    }
}

#[test]
fn rule_11_appending_an_enum_variant_is_ok() {
    let old = payload_enum(&[("Red", Fields::Unit), ("Green", Fields::Unit)]);
    let new = payload_enum(&[
        ("Red", Fields::Unit),
        ("Green", Fields::Unit),
        ("Blue", Fields::Unit),
    ]);
    let r = field_change(one(old), one(new));
    assert_finding(&r, 11, Verdict::Ok);
    assert!(r.passes());
}

#[test]
fn rule_12_inserting_or_removing_enum_variants_breaks() {
    let old = payload_enum(&[("Red", Fields::Unit), ("Green", Fields::Unit)]);
    let inserted = payload_enum(&[
        ("Red", Fields::Unit),
        ("Blue", Fields::Unit),
        ("Green", Fields::Unit),
    ]);
    assert_finding(
        &field_change(one(old.clone()), one(inserted)),
        12,
        Verdict::Silent,
    );
    let removed = payload_enum(&[("Green", Fields::Unit)]);
    assert!(!field_change(one(old), one(removed)).passes());
}

#[test]
fn rule_13_renaming_an_enum_variant_is_info() {
    let old = payload_enum(&[("Red", Fields::Unit), ("Green", Fields::Unit)]);
    let new = payload_enum(&[("Red", Fields::Unit), ("Lime", Fields::Unit)]);
    let r = field_change(one(old), one(new));
    assert_finding(&r, 13, Verdict::Info);
    assert!(r.passes());
}

#[test]
fn rule_14_nested_types_follow_the_rules_recursively() {
    let nested = |s: Shape| Shape::Struct {
        name: "Inner".into(),
        fields: named(&[("depth", s)]),
    };
    let r = field_change(one(nested(Shape::U8)), one(nested(Shape::U16)));
    assert_finding(&r, 6, Verdict::Break);
    assert_eq!(r.failures().next().unwrap().path, "Moved.x.depth");
}

#[test]
fn rule_16_custom_serialization_warns() {
    let r = field_change(
        one(Shape::Opaque("chrono::DateTime".into())),
        one(Shape::Opaque("chrono::NaiveDate".into())),
    );
    assert_finding(&r, 16, Verdict::Warn);
}

#[test]
fn rule_17_platform_width_integers_warn() {
    assert_finding(
        &field_change(one(Shape::U64), one(Shape::Usize)),
        17,
        Verdict::Warn,
    );
}

#[test]
fn rule_18_changing_a_kind_id_breaks() {
    let r = run(
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
        vec![fam("P", 1, vec![k(2, "Moved", one(Shape::U32))])],
    );
    assert_finding(&r, 18, Verdict::Break);
}

#[test]
fn rule_19_reusing_an_id_breaks_also_after_removal() {
    let r = run(
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
        vec![fam("P", 1, vec![k(1, "Jumped", one(Shape::String))])],
    );
    assert_finding(&r, 19, Verdict::Break);
    let mut tombstone = k(1, "Moved", one(Shape::U32));
    tombstone.removed = true;
    tombstone.retired = true;
    let r = run(
        vec![fam("P", 1, vec![tombstone])],
        vec![fam("P", 1, vec![k(1, "Jumped", one(Shape::U32))])],
    );
    assert_finding(&r, 19, Verdict::Break);
}

#[test]
fn rule_20_two_families_sharing_a_kind_break() {
    let r = run(
        vec![],
        vec![
            fam("P", 1, vec![k(1, "Moved", one(Shape::U32))]),
            fam("Q", 1, vec![k(1, "Other", one(Shape::U32))]),
        ],
    );
    assert_finding(&r, 20, Verdict::Break);
}

#[test]
fn rule_21_versions_need_a_chain_and_a_bump() {
    // Bumped to 2, but version 1 is no longer readable: no upcaster.
    let mut bumped = k(1, "Moved", named(&[("x", Shape::U32), ("y", Shape::U32)]));
    bumped.version = 2;
    bumped.versions = vec![(2, named(&[("x", Shape::U32), ("y", Shape::U32)]))];
    let r = run(
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
        vec![fam("P", 1, vec![bumped])],
    );
    assert_finding(&r, 21, Verdict::Break);
    // With the chain it passes.
    let mut chained = k(1, "Moved", named(&[("x", Shape::U32), ("y", Shape::U32)]));
    chained.version = 2;
    chained.versions = vec![
        (2, named(&[("x", Shape::U32), ("y", Shape::U32)])),
        (1, one(Shape::U32)),
    ];
    let r = run(
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
        vec![fam("P", 1, vec![chained])],
    );
    assert!(r.passes(), "{}", lines(&r));
    // Lowering a version breaks.
    let mut two = k(1, "Moved", one(Shape::U32));
    two.version = 2;
    two.versions = vec![(2, one(Shape::U32)), (1, one(Shape::U32))];
    let r = run(
        vec![fam("P", 1, vec![two])],
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
    );
    assert_finding(&r, 21, Verdict::Break);
}

#[test]
fn rule_22_removing_a_variant_without_retiring_breaks() {
    let r = run(
        vec![fam(
            "P",
            1,
            vec![k(1, "Moved", one(Shape::U32)), k(2, "Left", Fields::Unit)],
        )],
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
    );
    assert_finding(&r, 22, Verdict::Break);
    assert!(r.failures().next().unwrap().fix.contains("retired"));
    let mut retired = k(2, "Left", Fields::Unit);
    retired.retired = true;
    let r = run(
        vec![fam(
            "P",
            1,
            vec![k(1, "Moved", one(Shape::U32)), k(2, "Left", Fields::Unit)],
        )],
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32)), retired])],
    );
    assert!(r.passes(), "{}", lines(&r));
}

#[test]
fn rule_23_changing_the_category_breaks() {
    let r = run(
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
        vec![fam("P", 2, vec![k(1, "Moved", one(Shape::U32))])],
    );
    assert_finding(&r, 23, Verdict::Break);
}

#[test]
fn rule_24_a_family_keeps_its_stable_name_across_a_rust_rename() {
    // The stable name (`#[batpak(name = "P")]`) is the snapshot's family name,
    // so a Rust rename that keeps it changes nothing at all.
    let same = run(
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
    );
    assert!(same.findings.is_empty(), "{}", lines(&same));
    // Without it the family's name changes, which the log refuses.
    let r = run(
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])],
        vec![fam("Player", 1, vec![k(1, "Moved", one(Shape::U32))])],
    );
    assert_finding(&r, 24, Verdict::Break);
    assert!(
        r.failures()
            .any(|f| f.fix.contains("#[batpak(name = \"P\")]")),
        "{}",
        lines(&r)
    );
}

#[test]
fn rule_26_variants_exchanging_ids_break_even_with_identical_shapes() {
    let cents = || one(Shape::U64);
    let r = run(
        vec![fam(
            "A",
            1,
            vec![k(1, "Deposited", cents()), k(2, "Withdrawn", cents())],
        )],
        vec![fam(
            "A",
            1,
            vec![k(1, "Withdrawn", cents()), k(2, "Deposited", cents())],
        )],
    );
    assert_finding(&r, 26, Verdict::Break);
    assert!(!r.passes());
    assert!(!r.has(13, Verdict::Info), "{}", lines(&r));
}

#[test]
fn rule_27_unit_and_empty_struct_variants_are_one_shape() {
    let r = run(
        vec![fam("P", 1, vec![k(1, "Left", Fields::Unit)])],
        vec![fam("P", 1, vec![k(1, "Left", Fields::Named(Vec::new()))])],
    );
    assert_finding(&r, 27, Verdict::Ok);
    assert!(r.passes(), "{}", lines(&r));
    let r = field_change(Fields::Tuple(Vec::new()), Fields::Unit);
    assert!(r.passes(), "{}", lines(&r));
}

#[test]
fn rule_25_unchanged_shapes_and_new_things_pass() {
    let old = vec![fam("P", 1, vec![k(1, "Moved", one(Shape::U32))])];
    let new = vec![
        fam(
            "P",
            1,
            vec![k(1, "Moved", one(Shape::U32)), k(2, "Jumped", Fields::Unit)],
        ),
        fam("Chat", 2, vec![k(1, "Said", one(Shape::String))]),
    ];
    let r = run(old, new);
    assert!(r.passes(), "{}", lines(&r));
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.message.starts_with("new"))
            .count(),
        2
    );
}

#[test]
fn rule_28_making_a_field_personal_or_not_breaks() {
    let personal = |s: Shape| Shape::Personal(Box::new(s));
    let r = field_change(one(Shape::String), one(personal(Shape::String)));
    assert_finding(&r, 28, Verdict::Break);
    assert!(!r.passes());
    let r = field_change(one(personal(Shape::String)), one(Shape::String));
    assert_finding(&r, 28, Verdict::Break);
    // Inside a personal field the other rules apply.
    let r = field_change(one(personal(Shape::U16)), one(personal(Shape::U32)));
    assert_finding(&r, 5, Verdict::Ok);
    assert!(r.passes(), "{}", lines(&r));
    // As a new version with an upcaster from the clear shape, it passes.
    let mut chained = k(1, "Moved", one(personal(Shape::String)));
    chained.version = 2;
    chained.versions = vec![(2, one(personal(Shape::String))), (1, one(Shape::String))];
    let r = run(
        vec![fam("P", 1, vec![k(1, "Moved", one(Shape::String))])],
        vec![fam("P", 1, vec![chained])],
    );
    assert!(r.passes(), "{}", lines(&r));
}
